"""Every figure the book draws. Each function returns a ``matplotlib.figure.Figure``.

The functions check what they are given and raise ``ValueError`` naming the argument, so a
wrong array shape never surfaces as a matplotlib traceback.

Sections follow the chapters; chapter authors add their figures under their section.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------


def _array(value: Any, arg: str, ndims: Sequence[int]) -> np.ndarray:
    """``value`` as a numeric array whose rank is in ``ndims``, else ValueError naming ``arg``."""
    try:
        a = np.asarray(value)
    except Exception:  # pragma: no cover - exotic inputs
        raise ValueError(f"{arg} must be array-like, got {type(value).__name__}") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{arg} must hold numbers, got dtype {a.dtype}")
    if a.ndim not in ndims:
        raise ValueError(f"{arg} must have {' or '.join(str(n) for n in ndims)} dimensions, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{arg} is empty (shape {a.shape})")
    return a


def _positive_int(value: Any, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{arg} must be a positive int, got {value!r}")
    return int(value)


def _normalise(img: np.ndarray) -> np.ndarray:
    img = img.astype(np.float32)
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)


def _show(ax, img: np.ndarray, cmap: str = "gray", normalise: bool = False) -> None:
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if normalise:
        img = _normalise(img)
    if img.ndim == 2:
        ax.imshow(img, cmap=cmap, interpolation="nearest")
    else:
        ax.imshow(np.clip(img, 0, 1) if img.dtype.kind == "f" else img, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _grid(n: int, ncols: int, cell: float = 1.2, title: str | None = None):
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig, axes.flat


# --------------------------------------------------------------------------------------------
# Introduction (chapter 1)
# --------------------------------------------------------------------------------------------


def image_grid(
    images,
    labels=None,
    *,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    title: str | None = None,
    cmap: str = "gray",
) -> Figure:
    """A grid of images (N, H, W), (N, H, W, 1) or (N, H, W, 3), optionally titled by label."""
    imgs = _array(images, "images", (3, 4))
    if imgs.ndim == 4 and imgs.shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels (last axis), got shape {imgs.shape}")
    ncols = _positive_int(ncols, "ncols")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape[0] != imgs.shape[0]:
            raise ValueError(f"labels must have one entry per image ({imgs.shape[0]}), got {labels.shape[0]}")
    fig, axes = _grid(len(imgs), ncols, title=title)
    for i, ax in enumerate(axes):
        if i >= len(imgs):
            break
        _show(ax, imgs[i], cmap=cmap)
        if labels is not None:
            lab = labels[i]
            ax.set_title(class_names[int(lab)] if class_names is not None else str(lab), fontsize=8)
    fig.tight_layout()
    return fig


def filters(kernels, *, ncols: int = 8, title: str | None = None) -> Figure:
    """First-layer convolution kernels, shape (kh, kw, C_in, C_out), one panel per output filter.

    RGB kernels (C_in = 3) are drawn in colour, others as their first input channel; every
    panel is rescaled to its own min..max, so the pattern (not the magnitude) shows.
    """
    k = _array(kernels, "kernels", (4,))
    ncols = _positive_int(ncols, "ncols")
    n = k.shape[-1]
    fig, axes = _grid(n, ncols, cell=0.9, title=title)
    for i, ax in enumerate(axes):
        if i >= n:
            break
        w = k[..., i]
        _show(ax, w if w.shape[-1] == 3 else w[..., 0], cmap="gray", normalise=True)
    fig.tight_layout()
    return fig


def feature_maps(maps, *, max_maps: int = 16, ncols: int = 8, title: str | None = None,
                 cmap: str = "viridis") -> Figure:
    """Channels of one feature map, shape (H, W, C) or (1, H, W, C), each as its own panel."""
    m = _array(maps, "maps", (3, 4))
    if m.ndim == 4:
        if m.shape[0] != 1:
            raise ValueError(f"maps must hold one image (1, H, W, C), got batch of {m.shape[0]}")
        m = m[0]
    n = min(m.shape[-1], _positive_int(max_maps, "max_maps"))
    fig, axes = _grid(n, _positive_int(ncols, "ncols"), cell=1.1, title=title)
    for i, ax in enumerate(axes):
        if i >= n:
            break
        _show(ax, m[..., i], cmap=cmap, normalise=True)
    fig.tight_layout()
    return fig


def history(histories: Mapping[str, Any], *, metrics: Sequence[str] = ("loss", "accuracy"),
            validation: bool = True, title: str | None = None) -> Figure:
    """Per-epoch curves of one or more runs.

    Args:
        histories: run name -> ``keras.callbacks.History`` or its ``.history`` dict.
        metrics: metric keys to draw, one panel each; ``val_<metric>`` is drawn dashed when present.
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("histories must be a non-empty mapping of run name -> History or dict")
    runs = {}
    for name, h in histories.items():
        d = getattr(h, "history", h)
        if not isinstance(d, Mapping):
            raise ValueError(f"histories[{name!r}] must be a keras History or a dict of lists")
        runs[name] = d
    for m in metrics:
        if not any(m in d for d in runs.values()):
            raise ValueError(f"metrics: no run has {m!r}; keys are {sorted(next(iter(runs.values())))}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, m in zip(axes.flat, metrics):
        for i, (name, d) in enumerate(runs.items()):
            c = colours[i % len(colours)]
            if m in d:
                ep = np.arange(1, len(d[m]) + 1)
                ax.plot(ep, d[m], color=c, label=f"{name}")
            if validation and f"val_{m}" in d:
                ep = np.arange(1, len(d[f"val_{m}"]) + 1)
                ax.plot(ep, d[f"val_{m}"], color=c, ls="--", label=f"{name} (val)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def convolution_1d(t, f, g, shifts: Sequence[float], *, labels: tuple[str, str] = ("f", "g")) -> Figure:
    """The convolution (f * g)(s) = integral of f(tau) g(s - tau) d tau, drawn as a sliding product.

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
    fig, axes = plt.subplots(1, len(shifts) + 1, figsize=(3.2 * (len(shifts) + 1), 2.8), squeeze=False)
    fa, ga = labels
    for ax, s in zip(axes.flat, shifts):
        g_shift = np.interp(s - t, t, g, left=0.0, right=0.0)
        ax.plot(t, f, label=f"{fa}(τ)")
        ax.plot(t, g_shift, label=f"{ga}({s:g} − τ)")
        ax.fill_between(t, 0, f * g_shift, color="C2", alpha=0.4, label="product")
        ax.set_title(f"s = {s:g}: area = {np.sum(f * g_shift) * dt:.2f}", fontsize=9)
        ax.set_xlabel("τ")
    axes.flat[0].legend(fontsize=7)
    ax = axes.flat[-1]
    ax.plot(s_axis, conv, color="C3")
    for s in shifts:
        ax.plot([s], [np.interp(s, s_axis, conv)], "o", color="C3")
    ax.set_xlim(t[0], t[-1])
    ax.set_title(f"({fa} ∗ {ga})(s)", fontsize=9)
    ax.set_xlabel("s")
    fig.tight_layout()
    return fig


def bars(values: Mapping[str, float], *, ylabel: str = "", log: bool = False, title: str | None = None,
         fmt: str = "{:,.0f}") -> Figure:
    """A labelled bar chart of a few named numbers (parameter counts, accuracies, ...)."""
    if not isinstance(values, Mapping) or not values:
        raise ValueError("values must be a non-empty mapping of label -> number")
    names = list(values)
    try:
        vals = np.array([float(values[k]) for k in names])
    except (TypeError, ValueError):
        raise ValueError("values must map labels to numbers") from None
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2, 3.2))
    ax.bar(names, vals, color=[f"C{i}" for i in range(len(names))])
    for i, v in enumerate(vals):
        ax.text(i, v, fmt.format(v), ha="center", va="bottom", fontsize=9)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.margins(y=0.15)
    fig.tight_layout()
    return fig


def architecture(stages: Sequence[tuple[str, str]], *, title: str | None = None) -> Figure:
    """A left-to-right block diagram of a network.

    Args:
        stages: (kind, label) pairs, in order. ``kind`` sets the colour: ``"input"``, ``"conv"``,
            ``"pool"``, ``"flatten"``, ``"dense"``, ``"softmax"`` or ``"other"``; ``label`` is the
            text in the box (e.g. ``"conv 3x3, 32\\n26x26x32"``).
    """
    colours = {"input": "#d9d9d9", "conv": "#8dd3c7", "pool": "#fb8072", "flatten": "#ffffb3",
               "dense": "#80b1d3", "softmax": "#bebada", "other": "#fdb462"}
    if not stages:
        raise ValueError("stages must be a non-empty sequence of (kind, label) pairs")
    for i, st in enumerate(stages):
        if not (isinstance(st, (tuple, list)) and len(st) == 2 and st[0] in colours):
            raise ValueError(f"stages[{i}] must be (kind, label) with kind in {sorted(colours)}, got {st!r}")
    n = len(stages)
    fig, ax = plt.subplots(figsize=(1.45 * n + 0.5, 2.4))
    w, h, gap = 1.15, 1.4, 0.3
    for i, (kind, label) in enumerate(stages):
        x0 = i * (w + gap)
        ax.add_patch(Rectangle((x0, 0), w, h, facecolor=colours[kind], edgecolor="black", lw=0.8))
        ax.text(x0 + w / 2, h / 2, label, ha="center", va="center", fontsize=7.5, wrap=True)
        if i < n - 1:
            ax.add_patch(FancyArrowPatch((x0 + w, h / 2), (x0 + w + gap, h / 2), arrowstyle="->",
                                         mutation_scale=10, lw=0.8))
    feat = [i for i, (k, _) in enumerate(stages) if k in ("conv", "pool")]
    head = [i for i, (k, _) in enumerate(stages) if k in ("flatten", "dense", "softmax")]
    for idxs, text in ((feat, "feature extraction"), (head, "classification")):
        if idxs:
            a, b = idxs[0] * (w + gap), idxs[-1] * (w + gap) + w
            ax.annotate("", xy=(a, -0.15), xytext=(b, -0.15), arrowprops=dict(arrowstyle="<->", lw=0.8))
            ax.text((a + b) / 2, -0.35, text, ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.1, n * (w + gap))
    ax.set_ylim(-0.8, h + 0.2)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def tuning_curve(angles_deg, responses, *, stimuli=None, title: str | None = None) -> Figure:
    """Response of a model neuron against stimulus orientation, with optional stimulus thumbnails.

    Args:
        angles_deg: orientations in degrees (K,).
        responses: response per orientation (K,).
        stimuli: optional images (K, H, W) drawn above the curve.
    """
    a = _array(angles_deg, "angles_deg", (1,))
    r = _array(responses, "responses", (1,))
    if len(a) != len(r):
        raise ValueError(f"angles_deg and responses must have the same length, got {len(a)} and {len(r)}")
    if stimuli is not None:
        s = _array(stimuli, "stimuli", (3,))
        if len(s) != len(a):
            raise ValueError(f"stimuli must have one image per angle ({len(a)}), got {len(s)}")
        fig = plt.figure(figsize=(9, 3.6))
        gs = fig.add_gridspec(2, len(a), height_ratios=[1, 2.2])
        for i in range(len(a)):
            _show(fig.add_subplot(gs[0, i]), s[i])
        ax = fig.add_subplot(gs[1, :])
    else:
        fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(a, r, "o-")
    ax.set_xlabel("bar orientation (degrees)")
    ax.set_ylabel("response")
    ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def flatten_diagram(image, *, max_values: int = 12) -> Figure:
    """An image with its pixel values, and the same values as the 1-D vector a dense layer sees.

    Args:
        image: a small 2-D array (H, W), e.g. 6x6; each cell is annotated with its value.
        max_values: how many leading entries of the flattened vector to draw.
    """
    img = _array(image, "image", (2,))
    if img.shape[0] > 12 or img.shape[1] > 12:
        raise ValueError(f"image must be at most 12x12 so its numbers stay readable, got {img.shape}")
    max_values = _positive_int(max_values, "max_values")
    flat = img.reshape(-1)
    fig = plt.figure(figsize=(9, 3.2))
    gs = fig.add_gridspec(1, 2, width_ratios=[1, 2.4])
    ax = fig.add_subplot(gs[0])
    ax.imshow(img, cmap="Greys", vmin=float(img.min()), vmax=float(img.max()) or 1.0)
    for (i, j), v in np.ndenumerate(img):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=7,
                color="white" if v > (img.max() + img.min()) / 2 else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"image {img.shape[0]}x{img.shape[1]}")
    ax2 = fig.add_subplot(gs[1])
    n = min(max_values, flat.size)
    ax2.imshow(flat[None, :n], cmap="Greys", vmin=float(img.min()), vmax=float(img.max()) or 1.0)
    for k in range(n):
        ax2.text(k, 0, f"{flat[k]:g}", ha="center", va="center", fontsize=7,
                 color="white" if flat[k] > (img.max() + img.min()) / 2 else "black")
        r, c = divmod(k, img.shape[1])
        ax2.text(k, 0.75, f"({r},{c})", ha="center", va="top", fontsize=6, color="C3")
    ax2.set_yticks([])
    ax2.set_xticks([])
    ax2.set_title(f"flattened: {flat.size} values in a row (first {n} shown, with their (row, col))")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Terminology (chapter 2)
# --------------------------------------------------------------------------------------------


def _fmt_value(v: float) -> str:
    v = float(v)
    if v == int(v) and abs(v) < 1e5:
        return str(int(v))
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def _cells(ax, values: np.ndarray, *, pad: int = 0, window: tuple[int, int, int, int] | None = None,
           shown: np.ndarray | None = None, cmap: str = "Blues", title: str | None = None,
           fontsize: float | None = None, block: int | None = None,
           box: tuple[float, float] | None = None) -> None:
    """Draw a 2-D array as a grid of cells with its numbers written in them.

    ``pad`` outer rings are drawn as zero padding (grey, italic); ``window`` = (row, col, h, w)
    gets a red frame; ``shown`` (bool, same shape) hides the cells not computed yet; ``block``
    colours the cells by pooling window instead of by value; ``box`` = (width, height) in cells
    sets the axes' extent (grid centred at the top), so that panels share one cell size.
    """
    h, w = values.shape
    finite = values[shown] if shown is not None and shown.any() else values
    lo, hi = float(np.min(finite)), float(np.max(finite))
    norm = plt.Normalize(lo - 0.25 * (hi - lo + 1e-9), hi + 0.6 * (hi - lo + 1e-9))
    cm = plt.get_cmap(cmap)
    block_colours = ["#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6", "#ffffcc", "#e5d8bd", "#fddaec"]
    fs = fontsize or max(5.0, 11.0 - 0.5 * max(h, w))
    for i in range(h):
        for j in range(w):
            in_pad = i < pad or j < pad or i >= h - pad or j >= w - pad
            hidden = shown is not None and not shown[i, j]
            if in_pad:
                face = "#eeeeee"
            elif hidden:
                face = "white"
            elif block is not None:
                bi, bj = (i - pad) // block, (j - pad) // block
                face = block_colours[(bi * 3 + bj) % len(block_colours)]
            else:
                face = cm(norm(values[i, j]))
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=face, edgecolor="#555555", lw=0.6))
            if not hidden:
                ax.text(j + 0.5, i + 0.5, _fmt_value(values[i, j]), ha="center", va="center",
                        fontsize=fs, color="#777777" if in_pad else "black", style="italic" if in_pad else "normal")
    if window is not None:
        r, c, wh, ww = window
        ax.add_patch(Rectangle((c, r), ww, wh, fill=False, edgecolor="red", lw=2.2))
    bw, bh = box if box is not None else (w, h)
    left = (bw - w) / 2
    ax.set_xlim(-left - 0.05, w + left + 0.05)
    ax.set_ylim(max(bh, h) + 0.05, -0.05)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)


def _small_matrix(value: Any, arg: str, max_side: int = 12) -> np.ndarray:
    a = _array(value, arg, (2,))
    if max(a.shape) > max_side:
        raise ValueError(f"{arg} must be at most {max_side}x{max_side} so its numbers stay readable, got {a.shape}")
    return a


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


def _conv_row(axes, xp, w, stride, padding, y, step: int) -> None:
    """Draw input-with-window, kernel and output-so-far for output position ``step``."""
    kh, kw = w.shape
    i, j = divmod(step, y.shape[1])
    r, c = i * stride, j * stride
    patch = xp[r:r + kh, c:c + kw]
    lines = [" + ".join(f"{_fmt_value(a)}·{_fmt_value(b)}" for a, b in zip(patch[u], w[u])) for u in range(kh)]
    formula = f"y[{i},{j}] =\n" + " +\n".join(lines) + f"\n= {_fmt_value(y[i, j])}"
    shown = np.zeros(y.shape, dtype=bool)
    shown.flat[: step + 1] = True
    for ax in axes:
        ax.clear()
    box_h = max(xp.shape[0], kh + 5)  # one data unit = one cell in every panel
    _cells(axes[0], xp, pad=padding, window=(r, c, kh, kw), box=(xp.shape[1], box_h),
           title=f"input{' + zero padding ' + str(padding) if padding else ''}, stride {stride}")
    _cells(axes[1], w, cmap="Oranges", title="kernel", box=(max(kw + 4, 7), box_h))
    axes[1].text(kw / 2, kh + 0.3, formula, ha="center", va="top", fontsize=7, linespacing=1.3)
    _cells(axes[2], y, shown=shown, window=(i, j, 1, 1), cmap="Greens", box=(max(y.shape[1], 3), box_h),
           title=f"feature map {y.shape[0]}x{y.shape[1]}")


def _conv_figure(xp, w, y, rows: int):
    cell = 0.36
    width = cell * (xp.shape[1] + max(w.shape[1] + 4, 7) + max(y.shape[1], 3)) + 1.0
    height = (cell * max(xp.shape[0], w.shape[0] + 5) + 0.45) * rows
    return plt.subplots(rows, 3, figsize=(width, height), squeeze=False,
                        gridspec_kw={"width_ratios": [xp.shape[1], max(w.shape[1] + 4, 7), max(y.shape[1], 3)]})


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
    fig, axes = _conv_figure(xp, w, y, len(idx))
    for row, s in zip(axes, idx):
        _conv_row(row, xp, w, stride, padding, y, s)
    fig.tight_layout()
    return fig


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
    fig, axes = _conv_figure(xp, w, y, 1)
    axes = axes[0]
    fig.subplots_adjust(left=0.02, right=0.98, top=0.9, bottom=0.02, wspace=0.15)

    def draw(step):
        _conv_row(axes, xp, w, stride, padding, y, step)
        return list(axes)

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
    fig, axes = plt.subplots(1, 2, figsize=(0.4 * (x.shape[1] + xp.shape[1]) + 1.5, 0.4 * xp.shape[0] + 1.0),
                             gridspec_kw={"width_ratios": [x.shape[1], xp.shape[1]]})
    h, w = x.shape

    def caption(p):
        try:
            return f"{kernel}x{kernel} kernel -> {ops.output_size(h, kernel, 1, p)}x{ops.output_size(w, kernel, 1, p)}"
        except ValueError:
            return f"{kernel}x{kernel} kernel does not fit"

    fs = max(5.0, 11.0 - 0.5 * max(xp.shape))
    _cells(axes[0], x, box=(w, xp.shape[0]), fontsize=fs, title=f"input {h}x{w}\n{caption(0)}")
    _cells(axes[1], xp, pad=pad, box=xp.shape[::-1], fontsize=fs, title=f"zero padding {pad}: {xp.shape[0]}x{xp.shape[1]}\n{caption(pad)}")
    fig.tight_layout()
    return fig


def matrices(arrays: Mapping[str, Any], *, cmap: str = "Blues", title: str | None = None) -> Figure:
    """Small 2-D arrays side by side, with their numbers in the cells (kernels, outputs, ...)."""
    if not isinstance(arrays, Mapping) or not arrays:
        raise ValueError("arrays must be a non-empty mapping of caption -> 2-D array")
    mats = {k: _small_matrix(v, f"arrays[{k!r}]") for k, v in arrays.items()}
    widths = [max(m.shape[1], 2) for m in mats.values()]
    height = max(m.shape[0] for m in mats.values())
    fig, axes = plt.subplots(1, len(mats), figsize=(0.42 * sum(widths) + 0.6 * len(mats), 0.42 * height + 0.9),
                             squeeze=False, gridspec_kw={"width_ratios": widths})
    for ax, width, (name, m) in zip(axes.flat, widths, mats.items()):
        _cells(ax, m, cmap=cmap, title=name, box=(width, height))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


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
    fig, axes = plt.subplots(1, 4, figsize=(2.2 + 0.45 * x.shape[1] + 3 * (0.45 * x.shape[1] / size + 1.2), 0.45 * x.shape[0] + 1.0),
                             gridspec_kw={"width_ratios": [x.shape[1]] + [x.shape[1] // size + 1] * 3})
    _cells(axes[0], x, block=size, title=f"input {x.shape[0]}x{x.shape[1]}", box=x.shape[::-1])
    for ax, (m, y) in zip(axes[1:], outs.items()):
        _cells(ax, y, block=1, box=(x.shape[1] // size + 1, x.shape[0]), title=f"{names[m]} {size}x{size}\n-> {y.shape[0]}x{y.shape[1]}")
    fig.tight_layout()
    return fig


def channels(image, *, title: str | None = None) -> Figure:
    """A colour photo, its red, green and blue channels, and the one-channel grayscale version.

    Each channel is drawn from black (0) to its pure colour (1), so bright means "a lot of it".

    Args:
        image: (H, W, 3), uint8 or float in [0, 1].
    """
    img = _array(image, "image", (3,))
    if img.shape[-1] != 3:
        raise ValueError(f"image must have 3 channels (H, W, 3), got shape {img.shape}")
    f = img.astype(np.float32) / (255.0 if img.dtype.kind in "ui" else 1.0)
    gray = f @ np.array([0.2989, 0.5870, 0.1140], np.float32)  # ITU-R 601 luma, as tf.image.rgb_to_grayscale
    fig, axes = plt.subplots(1, 5, figsize=(13, 2.9))
    _show(axes[0], f)
    axes[0].set_title(f"RGB photo {img.shape[0]}x{img.shape[1]}x3", fontsize=9)
    from matplotlib.colors import LinearSegmentedColormap

    for c, (name, colour) in enumerate((("R", "red"), ("G", "lime"), ("B", "blue"))):
        # black (0) -> pure colour (1): bright where the channel is high
        cmap = LinearSegmentedColormap.from_list(f"black_{name}", ["black", colour])
        axes[c + 1].imshow(f[..., c], cmap=cmap, vmin=0, vmax=1)
        axes[c + 1].set_xticks([])
        axes[c + 1].set_yticks([])
        axes[c + 1].set_title(f"channel {c} ({name}) {img.shape[0]}x{img.shape[1]}", fontsize=9)
    _show(axes[4], gray)
    axes[4].set_title(f"grayscale: 1 channel {img.shape[0]}x{img.shape[1]}x1", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


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
    fig = plt.figure(figsize=(0.4 * (x.shape[1] + max(w.shape[1], 4) + 2 * parts[0].shape[1] + 7), (0.4 * x.shape[0] + 0.5) * c))
    ratios = [x.shape[1] + 1, max(w.shape[1], 4) + 1, parts[0].shape[1] + 1, parts[0].shape[1] + 4]
    gs = fig.add_gridspec(c, 4, width_ratios=ratios)
    cmaps = ["Reds", "Greens", "Blues", "Purples"]
    hb = x.shape[0]
    for k in range(c):
        _cells(fig.add_subplot(gs[k, 0]), x[:, :, k], cmap=cmaps[k], title=f"input channel {k}", box=(ratios[0], hb))
        _cells(fig.add_subplot(gs[k, 1]), w[:, :, k], cmap="Oranges", title=f"kernel channel {k}", box=(ratios[1], hb))
        _cells(fig.add_subplot(gs[k, 2]), parts[k], cmap=cmaps[k], title=f"channel {k} result", box=(ratios[2], hb))
    ax = fig.add_subplot(gs[:, 3])
    _cells(ax, total, cmap="Greys", box=(ratios[3], total.shape[0]))
    th, span = total.shape[0], c * (hb + 1.5)  # centre the grid vertically in the tall panel
    ax.set_ylim((span + th) / 2, -(span - th) / 2)
    ax.text(total.shape[1] / 2, -0.3, f"sum of the {c} results" + (f" + b ({_fmt_value(b)})" if b else "")
            + "\n= one feature map", ha="center", va="bottom", fontsize=9)
    fig.tight_layout()
    return fig


def filter_responses(image, kernels: Mapping[str, Any], responses: Mapping[str, Any]) -> Figure:
    """Hand-made kernels (with their numbers) above what each one makes of the same image.

    Args:
        image: the input (H, W), shown first.
        kernels: name -> 2-D kernel.
        responses: name -> 2-D response (the same names as ``kernels``).
    """
    img = _array(image, "image", (2,))
    if not isinstance(kernels, Mapping) or not kernels:
        raise ValueError("kernels must be a non-empty mapping of name -> 2-D kernel")
    if not isinstance(responses, Mapping) or set(responses) != set(kernels):
        raise ValueError(f"responses must map the same names as kernels ({', '.join(kernels)})")
    n = len(kernels)
    fig = plt.figure(figsize=(2.3 * (n + 1), 4.6))
    gs = fig.add_gridspec(2, n + 1, height_ratios=[1, 2])
    ax = fig.add_subplot(gs[1, 0])
    _show(ax, img)
    ax.set_title("input", fontsize=9)
    for k, name in enumerate(kernels):
        _cells(fig.add_subplot(gs[0, k + 1]), _small_matrix(kernels[name], f"kernels[{name!r}]", 7),
               cmap="Oranges", title=name, fontsize=7)
        r = _array(responses[name], f"responses[{name!r}]", (2,))
        ax = fig.add_subplot(gs[1, k + 1])
        ax.imshow(r, cmap="gray", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def training_snapshots(kernels: Mapping[str, Any], maps: Mapping[str, Any], *, max_filters: int = 8) -> Figure:
    """First-layer filters and the feature maps of one image at several points of training.

    Args:
        kernels: stage name -> first-layer kernel (kh, kw, 1, C) (``layer.kernel``).
        maps: stage name -> that layer's output for one image, (H, W, C) or (1, H, W, C).
        max_filters: how many filters (columns) to draw.
    """
    if not isinstance(kernels, Mapping) or not kernels:
        raise ValueError("kernels must be a non-empty mapping of stage name -> kernel array")
    if not isinstance(maps, Mapping) or list(maps) != list(kernels):
        raise ValueError(f"maps must have the same stages, in the same order, as kernels ({', '.join(kernels)})")
    ks = {s: _array(v, f"kernels[{s!r}]", (4,)) for s, v in kernels.items()}
    ms = {}
    for s, v in maps.items():
        m = _array(v, f"maps[{s!r}]", (3, 4))
        ms[s] = m[0] if m.ndim == 4 else m
    n = min(min(k.shape[-1] for k in ks.values()), _positive_int(max_filters, "max_filters"))
    stages = list(ks)
    fig, axes = plt.subplots(2 * len(stages), n, figsize=(1.05 * n + 1.0, 2.15 * len(stages)), squeeze=False)
    for r, s in enumerate(stages):
        for f in range(n):
            _show(axes[2 * r, f], ks[s][:, :, 0, f], cmap="gray", normalise=True)
            _show(axes[2 * r + 1, f], ms[s][:, :, f], cmap="viridis", normalise=True)
        axes[2 * r, 0].set_ylabel(f"{s}\nfilters", fontsize=8)
        axes[2 * r + 1, 0].set_ylabel("feature\nmaps", fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# TensorFlow and Keras basics (chapters 3-4)
# --------------------------------------------------------------------------------------------


def _epoch_snapshots(snapshots: Any, arg: str, ndims: Sequence[int]) -> list[tuple[int, np.ndarray]]:
    if not isinstance(snapshots, Mapping) or not snapshots:
        raise ValueError(f"{arg} must be a non-empty mapping of epoch -> array")
    out = []
    for epoch, value in snapshots.items():
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"{arg}: keys must be epoch numbers (non-negative ints), got {epoch!r}")
        out.append((int(epoch), _array(value, f"{arg}[{epoch}]", ndims)))
    shapes = {a.shape for _, a in out}
    if len(shapes) != 1:
        raise ValueError(f"{arg}: every epoch must have the same shape, got {sorted(shapes)}")
    return sorted(out, key=lambda t: t[0])


def filters_over_epochs(snapshots: Mapping[int, Any], *, max_filters: int = 8, title: str | None = None) -> Figure:
    """First-layer kernels at several epochs: one row per epoch, one column per filter.

    Args:
        snapshots: epoch -> kernels (kh, kw, C_in, C_out), e.g. ``Snapshots.kernels`` of
            :class:`cnnbook.train.Snapshots`; epoch 0 is the initialisation.
        max_filters: draw the first this many filters.

    All panels share one diverging colour scale (blue negative, red positive), so the reader sees
    both the pattern and the weights growing away from their random start.
    """
    snaps = _epoch_snapshots(snapshots, "snapshots", (4,))
    n = min(snaps[0][1].shape[-1], _positive_int(max_filters, "max_filters"))
    vmax = max(float(np.abs(k[..., :n]).max()) for _, k in snaps) or 1.0
    fig, axes = plt.subplots(len(snaps), n, figsize=(0.9 * n + 0.8, 0.95 * len(snaps) + 0.4), squeeze=False)
    for r, (epoch, k) in enumerate(snaps):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(k[:, :, 0, c], cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(f"epoch {epoch}", fontsize=8)
            if r == 0:
                ax.set_title(f"filter {c}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def feature_maps_over_epochs(maps: Mapping[int, Any], *, image=None, max_maps: int = 8,
                             title: str | None = None, cmap: str = "viridis") -> Figure:
    """One image's feature maps at several epochs: one row per epoch, one column per channel.

    Args:
        maps: epoch -> feature maps (H, W, C) or (1, H, W, C) of the same image, e.g.
            ``Snapshots.maps`` of :class:`cnnbook.train.Snapshots`.
        image: the input image (H, W) or (H, W, C), drawn in a first column.
        max_maps: draw the first this many channels.
    """
    snaps = _epoch_snapshots(maps, "maps", (3, 4))
    if snaps[0][1].ndim == 4:
        if snaps[0][1].shape[0] != 1:
            raise ValueError(f"maps must hold one image (1, H, W, C), got a batch of {snaps[0][1].shape[0]}")
        snaps = [(e, m[0]) for e, m in snaps]
    img = None if image is None else _array(image, "image", (2, 3))
    n = min(snaps[0][1].shape[-1], _positive_int(max_maps, "max_maps"))
    extra = 0 if img is None else 1
    fig, axes = plt.subplots(len(snaps), n + extra, figsize=(1.0 * (n + extra) + 0.8, 1.05 * len(snaps) + 0.4),
                             squeeze=False)
    for r, (epoch, m) in enumerate(snaps):
        if img is not None:
            _show(axes[r, 0], img)
            if r == 0:
                axes[r, 0].set_title("input", fontsize=8)
        for c in range(n):
            _show(axes[r, c + extra], m[..., c], cmap=cmap, normalise=True)
            if r == 0:
                axes[r, c + extra].set_title(f"map {c}", fontsize=8)
        axes[r, 0].set_ylabel(f"epoch {epoch}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Datasets and pretrained models (chapter 5)
# --------------------------------------------------------------------------------------------


def inception_module(module: Mapping[str, Any], *, title: str | None = None) -> Figure:
    """An inception module as parallel branches between its input and the concatenation.

    Args:
        module: what ``cnnbook.pretrained.inception_branches`` returns: ``{"input": (H, W, C),
            "output": (H, W, C), "branches": [[{"label": str, "shape": (H, W, C)}, ...], ...]}``.
    """
    if not isinstance(module, Mapping) or not {"input", "output", "branches"} <= set(module):
        raise ValueError("module must be a mapping with 'input', 'output' and 'branches' "
                         "(as cnnbook.pretrained.inception_branches returns)")
    branches = module["branches"]
    if not isinstance(branches, Sequence) or not branches or any(
            not isinstance(b, Sequence) or not b or any(not isinstance(u, Mapping) or "label" not in u
                                                         or "shape" not in u for u in b) for b in branches):
        raise ValueError("module['branches'] must be a non-empty list of non-empty lists of "
                         "{'label', 'shape'} units")
    n = len(branches)
    depth = max(len(b) for b in branches)
    w, h, gx, gy = 2.1, 0.8, 0.35, 0.45
    width = n * w + (n - 1) * gx
    fig, ax = plt.subplots(figsize=(1.0 + 0.95 * width, 0.9 + 0.62 * (depth + 2) * (h + gy)))

    def box(x0, y0, bw, text, colour):
        ax.add_patch(Rectangle((x0, y0), bw, h, facecolor=colour, edgecolor="black", lw=0.8))
        ax.text(x0 + bw / 2, y0 + h / 2, text, ha="center", va="center", fontsize=8)

    def arrow(x0, y0, x1, y1):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="->", mutation_scale=9, lw=0.7))

    def shape_text(s):
        return "×".join(str(int(v)) for v in s)

    top = (depth + 1) * (h + gy)
    box(0, top, width, f"input  {shape_text(module['input'])}", "#d9d9d9")
    box(0, 0, width, f"concatenate (channels)  {shape_text(module['output'])}", "#bebada")
    for i, branch in enumerate(branches):
        x0 = i * (w + gx)
        y_prev = top
        for j, unit in enumerate(branch):
            y = top - (j + 1) * (h + gy)
            label = str(unit["label"])
            colour = "#fb8072" if "pool" in label else ("#ffffb3" if "1x1" in label else "#8dd3c7")
            box(x0, y, w, f"{label}\n{shape_text(unit['shape'])}", colour)
            arrow(x0 + w / 2, y_prev, x0 + w / 2, y + h)
            y_prev = y
        arrow(x0 + w / 2, y_prev, x0 + w / 2, h)
    ax.set_xlim(-0.1, width + 0.1)
    ax.set_ylim(-0.1, top + h + 0.1)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# ResNet and SENet (chapters 6 and 8)
# --------------------------------------------------------------------------------------------

_BOX_COLOURS = {"conv": "#8dd3c7", "weight": "#8dd3c7", "fc": "#80b1d3", "bn": "#ffffb3", "relu": "#fb8072",
                "pool": "#bebada", "sigmoid": "#fdb462", "other": "#e5e5e5"}


def _box_colour(label: str) -> str:
    low = label.lower()
    for key in ("sigmoid", "relu", "bn", "pool", "conv", "weight", "fc"):
        if key in low:
            return _BOX_COLOURS[key]
    return _BOX_COLOURS["other"]


def block_diagram(panels: Mapping[str, Mapping[str, Any]], *, title: str | None = None) -> Figure:
    """Side-by-side flow diagrams of network blocks, input at the bottom (He et al.'s style).

    Args:
        panels: ``{panel title: spec}``. A spec is a mapping with ``boxes`` (the layers of the
            branch, bottom to top, e.g. ``["3x3 conv", "BN", "ReLU"]``) and optionally
            ``shortcut`` (text on a skip connection from the input to the merge node; omit or None
            for no skip), ``merge`` (``"+"`` for addition, ``"x"`` for channel-wise scaling; only
            with a shortcut), ``after`` (a layer after the merge, e.g. ``"ReLU"``), ``input`` and
            ``output`` (text below and above, default ``"x"`` and ``""``).
        title: figure title.

    Returns:
        The figure.
    """
    if not isinstance(panels, Mapping) or not panels:
        raise ValueError("panels must be a non-empty mapping of title -> spec")
    specs = []
    for name, spec in panels.items():
        if not isinstance(spec, Mapping) or "boxes" not in spec:
            raise ValueError(f"panels[{name!r}] must be a mapping with a 'boxes' list, got {spec!r}")
        boxes = spec["boxes"]
        if isinstance(boxes, str) or not isinstance(boxes, Sequence) or not boxes:
            raise ValueError(f"panels[{name!r}]['boxes'] must be a non-empty list of labels, got {boxes!r}")
        unknown = set(spec) - {"boxes", "shortcut", "merge", "after", "input", "output"}
        if unknown:
            raise ValueError(f"panels[{name!r}] has unknown keys {sorted(unknown)}")
        if spec.get("merge", "+") not in ("+", "x"):
            raise ValueError(f"panels[{name!r}]['merge'] must be '+' or 'x', got {spec.get('merge')!r}")
        specs.append((str(name), [str(b) for b in boxes], spec))
    height = max(len(b) + (2 if s.get("shortcut") else 0) + (1 if s.get("after") else 0) for _, b, s in specs)
    fig, axes = plt.subplots(1, len(specs), figsize=(2.6 * len(specs), 0.62 * height + 1.4), squeeze=False)
    bw, bh, step = 1.9, 0.42, 0.62
    for ax, (name, boxes, spec) in zip(axes[0], specs):
        y = 0.0
        ax.text(0, y - 0.1, spec.get("input", "x"), ha="center", va="top", fontsize=10, style="italic")
        prev = y
        for label in boxes:
            y += step
            ax.add_patch(FancyArrowPatch((0, prev), (0, y - bh / 2), arrowstyle="->", mutation_scale=9, lw=0.8))
            ax.add_patch(Rectangle((-bw / 2, y - bh / 2), bw, bh, facecolor=_box_colour(label), edgecolor="black",
                                   lw=0.8))
            ax.text(0, y, label, ha="center", va="center", fontsize=8)
            prev = y + bh / 2
        shortcut = spec.get("shortcut")
        if shortcut:
            y += step
            ax.add_patch(FancyArrowPatch((0, prev), (0, y - 0.13), arrowstyle="->", mutation_scale=9, lw=0.8))
            ax.add_patch(plt.Circle((0, y), 0.13, facecolor="white", edgecolor="black", lw=0.8))
            ax.text(0, y, "+" if spec.get("merge", "+") == "+" else "×", ha="center", va="center", fontsize=10)
            side = bw / 2 + 0.35
            ax.plot([0.05, side, side], [0.0, 0.0, y], color="black", lw=0.8)
            ax.add_patch(FancyArrowPatch((side, y), (0.13, y), arrowstyle="->", mutation_scale=9, lw=0.8))
            ax.text(side + 0.06, y / 2, str(shortcut), ha="left", va="center", fontsize=8, rotation=90)
            prev = y + 0.13
        if spec.get("after"):
            y += step
            label = str(spec["after"])
            ax.add_patch(FancyArrowPatch((0, prev), (0, y - bh / 2), arrowstyle="->", mutation_scale=9, lw=0.8))
            ax.add_patch(Rectangle((-bw / 2, y - bh / 2), bw, bh, facecolor=_box_colour(label), edgecolor="black",
                                   lw=0.8))
            ax.text(0, y, label, ha="center", va="center", fontsize=8)
            prev = y + bh / 2
        ax.add_patch(FancyArrowPatch((0, prev), (0, prev + 0.35), arrowstyle="->", mutation_scale=9, lw=0.8))
        ax.text(0, prev + 0.4, spec.get("output", ""), ha="center", va="bottom", fontsize=9, style="italic")
        ax.set_xlim(-1.5, 1.8)
        ax.set_ylim(-0.5, step * (height + 1) + 0.3)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(name, fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _runs(runs: Mapping[str, Any], names: Sequence[str], key: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for n in names:
        if n not in runs:
            raise ValueError(f"runs has no entry {n!r}; it has {sorted(runs)}")
        rec = runs[n]
        if not isinstance(rec, Mapping) or key not in rec or "step" not in rec:
            raise ValueError(f"runs[{n!r}] must be a record with 'step' and {key!r} (as compare_training returns)")
        values = _array(rec[key], f"runs[{n!r}][{key!r}]", (1, 2))
        values = values[None] if values.ndim == 1 else values
        steps = _array(rec["step"], f"runs[{n!r}]['step']", (1,))
        if values.shape[1] != len(steps):
            raise ValueError(f"runs[{n!r}]: {key} has {values.shape[1]} points but 'step' has {len(steps)}")
        out[n] = (steps, values)
    return out


def training_curves(runs: Mapping[str, Any], *, groups: Mapping[str, Sequence[str]] | None = None,
                    key: str = "train_error", ylabel: str = "training error (%)", percent: bool = True,
                    log: bool = False, title: str | None = None) -> Figure:
    """Training curves of several runs in side-by-side panels (the ResNet paper's Fig. 1 / Fig. 6).

    Each run is drawn as the mean over its seeds (thick) and every seed (thin, same colour).

    Args:
        runs: ``{name: record}`` as returned by :func:`cnnbook.resnet.compare_training` (``step``
            and ``key`` arrays of shape (seeds, points) or (points,)).
        groups: ``{panel title: [run names]}``; default one panel with every run.
        key: the record entry to draw (``"train_error"`` or ``"loss"``).
        ylabel: y-axis label.
        percent: multiply the values by 100.
        log: logarithmic y axis.
        title: figure title.

    Returns:
        The figure.
    """
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("runs must be a non-empty mapping of name -> record")
    if groups is None:
        groups = {"": list(runs)}
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError("groups must be a non-empty mapping of panel title -> list of run names")
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.3), squeeze=False, sharey=True)
    for ax, (panel, names) in zip(axes[0], groups.items()):
        if isinstance(names, str) or not isinstance(names, Sequence) or not names:
            raise ValueError(f"groups[{panel!r}] must be a non-empty list of run names")
        for i, (name, (steps, values)) in enumerate(_runs(runs, names, key).items()):
            scale = 100.0 if percent else 1.0
            for row in values:
                ax.plot(steps, row * scale, color=f"C{i}", lw=0.7, alpha=0.45)
            ax.plot(steps, values.mean(axis=0) * scale, color=f"C{i}", lw=2.0, label=name)
        ax.set_xlabel("iteration")
        ax.set_title(panel)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        if log:
            ax.set_yscale("log")
    axes[0][0].set_ylabel(ylabel)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def layer_profiles(profiles: Mapping[str, Any], *, ylabel: str, log: bool = True, title: str | None = None,
                   xlabel: str = "layer (input → output)") -> Figure:
    """One line per network of a per-layer quantity (gradient norm, activation spread, ...).

    Args:
        profiles: ``{network name: values in depth order}`` (a sequence, or a mapping layer name
            -> value such as :func:`cnnbook.resnet.kernel_gradient_norms` returns).
        ylabel: y-axis label.
        log: logarithmic y axis.
        title: figure title.
        xlabel: x-axis label.

    Returns:
        The figure.
    """
    if not isinstance(profiles, Mapping) or not profiles:
        raise ValueError("profiles must be a non-empty mapping of name -> per-layer values")
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for i, (name, values) in enumerate(profiles.items()):
        vals = list(values.values()) if isinstance(values, Mapping) else values
        v = _array(vals, f"profiles[{name!r}]", (1,)).astype(float)
        if log and np.any(v <= 0):
            raise ValueError(f"profiles[{name!r}] has values <= 0, which a log axis cannot show")
        ax.plot(np.arange(1, len(v) + 1), v, marker="o", ms=2.5, lw=1.2, color=f"C{i}", label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def excitation_profiles(stages: Mapping[str, Any], *, class_names: Sequence[str] | None = None,
                        title: str | None = None) -> Figure:
    """Mean SE gate value per channel, one line per class, one panel per stage (SENet Fig. 6).

    Args:
        stages: ``{stage name: array (classes, channels)}`` of average excitations.
        class_names: legend labels, one per class.
        title: figure title.

    Returns:
        The figure.
    """
    if not isinstance(stages, Mapping) or not stages:
        raise ValueError("stages must be a non-empty mapping of stage name -> (classes, channels) array")
    arrays = {k: _array(v, f"stages[{k!r}]", (2,)) for k, v in stages.items()}
    n_classes = {a.shape[0] for a in arrays.values()}
    if len(n_classes) != 1:
        raise ValueError(f"every stage must have the same number of classes (rows), got {sorted(n_classes)}")
    k = n_classes.pop()
    if class_names is not None and len(class_names) != k:
        raise ValueError(f"class_names must have one name per class ({k}), got {len(class_names)}")
    fig, axes = plt.subplots(1, len(arrays), figsize=(4.3 * len(arrays), 3.2), squeeze=False, sharey=True)
    for ax, (name, a) in zip(axes[0], arrays.items()):
        for c in range(k):
            ax.plot(np.arange(a.shape[1]), a[c], lw=1.0, color=f"C{c % 10}",
                    label=str(class_names[c]) if class_names is not None else str(c))
        ax.set_title(name)
        ax.set_xlabel("channel index")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean excitation")
    axes[0][-1].legend(fontsize=7, ncol=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def ratio_tradeoff(ratios, params, scores, *, baseline_params: float | None = None,
                   baseline_score: float | None = None, score_label: str = "test accuracy (%)",
                   title: str | None = None) -> Figure:
    """Reduction ratio r against parameter count (left) and a score (right), SENet Table 10 style.

    Args:
        ratios: the reduction ratios.
        params: parameter count of the network at each ratio.
        scores: the score at each ratio; shape (ratios,) or (seeds, ratios) (mean and spread).
        baseline_params: parameters of the network without SE (a dashed line).
        baseline_score: score without SE: a float, or an array of seeds (mean drawn).
        score_label: label of the score axis.
        title: figure title.

    Returns:
        The figure.
    """
    r = _array(ratios, "ratios", (1,)).astype(float)
    p = _array(params, "params", (1,)).astype(float)
    s = _array(scores, "scores", (1, 2)).astype(float)
    s = s[None] if s.ndim == 1 else s
    if len(p) != len(r) or s.shape[1] != len(r):
        raise ValueError(f"ratios, params and scores must have one value per ratio ({len(r)}), "
                         f"got params {p.shape} and scores {s.shape}")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8.4, 3.2))
    a1.plot(r, p, marker="o", color="C0")
    if baseline_params is not None:
        a1.axhline(float(baseline_params), color="gray", ls="--", lw=1, label="no SE")
        a1.legend(fontsize=8)
    a1.set_xscale("log", base=2)
    a1.set_xlabel("reduction ratio r")
    a1.set_ylabel("parameters")
    a2.errorbar(r, s.mean(axis=0), yerr=s.std(axis=0) if len(s) > 1 else None, marker="o", color="C1", capsize=3)
    if baseline_score is not None:
        a2.axhline(float(np.mean(baseline_score)), color="gray", ls="--", lw=1, label="no SE")
        a2.legend(fontsize=8)
    a2.set_xscale("log", base=2)
    a2.set_xlabel("reduction ratio r")
    a2.set_ylabel(score_label)
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig



# --------------------------------------------------------------------------------------------
# NASNet (chapter 7)
# --------------------------------------------------------------------------------------------


_NAS_OP_COLOURS = {"identity": "#d9d9d9", "sep3x3": "#8dd3c7", "sep5x5": "#80b1d3", "sep7x7": "#6a8fc7",
                   "avg3x3": "#fdb462", "max3x3": "#fb8072", "conv1x7_7x1": "#bebada"}


def search_rewards(results: Mapping[str, Any], *, reference: Mapping[str, float] | None = None,
                   title: str | None = None) -> Figure:
    """Reward of every child of one or more architecture searches, in the order they were trained.

    Args:
        results: strategy name -> :class:`cnnbook.nas.SearchResult` (or a sequence of rewards).
            Each is drawn as dots (one per child), a solid line (best so far) and, where the
            result has a REINFORCE controller, a dotted line (its moving-average baseline).
        reference: optional label -> value drawn as horizontal dashed lines (e.g. a median).
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError("results must be a non-empty mapping of name -> SearchResult or rewards")
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for k, (name, res) in enumerate(results.items()):
        history = getattr(res, "history", None)
        rewards = _array([t.reward for t in history] if history is not None else res, f"results[{name!r}]", (1,))
        steps = np.arange(1, len(rewards) + 1)
        c = f"C{k}"
        ax.plot(steps, rewards, "o", color=c, alpha=0.55, ms=5, label=f"{name}: child reward")
        ax.plot(steps, np.maximum.accumulate(rewards), "-", color=c, lw=2, label=f"{name}: best so far")
        if history is not None and any(t.baseline is not None for t in history):
            base = [np.nan if t.baseline is None else t.baseline for t in history]
            ax.plot(steps, base, ":", color=c, lw=1.5, label=f"{name}: baseline b")
    for j, (label, value) in enumerate((reference or {}).items()):
        ax.axhline(float(value), color="black", ls="--", lw=1, alpha=0.7)
        ax.text(0.5, float(value), f" {label}", va="bottom", fontsize=8)
    ax.set_xlabel("child network (order of training)")
    ax.set_ylabel("reward = validation accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, ncol=2, loc="lower right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def nas_cells(arch: Mapping[str, Any], *, cells: Sequence[str] = ("normal", "reduction"),
              title: str | None = None) -> Figure:
    """Draw the cells of an architecture as graphs.

    The two inputs ``h[k-2]`` and ``h[k-1]`` are on the left; each block is a column with its two
    operations (coloured boxes) feeding an addition (circle); block outputs that no other block
    reads are concatenated into the cell's output on the right.

    Args:
        arch: an architecture dict (see :mod:`cnnbook.nas`).
        cells: which cells to draw, one panel each: ``"normal"`` and/or ``"reduction"``.
    """
    from matplotlib.patches import Circle

    from cnnbook import nas

    arch = nas.validate(arch)
    if isinstance(cells, str) or not cells or any(c not in ("normal", "reduction") for c in cells):
        raise ValueError(f"cells must be a non-empty sequence of 'normal' / 'reduction', got {cells!r}")
    n_blocks = len(arch["normal"])
    fig, axes = plt.subplots(len(cells), 1, figsize=(2.2 * n_blocks + 3.6, 3.1 * len(cells)), squeeze=False)
    for ax, cell in zip(axes.flat, cells):
        blocks = arch[cell]
        pos = {0: (0.0, -1.0), 1: (0.0, 1.0)}  # hidden-state index -> where its node is
        for j in range(len(blocks)):
            pos[2 + j] = (3.0 * j + 3.6, 0.0)
        for i, label in ((0, "h[k-2]"), (1, "h[k-1]")):
            ax.add_patch(Rectangle((pos[i][0] - 0.55, pos[i][1] - 0.3), 1.1, 0.6, facecolor="white",
                                   edgecolor="black", lw=1))
            ax.text(*pos[i], label, ha="center", va="center", fontsize=9)
        for j, block in enumerate(blocks):
            add_xy = pos[2 + j]
            for s, (i, op) in enumerate(zip(block["inputs"], block["ops"])):
                box = (3.0 * j + 2.2, 1.0 if s == 0 else -1.0)
                label = op + (" /2" if cell == "reduction" and i < 2 else "")
                ax.add_patch(Rectangle((box[0] - 0.6, box[1] - 0.28), 1.2, 0.56,
                                       facecolor=_NAS_OP_COLOURS.get(op, "white"), edgecolor="black", lw=0.8))
                ax.text(*box, label, ha="center", va="center", fontsize=7.5)
                src = pos[i]
                start = (src[0] + (0.55 if i < 2 else 0.22), src[1])
                rad = 0.0 if abs(box[0] - src[0]) < 3.5 else (0.35 if box[1] > src[1] else -0.35)
                ax.add_patch(FancyArrowPatch(start, (box[0] - 0.6, box[1]), arrowstyle="->", mutation_scale=9,
                                             lw=0.8, connectionstyle=f"arc3,rad={rad}", color="0.3"))
                ax.add_patch(FancyArrowPatch((box[0] + 0.6, box[1]), (add_xy[0] - 0.22, add_xy[1]),
                                             arrowstyle="->", mutation_scale=9, lw=0.8, color="0.3"))
            ax.add_patch(Circle(add_xy, 0.22, facecolor="#ffffb3", edgecolor="black", lw=0.8))
            ax.text(*add_xy, "+", ha="center", va="center", fontsize=10)
        out = (3.0 * len(blocks) + 2.4, 0.0)
        ax.add_patch(Rectangle((out[0] - 0.55, -0.3), 1.1, 0.6, facecolor="#ccebc5", edgecolor="black", lw=1))
        ax.text(*out, "concat", ha="center", va="center", fontsize=9)
        for i in nas._loose_ends(blocks):
            src = pos[i]
            ax.add_patch(FancyArrowPatch((src[0] + 0.22, src[1]), (out[0] - 0.55, 0.0), arrowstyle="->",
                                         mutation_scale=9, lw=1.0, connectionstyle="arc3,rad=-0.25"
                                         if out[0] - src[0] > 3.5 else "arc3,rad=0", color="black"))
        ax.set_xlim(-0.8, out[0] + 0.8)
        ax.set_ylim(-1.9, 1.9)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"{cell} cell" + (" (ops on h[k-2], h[k-1] use stride 2)" if cell == "reduction" else ""),
                     fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def activation_curves(x, curves: Mapping[str, Any], *, title: str | None = None) -> Figure:
    """Activation functions on one axis, e.g. ReLU against Swish ``x * sigmoid(beta * x)``.

    Args:
        x: input values (1-D).
        curves: label -> y values (same length as ``x``).
    """
    xs = _array(x, "x", (1,))
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty mapping of label -> values")
    fig, ax = plt.subplots(figsize=(5.5, 3.3))
    for label, ys in curves.items():
        ys = _array(ys, f"curves[{label!r}]", (1,))
        if len(ys) != len(xs):
            raise ValueError(f"curves[{label!r}] has {len(ys)} values but x has {len(xs)}")
        ax.plot(xs, ys, label=label)
    ax.axhline(0, color="black", lw=0.5)
    ax.axvline(0, color="black", lw=0.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
