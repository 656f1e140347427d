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
