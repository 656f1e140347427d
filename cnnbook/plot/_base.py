"""Shared machinery of the book's figures: the legibility rule, argument checks, grids and tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import html as _html
from collections.abc import Callable

import matplotlib as mpl
from matplotlib.text import Text

__all__ = ["COLUMN_WIDTH_IN", "DPI", "MIN_FONT_PT", "MIN_TEXT_PX", "Table", "check_legible", "table",
           "use_book_style"]

#: Width of the book's text column at a 1280 px window, in inches at :data:`DPI` (about 700 px).
COLUMN_WIDTH_IN = 7.0
#: Resolution the figures are drawn at (matplotlib's default; the inline backend keeps it).
DPI = 100
#: Smallest font size a figure may use, in points.
MIN_FONT_PT = 9.0
#: Smallest text height on the page, in CSS pixels, when a figure is shown at the column width.
#: A figure of natural width ``w`` px shown at ``d`` px keeps the rule while
#: ``MIN_FONT_PT * DPI / 72 * d / w >= MIN_TEXT_PX``; the browser test checks that scale.
MIN_TEXT_PX = 10.0

_STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": "figure",
    "font.size": 10.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": MIN_FONT_PT,
    "figure.titlesize": 11.0,
    "figure.labelsize": 10.0,
    "figure.figsize": (COLUMN_WIDTH_IN, 3.5),
}


def use_book_style() -> None:
    """Set matplotlib's resolution and font sizes to the book's (done when :mod:`cnnbook.plot` is imported)."""
    mpl.rcParams.update(_STYLE)


def check_legible(fig: Figure, *, max_width_in: float = COLUMN_WIDTH_IN) -> Figure:
    """Raise ``ValueError`` if ``fig`` is wider than the column or holds text below :data:`MIN_FONT_PT`.

    The figure is drawn first, so tick labels and legends are counted. Returns ``fig``.
    """
    width = float(fig.get_figwidth())
    if width > max_width_in + 1e-6:
        raise ValueError(f"figure is {width:.2f} in wide; the column holds {max_width_in:.2f} in "
                         f"(cnnbook.plot.COLUMN_WIDTH_IN)")
    if fig.get_dpi() < DPI - 1e-6:
        raise ValueError(f"figure dpi is {fig.get_dpi()}; the book draws at {DPI}")
    fig.canvas.draw()
    small = sorted({(round(t.get_fontsize(), 1), t.get_text()[:30]) for t in fig.findobj(Text)
                    if t.get_visible() and t.get_text().strip() and t.get_fontsize() < MIN_FONT_PT - 1e-6})
    if small:
        raise ValueError(f"text below {MIN_FONT_PT} pt: {small[:5]}")
    return fig


def _figure(width: float, height: float, **subplots_kw):
    """``plt.subplots`` at the book's resolution, scaled down (aspect kept) to fit the column."""
    if width > COLUMN_WIDTH_IN:
        height *= COLUMN_WIDTH_IN / width
        width = COLUMN_WIDTH_IN
    return plt.subplots(figsize=(width, height), dpi=DPI, **subplots_kw)


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------

Format = str | Callable[[Any], str]


