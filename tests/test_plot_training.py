"""Figures of chapters 3 and 4 (cnnbook.plot.training): legible at the column width, correct input checks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from cnnbook import plot  # noqa: E402

RNG = np.random.default_rng(0)
HIST = {"loss": [1.0, 0.5, 0.3], "accuracy": [0.6, 0.8, 0.9],
        "val_loss": [1.1, 0.6, 0.4], "val_accuracy": [0.55, 0.75, 0.85]}


def _legible(fig) -> None:
    """The book's rule: at most the column wide, drawn at the book's dpi, no text under 9 pt."""
    assert fig.get_figwidth() <= plot.COLUMN_WIDTH_IN + 1e-6
    assert fig.get_dpi() == plot.DPI
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert sizes and min(sizes) >= plot.MIN_FONT_PT


def _text_boxes_overlap(fig) -> list[tuple[str, str]]:
    """Pairs of visible, non-empty texts whose rendered boxes overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    return [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:] if ba.overlaps(bb)]


def test_history_is_legible_with_legend_outside_the_panels():
    fig = plot.history({"CNN": HIST, "MLP": HIST}, title="two runs")
    _legible(fig)
    assert len(fig.axes) == 2
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    legend_box = fig.legends[0].get_window_extent()
    assert all(not legend_box.overlaps(ax.get_window_extent()) for ax in fig.axes)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["CNN (training)", "CNN (validation)", "MLP (training)", "MLP (validation)"]
    assert _text_boxes_overlap(fig) == []
    plt.close(fig)


def test_history_draws_one_panel_per_metric_and_skips_validation_on_request():
    fig = plot.history({"run": HIST}, metrics=("loss",), validation=False)
    _legible(fig)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 1
    plt.close(fig)


@pytest.mark.parametrize("call, match", [
    (lambda: plot.history({}), "non-empty mapping"),
    (lambda: plot.history({"run": HIST}, metrics=("auc",)), "no run has 'auc'"),
    (lambda: plot.history({"run": HIST}, metrics="loss"), "sequence of metric names"),
    (lambda: plot.history({"run": [1, 2]}), "History or a dict"),
])
def test_history_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_filters_over_epochs_fits_twelve_filters_in_the_column():
    kernels = {e: RNG.normal(size=(3, 3, 1, 32)) * (1 + e) for e in (0, 1, 3, 12)}
    fig = plot.filters_over_epochs(kernels, max_filters=12, title="filters")
    _legible(fig)
    assert len(fig.axes) == 4 * 12 + 1  # panels and one shared colour bar
    vmax = max(np.abs(k[..., :12]).max() for k in kernels.values())
    assert fig.axes[0].images[0].get_clim() == pytest.approx((-vmax, vmax))  # one shared scale
    assert _text_boxes_overlap(fig) == []
    plt.close(fig)


def test_feature_maps_over_epochs_has_an_input_column():
    maps = {e: RNG.random((26, 26, 32)) for e in (0, 1, 3, 12)}
    fig = plot.feature_maps_over_epochs(maps, image=RNG.random((28, 28, 1)), max_maps=8, title="maps")
    _legible(fig)
    assert len(fig.axes) == 4 * 9
    assert fig.axes[0].get_title() == "input"
    assert _text_boxes_overlap(fig) == []
    plt.close(fig)


def test_training_snapshots_is_legible():
    k = {"before": RNG.normal(size=(3, 3, 1, 8)), "after": RNG.normal(size=(3, 3, 1, 8))}
    m = {"before": RNG.random((26, 26, 8)), "after": RNG.random((1, 26, 26, 8))}
    fig = plot.training_snapshots(k, m)
    _legible(fig)
    assert len(fig.axes) == 4 * 8
    plt.close(fig)


def test_confusion_matrix_counts_pairs():
    y = np.array([0, 0, 1, 2, 2, 2])
    p = np.array([0, 1, 1, 2, 2, 0])
    fig = plot.confusion_matrix(y, p, classes=4, title="counts")
    _legible(fig)
    counts = fig.axes[0].images[0].get_array()
    expected = np.zeros((4, 4), dtype=int)
    expected[0, 0] = expected[0, 1] = expected[1, 1] = expected[2, 0] = 1
    expected[2, 2] = 2
    np.testing.assert_array_equal(counts, expected)
    written = sorted(t.get_text() for t in fig.axes[0].texts)
    assert written == ["1", "1", "1", "1", "2"]  # zero cells stay empty
    plt.close(fig)


@pytest.mark.parametrize("call, match", [
    (lambda: plot.confusion_matrix([0, 1], [0]), "same length"),
    (lambda: plot.confusion_matrix([0, -1], [0, 1]), "class indices"),
    (lambda: plot.confusion_matrix([0.5, 1], [0, 1]), "class indices"),
    (lambda: plot.confusion_matrix([0, 5], [0, 1], classes=3), r"0\.\.2"),
    (lambda: plot.confusion_matrix([[0]], [[0]]), "1 dimensions"),
])
def test_confusion_matrix_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_narrow_panels_get_short_titles_and_one_axis_label():
    maps = {e: RNG.random((26, 26, 32)) for e in (0, 5)}
    fig = plot.feature_maps_over_epochs(maps, image=RNG.random((28, 28)), max_maps=16)
    _legible(fig)
    titles = [ax.get_title() for ax in fig.axes[:17]]
    assert titles == ["input"] + [str(c) for c in range(16)]
    assert [t.get_text() for t in fig.texts] == ["feature map (channel)"]
    assert _text_boxes_overlap(fig) == []
    plt.close(fig)
