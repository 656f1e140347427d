"""How convolution and pooling move over an input: 1-D convolution, steps, animation, padding, pooling."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cnnbook.plot._base import COLUMN_WIDTH_IN, DPI, MIN_FONT_PT, _array, _cells, _figure, _fmt_value, _grid, _normalise, _positive_int, _show, _small_matrix, check_legible  # noqa: F401


__all__ = ['convolution_1d', 'conv_steps', 'conv_animation', 'animation_html', 'padding_diagram', 'pooling_diagram', 'multichannel_conv']


def convolution_1d(t, f, g, shifts: Sequence[float], *, labels: tuple[str, str] = ("f", "g")) -> Figure:
    """The convolution (f * g)(s) = integral of f(tau) g(s - tau) d tau, drawn as a sliding product.

    One small panel per shift (the flipped, shifted g over f, the product shaded) and a last
    panel with the whole curve (f * g)(s), the drawn shifts marked; two panels per row, the
    legend below.

    Args:
        t: sample points (uniform grid).
        f, g: the two functions sampled on ``t``.
        shifts: values of s at which to draw the flipped, shifted g and the shaded product.
    """
    t = _array(t, "t", (1,))
    f = _array(f, "f", (1,))
    g = _array(g, "g", (1,))
    if not (len(t) == len(f) == len(g)):
        raise ValueError(f"t, f and g must have the same length, got {len(t)}, {len(f)}, {len(g)}")
    if len(shifts) == 0:
        raise ValueError("shifts must name at least one s")
    dt = float(t[1] - t[0])
    conv = np.convolve(f, g, mode="full") * dt
    s_axis = 2 * t[0] + dt * np.arange(len(conv))
    panels = len(shifts) + 1
    ncols = min(2, panels)
    nrows = -(-panels // ncols)
    fig, axes = _figure(COLUMN_WIDTH_IN, 2.1 * nrows + 0.3, nrows=nrows, ncols=ncols, squeeze=False)
    fa, ga = labels
    for ax, s in zip(axes.flat, shifts):
        g_shift = np.interp(s - t, t, g, left=0.0, right=0.0)
        ax.plot(t, f, label=f"{fa}(τ)")
        ax.plot(t, g_shift, label=f"{ga}(s − τ)")
        ax.fill_between(t, 0, f * g_shift, color="C2", alpha=0.4, label=f"product {fa}·{ga}")
        ax.set_title(f"s = {s:g}: area = {np.sum(f * g_shift) * dt:.2f}")
        ax.set_xlabel("τ")
    ax = axes.flat[len(shifts)]
    ax.plot(s_axis, conv, color="C3")
    for s in shifts:
        ax.plot([s], [np.interp(s, s_axis, conv)], "o", color="C3")
    ax.set_xlim(t[0], t[-1])
    ax.set_title(f"({fa} ∗ {ga})(s): the areas, for every s")
    ax.set_xlabel("s")
    for extra in list(axes.flat)[panels:]:
        extra.axis("off")
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.3 / (2.1 * nrows + 0.3), 1, 1))
    return check_legible(fig)


def _conv_setup(x, w, stride, padding):
    """Padded input, kernel, stride and the full output of a single-channel convolution."""
    from cnnbook import ops

    x = _small_matrix(x, "x")
    w = _small_matrix(w, "w", max_side=5)
    stride = _positive_int(stride, "stride")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"padding must be a non-negative int (zeros on each side), got {padding!r}")
    padding = int(padding)
    y = ops.conv2d(x[:, :, None], w[:, :, None, None], stride=stride, padding=padding)[:, :, 0]
    xp = np.pad(x, padding)
    return xp, w, stride, padding, y


def _formula(xp, w, stride, y, step: int) -> str:
    """The sum of products that makes output position ``step``, one kernel row per line."""
    kh, kw = w.shape
    i, j = divmod(step, y.shape[1])
    patch = xp[i * stride:i * stride + kh, j * stride:j * stride + kw]

    def term(a, b):
        b = _fmt_value(b)
        return f"{_fmt_value(a)}·{'(' + b + ')' if b.startswith('-') else b}"

    lines = [" + ".join(term(a, b) for a, b in zip(patch[u], w[u])) for u in range(kh)]
    return f"y[{i},{j}] =\n" + " +\n".join(lines) + f"\n= {_fmt_value(y[i, j])}"


def _conv_row(axes, xp, w, stride, padding, y, step: int) -> None:
    """Draw input-with-window, kernel (with the sum of products under it) and output so far."""
    kh, kw = w.shape
    i, j = divmod(step, y.shape[1])
    r, c = i * stride, j * stride
    formula = _formula(xp, w, stride, y, step)
    shown = np.zeros(y.shape, dtype=bool)
    shown.flat[: step + 1] = True
    for ax in axes:
        ax.clear()
    box_h = _conv_box_h(xp, w)  # one data unit = one cell in every panel
    _cells(axes[0], xp, pad=padding, window=(r, c, kh, kw), box=(xp.shape[1], box_h), fontsize=MIN_FONT_PT,
           title=f"input{' + zero padding ' + str(padding) if padding else ''}, stride {stride}")
    _cells(axes[1], w, cmap="Oranges", title="kernel", box=(_conv_kernel_w(xp, w, stride, y), box_h), fontsize=MIN_FONT_PT)
    axes[1].text(kw / 2, kh + 0.25, formula, ha="center", va="top", fontsize=MIN_FONT_PT, linespacing=1.2)
    _cells(axes[2], y, shown=shown, window=(i, j, 1, 1), cmap="Greens", box=(max(y.shape[1], 3), box_h),
           title=f"feature map {y.shape[0]}x{y.shape[1]}", fontsize=MIN_FONT_PT)


_CELL_IN = 0.34  # one grid cell of the step-by-step figures, in inches (holds "-1" or "0.11" at 9 pt)


def _conv_kernel_w(xp, w, stride, y) -> float:
    """Width, in cells, of the kernel column: room for the longest line of any step's sum."""
    longest = max(len(line) for step in range(y.size)
                  for line in _formula(xp, w, stride, y, step).splitlines())
    return max(w.shape[1] + 1.0, longest * 0.075 / _CELL_IN + 0.3)