class Table:
    """A table for a notebook: an HTML table in the page, aligned text as its plain repr.

    Numbers are right-aligned and text left-aligned; on a narrow screen the table scrolls inside
    its own box. ``frame`` holds the values (not the formatted strings), so they can be asserted.
    """

    def __init__(self, frame, formats: Mapping[str, Format] | None = None, caption: str | None = None):
        self.frame = frame
        self.formats = dict(formats or {})
        self.caption = caption
        unknown = set(self.formats) - set(frame.columns)
        if unknown:
            raise ValueError(f"formats names columns the table does not have: {sorted(unknown)}")

    def _cell(self, column: str, value: Any) -> str:
        fmt = self.formats.get(column)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return "–"
        if fmt is None:
            if isinstance(value, (bool, np.bool_)):
                return "yes" if value else "no"
            if isinstance(value, (int, np.integer)):
                return f"{int(value):,}"
            if isinstance(value, (float, np.floating)):
                return f"{float(value):.4g}"
            return str(value)
        return fmt(value) if callable(fmt) else fmt.format(value)

    def _numeric(self, column: str) -> bool:
        values = [v for v in self.frame[column] if v is not None]
        return bool(values) and all(isinstance(v, (int, float, np.integer, np.floating))
                                    and not isinstance(v, (bool, np.bool_)) for v in values)

    def strings(self) -> list[list[str]]:
        """The formatted cells, row by row."""
        return [[self._cell(c, v) for c, v in zip(self.frame.columns, row)]
                for row in self.frame.itertuples(index=False, name=None)]

    def __repr__(self) -> str:
        cols = [str(c) for c in self.frame.columns]
        rows = self.strings()
        widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
        num = [self._numeric(c) for c in self.frame.columns]
        def line(cells):
            return "  ".join(s.rjust(w) if n else s.ljust(w) for s, w, n in zip(cells, widths, num)).rstrip()
        out = ([self.caption] if self.caption else []) + [line(cols)] + [line(r) for r in rows]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        num = [self._numeric(c) for c in self.frame.columns]
        def td(tag, s, n):
            align = "right" if n else "left"
            return (f'<{tag} class="{"num" if n else "text"}" style="text-align: {align}">'
                    f"{_html.escape(s)}</{tag}>")
        head = "".join(td("th", str(c), n) for c, n in zip(self.frame.columns, num))
        body = "".join("<tr>" + "".join(td("td", s, n) for s, n in zip(r, num)) + "</tr>"
                       for r in self.strings())
        cap = f"<caption>{_html.escape(self.caption)}</caption>" if self.caption else ""
        return (f'<div class="cnnbook-table" style="overflow-x: auto; max-width: 100%"><table class="table">{cap}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table></div>")


def table(rows, columns: Sequence[str] | None = None, *, formats: Mapping[str, Format] | None = None,
          caption: str | None = None) -> Table:
    """Build a :class:`Table` from a DataFrame, a list of dicts, or a list of rows plus ``columns``.

    ``formats`` maps a column to a format string (``"{:.1%}"``) or a function; without one,
    integers get thousands separators and floats four significant digits. Put units in the
    column names (``"params (M)"``).
    """
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        frame = rows.reset_index(drop=True) if columns is None else rows[list(columns)].reset_index(drop=True)
    else:
        if isinstance(rows, (str, bytes)) or not isinstance(rows, (Sequence, np.ndarray)) and not hasattr(rows, "__iter__"):
            raise ValueError(f"rows must be a DataFrame or a sequence of rows, got {type(rows).__name__}")
        rows = list(rows)
        if not rows:
            raise ValueError("rows is empty")
        if all(isinstance(r, Mapping) for r in rows):
            frame = pd.DataFrame(rows, columns=list(columns) if columns is not None else None)
        else:
            if columns is None:
                raise ValueError("columns is required when rows are sequences, not dicts")
            bad = [i for i, r in enumerate(rows) if len(r) != len(columns)]
            if bad:
                raise ValueError(f"rows {bad[:5]} do not have {len(columns)} values (one per column)")
            frame = pd.DataFrame([list(r) for r in rows], columns=list(columns), dtype=object)
    frame = frame.astype(object).where(frame.notna(), None)
    return Table(frame, formats, caption)


def _array(value: Any, arg: str, ndims: Sequence[int]) -> np.ndarray:
    """``value`` as a numeric array whose rank is in ``ndims``, else ValueError naming ``arg``."""
    try:
        a = np.asarray(value)
    except Exception:  # pragma: no cover - exotic inputs
        raise ValueError(f"{arg} must be array-like, got {type(value).__name__}") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{arg} must hold numbers, got dtype {a.dtype}")
    if a.ndim not in ndims:
        raise ValueError(f"{arg} must have {' or '.join(str(n) for n in ndims)} dimensions, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{arg} is empty (shape {a.shape})")
    return a


def _positive_int(value: Any, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{arg} must be a positive int, got {value!r}")
    return int(value)


def _normalise(img: np.ndarray) -> np.ndarray:
    img = img.astype(np.float32)
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)


def _show(ax, img: np.ndarray, cmap: str = "gray", normalise: bool = False) -> None:
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if normalise:
        img = _normalise(img)
    if img.ndim == 2:
        ax.imshow(img, cmap=cmap, interpolation="nearest")
    else:
        ax.imshow(np.clip(img, 0, 1) if img.dtype.kind == "f" else img, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _grid(n: int, ncols: int, cell: float = 1.2, title: str | None = None):
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = _figure(cell * ncols, cell * nrows + (0.4 if title else 0), nrows=nrows, ncols=ncols,
                        squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig, axes.flat


def _fmt_value(v: float) -> str:
    v = float(v)
    if v == int(v) and abs(v) < 1e5:
        return str(int(v))
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def _cells(ax, values: np.ndarray, *, pad: int = 0, window: tuple[int, int, int, int] | None = None,
           shown: np.ndarray | None = None, cmap: str = "Blues", title: str | None = None,
           fontsize: float | None = None, block: int | None = None,
           box: tuple[float, float] | None = None) -> None:
    """Draw a 2-D array as a grid of cells with its numbers written in them.

    ``pad`` outer rings are drawn as zero padding (grey, italic); ``window`` = (row, col, h, w)
    gets a red frame; ``shown`` (bool, same shape) hides the cells not computed yet; ``block``
    colours the cells by pooling window instead of by value; ``box`` = (width, height) in cells
    sets the axes' extent (grid centred at the top), so that panels share one cell size.
    """
    h, w = values.shape
    finite = values[shown] if shown is not None and shown.any() else values
    lo, hi = float(np.min(finite)), float(np.max(finite))
    norm = plt.Normalize(lo - 0.25 * (hi - lo + 1e-9), hi + 0.6 * (hi - lo + 1e-9))
    cm = plt.get_cmap(cmap)
    block_colours = ["#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6", "#ffffcc", "#e5d8bd", "#fddaec"]
    fs = fontsize or max(5.0, 11.0 - 0.5 * max(h, w))
    for i in range(h):
        for j in range(w):
            in_pad = i < pad or j < pad or i >= h - pad or j >= w - pad
            hidden = shown is not None and not shown[i, j]
            if in_pad:
                face = "#eeeeee"
            elif hidden:
                face = "white"
            elif block is not None:
                bi, bj = (i - pad) // block, (j - pad) // block
                face = block_colours[(bi * 3 + bj) % len(block_colours)]
            else:
                face = cm(norm(values[i, j]))
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=face, edgecolor="#555555", lw=0.6))
            if not hidden:
                ax.text(j + 0.5, i + 0.5, _fmt_value(values[i, j]), ha="center", va="center",
                        fontsize=fs, color="#777777" if in_pad else "black", style="italic" if in_pad else "normal")
    if window is not None:
        r, c, wh, ww = window
        ax.add_patch(Rectangle((c, r), ww, wh, fill=False, edgecolor="red", lw=2.2))
    bw, bh = box if box is not None else (w, h)
    left = (bw - w) / 2
    ax.set_xlim(-left - 0.05, w + left + 0.05)
    ax.set_ylim(max(bh, h) + 0.05, -0.05)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)


def _small_matrix(value: Any, arg: str, max_side: int = 12) -> np.ndarray:
    a = _array(value, arg, (2,))
    if max(a.shape) > max_side:
        raise ValueError(f"{arg} must be at most {max_side}x{max_side} so its numbers stay readable, got {a.shape}")
    return a
