"""pytest settings for the notebooks under book/ (collected by nbval, see pyproject.toml).

The environment set here is inherited by the kernels nbval starts.
"""

import os

# Tests run the quick profile unless the caller asks otherwise; TF's C++ logging stays quiet.
os.environ.setdefault("CNNBOOK_PROFILE", "quick")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYTHONHASHSEED", "0")
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def pytest_collectstart(collector):
    # nbval compares text only; stderr (Python warnings, TF logs) and HTML reprs are not compared.
    if hasattr(collector, "skip_compare"):
        collector.skip_compare += ("stderr", "text/html", "application/javascript")
