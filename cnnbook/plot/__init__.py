"""Every figure the book draws, grouped by idea. Each function returns a ``matplotlib.figure.Figure``.

=========================  ===================================================================
module                     what its figures show
=========================  ===================================================================
``plot.images``            arrays as images: image grids, filters, feature maps, channels, bars
``plot.convolution``       convolution and pooling step by step (figures and animations)
``plot.training``          training histories, filters and maps over epochs, per-layer profiles
``plot.architectures``     stage and block diagrams, Inception modules, squeeze-excite analysis
``plot.search``            architecture search rewards, NASNet cells, activation functions
``plot._base``             the legibility rule (:data:`COLUMN_WIDTH_IN`, :data:`MIN_FONT_PT`) and
                           :func:`table`
=========================  ===================================================================

Every name is re-exported here, so ``plot.conv_steps(...)`` works as well as
``plot.convolution.conv_steps(...)``.

**The legibility rule.** The book's text column is :data:`COLUMN_WIDTH_IN` inches wide at
:data:`DPI` dots per inch. A figure is drawn at most that wide, with no text smaller than
:data:`MIN_FONT_PT` points, so that when it is shown at the column width its smallest text is at
least :data:`MIN_TEXT_PX` pixels high. Every function here ends with :func:`check_legible`, which
raises if a figure breaks the rule. Importing :mod:`cnnbook.plot` sets matplotlib's font sizes
and resolution to the book's style (:func:`use_book_style`).

The functions check what they are given and raise ``ValueError`` naming the argument, so a
wrong array shape never surfaces as a matplotlib traceback.
"""

from cnnbook.plot._base import (
    COLUMN_WIDTH_IN,
    DPI,
    MIN_FONT_PT,
    MIN_TEXT_PX,
    Table,
    check_legible,
    table,
    use_book_style,
)
from cnnbook.plot.architectures import *  # noqa: F403
from cnnbook.plot.convolution import *  # noqa: F403
from cnnbook.plot.images import *  # noqa: F403
from cnnbook.plot.search import *  # noqa: F403
from cnnbook.plot.training import *  # noqa: F403
from cnnbook.plot import architectures, convolution, images, search, training

__all__ = [
    "COLUMN_WIDTH_IN", "DPI", "MIN_FONT_PT", "MIN_TEXT_PX", "Table", "check_legible", "table",
    "use_book_style",
    *architectures.__all__, *convolution.__all__, *images.__all__, *search.__all__, *training.__all__,
]

use_book_style()
