"""cnnbook.validate: the shared argument checks (messages name the argument, the expectation and
what was received; bool is not an int; NumPy ints are ints; wrong types are TypeError and
ValueError at once)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnbook import validate as check


def test_ints_bool_is_not_an_int_numpy_ints_are():
    assert check.positive_int(np.int64(3), "classes") == 3 and type(check.positive_int(np.int64(3), "c")) is int
    assert check.integer(0, "n", minimum=0) == 0
    assert check.non_negative_int(np.uint8(0), "seed") == 0
    assert check.positive_int(None, "n", allow_none=True) is None
    for bad in (True, 2.0, "3", None, np.float32(2)):
        with pytest.raises(TypeError, match=r"classes must be a positive int, got"):
            check.positive_int(bad, "classes")
    with pytest.raises(ValueError, match=r"classes must be a positive int, got 0$"):
        check.positive_int(0, "classes")
    with pytest.raises(ValueError, match=r"budget must be an int >= 1, got -2"):
        check.integer(-2, "budget", minimum=1)
    with pytest.raises(ValueError, match=r"index must be an int in 0..3"):
        check.integer(4, "index", minimum=0, maximum=3)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        check.non_negative_int(-1, "seed")


def test_wrong_type_is_both_type_and_value_error():
    with pytest.raises(check.ArgumentTypeError) as info:
        check.positive_int("3", "k")
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)


def test_numbers_and_fractions():
    assert check.number(np.float32(0.5), "lr", minimum=0, include_min=False) == 0.5
    assert check.positive_number(3, "lr") == 3.0
    for bad, err in ((float("nan"), ValueError), (float("inf"), ValueError), (0, ValueError), (True, TypeError),
                     ("0.1", TypeError)):
        with pytest.raises(err, match="lr must be a positive number"):
            check.positive_number(bad, "lr")
    with pytest.raises(ValueError, match=r"weight_decay must be a number >= 0"):
        check.number(-1e-4, "weight_decay", minimum=0)
    with pytest.raises(ValueError, match=r"x must be a number in \[0, 1\)"):
        check.number(1.0, "x", minimum=0, maximum=1, include_max=False)
    assert check.fraction(0.0, "dropout") == 0.0
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.0"):
        check.fraction(1.0, "dropout")
    assert check.fraction(1.0, "p", include_one=True) == 1.0


def test_boolean_choice_pooling():
    assert check.boolean(np.bool_(True), "include_top") is True
    with pytest.raises(TypeError, match="include_top must be True or False, got 1"):
        check.boolean(1, "include_top")
    assert check.choice("B", "shortcut", ("A", "B")) == "B"
    assert check.choice(np.int64(2), "version", (1, 2)) == 2
    with pytest.raises(ValueError, match=r"version must be one of 1, 2, got True"):
        check.choice(True, "version", (1, 2))
    with pytest.raises(ValueError, match=r"strategy must be one of 'random', 'rl'.*did you mean 'random'"):
        check.choice("randm", "strategy", ("random", "rl"))
    assert check.pooling(None) is None and check.pooling("avg") == "avg"
    with pytest.raises(ValueError, match="pooling must be None, 'avg' or 'max', got 'sum'"):
        check.pooling("sum")


def test_input_shape():
    assert check.input_shape([np.int64(28), 28, 1]) == (28, 28, 1)
    assert check.input_shape((None, None, 3), allow_none=True) == (None, None, 3)
    for bad in ((28.9, 28.9, 1), "883", 28, (28, 28, True)):
        with pytest.raises(TypeError, match="input_shape must be"):
            check.input_shape(bad)
    with pytest.raises(ValueError, match=r"\(height, width, channels\)"):
        check.input_shape((28, 28))
    with pytest.raises(ValueError, match="at least 10"):
        check.input_shape((5, 5, 1), min_side=10)
    with pytest.raises(ValueError, match="must have 3 channels"):
        check.input_shape((32, 32, 1), channels=3)
    with pytest.raises(ValueError, match="needs a fixed height, width and channels"):
        check.input_shape((None, 8, 1))


def test_sequences_arrays_labels():
    assert check.int_sequence([np.int32(4), 8], "filters") == (4, 8)
    with pytest.raises(ValueError, match="filters must be a non-empty sequence of ints >= 1"):
        check.int_sequence((), "filters")
    with pytest.raises(ValueError, match="widths must be 3 ints"):
        check.int_sequence((4, 8), "widths", length=3)
    a = check.array([[1.0, 2.0]], "x", ndim=2)
    assert a.shape == (1, 2)
    with pytest.raises(ValueError, match="x must be a 4-D array, got shape"):
        check.array(np.zeros((2, 3)), "x", ndim=4)
    with pytest.raises(TypeError, match="x must hold numbers"):
        check.array(["a"], "x")
    with pytest.raises(ValueError, match=r"x must hold finite values, got 1 NaN and 2 infinite value\(s\) among 4"):
        check.finite(np.array([np.nan, np.inf, -np.inf, 0.0]), "x")
    assert check.labels(np.array([0.0, 2.0]), "y", classes=3).dtype == np.int64
    with pytest.raises(ValueError, match="fractional"):
        check.labels(np.array([0.5]), "y")
    with pytest.raises(ValueError, match=r"y must hold integer classes in \[0, 2\]"):
        check.labels(np.array([0, 3]), "y", classes=3)
    with pytest.raises(ValueError, match=r"y must have shape \(N,\)"):
        check.labels(np.zeros((2, 2), int), "y")
    with pytest.raises(ValueError, match="x and y must have the same length, got x has 2 and y has 3"):
        check.same_length(x=[1, 2], y=[1, 2, 3])


def test_files_weights_models_keys(tmp_path):
    f = tmp_path / "w.weights.h5"
    f.write_bytes(b"")
    assert check.weights(None) is None and check.weights(str(f)) == f
    assert check.weights("imagenet", options=("imagenet",)) == "imagenet"
    with pytest.raises(ValueError, match="has no published weights"):
        check.weights("imagenet")
    with pytest.raises(ValueError, match="is not an existing file"):
        check.existing_file(tmp_path / "nope", "path")
    with pytest.raises(TypeError, match="model must be a keras.Model, got str"):
        check.keras_model("VGG16")
    with pytest.raises(ValueError, match=r"options has unknown key\(s\) \['lr'\]; allowed: a, b"):
        check.unknown_keys({"lr": 1}, ("a", "b"), "options")
