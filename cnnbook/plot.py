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


# --------------------------------------------------------------------------------------------
# Terminology (chapter 2)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# TensorFlow and Keras basics (chapters 3-4)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Datasets and pretrained models (chapter 5)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# ResNet and SENet (chapters 6 and 8)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# NASNet (chapter 7)
# --------------------------------------------------------------------------------------------
