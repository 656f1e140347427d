"""Network structure: stage diagrams, Inception modules, residual/SE block diagrams, SE analysis."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from cnnbook.plot._base import COLUMN_WIDTH_IN, DPI, MIN_FONT_PT, _array, _cells, _figure, _fmt_value, _grid, _normalise, _positive_int, _show, _small_matrix, check_legible  # noqa: F401


__all__ = ['architecture', 'inception_module', 'block_diagram', 'excitation_profiles', 'ratio_tradeoff']


def architecture(stages: Sequence[tuple[str, str]], *, title: str | None = None,
                 max_per_row: int | None = None) -> Figure:
    """A block diagram of a network, left to right, wrapped onto rows that fit the column.

    Each box is as wide as its longest label line at :data:`MIN_FONT_PT`; as many boxes as fit
    in :data:`COLUMN_WIDTH_IN` go on a row (rows balanced), and an elbow arrow leads from the
    end of one row to the start of the next. Braces under the rows mark the feature-extraction
    (conv/pool) and classification (flatten/dense/softmax) parts.

    Args:
        stages: (kind, label) pairs, in order. ``kind`` sets the colour: ``"input"``, ``"conv"``,
            ``"pool"``, ``"flatten"``, ``"dense"``, ``"softmax"`` or ``"other"``; ``label`` is the
            text in the box (e.g. ``"conv 3x3, 32\\n26x26x32"``).
        title: text above the diagram.
        max_per_row: at most this many boxes per row (default: as many as fit).
    """
    colours = {"input": "#d9d9d9", "conv": "#8dd3c7", "pool": "#fb8072", "flatten": "#ffffb3",
               "dense": "#80b1d3", "softmax": "#bebada", "other": "#fdb462"}
    if not stages:
        raise ValueError("stages must be a non-empty sequence of (kind, label) pairs")
    for i, st in enumerate(stages):
        if not (isinstance(st, (tuple, list)) and len(st) == 2 and st[0] in colours):
            raise ValueError(f"stages[{i}] must be (kind, label) with kind in {sorted(colours)}, got {st!r}")
    if max_per_row is not None:
        max_per_row = _positive_int(max_per_row, "max_per_row")
    n = len(stages)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    probe = Figure(dpi=DPI)
    renderer = FigureCanvasAgg(probe).get_renderer()
    sizes = [probe.text(0, 0, str(label), fontsize=MIN_FONT_PT, linespacing=1.15)
             .get_window_extent(renderer) for _, label in stages]
    w = max(0.6, max(bb.width for bb in sizes) / DPI + 0.12)  # inches
    h = max(0.5, max(bb.height for bb in sizes) / DPI + 0.2)
    gap, row_gap = 0.2, 0.85
    margin = 0.04 if len(stages) * (w + gap) - gap + 0.08 <= COLUMN_WIDTH_IN else gap / 2 + 0.04
    per_row = max(1, int((COLUMN_WIDTH_IN - 2 * margin + gap) // (w + gap)))
    if max_per_row is not None:
        per_row = min(per_row, max_per_row)
    rows = -(-n // per_row)
    per_row = -(-n // rows)  # balance the rows
    width = per_row * (w + gap) - gap + 2 * margin
    title_h = 0.35 if title else 0.05
    height = title_h + rows * h + (rows - 1) * row_gap + 0.45
    fig, ax = _figure(width, height)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    ax.set_xlim(-margin, width - margin)
    ax.set_ylim(-height + title_h, title_h)  # one data unit = one inch; row 0's top is y = 0

    def place(i):
        r, c = divmod(i, per_row)
        return c * (w + gap), -r * (h + row_gap) - h  # lower-left corner

    for i, (kind, label) in enumerate(stages):
        x0, y0 = place(i)
        ax.add_patch(Rectangle((x0, y0), w, h, facecolor=colours[kind], edgecolor="black", lw=0.8))
        ax.text(x0 + w / 2, y0 + h / 2, label, ha="center", va="center", fontsize=MIN_FONT_PT,
                linespacing=1.15)
    for i in range(n - 1):
        (x0, y0), (x1, y1) = place(i), place(i + 1)
        if y1 == y0:
            ax.add_patch(FancyArrowPatch((x0 + w, y0 + h / 2), (x1, y1 + h / 2), arrowstyle="->",
                                         mutation_scale=10, lw=0.8))
        else:  # elbow: right of the row's last box, down below its braces, left, into the next row
            xr, xl, ym = x0 + w + gap / 2, x1 - gap / 2, y0 - row_gap + 0.15
            ax.plot([x0 + w, xr, xr, xl, xl], [y0 + h / 2, y0 + h / 2, ym, ym, y1 + h / 2],
                    color="black", lw=0.8)
            ax.add_patch(FancyArrowPatch((xl, y1 + h / 2), (x1, y1 + h / 2), arrowstyle="->",
                                         mutation_scale=10, lw=0.8))
    part: list[str | None] = []  # "other" boxes (dropout, ...) join the part they sit in
    for kind, _ in stages:
        part.append({"conv": "feature extraction", "pool": "feature extraction", "flatten": "classification",
                     "dense": "classification", "softmax": "classification", "input": None}
                    .get(kind, part[-1] if part else None))
    for text in ("feature extraction", "classification"):
        idxs = [i for i, p in enumerate(part) if p == text]
        runs: list[list[int]] = []
        for i in idxs:  # contiguous runs on one row
            if runs and runs[-1][-1] == i - 1 and (i // per_row) == (runs[-1][-1] // per_row):
                runs[-1].append(i)
            else:
                runs.append([i])
        for run in runs:
            (a, y0), (b, _) = place(run[0]), place(run[-1])
            ax.annotate("", xy=(a, y0 - 0.1), xytext=(b + w, y0 - 0.1),
                        arrowprops=dict(arrowstyle="<->", lw=0.8))
            ax.text((a + b + w) / 2, y0 - 0.17, text, ha="center", va="top", fontsize=MIN_FONT_PT)
    if title:
        ax.text(width / 2 - margin, title_h / 2, title, ha="center", va="center", fontsize=10)
    ax.axis("off")
    return check_legible(fig)


def inception_module(module: Mapping[str, Any], *, title: str | None = None) -> Figure:
    """An inception module as parallel branches between its input and the concatenation.

    Drawn at the book's column width (:data:`COLUMN_WIDTH_IN`): one column of boxes per branch,
    the input on top, the channel concatenation at the bottom. Each box shows its unit's label
    (``"conv 3x3, 96, stride 2"`` is written ``"conv 3×3/2, 96"``, as in the Inception papers)
    and its output shape; a label too wide for its box is wrapped at its commas.

    Args:
        module: what ``cnnbook.pretrained.inception_branches`` returns: ``{"input": (H, W, C),
            "output": (H, W, C), "branches": [[{"label": str, "shape": (H, W, C)}, ...], ...]}``.
        title: figure title.

    Returns:
        The figure (its axes span the figure, in inches).

    Raises:
        ValueError: ``module`` does not have that form, or has more than 6 branches (the boxes
            would not fit the column).
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
    if len(branches) > 6:
        raise ValueError(f"module has {len(branches)} branches; at most 6 fit the column")
    n = len(branches)
    depth = max(len(b) for b in branches)
    margin, gx, h, gy = 0.08, 0.14, 0.5, 0.26        # inches
    width = COLUMN_WIDTH_IN
    bw = (width - 2 * margin - (n - 1) * gx) / n
    title_h = 0.35 if title else 0.0
    height = 2 * margin + (depth + 2) * h + (depth + 1) * gy + title_h
    fig, _ = _figure(width, height)
    fig.clf()
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    renderer = fig.canvas.get_renderer()

    def shape_text(s):
        return "×".join(str(int(v)) for v in s)

    def pretty(label):
        label = re.sub(r"(\d+)x(\d+)", r"\1×\2", label)
        return re.sub(r"(\d+×\d+)(, \d+), stride (\d+)", r"\1/\3\2", label)

    def box(x0, y0, w, lines, colour):
        ax.add_patch(Rectangle((x0, y0), w, h, facecolor=colour, edgecolor="black", lw=0.8))
        text = ax.text(x0 + w / 2, y0 + h / 2, "\n".join(lines), ha="center", va="center",
                       fontsize=MIN_FONT_PT, linespacing=1.15)
        if text.get_window_extent(renderer).width > (w - 0.06) * DPI and "," in lines[0]:
            text.set_text("\n".join(lines[0].split(", ") + lines[1:]))

    def arrow(x, y0, y1):
        ax.add_patch(FancyArrowPatch((x, y0), (x, y1), arrowstyle="->", mutation_scale=9, lw=0.7,
                                     shrinkA=0, shrinkB=0))

    top = height - margin - title_h - h
    box(margin, top, width - 2 * margin, [f"input  {shape_text(module['input'])}"], "#d9d9d9")
    box(margin, margin, width - 2 * margin,
        [f"concatenate along channels  {shape_text(module['output'])}"], "#bebada")
    for i, branch in enumerate(branches):
        x0 = margin + i * (bw + gx)
        y_prev = top
        for j, unit in enumerate(branch):
            y = top - (j + 1) * (h + gy)
            label = pretty(str(unit["label"]))
            colour = "#fb8072" if "pool" in label else ("#ffffb3" if "1×1" in label else "#8dd3c7")
            box(x0, y, bw, [label, shape_text(unit["shape"])], colour)
            arrow(x0 + bw / 2, y_prev, y + h)
            y_prev = y
        arrow(x0 + bw / 2, y_prev, margin + h)
    if title:
        ax.text(width / 2, height - margin, title, ha="center", va="top", fontsize=10)
    return check_legible(fig)


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

    The figure is drawn at the size it is shown (one data unit is one inch), as wide as its
    panels need and no wider, so the diagram has no empty margins around it.

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
    # Geometry in inches: 9 pt text is about 0.075 in per character.
    char_in, bh, step, r = 0.075, 0.3, 0.48, 0.12
    longest = max(len(s) for _, boxes, spec in specs for s in boxes + [str(spec.get("after") or "")])
    bw = max(1.2, char_in * longest + 0.3)
    left, right = bw / 2 + 0.15, bw / 2 + 0.6  # room for the shortcut and its label
    widths = [max(left + right, char_in * len(name) * 10 / 9 + 0.2) for name, _, _ in specs]

    def top_of(boxes, spec):
        y = step * len(boxes) + bh / 2
        y += step if spec.get("shortcut") else 0.0
        y += step if spec.get("after") else 0.0
        return y + 0.25 + 0.22  # output arrow and text

    top = max(top_of(b, s) for _, b, s in specs)
    panel_h = top + 0.25 + 0.36  # input text below, panel title above
    title_h = 0.35 if title else 0.0
    fig, axes = _figure(sum(widths) + 0.1, panel_h + title_h, nrows=1, ncols=len(specs), squeeze=False,
                        gridspec_kw={"width_ratios": widths})
    fig.subplots_adjust(left=0.05 / fig.get_figwidth(), right=1 - 0.05 / fig.get_figwidth(), bottom=0,
                        top=1 - title_h / fig.get_figheight(), wspace=0)

    def arrow(y0, y1, x0=0.0, x1=0.0):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="->", mutation_scale=9, lw=0.8))

    def box(y, label):
        ax.add_patch(Rectangle((-bw / 2, y - bh / 2), bw, bh, facecolor=_box_colour(label), edgecolor="black",
                               lw=0.8))
        ax.text(0, y, label, ha="center", va="center", fontsize=MIN_FONT_PT)

    for ax, w, (name, boxes, spec) in zip(axes[0], widths, specs):
        ax.text(0, -0.05, spec.get("input", "x"), ha="center", va="top", fontsize=10, style="italic")
        y, prev = 0.0, 0.0
        for label in boxes:
            y += step
            arrow(prev, y - bh / 2)
            box(y, label)
            prev = y + bh / 2
        shortcut = spec.get("shortcut")
        if shortcut:
            y += step
            arrow(prev, y - r)
            ax.add_patch(plt.Circle((0, y), r, facecolor="white", edgecolor="black", lw=0.8))
            ax.text(0, y, "+" if spec.get("merge", "+") == "+" else "×", ha="center", va="center", fontsize=10)
            side = bw / 2 + 0.25
            ax.plot([0.05, side, side], [0.0, 0.0, y], color="black", lw=0.8)
            arrow(y, y, side, r)
            ax.text(side + 0.06, y / 2, str(shortcut), ha="left", va="center", fontsize=MIN_FONT_PT,
                    rotation=90)
            prev = y + r
        if spec.get("after"):
            y += step
            arrow(prev, y - bh / 2)
            box(y, str(spec["after"]))
            prev = y + bh / 2
        arrow(prev, prev + 0.25)
        ax.text(0, prev + 0.27, spec.get("output", ""), ha="center", va="bottom", fontsize=10, style="italic")
        ax.text(0, top + 0.3, name, ha="center", va="top", fontsize=10, fontweight="bold")
        centre = (right - left) / 2
        ax.set_xlim(centre - w / 2, centre + w / 2)
        ax.set_ylim(-0.25, top + 0.36)
        ax.axis("off")
    if title:
        fig.suptitle(title, y=1 - 0.05 / fig.get_figheight(), va="top")
    return check_legible(fig)