def _conv_box_h(xp, w) -> float:
    """Height, in cells, of one row: the input, or the kernel plus its (kh + 2)-line sum."""
    return max(xp.shape[0], w.shape[0] + 0.25 + 0.5 * (w.shape[0] + 2) + 0.2)


def _conv_figure(xp, w, y, rows: int, stride: int = 1):
    ratios = [xp.shape[1], _conv_kernel_w(xp, w, stride, y), max(y.shape[1], 3)]
    width = _CELL_IN * sum(ratios) + 0.9
    height = (_CELL_IN * _conv_box_h(xp, w) + 0.4) * rows
    return _figure(width, height, nrows=rows, ncols=3, squeeze=False, gridspec_kw={"width_ratios": ratios})


def conv_steps(x, w, *, stride: int = 1, padding: int = 0, steps: Sequence[int] = (0, 1, 2)) -> Figure:
    """A kernel sliding over an input: one row per step, with the numbers in every cell.

    Each row shows the (padded) input with the current window framed in red, the kernel, and the
    feature map filled in up to that step, with the products that make the new value.

    Args:
        x: input, a small 2-D array (at most 12x12).
        w: kernel, a 2-D array (at most 5x5).
        stride: step of the window, in pixels.
        padding: zeros added on each side.
        steps: output positions to draw, counted row by row from 0; negative counts from the end.
    """
    xp, w, stride, padding, y = _conv_setup(x, w, stride, padding)
    n = y.size
    if len(steps) == 0:
        raise ValueError("steps must name at least one output position")
    idx = []
    for s in steps:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not -n <= s < n:
            raise ValueError(f"steps must hold ints in [-{n}, {n}) (the output has {n} positions), got {s!r}")
        idx.append(int(s) % n)
    fig, axes = _conv_figure(xp, w, y, len(idx), stride)
    for row, s in zip(axes, idx):
        _conv_row(row, xp, w, stride, padding, y, s)
    fig.tight_layout(h_pad=0.6)
    return check_legible(fig)


