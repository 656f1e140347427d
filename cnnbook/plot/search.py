"""Architecture search: rewards of a search, NASNet cells, activation functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from cnnbook.plot._base import COLUMN_WIDTH_IN, DPI, MIN_FONT_PT, _array, _cells, _figure, _fmt_value, _grid, _normalise, _positive_int, _show, _small_matrix, check_legible  # noqa: F401


__all__ = ['search_rewards', 'nas_cells', 'activation_curves']


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
