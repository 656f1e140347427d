"""Residual networks (He et al. 2016a, 2016b) and their squeeze-and-excitation variants (Hu et al.).

One generic builder, :func:`~cnnbook.resnet.build_resnet`, makes every network of the ResNet
and SENet chapters. It is given a stem, a list of stages and a block function; the blocks
(:func:`~cnnbook.resnet.basic_block`, :func:`~cnnbook.resnet.bottleneck_block`) receive their
parts (:class:`~cnnbook.resnet.BlockParts`: the ordering of batch normalisation and ReLU, the
shortcut type, whether there is a shortcut at all, the squeeze-and-excitation ratio, the
convolution bias and initialiser) as an argument. So a plain network, a pre-activation ResNet and
an SE-ResNet are flags, not copies:

- :func:`~cnnbook.resnet.resnet_cifar`: the CIFAR family of depth 6n+2 (basic blocks; 20, 32,
  44, 56, 110, 1202) and 9n+2 (pre-activation bottleneck blocks; 164, 1001), option A/B/C
  shortcuts, ``plain=True``, ``version=1`` (original) or ``version=2`` (full pre-activation),
  ``se_ratio``.
- :func:`~cnnbook.resnet.resnet_imagenet`: ResNet-18/34 (basic) and ResNet-50/101/152
  (bottleneck), version 1 or 2; the bottleneck networks are layer for layer the
  ``keras.applications`` ResNets (same layer names, same parameter counts, same outputs for the
  same weights), so ``weights="imagenet"`` loads Keras's published weights.

Helpers for the chapters: :func:`~cnnbook.resnet.trainable_params`,
:func:`~cnnbook.resnet.multiply_adds`, :func:`~cnnbook.resnet.layer_table`,
:func:`~cnnbook.resnet.kernel_gradient_norms`, :func:`~cnnbook.resnet.activation_stds`, and the
papers' CIFAR training recipe (:func:`~cnnbook.resnet.paper_optimizer`,
:func:`~cnnbook.resnet.training_dataset`, :func:`~cnnbook.resnet.compare_training`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import layers

from cnnbook.layers import ConvBNAct, SqueezeExcite, ZeroPadShortcut, classifier_head

__all__ = [
    "BlockParts",
    "basic_block",
    "bottleneck_block",
    "build_resnet",
    "resnet_cifar",
    "resnet_imagenet",
    "cifar_depths",
    "copy_weights",
    "trainable_params",
    "multiply_adds",
    "layer_table",
    "kernel_gradient_norms",
    "activation_stds",
    "paper_optimizer",
    "training_dataset",
    "compare_training",
    "excitations",
]

SHORTCUTS = ("A", "B", "C")
VERSIONS = (1, 2)
IMAGENET_DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


# --------------------------------------------------------------------------------------------
# parts and blocks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockParts:
    """What a residual block is made of; the blocks take it as an argument.

    Attributes:
        version: 1 = original unit (conv-BN-ReLU, addition, then ReLU); 2 = full pre-activation
            unit (BN-ReLU-conv, addition, nothing after), He et al. (2016b).
        shortcut: ``"A"`` identity, zero-padded channels and subsampling where the shape changes
            (no parameters); ``"B"`` 1x1 projection where the channel count changes, identity
            otherwise; ``"C"`` 1x1 projection on every shortcut.
        plain: no shortcut at all (the "plain" baseline of the ResNet paper).
        se_ratio: reduction ratio of a :class:`~cnnbook.layers.SqueezeExcite` applied to the
            residual branch before the addition, or None for no SE.
        se_min_units: smallest hidden width of the SE block.
        batch_norm: use batch normalisation.
        conv_bias: ``"none"`` (convolutions without bias, the papers' CIFAR counts), ``"all"``
            (every convolution has a bias, as keras.applications' ResNet v1) or
            ``"unnormalised"`` (a bias only where no batch normalisation follows, as in
            keras.applications' ResNet v2).
        bn_epsilon: batch-normalisation epsilon.
        bn_momentum: batch-normalisation moving-average momentum.
        kernel_initializer: Keras initializer of the convolution kernels.
        kernel_regularizer: Keras regularizer of the convolution and dense kernels (weight decay).
        stride_in_3x3: in a bottleneck block, put the stride on the 3x3 convolution (True) or on
            the first 1x1 convolution (False).
    """

    version: int = 1
    shortcut: str = "A"
    plain: bool = False
    se_ratio: float | None = None
    se_min_units: int = 1
    batch_norm: bool = True
    conv_bias: str = "none"
    bn_epsilon: float = 1e-5
    bn_momentum: float = 0.9
    kernel_initializer: Any = "he_normal"
    kernel_regularizer: Any = None
    stride_in_3x3: bool = False

    def __post_init__(self):
        if self.version not in VERSIONS or isinstance(self.version, bool):
            raise ValueError(f"version must be 1 (original) or 2 (pre-activation), got {self.version!r}")
        if self.shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {', '.join(map(repr, SHORTCUTS))}, got {self.shortcut!r}")
        if self.conv_bias not in ("none", "all", "unnormalised"):
            raise ValueError(f"conv_bias must be 'none', 'all' or 'unnormalised', got {self.conv_bias!r}")
        if self.se_ratio is not None and (isinstance(self.se_ratio, bool) or not isinstance(self.se_ratio, (int, float))
                                          or not self.se_ratio >= 1):
            raise ValueError(f"se_ratio must be None or a number >= 1, got {self.se_ratio!r}")


def _bias(parts: BlockParts, normalised: bool) -> bool:
    """Whether a convolution gets a bias (always when there is no batch normalisation)."""
    if not parts.batch_norm:
        return True
    return parts.conv_bias == "all" or (parts.conv_bias == "unnormalised" and not normalised)


def _conv(x, filters: int, kernel: int, stride: int, parts: BlockParts, name: str, *, normalised: bool = True):
    """A convolution; strided kernels larger than 1 pad symmetrically first (as Caffe/Torch do)."""
    common = dict(use_bias=_bias(parts, normalised), kernel_initializer=parts.kernel_initializer,
                  kernel_regularizer=parts.kernel_regularizer, name=f"{name}_conv")
    if kernel > 1 and stride > 1:
        x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
        return layers.Conv2D(filters, kernel, strides=stride, padding="valid", **common)(x)
    return layers.Conv2D(filters, kernel, strides=stride, padding="same", **common)(x)


def _bn(x, parts: BlockParts, name: str):
    if not parts.batch_norm:
        return x
    return layers.BatchNormalization(epsilon=parts.bn_epsilon, momentum=parts.bn_momentum, name=f"{name}_bn")(x)


def _relu(x, name: str):
    return layers.Activation("relu", name=f"{name}_relu")(x)


def _se(x, parts: BlockParts, name: str):
    if parts.se_ratio is None:
        return x
    return SqueezeExcite(parts.se_ratio, min_units=parts.se_min_units, name=f"{name}_se")(x)


def _shortcut(x, preact, filters_out: int, stride: int, parts: BlockParts, name: str):
    """The shortcut branch of a block (see :class:`~cnnbook.resnet.BlockParts` for the options)."""
    channels_in = int(x.shape[-1])
    project = parts.shortcut == "C" or (parts.shortcut == "B" and channels_in != filters_out)
    if project:
        if parts.version == 1:
            s = _conv(x, filters_out, 1, stride, parts, f"{name}_0")
            return _bn(s, parts, f"{name}_0")
        return _conv(preact, filters_out, 1, stride, parts, f"{name}_0", normalised=False)
    if stride == 1 and channels_in == filters_out:
        return x
    if channels_in > filters_out:
        raise ValueError(f"block {name}: option {parts.shortcut} cannot shrink {channels_in} channels to {filters_out}")
    return ZeroPadShortcut(filters_out, stride, name=f"{name}_0_pad")(x)


def _merge(x, branch, preact, filters_out: int, stride: int, parts: BlockParts, name: str):
    branch = _se(branch, parts, name)
    if parts.plain:
        return _relu(branch, f"{name}_out") if parts.version == 1 else branch
    s = _shortcut(x, preact, filters_out, stride, parts, name)
    if parts.version == 1:
        out = layers.Add(name=f"{name}_add")([s, branch])
        return layers.Activation("relu", name=f"{name}_out")(out)
    return layers.Add(name=f"{name}_out")([s, branch])


def _preact(x, parts: BlockParts, name: str):
    return _relu(_bn(x, parts, f"{name}_preact"), f"{name}_preact") if parts.batch_norm else _relu(x, f"{name}_preact")


def basic_block(x, filters: int, stride: int, parts: BlockParts, name: str):
    """Two 3x3 convolutions with a shortcut (the CIFAR and ResNet-18/34 unit).

    ``parts.version == 1``: conv-BN-ReLU-conv-BN, (SE), add the shortcut, ReLU.
    ``parts.version == 2``: BN-ReLU-conv-BN-ReLU-conv, (SE), add the shortcut.

    Args:
        x: input tensor (batch, H, W, C).
        filters: output channels of both convolutions.
        stride: stride of the first convolution (and of the shortcut).
        parts: the :class:`~cnnbook.resnet.BlockParts`.
        name: layer-name prefix (e.g. ``"conv2_block1"``).

    Returns:
        The block's output tensor.
    """
    if parts.version == 1:
        preact = x
        r = _relu(_bn(_conv(x, filters, 3, stride, parts, f"{name}_1"), parts, f"{name}_1"), f"{name}_1")
        r = _bn(_conv(r, filters, 3, 1, parts, f"{name}_2"), parts, f"{name}_2")
    else:
        preact = _preact(x, parts, name)
        r = _relu(_bn(_conv(preact, filters, 3, stride, parts, f"{name}_1"), parts, f"{name}_1"), f"{name}_1")
        r = _conv(r, filters, 3, 1, parts, f"{name}_2", normalised=False)
    return _merge(x, r, preact, filters, stride, parts, name)


def bottleneck_block(x, filters: int, stride: int, parts: BlockParts, name: str, expansion: int = 4):
    """1x1 (reduce) -> 3x3 -> 1x1 (expand to ``expansion * filters``) with a shortcut.

    ``parts.version == 1`` is keras.applications' ``residual_block_v1`` (post-activation);
    ``parts.version == 2`` is its ``residual_block_v2`` and the pre-activation unit of the
    authors' ResNet-164/1001 code.

    Args:
        x: input tensor (batch, H, W, C).
        filters: width of the 1x1 and 3x3 convolutions; the block outputs ``expansion * filters``.
        stride: stride of the block (on the 3x3 or the first 1x1, see ``parts.stride_in_3x3``).
        parts: the :class:`~cnnbook.resnet.BlockParts`.
        name: layer-name prefix.
        expansion: output width over ``filters``.

    Returns:
        The block's output tensor.
    """
    out = expansion * filters
    s1, s3 = (1, stride) if parts.stride_in_3x3 else (stride, 1)
    if parts.version == 1:
        preact = x
        r = _relu(_bn(_conv(x, filters, 1, s1, parts, f"{name}_1"), parts, f"{name}_1"), f"{name}_1")
        r = _relu(_bn(_conv(r, filters, 3, s3, parts, f"{name}_2"), parts, f"{name}_2"), f"{name}_2")
        r = _bn(_conv(r, out, 1, 1, parts, f"{name}_3"), parts, f"{name}_3")
    else:
        preact = _preact(x, parts, name)
        r = _relu(_bn(_conv(preact, filters, 1, s1, parts, f"{name}_1"), parts, f"{name}_1"), f"{name}_1")
        r = _relu(_bn(_conv(r, filters, 3, s3, parts, f"{name}_2"), parts, f"{name}_2"), f"{name}_2")
        r = _conv(r, out, 1, 1, parts, f"{name}_3", normalised=False)
    return _merge(x, r, preact, out, stride, parts, name)


@contextlib.contextmanager
def _recursion_limit(limit: int):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


# --------------------------------------------------------------------------------------------
# the generic builder
# --------------------------------------------------------------------------------------------


def build_resnet(
    inputs,
    stem: Callable,
    stages: Sequence[tuple[int, int, int]],
    block: Callable,
    parts: BlockParts,
    *,
    stride_at: str = "first",
    include_top: bool = True,
    pooling: str | None = None,
    classes: int = 10,
    classifier_activation: str | None = "softmax",
    name: str = "resnet",
) -> keras.Model:
    """Assemble a residual (or plain) network from a stem, stages and a block function.

    Args:
        inputs: the ``keras.Input``.
        stem: ``stem(inputs, parts) -> tensor`` (the layers before the first stage).
        stages: ``(filters, blocks, stride)`` per stage; stage ``i`` is named ``conv{i+2}``.
        block: :func:`~cnnbook.resnet.basic_block`, :func:`~cnnbook.resnet.bottleneck_block` or
            any function with their signature ``block(x, filters, stride, parts, name)``.
        parts: the :class:`~cnnbook.resnet.BlockParts` every block receives.
        stride_at: ``"first"``: the first block of a stage subsamples (the ResNet papers);
            ``"last"``: the last one does (keras.applications' ResNet v2, after TF-slim).
        include_top: end with global average pooling and a dense classifier.
        pooling: without the top, ``None`` (the last feature map), ``"avg"`` or ``"max"``.
        classes: classifier width.
        classifier_activation: activation of the classifier (``None`` for logits).
        name: model name.

    Returns:
        The ``keras.Model``.
    """
    if stride_at not in ("first", "last"):
        raise ValueError(f"stride_at must be 'first' or 'last', got {stride_at!r}")
    x = stem(inputs, parts)
    for i, (filters, blocks, stride) in enumerate(stages):
        for b in range(1, blocks + 1):
            here = (b == 1) if stride_at == "first" else (b == blocks)
            x = block(x, filters, stride if here else 1, parts, f"conv{i + 2}_block{b}")
    if parts.version == 2:
        x = _relu(_bn(x, parts, "post"), "post")
    x = classifier_head(x, include_top=include_top, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, kernel_regularizer=parts.kernel_regularizer)
    # Keras walks the layer graph recursively; ResNet-1202 is ~4,000 layers deep.
    with _recursion_limit(10 * sum(blocks for _, blocks, _ in stages) * 12 + 1000):
        return keras.Model(inputs, x, name=name)


# --------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------


def _check_int(value: Any, arg: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{arg} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_common(version, shortcut, se_ratio, classes, pooling, include_top) -> str:
    if isinstance(version, bool) or version not in VERSIONS:
        raise ValueError(f"version must be 1 (original unit) or 2 (pre-activation unit), got {version!r}")
    if not isinstance(shortcut, str) or shortcut.upper() not in SHORTCUTS:
        raise ValueError(
            f"shortcut must be 'A' (zero-padding identity), 'B' (projection where the shape changes) "
            f"or 'C' (projection everywhere), got {shortcut!r}"
        )
    if se_ratio is not None and (isinstance(se_ratio, bool) or not isinstance(se_ratio, (int, float))
                                 or not se_ratio >= 1):
        raise ValueError(f"se_ratio must be None (no SE block) or a reduction ratio >= 1, got {se_ratio!r}")
    _check_int(classes, "classes")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max', got {pooling!r}")
    if not isinstance(include_top, bool):
        raise ValueError(f"include_top must be True or False, got {include_top!r}")
    return shortcut.upper()


def _check_shape(input_shape, min_side: int, allow_none: bool) -> tuple:
    try:
        shape = tuple(None if s is None else int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be a tuple (height, width, channels), got {input_shape!r}") from None
    if len(shape) != 3 or shape[2] is None or shape[2] < 1:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    for side in shape[:2]:
        if side is None:
            if not allow_none:
                raise ValueError(
                    f"input_shape needs a fixed height and width with include_top=True, got {input_shape!r}")
        elif side < min_side:
            raise ValueError(
                f"input_shape {input_shape!r} is smaller than the network's total stride: height and width "
                f"must be at least {min_side}"
            )
    return shape


def cifar_depths(bottleneck: bool = False, up_to: int = 1202) -> list[int]:
    """The valid depths of :func:`~cnnbook.resnet.resnet_cifar`: 6n+2 (basic) or 9n+2 (bottleneck), n >= 1."""
    k = 9 if bottleneck else 6
    return list(range(k + 2, up_to + 1, k))


# --------------------------------------------------------------------------------------------
# CIFAR family
# --------------------------------------------------------------------------------------------


def resnet_cifar(
    depth: int,
    version: int = 1,
    shortcut: str = "A",
    plain: bool = False,
    se_ratio: float | None = None,
    classes: int = 10,
    input_shape: Sequence[int] = (32, 32, 3),
    *,
    bottleneck: bool | None = None,
    widths: Sequence[int] = (16, 32, 64),
    se_min_units: int = 1,
    batch_norm: bool = True,
    kernel_initializer: Any = "he_normal",
    weight_decay: float = 0.0,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    weights=None,
    name: str | None = None,
) -> keras.Model:
    """The CIFAR ResNets of He et al. (2016a, Sec. 4.2) and (2016b): 3 stages, 16/32/64 filters.

    A 3x3 convolution, then three stages of ``n`` blocks on 32x32, 16x16 and 8x8 maps (the
    first block of stages 2 and 3 subsamples with stride 2), global average pooling and a dense
    classifier. Basic blocks give depth 6n+2 (n = 3, 5, 7, 9, 18, 200 give 20, 32, 44, 56, 110,
    1202); bottleneck blocks (widths 16/32/64 expanded to 64/128/256) give 9n+2 (n = 18, 111 give
    the pre-activation ResNet-164 and ResNet-1001).

    Parameter counts (trainable: convolutions without bias, batch-norm gamma/beta, dense with
    bias): ResNet-20 269,722, ResNet-56 853,018, ResNet-110 1,727,962 (option A); pre-activation
    bottleneck ResNet-164 1,703,258 and ResNet-1001 10,327,706 (``shortcut="B"``, as in the
    authors' code).

    Args:
        depth: number of weighted layers on the main path, 6n+2 or 9n+2.
        version: 1 (original post-activation unit) or 2 (full pre-activation unit).
        shortcut: ``"A"``, ``"B"`` or ``"C"`` (see :class:`~cnnbook.resnet.BlockParts`).
        plain: drop every shortcut (the paper's plain baseline, same parameters with option A).
        se_ratio: put a squeeze-and-excitation block of this reduction ratio in every block.
        classes: classifier width.
        input_shape: (height, width, channels); height and width at least 4 (the total stride).
        bottleneck: bottleneck blocks. None chooses as the papers did: bottleneck for
            ``version=2`` at depth 164 and beyond, basic blocks otherwise.
        widths: filters of the three stages (the papers: 16, 32, 64).
        se_min_units: smallest hidden width of the SE blocks.
        batch_norm: use batch normalisation (turn off only to study initialisation).
        kernel_initializer: initializer of the convolutions (the papers: He normal).
        weight_decay: L2 weight decay as in the papers' SGD (1e-4 there); adds
            ``weight_decay / 2 * ||w||^2`` per kernel to the loss.
        include_top: end with the pooling and the classifier.
        pooling: without the top: None, ``"avg"`` or ``"max"``.
        classifier_activation: activation of the classifier (``None`` for logits).
        weights: None, or the path of a weights file saved from a model of the same
            configuration.
        name: model name (default ``resnet{depth}``, ``plain{depth}``, ``se_resnet{depth}``, with
            ``_v2`` for version 2).

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: a depth of the wrong form (the message lists valid depths), an unknown
            version or shortcut, a bad ``se_ratio``, or an input smaller than the total stride.
    """
    shortcut = _check_common(version, shortcut, se_ratio, classes, pooling, include_top)
    _check_int(depth, "depth", minimum=1)
    if bottleneck is None:
        bottleneck = version == 2 and depth >= 164
    k = 9 if bottleneck else 6
    if (depth - 2) % k or depth < k + 2:
        kind = "bottleneck" if bottleneck else "basic"
        valid = ", ".join(str(d) for d in cifar_depths(bottleneck, up_to=k * 12 + 2))
        other = ("; for basic blocks (6n+2) pass bottleneck=False" if bottleneck
                 else "; for bottleneck blocks (9n+2: 164, 1001) pass bottleneck=True")
        raise ValueError(f"depth={depth} is not of the form {k}n+2 needed by {kind} blocks "
                         f"(valid: {valid}, ...){other}")
    n = (depth - 2) // k
    try:
        w = tuple(int(v) for v in widths)
    except (TypeError, ValueError):
        w = ()
    if len(w) != 3 or min(w) < 1:
        raise ValueError(f"widths must be three positive ints (filters of the three stages), got {widths!r}")
    shape = _check_shape(input_shape, min_side=4, allow_none=not include_top)
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) or weight_decay < 0:
        raise ValueError(f"weight_decay must be a non-negative number, got {weight_decay!r}")
    parts = BlockParts(
        version=version, shortcut=shortcut, plain=bool(plain), se_ratio=se_ratio, se_min_units=se_min_units,
        batch_norm=bool(batch_norm), conv_bias="none", bn_epsilon=1e-5, bn_momentum=0.9,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=keras.regularizers.L2(weight_decay / 2) if weight_decay else None,
        stride_in_3x3=False,
    )

    def stem(x, p: BlockParts):
        x = _conv(x, w[0], 3, 1, p, "conv1")
        if p.version == 1:
            x = _relu(_bn(x, p, "conv1"), "conv1")
        return x

    if name is None:
        kind_name = "plain" if plain else "se_resnet" if se_ratio else "resnet"
        name = f"{kind_name}{depth}" + ("_v2" if version == 2 else "")
    model = build_resnet(
        keras.Input(shape=shape, name="image"), stem,
        [(w[0], n, 1), (w[1], n, 2), (w[2], n, 2)],
        bottleneck_block if bottleneck else basic_block, parts,
        include_top=include_top, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation, name=name,
    )
    if weights is not None:
        _load_weights_file(model, weights)
    return model


def _load_weights_file(model: keras.Model, weights) -> None:
    if not isinstance(weights, (str, os.PathLike)) or not os.path.exists(weights):
        raise ValueError(f"weights must be None or the path of an existing weights file, got {weights!r}")
    model.load_weights(weights)


# --------------------------------------------------------------------------------------------
# ImageNet family
# --------------------------------------------------------------------------------------------

_KERAS_APPS = {(50, 1): "ResNet50", (101, 1): "ResNet101", (152, 1): "ResNet152",
               (50, 2): "ResNet50V2", (101, 2): "ResNet101V2", (152, 2): "ResNet152V2"}


def resnet_imagenet(
    depth: int = 50,
    version: int = 1,
    se_ratio: float | None = None,
    include_top: bool = True,
    weights=None,
    input_shape: Sequence[int] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    *,
    shortcut: str = "B",
    plain: bool = False,
    se_min_units: int = 1,
    name: str | None = None,
) -> keras.Model:
    """The ImageNet ResNets of He et al. (2016a, Table 1), optionally with SE blocks (SE-ResNet).

    7x7/2 convolution, 3x3/2 max-pool, four stages (64, 128, 256, 512 filters; basic blocks for
    depth 18/34, bottleneck blocks expanding 4x for 50/101/152), global average pooling, dense.
    Depth 50/101/152 are built exactly as ``keras.applications.ResNet50`` ... ``ResNet152V2``:
    the same layers under the same names, so their parameter counts are equal
    (ResNet-50: 25,636,712) and ``weights="imagenet"`` loads Keras's published weights.

    With ``se_ratio=r`` every block gets a squeeze-and-excitation block on its residual branch
    (SE-ResNet, Hu et al. 2018): ``r = 16`` adds about 2.5M parameters to ResNet-50.

    Args:
        depth: 18, 34, 50, 101 or 152.
        version: 1 (original) or 2 (pre-activation, keras.applications' ``ResNet50V2`` layout).
        se_ratio: SE reduction ratio, or None.
        include_top: end with global average pooling and the classifier.
        weights: None (random), ``"imagenet"`` (Keras's weights for depth 50/101/152 without SE;
            downloaded once into the Keras cache) or the path of a weights file.
        input_shape: (height, width, 3); default (224, 224, 3) with the top, (None, None, 3)
            without. Height and width at least 32 (the total stride).
        pooling: without the top: None, ``"avg"`` or ``"max"``.
        classes: classifier width.
        classifier_activation: activation of the classifier (``None`` for logits).
        shortcut: ``"A"``, ``"B"`` (the default, as keras.applications) or ``"C"``.
        plain: drop the shortcuts (the paper's plain-18/34).
        se_min_units: smallest hidden width of the SE blocks.
        name: model name.

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: an unsupported depth, version, shortcut or pooling, a bad ``se_ratio``, an
            input smaller than 32x32, ``weights="imagenet"`` with SE blocks, ``classes != 1000``
            or a depth Keras has no weights for.
        RuntimeError: ``weights="imagenet"`` when the weights are neither cached nor downloadable.
    """
    shortcut = _check_common(version, shortcut, se_ratio, classes, pooling, include_top)
    if isinstance(depth, bool) or depth not in IMAGENET_DEPTHS:
        raise ValueError(f"depth must be one of {sorted(IMAGENET_DEPTHS)}, got {depth!r}")
    if input_shape is None:
        input_shape = (224, 224, 3) if include_top else (None, None, 3)
    shape = _check_shape(input_shape, min_side=32, allow_none=not include_top)
    kind, blocks = IMAGENET_DEPTHS[depth]
    if weights == "imagenet":
        if (depth, version) not in _KERAS_APPS or se_ratio is not None or plain or shortcut != "B":
            raise ValueError(
                "weights='imagenet' exists only for depth 50/101/152 without SE blocks, with plain=False and "
                f"shortcut='B' (keras.applications' ResNets); got depth={depth}, se_ratio={se_ratio!r}, "
                f"plain={plain!r}, shortcut={shortcut!r}"
            )
        if include_top and classes != 1000:
            raise ValueError(f"weights='imagenet' with include_top=True needs classes=1000, got {classes}")
    elif weights is not None and (not isinstance(weights, (str, os.PathLike)) or not os.path.exists(weights)):
        raise ValueError(f"weights must be None, 'imagenet' or the path of an existing weights file, got {weights!r}")
    keras_layout = kind == "bottleneck"
    parts = BlockParts(
        version=version, shortcut=shortcut, plain=bool(plain), se_ratio=se_ratio, se_min_units=se_min_units,
        conv_bias=("all" if version == 1 else "unnormalised") if keras_layout else "none",
        bn_epsilon=1.001e-5, bn_momentum=0.99, stride_in_3x3=(version == 2),
    )

    def stem(x, p: BlockParts):
        x = layers.ZeroPadding2D(3, name="conv1_pad")(x)
        x = layers.Conv2D(64, 7, strides=2, use_bias=p.conv_bias != "none", kernel_initializer=p.kernel_initializer,
                          name="conv1_conv")(x)
        if p.version == 1:
            x = _relu(_bn(x, p, "conv1"), "conv1")
        x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
        return layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)

    if kind == "basic":
        stages = [(64, blocks[0], 1), (128, blocks[1], 2), (256, blocks[2], 2), (512, blocks[3], 2)]
        block, stride_at = basic_block, "first"
    elif version == 1:
        stages = [(64, blocks[0], 1), (128, blocks[1], 2), (256, blocks[2], 2), (512, blocks[3], 2)]
        block, stride_at = bottleneck_block, "first"
    else:  # keras.applications ResNet*V2: the last block of stages 2-4 subsamples
        stages = [(64, blocks[0], 2), (128, blocks[1], 2), (256, blocks[2], 2), (512, blocks[3], 1)]
        block, stride_at = bottleneck_block, "last"
    if name is None:
        kind_name = "plain" if plain else "se_resnet" if se_ratio else "resnet"
        name = f"{kind_name}{depth}" + ("v2" if version == 2 else "")
    model = build_resnet(
        keras.Input(shape=shape, name="image"), stem, stages, block, parts, stride_at=stride_at,
        include_top=include_top, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation, name=name,
    )
    if weights == "imagenet":
        _copy_keras_weights(model, _KERAS_APPS[(depth, version)], include_top, shape, pooling)
    elif weights is not None:
        model.load_weights(weights)
    return model


def _copy_keras_weights(model: keras.Model, app: str, include_top: bool, shape: tuple, pooling) -> None:
    """Load keras.applications' ImageNet weights into ``model`` layer by layer (same names)."""
    try:
        reference = getattr(keras.applications, app)(weights="imagenet", include_top=include_top,
                                                      input_shape=shape, pooling=pooling)
    except Exception as err:  # network or cache failure inside keras.utils.get_file
        cache = os.path.join(os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras")), "models")
        raise RuntimeError(
            f"could not get keras.applications.{app} ImageNet weights ({err}). Run "
            f"keras.applications.{app}(weights='imagenet') once on a machine with network access and copy "
            f"the downloaded .h5 file into {cache}, or pass weights=<path of the .h5 file>."
        ) from err
    copy_weights(reference, model)


def copy_weights(source: keras.Model, target: keras.Model) -> int:
    """Copy weights between two models layer by layer, matching layers by name.

    Returns:
        The number of layers whose weights were copied.

    Raises:
        ValueError: a layer with weights in ``target`` has no counterpart in ``source``.
    """
    copied = 0
    by_name = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        if not layer.weights:
            continue
        if layer.name not in by_name:
            raise ValueError(f"source has no layer named {layer.name!r}")
        layer.set_weights(by_name[layer.name].get_weights())
        copied += 1
    return copied


# --------------------------------------------------------------------------------------------
# measuring a network
# --------------------------------------------------------------------------------------------


def trainable_params(model: keras.Model) -> int:
    """Number of trainable parameters (batch-norm moving statistics excluded)."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def _hw(shape) -> int:
    return int(np.prod([int(s) for s in shape[1:-1]]))


def multiply_adds(model: keras.Model, *, detail: bool = False):
    """Multiply-accumulate operations of one forward pass for one image (the papers' "FLOPs").

    Counts convolutions (``H_out * W_out * k_h * k_w * C_in * C_out / groups``), dense layers
    (``inputs * units``) and squeeze-and-excitation blocks (their two dense layers plus the
    ``H * W * C`` multiplications of the channel scaling). Batch normalisation, activations,
    pooling and additions are not counted, as in He et al. (2016a, Table 1) and Hu et al.
    (2018, Table 2).

    Args:
        model: a built functional ``keras.Model`` with a fixed input size.
        detail: return ``{layer name: count}`` instead of the total.

    Returns:
        The total (int) or the per-layer dictionary.

    Raises:
        ValueError: a model whose input size is not fixed, or a layer with a kernel this function
            does not know how to count.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    counts: dict[str, int] = {}

    def visit(layer):
        if isinstance(layer, keras.Model):
            for sub in layer.layers:
                visit(sub)
            return
        if not layer.weights:
            return
        try:
            out_shape = layer.output.shape
            in_shape = layer.input.shape
        except (AttributeError, ValueError):
            raise ValueError(f"layer {layer.name!r} has no single input/output; count a functional model") from None
        if any(s is None for s in tuple(out_shape)[1:]):
            raise ValueError(f"multiply_adds needs a fixed input size; layer {layer.name!r} outputs {tuple(out_shape)}")
        if isinstance(layer, (layers.Conv2D, layers.Conv1D, layers.Conv3D)) and not isinstance(
                layer, (layers.DepthwiseConv2D, layers.SeparableConv2D)):
            k = int(np.prod(layer.kernel.shape[:-1]))  # k_h * k_w * C_in / groups
            counts[layer.name] = _hw(out_shape) * k * int(out_shape[-1])
        elif isinstance(layer, layers.DepthwiseConv2D):
            counts[layer.name] = _hw(out_shape) * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, layers.SeparableConv2D):
            dw = int(np.prod(layer.depthwise_kernel.shape))
            counts[layer.name] = _hw(out_shape) * (dw + int(np.prod(layer.pointwise_kernel.shape)))
        elif isinstance(layer, layers.Dense):
            counts[layer.name] = int(np.prod([int(s) for s in in_shape[1:]])) * layer.units
        elif isinstance(layer, SqueezeExcite):
            c, u = layer.channels, layer.units
            counts[layer.name] = 2 * c * u + _hw(in_shape) * c
        elif isinstance(layer, ConvBNAct):
            k = int(np.prod(layer.conv.kernel.shape[:-1]))
            counts[layer.name] = _hw(out_shape) * k * int(out_shape[-1])
        elif isinstance(layer, (layers.BatchNormalization, layers.LayerNormalization)):
            return
        else:
            raise ValueError(f"multiply_adds does not know how to count layer {layer.name!r} "
                             f"({type(layer).__name__})")

    for layer in model.layers:
        visit(layer)
    return counts if detail else int(sum(counts.values()))


def layer_table(model: keras.Model) -> list[dict[str, Any]]:
    """The paper-style structure table of a ResNet: weighted layers per output size.

    Convolutions on the main path (projection shortcuts, named ``*_0_conv``, are not counted,
    as in the papers' depth) are grouped by their output size; the dense classifier is the last
    row. The ``layers`` column sums to the network's depth.

    Returns:
        list of dict: one per row, with the keys ``output`` (e.g. ``"32x32"``), ``layers`` (an int)
        and ``filters`` (the distinct output widths, e.g. ``"16"`` or ``"16, 64"``).
    """
    rows: dict[str, dict[str, Any]] = {}
    dense = None
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D) and not layer.name.endswith("_0_conv"):
            h, w = layer.output.shape[1:3]
            key = f"{h}x{w}"
            row = rows.setdefault(key, {"output": key, "layers": 0, "filters": []})
            row["layers"] += 1
            if layer.filters not in row["filters"]:
                row["filters"].append(layer.filters)
        elif isinstance(layer, layers.Dense):
            dense = {"output": "1x1", "layers": 1, "filters": f"{layer.units} (dense)"}
    table = [{**r, "filters": ", ".join(str(f) for f in sorted(r["filters"]))} for r in rows.values()]
    return table + ([dense] if dense else [])


def _main_convs(model: keras.Model) -> list:
    return [layer for layer in model.layers
            if isinstance(layer, layers.Conv2D) and not layer.name.endswith("_0_conv")]


def kernel_gradient_norms(model: keras.Model, x, y, *, loss: Any = "sparse_categorical_crossentropy"
                          ) -> dict[str, float]:
    """L2 norm of the loss gradient with respect to each main-path convolution kernel.

    Computed on one batch with ``tf.GradientTape`` in training mode (batch statistics for batch
    normalisation), in depth order: the profile of how the error signal reaches each layer.

    Args:
        model: a ``keras.Model`` whose output is a probability vector (or logits with a
            matching ``loss``).
        x: a batch of inputs.
        y: its integer labels.
        loss: a Keras loss (name or object).

    Returns:
        ``{layer name: gradient norm}``, ordered from input to output.
    """
    import tensorflow as tf

    convs = _main_convs(model)
    if not convs:
        raise ValueError("model has no Conv2D layers to measure")
    loss_fn = keras.losses.get(loss)
    kernels = [c.kernel for c in convs]
    with tf.GradientTape() as tape:
        value = loss_fn(tf.convert_to_tensor(y), model(tf.convert_to_tensor(x), training=True))
        value = tf.reduce_mean(value)
    grads = tape.gradient(value, kernels)
    return {c.name: float(tf.norm(g)) for c, g in zip(convs, grads)}


def activation_stds(model: keras.Model, x, *, kind: type = layers.Activation) -> dict[str, float]:
    """Standard deviation of the output of every layer of type ``kind``, in depth order.

    Args:
        model: a functional ``keras.Model``.
        x: a batch of inputs.
        kind: the layer class to probe (default: activation layers, i.e. after each ReLU).

    Returns:
        ``{layer name: std of its output}`` computed in training mode (batch statistics).
    """
    probes = [layer for layer in model.layers if isinstance(layer, kind)]
    if not probes:
        raise ValueError(f"model has no {kind.__name__} layers to probe")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs, [p.output for p in probes])
    outs = probe(x, training=True)
    return {p.name: float(np.std(keras.ops.convert_to_numpy(o))) for p, o in zip(probes, outs)}



# --------------------------------------------------------------------------------------------
# the papers' CIFAR training recipe
# --------------------------------------------------------------------------------------------


def paper_optimizer(steps: int, *, lr: float = 0.1, momentum: float = 0.9, warmup_steps: int = 0,
                    warmup_lr: float = 0.01) -> keras.optimizers.Optimizer:
    """SGD with momentum, learning rate divided by 10 at 50% and 75% of training.

    He et al. (2016a, Sec. 4.2) train CIFAR ResNets with lr 0.1, momentum 0.9, and divide the
    rate by 10 at 32k and 48k of 64k iterations (50% and 75%). For ResNet-110 they warm up at
    0.01 for about 400 iterations (``warmup_steps``). Weight decay is part of the model
    (``resnet_cifar(..., weight_decay=1e-4)``).

    Args:
        steps: total number of training steps (positive int).
        lr: initial learning rate.
        momentum: SGD momentum.
        warmup_steps: steps at ``warmup_lr`` before ``lr`` (0 for none).
        warmup_lr: learning rate during the warm-up.

    Returns:
        A ``keras.optimizers.SGD`` with a ``PiecewiseConstantDecay`` schedule.
    """
    steps = _check_int(steps, "steps")
    warmup_steps = _check_int(warmup_steps, "warmup_steps", minimum=0)
    for arg, value in (("lr", lr), ("warmup_lr", warmup_lr)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{arg} must be a positive number, got {value!r}")
    if warmup_steps >= steps // 2:
        raise ValueError(f"warmup_steps must be shorter than half of steps ({steps // 2}), got {warmup_steps}")
    bounds = [steps // 2, (3 * steps) // 4]
    values = [float(lr), float(lr) / 10, float(lr) / 100]
    if warmup_steps:
        bounds = [warmup_steps] + bounds
        values = [float(warmup_lr)] + values
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(bounds, values)
    return keras.optimizers.SGD(schedule, momentum=momentum)


def training_dataset(x, y, *, batch_size: int = 128, augment: bool = False, seed: int = 0, mean=None):
    """An endless, shuffled ``tf.data`` pipeline of (image, label) batches for SGD.

    Args:
        x: images (N, H, W, C), float.
        y: integer labels (N,).
        batch_size: images per step.
        augment: the papers' CIFAR augmentation: pad 4 pixels on each side, take a random crop
            of the original size, flip horizontally with probability 1/2 (stateless and seeded).
        seed: seed of the shuffling and of the augmentation.
        mean: subtracted from every image (the papers subtract the per-pixel mean of the training
            set); None leaves the images as they are.

    Returns:
        A ``tf.data.Dataset`` that repeats forever.
    """
    import tensorflow as tf

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if x.ndim != 4 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x must be (N, H, W, C) images with one label each in y, got x {x.shape} and y {y.shape}")
    batch_size = _check_int(batch_size, "batch_size")
    if mean is not None:
        x = x - np.asarray(mean, dtype=np.float32)
    h, w, c = x.shape[1:]
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat()
    if augment:
        def crop_flip(image, label, pair):
            s1, s2 = tf.unstack(tf.random.experimental.stateless_split(pair, 2))
            image = tf.image.stateless_random_flip_left_right(image, s1)
            image = tf.image.pad_to_bounding_box(image, 4, 4, h + 8, w + 8)
            return tf.image.stateless_random_crop(image, (h, w, c), s2), label

        seeds = tf.data.Dataset.random(seed=seed).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(lambda xy, pair: crop_flip(xy[0], xy[1], pair),
                                                   num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def compare_training(
    builders: dict[str, Callable[[], keras.Model]],
    train: tuple,
    *,
    seeds: Sequence[int] = (0,),
    steps: int = 100,
    points: int = 10,
    batch_size: int = 64,
    lr: float = 0.1,
    warmup_steps: int = 0,
    augment: bool = False,
    test: tuple | None = None,
    keep_models: bool = False,
) -> dict[str, dict[str, Any]]:
    """Train several networks with the same budget and recipe, over several seeds.

    For every seed each network starts from fresh initial weights drawn after
    :func:`cnnbook.runtime.seed` and a fresh optimizer state (the compiled network is reused from
    seed to seed, which saves tracing it again); it is compiled with
    :func:`~cnnbook.resnet.paper_optimizer` and sparse cross-entropy, and trained for
    ``steps`` SGD steps on :func:`~cnnbook.resnet.training_dataset` (the per-pixel training mean
    subtracted). The steps are split into ``points`` equal chunks; the training error of a chunk
    is 1 - the accuracy Keras reports over its steps (in training mode, as in the papers' training
    curves).

    Args:
        builders: ``{name: function returning a fresh uncompiled keras.Model}``.
        train: ``(x, y)`` training arrays.
        seeds: one run per seed.
        steps: SGD steps per run (a multiple of ``points``).
        points: number of points on each curve.
        batch_size: images per step.
        lr: initial learning rate (divided by 10 at 50% and 75% of ``steps``).
        warmup_steps: steps at lr 0.01 first (the papers' ResNet-110 warm-up).
        augment: pad-and-crop and flip augmentation.
        test: ``(x, y)`` evaluated once at the end of each run, or None.
        keep_models: add the trained network of the last seed to each record (``model``), and
            the training mean it expects subtracted from its inputs (``mean``).

    Returns:
        ``{name: record}``; each record has ``step`` (the step at the end of each chunk),
        ``train_error`` and ``loss`` (arrays of shape (len(seeds), points)), ``test_error``
        (array (len(seeds),), NaN without ``test``), ``params`` (trainable parameters) and
        ``seconds`` (wall time of all its runs).
    """
    import time

    from cnnbook import runtime

    if not isinstance(builders, dict) or not builders or not all(callable(b) for b in builders.values()):
        raise ValueError("builders must be a non-empty dict of {name: function returning a keras.Model}")
    steps, points = _check_int(steps, "steps"), _check_int(points, "points")
    if steps % points:
        raise ValueError(f"steps ({steps}) must be a multiple of points ({points})")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    x, y = train
    x = np.asarray(x, dtype=np.float32)
    mean = x.mean(axis=0)
    results: dict[str, dict[str, Any]] = {}
    for name, build in builders.items():
        record = {"step": np.arange(1, points + 1) * (steps // points), "train_error": [], "loss": [],
                  "test_error": [], "params": None, "seconds": 0.0}
        model = None
        for s in seeds:
            runtime.seed(s, clear_session=model is None)
            t0 = time.perf_counter()
            fresh = build()
            if not isinstance(fresh, keras.Model):
                raise ValueError(f"builders[{name!r}] must return a keras.Model, got {type(fresh).__name__}")
            if model is None:
                model = fresh
                model.compile(paper_optimizer(steps, lr=lr, warmup_steps=warmup_steps),
                              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            else:
                # Same network, new seed: start again from the fresh initial weights and a reset
                # optimizer (step counter and momentum), reusing the compiled training step instead
                # of tracing it again (tracing dominates a short CPU run).
                model.set_weights(fresh.get_weights())
                for v in model.optimizer.variables:
                    v.assign(keras.ops.zeros(v.shape, dtype=v.dtype))
            data = training_dataset(x, y, batch_size=batch_size, augment=augment, seed=s, mean=mean)
            hist = model.fit(data, steps_per_epoch=steps // points, epochs=points, shuffle=False, verbose=0)
            record["train_error"].append(1.0 - np.asarray(hist.history["accuracy"]))
            record["loss"].append(np.asarray(hist.history["loss"]))
            if test is not None:
                xt, yt = test
                _, acc = model.evaluate(np.asarray(xt, np.float32) - mean, np.asarray(yt), batch_size=256, verbose=0)
                record["test_error"].append(1.0 - acc)
            else:
                record["test_error"].append(np.nan)
            record["params"] = trainable_params(model)
            record["seconds"] += time.perf_counter() - t0
        for key in ("train_error", "loss", "test_error"):
            record[key] = np.asarray(record[key], dtype=float)
        if keep_models:
            record["model"], record["mean"] = model, mean
        results[name] = record
    return results


def excitations(model: keras.Model, x, y, *, classes: int | None = None) -> dict[str, np.ndarray]:
    """Average squeeze-and-excitation gate values per class, for every SE block of a model.

    The analysis of Hu et al. (2018, Fig. 6): run images of each class through the network and
    average, per channel, the excitation ``s`` each :class:`~cnnbook.layers.SqueezeExcite` block
    computes (in inference mode).

    Args:
        model: a functional ``keras.Model`` with :class:`~cnnbook.layers.SqueezeExcite` layers.
        x: input images (already preprocessed as the model expects).
        y: their integer labels.
        classes: number of classes (default ``max(y) + 1``).

    Returns:
        ``{SE layer name: array (classes, channels)}`` in depth order; classes without images
        get NaN rows.
    """
    se_layers = [layer for layer in model.layers if isinstance(layer, SqueezeExcite)]
    if not se_layers:
        raise ValueError("model has no SqueezeExcite layers")
    y = np.asarray(y).astype(int)
    if len(y) != len(x):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    k = int(classes) if classes is not None else int(y.max()) + 1
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    features = keras.Model(inputs, [layer.input for layer in se_layers])(np.asarray(x, np.float32), training=False)
    out = {}
    for layer, f in zip(se_layers, features):
        s = keras.ops.convert_to_numpy(layer.excitation(f))
        out[layer.name] = np.stack([s[y == c].mean(axis=0) if np.any(y == c) else np.full(s.shape[1], np.nan)
                                    for c in range(k)])
    return out
