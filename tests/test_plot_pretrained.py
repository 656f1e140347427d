"""Figures of the pretrained-models chapter (cnnbook.plot.inception_module): layout and bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from cnnbook import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _module(n_branches: int = 4, depth: int = 3, label: str = "conv 3x3, 96") -> dict:
    branches = [[{"label": label, "shape": (35, 35, 96)} for _ in range(1 + i % depth)]
                for i in range(n_branches)]
    return {"input": (35, 35, 192), "output": (35, 35, 96 * n_branches), "branches": branches}


def _boxes(fig):
    ax = fig.axes[0]
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_inception_module_is_drawn_at_column_width_with_one_box_per_unit():
    module = _module()
    fig = plot.inception_module(module, title="mixed0")
    assert fig.get_figwidth() == pytest.approx(plot.COLUMN_WIDTH_IN)
    assert fig.dpi == plot.DPI
    units = sum(len(b) for b in module["branches"])
    assert len(_boxes(fig)) == units + 2  # + input and concatenation
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "mixed0" in texts
    assert any("35×35×192" in t for t in texts) and any("35×35×384" in t for t in texts)


@pytest.mark.parametrize("n_branches", [1, 3, 4, 6])
def test_inception_module_text_stays_inside_its_box_and_never_overlaps(n_branches):
    fig = plot.inception_module(_module(n_branches, label="conv 3x3, 384, stride 2"))
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    boxes = [b.get_window_extent(renderer) for b in _boxes(fig)]
    texts = [t.get_window_extent(renderer) for t in ax.texts]
    for t in texts:
        assert t.width >= 1
        holder = [b for b in boxes if b.x0 <= t.x0 and t.x1 <= b.x1 and b.y0 <= t.y0 and t.y1 <= b.y1]
        assert holder, f"text at {t} sticks out of its box"
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            assert not a.overlaps(b)


def test_inception_module_writes_strides_the_papers_way_and_wraps_long_labels():
    fig = plot.inception_module(_module(6, label="conv 3x3, 384, stride 2"))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("conv 3×3/2") for t in texts)
    assert not any("stride" in t for t in texts)
    wide = plot.inception_module(_module(6, label="conv 1x7, 128, some very long remark"))
    wrapped = [t.get_text() for t in wide.axes[0].texts if "remark" in t.get_text()]
    assert wrapped and all(t.count("\n") >= 2 for t in wrapped)


@pytest.mark.parametrize("module,match", [
    ({}, "'input', 'output' and 'branches'"),
    ({"input": (1, 1, 1), "output": (1, 1, 1), "branches": []}, "non-empty list"),
    ({"input": (1, 1, 1), "output": (1, 1, 1), "branches": [[{"label": "x"}]]}, "'shape'"),
    (_module(7), "at most 6"),
])
def test_inception_module_bad_input(module, match):
    with pytest.raises(ValueError, match=match):
        plot.inception_module(module)


def test_horizontal_bars_fit_the_column_one_row_per_label():
    values = {"block1": 0.04, "block2": 0.26, "fc1": 102.8, "predictions": 4.1}
    fig = plot.bars(values, ylabel="parameters (millions)", fmt="{:.2f}", horizontal=True)
    assert fig.get_figwidth() == pytest.approx(plot.COLUMN_WIDTH_IN)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(values)
    assert [p.get_width() for p in ax.patches] == pytest.approx(list(values.values()))
    assert [t.get_text().strip() for t in ax.texts] == ["0.04", "0.26", "102.80", "4.10"]
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    for t in ax.texts:  # every value label is inside the figure
        box = t.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1


def test_horizontal_bars_log_scale_and_the_default_stays_vertical():
    fig = plot.bars({"a": 0.3, "b": 15.0}, log=True, horizontal=True)
    assert fig.axes[0].get_xscale() == "log"
    vertical = plot.bars({"a": 1.0, "b": 2.0})
    assert [t.get_text() for t in vertical.axes[0].get_xticklabels()] == ["a", "b"]
