"""Figures of chapter 2 (convolution, stride, padding, pooling): legible at the column width."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import ops, plot

X5 = np.array([[1, 2, 0, 3, 1], [0, 1, 2, 1, 0], [3, 1, 0, 2, 2], [1, 0, 1, 3, 1], [2, 2, 0, 1, 0]])
K3 = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]])
P4 = np.array([[1, 3, 2, 0], [5, 7, 1, 2], [0, 2, 9, 4], [1, 1, 3, 8]])


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _t():
    t = np.linspace(-3, 3, 601)
    return t, (np.abs(t) <= 1).astype(float), np.where((t >= 0) & (t <= 1), 1 - t, 0.0)


@pytest.mark.parametrize("draw", [
    lambda: plot.convolution_1d(*_t(), shifts=[-0.5, 0.5, 1.5]),
    lambda: plot.convolution_1d(*_t(), shifts=[0.0]),
    lambda: plot.conv_steps(X5, K3, steps=(0, 1, -1)),
    lambda: plot.conv_steps(X5, K3, stride=2, steps=(0, 1, 2)),
    lambda: plot.conv_steps(X5, K3, stride=2, padding=1, steps=(0, -1)),
    lambda: plot.conv_steps(np.arange(144).reshape(12, 12) - 70, np.full((5, 5), -1.5), steps=(0,)),
    lambda: plot.padding_diagram(X5, pad=1),
    lambda: plot.padding_diagram(np.ones((10, 10)), pad=2),
    lambda: plot.pooling_diagram(P4),
    lambda: plot.pooling_diagram(np.arange(64).reshape(8, 8), size=2),
    lambda: plot.multichannel_conv(np.random.default_rng(3).integers(0, 4, (4, 4, 3)),
                                   np.random.default_rng(3).integers(-1, 2, (2, 2, 3))),
    lambda: plot.multichannel_conv(np.ones((8, 8, 4)), np.ones((3, 3, 4)), b=1.0),
], ids=["conv1d", "conv1d_one", "steps", "steps_stride2", "steps_padded", "steps_12x12_5x5",
        "padding", "padding_10", "pooling", "pooling_8", "multichannel", "multichannel_8x8x4"])
def test_convolution_figures_are_legible(draw):
    fig = draw()
    assert isinstance(fig, Figure)
    assert fig.get_figwidth() <= plot.COLUMN_WIDTH_IN + 1e-9
    assert plot.check_legible(fig) is fig


def test_conv_steps_has_no_big_blank_rows():
    """Each row is as tall as the input (or the kernel plus its sum), not more: no blank bands."""
    fig = plot.conv_steps(X5, K3, stride=2, steps=(0, 1, 2))
    per_row_in = fig.get_figheight() / 3
    assert per_row_in <= 0.34 * 6 + 0.45, per_row_in
    formulas = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_text().startswith("y[")]
    y = ops.conv2d(X5[:, :, None], K3[:, :, None, None], stride=2)[:, :, 0]
    assert [f.splitlines()[-1] for f in formulas] == [f"= {y[0, 0]}", f"= {y[0, 1]}", f"= {y[1, 0]}"]
    assert "0·(-1)" in formulas[0]


def test_convolution_1d_keeps_the_shift_panels_first_and_the_legend_below():
    fig = plot.convolution_1d(*_t(), shifts=[-0.5, 0.5, 1.5])
    assert fig.axes[0].get_title() == "s = -0.5: area = 0.38"
    assert fig.axes[0].get_legend() is None and len(fig.legends) == 1


def test_conv_animation_frames_fit_the_column():
    anim = plot.conv_animation(X5[:4, :4], K3[:2, :2], interval=100)
    assert anim._fig.get_figwidth() <= plot.COLUMN_WIDTH_IN + 1e-9
    assert plot.animation_html(anim).count("data:image/png;base64") == 9
