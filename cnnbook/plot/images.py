"""Arrays shown as images: grids of images, filters and feature maps, matrices, channels, bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cnnbook.plot._base import COLUMN_WIDTH_IN, DPI, MIN_FONT_PT, _array, _cells, _figure, _fmt_value, _grid, _normalise, _positive_int, _show, _small_matrix, check_legible  # noqa: F401


__all__ = ['image_grid', 'filters', 'feature_maps', 'matrices', 'channels', 'tuning_curve', 'flatten_diagram', 'filter_responses', 'bars']


def _blank(width: float, height: float) -> Figure:
    """An empty figure at the book's resolution, at most the column wide (via ``_figure``)."""
    fig, ax = _figure(width, height)
    ax.remove()
    return fig


def image_grid(
    images,
    labels=None,
    *,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    title: str | None = None,
    cmap: str = "gray",
) -> Figure:
    """A grid of images (N, H, W), (N, H, W, 1) or (N, H, W, 3), optionally titled by label.

    The grid is at most the column wide (:data:`COLUMN_WIDTH_IN`); labels are drawn at
    :data:`MIN_FONT_PT`.
    """
    imgs = _array(images, "images", (3, 4))
    if imgs.ndim == 4 and imgs.shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels (last axis), got shape {imgs.shape}")
    ncols = _positive_int(ncols, "ncols")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape[0] != imgs.shape[0]:
            raise ValueError(f"labels must have one entry per image ({imgs.shape[0]}), got {labels.shape[0]}")
    cols = min(ncols, len(imgs))
    rows = -(-len(imgs) // cols)
    cell = min(1.2, COLUMN_WIDTH_IN / cols)
    aspect = imgs.shape[1] / imgs.shape[2]
    label_h = 0.3 if labels is not None else 0.08
    fig, axes = _figure(cell * cols, (cell * aspect + label_h) * rows + (0.4 if title else 0.0),
                        nrows=rows, ncols=cols, squeeze=False)
    axes = list(axes.flat)
    for ax in axes[len(imgs):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    for i, ax in enumerate(axes):
        if i >= len(imgs):
            break
        _show(ax, imgs[i], cmap=cmap)
        if labels is not None:
            lab = labels[i]
            ax.set_title(class_names[int(lab)] if class_names is not None else str(lab), fontsize=MIN_FONT_PT)
    fig.tight_layout()
    return check_legible(fig)


def filters(kernels, *, ncols: int = 8, title: str | None = None,
            titles: Sequence[str] | None = None) -> Figure:
    """First-layer convolution kernels, shape (kh, kw, C_in, C_out), one panel per output filter.

    RGB kernels (C_in = 3) are drawn in colour, others as their first input channel; every
    panel is rescaled to its own min..max, so the pattern (not the magnitude) shows. Panels are
    0.85 in wide (smaller only if ``ncols`` of them would not fit the column). ``titles``
    (one short string per filter, e.g. a measured property) is written above the panels.
    """
    k = _array(kernels, "kernels", (4,))
    ncols = _positive_int(ncols, "ncols")
    n = k.shape[-1]
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles must have one entry per filter ({n}), got {len(titles)}")
    cols = min(ncols, n)
    rows = -(-n // cols)
    cell = min(0.85, COLUMN_WIDTH_IN / cols)
    fig, axes = _figure(cell * cols, (cell + (0.28 if titles is not None else 0.05)) * rows
                        + (0.4 if title else 0.0), nrows=rows, ncols=cols, squeeze=False)
    axes = list(axes.flat)
    for ax in axes[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    for i, ax in enumerate(axes):
        if i >= n:
            break
        w = k[..., i]
        _show(ax, w if w.shape[-1] == 3 else w[..., 0], cmap="gray", normalise=True)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=MIN_FONT_PT)
    fig.tight_layout()
    return check_legible(fig)


def feature_maps(maps, *, max_maps: int = 16, ncols: int = 8, title: str | None = None,
                 cmap: str = "viridis", image=None, titles: Sequence[str] | None = None) -> Figure:
    """Channels of one feature map, shape (H, W, C) or (1, H, W, C), each as its own panel.

    Args:
        maps: the feature map.
        max_maps: draw at most this many channels (the first ones).
        ncols: panels per row.
        title: figure title.
        cmap: colour map of the maps (each panel scaled to its own range).
        image: optional input image (H', W') or (H', W', 1|3), drawn first, titled "input".
        titles: optional one title per drawn map.
    """
    m = _array(maps, "maps", (3, 4))
    if m.ndim == 4:
        if m.shape[0] != 1:
            raise ValueError(f"maps must hold one image (1, H, W, C), got batch of {m.shape[0]}")
        m = m[0]
    n = min(m.shape[-1], _positive_int(max_maps, "max_maps"))
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles must have one entry per drawn map ({n}), got {len(titles)}")
    extra = 0 if image is None else 1
    if image is not None:
        image = _array(image, "image", (2, 3))
    ncols = _positive_int(ncols, "ncols")
    aspect = m.shape[0] / m.shape[1]
    cols = min(ncols, n + extra)
    cell = min(3.4, COLUMN_WIDTH_IN / cols)
    rows = -(-(n + extra) // cols)
    head = 0.3 if titles is not None or image is not None else 0.12
    fig, axes = _figure(cell * cols, (cell * aspect + head) * rows + (0.35 if title else 0.05),
                        nrows=rows, ncols=cols, squeeze=False)
    axes = list(axes.flat)
    for ax in axes[n + extra:]:
        ax.axis("off")
    if image is not None:
        _show(axes[0], image)
        axes[0].set_title("input", fontsize=MIN_FONT_PT)
    for i in range(n):
        ax = axes[i + extra]
        _show(ax, m[..., i], cmap=cmap, normalise=True)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=MIN_FONT_PT)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return check_legible(fig)


def bars(values: Mapping[str, float], *, ylabel: str = "", log: bool = False, title: str | None = None,
         fmt: str = "{:,.0f}", horizontal: bool = False) -> Figure:
    """A labelled bar chart of a few named numbers (parameter counts, accuracies, ...).

    ``horizontal=True`` draws one bar per row at the column width, the label on the left and the
    value at the bar's end, so long or many labels stay legible (``ylabel`` then names the x axis).
    """
    if not isinstance(values, Mapping) or not values:
        raise ValueError("values must be a non-empty mapping of label -> number")
    names = list(values)
    try:
        vals = np.array([float(values[k]) for k in names])
    except (TypeError, ValueError):
        raise ValueError("values must map labels to numbers") from None
    if horizontal:
        return _hbars(names, vals, xlabel=ylabel, log=log, title=title, fmt=fmt)
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
        fig = _blank(COLUMN_WIDTH_IN, 3.4 if title else 3.1)
        gs = fig.add_gridspec(2, len(a), height_ratios=[1, 2.4])
        for i in range(len(a)):
            _show(fig.add_subplot(gs[0, i]), s[i])
        ax = fig.add_subplot(gs[1, :])
    else:
        fig, ax = _figure(6, 3)
    ax.plot(a, r, "o-")
    ax.set_xlabel("bar orientation (degrees)")
    ax.set_ylabel("response")
    ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return check_legible(fig)


def flatten_diagram(image, *, max_values: int = 12, highlight: Sequence[tuple[int, int]] = ()) -> Figure:
    """An image with its pixel values, and the same values as the 1-D vector a dense layer sees.

    Args:
        image: a small 2-D array (H, W), e.g. 6x6; each cell is annotated with its value.
        max_values: how many leading entries of the flattened vector to draw.
        highlight: (row, col) pixels framed in red in both panels, e.g. two vertical neighbours.
    """
    from matplotlib.patches import Rectangle

    img = _array(image, "image", (2,))
    if img.shape[0] > 12 or img.shape[1] > 12:
        raise ValueError(f"image must be at most 12x12 so its numbers stay readable, got {img.shape}")
    max_values = _positive_int(max_values, "max_values")
    marks = [tuple(int(v) for v in p) for p in highlight]
    for p in marks:
        if len(p) != 2 or not (0 <= p[0] < img.shape[0] and 0 <= p[1] < img.shape[1]):
            raise ValueError(f"highlight must hold (row, col) pixels inside the image {img.shape}, got {p}")
    flat = img.reshape(-1)
    n = min(max_values, flat.size)
    h, w = img.shape
    cell_img = min(0.3, 2.4 / max(h, w))
    avail = COLUMN_WIDTH_IN - cell_img * w - 0.5
    cell_vec = min(0.45, avail / n)
    fig = _blank(COLUMN_WIDTH_IN, max(cell_img * h + 0.6, 2.2))
    gs = fig.add_gridspec(1, 2, width_ratios=[cell_img * w, cell_vec * n], wspace=0.08)
    ax = fig.add_subplot(gs[0])
    lo, hi = float(img.min()), float(img.max())
    ax.imshow(img, cmap="Greys", vmin=lo, vmax=hi if hi > lo else lo + 1)
    for (i, j), v in np.ndenumerate(img):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=MIN_FONT_PT,
                color="white" if v > (hi + lo) / 2 else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"image {h}x{w}")
    ax2 = fig.add_subplot(gs[1])
    ax2.imshow(flat[None, :n], cmap="Greys", vmin=lo, vmax=hi if hi > lo else lo + 1)
    for k in range(n):
        ax2.text(k, 0, f"{flat[k]:g}", ha="center", va="center", fontsize=MIN_FONT_PT,
                 color="white" if flat[k] > (hi + lo) / 2 else "black")
        r, c = divmod(k, w)
        ax2.text(k, 0.62, f"({r},{c})", ha="center", va="top", fontsize=MIN_FONT_PT, rotation=90,
                 color="C3" if (r, c) in marks else "0.35")
    for r, c in marks:
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="C3", lw=2))
        k = r * w + c
        if k < n:
            ax2.add_patch(Rectangle((k - 0.5, -0.5), 1, 1, fill=False, edgecolor="C3", lw=2))
    ax2.set_ylim(2.0, -0.5)
    ax2.axis("off")
    ax2.set_title(f"flattened: {flat.size} values in a row\n(first {n} shown, with their (row, col))",
                  fontsize=10)
    fig.subplots_adjust(left=0.02, right=0.99, top=0.86, bottom=0.03)
    return check_legible(fig)


