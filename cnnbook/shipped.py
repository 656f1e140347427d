"""The small pretrained CNN that ships with cnnbook, its data, and the few-shot transfer helpers.

A small CNN trained by ``scripts/train_shipped_model.py`` on handwritten digits 0-4 placed at
random positions on a 40x40 canvas (:func:`canvas_digits`). It lives in ``cnnbook/assets`` with a
JSON file that records its test accuracy and training setup, so the whole pretrained-model
workflow (load, preprocess, predict, decode top-k, transfer) runs offline. Training goes through
:func:`cnnbook.train.fit`; predictions and accuracy are :func:`cnnbook.measure.predict` and
:func:`cnnbook.measure.accuracy`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnbook import validate as check

__all__ = [
    "SHIPPED_FILE",
    "CANVAS",
    "shipped_info",
    "load_shipped",
    "shipped_architecture",
    "shipped_test_set",
    "evaluate_shipped",
    "preprocess_shipped",
    "canvas_digits",
    "few_labels",
    "fit_few",
    "feature_extractor",
]

_ASSETS = Path(__file__).resolve().parent / "assets"
#: The shipped model (Keras v3 format) and its record.
SHIPPED_FILE = _ASSETS / "canvas_digits_cnn.keras"
_SHIPPED_JSON = _ASSETS / "canvas_digits_cnn.json"
CANVAS = 40


def canvas_digits(
    digits: Sequence[int] = (0, 1, 2, 3, 4),
    split: str = "train",
    *,
    copies: int = 1,
    canvas: int = CANVAS,
    noise: float = 0.1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Handwritten digits (scikit-learn, 28x28) pasted at random positions on a noisy canvas.

    The shipped model learns digits 0-4 this way; the transfer task is digits 5-9. Labels are
    re-numbered 0..len(digits)-1 in the order of ``digits``.

    Args:
        digits: which digits to keep (distinct values in 0..9).
        split: ``"train"`` or ``"test"`` split of ``cnnbook.data.load("digits28")``.
        copies: how many random placements of each digit image.
        canvas: side of the square canvas (>= 28).
        noise: std of the Gaussian background noise.
        seed: seed of positions and noise.

    Returns:
        ``(x, y)``: float32 (N, canvas, canvas, 1) in [0, 1] and int64 labels (N,).
    """
    from cnnbook import data

    if isinstance(digits, (str, bytes)) or not isinstance(digits, (Sequence, np.ndarray)):
        raise check.ArgumentTypeError(f"digits must be distinct ints in 0..9, got {check.describe(digits)}")
    digits = list(digits)
    if not digits or len(set(digits)) != len(digits) or any(
            isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d <= 9 for d in digits):
        raise ValueError(f"digits must be distinct ints in 0..9, got {digits!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    copies = check.positive_int(copies, "copies")
    canvas = check.integer(canvas, "canvas", minimum=28)
    check.number(noise, "noise", minimum=0)
    seed = check.non_negative_int(seed, "seed")
    (xtr, ytr), (xte, yte) = data.load("digits28")
    x, y = (xtr, ytr) if split == "train" else (xte, yte)
    keep = np.isin(y, digits)
    x = np.repeat(x[keep], copies, axis=0)
    y = np.repeat(np.array([digits.index(int(d)) for d in y[keep]], dtype=np.int64), copies)
    rng = np.random.default_rng(seed)
    n, h = len(x), x.shape[1]
    out = rng.normal(0.0, noise, size=(n, canvas, canvas, 1)).astype(np.float32)
    oy = rng.integers(0, canvas - h + 1, size=n)
    ox = rng.integers(0, canvas - h + 1, size=n)
    for i in range(n):
        out[i, oy[i]:oy[i] + h, ox[i]:ox[i] + h] += x[i]
    return np.clip(out, 0.0, 1.0), y.astype(np.int64)


def shipped_architecture(
    input_shape: Sequence[int] = (CANVAS, CANVAS, 1),
    classes: int = 5,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    weights=None,
    name: str = "canvas_digits_cnn",
):
    """The shipped model's architecture, untrained: ``cnnbook.models.simple_cnn`` with three
    Conv-ReLU-MaxPool stages (32, 64, 128 filters), global average pooling and a softmax.

    Takes the builders' keywords (see :mod:`cnnbook.models`); ``weights`` is None or the path of
    a ``.weights.h5`` file (use :func:`load_shipped` for the trained model)."""
    from cnnbook import models

    return models.simple_cnn(input_shape, classes, include_top, pooling, classifier_activation, weights, name,
                             filters=(32, 64, 128))


def shipped_info() -> dict[str, Any]:
    """The shipped model's record: classes, test accuracy and how it was trained."""
    if not _SHIPPED_JSON.exists():
        raise FileNotFoundError(f"{_SHIPPED_JSON} is missing; run scripts/train_shipped_model.py")
    return json.loads(_SHIPPED_JSON.read_text())


def load_shipped(path: str | Path | None = None):
    """Load the small pretrained CNN that ships with cnnbook (offline, no download).

    Args:
        path: another ``.keras`` or ``.weights.h5`` file to load instead (``.weights.h5`` files
            are loaded into :func:`shipped_architecture`).

    Raises:
        ValueError: ``path`` does not exist, has another extension, or does not fit the
            architecture.
    """
    import keras

    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise check.ArgumentTypeError(f"path must be a file path or None, got {check.describe(path)}")
    path = Path(SHIPPED_FILE if path is None else path)
    if not path.is_file():
        raise ValueError(f"path={str(path)!r} is not a file")
    if not (path.name.endswith(".weights.h5") or path.suffix == ".keras"):
        raise ValueError(f"path={str(path)!r} must end in .keras or .weights.h5")
    try:
        if path.name.endswith(".weights.h5"):
            model = shipped_architecture(classes=len(shipped_info()["classes"]))
            model.load_weights(str(path))
            return model
        model = keras.saving.load_model(str(path), compile=False)
    except Exception as e:
        raise ValueError(f"path={str(path)!r} does not hold weights of the shipped architecture: it holds "
                         f"{check.describe_model_file(path)} "
                         f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    if path != Path(SHIPPED_FILE):
        _check_shipped_shapes(model, path)
    return model


def _check_shipped_shapes(model, path: Path) -> None:
    """Refuse a ``.keras`` file whose model is not the shipped architecture (weights of other shapes)."""
    import keras

    ref = shipped_architecture(classes=len(shipped_info()["classes"]))
    got = [tuple(w.shape) for w in model.weights]
    want = [tuple(w.shape) for w in ref.weights]
    ins = tuple(model.inputs[0].shape) if isinstance(model, keras.Model) and model.inputs else None
    if got != want or ins != tuple(ref.inputs[0].shape):
        raise ValueError(
            f"path={str(path)!r} holds another model, not the shipped architecture: "
            f"{check.describe_model_file(path)} ({model.count_params():,} parameters); the shipped model "
            f"{ref.name!r} takes input {tuple(ref.inputs[0].shape)} and has {ref.count_params():,} parameters")


def preprocess_shipped(images, *, canvas: int = CANVAS) -> np.ndarray:
    """Bring images to what the shipped model expects: float32 (N, 40, 40, 1) in [0, 1].

    uint8 images are divided by 255, RGB is converted to grey (``tf.image.rgb_to_grayscale``)
    and other sizes are resized (bilinear).

    Args:
        images: (H, W), (H, W, C), (N, H, W) or (N, H, W, C) with C in {1, 3}; uint8 or floats
            in [0, 1].
    """
    import tensorflow as tf

    canvas = check.positive_int(canvas, "canvas")
    x = check.array(images, "images", finite=True)
    if x.size == 0:
        raise ValueError(f"images must not be empty, got shape {x.shape}")
    if x.ndim == 2:
        x = x[None, ..., None]
    elif x.ndim == 3:
        x = x[..., None] if x.shape[-1] not in (1, 3) else x[None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"images must be (N, H, W), (N, H, W, 1) or (N, H, W, 3), got shape {np.shape(images)}")
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if x.min() < 0 or x.max() > 1:
        raise ValueError("float images must lie in [0, 1] (uint8 images are scaled automatically)")
    if x.shape[-1] == 3:
        x = tf.image.rgb_to_grayscale(x).numpy()
    if x.shape[1:3] != (canvas, canvas):
        x = tf.image.resize(x, (canvas, canvas)).numpy()
    return np.clip(x, 0.0, 1.0).astype(np.float32)


def shipped_test_set() -> tuple[np.ndarray, np.ndarray]:
    """The test images and labels the shipped model's recorded accuracy was measured on."""
    d = shipped_info()["data"]
    return canvas_digits(d["digits"], "test", copies=1, canvas=d["canvas"], noise=d["noise"], seed=d["test_seed"])


def evaluate_shipped(model=None) -> tuple[int, int]:
    """Re-measure the shipped model on :func:`shipped_test_set`.

    Returns:
        ``(correct, total)``: the number of test images classified right, and their number.
    """
    from cnnbook.measure import predict

    model = load_shipped() if model is None else model
    x, y = shipped_test_set()
    pred = np.argmax(predict(model, x), axis=1)
    return int(np.sum(pred == y)), int(len(y))


def few_labels(x, y, per_class: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A balanced, seeded subset with ``per_class`` examples of every class present in ``y``."""
    x = check.array(x, "x", min_len=1)
    y = check.array(y, "y", ndim=1)
    check.same_length(x=x, y=y)
    y = check.labels(y, "y")
    per_class = check.positive_int(per_class, "per_class")
    seed = check.non_negative_int(seed, "seed")
    rng = np.random.default_rng(seed)
    idx = []
    for c in np.unique(y):
        pool = np.flatnonzero(y == c)
        if len(pool) < per_class:
            raise ValueError(f"per_class={per_class}: class {c} has only {len(pool)} examples")
        idx.append(rng.choice(pool, per_class, replace=False))
    idx = np.sort(np.concatenate(idx))
    return np.asarray(x)[idx], y[idx]


def fit_few(model, x, y, *, steps: int, learning_rate: float, batch_size: int | None = None, seed: int = 0):
    """Compile ``model`` (Adam, sparse cross-entropy, accuracy) and train it with
    :func:`cnnbook.train.fit` for exactly ``steps`` mini-batch steps on a few labelled examples.

    The examples are repeated (reshuffled each pass) into one long epoch, so Keras's per-epoch
    overhead is paid once instead of once per pass over 25 images.

    Args:
        model: a ``keras.Model`` with a softmax output.
        x, y: the labelled examples and their integer labels.
        steps: number of gradient steps (positive int).
        learning_rate: Adam's learning rate.
        batch_size: examples per step (default: all of them).
        seed: seeds the order of the examples and Keras (:func:`cnnbook.train.fit`'s ``seed``).

    Returns:
        The ``keras.callbacks.History`` of the single long epoch.
    """
    import keras

    from cnnbook import train

    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of equal length, got {len(x)} and {len(y)}")
    steps = check.positive_int(steps, "steps")
    learning_rate = check.positive_number(learning_rate, "learning_rate")
    batch_size = len(x) if batch_size is None else check.positive_int(batch_size, "batch_size")
    seed = check.non_negative_int(seed, "seed")
    rng = np.random.default_rng(seed)
    passes = int(np.ceil(steps * batch_size / len(x)))
    order = np.concatenate([rng.permutation(len(x)) for _ in range(passes)])[: steps * batch_size]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    # one epoch of exactly `steps` full batches, in this order
    return train.fit(model, (x[order], y[order]), epochs=1, batch_size=batch_size, shuffle=False, seed=seed)


def feature_extractor(model, layer: str = "gap", *, trainable: bool = False):
    """A copy of ``model`` up to ``layer`` (its weights copied), frozen unless ``trainable``.

    The copy leaves ``model`` untouched, so it can be reused for another experiment.
    """
    import keras

    try:
        out = model.get_layer(layer).output
    except ValueError:
        raise ValueError(f"layer={layer!r} is not a layer of {model.name}") from None
    base = keras.Model(model.inputs, out, name=f"{model.name}_features")
    copy = keras.models.clone_model(base)
    copy.set_weights(base.get_weights())
    copy.trainable = trainable
    return copy
