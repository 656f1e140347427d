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


# --- the legibility rule (issue 12): every figure of chapters 1-2 fits the column, 9 pt text ---

_RNG = np.random.default_rng(0)
_MNIST_STAGES = [("input", "input\n28x28x1"), ("conv", "conv1\n26x26x32"), ("pool", "pool1\n13x13x32"),
                 ("conv", "conv2\n11x11x64"), ("pool", "pool2\n5x5x64"), ("flatten", "flatten\n1600"),
                 ("other", "dropout\n1600"), ("dense", "predictions\n10"), ("softmax", "softmax\n10 classes")]


@pytest.mark.parametrize("draw", [
    lambda: plot.image_grid(_RNG.random((16, 32, 32, 1)), np.arange(16) % 4,
                            class_names=["circle", "square", "triangle", "cross"]),
    lambda: plot.image_grid(_RNG.random((20, 8, 8)), ncols=20),
    lambda: plot.filters(_RNG.normal(size=(3, 3, 1, 16)), ncols=16, title="layer-1 filters (3x3)"),
    lambda: plot.filters(_RNG.normal(size=(5, 5, 3, 8))),
    lambda: plot.feature_maps(_RNG.random((1, 128, 192, 16)), max_maps=7, ncols=4,
                              image=_RNG.random((128, 192)), title="conv1"),
    lambda: plot.feature_maps(_RNG.random((64, 64, 2)), max_maps=2, ncols=2,
                              titles=["map 0: bright on the left", "map 1: dark on the left"]),
    lambda: plot.tuning_curve(np.arange(0, 180, 22.5), _RNG.random(8), stimuli=_RNG.random((8, 21, 21)),
                              title="a model simple cell: response vs bar orientation"),
    lambda: plot.tuning_curve([0, 45, 90], [0.0, 1.0, 0.5]),
    lambda: plot.flatten_diagram(_RNG.integers(0, 9, (7, 7)), max_values=16, highlight=[(0, 0), (1, 0)]),
    lambda: plot.flatten_diagram(_RNG.integers(0, 9, (12, 12)), max_values=30),
    lambda: plot.matrices({"kernel": np.ones((3, 3)), "x": np.arange(25).reshape(5, 5)}, title="t"),
    lambda: plot.channels(_RNG.integers(0, 255, (400, 600, 3), dtype=np.uint8)),
    lambda: plot.filter_responses(_RNG.random((64, 64)), {k: np.full((3, 3), 1 / 9) for k in "abcde"},
                                  {k: _RNG.random((64, 64)) for k in "abcde"}),
    lambda: plot.architecture(_MNIST_STAGES, title="the classic Keras MNIST CNN (34,826 parameters)"),
    lambda: plot.architecture(_MNIST_STAGES[:4], max_per_row=2),
    lambda: plot.architecture([("input", "in")] + [("conv", f"conv {i}\n3x3, 64\n224x224x64")
                                                   for i in range(20)]),
], ids=["image_grid", "image_grid_20", "filters_16", "filters_rgb", "feature_maps_image",
        "feature_maps_titles", "tuning_curve", "tuning_curve_plain", "flatten", "flatten_12",
        "matrices", "channels", "filter_responses", "architecture", "architecture_rows",
        "architecture_long"])
def test_intro_figures_are_legible(draw):
    fig = draw()
    assert isinstance(fig, Figure)
    assert fig.get_figwidth() <= plot.COLUMN_WIDTH_IN + 1e-9
    assert plot.check_legible(fig) is fig


def test_architecture_wraps_rows_inside_the_column_and_keeps_label_order():
    fig = plot.architecture(_MNIST_STAGES)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[:len(_MNIST_STAGES)] == [label for _, label in _MNIST_STAGES]
    # the dropout box joins the classification part: one brace label per part and row
    assert [t for t in texts[len(_MNIST_STAGES):] if t] == ["feature extraction", "classification"]
    boxes = [p for p in fig.axes[0].patches if type(p).__name__ == "Rectangle"]
    assert len({round(b.get_y(), 3) for b in boxes}) == 2  # two rows
    with pytest.raises(ValueError, match="max_per_row must be a positive int"):
        plot.architecture(_MNIST_STAGES, max_per_row=0)


def test_feature_maps_and_flatten_new_options():
    fig = plot.feature_maps(np.ones((1, 8, 8, 3)), image=np.zeros((16, 16)), titles=["a", "b", "c"])
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["input", "a", "b", "c"]
    with pytest.raises(ValueError, match=r"titles must have one entry per drawn map \(3\), got 1"):
        plot.feature_maps(np.ones((8, 8, 3)), titles=["a"])
    fig = plot.flatten_diagram(np.arange(49).reshape(7, 7), max_values=16, highlight=[(0, 0), (1, 0)])
    red = [t.get_text() for t in fig.axes[1].texts if t.get_color() == "C3"]
    assert red == ["(0,0)", "(1,0)"]
    with pytest.raises(ValueError, match="highlight must hold"):
        plot.flatten_diagram(np.zeros((3, 3)), highlight=[(5, 0)])


def test_check_legible_rejects_small_text_and_wide_figures():
    fig, ax = plt.subplots(figsize=(9, 3))
    with pytest.raises(ValueError, match="wide"):
        plot.check_legible(fig)
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.text(0, 0, "tiny", fontsize=6)
    with pytest.raises(ValueError, match="text below"):
        plot.check_legible(fig)


def test_filters_titles_one_per_filter():
    fig = plot.filters(np.random.default_rng(1).normal(size=(3, 3, 1, 16)), ncols=8,
                       titles=[f"{v:.2f}" for v in np.linspace(0, 1, 16)])
    assert [ax.get_title() for ax in fig.axes if ax.images][:2] == ["0.00", "0.07"]
    assert plot.check_legible(fig) is fig
    with pytest.raises(ValueError, match=r"titles must have one entry per filter \(16\), got 2"):
        plot.filters(np.zeros((3, 3, 1, 16)), titles=["a", "b"])
