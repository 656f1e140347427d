"""What training does: histories, filters and feature maps across epochs, curves, per-layer profiles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cnnbook.plot._base import COLUMN_WIDTH_IN, DPI, MIN_FONT_PT, _array, _cells, _figure, _fmt_value, _grid, _normalise, _positive_int, _show, _small_matrix, check_legible  # noqa: F401


__all__ = ['history', 'training_snapshots', 'filters_over_epochs', 'feature_maps_over_epochs', 'confusion_matrix', 'training_curves', 'layer_profiles']


def history(histories: Mapping[str, Any], *, metrics: Sequence[str] = ("loss", "accuracy"),
            validation: bool = True, title: str | None = None) -> Figure:
    """Per-epoch curves of one or more runs, one panel per metric, legend below the panels.

    Args:
        histories: run name -> ``keras.callbacks.History`` or its ``.history`` dict.
        metrics: metric keys to draw, one panel each; ``val_<metric>`` is drawn dashed when present.
        validation: draw the ``val_`` curves.
        title: figure title.

    Returns:
        The figure, at most :data:`COLUMN_WIDTH_IN` wide.
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("histories must be a non-empty mapping of run name -> History or dict")
    if isinstance(metrics, str) or not isinstance(metrics, Sequence) or not metrics:
        raise ValueError(f"metrics must be a non-empty sequence of metric names, got {metrics!r}")
    runs = {}
    for name, h in histories.items():
        d = getattr(h, "history", h)
        if not isinstance(d, Mapping):
            raise ValueError(f"histories[{name!r}] must be a keras History or a dict of lists")
        runs[name] = d
    for m in metrics:
        if not any(m in d for d in runs.values()):
            raise ValueError(f"metrics: no run has {m!r}; keys are {sorted(next(iter(runs.values())))}")
    n = len(metrics)
    fig, axes = _figure(3.5 * n, 3.1 + (0.3 if title else 0), nrows=1, ncols=n, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    handles: dict[str, Any] = {}
    for ax, m in zip(axes.flat, metrics):
        for i, (name, d) in enumerate(runs.items()):
            c = colours[i % len(colours)]
            if m in d:
                ep = np.arange(1, len(d[m]) + 1)
                (line,) = ax.plot(ep, d[m], color=c, marker="o", ms=3, lw=1.4)
                handles.setdefault(f"{name} (training)", line)
            if validation and f"val_{m}" in d:
                ep = np.arange(1, len(d[f"val_{m}"]) + 1)
                (line,) = ax.plot(ep, d[f"val_{m}"], color=c, ls="--", marker="s", ms=3, lw=1.4)
                handles.setdefault(f"{name} (validation)", line)
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=min(len(handles), 4),
               frameon=False, bbox_to_anchor=(0.5, 0.0))
    rows = int(np.ceil(len(handles) / 4))
    fig.tight_layout(rect=(0, 0.07 * rows + 0.02, 1, 1))
    return check_legible(fig)