def matrices(arrays: Mapping[str, Any], *, cmap: str = "Blues", title: str | None = None) -> Figure:
    """Small 2-D arrays side by side, with their numbers in the cells (kernels, outputs, ...)."""
    if not isinstance(arrays, Mapping) or not arrays:
        raise ValueError("arrays must be a non-empty mapping of caption -> 2-D array")
    mats = {k: _small_matrix(v, f"arrays[{k!r}]") for k, v in arrays.items()}
    widths = [max(m.shape[1], 2) for m in mats.values()]
    height = max(m.shape[0] for m in mats.values())
    fig, axes = _figure(0.42 * sum(widths) + 0.6 * len(mats), 0.42 * height + 0.9 + (0.3 if title else 0),
                        ncols=len(mats), squeeze=False, gridspec_kw={"width_ratios": widths})
    for ax, width, (name, m) in zip(axes.flat, widths, mats.items()):
        _cells(ax, m, cmap=cmap, title=name, box=(width, height), fontsize=MIN_FONT_PT)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return check_legible(fig)


def channels(image, *, title: str | None = None) -> Figure:
    """A colour photo, its red, green and blue channels, and the one-channel grayscale version.

    Each channel is drawn from black (0) to its pure colour (1), so bright means "a lot of it".
    The five panels share one row of the column; the size is stated once, above them.

    Args:
        image: (H, W, 3), uint8 or float in [0, 1].
        title: figure title (default: the image size).
    """
    img = _array(image, "image", (3,))
    if img.shape[-1] != 3:
        raise ValueError(f"image must have 3 channels (H, W, 3), got shape {img.shape}")
    f = img.astype(np.float32) / (255.0 if img.dtype.kind in "ui" else 1.0)
    gray = f @ np.array([0.2989, 0.5870, 0.1140], np.float32)  # ITU-R 601 luma, as tf.image.rgb_to_grayscale
    panel = COLUMN_WIDTH_IN / 5
    fig, axes = _figure(COLUMN_WIDTH_IN, panel * img.shape[0] / img.shape[1] + 0.75, ncols=5)
    _show(axes[0], f)
    axes[0].set_title("RGB: 3 channels", fontsize=MIN_FONT_PT)
    from matplotlib.colors import LinearSegmentedColormap

    for c, (name, colour) in enumerate((("R", "red"), ("G", "lime"), ("B", "blue"))):
        # black (0) -> pure colour (1): bright where the channel is high
        cmap = LinearSegmentedColormap.from_list(f"black_{name}", ["black", colour])
        axes[c + 1].imshow(f[..., c], cmap=cmap, vmin=0, vmax=1)
        axes[c + 1].set_xticks([])
        axes[c + 1].set_yticks([])
        axes[c + 1].set_title(f"channel {c}: {name}", fontsize=MIN_FONT_PT)
    _show(axes[4], gray)
    axes[4].set_title("grayscale: 1", fontsize=MIN_FONT_PT)
    fig.suptitle(title or f"a {img.shape[0]}x{img.shape[1]} photo, channel by channel", fontsize=10)
    fig.tight_layout()
    return check_legible(fig)


