"""A NumPy reference for the arithmetic of convolutional layers, readable in one sitting.

Everything here computes what TensorFlow computes, channels-last (NHWC), and is checked against
``tf.nn.conv2d`` / ``tf.nn.pool`` and the Keras layers in ``tests/test_ops.py``:

- :func:`conv2d` - a convolution layer's forward pass (cross-correlation, as in deep learning),
  vectorised with a sliding-window view and one matrix product;
- :func:`conv2d_loop` - the same thing as plain loops, to be read next to the definition;
- :func:`pool2d` - max / average / min pooling;
- :func:`output_size` and :func:`pad_amounts` - how big the output is and where the zeros go;
- :func:`receptive_field` - how much of the input one output value sees, layer after layer.

Shapes: an image is ``(H, W, C)`` or a batch ``(N, H, W, C)``; a kernel is
``(kh, kw, C_in, C_out)``, the layout of ``tf.nn.conv2d`` and of ``keras.layers.Conv2D.kernel``.

Padding follows TensorFlow: ``"valid"`` adds nothing; ``"same"`` adds just enough zeros that the
output has ``ceil(n / stride)`` positions, split as evenly as possible with the extra zero at the
bottom/right; an int ``p`` (or a pair ``(p_h, p_w)``) adds ``p`` zeros on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnbook import validate as check

__all__ = [
    "conv2d",
    "conv2d_loop",
    "pool2d",
    "output_size",
    "pad_amounts",
    "receptive_field",
    "RFLayer",
    "POOL_MODES",
]

POOL_MODES = ("max", "avg", "min")

# --------------------------------------------------------------------------------------------
# argument checking
# --------------------------------------------------------------------------------------------


def _int(value: Any, arg: str, minimum: int) -> int:
    if minimum == 1:
        return check.positive_int(value, arg)
    return check.integer(value, arg, minimum=minimum)


def _pair(value: Any, arg: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints -> (for rows, for columns)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{arg} must be an int or a pair of ints, got {value!r}")
        return _int(value[0], arg, minimum), _int(value[1], arg, minimum)
    return _int(value, arg, minimum), _int(value, arg, minimum)


def _padding(padding: Any) -> str | tuple[int, int]:
    """``"valid"`` / ``"same"`` (any case), or a non-negative int or pair of ints."""
    if isinstance(padding, str):
        p = padding.lower()
        if p not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid', 'same', an int or a pair of ints, got {padding!r}")
        return p
    try:
        return _pair(padding, "padding", minimum=0)
    except ValueError:
        raise ValueError(
            f"padding must be 'valid', 'same', a non-negative int or a pair of them, got {padding!r}"
        ) from None


def _numeric(value: Any, arg: str) -> np.ndarray:
    a = check.array(value, arg, numeric=False)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"{arg} must hold real numbers, got dtype {a.dtype}")
    if a.size == 0:
        raise ValueError(f"{arg} is empty (shape {a.shape})")
    check.finite(a, arg)
    return a


def _wide(a: np.ndarray) -> np.ndarray:
    """Integer arrays as int64, so that sums of products do not overflow (uint8 200 x 9 is 1800,
    not 8); floats unchanged."""
    return a.astype(np.int64) if np.issubdtype(a.dtype, np.integer) and a.dtype != np.int64 else a


def _images(x: Any) -> tuple[np.ndarray, bool]:
    """x as (N, H, W, C), and whether it came without the batch axis."""
    a = _numeric(x, "x")
    if a.ndim == 3:
        return a[None], True
    if a.ndim == 4:
        return a, False
    raise ValueError(f"x must have shape (H, W, C) or (N, H, W, C), got shape {a.shape}")


# --------------------------------------------------------------------------------------------
# sizes
# --------------------------------------------------------------------------------------------


def pad_amounts(n: int, kernel: int, stride: int = 1, padding: Any = "valid", dilation: int = 1) -> tuple[int, int]:
    """Zeros added before and after one spatial axis of length ``n``.

    Args:
        n: input length (height or width).
        kernel: kernel length along that axis.
        stride: step between windows.
        padding: ``"valid"``, ``"same"`` (TensorFlow's rule) or a non-negative int.
        dilation: spacing between kernel taps (1 = dense kernel).

    Returns:
        ``(before, after)``. For ``"same"`` the total is
        ``max((ceil(n / stride) - 1) * stride + (kernel - 1) * dilation + 1 - n, 0)``, and
        ``after`` gets the odd zero, as in TensorFlow.

    Raises:
        ValueError: an argument is not a positive int (``padding`` not a known mode or negative).
    """
    n = _int(n, "n", 1)
    kernel = _int(kernel, "kernel", 1)
    stride = _int(stride, "stride", 1)
    dilation = _int(dilation, "dilation", 1)
    if isinstance(padding, str):
        if padding.lower() == "valid":
            return 0, 0
        if padding.lower() == "same":
            span = (kernel - 1) * dilation + 1
            out = -(-n // stride)
            total = max((out - 1) * stride + span - n, 0)
            return total // 2, total - total // 2
        raise ValueError(f"padding must be 'valid', 'same' or a non-negative int, got {padding!r}")
    p = _int(padding, "padding", 0)
    return p, p


def output_size(n: int, kernel: int, stride: int = 1, padding: Any = "valid", dilation: int = 1) -> int:
    """Length of a convolution's or pooling's output along one spatial axis.

    ``floor((n + pad_before + pad_after - ((kernel - 1) * dilation + 1)) / stride) + 1``, with the
    pads from :func:`pad_amounts`; for ``"same"`` this is ``ceil(n / stride)`` and for
    ``"valid"`` ``ceil((n - span + 1) / stride)``.

    Args:
        n: input length (height or width).
        kernel: kernel (or pool window) length.
        stride: step between windows.
        padding: ``"valid"``, ``"same"`` or a non-negative int added on both sides.
        dilation: spacing between kernel taps.

    Returns:
        The output length, at least 1.

    Raises:
        ValueError: bad argument, or the (dilated) kernel is longer than the padded input.

    Example:
        >>> output_size(28, 3), output_size(28, 3, padding="same"), output_size(28, 3, stride=2)
        (26, 28, 13)
    """
    before, after = pad_amounts(n, kernel, stride, padding, dilation)
    span = (kernel - 1) * dilation + 1
    padded = n + before + after
    if span > padded:
        raise ValueError(
            f"kernel={kernel} (span {span} with dilation={dilation}) is larger than the padded input "
            f"({padded} = {n} + {before} + {after})"
        )
    return (padded - span) // stride + 1


def _pad_spec(h: int, w: int, kh: int, kw: int, sh: int, sw: int, padding) -> tuple[tuple[int, int], tuple[int, int]]:
    if isinstance(padding, str):
        return pad_amounts(h, kh, sh, padding), pad_amounts(w, kw, sw, padding)
    return (padding[0], padding[0]), (padding[1], padding[1])


# --------------------------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------------------------


def _prepare_conv(x, w, b, stride, padding):
    """Check the arguments of conv2d; return padded x (N, Hp, Wp, C), w, b, strides, squeeze flag."""
    xs, squeeze = _images(x)
    w = _numeric(w, "w")
    if w.ndim != 4:
        raise ValueError(f"w must have shape (kh, kw, C_in, C_out), got shape {w.shape}")
    kh, kw, c_in, c_out = w.shape
    if c_in != xs.shape[-1]:
        raise ValueError(
            f"w expects C_in={c_in} input channels (w.shape[2]) but x has {xs.shape[-1]} (last axis of x)"
        )
    if b is not None:
        b = _wide(_numeric(b, "b"))
        if b.shape != (c_out,):
            raise ValueError(f"b must have shape (C_out,) = ({c_out},), got shape {b.shape}")
    # integer inputs (uint8 images, int kernels) are computed in int64 instead of overflowing
    xs, w = _wide(xs), _wide(w)
    sh, sw = _pair(stride, "stride")
    pad = _padding(padding)
    (pt, pb), (pl, pr) = _pad_spec(xs.shape[1], xs.shape[2], kh, kw, sh, sw, pad)
    hp, wp = xs.shape[1] + pt + pb, xs.shape[2] + pl + pr
    if kh > hp or kw > wp:
        raise ValueError(
            f"w's kernel ({kh}, {kw}) is larger than the padded input ({hp}, {wp}); "
            "use a smaller kernel or more padding"
        )
    if pt or pb or pl or pr:
        xs = np.pad(xs, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    return xs, w, b, sh, sw, squeeze


def conv2d(x, w, b=None, stride=1, padding="valid") -> np.ndarray:
    """2-D convolution as a convolutional layer (and ``tf.nn.conv2d``) computes it.

    For every output position ``(i, j)`` and filter ``o``::

        y[n, i, j, o] = b[o] + sum over (u, v, c) of xp[n, i*sh + u, j*sw + v, c] * w[u, v, c, o]

    where ``xp`` is the zero-padded input. The kernel is not flipped (cross-correlation); that
    is what deep-learning libraries call convolution. Each filter sums over *all* input channels,
    so a filter of shape ``(kh, kw, C_in)`` gives one feature map.

    The implementation takes a strided view of every window (``sliding_window_view``), lays the
    windows out as the rows of one matrix (im2col) and multiplies it by the kernel reshaped to
    ``(kh * kw * C_in, C_out)``: one matrix product for the whole layer.

    Args:
        x: input, shape ``(H, W, C_in)`` or ``(N, H, W, C_in)``.
        w: kernel, shape ``(kh, kw, C_in, C_out)``.
        b: optional bias, shape ``(C_out,)``.
        stride: int or ``(s_h, s_w)``, at least 1.
        padding: ``"valid"``, ``"same"``, an int, or ``(p_h, p_w)``.

    Returns:
        Feature maps of shape ``(N, H_out, W_out, C_out)`` (no batch axis if ``x`` had none),
        dtype from NumPy's promotion of ``x``, ``w`` and ``b``; integer inputs (such as uint8
        images) are converted to int64 first, so the sums cannot overflow.

    Raises:
        ValueError: wrong rank, channel mismatch between ``x`` and ``w``, stride < 1, negative or
            unknown padding, a kernel larger than the padded input, NaN or infinite values.
    """
    xp, w, b, sh, sw, squeeze = _prepare_conv(x, w, b, stride, padding)
    kh, kw, c_in, c_out = w.shape
    # windows[n, i, j, c, u, v] = xp[n, i*sh + u, j*sw + v, c]  (a view, nothing copied)
    windows = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
    n, h_out, w_out = windows.shape[:3]
    # im2col: one row per output position holding its window in (u, v, c) order, the order of
    # w's first three axes; this is the one copy (channels stay the fast axis, so it is cheap)
    cols = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * h_out * w_out, kh * kw * c_in)
    # one matrix product: (N*Ho*Wo, kh*kw*C_in) @ (kh*kw*C_in, C_out)
    y = (cols @ w.reshape(kh * kw * c_in, c_out)).reshape(n, h_out, w_out, c_out)
    if b is not None:
        y = y + b
    return y[0] if squeeze else y


def conv2d_loop(x, w, b=None, stride=1,
                padding="valid") -> np.ndarray:
    """The same result as :func:`conv2d`, as the plain loops of the definition.

    Slow (pure Python); meant for reading and for inputs of a few pixels.
    Arguments, return value and errors are those of :func:`conv2d`.
    """
    xp, w, b, sh, sw, squeeze = _prepare_conv(x, w, b, stride, padding)
    n_img, hp, wp, _ = xp.shape
    kh, kw, _, c_out = w.shape
    h_out, w_out = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    dtype = np.result_type(xp, w) if b is None else np.result_type(xp, w, b)
    y = np.zeros((n_img, h_out, w_out, c_out), dtype=dtype)
    for n in range(n_img):
        for i in range(h_out):
            for j in range(w_out):
                rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
                window = xp[n, rows, cols, :]  # (kh, kw, C_in)
                for o in range(c_out):
                    bias = 0 if b is None else b[o]
                    y[n, i, j, o] = np.sum(window * w[:, :, :, o]) + bias
    return y[0] if squeeze else y


# --------------------------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------------------------


def pool2d(x, size=2, stride=None, padding="valid", mode="max") -> np.ndarray:
    """Max, average or min pooling over ``size`` windows, each channel separately.

    Args:
        x: input, shape ``(H, W, C)`` or ``(N, H, W, C)``.
        size: window, int or ``(k_h, k_w)``.
        stride: int or pair; default ``size`` (windows side by side, as in Keras).
        padding: ``"valid"`` or ``"same"``. As in TensorFlow, positions outside the input are
            ignored (not counted as zeros): a max/min is taken over the real values only and an
            average divides by the number of real values in the window.
        mode: ``"max"``, ``"avg"`` or ``"min"``. Min pooling is ``-maxpool(-x)``; it is not a
            Keras layer but the source document lists it.

    Returns:
        Shape ``(N, H_out, W_out, C)`` (no batch axis if ``x`` had none); float for ``"avg"``,
        the input dtype otherwise.

    Raises:
        ValueError: wrong rank, size or stride < 1, unknown padding or mode, window larger than
            the padded input.
    """
    xs, squeeze = _images(x)
    if mode not in POOL_MODES:
        raise ValueError(f"mode must be one of {', '.join(repr(m) for m in POOL_MODES)}, got {mode!r}")
    kh, kw = _pair(size, "size")
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride")
    if not (isinstance(padding, str) and padding.lower() in ("valid", "same")):
        raise ValueError(f"padding must be 'valid' or 'same' for pooling, got {padding!r}")
    (pt, pb), (pl, pr) = _pad_spec(xs.shape[1], xs.shape[2], kh, kw, sh, sw, padding.lower())
    hp, wp = xs.shape[1] + pt + pb, xs.shape[2] + pl + pr
    if kh > hp or kw > wp:
        raise ValueError(f"size ({kh}, {kw}) is larger than the padded input ({hp}, {wp})")
    xf = xs.astype(np.float64) if mode == "avg" and not np.issubdtype(xs.dtype, np.floating) else xs
    # padded cells are marked invalid and then ignored by the reduction
    valid = np.pad(np.ones(xs.shape[1:3], dtype=bool), ((pt, pb), (pl, pr)))
    if mode == "max":
        fill = np.finfo(xf.dtype).min if np.issubdtype(xf.dtype, np.floating) else np.iinfo(xf.dtype).min
    elif mode == "min":
        fill = np.finfo(xf.dtype).max if np.issubdtype(xf.dtype, np.floating) else np.iinfo(xf.dtype).max
    else:
        fill = 0
    xp = np.pad(xf, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    windows = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]  # (N, Ho, Wo, C, kh, kw)
    if mode == "max":
        y = windows.max(axis=(4, 5))
    elif mode == "min":
        y = windows.min(axis=(4, 5))
    else:
        counts = sliding_window_view(valid, (kh, kw))[::sh, ::sw].sum(axis=(2, 3))  # (Ho, Wo)
        y = windows.sum(axis=(4, 5)) / counts[None, :, :, None].astype(xf.dtype)
    return y[0] if squeeze else y


# --------------------------------------------------------------------------------------------
# receptive field
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RFLayer:
    """One row of :func:`receptive_field`'s table.

    Attributes:
        name: the layer's name (or its index).
        kernel: kernel / window length.
        stride: its stride.
        dilation: its dilation.
        jump: distance in input pixels between two neighbouring outputs of this layer.
        rf: receptive field: how many input pixels (along one axis) one output value depends on.
    """

    name: str
    kernel: int
    stride: int
    dilation: int
    jump: int
    rf: int


def _layer_spec(layer: Any, index: int) -> tuple[str, int, int, int]:
    """(name, kernel, stride, dilation) of a tuple, dict or Keras conv/pool layer (square only)."""
    arg = f"layers[{index}]"
    if isinstance(layer, (tuple, list)):
        if not 2 <= len(layer) <= 3:
            raise ValueError(f"{arg} must be (kernel, stride) or (kernel, stride, dilation), got {layer!r}")
        k, s, *d = layer
        return str(index), _int(k, f"{arg} kernel", 1), _int(s, f"{arg} stride", 1), _int(d[0] if d else 1, f"{arg} dilation", 1)
    if isinstance(layer, dict):
        unknown = set(layer) - {"kernel", "stride", "dilation", "name"}
        if "kernel" not in layer or unknown:
            raise ValueError(f"{arg} must be a dict with 'kernel' (and optional 'stride', 'dilation', 'name'), got {layer!r}")
        return (str(layer.get("name", index)), _int(layer["kernel"], f"{arg} kernel", 1),
                _int(layer.get("stride", 1), f"{arg} stride", 1), _int(layer.get("dilation", 1), f"{arg} dilation", 1))
    # a Keras layer: Conv2D / DepthwiseConv2D (kernel_size, strides, dilation_rate) or a pooling
    # layer (pool_size, strides); read by attribute so this module does not import Keras.
    size = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    strides = getattr(layer, "strides", None)
    if size is None or strides is None:
        raise ValueError(
            f"{arg} must be (kernel, stride[, dilation]), a dict, or a conv/pooling layer with "
            f"kernel_size/pool_size and strides; got {type(layer).__name__}"
        )
    dil = getattr(layer, "dilation_rate", 1)
    size, strides, dil = (tuple(v) if isinstance(v, (tuple, list)) else (v, v) for v in (size, strides, dil))
    if size[0] != size[1] or strides[0] != strides[1] or dil[0] != dil[1]:
        raise ValueError(f"{arg} ({getattr(layer, 'name', '?')}) is not square; give (kernel, stride) per axis")
    return str(getattr(layer, "name", index)), int(size[0]), int(strides[0]), int(dil[0])


def receptive_field(layers: Sequence[Any]) -> list[RFLayer]:
    """Receptive field and jump after each layer of a stack of convolutions and poolings.

    With ``j`` the input-pixel distance between neighbouring outputs so far (start 1) and ``r``
    the receptive field so far (start 1), a layer with kernel ``k``, dilation ``d``, stride
    ``s`` gives ``r <- r + ((k - 1) * d) * j`` and ``j <- j * s``. Padding moves the field
    but does not change its size.

    Args:
        layers: in order, each a ``(kernel, stride)`` or ``(kernel, stride, dilation)`` tuple, a
            dict with those keys (and ``name``), or a Keras layer that has ``kernel_size`` or
            ``pool_size`` and ``strides`` (Conv2D, MaxPooling2D, AveragePooling2D, ...). Layers
            without a window (activation, batch norm) should be left out.

    Returns:
        One :class:`RFLayer` per layer.

    Raises:
        ValueError: ``layers`` is empty, or an entry is not one of the forms above.

    Example:
        >>> [l.rf for l in receptive_field([(3, 1), (3, 1), (2, 2), (3, 1)])]
        [3, 5, 6, 10]
    """
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or len(layers) == 0:
        raise ValueError(f"layers must be a non-empty sequence of layers, got {layers!r}")
    rows, jump, rf = [], 1, 1
    for i, layer in enumerate(layers):
        name, k, s, d = _layer_spec(layer, i)
        rf += (k - 1) * d * jump
        jump *= s
        rows.append(RFLayer(name, k, s, d, jump, rf))
    return rows
