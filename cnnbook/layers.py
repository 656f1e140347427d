"""Keras layers and small blocks the ResNet and SENet chapters are built from.

Every layer here is a subclass of ``keras.layers.Layer`` registered with
``keras.saving.register_keras_serializable(package="cnnbook")`` and has a ``get_config``, so a
model that uses them saves to ``.keras`` and loads back with ``safe_mode=True`` (no ``Lambda``
layers, no pickled Python code).

- :class:`~cnnbook.layers.SqueezeExcite`: the squeeze-and-excitation block of Hu et al. (SENet).
- :class:`~cnnbook.layers.ZeroPadShortcut`: the parameter-free "option A" shortcut of the ResNet paper
  (subsample by the stride, pad the new channels with zeros).
- :class:`~cnnbook.layers.ConvBNAct`: convolution (no bias) -> batch normalisation -> activation.
- :func:`~cnnbook.layers.vgg_block` and :func:`~cnnbook.layers.inception_block`: a VGG-style
  and an Inception-style block with an optional SE block at their output, to show that SE plugs into any architecture.
- :func:`~cnnbook.layers.classifier_head`: the keras.applications ending (``include_top`` /
  ``pooling``) that every builder of the package shares, and :func:`~cnnbook.layers.load_weights`,
  the ``weights=`` argument they share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers, ops

from cnnbook import validate as check

__all__ = ["SqueezeExcite", "ZeroPadShortcut", "ConvBNAct", "vgg_block", "inception_block", "classifier_head",
           "load_weights"]

_PACKAGE = "cnnbook"


def _check_positive_int(value: Any, arg: str) -> int:
    return check.positive_int(value, arg)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SqueezeExcite(layers.Layer):
    """Squeeze-and-excitation: re-weight the channels of a feature map by a learned gate.

    For an input ``x`` of shape ``(batch, *spatial, C)`` (any channels-last feature map: 1-D,
    2-D or 3-D):

    1. *squeeze*: ``z = mean(x)`` over the spatial axes, one number per channel, shape (batch, C);
    2. *excitation*: ``s = sigmoid(W2 relu(W1 z + b1) + b2)`` with ``W1`` of shape (C, C/r) and
       ``W2`` of shape (C/r, C): a bottleneck of reduction ratio ``r``;
    3. *scale*: ``y = x * s``, each channel multiplied by its gate value in (0, 1).

    The block adds ``2 C^2 / r`` weights plus ``C/r + C`` biases (Hu et al., 2018, Sec. 3).

    Args:
        ratio: reduction ratio ``r`` (>= 1, at most the number of channels). The hidden width is
            ``max(min_units, floor(C / r))``.
        min_units: smallest hidden width (>= 1). 1 gives the paper's ``C / r`` exactly.
        activation: activation of the hidden layer (the paper: ReLU).
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Raises:
        ValueError: ``ratio`` below 1 or above the channel count, ``min_units`` not a positive
            int, or an input whose rank is not 3 to 5 or whose channel axis is unknown.
    """

    def __init__(self, ratio: float = 16, min_units: int = 1, activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        if not check.is_number(ratio) or not ratio >= 1:
            raise ValueError(f"ratio must be a number >= 1 (the reduction ratio r), got {check.describe(ratio)}")
        self.ratio = ratio
        self.min_units = _check_positive_int(min_units, "min_units")
        self.activation = activation
        self.channels: int | None = None
        self.units: int | None = None

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) not in (3, 4, 5):
            raise ValueError(
                f"SqueezeExcite expects a channels-last feature map of rank 3, 4 or 5 "
                f"(batch, *spatial, channels), got an input of shape {shape}"
            )
        channels = shape[-1]
        if channels is None:
            raise ValueError(f"SqueezeExcite needs a known number of channels (last axis), got shape {shape}")
        if self.ratio > channels:
            raise ValueError(
                f"ratio={self.ratio!r} is larger than the number of channels ({channels}); "
                f"the hidden layer would have C/r < 1 units"
            )
        self.channels = int(channels)
        self.units = max(self.min_units, int(channels // self.ratio))
        self._spatial_axes = tuple(range(1, len(shape) - 1))
        self.reduce = layers.Dense(self.units, activation=self.activation, name="reduce")
        self.expand = layers.Dense(self.channels, activation="sigmoid", name="expand")
        self.reduce.build((shape[0], self.channels))
        self.expand.build((shape[0], self.units))
        super().build(input_shape)

    def excitation(self, inputs):
        """The gate values ``s`` (batch, C) for a feature map: squeeze then excitation."""
        z = ops.mean(inputs, axis=self._spatial_axes)
        return self.expand(self.reduce(z))

    def call(self, inputs):
        s = self.excitation(inputs)
        for _ in self._spatial_axes:
            s = ops.expand_dims(s, axis=1)
        return inputs * ops.cast(s, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"ratio": self.ratio, "min_units": self.min_units, "activation": self.activation})
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ZeroPadShortcut(layers.Layer):
    """The ResNet paper's option-A shortcut: identity with subsampling and zero-padded channels.

    The output keeps every ``strides``-th row and column of the input (the same grid a strided
    convolution with symmetric padding samples) and appends zero channels up to ``channels``.
    It has no parameters, so a ResNet with option-A shortcuts has exactly as many weights as the
    plain network of the same depth.

    Args:
        channels: number of output channels (at least the input's).
        strides: subsampling factor (1 keeps the spatial size).
        **kwargs: passed to ``keras.layers.Layer``.

    Raises:
        ValueError: ``channels`` or ``strides`` not positive ints, an input that is not a 4-D
            feature map, or an input with more channels than ``channels``.
    """

    def __init__(self, channels: int, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.channels = _check_positive_int(channels, "channels")
        self.strides = _check_positive_int(strides, "strides")

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != 4:
            raise ValueError(f"ZeroPadShortcut expects a 4-D feature map (batch, H, W, C), got shape {shape}")
        if shape[-1] is None or shape[-1] > self.channels:
            raise ValueError(
                f"ZeroPadShortcut(channels={self.channels}) cannot shrink an input with {shape[-1]} channels"
            )
        self._extra = self.channels - int(shape[-1])
        super().build(input_shape)

    def call(self, inputs):
        x = inputs
        if self.strides > 1:
            x = x[:, :: self.strides, :: self.strides, :]
        if self._extra:
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, self._extra]])
        return x

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        s = self.strides
        h = None if h is None else -(-h // s)
        w = None if w is None else -(-w // s)
        return (b, h, w, self.channels)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"channels": self.channels, "strides": self.strides})
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ConvBNAct(layers.Layer):
    """Convolution without bias, batch normalisation, activation: the unit most CNNs repeat.

    The bias is left out because the batch-normalisation shift (beta) that follows plays its role.

    Args:
        filters: output channels.
        kernel_size: side of the square kernel.
        strides: convolution stride.
        activation: any Keras activation name, or None for no activation.
        kernel_initializer: Keras initializer for the kernel (He normal by default).
        **kwargs: passed to ``keras.layers.Layer``.
    """

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1, activation: str | None = "relu",
                 kernel_initializer: Any = "he_normal", **kwargs):
        super().__init__(**kwargs)
        self.filters = _check_positive_int(filters, "filters")
        self.kernel_size = _check_positive_int(kernel_size, "kernel_size")
        self.strides = _check_positive_int(strides, "strides")
        self.activation = activation
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.conv = layers.Conv2D(self.filters, self.kernel_size, strides=self.strides, padding="same",
                                  use_bias=False, kernel_initializer=self.kernel_initializer, name="conv")
        self.bn = layers.BatchNormalization(name="bn")
        self.act = layers.Activation(activation, name="act") if activation else None

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != 4:
            raise ValueError(f"ConvBNAct expects a 4-D feature map (batch, H, W, C), got shape {shape}")
        self.conv.build(shape)
        self.bn.build(self.conv.compute_output_shape(shape))
        super().build(input_shape)

    def call(self, inputs, training=None):
        x = self.bn(self.conv(inputs), training=training)
        return self.act(x) if self.act is not None else x

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
            "activation": self.activation,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config


def classifier_head(x, *, include_top: bool, pooling: str | None, classes: int,
                    classifier_activation: str | None, dropout: float = 0.0, kernel_regularizer=None,
                    pool_name: str = "avg_pool"):
    """The keras.applications ending of a convolutional model.

    With ``include_top``: global average pooling -> optional dropout -> a dense classifier kept in
    float32 (so a softmax under a mixed-precision policy does not saturate). Without it: the last
    feature map, or its global ``"avg"`` / ``"max"`` pooling.

    Args:
        x: the last feature map, a 4-D Keras tensor.
        include_top: end with the classifier.
        pooling: None, ``"avg"`` or ``"max"``; used only when ``include_top`` is False.
        classes: number of classes of the classifier.
        classifier_activation: activation of the classifier (``"softmax"``, or None for logits).
        dropout: dropout rate before the classifier (0 for none).
        kernel_regularizer: regulariser of the classifier's kernel.
        pool_name: name of the pooling layer before the classifier.

    Returns:
        The output tensor.
    """
    if include_top:
        x = layers.GlobalAveragePooling2D(name=pool_name)(x)
        if dropout:
            x = layers.Dropout(dropout, name="dropout")(x)
        return layers.Dense(classes, activation=classifier_activation, kernel_regularizer=kernel_regularizer,
                            dtype="float32", name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def load_weights(model: keras.Model, weights) -> keras.Model:
    """What every builder does with its ``weights`` argument: None leaves the fresh weights; the
    path of a weights file (``.weights.h5``) saved from the same architecture is loaded.

    Raises:
        ValueError: ``weights`` is neither None nor an existing file, or the file does not fit
            the model (the message names the file and the model).
    """
    path = check.weights(weights)
    if path is None:
        return model
    try:
        model.load_weights(str(path))
    except Exception as err:  # Keras raises ValueError/KeyError/OSError depending on the mismatch
        raise ValueError(f"weights={str(path)!r} does not fit the {model.name} architecture "
                         f"({model.count_params():,} parameters in {len(model.weights)} weight arrays): the file "
                         f"holds {check.describe_model_file(path)} "
                         f"({type(err).__name__}: {str(err).splitlines()[0][:200]})") from None
    return model


def _se(x, se_ratio: float | None, se_min_units: int, name: str):
    if se_ratio is None:
        return x
    return SqueezeExcite(se_ratio, min_units=se_min_units, name=f"{name}_se")(x)


def vgg_block(x, filters: int, convs: int = 2, *, se_ratio: float | None = None, se_min_units: int = 1,
              pool: bool = True, name: str = "vgg"):
    """A VGG-style block: ``convs`` 3x3 :class:`~cnnbook.layers.ConvBNAct` units, optional SE, optional 2x2 max-pool.

    With ``se_ratio`` set, a :class:`~cnnbook.layers.SqueezeExcite` re-weights the block's output channels before
    pooling (the "SE-VGG" of Hu et al., Table 2).

    Args:
        x: a 4-D Keras tensor.
        filters: channels of every convolution.
        convs: number of convolutions (>= 1).
        se_ratio: reduction ratio of the SE block, or None for none.
        se_min_units: smallest hidden width of the SE block.
        pool: end with a 2x2 max-pool.
        name: prefix of the layer names.

    Returns:
        The block's output tensor.
    """
    _check_positive_int(filters, "filters")
    _check_positive_int(convs, "convs")
    for i in range(1, convs + 1):
        x = ConvBNAct(filters, 3, name=f"{name}_conv{i}")(x)
    x = _se(x, se_ratio, se_min_units, name)
    if pool:
        x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    return x


def inception_block(x, branch_filters: Sequence[int] = (16, 16, 8, 8), *, se_ratio: float | None = None,
                    se_min_units: int = 1, name: str = "inception"):
    """An Inception-style block: four parallel branches concatenated, optional SE on the result.

    Branches: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 -> 3x3 (the factorised 5x5 of Inception-v3);
    3x3 average pool -> 1x1. Each convolution is a :class:`~cnnbook.layers.ConvBNAct`. With ``se_ratio`` set, a
    :class:`~cnnbook.layers.SqueezeExcite` scales the concatenated channels (the "SE-Inception" module of
    Hu et al., Fig. 2).

    Args:
        x: a 4-D Keras tensor.
        branch_filters: output channels of the four branches.
        se_ratio: reduction ratio of the SE block, or None for none.
        se_min_units: smallest hidden width of the SE block.
        name: prefix of the layer names.

    Returns:
        The block's output tensor, with ``sum(branch_filters)`` channels.
    """
    try:
        f1, f3, f5, fp = (int(f) for f in branch_filters)
    except (TypeError, ValueError):
        raise ValueError(f"branch_filters must be four positive ints, got {branch_filters!r}") from None
    if min(f1, f3, f5, fp) < 1:
        raise ValueError(f"branch_filters must be four positive ints, got {branch_filters!r}")
    b1 = ConvBNAct(f1, 1, name=f"{name}_1x1")(x)
    b3 = ConvBNAct(f3, 1, name=f"{name}_3x3_reduce")(x)
    b3 = ConvBNAct(f3, 3, name=f"{name}_3x3")(b3)
    b5 = ConvBNAct(f5, 1, name=f"{name}_5x5_reduce")(x)
    b5 = ConvBNAct(f5, 3, name=f"{name}_5x5a")(b5)
    b5 = ConvBNAct(f5, 3, name=f"{name}_5x5b")(b5)
    bp = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    bp = ConvBNAct(fp, 1, name=f"{name}_pool_proj")(bp)
    x = layers.Concatenate(name=f"{name}_concat")([b1, b3, b5, bp])
    return _se(x, se_ratio, se_min_units, name)
