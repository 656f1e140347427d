"""What training does: histories, filters and feature maps across epochs, curves, per-layer profiles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cnnbook.plot._base import COLUMN_WIDTH_IN, DPI, MIN_FONT_PT, _array, _cells, _figure, _fmt_value, _grid, _normalise, _positive_int, _show, _small_matrix, check_legible  # noqa: F401


__all__ = ['history', 'training_snapshots', 'filters_over_epochs', 'feature_maps_over_epochs', 'training_curves', 'layer_profiles']


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