def training_snapshots(kernels: Mapping[str, Any], maps: Mapping[str, Any], *, max_filters: int = 8) -> Figure:
    """First-layer filters and the feature maps of one image at several points of training.

    Args:
        kernels: stage name -> first-layer kernel (kh, kw, 1, C) (``layer.kernel``).
        maps: stage name -> that layer's output for one image, (H, W, C) or (1, H, W, C).
        max_filters: how many filters (columns) to draw.

    Returns:
        The figure: two rows per stage (filters in grey, their feature maps in colour).
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
    fig, axes = _panel_grid(2 * len(stages), n, cell=0.75, left=0.75, right=0.1, top=0.1, bottom=0.1)
    for r, s in enumerate(stages):
        for f in range(n):
            _show(axes[2 * r, f], ks[s][:, :, 0, f], cmap="gray", normalise=True)
            _show(axes[2 * r + 1, f], ms[s][:, :, f], cmap="viridis", normalise=True)
        axes[2 * r, 0].set_ylabel(f"{s}\nfilters")
        axes[2 * r + 1, 0].set_ylabel("feature\nmaps")
    return check_legible(fig)


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


def _panel_grid(rows: int, cols: int, *, cell: float, left: float, right: float, top: float,
                bottom: float, gap: float = 0.12):
    """A rows x cols grid of square panels laid out by hand (fast; no layout engine).

    Margins are in inches; ``cell`` is the preferred panel side, shrunk to fit the column.
    Returns ``(fig, axes)`` with ``axes`` of shape (rows, cols).
    """
    cell = min(cell, (COLUMN_WIDTH_IN - left - right - gap * (cols - 1)) / cols)
    width = left + right + cols * cell + gap * (cols - 1)
    height = top + bottom + rows * cell + gap * (rows - 1)
    fig, axes = _figure(width, height, nrows=rows, ncols=cols, squeeze=False)
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height,
                        bottom=bottom / height, wspace=gap / cell, hspace=gap / cell)
    return fig, axes


def _column_titles(fig: Figure, axes, labels: Sequence[str], short: Sequence[str], what: str) -> bool:
    """Title the top row with ``labels``, or with ``short`` and one ``what`` label if cells are narrow.

    Returns whether the short labels (and the ``what`` label below the grid) were used.
    """
    pos = axes[0][0].get_position()
    cell_in = pos.width * fig.get_figwidth()
    wide = cell_in >= 0.085 * max(len(s) for s in labels) + 0.05
    for ax, text in zip(axes[0], labels if wide else short):
        ax.set_title(text, pad=3)
    if not wide:
        fig.text(0.5 * (axes[-1][0].get_position().x0 + axes[-1][-1].get_position().x1), 0.02, what,
                 ha="center", va="bottom")
    return not wide


def filters_over_epochs(snapshots: Mapping[int, Any], *, max_filters: int = 8, title: str | None = None) -> Figure:
    """First-layer kernels at several epochs: one row per epoch, one column per filter.

    Args:
        snapshots: epoch -> kernels (kh, kw, C_in, C_out), e.g. ``Snapshots.kernels`` of
            :class:`cnnbook.train.Snapshots`; epoch 0 is the initialisation.
        max_filters: draw the first this many filters.
        title: figure title.

    Returns:
        The figure. All panels share one diverging colour scale (blue negative, red positive,
        shown by the colour bar), so the reader sees both the pattern and the weights growing
        away from their random start. Only the first input channel of each kernel is drawn.
    """
    snaps = _epoch_snapshots(snapshots, "snapshots", (4,))
    n = min(snaps[0][1].shape[-1], _positive_int(max_filters, "max_filters"))
    vmax = max(float(np.abs(k[..., :n]).max()) for _, k in snaps) or 1.0
    rows = len(snaps)
    fig, axes = _panel_grid(rows, n, cell=0.5, left=0.8, right=0.85, top=0.3 + (0.3 if title else 0),
                            bottom=0.35)
    image = None
    for r, (epoch, k) in enumerate(snaps):
        for c in range(n):
            ax = axes[r, c]
            image = ax.imshow(k[:, :, 0, c], cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(f"epoch {epoch}", rotation=0, ha="right", va="center")
    _column_titles(fig, axes, [f"filter {c}" for c in range(n)], [str(c) for c in range(n)], "filter")
    top, bottom = axes[0][-1].get_position().y1, axes[-1][-1].get_position().y0
    x1 = axes[0][-1].get_position().x1
    cax = fig.add_axes((x1 + 0.1 / fig.get_figwidth(), bottom, 0.12 / fig.get_figwidth(), top - bottom))
    fig.colorbar(image, cax=cax, label="weight")
    if title:
        fig.suptitle(title, y=1 - 0.08 / fig.get_figheight(), va="top")
    return check_legible(fig)


def feature_maps_over_epochs(maps: Mapping[int, Any], *, image=None, max_maps: int = 8,
                             title: str | None = None, cmap: str = "viridis") -> Figure:
    """One image's feature maps at several epochs: one row per epoch, one column per channel.

    Args:
        maps: epoch -> feature maps (H, W, C) or (1, H, W, C) of the same image, e.g.
            ``Snapshots.maps`` of :class:`cnnbook.train.Snapshots`.
        image: the input image (H, W) or (H, W, C), drawn in a first column.
        max_maps: draw the first this many channels.
        title: figure title.
        cmap: colour map of the feature maps (each panel scaled to its own min..max).

    Returns:
        The figure.
    """
    snaps = _epoch_snapshots(maps, "maps", (3, 4))
    if snaps[0][1].ndim == 4:
        if snaps[0][1].shape[0] != 1:
            raise ValueError(f"maps must hold one image (1, H, W, C), got a batch of {snaps[0][1].shape[0]}")
        snaps = [(e, m[0]) for e, m in snaps]
    img = None if image is None else _array(image, "image", (2, 3))
    n = min(snaps[0][1].shape[-1], _positive_int(max_maps, "max_maps"))
    extra = 0 if img is None else 1
    rows = len(snaps)
    cols = n + extra
    fits = (COLUMN_WIDTH_IN - 0.9 - 0.12 * (cols - 1)) / cols >= 0.085 * len(f"map {n - 1}") + 0.05
    fig, axes = _panel_grid(rows, cols, cell=0.72, left=0.8, right=0.1, top=0.3 + (0.3 if title else 0),
                            bottom=0.1 if fits else 0.35)
    for r, (epoch, m) in enumerate(snaps):
        if img is not None:
            _show(axes[r, 0], img)
        for c in range(n):
            _show(axes[r, c + extra], m[..., c], cmap=cmap, normalise=True)
        axes[r, 0].set_ylabel(f"epoch {epoch}", rotation=0, ha="right", va="center")
    labels = (["input"] if img is not None else []) + [f"map {c}" for c in range(n)]
    short = (["input"] if img is not None else []) + [str(c) for c in range(n)]
    _column_titles(fig, axes, labels, short, "feature map (channel)")
    if title:
        fig.suptitle(title, y=1 - 0.08 / fig.get_figheight(), va="top")
    return check_legible(fig)


def confusion_matrix(y_true, y_pred, *, classes: int | None = None, title: str | None = None) -> Figure:
    """Counts of (true class, predicted class) pairs, true classes as rows, each count written in.

    Args:
        y_true: integer class labels, shape (N,).
        y_pred: predicted class labels, shape (N,).
        classes: number of classes (default: one more than the largest label seen).
        title: axes title.

    Returns:
        The figure (square cells, counts in black on light cells and white on dark ones).
    """
    t = _array(y_true, "y_true", (1,))
    p = _array(y_pred, "y_pred", (1,))
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape} and {p.shape}")
    for a, arg in ((t, "y_true"), (p, "y_pred")):
        if not np.all(a == np.round(a)) or a.min() < 0:
            raise ValueError(f"{arg} must hold class indices (non-negative integers)")
    t, p = t.astype(int), p.astype(int)
    k = int(max(t.max(), p.max())) + 1 if classes is None else _positive_int(classes, "classes")
    if max(t.max(), p.max()) >= k:
        raise ValueError(f"labels must lie in 0..{k - 1} for classes={k}, got up to {max(t.max(), p.max())}")
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (t, p), 1)
    side = min(COLUMN_WIDTH_IN - 1.0, 0.42 * k + 1.0)
    fig, ax = _figure(side + 0.3, side + (0.3 if title else 0))
    ax.imshow(counts, cmap="Blues", interpolation="nearest")
    top = counts.max() or 1
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=MIN_FONT_PT,
                        color="white" if counts[i, j] > 0.55 * top else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return check_legible(fig)


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

    Each run is drawn as the mean over its seeds (thick) and every seed (thin, same colour). The
    figure is as wide as the text column (one panel: about two thirds of it); each panel's legend
    sits below it, outside the data.

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
    curves = []
    for panel, names in groups.items():
        if isinstance(names, str) or not isinstance(names, Sequence) or not names:
            raise ValueError(f"groups[{panel!r}] must be a non-empty list of run names")
        curves.append((panel, _runs(runs, names, key)))
    n = len(curves)
    most = max(len(c) for _, c in curves)
    ncol = 2 if n > 1 else min(most, 3)
    legend_rows = -(-most // ncol)
    width = COLUMN_WIDTH_IN if n > 1 else 4.8
    fig, axes = _figure(width, 2.6 + 0.22 * legend_rows + (0.3 if title else 0), nrows=1, ncols=n,
                        squeeze=False, sharey=True, layout="constrained")
    scale = 100.0 if percent else 1.0
    for ax, (panel, panel_runs) in zip(axes[0], curves):
        for i, (name, (steps, values)) in enumerate(panel_runs.items()):  # same colours in every panel
            for row in values:
                ax.plot(steps, row * scale, color=f"C{i}", lw=0.7, alpha=0.45)
            ax.plot(steps, values.mean(axis=0) * scale, color=f"C{i}", lw=2.0, label=name)
        ax.set_xlabel("iteration")
        if panel:
            ax.set_title(panel)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol, frameon=False,
                  handlelength=1.5, columnspacing=1.0)
        ax.grid(alpha=0.3)
        if log:
            ax.set_yscale("log")
    axes[0][0].set_ylabel(ylabel)
    if title:
        fig.suptitle(title)
    return check_legible(fig)


def layer_profiles(profiles: Mapping[str, Any], *, ylabel: str, log: bool = True, title: str | None = None,
                   xlabel: str = "layer (input → output)") -> Figure:
    """One line per network of a per-layer quantity (gradient norm, activation spread, ...).

    Drawn at the text column's width; the legend sits below the axes, outside the data.

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
    lines = []
    for name, values in profiles.items():
        vals = list(values.values()) if isinstance(values, Mapping) else values
        v = _array(vals, f"profiles[{name!r}]", (1,)).astype(float)
        if log and np.any(v <= 0):
            raise ValueError(f"profiles[{name!r}] has values <= 0, which a log axis cannot show")
        lines.append((str(name), v))
    ncol = min(len(lines), 2)
    rows = -(-len(lines) // ncol)
    fig, ax = _figure(COLUMN_WIDTH_IN, 2.7 + 0.22 * rows + (0.3 if title else 0), layout="constrained")
    for i, (name, v) in enumerate(lines):
        ax.plot(np.arange(1, len(v) + 1), v, marker="o", ms=2.5, lw=1.2, color=f"C{i}", label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol, frameon=False)
    if title:
        ax.set_title(title)
    return check_legible(fig)
