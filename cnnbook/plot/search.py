"""Architecture search: rewards of a search, NASNet cells, activation functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

from cnnbook.plot._base import COLUMN_WIDTH_IN, MIN_FONT_PT, _array, _figure, check_legible

__all__ = ["search_rewards", "nas_cells", "activation_curves"]


_NAS_OP_COLOURS = {"identity": "#e0e0e0", "sep3x3": "#8dd3c7", "sep5x5": "#80b1d3",
                   "sep7x7": "#9bb4dd", "avg3x3": "#fdb462", "max3x3": "#fb8072",
                   "conv1x7_7x1": "#bebada"}
_NAS_OP_LABELS = {"identity": "identity", "sep3x3": "sep 3×3", "sep5x5": "sep 5×5",
                  "sep7x7": "sep 7×7", "avg3x3": "avg 3×3", "max3x3": "max 3×3",
                  "conv1x7_7x1": "1×7, 7×1"}


def search_rewards(results: Mapping[str, Any], *, reference: Mapping[str, float] | None = None,
                   title: str | None = None) -> Figure:
    """Reward of every child of one or more architecture searches, in the order they were trained.

    Args:
        results: strategy name -> :class:`cnnbook.nas.SearchResult` (or a sequence of rewards).
            Each is drawn as dots (one per child), a solid line (best so far) and, where the
            result has a REINFORCE controller, a dotted line (its moving-average baseline).
        reference: optional label -> value drawn as horizontal dashed lines (e.g. a median).
        title: optional title.

    The legend sits below the axes, so it never covers a dot.
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError("results must be a non-empty mapping of name -> SearchResult or rewards")
    if reference is not None and not isinstance(reference, Mapping):
        raise ValueError("reference must be a mapping of label -> value, or None")
    fig, ax = _figure(COLUMN_WIDTH_IN, 4.1)
    markers = "os^D"
    longest = 1
    handles, labels, rows = [], [], 0
    for k, (name, res) in enumerate(results.items()):
        history = getattr(res, "history", None)
        values = [t.reward for t in history] if history is not None else res
        rewards = _array(values, f"results[{name!r}]", (1,))
        steps = np.arange(1, len(rewards) + 1)
        longest = max(longest, len(rewards))
        c = f"C{k}"
        mine = [ax.plot(steps, rewards, markers[k % 4], color=c, alpha=0.6, ms=5)[0],
                ax.plot(steps, np.maximum.accumulate(rewards), "-", color=c, lw=2)[0]]
        names = [f"{name}: child", f"{name}: best so far"]
        if history is not None and any(t.baseline is not None for t in history):
            base = [np.nan if t.baseline is None else t.baseline for t in history]
            mine.append(ax.plot(steps, base, ":", color=c, lw=1.8)[0])
            names.append(f"{name}: baseline b")
        handles.append(mine)
        labels.append(names)
        rows = max(rows, len(mine))
    refs = [ax.axhline(float(value), color="black", ls="--", lw=1, alpha=0.7)
            for value in (reference or {}).values()]
    if refs:
        handles.append(refs)
        labels.append(list(reference))
        rows = max(rows, len(refs))
    ax.set_xlim(0.5, longest + 0.5)
    ax.set_xlabel("child network (order of training)")
    ax.set_ylabel("reward (val. accuracy)")
    ax.grid(alpha=0.3)
    blank = Line2D([], [], lw=0)
    flat_h = [h for hs in handles for h in hs + [blank] * (rows - len(hs))]
    flat_l = [s for ls in labels for s in ls + [" "] * (rows - len(ls))]
    ax.legend(flat_h, flat_l, loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncol=min(len(handles), 3), frameon=False, fontsize=MIN_FONT_PT)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return check_legible(fig)


