"""Pretrained models: the keras.applications catalog, weights from the Keras cache, top-k, the
model that ships with this package, and the arithmetic (parameters, depth, multiply-adds).

Two kinds of pretrained model appear in the book:

* **keras.applications** models (VGG16, ResNet50, InceptionV3, ...). :func:`catalog` lists them
  with the figures keras.io publishes (size, Top-1, Top-5, parameters, depth); :func:`measure`
  builds one with ``weights=None`` and counts what it really has; :func:`load` builds one with
  its ImageNet weights, which Keras downloads once into ``$KERAS_HOME/models`` (default
  ``~/.keras/models``). Offline and without the file, :func:`load` fails within seconds with
  :class:`WeightsUnavailable`, naming the file, where it comes from and where to put it.
* **The shipped model**: a small CNN trained by ``scripts/train_shipped_model.py`` on handwritten
  digits 0-4 placed at random positions on a 40x40 canvas (:func:`canvas_digits`). It lives in
  ``cnnbook/assets`` with a JSON file that records its test accuracy and training setup, so the
  whole pretrained-model workflow (load, preprocess, predict, decode top-k, transfer) runs offline.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "AppInfo",
    "Measured",
    "WeightsUnavailable",
    "catalog",
    "info",
    "names",
    "measure",
    "count",
    "multiply_adds",
    "PUBLISHED_MULTIPLY_ADDS",
    "weights_file",
    "keras_models_dir",
    "load",
    "preprocess",
    "decode_imagenet",
    "top_k",
    "decode_top_k",
    "top_k_accuracy",
    "inception_branches",
    "layer_table",
    "SHIPPED_FILE",
    "shipped_info",
    "load_shipped",
    "shipped_architecture",
    "shipped_test_set",
    "evaluate_shipped",
    "preprocess_shipped",
    "canvas_digits",
    "few_labels",
    "fit_few",
    "predict",
    "accuracy",
    "feature_extractor",
]

_HOST = "storage.googleapis.com"
_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"
_CLASS_INDEX = ("imagenet_class_index.json",
                "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json")


class WeightsUnavailable(RuntimeError):
    """ImageNet weights that are neither in the Keras cache nor downloadable right now."""


@dataclass(frozen=True)
class AppInfo:
    """A keras.applications model with the figures keras.io publishes for it.

    Attributes:
        name: the constructor's name in ``keras.applications`` (``"ResNet50"``).
        size_mb: published size of the weights file in MB.
        top1: published Top-1 accuracy on the ImageNet validation set, as a fraction.
        top5: published Top-5 accuracy, as a fraction.
        params: published number of parameters, in millions, as printed (``25.6``).
        depth: published depth (the number of layers that hold weights).
        module: the ``keras.applications`` submodule with its ``preprocess_input``.
        input_size: default input side in pixels (224, 299 or 331).
        min_size: the smallest input side the architecture accepts without its top.
        weights_top / weights_notop: file names Keras stores in ``$KERAS_HOME/models``.
        weights_url: folder those files are downloaded from.
        source: citation key of the published figures (book/references.bib).
        remote_names: names of the two files on the server where they differ from the cached
            names (NASNet); empty otherwise.
    """

    name: str
    size_mb: float
    top1: float
    top5: float
    params: float
    depth: int
    module: str
    input_size: int
    min_size: int
    weights_top: str
    weights_notop: str
    weights_url: str
    source: str = "kerasio_applications"
    remote_names: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _w(stem: str) -> tuple[str, str]:
    return f"{stem}_weights_tf_dim_ordering_tf_kernels.h5", f"{stem}_weights_tf_dim_ordering_tf_kernels_notop.h5"


# Published figures: keras.io/api/applications (keras-io templates/api/applications/index.md),
# columns Size (MB), Top-1, Top-5, Parameters, Depth. File names and URLs: keras/src/applications.
_CATALOG: dict[str, AppInfo] = {
    a.name: a
    for a in [
        AppInfo("Xception", 88, 0.790, 0.945, 22.9, 81, "xception", 299, 71, *_w("xception"),
                _BASE + "xception/"),
        AppInfo("VGG16", 528, 0.713, 0.901, 138.4, 16, "vgg16", 224, 32, *_w("vgg16"), _BASE + "vgg16/"),
        AppInfo("VGG19", 549, 0.713, 0.900, 143.7, 19, "vgg19", 224, 32, *_w("vgg19"), _BASE + "vgg19/"),
        AppInfo("ResNet50", 98, 0.749, 0.921, 25.6, 107, "resnet", 224, 32, *_w("resnet50"),
                _BASE + "resnet/"),
        AppInfo("ResNet50V2", 98, 0.760, 0.930, 25.6, 103, "resnet_v2", 224, 32, *_w("resnet50v2"),
                _BASE + "resnet/"),
        AppInfo("ResNet101", 171, 0.764, 0.928, 44.7, 209, "resnet", 224, 32, *_w("resnet101"),
                _BASE + "resnet/"),
        AppInfo("ResNet101V2", 171, 0.772, 0.938, 44.7, 205, "resnet_v2", 224, 32, *_w("resnet101v2"),
                _BASE + "resnet/"),
        AppInfo("ResNet152", 232, 0.766, 0.931, 60.4, 311, "resnet", 224, 32, *_w("resnet152"),
                _BASE + "resnet/"),
        AppInfo("ResNet152V2", 232, 0.780, 0.942, 60.4, 307, "resnet_v2", 224, 32, *_w("resnet152v2"),
                _BASE + "resnet/"),
        AppInfo("InceptionV3", 92, 0.779, 0.937, 23.9, 189, "inception_v3", 299, 75, *_w("inception_v3"),
                _BASE + "inception_v3/"),
        AppInfo("InceptionResNetV2", 215, 0.803, 0.953, 55.9, 449, "inception_resnet_v2", 299, 75,
                *_w("inception_resnet_v2"), _BASE + "inception_resnet_v2/"),
        AppInfo("MobileNet", 16, 0.704, 0.895, 4.3, 55, "mobilenet", 224, 32, "mobilenet_1_0_224_tf.h5",
                "mobilenet_1_0_224_tf_no_top.h5", _BASE + "mobilenet/"),
        AppInfo("MobileNetV2", 14, 0.713, 0.901, 3.5, 105, "mobilenet_v2", 224, 32,
                "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
                "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5", _BASE + "mobilenet_v2/"),
        AppInfo("DenseNet121", 33, 0.750, 0.923, 8.1, 242, "densenet", 224, 32, *_w("densenet121"),
                _BASE + "densenet/"),
        AppInfo("DenseNet169", 57, 0.762, 0.932, 14.3, 338, "densenet", 224, 32, *_w("densenet169"),
                _BASE + "densenet/"),
        AppInfo("DenseNet201", 80, 0.773, 0.936, 20.2, 402, "densenet", 224, 32, *_w("densenet201"),
                _BASE + "densenet/"),
        AppInfo("NASNetMobile", 23, 0.744, 0.919, 5.3, 389, "nasnet", 224, 32, "nasnet_mobile.h5",
                "nasnet_mobile_no_top.h5", _BASE + "nasnet/",
                remote_names=("NASNet-mobile.h5", "NASNet-mobile-no-top.h5")),
        AppInfo("NASNetLarge", 343, 0.825, 0.960, 88.9, 533, "nasnet", 331, 32, "nasnet_large.h5",
                "nasnet_large_no_top.h5", _BASE + "nasnet/",
                remote_names=("NASNet-large.h5", "NASNet-large-no-top.h5")),
        AppInfo("EfficientNetB0", 29, 0.771, 0.933, 5.3, 132, "efficientnet", 224, 32, "efficientnetb0.h5",
                "efficientnetb0_notop.h5", "https://storage.googleapis.com/keras-applications/"),
        AppInfo("EfficientNetB7", 256, 0.843, 0.970, 66.7, 438, "efficientnet", 600, 32, "efficientnetb7.h5",
                "efficientnetb7_notop.h5", "https://storage.googleapis.com/keras-applications/"),
    ]
}

#: Multiply-adds of one forward pass at the default input size, as the papers print them:
#: name -> (multiply-adds, citation key). He et al. 2016 Table 1 (ResNets; VGG in the text),
#: Zoph et al. 2018 Tables 2-3 (NASNet, InceptionV3, MobileNet).
PUBLISHED_MULTIPLY_ADDS: dict[str, tuple[float, str]] = {
    "VGG16": (15.3e9, "he2016deep"),
    "VGG19": (19.6e9, "he2016deep"),
    "ResNet50": (3.8e9, "he2016deep"),
    "ResNet101": (7.6e9, "he2016deep"),
    "ResNet152": (11.3e9, "he2016deep"),
    "InceptionV3": (5.72e9, "zoph2018learning"),
    "MobileNet": (569e6, "zoph2018learning"),
    "NASNetMobile": (564e6, "zoph2018learning"),
    "NASNetLarge": (23.8e9, "zoph2018learning"),
}


def names() -> list[str]:
    """Model names of the catalog, in the order of keras.io's table."""
    return list(_CATALOG)