def conv_animation(x, w, *, stride: int = 1, padding: int = 0, interval: int = 700):
    """The sliding window as an animation, one frame per output position.

    Embed it in a notebook (and in the HTML book, playable offline) with
    ``IPython.display.HTML(anim.to_jshtml())``; the frames are stored in the page as images.
    The figure is closed, so it is not also shown as a still.

    Args:
        x, w, stride, padding: as for :func:`conv_steps`.
        interval: milliseconds per frame.

    Returns:
        A ``matplotlib.animation.FuncAnimation``.
    """
    from matplotlib.animation import FuncAnimation

    xp, w, stride, padding, y = _conv_setup(x, w, stride, padding)
    interval = _positive_int(interval, "interval")
    fig, axes = _conv_figure(xp, w, y, 1, stride)
    axes = axes[0]
    fig.subplots_adjust(left=0.02, right=0.98, top=0.9, bottom=0.02, wspace=0.15)

    def draw(step):
        _conv_row(axes, xp, w, stride, padding, y, step)
        return list(axes)

    draw(0)
    check_legible(fig)
    anim = FuncAnimation(fig, draw, frames=y.size, interval=interval, blit=False)
    plt.close(fig)
    return anim


_ANIMATION_GLYPHS = {
    "fa fa-minus": "\u2212", "fa fa-fast-backward": "|\u25c0\u25c0", "fa fa-step-backward": "|\u25c0",
    "fa fa-play fa-flip-horizontal": "\u25c0", "fa fa-pause": "\u275a\u275a", "fa fa-play": "\u25b6",
    "fa fa-step-forward": "\u25b6|", "fa fa-fast-forward": "\u25b6\u25b6|", "fa fa-plus": "+",
}


def animation_html(anim, *, default_mode: str = "loop") -> str:
    """An animation as self-contained HTML (frames, player and controls), playable offline.

    ``FuncAnimation.to_jshtml()`` embeds every frame as a PNG, but it loads its button icons
    from a CDN (Font Awesome); without network the buttons would be blank. Here the icons are
    replaced by plain text symbols and the external stylesheet is dropped. Show the result with
    ``IPython.display.HTML(animation_html(anim))``.

    Args:
        anim: a ``matplotlib.animation.Animation`` (e.g. from :func:`conv_animation`).
        default_mode: what the player does at the last frame: ``"loop"``, ``"once"`` or ``"reflect"``.
    """
    import re

    from matplotlib.animation import Animation

    if not isinstance(anim, Animation):
        raise ValueError(f"anim must be a matplotlib Animation, got {type(anim).__name__}")
    if default_mode not in ("loop", "once", "reflect"):
        raise ValueError(f"default_mode must be 'loop', 'once' or 'reflect', got {default_mode!r}")
    html = anim.to_jshtml(default_mode=default_mode)
    html = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*"\s*/?>', "", html)
    for cls, glyph in _ANIMATION_GLYPHS.items():
        html = html.replace(f'<i class="{cls}"></i>', f"<span>{glyph}</span>")
    return html


def padding_diagram(x, *, pad: int = 1, kernel: int = 3) -> Figure:
    """An input before and after zero padding, and the output sizes a ``kernel`` gives on each.

    Args:
        x: a small 2-D array.
        pad: zeros added on each side.
        kernel: kernel size used for the output-size captions.
    """
    from cnnbook import ops

    x = _small_matrix(x, "x", max_side=10)
    pad = _positive_int(pad, "pad")
    kernel = _positive_int(kernel, "kernel")
    xp = np.pad(x, pad)
    cell = 0.34
    fig, axes = _figure(cell * (x.shape[1] + xp.shape[1]) + 0.6, cell * xp.shape[0] + 0.75, ncols=2,
                        gridspec_kw={"width_ratios": [x.shape[1], xp.shape[1]]})
    h, w = x.shape

    def caption(p):
        try:
            return f"{kernel}x{kernel} kernel -> {ops.output_size(h, kernel, 1, p)}x{ops.output_size(w, kernel, 1, p)}"
        except ValueError:
            return f"{kernel}x{kernel} kernel does not fit"

    _cells(axes[0], x, box=(w, xp.shape[0]), fontsize=MIN_FONT_PT, title=f"input {h}x{w}\n{caption(0)}")
    _cells(axes[1], xp, pad=pad, box=xp.shape[::-1], fontsize=MIN_FONT_PT,
           title=f"zero padding {pad}: {xp.shape[0]}x{xp.shape[1]}\n{caption(pad)}")
    fig.tight_layout()
    return check_legible(fig)


