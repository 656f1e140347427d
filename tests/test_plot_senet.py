"""Figures of the SENet chapter: excitation profiles and the reduction-ratio trade-off.

They follow the book's legibility rule (column width, no text under MIN_FONT_PT) and keep their
legends outside the data (issue 12).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from cnnbook import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _profiles(blocks: int = 6, classes: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {f"conv{2 + i // 2}_block{1 + i % 2}_se": rng.uniform(0, 1, (classes, 16 * (1 + i)))
            for i in range(blocks)}


def _legend_clear_of_axes(fig) -> None:
    """The figure's legend lies below every axes and overlaps none of them."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        frame = ax.get_window_extent(renderer)
        assert not box.overlaps(frame), (ax.get_title(), box, frame)
        assert box.y1 <= frame.y0


def _legible(fig) -> None:
    assert fig.get_figwidth() <= plot.COLUMN_WIDTH_IN + 1e-9
    assert fig.get_dpi() == plot.DPI
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert min(sizes) >= plot.MIN_FONT_PT


def test_excitation_profiles_one_panel_per_block_legend_below():
    fig = plot.excitation_profiles(_profiles(), class_names=[str(c) for c in range(10)],
                                   title="Mean excitation")
    assert len(fig.axes) == 6  # 2 rows of 3, no empty panels left behind
    assert all(len(ax.lines) == 10 for ax in fig.axes)
    assert [ax.get_title() for ax in fig.axes][-1] == "conv4_block2_se"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [str(c) for c in range(10)]
    _legend_clear_of_axes(fig)
    _legible(fig)


def test_excitation_profiles_fills_the_column_and_shares_the_gate_axis():
    fig = plot.excitation_profiles(_profiles(blocks=4), ncols=2)
    assert len(fig.axes) == 4
    assert fig.get_figwidth() == pytest.approx(plot.COLUMN_WIDTH_IN)
    assert all(ax.get_ylim() == (0.0, 1.0) for ax in fig.axes)
    # x labels only on the bottom row, y labels only on the left column
    assert [bool(ax.get_xlabel()) for ax in fig.axes] == [False, False, True, True]
    assert [bool(ax.get_ylabel()) for ax in fig.axes] == [True, False, True, False]
    _legend_clear_of_axes(fig)


def test_excitation_profiles_many_classes_wrap_the_legend():
    fig = plot.excitation_profiles(_profiles(blocks=2, classes=15))
    assert len(fig.legends[0].get_texts()) == 15
    _legend_clear_of_axes(fig)
    _legible(fig)


@pytest.mark.parametrize("stages,kwargs,match", [
    ({}, {}, "non-empty mapping"),
    ({"a": np.zeros((3, 4)), "b": np.zeros((2, 4))}, {}, "same number of classes"),
    ({"a": np.zeros((3, 4))}, {"class_names": ["x"]}, "class_names"),
    ({"a": np.zeros(4)}, {}, "2 dimensions"),
    ({"a": np.zeros((3, 4))}, {"ncols": 0}, "ncols"),
    ({"a": [["x"]]}, {}, "numbers"),
])
def test_excitation_profiles_bad_input(stages, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot.excitation_profiles(stages, **kwargs)


def test_ratio_tradeoff_means_spread_and_baseline_band():
    scores = np.array([[90.0, 91.0, 92.0], [92.0, 93.0, 94.0]])
    fig = plot.ratio_tradeoff([2, 4, 8], [300_000, 200_000, 150_000], scores,
                              baseline_params=100_000, baseline_score=[89.0, 91.0])
    a1, a2 = fig.axes
    assert [t.get_text() for t in a1.get_xticklabels()] == ["2", "4", "8"]
    np.testing.assert_allclose(a1.lines[0].get_ydata(), [300_000, 200_000, 150_000])
    np.testing.assert_allclose(a2.lines[0].get_ydata(), [91.0, 92.0, 93.0])  # mean over seeds
    assert a2.containers and a2.containers[0].has_yerr  # spread over seeds
    assert len(a2.patches) == 1  # baseline mean ± std band
    assert any(line.get_linestyle() == "--" for line in a2.lines)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["with SE (mean ± std over seeds)", "without SE (mean ± std)"]
    _legend_clear_of_axes(fig)
    _legible(fig)


def test_ratio_tradeoff_single_seed_no_error_bars():
    fig = plot.ratio_tradeoff([2, 16], [20, 10], [95.0, 96.0], baseline_score=94.0)
    a2 = fig.axes[1]
    assert not a2.containers[0].has_yerr
    assert not a2.patches
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["with SE", "without SE"]
    _legend_clear_of_axes(fig)


@pytest.mark.parametrize("args,kwargs,match", [
    (([2, 4], [1, 2, 3], [1, 2]), {}, "one value per ratio"),
    (([2, 4], [1, 2], np.zeros((2, 3))), {}, "one value per ratio"),
    (([0, 4], [1, 2], [1, 2]), {}, "positive"),
    (([2, 4], [1, 2], [1, 2]), {"baseline_score": [[1.0]]}, "baseline_score"),
    (([], [], []), {}, "empty"),
])
def test_ratio_tradeoff_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot.ratio_tradeoff(*args, **kwargs)
