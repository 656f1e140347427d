"""The keras.applications catalog: published figures, what each model really holds, ImageNet
weights through the Keras cache, preprocessing, and top-k.

:func:`catalog` lists the models with the figures keras.io publishes (size, Top-1, Top-5,
parameters, depth); :func:`measure` builds one with ``weights=None`` and counts what it really
has; :func:`load` builds one with its ImageNet weights, which Keras downloads once into
``$KERAS_HOME/models`` (default ``~/.keras/models``). Offline and without the file, :func:`load`
fails within seconds with :class:`WeightsUnavailable`, naming the file, where it comes from and
where to put it. Keras is imported only when a model is built.
"""

from __future__ import annotations

import difflib
import functools
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnbook import validate as check

__all__ = [
    "AppInfo",
    "Measured",
    "WeightsUnavailable",
    "catalog",
    "info",
    "names",
    "measure",
    "count",
    "PUBLISHED_MULTIPLY_ADDS",
    "weights_file",
    "keras_models_dir",
    "load",
    "preprocess",
    "decode_imagenet",
    "top_k",
    "decode_top_k",
    "top_k_accuracy",
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
# columns Size (MB), Top-1, Top-5, Parameters, Depth. File names and URLs: the applications package of
# the keras-team/keras sources.
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


@dataclass(frozen=True)
class Measured:
    """What a keras.applications model really holds, counted by :func:`measure`.

    Attributes:
        name: catalog name.
        params: ``model.count_params()`` (includes batch-norm moving statistics).
        trainable: number of trainable parameters.
        depth: number of layers that hold weights (what keras.io's Depth column counts).
        multiply_adds: one forward pass at ``input_shape`` (:func:`cnnbook.measure.multiply_adds`).
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
    from cnnbook import measure as m

    params = int(model.count_params())
    return Measured(name, params, m.trainable_params(model), m.depth(model), m.multiply_adds(model),
                    params * 4 / 2**20, tuple(int(s) for s in model.input_shape[1:]), seconds)


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
    from cnnbook.data import _cache_dir_fast

    return _cache_dir_fast().parent / "models"


def weights_file(name: str, include_top: bool = True) -> tuple[Path, str]:
    """The ImageNet weights file Keras uses for ``name``: its path in the cache and its URL."""
    a = _check_name(name)
    fname = a.weights_top if include_top else a.weights_notop
    remote = a.remote_names[0 if include_top else 1] if a.remote_names else fname
    return keras_models_dir() / fname, a.weights_url + remote


def _reachable(url: str = _BASE) -> bool:
    """The package's one network check (:func:`cnnbook.data.reachable`: an HTTP request, proxies
    honoured, at most ``cnnbook.data.NETWORK_TIMEOUT`` seconds)."""
    from cnnbook.data import reachable

    return reachable(url)


def _check_h5(path: Path, what: str) -> None:
    """A weights file in the cache must be a readable HDF5 file; it is never replaced."""
    try:
        import h5py

        with h5py.File(path, "r"):
            pass
    except Exception as err:
        raise WeightsUnavailable(
            f"{what}: {path} is in the Keras cache but is not a readable HDF5 weights file "
            f"({type(err).__name__}: {str(err).splitlines()[0][:160]}; truncated?). It was left as it is "
            "(not deleted, not downloaded again): replace it with a good copy, or remove it to let Keras "
            "download it."
        ) from None


def _ensure_cached(path: Path, url: str, what: str) -> None:
    if path.exists():
        if path.suffix == ".h5":
            _check_h5(path, what)
        return
    if _reachable(url):
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
    check.weights(weights, options=("imagenet",))
    pooling = check.pooling(pooling)
    classes = check.positive_int(classes, "classes")
    include_top = check.boolean(include_top, "include_top")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f"classes={classes}: the ImageNet top has 1000 classes; "
                         "use include_top=False and add your own head")
    default = (a.input_size, a.input_size, 3)
    if input_shape is not None:
        shape = check.input_shape(input_shape)
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
    if weights == "imagenet" and path.exists():
        # The cached file is loaded as Keras's applications load it (model.load_weights), but without
        # get_file's hash re-check, which would download over (replace) a file the reader put there.
        weights = path
    elif weights in (None, "imagenet"):
        return ctor(weights=weights, **kwargs)
    model = ctor(weights=None, **kwargs)
    try:
        model.load_weights(str(weights))
    except Exception as e:  # Keras raises ValueError/KeyError/OSError depending on the mismatch
        raise ValueError(f"weights={str(weights)!r} does not fit the {name} architecture "
                         f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    return model


def preprocess(name: str, images, *, check_range: bool = True) -> np.ndarray:
    """Resize images to ``name``'s default input size and apply its ``preprocess_input``.

    Args:
        name: a catalog name.
        images: uint8 or float images in [0, 255], (H, W, 3) or (N, H, W, 3).
        check_range: refuse float images whose values all lie in [0, 1] (images scaled for
            another network: Keras's ``preprocess_input`` expects [0, 255] and would return
            garbage without a word) and values outside [0, 255]. Pass False if you really mean it.

    Returns:
        float32 array (N, S, S, 3) ready for ``model.predict``.

    Raises:
        ValueError: not RGB images, NaN or infinite values, or (with ``check_range``) values in
            [0, 1] or outside [0, 255].
    """
    import importlib

    import tensorflow as tf

    a = _check_name(name)
    check_range = check.boolean(check_range, "check_range")
    x = check.array(images, "images", finite=True)
    if x.dtype == np.bool_:
        raise check.ArgumentTypeError("images must hold numbers in [0, 255], got dtype bool")
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"images must be (H, W, 3) or (N, H, W, 3) RGB, got shape {x.shape}")
    if min(x.shape) == 0:
        raise ValueError(f"images must not be empty, got shape {x.shape}")
    if check_range:
        lo, hi = float(x.min()), float(x.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"images must hold values in [0, 255] ({a.name} expects raw pixel values), got "
                             f"values in [{lo:g}, {hi:g}]; pass check_range=False if you really mean it")
        if np.issubdtype(x.dtype, np.floating) and 0 < hi <= 1.0:
            raise ValueError(f"images hold values in [{lo:g}, {hi:g}], but {a.name} expects pixel values in "
                             "[0, 255]: multiply by 255 first (or pass check_range=False if you really mean it)")
    x = tf.image.resize(x.astype(np.float32), (a.input_size, a.input_size)).numpy()
    module = importlib.import_module(f"keras.applications.{a.module}")
    return np.asarray(module.preprocess_input(x), dtype=np.float32)


def decode_imagenet(probs, k: int = 5) -> list[list[tuple[str, str, float]]]:
    """ImageNet class names of the ``k`` most probable classes (``decode_predictions``).

    The class list is a small JSON file that Keras caches in ``$KERAS_HOME/models``; offline
    without it this fails fast with :class:`WeightsUnavailable`.
    """
    _check_probs(probs)
    p = np.asarray(probs)
    if p.shape[1] != 1000:
        raise ValueError(f"probs must have shape (N, 1000), got {p.shape}")
    _check_k(k, 1000)
    index_path = keras_models_dir() / _CLASS_INDEX[0]
    _ensure_cached(index_path, _CLASS_INDEX[1], "ImageNet class names")
    if not index_path.exists():  # reachable: Keras downloads it
        from keras.applications import imagenet_utils

        return [[(wnid, label, float(s)) for wnid, label, s in row]
                for row in imagenet_utils.decode_predictions(p, top=k)]
    import json

    try:  # read here: Keras's get_file would re-check its hash and download over it
        index = json.loads(index_path.read_text())
        classes = [tuple(index[str(i)]) for i in range(1000)]
    except Exception as err:
        raise WeightsUnavailable(f"ImageNet class names: {index_path} is not the 1000-class JSON index "
                                 f"({type(err).__name__}: {err}). It was left as it is.") from None
    order = np.argsort(-p, axis=1, kind="stable")[:, :k]
    return [[(classes[i][0], classes[i][1], float(row[i])) for i in idx] for row, idx in zip(p, order)]


# --------------------------------------------------------------------------------------------
# top-k
# --------------------------------------------------------------------------------------------


def _check_k(k: Any, n_classes: int) -> int:
    k = check.positive_int(k, "k")
    if k > n_classes:
        raise ValueError(f"k={k} is larger than the number of classes ({n_classes})")
    return int(k)


def _check_probs(probs) -> np.ndarray:
    p = check.array(probs, "probs", finite=True)
    if p.dtype == np.bool_:
        raise check.ArgumentTypeError("probs must hold numbers (scores per class), got dtype bool")
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"probs must be a 2-D array (N, classes), got shape {p.shape}")
    return p.astype(np.float32, copy=False)


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
