"""Every registered builder (cnnbook.models.names()) keeps the one builder contract: the seven
keywords in order, output shapes for every include_top/pooling combination, a .keras round trip
under safe_mode=True with identical outputs, weights= loading, a float32 classifier under mixed
precision, and clear errors on a bad keyword. Parametrised over the registry, as Keras's
applications_test.py and timm's test_models.py are; small inputs keep it fast."""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest

from cnnbook import models

ARCH = {"normal": [{"inputs": [0, 1], "ops": ["sep3x3", "identity"]}],
        "reduction": [{"inputs": [0, 1], "ops": ["max3x3", "sep3x3"]}],
        "num_cells": 1, "filters": 4, "num_reductions": 1}

# the builder's own arguments and the smallest input it takes; every registered name needs one
SMALL = {
    "mnist_convnet": dict(input_shape=(12, 12, 1)),
    "simple_cnn": dict(input_shape=(8, 8, 1), filters=(4, 8)),
    "mlp": dict(input_shape=(4, 4, 1), hidden=(8,)),
    "resnet_cifar": dict(depth=8, widths=(2, 4, 4), input_shape=(8, 8, 1)),
    "resnet_imagenet": dict(depth=18, input_shape=(32, 32, 3)),
    "shipped_cnn": dict(input_shape=(8, 8, 1)),
    "nas_child": dict(arch=ARCH, input_shape=(8, 8, 1)),
}
NO_FEATURE_MAP = {"mlp"}  # pooling does not apply
CLASSES = 3


def _build(name, **kwargs):
    return models.get(name, **{**SMALL[name], "classes": CLASSES, **kwargs})


def _x(model, n=2):
    return np.random.default_rng(0).uniform(size=(n, *model.input_shape[1:])).astype("float32")


def test_registry_lists_every_builder_and_each_has_test_arguments():
    assert set(models.names()) == set(SMALL)
    with pytest.raises(ValueError, match="name must be one of 'mnist_convnet'"):
        models.get("resnet50")
    with pytest.raises(ValueError, match=r"resnet_cifar needs depth \(e.g. models.get\('resnet_cifar', depth=...\)\)"):
        models.get("resnet_cifar")


@pytest.mark.parametrize("name", models.names())
def test_signature_follows_the_contract(name):
    params = list(inspect.signature(models.builder(name)).parameters.values())
    names = [p.name for p in params]
    start = names.index("input_shape")
    assert tuple(names[start:start + 7]) == models.CONTRACT
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params[:start + 7])
    assert all(p.kind is p.KEYWORD_ONLY for p in params[start + 7:])
    assert params[names.index("weights")].default is None


@pytest.mark.parametrize("name", models.names())
@pytest.mark.parametrize("include_top,pooling", [(True, None), (False, None), (False, "avg"), (False, "max")])
def test_output_shapes(name, include_top, pooling):
    if name in NO_FEATURE_MAP and pooling:
        with pytest.raises(ValueError, match="no feature map to pool"):
            _build(name, include_top=include_top, pooling=pooling)
        return
    model = _build(name, include_top=include_top, pooling=pooling)
    shape = tuple(model.output_shape)
    if include_top:
        assert shape == (None, CLASSES)
    elif pooling or name in NO_FEATURE_MAP:
        assert len(shape) == 2 and shape[1] > 0
    else:
        assert len(shape) == 4
    assert np.asarray(model(_x(model), training=False)).shape[1:] == shape[1:]


@pytest.mark.parametrize("name", models.names())
def test_keras_round_trip_and_weights_file(name, tmp_path):
    model = _build(name)
    x = _x(model)
    expected = np.asarray(model(x, training=False))
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(np.asarray(again(x, training=False)), expected)
    weights = tmp_path / "m.weights.h5"
    model.save_weights(weights)
    loaded = _build(name, weights=str(weights))
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), expected)


@pytest.mark.parametrize("name", models.names())
def test_float32_classifier_under_mixed_precision(name):
    policy = keras.config.dtype_policy()
    try:
        keras.config.set_dtype_policy("mixed_float16")
        model = _build(name)
        assert model.outputs[0].dtype == "float32"
        assert model.get_layer("predictions").dtype_policy.compute_dtype == "float32"
    finally:
        keras.config.set_dtype_policy(policy)


@pytest.mark.parametrize("name", models.names())
def test_errors_name_the_argument(name):
    with pytest.raises(ValueError, match=rf"{name} takes no keyword\(s\) \['colour'\]"):
        _build(name, colour="red")
    with pytest.raises(ValueError, match="classes must be a positive int"):
        _build(name, classes=0)
    with pytest.raises(ValueError, match="pooling must be None, 'avg' or 'max'"):
        _build(name, include_top=False, pooling="sum")
    with pytest.raises(ValueError, match="include_top must be True or False"):
        _build(name, include_top="yes")
    with pytest.raises(ValueError, match="weights must be None"):
        _build(name, weights="no/such/file.weights.h5")
    with pytest.raises(TypeError, match="input_shape must be"):
        _build(name, input_shape="883")
