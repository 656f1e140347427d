"""Figures of the introduction chapter: they draw what they are given and refuse bad input."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import plot


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_image_grid_draws_one_panel_per_image_with_labels():
    imgs = np.random.default_rng(0).random((5, 8, 8, 1))
    fig = plot.image_grid(imgs, [0, 1, 2, 3, 0], class_names=["a", "b", "c", "d"], ncols=3)
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == ["a", "b", "c", "d", "a"]


@pytest.mark.parametrize("images,match", [
    (np.zeros((8, 8)), r"images must have 3 or 4 dimensions, got shape \(8, 8\)"),
    (np.zeros((2, 8, 8, 2)), "images must have 1 or 3 channels"),
    (np.array([["a"]]), "images must hold numbers"),
    (np.zeros((0, 8, 8)), "images is empty"),
])
def test_image_grid_bad_input(images, match):
    with pytest.raises(ValueError, match=match):
        plot.image_grid(images)


def test_image_grid_label_count_must_match():
    with pytest.raises(ValueError, match=r"labels must have one entry per image \(3\), got 2"):
        plot.image_grid(np.zeros((3, 4, 4)), [0, 1])
    with pytest.raises(ValueError, match="ncols must be a positive int"):
        plot.image_grid(np.zeros((3, 4, 4)), ncols=0)


def test_filters_and_feature_maps():
    fig = plot.filters(np.random.default_rng(0).normal(size=(3, 3, 1, 6)), ncols=4)
    assert sum(1 for ax in fig.axes if ax.images) == 6
    fig = plot.feature_maps(np.random.default_rng(0).random((1, 10, 10, 20)), max_maps=8)
    assert sum(1 for ax in fig.axes if ax.images) == 8
    with pytest.raises(ValueError, match=r"kernels must have 4 dimensions"):
        plot.filters(np.zeros((3, 3, 6)))
    with pytest.raises(ValueError, match=r"maps must hold one image"):
        plot.feature_maps(np.zeros((2, 4, 4, 3)))


def test_history_draws_train_and_validation_curves():
    h = {"loss": [1.0, 0.5, 0.2], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.7, 0.9]}
    fig = plot.history({"run": h})
    assert [len(ax.lines) for ax in fig.axes] == [2, 1]
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), [1.0, 0.5, 0.2])
    with pytest.raises(ValueError, match="metrics: no run has 'auc'"):
        plot.history({"run": h}, metrics=("auc",))
    with pytest.raises(ValueError, match="histories must be a non-empty mapping"):
        plot.history({})


def test_convolution_1d_area_matches_numpy():
    t = np.linspace(-3, 3, 601)
    f = (np.abs(t) <= 1).astype(float)
    fig = plot.convolution_1d(t, f, f, shifts=[0.0])
    # box * box at s = 0 is the overlap length 2
    assert "area = 2.0" in fig.axes[0].get_title() or "area = 2.01" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="t, f and g must have the same length"):
        plot.convolution_1d(t, f[:-1], f, shifts=[0.0])


def test_bars_architecture_tuning_flatten():
    assert isinstance(plot.bars({"a": 1, "b": 10}, log=True), Figure)
    with pytest.raises(ValueError, match="values must map labels to numbers"):
        plot.bars({"a": "x"})
    fig = plot.architecture([("input", "in"), ("conv", "c"), ("pool", "p"), ("dense", "d"), ("softmax", "s")])
    assert [t.get_text() for t in fig.axes[0].texts][:5] == ["in", "c", "p", "d", "s"]
    with pytest.raises(ValueError, match=r"stages\[1\] must be \(kind, label\)"):
        plot.architecture([("input", "in"), ("lstm", "x")])
    with pytest.raises(ValueError, match="angles_deg and responses must have the same length"):
        plot.tuning_curve([0, 45], [1.0])
    fig = plot.flatten_diagram(np.arange(9).reshape(3, 3), max_values=4)
    assert "9 values" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="image must be at most 12x12"):
        plot.flatten_diagram(np.zeros((20, 20)))
