"""Model builders. Each returns a ``keras.Model`` and takes the keras.applications keywords
where they make sense (``input_shape``, ``classes``, ``classifier_activation``, ``include_top``,
``pooling``, ``weights``).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from cnnbook.layers import classifier_head, inception_block, vgg_block
from cnnbook.resnet import resnet_cifar, resnet_imagenet

__all__ = ["mnist_convnet", "simple_cnn", "mlp", "check_input_shape", "resnet_cifar", "resnet_imagenet",
           "vgg_block", "inception_block"]


def check_input_shape(input_shape, *, min_side: int = 1, arg: str = "input_shape") -> tuple[int, int, int]:
    """Validate a channels-last image shape (H, W, C) and return it as a tuple of ints."""
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"{arg} must be a tuple (height, width, channels), got {input_shape!r}") from None
    if len(shape) != 3 or any(s < 1 for s in shape):
        raise ValueError(f"{arg} must be (height, width, channels) of positive ints, got {input_shape!r}")
    if min(shape[:2]) < min_side:
        raise ValueError(f"{arg} needs height and width of at least {min_side}, got {input_shape!r}")
    return shape  # type: ignore[return-value]


def _check_classes(classes: int) -> int:
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be a positive int, got {classes!r}")
    return classes


def _check_weights(weights) -> None:
    if weights is not None:
        raise ValueError(
            f"weights={weights!r}: this builder has no published weights; use weights=None and "
            "train, or load a saved model with keras.saving.load_model"
        )


def mnist_convnet(
    input_shape: Sequence[int] = (28, 28, 1),
    classes: int = 10,
    *,
    dropout: float = 0.5,
    classifier_activation: str | None = "softmax",
    weights=None,
    name: str = "mnist_convnet",
) -> keras.Model:
    """The classic Keras MNIST convnet (keras.io/examples/vision/mnist_convnet).

    Conv 32 (3x3, ReLU) -> max-pool 2 -> Conv 64 (3x3, ReLU) -> max-pool 2 -> flatten ->
    dropout 0.5 -> dense ``classes``. 34,826 parameters on 28x28x1 input with 10 classes.
    """
    shape = check_input_shape(input_shape, min_side=10)
    _check_classes(classes)
    _check_weights(weights)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    return keras.Sequential(
        [
            keras.Input(shape=shape),
            layers.Conv2D(32, 3, activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(64, 3, activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dropout(dropout, name="dropout"),
            # float32 even under mixed precision, so that the softmax does not saturate
            layers.Dense(classes, activation=classifier_activation, dtype="float32", name="predictions"),
        ],
        name=name,
    )


def simple_cnn(
    input_shape: Sequence[int] = (32, 32, 1),
    classes: int = 4,
    *,
    filters: Sequence[int] = (16, 32),
    kernel_size: int = 3,
    dense: int | None = None,
    global_pool: bool = True,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    weights=None,
    name: str = "simple_cnn",
) -> keras.Model:
    """A small CNN: for each entry of ``filters`` a 'same' Conv-ReLU and a 2x2 max-pool, then
    global average pooling (or flatten) -> optional dense -> softmax.

    With ``include_top=False`` the model ends at the last feature map (or its ``pooling``:
    ``"avg"`` / ``"max"``), as in keras.applications.
    """
    shape = check_input_shape(input_shape, min_side=2 ** len(filters))
    _check_classes(classes)
    _check_weights(weights)
    if not filters or any(int(f) < 1 for f in filters):
        raise ValueError(f"filters must be a non-empty sequence of positive ints, got {filters!r}")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max', got {pooling!r}")
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(int(f), kernel_size, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="gap")(x) if global_pool else layers.Flatten(name="flatten")(x)
        if dense:
            x = layers.Dense(int(dense), activation="relu", name="fc")(x)
        x = layers.Dense(classes, activation=classifier_activation, dtype="float32", name="predictions")(x)
    else:
        x = classifier_head(x, include_top=False, pooling=pooling, classes=classes,
                            classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name)


def mlp(
    input_shape: Sequence[int] = (32, 32, 1),
    classes: int = 4,
    *,
    hidden: Sequence[int] = (256, 128),
    classifier_activation: str | None = "softmax",
    name: str = "mlp",
) -> keras.Model:
    """A fully connected network on the flattened image: Flatten -> Dense-ReLU for each of
    ``hidden`` -> softmax."""
    shape = check_input_shape(input_shape)
    _check_classes(classes)
    if any(int(h) < 1 for h in hidden):
        raise ValueError(f"hidden must be positive ints, got {hidden!r}")
    inputs = keras.Input(shape=shape, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    for i, h in enumerate(hidden, start=1):
        x = layers.Dense(int(h), activation="relu", name=f"fc{i}")(x)
    x = layers.Dense(classes, activation=classifier_activation, dtype="float32", name="predictions")(x)
    return keras.Model(inputs, x, name=name)
