"""Arrays shown as images: grids of images, filters and feature maps, matrices, channels, bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cnnbook.plot._base import COLUMN_WIDTH_IN, DPI, MIN_FONT_PT, _array, _cells, _figure, _fmt_value, _grid, _normalise, _positive_int, _show, _small_matrix, check_legible  # noqa: F401


__all__ = ['image_grid', 'filters', 'feature_maps', 'matrices', 'channels', 'tuning_curve', 'flatten_diagram', 'filter_responses', 'bars']


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
