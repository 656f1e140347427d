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

The measuring helpers the chapters import from here (:func:`trainable_params`,
:func:`multiply_adds`, :func:`layer_table`, :func:`kernel_gradient_norms`,
:func:`activation_stds`, :func:`excitations`) live in :mod:`cnnbook.measure`, and the papers'
CIFAR training recipe (:func:`paper_optimizer`, :func:`training_dataset`,
:func:`compare_training`) in :mod:`cnnbook.train`; the names here are those same functions.
:func:`compare_training` prints one line per chunk of training and one per finished run when
:func:`cnnbook.runtime.progress` says so (the full profile at paper scale, or ``CNNBOOK_PROGRESS``),
and nothing under the quick profile or in a smoke run.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
from keras import layers

from cnnbook import validate as check
from cnnbook.layers import SqueezeExcite, ZeroPadShortcut, classifier_head, load_weights
# Measuring lives in cnnbook.measure and the papers' training recipe in cnnbook.train; these names
# stay importable from here (the same functions, not copies).
from cnnbook.measure import (activation_stds, excitations, kernel_gradient_norms, layer_table, multiply_adds,
                             trainable_params)
from cnnbook.train import compare_training, paper_optimizer, training_dataset

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
    return check.integer(value, arg, minimum=minimum)


def _check_common(version, shortcut, se_ratio, classes, pooling, include_top) -> str:
    if not check.is_int(version) or version not in VERSIONS:
        raise ValueError(f"version must be 1 (original unit) or 2 (pre-activation unit), got {check.describe(version)}")
    if not isinstance(shortcut, str) or shortcut.upper() not in SHORTCUTS:
        raise ValueError(
            f"shortcut must be 'A' (zero-padding identity), 'B' (projection where the shape changes) "
            f"or 'C' (projection everywhere), got {check.describe(shortcut)}"
        )
    if se_ratio is not None and (not check.is_number(se_ratio) or not se_ratio >= 1):
        raise ValueError("se_ratio must be None (no SE block) or a reduction ratio >= 1, got "
                         f"{check.describe(se_ratio)}")
    check.positive_int(classes, "classes")
    check.pooling(pooling)
    check.boolean(include_top, "include_top")
    return shortcut.upper()


def _check_shape(input_shape, min_side: int, allow_none: bool) -> tuple:
    shape = check.input_shape(input_shape, allow_none=True)
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
    input_shape: Sequence[int] = (32, 32, 3),
    classes: int = 10,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    weights=None,
    name: str | None = None,
    *,
    bottleneck: bool | None = None,
    widths: Sequence[int] = (16, 32, 64),
    se_min_units: int = 1,
    batch_norm: bool = True,
    kernel_initializer: Any = "he_normal",
    weight_decay: float = 0.0,
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
        w = check.int_sequence(widths, "widths", length=3)
    except ValueError:
        raise ValueError(f"widths must be three positive ints (filters of the three stages), "
                         f"got {check.describe(widths)}") from None
    shape = _check_shape(input_shape, min_side=4, allow_none=not include_top)
    weight_decay = check.number(weight_decay, "weight_decay", minimum=0)
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
    return load_weights(model, weights)


# --------------------------------------------------------------------------------------------
# ImageNet family
# --------------------------------------------------------------------------------------------

_KERAS_APPS = {(50, 1): "ResNet50", (101, 1): "ResNet101", (152, 1): "ResNet152",
               (50, 2): "ResNet50V2", (101, 2): "ResNet101V2", (152, 2): "ResNet152V2"}


def resnet_imagenet(
    depth: int = 50,
    version: int = 1,
    se_ratio: float | None = None,
    input_shape: Sequence[int] | None = None,
    classes: int = 1000,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    weights=None,
    name: str | None = None,
    *,
    shortcut: str = "B",
    plain: bool = False,
    se_min_units: int = 1,
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
        from cnnbook import applications  # the package's one network check, before anything is built

        applications._ensure_cached(*applications.weights_file(_KERAS_APPS[(depth, version)], include_top),
                                    f"{_KERAS_APPS[(depth, version)]} ImageNet weights")
    else:
        check.weights(weights, options=("imagenet",))
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
        return model
    return load_weights(model, weights)


def _copy_keras_weights(model: keras.Model, app: str, include_top: bool, shape: tuple, pooling) -> None:
    """Load keras.applications' ImageNet weights into ``model`` layer by layer (same names)."""
    from cnnbook import applications

    path, url = applications.weights_file(app, include_top)
    applications._ensure_cached(path, url, f"{app} ImageNet weights")  # the package's one network check
    try:
        reference = applications.load(app, "imagenet", include_top=include_top,
                                      input_shape=None if include_top else shape, pooling=pooling)
    except applications.WeightsUnavailable:
        raise
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
