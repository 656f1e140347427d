"""Model builders with one keyword contract, and a registry of them.

Every builder returns a ``keras.Model`` and its signature is, in this order:

1. its own arguments, those that say which network it is (``depth``, ``version``, ``arch``, ...;
   none for the small networks);
2. the seven contract keywords, always in this order: ``input_shape``, ``classes``,
   ``include_top``, ``pooling``, ``classifier_activation``, ``weights``, ``name``
   (keras.applications' meanings: ``include_top=False`` ends at the last feature map, or its
   ``pooling`` ``"avg"``/``"max"``; ``weights`` is None or the path of a ``.weights.h5`` file
   saved from the same architecture, plus ``"imagenet"`` where Keras publishes weights);
3. keyword-only options of the builder (``dropout``, ``filters``, ``widths``, ...).

The classifier always computes in float32 (so a softmax under mixed precision does not
saturate). :func:`names` lists the registered builders and :func:`get` builds one by name::

    from cnnbook import models
    models.names()                       # ['mnist_convnet', 'simple_cnn', ..., 'nas_child']
    model = models.get("resnet_cifar", depth=20, input_shape=(32, 32, 3), classes=10)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

import keras
from keras import layers

from cnnbook import validate as check
from cnnbook.layers import classifier_head, inception_block, load_weights, vgg_block
from cnnbook.resnet import resnet_cifar, resnet_imagenet

__all__ = ["mnist_convnet", "simple_cnn", "mlp", "check_input_shape", "resnet_cifar", "resnet_imagenet",
           "vgg_block", "inception_block", "names", "get", "builder", "CONTRACT"]

#: The keywords every builder takes, in this order, after its own arguments.
CONTRACT: tuple[str, ...] = ("input_shape", "classes", "include_top", "pooling", "classifier_activation",
                             "weights", "name")

# name -> "module:function"; resolved on use, so that this module imports neither nas nor shipped
_REGISTRY: dict[str, str] = {
    "mnist_convnet": "cnnbook.models:mnist_convnet",
    "simple_cnn": "cnnbook.models:simple_cnn",
    "mlp": "cnnbook.models:mlp",
    "resnet_cifar": "cnnbook.resnet:resnet_cifar",
    "resnet_imagenet": "cnnbook.resnet:resnet_imagenet",
    "shipped_cnn": "cnnbook.shipped:shipped_architecture",
    "nas_child": "cnnbook.nas:build",
}


def names() -> list[str]:
    """The registered builders, for :func:`get`."""
    return list(_REGISTRY)


def builder(name: str) -> Callable[..., keras.Model]:
    """The builder function registered under ``name``."""
    name = check.choice(name, "name", _REGISTRY)
    module, func = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), func)


def get(name: str, **kwargs) -> keras.Model:
    """Build the registered model ``name`` with ``kwargs`` (the builder's own arguments and the
    contract keywords), e.g. ``get("resnet_cifar", depth=20, classes=10)``.

    Raises:
        ValueError: an unknown name (the message lists :func:`names`), a keyword the builder
            does not take (the message lists those it takes), or a missing required argument.
    """
    import inspect

    build = builder(name)
    params = inspect.signature(build).parameters
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise ValueError(f"{name} takes no keyword(s) {unknown}; it takes {', '.join(params)}")
    missing = [p for p, v in params.items() if v.default is v.empty and p not in kwargs]
    if missing:
        raise ValueError(f"{name} needs {', '.join(missing)} (e.g. models.get({name!r}, {missing[0]}=...))")
    return build(**kwargs)


def check_input_shape(input_shape, *, min_side: int = 1, arg: str = "input_shape") -> tuple[int, int, int]:
    """Validate a channels-last image shape (H, W, C) and return it as a tuple of ints
    (:func:`cnnbook.validate.input_shape`)."""
    return check.input_shape(input_shape, arg, min_side=min_side)


def _no_pooling_for(builder_name: str, pooling) -> None:
    if pooling is not None:
        raise ValueError(f"pooling={pooling!r}: {builder_name} has no feature map to pool; use pooling=None")


def mnist_convnet(
    input_shape: Sequence[int] = (28, 28, 1),
    classes: int = 10,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    weights=None,
    name: str = "mnist_convnet",
    *,
    dropout: float = 0.5,
) -> keras.Model:
    """The classic Keras MNIST convnet (keras.io/examples/vision/mnist_convnet).

    Conv 32 (3x3, ReLU) -> max-pool 2 -> Conv 64 (3x3, ReLU) -> max-pool 2 -> flatten ->
    dropout 0.5 -> dense ``classes``. 34,826 parameters on 28x28x1 input with 10 classes.
    Without the top it ends after the second max-pool (or its ``pooling``).
    """
    shape = check.input_shape(input_shape, min_side=10)
    classes = check.positive_int(classes, "classes")
    include_top = check.boolean(include_top, "include_top")
    pooling = check.pooling(pooling)
    dropout = check.fraction(dropout, "dropout")
    check.weights(weights)
    body = [
        keras.Input(shape=shape),
        layers.Conv2D(32, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool2"),
    ]
    if include_top:
        body += [
            layers.Flatten(name="flatten"),
            layers.Dropout(dropout, name="dropout"),
            # float32 even under mixed precision, so that the softmax does not saturate
            layers.Dense(classes, activation=classifier_activation, dtype="float32", name="predictions"),
        ]
    elif pooling == "avg":
        body.append(layers.GlobalAveragePooling2D(name="avg_pool"))
    elif pooling == "max":
        body.append(layers.GlobalMaxPooling2D(name="max_pool"))
    return load_weights(keras.Sequential(body, name=name), weights)


def simple_cnn(
    input_shape: Sequence[int] = (32, 32, 1),
    classes: int = 4,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    weights=None,
    name: str = "simple_cnn",
    *,
    filters: Sequence[int] = (16, 32),
    kernel_size: int = 3,
    dense: int | None = None,
    global_pool: bool = True,
) -> keras.Model:
    """A small CNN: for each entry of ``filters`` a 'same' Conv-ReLU and a 2x2 max-pool, then
    global average pooling (or flatten) -> optional dense -> softmax.

    With ``include_top=False`` the model ends at the last feature map (or its ``pooling``:
    ``"avg"`` / ``"max"``), as in keras.applications.
    """
    filters = check.int_sequence(filters, "filters")
    shape = check.input_shape(input_shape, min_side=2 ** len(filters))
    classes = check.positive_int(classes, "classes")
    include_top = check.boolean(include_top, "include_top")
    pooling = check.pooling(pooling)
    kernel_size = check.positive_int(kernel_size, "kernel_size")
    dense = check.positive_int(dense, "dense", allow_none=True)
    check.weights(weights)
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, kernel_size, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="gap")(x) if global_pool else layers.Flatten(name="flatten")(x)
        if dense:
            x = layers.Dense(dense, activation="relu", name="fc")(x)
        x = layers.Dense(classes, activation=classifier_activation, dtype="float32", name="predictions")(x)
    else:
        x = classifier_head(x, include_top=False, pooling=pooling, classes=classes,
                            classifier_activation=classifier_activation)
    return load_weights(keras.Model(inputs, x, name=name), weights)


def mlp(
    input_shape: Sequence[int] = (32, 32, 1),
    classes: int = 4,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    weights=None,
    name: str = "mlp",
    *,
    hidden: Sequence[int] = (256, 128),
) -> keras.Model:
    """A fully connected network on the flattened image: Flatten -> Dense-ReLU for each of
    ``hidden`` -> softmax. Without the top it ends at the last hidden layer; it has no feature
    map, so ``pooling`` must stay None."""
    shape = check.input_shape(input_shape)
    classes = check.positive_int(classes, "classes")
    include_top = check.boolean(include_top, "include_top")
    pooling = check.pooling(pooling)
    _no_pooling_for("mlp", pooling)
    try:
        hidden = check.int_sequence(hidden, "hidden", non_empty=False)
    except ValueError:
        raise ValueError(f"hidden must be positive ints, got {check.describe(hidden)}") from None
    check.weights(weights)
    inputs = keras.Input(shape=shape, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    for i, h in enumerate(hidden, start=1):
        x = layers.Dense(h, activation="relu", name=f"fc{i}")(x)
    if include_top:
        x = layers.Dense(classes, activation=classifier_activation, dtype="float32", name="predictions")(x)
    return load_weights(keras.Model(inputs, x, name=name), weights)