def excitation_profiles(stages: Mapping[str, Any], *, class_names: Sequence[str] | None = None,
                        ncols: int = 3, title: str | None = None) -> Figure:
    """Mean SE gate value per channel, one line per class, one panel per SE block (SENet Fig. 6).

    The panels fill the text column, ``ncols`` to a row, and share the gate axis (0 to 1); the
    class legend sits below them, outside the data.

    Args:
        stages: ``{block name: array (classes, channels)}`` of average excitations, in depth order.
        class_names: legend labels, one per class (default: the class index).
        ncols: panels per row (at most the number of blocks).
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
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    n = len(arrays)
    ncols = min(_positive_int(ncols, "ncols"), n)
    nrows = int(np.ceil(n / ncols))
    per_row = min(10, k)
    legend_in = 0.22 * int(np.ceil(k / per_row)) + 0.25
    fig, axes = _figure(COLUMN_WIDTH_IN, 2.2 * nrows + legend_in + (0.3 if title else 0), nrows=nrows,
                        ncols=ncols, squeeze=False, sharey=True, layout="constrained")
    for ax in axes.flat[n:]:
        ax.remove()
    colours = plt.get_cmap("tab10" if k <= 10 else "viridis")
    lines = []
    for i, (ax, (name, a)) in enumerate(zip(axes.flat, arrays.items())):
        x = np.arange(a.shape[1])
        for c in range(k):
            colour = colours(c) if k <= 10 else colours(c / max(k - 1, 1))
            (line,) = ax.plot(x, a[c], lw=1.0, color=colour)
            if i == 0:
                lines.append(line)
        ax.set_title(name)
        ax.set_xlim(0, max(a.shape[1] - 1, 1))
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        if i % ncols == 0:
            ax.set_ylabel("mean excitation")
        if i + ncols >= n:
            ax.set_xlabel("channel index")
    if title:
        fig.suptitle(title)
    fig.legend(lines, names, loc="outside lower center", ncol=per_row, frameon=False, title="class",
               handlelength=1.5, columnspacing=1.0)
    return check_legible(fig)


def ratio_tradeoff(ratios, params, scores, *, baseline_params: float | None = None,
                   baseline_score: Any = None, score_label: str = "test accuracy (%)",
                   title: str | None = None) -> Figure:
    """Reduction ratio r against parameter count (left) and a score (right), SENet Table 10 style.

    Both panels fill the text column; the legend (SE network, network without SE) sits below
    them, outside the data.

    Args:
        ratios: the reduction ratios.
        params: parameter count of the network at each ratio.
        scores: the score at each ratio; shape (ratios,) or (seeds, ratios): the mean is drawn,
            with the standard deviation over seeds as error bars.
        baseline_params: parameters of the network without SE (a dashed line).
        baseline_score: score without SE: a float, or an array of seeds (the mean is drawn as a
            dashed line, the mean ± standard deviation as a band).
        score_label: label of the score axis.
        title: figure title.

    Returns:
        The figure.
    """
    from matplotlib.ticker import EngFormatter, NullLocator

    r = _array(ratios, "ratios", (1,)).astype(float)
    p = _array(params, "params", (1,)).astype(float)
    s = _array(scores, "scores", (1, 2)).astype(float)
    s = s[None] if s.ndim == 1 else s
    if len(p) != len(r) or s.shape[1] != len(r):
        raise ValueError(f"ratios, params and scores must have one value per ratio ({len(r)}), "
                         f"got params {p.shape} and scores {s.shape}")
    if np.any(r <= 0):
        raise ValueError(f"ratios must be positive, got {r.tolist()}")
    b = None if baseline_score is None else _array(baseline_score, "baseline_score", (0, 1)).astype(float).ravel()
    fig, (a1, a2) = _figure(COLUMN_WIDTH_IN, 2.9 + (0.3 if title else 0), nrows=1, ncols=2,
                            layout="constrained")
    (se_line,) = a1.plot(r, p, marker="o", color="C0")
    handles, labels = [se_line], ["with SE (mean ± std over seeds)" if len(s) > 1 else "with SE"]
    base_handle = None
    if baseline_params is not None:
        base_handle = a1.axhline(float(baseline_params), color="gray", ls="--", lw=1)
    a1.yaxis.set_major_formatter(EngFormatter(sep=""))
    a1.set_ylabel("parameters")
    a2.errorbar(r, s.mean(axis=0), yerr=s.std(axis=0) if len(s) > 1 else None, marker="o", color="C0",
                capsize=3)
    if b is not None:
        base_handle = a2.axhline(float(b.mean()), color="gray", ls="--", lw=1)
        if len(b) > 1:
            a2.axhspan(b.mean() - b.std(), b.mean() + b.std(), color="gray", alpha=0.15, lw=0)
    if base_handle is not None:
        handles.append(base_handle)
        labels.append("without SE" + (" (mean ± std)" if b is not None and len(b) > 1 else ""))
    a2.set_ylabel(score_label)
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_xticks(r)
        ax.set_xticklabels([f"{v:g}" for v in r])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("reduction ratio r")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.legend(handles, labels, loc="outside lower center", ncol=len(handles), frameon=False)
    return check_legible(fig)
