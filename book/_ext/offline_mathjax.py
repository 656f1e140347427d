"""Serve MathJax 3 from the build itself, so the HTML typesets math with no network.

The files come from the PyPI package ``django-static-mathjax`` (MathJax 3.2.2, Apache-2.0),
installed with the ``book`` extra; nothing third-party is committed to this repository.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

# Sphinx resolves a relative mathjax_path against _static/ of the output.
MATHJAX_URL = "mathjax/tex-mml-chtml.js"


def _mathjax_es5() -> Path:
    try:
        import mathjax  # django-static-mathjax installs the files as the `mathjax` package
    except ImportError as exc:  # pragma: no cover - the book extra is missing
        raise ExtensionError(
            "MathJax files not found: install the book extra (pip install -e '.[book]'), "
            "which brings django-static-mathjax"
        ) from exc
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-mml-chtml.js").exists():
        raise ExtensionError(f"MathJax's tex-mml-chtml.js is not under {es5}")
    return es5


def _copy(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "mathjax"
    shutil.copytree(_mathjax_es5(), dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.map", "node-main*"))


def setup(app: Sphinx):
    _mathjax_es5()  # fail at start-up, not after the build, when the files are missing
    app.config.mathjax_path = MATHJAX_URL
    app.connect("build-finished", _copy)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
