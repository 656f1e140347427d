"""The legibility rule and the HTML tables of cnnbook.plot."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnbook import plot


def test_style_is_the_books():
    import matplotlib as mpl

    assert mpl.rcParams["figure.dpi"] == plot.DPI
    assert mpl.rcParams["xtick.labelsize"] >= plot.MIN_FONT_PT
    # the rule the browser test checks: smallest text at column width >= MIN_TEXT_PX
    assert plot.MIN_FONT_PT * plot.DPI / 72 >= plot.MIN_TEXT_PX


def test_check_legible_refuses_wide_figures_and_small_text():
    fig, ax = plt.subplots(figsize=(plot.COLUMN_WIDTH_IN + 1, 2))
    with pytest.raises(ValueError, match="wide"):
        plot.check_legible(fig)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.text(0.5, 0.5, "tiny", fontsize=5)
    with pytest.raises(ValueError, match="tiny"):
        plot.check_legible(fig)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1])
    assert plot.check_legible(fig) is fig
    plt.close(fig)


def test_image_grid_fits_the_column():
    fig = plot.image_grid(np.zeros((20, 8, 8)), ncols=20)
    assert fig.get_figwidth() <= plot.COLUMN_WIDTH_IN + 1e-9
    plt.close(fig)


def test_table_plain_and_html():
    t = plot.table([{"model": "ResNet50", "top-1 (%)": 74.9, "params": 25_636_712}],
                   formats={"top-1 (%)": "{:.1f}"})
    assert repr(t).splitlines() == ["model     top-1 (%)      params", "ResNet50       74.9  25,636,712"]
    html = t._repr_html_()
    assert "<table" in html and "overflow-x: auto" in html
    assert '<td class="num" style="text-align: right">25,636,712</td>' in html
    assert '<td class="text" style="text-align: left">ResNet50</td>' in html
    assert t.frame.loc[0, "params"] == 25_636_712   # values kept, not strings


def test_table_rows_with_columns_and_escaping():
    t = plot.table([("<b>", 1), ("x", None)], ["name", "n"])
    assert "&lt;b&gt;" in t._repr_html_()
    assert repr(t).splitlines()[-1].endswith("–")


@pytest.mark.parametrize("kwargs, match", [
    (dict(rows=[]), "rows is empty"),
    (dict(rows=[(1, 2)]), "columns is required"),
    (dict(rows=[(1, 2)], columns=["a"]), "do not have 1 values"),
    (dict(rows="abc"), "rows must be"),
    (dict(rows=[{"a": 1}], formats={"b": "{}"}), "formats names columns"),
])
def test_table_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot.table(**kwargs)
