"""Figures of the ResNet and SENet chapters (cnnbook.plot): what they draw and their bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnbook import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _runs():
    steps = np.arange(1, 5) * 10
    return {"plain-8": {"step": steps, "train_error": np.full((2, 4), 0.1)},
            "resnet-8": {"step": steps, "train_error": np.linspace(0.5, 0.1, 4)}}


def test_block_diagram_panels_and_merge_nodes():
    fig = plot.block_diagram({
        "plain": {"boxes": ["conv", "ReLU"]},
        "residual": {"boxes": ["conv", "BN"], "shortcut": "x", "after": "ReLU"},
        "SE": {"boxes": ["pool", "FC"], "shortcut": "x", "merge": "x"},
    })
    assert len(fig.axes) == 3
    texts = [[t.get_text() for t in ax.texts] for ax in fig.axes]
    assert "+" not in texts[0] and "+" in texts[1] and "×" in texts[2]


def _content_fraction(fig):
    """Width and height of the drawn content (tight bounding box) over the figure's."""
    fig.canvas.draw()
    tight = fig.get_tightbbox(fig.canvas.get_renderer())  # inches
    w, h = fig.get_size_inches()
    return tight.width / w, tight.height / h


def _assert_legend_outside(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        assert legend is not None
        # the legend lies entirely below the axes' data area
        assert legend.get_window_extent(renderer).y1 <= ax.get_window_extent(renderer).y0


@pytest.mark.parametrize("panels", [
    {"plain block": {"boxes": ["3x3 conv", "BN", "ReLU", "3x3 conv", "BN", "ReLU"], "output": "H(x)"},
     "residual block": {"boxes": ["3x3 conv", "BN", "ReLU", "3x3 conv", "BN"], "shortcut": "identity x",
                        "after": "ReLU", "output": "F(x) + x"}},
    {"SE block": {"boxes": ["global avg pool 1x1xC", "FC  1x1xC/r", "ReLU", "FC  1x1xC", "sigmoid"],
                  "input": "U", "shortcut": "U: HxWxC", "merge": "x", "output": "scaled HxWxC"}},
])
def test_block_diagram_legible_without_blank_margins(panels):
    fig = plot.block_diagram(panels, title="t")
    assert fig.get_figwidth() <= plot.COLUMN_WIDTH_IN and fig.dpi == plot.DPI
    assert min(t.get_fontsize() for ax in fig.axes for t in ax.texts) >= plot.MIN_FONT_PT
    fw, fh = _content_fraction(fig)
    assert fw > 0.85 and fh > 0.85, (fw, fh)
    # one panel is not stretched to the column: the figure is as wide as its content needs
    if len(panels) == 1:
        assert fig.get_figwidth() < 0.5 * plot.COLUMN_WIDTH_IN


@pytest.mark.parametrize("panels,match", [
    ({}, "non-empty mapping"),
    ({"a": {"shortcut": "x"}}, "'boxes'"),
    ({"a": {"boxes": "conv"}}, "non-empty list"),
    ({"a": {"boxes": ["conv"], "merge": "-"}}, "merge"),
    ({"a": {"boxes": ["conv"], "colour": "red"}}, "unknown keys"),
])
def test_block_diagram_bad_input(panels, match):
    with pytest.raises(ValueError, match=match):
        plot.block_diagram(panels)


def test_training_curves_draw_mean_and_seeds():
    fig = plot.training_curves(_runs(), groups={"plain": ["plain-8"], "ResNet": ["resnet-8"]})
    assert len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 3  # two seeds and their mean
    np.testing.assert_allclose(fig.axes[0].lines[-1].get_ydata(), 10.0)
    assert fig.get_figwidth() <= plot.COLUMN_WIDTH_IN
    _assert_legend_outside(fig)
    # the same position in each panel gets the same colour (shallow vs deep)
    assert fig.axes[0].lines[-1].get_color() == fig.axes[1].lines[-1].get_color()


@pytest.mark.parametrize("kwargs,match", [
    (dict(groups={"p": ["nope"]}), "no entry 'nope'"),
    (dict(groups={"p": "plain-8"}), "non-empty list"),
    (dict(key="loss"), "must be a record"),
])
def test_training_curves_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot.training_curves(_runs(), **kwargs)


def test_training_curves_length_mismatch():
    runs = {"a": {"step": [1, 2, 3], "train_error": [0.1, 0.2]}}
    with pytest.raises(ValueError, match="points"):
        plot.training_curves(runs)


def test_layer_profiles():
    fig = plot.layer_profiles({"a": {"l1": 1.0, "l2": 0.1}, "b": [1.0, 2.0, 3.0]}, ylabel="norm")
    assert len(fig.axes[0].lines) == 2
    assert fig.get_figwidth() <= plot.COLUMN_WIDTH_IN
    _assert_legend_outside(fig)
    with pytest.raises(ValueError, match="values <= 0"):
        plot.layer_profiles({"a": [1.0, 0.0]}, ylabel="norm")
    with pytest.raises(ValueError, match="non-empty mapping"):
        plot.layer_profiles([1.0, 2.0], ylabel="norm")


def test_excitation_profiles():
    fig = plot.excitation_profiles({"early": np.full((3, 8), 0.5), "late": np.full((3, 16), 0.2)},
                                   class_names=["a", "b", "c"])
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 3
    with pytest.raises(ValueError, match="same number of classes"):
        plot.excitation_profiles({"a": np.zeros((3, 4)), "b": np.zeros((2, 4))})
    with pytest.raises(ValueError, match="class_names"):
        plot.excitation_profiles({"a": np.zeros((3, 4))}, class_names=["x"])
    with pytest.raises(ValueError, match="2 dimensions"):
        plot.excitation_profiles({"a": np.zeros(4)})


def test_ratio_tradeoff():
    fig = plot.ratio_tradeoff([2, 4, 8], [30, 20, 15], np.array([[90, 91, 92], [91, 92, 93]]),
                              baseline_params=10, baseline_score=[89, 90])
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="one value per ratio"):
        plot.ratio_tradeoff([2, 4], [1, 2, 3], [1, 2])