def pooling_diagram(x, *, size: int = 2) -> Figure:
    """Max, average and min pooling of the same small input, windows coloured alike.

    Args:
        x: a small 2-D array whose sides are multiples of ``size`` (e.g. 4x4).
        size: pooling window (and stride).
    """
    from cnnbook import ops

    x = _small_matrix(x, "x", max_side=8)
    size = _positive_int(size, "size")
    if x.shape[0] % size or x.shape[1] % size:
        raise ValueError(f"x's sides must be multiples of size={size}, got shape {x.shape}")
    outs = {m: ops.pool2d(x[:, :, None], size, mode=m)[:, :, 0] for m in ops.POOL_MODES}
    names = {"max": "max pooling", "avg": "average pooling", "min": "min pooling"}
    cell = 0.42
    out_w = max(x.shape[1] // size, 1) + 2.2  # room for the two-line title
    fig, axes = _figure(cell * (x.shape[1] + 3 * out_w) + 0.5, cell * x.shape[0] + 0.75, ncols=4,
                        gridspec_kw={"width_ratios": [x.shape[1]] + [out_w] * 3})
    _cells(axes[0], x, block=size, title=f"input {x.shape[0]}x{x.shape[1]}", box=x.shape[::-1],
           fontsize=MIN_FONT_PT)
    for ax, (m, y) in zip(axes[1:], outs.items()):
        _cells(ax, y, block=1, box=(out_w, x.shape[0]), fontsize=MIN_FONT_PT,
               title=f"{names[m]} {size}x{size}\n-> {y.shape[0]}x{y.shape[1]}")
    fig.tight_layout(w_pad=0.3)
    return check_legible(fig)


def multichannel_conv(x, w, *, b: float = 0.0) -> Figure:
    """How one filter with C channels makes one feature map: per-channel results, then their sum.

    Args:
        x: input (H, W, C), small (at most 8x8) with C <= 4.
        w: one filter (kh, kw, C).
        b: the filter's bias, added once after the sum.
    """
    from cnnbook import ops

    x = _array(x, "x", (3,))
    w = _array(w, "w", (3,))
    if max(x.shape[:2]) > 8 or x.shape[2] > 4:
        raise ValueError(f"x must be at most 8x8 with at most 4 channels, got shape {x.shape}")
    if w.shape[2] != x.shape[2]:
        raise ValueError(f"w must have as many channels as x ({x.shape[2]}), got shape {w.shape}")
    c = x.shape[2]
    parts = [ops.conv2d(x[:, :, k:k + 1], w[:, :, k:k + 1, None])[:, :, 0] for k in range(c)]
    total = ops.conv2d(x, w[..., None], b=np.array([b]))[:, :, 0]
    ratios = [x.shape[1] + 1, max(w.shape[1], 4) + 1, parts[0].shape[1] + 1, parts[0].shape[1] + 4]
    cell = 0.33
    fig, _ax = _figure(cell * sum(ratios) + 0.3, (cell * x.shape[0] + 0.45) * c)
    _ax.remove()
    gs = fig.add_gridspec(c, 4, width_ratios=ratios)
    cmaps = ["Reds", "Greens", "Blues", "Purples"]
    hb = x.shape[0]
    for k in range(c):
        _cells(fig.add_subplot(gs[k, 0]), x[:, :, k], cmap=cmaps[k], title=f"input channel {k}", box=(ratios[0], hb),
               fontsize=MIN_FONT_PT)
        _cells(fig.add_subplot(gs[k, 1]), w[:, :, k], cmap="Oranges", title=f"kernel channel {k}", box=(ratios[1], hb),
               fontsize=MIN_FONT_PT)
        _cells(fig.add_subplot(gs[k, 2]), parts[k], cmap=cmaps[k], title=f"channel {k} result", box=(ratios[2], hb),
               fontsize=MIN_FONT_PT)
    ax = fig.add_subplot(gs[:, 3])
    _cells(ax, total, cmap="Greys", box=(ratios[3], total.shape[0]), fontsize=MIN_FONT_PT)
    th, span = total.shape[0], c * (hb + 1.5)  # centre the grid vertically in the tall panel
    ax.set_ylim((span + th) / 2, -(span - th) / 2)
    ax.text(total.shape[1] / 2, -0.3, f"sum of the {c} results" + (f" + b ({_fmt_value(b)})" if b else "")
            + "\n= one feature map", ha="center", va="bottom", fontsize=MIN_FONT_PT)
    fig.tight_layout()
    return check_legible(fig)