def filter_responses(image, kernels: Mapping[str, Any], responses: Mapping[str, Any]) -> Figure:
    """Hand-made kernels (with their numbers) above what each one makes of the same image.

    The input is drawn first, under a legend of the two rows; kernels of up to 3x3 keep their
    numbers at :data:`MIN_FONT_PT` when five of them share the column.

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
    panel = min(1.6, COLUMN_WIDTH_IN / (n + 1))
    fig = _blank(panel * (n + 1), panel * 2 + 0.55)
    gs = fig.add_gridspec(2, n + 1, height_ratios=[1, 1])
    ax = fig.add_subplot(gs[0, 0])
    ax.axis("off")
    ax.text(0.5, 0.5, "top: the\nkernel\n\nbottom:\nits response", ha="center", va="center",
            fontsize=MIN_FONT_PT, transform=ax.transAxes)
    ax = fig.add_subplot(gs[1, 0])
    _show(ax, img)
    ax.set_title("input", fontsize=MIN_FONT_PT)
    for k, name in enumerate(kernels):
        kern = _small_matrix(kernels[name], f"kernels[{name!r}]", 7)
        _cells(fig.add_subplot(gs[0, k + 1]), kern, cmap="Oranges", title=name,
               fontsize=MIN_FONT_PT, box=(3.2, 3.2))
        r = _array(responses[name], f"responses[{name!r}]", (2,))
        ax = fig.add_subplot(gs[1, k + 1])
        ax.imshow(r, cmap="gray", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.subplots_adjust(left=0.01, right=0.99, top=0.9, bottom=0.01, wspace=0.08, hspace=0.25)
    return check_legible(fig)


def _hbars(names: Sequence[str], vals: np.ndarray, *, xlabel: str, log: bool, title: str | None,
           fmt: str) -> Figure:
    """Horizontal bars at the column width: ``bars(..., horizontal=True)``."""
    n = len(names)
    fig, ax = _figure(COLUMN_WIDTH_IN, 0.9 + 0.3 * n + (0.3 if title else 0) + (0.3 if xlabel else 0))
    y = np.arange(n)
    ax.barh(y, vals, color=[f"C{i % 10}" for i in range(n)], height=0.7)
    ax.set_yticks(y, [str(k) for k in names])
    ax.invert_yaxis()
    for i, v in enumerate(vals):
        ax.text(v, i, " " + fmt.format(v), ha="left", va="center", fontsize=MIN_FONT_PT)
    if log:
        ax.set_xscale("log")
        lo = float(np.min(vals[vals > 0])) if np.any(vals > 0) else 1.0
        ax.set_xlim(lo / 2, float(np.max(vals)) * 2.5)
    else:
        hi = float(np.max(vals))
        ax.set_xlim(min(0.0, float(np.min(vals))), hi * 1.18 if hi > 0 else 1.0)
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return check_legible(fig)
