"""Tests of cnnbook.plot.search: every figure keeps the legibility rule, wires avoid labels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from cnnbook import nas, plot  # noqa: E402
from cnnbook.plot import search  # noqa: E402


def _hand():
    return {
        "normal": [{"inputs": [1, 1], "ops": ["sep3x3", "identity"]},
                   {"inputs": [0, 1], "ops": ["sep5x5", "avg3x3"]},
                   {"inputs": [2, 3], "ops": ["identity", "max3x3"]}],
        "reduction": [{"inputs": [0, 1], "ops": ["sep5x5", "max3x3"]},
                      {"inputs": [1, 2], "ops": ["conv1x7_7x1", "sep3x3"]},
                      {"inputs": [0, 2], "ops": ["avg3x3", "identity"]}],
        "num_cells": 1, "filters": 8, "num_reductions": 1,
    }


def _legible(fig):
    assert fig.get_figwidth() <= plot.COLUMN_WIDTH_IN + 1e-6
    plot.check_legible(fig)
    plt.close(fig)


@pytest.mark.parametrize("arch", [_hand(), nas.NASNET_A,
                                  nas.SearchSpace(blocks=2).sample(np.random.default_rng(1))])
def test_nas_cells_legible_and_wires_avoid_boxes(arch):
    fig = plot.nas_cells(arch, title="cells")
    fig.canvas.draw()
    for ax in fig.axes:
        boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert boxes
        # every drawn wire segment (Line2D) is horizontal or vertical and never enters a box
        for line in ax.lines:
            xs, ys = (np.asarray(v, dtype=float) for v in line.get_data())
            for (x0, y0), (x1, y1) in zip(zip(xs[:-1], ys[:-1]), zip(xs[1:], ys[1:])):
                assert x0 == x1 or y0 == y1
                for b in boxes:
                    bx, by, bw, bh = b.get_x(), b.get_y(), b.get_width(), b.get_height()
                    inside_x = min(x0, x1) < bx + bw - 1e-6 and max(x0, x1) > bx + 1e-6
                    inside_y = min(y0, y1) < by + bh - 1e-6 and max(y0, y1) > by + 1e-6
                    assert not (inside_x and inside_y), (line, b)
    _legible(fig)


def test_nas_cells_draws_every_operation_once():
    fig = plot.nas_cells(nas.NASNET_A, cells=("reduction",))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum(t.startswith("sep 7×7") for t in texts) == 2
    # the ops that read h[k-2] or h[k-1] have stride 2: 2 + 2 + 2 + 0 + 1
    assert sum(t.endswith(" /2") for t in texts) == 7
    assert sum(t.startswith("block") for t in texts) == 5
    _legible(fig)


def test_nas_cells_rejects_bad_cells():
    with pytest.raises(ValueError, match="cells"):
        plot.nas_cells(_hand(), cells="normal")
    with pytest.raises(ValueError, match="cells"):
        plot.nas_cells(_hand(), cells=("other",))


def test_search_rewards_legend_below_axes():
    rng = np.random.default_rng(0)
    fig = plot.search_rewards({"random": rng.uniform(0.5, 0.9, 12),
                               "rl": rng.uniform(0.5, 0.9, 12)}, reference={"median": 0.7},
                              title="t")
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend is not None
    assert legend.get_window_extent().y1 <= ax.get_window_extent().y0  # below the data
    _legible(fig)
    with pytest.raises(ValueError, match="results"):
        plot.search_rewards({})
    with pytest.raises(ValueError, match="reference"):
        plot.search_rewards({"a": [0.5]}, reference=[0.5])


def test_activation_curves_styles_distinct_and_zoom():
    xv = np.linspace(-5, 5, 101)
    curves = {"ReLU": np.maximum(xv, 0), "Swish 10": xv / (1 + np.exp(-10 * xv)),
              "Swish 1": xv / (1 + np.exp(-xv))}
    fig = plot.activation_curves(xv, curves, title="t")
    assert len(fig.axes) == 2 and fig.axes[1].get_xlim() == (-1.5, 1.5)
    styles = {(ln.get_linestyle(), ln.get_linewidth()) for ln in fig.axes[0].lines[:3]}
    assert len(styles) == 3   # coinciding curves stay visible
    _legible(fig)
    one = plot.activation_curves(xv, curves, zoom=None)
    assert len(one.axes) == 1
    _legible(one)
    with pytest.raises(ValueError, match="zoom"):
        plot.activation_curves(xv, curves, zoom=-1)
    with pytest.raises(ValueError, match="values but x has"):
        plot.activation_curves(xv, {"a": xv[:5]})


def test_module_exports():
    assert set(search.__all__) == {"search_rewards", "nas_cells", "activation_curves"}