def catalog() -> list[AppInfo]:
    """The keras.applications models of the book with keras.io's published figures.

    Returns:
        One :class:`AppInfo` per model (fields ``name``, ``top1``, ``top5``, ``params``,
        ``depth``, ``size_mb``, ...), in the order of keras.io's table.
    """
    return list(_CATALOG.values())


def _check_name(name: Any) -> AppInfo:
    if not isinstance(name, str) or name not in _CATALOG:
        close = difflib.get_close_matches(str(name), list(_CATALOG), n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"name={name!r} is not in the catalog.{hint} Known models: {', '.join(_CATALOG)}")
    return _CATALOG[name]


def info(name: str) -> AppInfo:
    """The catalog record of one model (ValueError naming the catalog for an unknown name)."""
    return _check_name(name)


# --------------------------------------------------------------------------------------------
# counting: parameters, depth, multiply-adds
# --------------------------------------------------------------------------------------------

_CONV_LIKE = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "Dense")


def multiply_adds(model) -> int:
    """Multiply-adds of one forward pass for one image, counted layer by layer.

    Every convolution (standard, depthwise, separable) and dense layer costs one multiply-add per
    kernel weight per output position: ``output positions x kernel size``. Biases, batch
    normalisation, activations, pooling and additions are not counted, as in the papers' tables.

    Args:
        model: a built ``keras.Model`` with a fixed input size.

    Raises:
        ValueError: ``model`` is not a Keras model, or a layer's output size is unknown.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    total = 0
    for layer in _all_layers(model):
        if type(layer).__name__ not in _CONV_LIKE:
            continue
        for node in layer._inbound_nodes:
            shape = node.output_tensors[0].shape
            positions = shape[1:-1]
            if any(s is None for s in positions):
                raise ValueError(f"layer {layer.name!r} has an unknown output size {tuple(shape)}; "
                                 "build the model with a fixed input_shape")
            n_pos = int(np.prod(positions)) if len(positions) else 1
            for w in layer.weights:
                if w.path.endswith("kernel"):
                    total += n_pos * int(np.prod(w.shape))
    return total


def _all_layers(model):
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        else:
            yield layer


@dataclass(frozen=True)
class Measured:
    """What a keras.applications model really holds, counted by :func:`measure`.

    Attributes:
        name: catalog name.
        params: ``model.count_params()`` (includes batch-norm moving statistics).
        trainable: number of trainable parameters.
        depth: number of layers that hold weights (what keras.io's Depth column counts).
        multiply_adds: one forward pass at ``input_shape`` (:func:`multiply_adds`).
        float32_mb: ``params x 4`` bytes in MiB.
        input_shape: (H, W, C) of the built model.
        seconds: time taken to build and count.
    """

    name: str
    params: int
    trainable: int
    depth: int
    multiply_adds: int
    float32_mb: float
    input_shape: tuple[int, int, int]
    seconds: float


def _constructor(name: str):
    import keras

    return getattr(keras.applications, _check_name(name).name)


def count(name: str, model, seconds: float = 0.0) -> Measured:
    """:class:`Measured` figures of an already built model (see :func:`measure`)."""
    params = int(model.count_params())
    trainable = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    depth = sum(1 for layer in _all_layers(model) if layer.weights)
    return Measured(name, params, trainable, depth, multiply_adds(model), params * 4 / 2**20,
                    tuple(int(s) for s in model.input_shape[1:]), seconds)


@functools.lru_cache(maxsize=None)
def measure(name: str) -> Measured:
    """Build a catalog model with ``weights=None`` (no download) and count what it has.

    The result is cached per process; the model itself is discarded (VGG16 needs about 2 GB
    while it exists).

    Args:
        name: a catalog name (:func:`names`).
    """
    import gc

    import keras

    ctor = _constructor(name)
    t0 = time.perf_counter()
    model = ctor(weights=None)
    result = count(name, model, time.perf_counter() - t0)
    del model
    keras.backend.clear_session()
    gc.collect()
    return result


# --------------------------------------------------------------------------------------------
# ImageNet weights through the Keras cache
# --------------------------------------------------------------------------------------------


def keras_models_dir() -> Path:
    """Where Keras keeps downloaded weights (``$KERAS_HOME/models``, default ``~/.keras/models``).

    Once Keras is imported this is its own setting (``KERAS_HOME`` is read at import); before,
    it is worked out the way Keras does, so that a failing :func:`load` need not import Keras.
    """
    import sys

    if "keras" in sys.modules:
        from cnnbook.data import keras_cache_dir

        return keras_cache_dir().parent / "models"
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]) / "models"
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return Path(base) / ".keras" / "models"


def weights_file(name: str, include_top: bool = True) -> tuple[Path, str]:
    """The ImageNet weights file Keras uses for ``name``: its path in the cache and its URL."""
    a = _check_name(name)
    fname = a.weights_top if include_top else a.weights_notop
    remote = a.remote_names[0 if include_top else 1] if a.remote_names else fname
    return keras_models_dir() / fname, a.weights_url + remote


def _reachable(host: str = _HOST, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _ensure_cached(path: Path, url: str, what: str) -> None:
    if path.exists() or _reachable():
        return
    raise WeightsUnavailable(
        f"{what}: {path.name} is not in the Keras cache and {_HOST} cannot be reached. "
        f"Download {url} on a machine with internet and copy it to {path.parent} "
        "(or set KERAS_HOME to a folder whose models/ subfolder holds it). Nothing else is substituted."
    )


def load(
    name: str,
    weights: str | Path | None = "imagenet",
    *,
    include_top: bool = True,
    input_shape: Sequence[int] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
):
    """Build a keras.applications model, with its ImageNet weights from the Keras cache.

    Args:
        name: a catalog name (:func:`names`), e.g. ``"ResNet50"``.
        weights: ``"imagenet"`` (Keras downloads the file once into ``$KERAS_HOME/models``),
            ``None`` (random initialisation) or the path of a weights file saved from the
            same architecture.
        include_top: keep the 1000-way ImageNet classifier.
        input_shape: (H, W, 3); without the top any side >= the model's minimum, with the top
            and ImageNet weights only the default size.
        pooling: ``None``, ``"avg"`` or ``"max"`` when ``include_top=False``.
        classes: number of classes of a new top (``weights`` must not be ``"imagenet"``).
        classifier_activation: activation of the top layer.

    Returns:
        The ``keras.Model``.

    Raises:
        ValueError: unknown name (the message lists the catalog), bad ``weights`` or
            ``input_shape``, or a weights file that does not fit the architecture.
        WeightsUnavailable: ImageNet weights not cached and the server not reachable (raised
            within a few seconds, before anything is built).
    """
    a = _check_name(name)
    if weights is not None and weights != "imagenet":
        if not isinstance(weights, (str, os.PathLike)) or not Path(weights).is_file():
            raise ValueError(f"weights must be 'imagenet', None or the path of an existing weights file, "
                             f"got {weights!r}")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max', got {pooling!r}")
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be a positive int, got {classes!r}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f"classes={classes}: the ImageNet top has 1000 classes; "
                         "use include_top=False and add your own head")
    default = (a.input_size, a.input_size, 3)
    if input_shape is not None:
        from cnnbook.models import check_input_shape

        shape = check_input_shape(input_shape)
        if shape[2] != 3 and weights == "imagenet":
            raise ValueError(f"input_shape={input_shape!r}: ImageNet weights need 3 channels")
        if include_top and weights == "imagenet" and shape != default:
            raise ValueError(f"input_shape={input_shape!r}: {name} with its ImageNet top takes {default} "
                             "only; use include_top=False for other sizes")
        if min(shape[:2]) < a.min_size:
            raise ValueError(f"input_shape={input_shape!r}: {name} needs height and width of at least "
                             f"{a.min_size} pixels")
        input_shape = shape
    if weights == "imagenet":
        path, url = weights_file(name, include_top)
        _ensure_cached(path, url, f"{name} ImageNet weights")
    ctor = _constructor(name)
    kwargs = dict(include_top=include_top, input_shape=input_shape, pooling=pooling,
                  classifier_activation=classifier_activation)
    if include_top:
        kwargs["classes"] = classes
    if weights in (None, "imagenet"):
        return ctor(weights=weights, **kwargs)
    model = ctor(weights=None, **kwargs)
    try:
        model.load_weights(str(weights))
    except Exception as e:  # Keras raises ValueError/KeyError/OSError depending on the mismatch
        raise ValueError(f"weights={str(weights)!r} does not fit the {name} architecture "
                         f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    return model


def preprocess(name: str, images) -> np.ndarray:
    """Resize images to ``name``'s default input size and apply its ``preprocess_input``.

    Args:
        name: a catalog name.
        images: uint8 or float images in [0, 255], (H, W, 3) or (N, H, W, 3).

    Returns:
        float32 array (N, S, S, 3) ready for ``model.predict``.
    """
    import importlib

    import tensorflow as tf

    a = _check_name(name)
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"images must be (H, W, 3) or (N, H, W, 3) RGB, got shape {x.shape}")
    x = tf.image.resize(x.astype(np.float32), (a.input_size, a.input_size)).numpy()
    module = importlib.import_module(f"keras.applications.{a.module}")
    return np.asarray(module.preprocess_input(x), dtype=np.float32)


def decode_imagenet(probs, k: int = 5) -> list[list[tuple[str, str, float]]]:
    """ImageNet class names of the ``k`` most probable classes (``decode_predictions``).

    The class list is a small JSON file that Keras caches in ``$KERAS_HOME/models``; offline
    without it this fails fast with :class:`WeightsUnavailable`.
    """
    from keras.applications import imagenet_utils

    p = np.asarray(probs)
    if p.ndim != 2 or p.shape[1] != 1000:
        raise ValueError(f"probs must have shape (N, 1000), got {p.shape}")
    _check_k(k, 1000)
    _ensure_cached(keras_models_dir() / _CLASS_INDEX[0], _CLASS_INDEX[1], "ImageNet class names")
    return [[(wnid, label, float(s)) for wnid, label, s in row]
            for row in imagenet_utils.decode_predictions(p, top=k)]


# --------------------------------------------------------------------------------------------
# top-k
# --------------------------------------------------------------------------------------------


def _check_k(k: Any, n_classes: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if k > n_classes:
        raise ValueError(f"k={k} is larger than the number of classes ({n_classes})")
    return int(k)


def _check_probs(probs) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float32)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"probs must be a 2-D array (N, classes), got shape {p.shape}")
    return p


def top_k(probs, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest scores per row and their class indices (``keras.ops.top_k``).

    Returns:
        ``(indices, scores)``, each (N, k), best first.
    """
    import keras

    p = _check_probs(probs)
    k = _check_k(k, p.shape[1])
    scores, idx = keras.ops.top_k(p, k=k)
    return np.asarray(idx).astype(np.int64), np.asarray(scores)


def decode_top_k(probs, class_names: Sequence[str], k: int = 5) -> list[list[tuple[str, float]]]:
    """``(class name, score)`` of the ``k`` best classes of each row, best first."""
    p = _check_probs(probs)
    if len(class_names) != p.shape[1]:
        raise ValueError(f"class_names has {len(class_names)} entries but probs has {p.shape[1]} classes")
    idx, scores = top_k(p, k)
    return [[(class_names[i], float(s)) for i, s in zip(ri, rs)] for ri, rs in zip(idx, scores)]


def top_k_accuracy(y_true, probs, k: int = 5) -> float:
    """Fraction of rows whose true class is among the ``k`` highest scores.

    Computed by ``keras.metrics.SparseTopKCategoricalAccuracy``.

    Args:
        y_true: integer labels (N,).
        probs: scores (N, classes).
        k: 1 for Top-1, 5 for Top-5; at most the number of classes.
    """
    import keras

    p = _check_probs(probs)
    y = np.asarray(y_true)
    if y.ndim != 1 or len(y) != len(p):
        raise ValueError(f"y_true must have shape ({len(p)},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"y_true must hold integer classes in [0, {p.shape[1] - 1}]")
    k = _check_k(k, p.shape[1])
    metric = keras.metrics.SparseTopKCategoricalAccuracy(k=k)
    metric.update_state(y, p)
    return float(metric.result())


# --------------------------------------------------------------------------------------------
# looking inside: inception branches, layer tables
# --------------------------------------------------------------------------------------------


def _unit(layers_: list) -> list[dict[str, Any]]:
    """Group Conv -> BatchNorm -> Activation runs into one unit each."""
    units: list[dict[str, Any]] = []
    for layer in layers_:
        kind = type(layer).__name__
        shape = tuple(layer.output.shape[1:])
        if kind in ("BatchNormalization", "Activation") and units:
            units[-1]["shape"] = shape
            units[-1]["layers"].append(layer.name)
            continue
        if kind == "Conv2D":
            kh, kw = layer.kernel_size
            label = f"conv {kh}x{kw}, {layer.filters}" + (f", stride {layer.strides[0]}" if layer.strides[0] > 1 else "")
        elif "Pooling" in kind:
            p = layer.pool_size
            label = f"{'avg' if 'Average' in kind else 'max'} pool {p[0]}x{p[1]}"
        else:
            label = kind
        units.append({"label": label, "shape": shape, "layers": [layer.name],
                      "params": 0})
    return units


def inception_branches(model, block: str = "mixed0") -> dict[str, Any]:
    """The parallel branches of one inception module, read from the model's graph.

    Walks back from the module's ``Concatenate`` layer along each input until the branches meet.

    Args:
        model: a functional model such as ``keras.applications.InceptionV3``.
        block: name of the concatenation layer that closes the module.

    Returns:
        ``{"input": (H, W, C), "output": (H, W, C), "branches": [[unit, ...], ...]}`` where a unit is
        ``{"label": "conv 5x5, 64", "shape": (H, W, C), "layers": [...], "params": n}``
        (a Conv-BatchNorm-ReLU run counts as one unit).

    Raises:
        ValueError: ``block`` is not a layer of the model or not a concatenation of branches.
    """
    try:
        concat = model.get_layer(block)
    except ValueError:
        raise ValueError(f"block={block!r} is not a layer of {model.name}") from None
    if type(concat).__name__ != "Concatenate":
        raise ValueError(f"block={block!r} is a {type(concat).__name__}, not a Concatenate layer")
    chains = []
    for t in concat.input:
        chain = []
        op = t._keras_history.operation
        for _ in range(64):
            chain.append(op)
            inp = op.input
            if isinstance(inp, (list, tuple)):
                if len(inp) != 1:
                    break
                inp = inp[0]
            op = inp._keras_history.operation
        chains.append(chain)
    common = next((op for op in chains[0] if all(op in c for c in chains[1:])), None)
    if common is None:
        raise ValueError(f"block={block!r}: the branches do not meet within 64 layers")
    branches = []
    for chain in chains:
        own = list(reversed(chain[: chain.index(common)]))
        units = _unit(own)
        for u in units:
            u["params"] = int(sum(model.get_layer(n).count_params() for n in u["layers"]))
        branches.append(units)
    return {"input": tuple(common.output.shape[1:]), "output": tuple(concat.output.shape[1:]),
            "branches": branches}


def layer_table(model, group=None) -> list[tuple[str, int, int]]:
    """Parameters and multiply-adds per group of layers.

    Args:
        model: a built ``keras.Model``.
        group: function layer name -> group name (default: the text before the first ``_``,
            which gives VGG's ``block1`` ... ``block5``, ``fc1``, ``fc2``, ``predictions``).

    Returns:
        ``(group, parameters, multiply-adds)`` in order of first appearance; groups without
        parameters are left out.
    """
    group = group or (lambda n: n.split("_")[0])
    rows: dict[str, list[int]] = {}
    for layer in _all_layers(model):
        p = int(layer.count_params()) if layer.weights else 0
        if not p:
            continue
        macs = 0
        if type(layer).__name__ in _CONV_LIKE:
            positions = layer.output.shape[1:-1]
            n_pos = int(np.prod(positions)) if len(positions) else 1
            macs = sum(n_pos * int(np.prod(w.shape)) for w in layer.weights if w.path.endswith("kernel"))
        r = rows.setdefault(group(layer.name), [0, 0])
        r[0] += p
        r[1] += macs
    return [(g, v[0], v[1]) for g, v in rows.items()]


# --------------------------------------------------------------------------------------------
# the model that ships with the package
# --------------------------------------------------------------------------------------------

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

    digits = list(digits)
    if not digits or len(set(digits)) != len(digits) or any(
            isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d <= 9 for d in digits):
        raise ValueError(f"digits must be distinct ints in 0..9, got {digits!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
        raise ValueError(f"copies must be a positive int, got {copies!r}")
    if isinstance(canvas, bool) or not isinstance(canvas, int) or canvas < 28:
        raise ValueError(f"canvas must be an int >= 28, got {canvas!r}")
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


def shipped_architecture(classes: int = 5, input_shape: Sequence[int] = (CANVAS, CANVAS, 1)):
    """The shipped model's architecture, untrained: ``cnnbook.models.simple_cnn`` with three
    Conv-ReLU-MaxPool stages (32, 64, 128 filters), global average pooling and a softmax."""
    from cnnbook import models

    return models.simple_cnn(input_shape, classes, filters=(32, 64, 128), name="canvas_digits_cnn")


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

    path = Path(SHIPPED_FILE if path is None else path)
    if not path.is_file():
        raise ValueError(f"path={str(path)!r} is not a file")
    try:
        if path.name.endswith(".weights.h5"):
            model = shipped_architecture(len(shipped_info()["classes"]))
            model.load_weights(str(path))
            return model
        if path.suffix == ".keras":
            return keras.saving.load_model(str(path), compile=False)
    except Exception as e:
        raise ValueError(f"path={str(path)!r} does not hold weights of the shipped architecture "
                         f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    raise ValueError(f"path={str(path)!r} must end in .keras or .weights.h5")


def preprocess_shipped(images, *, canvas: int = CANVAS) -> np.ndarray:
    """Bring images to what the shipped model expects: float32 (N, 40, 40, 1) in [0, 1].

    uint8 images are divided by 255, RGB is converted to grey (``tf.image.rgb_to_grayscale``)
    and other sizes are resized (bilinear).

    Args:
        images: (H, W), (H, W, C), (N, H, W) or (N, H, W, C) with C in {1, 3}; uint8 or floats
            in [0, 1].
    """
    import tensorflow as tf

    x = np.asarray(images)
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"images must hold numbers, got dtype {x.dtype}")
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
    model = load_shipped() if model is None else model
    x, y = shipped_test_set()
    pred = np.argmax(predict(model, x), axis=1)
    return int(np.sum(pred == y)), int(len(y))


def few_labels(x, y, per_class: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A balanced, seeded subset with ``per_class`` examples of every class present in ``y``."""
    y = np.asarray(y)
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class must be a positive int, got {per_class!r}")
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
    """Compile ``model`` (Adam, sparse cross-entropy, accuracy) and train it for exactly ``steps``
    mini-batch steps on a few labelled examples.

    The examples are repeated (reshuffled each pass) into one long epoch, so Keras's per-epoch
    overhead is paid once instead of once per pass over 25 images.

    Args:
        model: a ``keras.Model`` with a softmax output.
        x, y: the labelled examples and their integer labels.
        steps: number of gradient steps (positive int).
        learning_rate: Adam's learning rate.
        batch_size: examples per step (default: all of them).
        seed: seeds the shuffle and Keras.

    Returns:
        The ``keras.callbacks.History`` of the single long epoch.
    """
    import keras

    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of equal length, got {len(x)} and {len(y)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if not isinstance(learning_rate, (int, float)) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    batch_size = len(x) if batch_size is None else batch_size
    rng = np.random.default_rng(seed)
    passes = int(np.ceil(steps * batch_size / len(x)))
    order = np.concatenate([rng.permutation(len(x)) for _ in range(passes)])[: steps * batch_size]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    keras.utils.set_random_seed(seed)
    return model.fit(x[order], y[order], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)


def predict(model, x, *, batch_size: int = 256) -> np.ndarray:
    """``model(x, training=False)`` batch by batch, as a NumPy array.

    Unlike ``model.predict`` it traces no ``tf.function``, which makes it the faster choice
    for the many small models of an experiment that are each used once.
    """
    import warnings

    x = np.asarray(x)
    outs = []
    with warnings.catch_warnings():  # Keras warns when a named input receives a bare tensor
        warnings.filterwarnings("ignore", message="The structure of `inputs`")
        for i in range(0, len(x), batch_size):
            outs.append(np.asarray(model(x[i:i + batch_size], training=False)))
    return np.concatenate(outs)


def accuracy(model, x, y) -> float:
    """Fraction of ``x`` that ``model`` classifies as ``y`` (arg-max of its scores)."""
    y = np.asarray(y)
    if len(y) != len(x):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    return float(np.mean(np.argmax(predict(model, x), axis=1) == y))


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
