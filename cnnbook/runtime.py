"""Where the book runs: profile (quick/full), per-cell budgets, seeding, device report.

Distribution and mixed precision live in :mod:`cnnbook.distribute`; their names
(:func:`~cnnbook.distribute.strategy`, :func:`~cnnbook.distribute.use_mixed_precision`, ...)
are also reachable here, as the same objects.

The same notebook cell runs on a 2-core laptop and on a GPU. It asks :func:`budget` for its
sizes, and gets the ``quick`` values where there is no GPU (or ``CNNBOOK_PROFILE=quick``) and the
``full`` values where there is one (or ``CNNBOOK_PROFILE=full``)::

    from cnnbook import runtime
    b = runtime.budget(quick={"epochs": 3, "n_train": 2000}, full={"epochs": 30, "n_train": None})
    model.fit(x[: b.n_train], y[: b.n_train], epochs=b.epochs)
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from typing import Any

from cnnbook import validate as check

PROFILES = ("quick", "full")
ENV_VAR = "CNNBOOK_PROFILE"
SMOKE_ENV_VAR = "CNNBOOK_SMOKE"
PROGRESS_ENV_VAR = "CNNBOOK_PROGRESS"

__all__ = ["PROFILES", "ENV_VAR", "SMOKE_ENV_VAR", "PROGRESS_ENV_VAR", "profile", "smoke", "progress",
           "has_gpu", "budget", "Budget", "seed", "device_report"]

# moved to cnnbook.distribute; served from there on first use (distribute imports this module)
_MOVED = ("MIXED_ENV_VAR", "split_cpu", "parse_tf_config", "strategy", "replicas", "global_batch",
          "mixed_precision_supported", "use_mixed_precision", "configure_gpu")


def __getattr__(name: str):
    if name in _MOVED:
        from cnnbook import distribute

        return getattr(distribute, name)
    raise AttributeError(f"module 'cnnbook.runtime' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_MOVED))


def has_gpu() -> bool:
    """True when the Keras backend sees at least one GPU (TensorFlow, JAX or PyTorch)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    if backend == "torch":
        import torch

        return bool(torch.cuda.is_available())
    if backend != "tensorflow":
        return False
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def smoke() -> bool:
    """True when ``CNNBOOK_SMOKE=1``: the full profile's code, shrunk to a few steps.

    CI uses it to run every full-profile branch of the notebooks on small fixture files in the
    Keras cache format, so that a typo or a shape error in a branch that only a GPU run takes
    fails there, not on a reader's GPU. Each :func:`budget` call says what it shrinks (its
    ``smoke`` values); the numbers such a run prints mean nothing.

    Raises:
        ValueError: ``CNNBOOK_SMOKE`` is set to something other than ``0`` or ``1``, or it is
            ``1`` together with ``CNNBOOK_PROFILE=quick``.
    """
    value = os.environ.get(SMOKE_ENV_VAR, "").strip()
    if value in ("", "0"):
        return False
    if value != "1":
        raise ValueError(f"{SMOKE_ENV_VAR}={value!r} is not allowed; use 1 (full profile at smoke "
                         "scale) or 0 / unset")
    if os.environ.get(ENV_VAR, "").strip().lower() == "quick":
        raise ValueError(f"{SMOKE_ENV_VAR}=1 runs the full profile's code, but {ENV_VAR}=quick; "
                         f"unset one of them")
    return True


def profile() -> str:
    """The active profile: ``"quick"`` or ``"full"``.

    ``CNNBOOK_PROFILE`` wins when set; otherwise ``"full"`` if a GPU is visible or
    ``CNNBOOK_SMOKE=1`` (see :func:`smoke`), else ``"quick"``.

    Raises:
        ValueError: ``CNNBOOK_PROFILE`` holds something other than ``quick`` or ``full``.
    """
    value = os.environ.get(ENV_VAR, "").strip()
    if value:
        if value.lower() not in PROFILES:
            raise ValueError(
                f"{ENV_VAR}={value!r} is not a profile; allowed values are "
                f"{', '.join(repr(p) for p in PROFILES)} (or unset it to choose by GPU presence)"
            )
        smoke()  # refuses CNNBOOK_SMOKE=1 with CNNBOOK_PROFILE=quick
        return value.lower()
    if smoke():
        return "full"
    return "full" if has_gpu() else "quick"


_smoke_run = smoke


def progress() -> int:
    """How much a long run should print, as Keras's ``verbose``: 0 nothing, 1 a progress bar,
    2 one line per epoch.

    ``CNNBOOK_PROGRESS`` (``0``, ``1`` or ``2``) wins when set. Otherwise a full-profile run at
    paper scale (minutes to hours on a GPU) prints one line per epoch, with its time and
    metrics, and everything else (the quick profile the book and the tests use, and
    :func:`smoke` runs) stays quiet.

    Raises:
        ValueError: ``CNNBOOK_PROGRESS`` holds something other than 0, 1 or 2.
    """
    value = os.environ.get(PROGRESS_ENV_VAR, "").strip()
    if value:
        if value not in ("0", "1", "2"):
            raise ValueError(f"{PROGRESS_ENV_VAR}={value!r} is not allowed; use 0 (quiet), 1 (progress "
                             "bar) or 2 (one line per epoch)")
        return int(value)
    return 2 if profile() == "full" and not smoke() else 0


