"""cnnbook: the package behind the executable CNN book.

Modules (imported on demand, so ``import cnnbook`` is cheap):

- :mod:`cnnbook.runtime` - quick/full profile, budgets, seeding, device report
- :mod:`cnnbook.data` - dataset registry and loaders (offline first), sample photos
- :mod:`cnnbook.models` - model builders with the keras.applications signature
- :mod:`cnnbook.train` - budgeted, seeded, resumable training
- :mod:`cnnbook.plot` - every figure the book draws
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_MODULES = ("runtime", "data", "models", "train", "plot", "ops", "layers", "pretrained", "nas", "resnet", "lowlevel")


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f"cnnbook.{name}")
    raise AttributeError(f"module 'cnnbook' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_MODULES))