def _cell_layout(blocks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Where each piece of a cell drawing goes, in inches (1 data unit = 1 inch)."""
    from cnnbook import nas

    n = len(blocks)
    read = {i for b in blocks for i in b["inputs"] if i >= 2}
    ends = nas.loose_ends(blocks)
    bus_x = {0: 0.18, 1: 0.42}
    for i in sorted(read):
        bus_x[i] = 0.66 + 0.22 * len([k for k in bus_x if k >= 2])
    op_x = max(bus_x.values()) + 0.32      # left edge of the operation boxes
    dy, gap = 0.36, 0.3                    # sub-row height, extra space between blocks
    op_y = {(j, s): -(j * (2 * dy + gap) + s * dy) for j in range(n) for s in range(2)}
    return {"bus_x": bus_x, "op_x": op_x, "op_w": 0.92, "op_h": 0.27, "dy": dy, "gap": gap,
            "op_y": op_y, "ends": ends, "bottom": op_y[(n - 1, 1)] - 0.3}


def _draw_cell(ax, blocks: Sequence[Mapping[str, Any]], reduction: bool, top: float) -> None:
    """One cell as a circuit: vertical buses for the hidden states on the left, one row per block
    (its two operations stacked, then the addition), the concatenation on the right. Every wire is
    horizontal or vertical and runs beside the boxes, never through a label."""
    lay = _cell_layout(blocks)
    bus_x, op_x, w, h = lay["bus_x"], lay["op_x"], lay["op_w"], lay["op_h"]
    op_y, dy, gap = lay["op_y"], lay["dy"], lay["gap"]
    add_x = op_x + w + 0.28
    cat_x = add_x + 0.42
    wire = {"color": "0.25", "lw": 1.0}
    # where each bus starts (top) and ends (lowest reader)
    start = {0: top, 1: top}
    for j in range(len(blocks)):
        if 2 + j in bus_x:
            start[2 + j] = op_y[(j, 1)] - 0.21
    lowest = {i: start[i] for i in bus_x}
    for j, b in enumerate(blocks):
        for s, i in enumerate(b["inputs"]):
            lowest[i] = min(lowest[i], op_y[(j, s)])
    for i, x in bus_x.items():
        ax.plot([x, x], [start[i], lowest[i]], **wire)
    for i, label in ((0, "h[k-2]"), (1, "h[k-1]")):
        ax.text(bus_x[i], top + 0.05, label, rotation=90, ha="center", va="bottom",
                fontsize=MIN_FONT_PT)
    for j, b in enumerate(blocks):
        ymid = (op_y[(j, 0)] + op_y[(j, 1)]) / 2
        for s, (i, op) in enumerate(zip(b["inputs"], b["ops"])):
            y = op_y[(j, s)]
            ax.plot([bus_x[i]], [y], "o", color="0.25", ms=3.5)
            ax.add_patch(FancyArrowPatch((bus_x[i], y), (op_x, y), arrowstyle="-|>",
                                         mutation_scale=8, shrinkA=0, shrinkB=0, **wire))
            ax.add_patch(Rectangle((op_x, y - h / 2), w, h, facecolor=_NAS_OP_COLOURS[op],
                                   edgecolor="black", lw=0.7))
            label = _NAS_OP_LABELS[op] + (" /2" if reduction and i < 2 else "")
            ax.text(op_x + w / 2, y, label, ha="center", va="center", fontsize=MIN_FONT_PT)
            ax.plot([op_x + w, add_x - 0.07, add_x - 0.07], [y, y, ymid], **wire)
        ax.add_patch(Circle((add_x, ymid), 0.1, facecolor="#ffffb3", edgecolor="black",
                            lw=0.8, zorder=3))
        ax.text(add_x, ymid, "+", ha="center", va="center", fontsize=MIN_FONT_PT, zorder=4)
        ax.text(op_x - 0.04, op_y[(j, 0)] + h / 2 + 0.02, f"block {j}", ha="left",
                va="bottom", fontsize=MIN_FONT_PT, color="0.35")
        if 2 + j in lay["ends"]:
            ax.add_patch(FancyArrowPatch((add_x + 0.1, ymid), (cat_x - 0.09, ymid),
                                         arrowstyle="-|>", mutation_scale=8, shrinkA=0,
                                         shrinkB=0, **wire))
        else:  # down beside the boxes, then left along the gap to this block's bus
            yg = start[2 + j]
            ax.plot([add_x, add_x, bus_x[2 + j]], [ymid - 0.1, yg, yg], **wire)
    ys = [(op_y[(j - 2, 0)] + op_y[(j - 2, 1)]) / 2 for j in lay["ends"]]
    y0, y1 = min(ys) - 0.2, max(ys) + 0.2
    if y1 - y0 < 0.62:
        y0, y1 = (y0 + y1) / 2 - 0.31, (y0 + y1) / 2 + 0.31
    ax.add_patch(Rectangle((cat_x - 0.09, y0), 0.18, y1 - y0, facecolor="#ccebc5",
                           edgecolor="black", lw=0.8))
    ax.text(cat_x, (y0 + y1) / 2, "concat", rotation=90, ha="center", va="center",
            fontsize=MIN_FONT_PT)
    ax.text(cat_x, y1 + 0.04, "h[k]", ha="center", va="bottom", fontsize=MIN_FONT_PT)


def nas_cells(arch: Mapping[str, Any], *, cells: Sequence[str] = ("normal", "reduction"),
              title: str | None = None) -> Figure:
    """Draw the cells of an architecture side by side, as circuits.

    Each hidden state is a vertical wire on the left: the cell inputs ``h[k-2]`` and ``h[k-1]``,
    then the output of every block that another block reads. Each block is a row: its two
    operations (coloured boxes; ``/2`` = stride 2 in a reduction cell) take their input from a
    wire (dot) and are added (circle). Block outputs that no other block reads go right, into the
    concatenation that is the cell's output ``h[k]``. Wires are horizontal or vertical and never
    cross a box.

    Args:
        arch: an architecture dict (see :mod:`cnnbook.nas`).
        cells: which cells to draw, one panel each: ``"normal"`` and/or ``"reduction"``.
        title: optional title.
    """
    from cnnbook import nas

    arch = nas.validate(arch)
    if isinstance(cells, str) or not cells or any(c not in ("normal", "reduction") for c in cells):
        raise ValueError("cells must be a non-empty sequence of 'normal' / 'reduction', "
                         f"got {cells!r}")
    cells = list(cells)
    lays = [_cell_layout(arch[c]) for c in cells]
    panel_w = max(lay["op_x"] + lay["op_w"] + 0.95 for lay in lays)
    top, head = 0.55, 0.75 + (0.3 if title else 0.0)
    height = head + top - min(lay["bottom"] for lay in lays)
    width = max(panel_w * len(cells), 0.0)
    if width > COLUMN_WIDTH_IN:
        raise ValueError(f"{len(cells)} panels need {width:.1f} in; the column holds "
                         f"{COLUMN_WIDTH_IN} in (draw fewer cells per figure)")
    fig = _figure(COLUMN_WIDTH_IN, height)[0]
    fig.clf()
    slot = COLUMN_WIDTH_IN / len(cells)
    for k, cell in enumerate(cells):
        ax = fig.add_axes((k * slot / COLUMN_WIDTH_IN, 0, slot / COLUMN_WIDTH_IN, 1))
        x0 = -(slot - panel_w) / 2
        ax.set_xlim(x0, x0 + slot)
        ax.set_ylim(-(height - head - top), top + head)
        ax.axis("off")
        _draw_cell(ax, arch[cell], cell == "reduction", top - 0.35)
        ax.text(x0 + slot / 2, top + head - (0.55 if title else 0.25),
                f"{cell} cell" + (" (/2: stride 2)" if cell == "reduction" else ""),
                ha="center", va="top", fontsize=10)
    if title:
        fig.suptitle(title, y=1 - 0.08 / height, va="top")
    return check_legible(fig)


_LINE_STYLES = ({"ls": "-", "lw": 4.0, "alpha": 0.35}, {"ls": "--", "lw": 1.8},
                {"ls": ":", "lw": 2.2}, {"ls": "-.", "lw": 1.6}, {"ls": "-", "lw": 1.0})


def activation_curves(x, curves: Mapping[str, Any], *, zoom: float | None = 1.5,
                      title: str | None = None) -> Figure:
    """Activation functions, e.g. ReLU against Swish ``x * sigmoid(beta * x)``.

    Each curve has its own colour *and* line style (the first is a wide translucent band, the
    others dashed, dotted, ...), so curves that coincide over part of the range stay visible. With
    ``zoom``, a second panel shows ``[-zoom, zoom]``, where the curves differ most. The legend is
    below the panels.

    Args:
        x: input values (1-D).
        curves: label -> y values (same length as ``x``).
        zoom: half-width of the zoomed panel, or None for one panel.
        title: optional title.
    """
    xs = _array(x, "x", (1,))
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty mapping of label -> values")
    if zoom is not None and (isinstance(zoom, bool) or not isinstance(zoom, (int, float))
                             or zoom <= 0):
        raise ValueError(f"zoom must be a positive number or None, got {zoom!r}")
    ys_all = {}
    for label, ys in curves.items():
        ys = _array(ys, f"curves[{label!r}]", (1,))
        if len(ys) != len(xs):
            raise ValueError(f"curves[{label!r}] has {len(ys)} values but x has {len(xs)}")
        ys_all[label] = ys
    panels = 1 if zoom is None else 2
    fig, axes = _figure(COLUMN_WIDTH_IN, 3.4, ncols=panels, squeeze=False)
    for p, ax in enumerate(axes.flat):
        for k, (label, ys) in enumerate(ys_all.items()):
            ax.plot(xs, ys, color=f"C{k}", label=label, **_LINE_STYLES[k % len(_LINE_STYLES)])
        ax.axhline(0, color="black", lw=0.5)
        ax.axvline(0, color="black", lw=0.5)
        ax.grid(alpha=0.3)
        ax.set_xlabel("x")
        if p == 0:
            ax.set_ylabel("f(x)")
        else:
            inside = np.abs(xs) <= zoom
            lo = min(float(ys[inside].min()) for ys in ys_all.values())
            hi = max(float(ys[inside].max()) for ys in ys_all.values())
            ax.set_xlim(-zoom, zoom)
            ax.set_ylim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
            ax.set_title(f"zoom: -{zoom:g} ≤ x ≤ {zoom:g}", fontsize=MIN_FONT_PT + 1)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), frameon=False,
               fontsize=MIN_FONT_PT, handlelength=2.6)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.1 if len(labels) <= 4 else 0.16, 1, 1))
    return check_legible(fig)
