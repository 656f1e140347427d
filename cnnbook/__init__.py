"""cnnbook: the package behind the executable CNN book.

Modules (imported on demand, so ``import cnnbook`` is cheap), bottom of the stack first:

- :mod:`cnnbook.validate` - the argument checks every public function shares
- :mod:`cnnbook.compat` - every use of a private Keras internal, checked against the pinned Keras
- :mod:`cnnbook.ops` - NumPy reference convolution and pooling, output-size and receptive-field arithmetic
- :mod:`cnnbook.runtime` - quick/full profile, budgets, seeding, device report
- :mod:`cnnbook.distribute` - tf.distribute strategies, several devices and machines, mixed precision
- :mod:`cnnbook.data` - dataset registry and loaders (offline first), sample photos
- :mod:`cnnbook.layers` - serialisable Keras blocks (conv-BN-act, shortcuts, squeeze-excite) and the shared classifier head
- :mod:`cnnbook.measure` - parameters, multiply-adds, layer tables, gradient/activation statistics, excitations, accuracy
- :mod:`cnnbook.train` - the one training path (budgeted, seeded, resumable fit) and the papers' recipes
- :mod:`cnnbook.resnet` - the residual-network builders (CIFAR and ImageNet families, SE variants)
- :mod:`cnnbook.models` - the small builders, the builder contract and the registry (names(), get())
- :mod:`cnnbook.applications` - the keras.applications catalog, ImageNet weights from the Keras cache, top-k
- :mod:`cnnbook.shipped` - the small pretrained CNN that ships with the package, and few-shot transfer
- :mod:`cnnbook.pretrained` - chapter 5's single import: applications + shipped + measuring, re-exported
- :mod:`cnnbook.nas` - the NASNet search space, child networks and the architecture search
- :mod:`cnnbook.lowlevel` - chapter 3's low-level TensorFlow CNN (the teaching example of a custom loop)
- :mod:`cnnbook.plot` - every figure the book draws, by topic
"""

from __future__ import annotations

import importlib
import os

__version__ = "0.1.0"

#: Keras backends cnnbook runs on (TensorFlow: everything; JAX and PyTorch: all but the parts that exist
#: to show TensorFlow itself, which say so when used).
BACKENDS = ("tensorflow", "jax", "torch")

_backend = os.environ.get("KERAS_BACKEND")
if _backend is not None and _backend not in BACKENDS:
    raise ImportError(
        f"KERAS_BACKEND={_backend!r} is not a Keras backend cnnbook runs on; use one of {', '.join(BACKENDS)} "
        "(tensorflow needs the tensorflow package, jax needs jax and jaxlib, torch needs torch), or unset it "
        "for Keras's default (tensorflow)."
    )

_MODULES = ("validate", "compat", "ops", "runtime", "distribute", "data", "layers", "measure", "train", "resnet",
            "models", "applications", "shipped", "pretrained", "nas", "lowlevel", "plot")


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f"cnnbook.{name}")
    raise AttributeError(f"module 'cnnbook' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_MODULES))