class Budget(Mapping[str, Any]):
    """Read-only sizes for one cell under the active profile; keys are also attributes."""

    def __init__(self, profile_name: str, values: Mapping[str, Any], smoke: bool = False):
        self._profile = profile_name
        self._values = dict(values)
        self._smoke = bool(smoke)

    @property
    def profile(self) -> str:
        """The profile these values belong to."""
        return self._profile

    @property
    def smoke(self) -> bool:
        """True when these are the full profile's values shrunk for a smoke run (:func:`smoke`)."""
        return self._smoke

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(
                f"budget has no entry {key!r}; it has {sorted(self._values)}"
            ) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        tag = f"{self._profile}, smoke" if self._smoke else self._profile
        return f"Budget[{tag}]({inner})"


def budget(*, quick: Mapping[str, Any], full: Mapping[str, Any],
           smoke: Mapping[str, Any] | None = None) -> Budget:
    """Pick a cell's sizes for the active profile.

    Args:
        quick: values for a CPU run (CI, laptops): few epochs, small offline data.
        full: values for a GPU run at paper scale. Must have the same keys as ``quick``.
        smoke: the full values to replace in a smoke run (``CNNBOOK_SMOKE=1``, see
            :func:`smoke`): the same code as ``full``, a few steps on small files. A subset of
            ``full``'s keys; the others keep their full values. Ignored otherwise.

    Returns:
        A :class:`Budget` with the values of the active profile.

    Raises:
        ValueError: ``quick``, ``full`` or ``smoke`` is not a mapping, ``quick`` and ``full``
            name different keys, or ``smoke`` names a key that ``full`` lacks.
    """
    given = [("quick", quick), ("full", full)] + ([("smoke", smoke)] if smoke is not None else [])
    for arg, value in given:
        if not isinstance(value, Mapping):
            raise ValueError(f"{arg} must be a mapping of budget values, got {type(value).__name__}")
    if set(quick) != set(full):
        raise ValueError(
            "quick and full must name the same budget keys; "
            f"only in quick: {sorted(set(quick) - set(full))}, only in full: {sorted(set(full) - set(quick))}"
        )
    if smoke is not None and not set(smoke) <= set(full):
        raise ValueError(f"smoke may only replace keys of full; {sorted(set(smoke) - set(full))} "
                         f"are not among {sorted(full)}")
    name = profile()
    if name == "quick":
        return Budget(name, quick)
    if _smoke_run():  # the argument named smoke hides the function here
        return Budget(name, {**full, **(smoke or {})}, smoke=True)
    return Budget(name, full)


def seed(value: int = 0, *, deterministic: bool | None = None, clear_session: bool = True) -> int:
    """Seed Python, NumPy, TensorFlow and Keras in one call.

    Args:
        value: the seed, a non-negative int.
        deterministic: make TensorFlow ops deterministic
            (``tf.config.experimental.enable_op_determinism``). Default: on when there is no GPU,
            so that CPU runs repeat exactly; GPU runs keep the fast non-deterministic kernels.
        clear_session: reset Keras' global state first (layer-name counters, dtype policy), so
            that model summaries and seeds repeat from cell to cell. Under the full profile on a
            GPU that supports it, the ``mixed_float16`` policy is set again afterwards (see
            :func:`cnnbook.distribute.use_mixed_precision`).

    Returns:
        The seed.
    """
    value = check.non_negative_int(value, "value")
    import keras

    if clear_session:
        from cnnbook import distribute  # called, not imported at load: distribute builds on runtime

        keras.backend.clear_session()
        chosen = distribute.mixed_precision_on()
        if chosen is None:  # full profile on a GPU with tensor cores: mixed_float16
            distribute.use_mixed_precision(None)
        elif chosen:  # clear_session resets the dtype policy; keep the one the run chose
            keras.config.set_dtype_policy("mixed_float16")
    keras.utils.set_random_seed(value)
    if deterministic is None:
        deterministic = not has_gpu()
    if deterministic and keras.backend.backend() == "tensorflow":  # JAX on a CPU is deterministic as it is
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    return value


def device_report() -> str:
    """A short text: profile, versions, devices and CPU threads."""
    import keras
    import numpy as np

    if keras.backend.backend() != "tensorflow":
        import importlib

        backend = importlib.import_module(keras.backend.backend())
        devices = backend.devices() if hasattr(backend, "devices") else []
        return "\n".join([
            f"profile     : {profile()}",
            f"python      : {platform.python_version()}",
            f"keras       : {keras.__version__} (backend {keras.backend.backend()} {backend.__version__})",
            f"numpy       : {np.__version__}",
            f"cpu cores   : {os.cpu_count()}",
            f"gpus        : {', '.join(str(d) for d in devices if getattr(d, 'platform', '') == 'gpu') or 'none'}",
        ])
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    gpu_names = []
    for g in gpus:
        try:
            details = tf.config.experimental.get_device_details(g)
            gpu_names.append(details.get("device_name", g.name))
        except Exception:  # pragma: no cover - depends on the driver
            gpu_names.append(g.name)
    lines = [
        f"profile     : {profile()}",
        f"python      : {platform.python_version()}",
        f"tensorflow  : {tf.__version__}",
        f"keras       : {keras.__version__} (backend {keras.backend.backend()})",
        f"numpy       : {np.__version__}",
        f"cpu cores   : {os.cpu_count()}",
        f"gpus        : {', '.join(gpu_names) if gpu_names else 'none'}",
    ]
    return "\n".join(lines)
