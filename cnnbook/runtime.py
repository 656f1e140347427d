"""Where the book runs: profile (quick/full), per-cell budgets, seeding, device report.

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
from collections.abc import Mapping, Sequence
from typing import Any

PROFILES = ("quick", "full")
ENV_VAR = "CNNBOOK_PROFILE"

__all__ = ["PROFILES", "ENV_VAR", "profile", "has_gpu", "budget", "Budget", "seed", "device_report",
           "MIXED_ENV_VAR", "split_cpu", "parse_tf_config", "strategy", "replicas", "global_batch",
           "mixed_precision_supported", "use_mixed_precision", "configure_gpu"]


def has_gpu() -> bool:
    """True when TensorFlow sees at least one GPU."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def profile() -> str:
    """The active profile: ``"quick"`` or ``"full"``.

    ``CNNBOOK_PROFILE`` wins when set; otherwise ``"full"`` if a GPU is visible, else
    ``"quick"``.

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
        return value.lower()
    return "full" if has_gpu() else "quick"


class Budget(Mapping[str, Any]):
    """Read-only sizes for one cell under the active profile; keys are also attributes."""

    def __init__(self, profile_name: str, values: Mapping[str, Any]):
        self._profile = profile_name
        self._values = dict(values)

    @property
    def profile(self) -> str:
        """The profile these values belong to."""
        return self._profile

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
        return f"Budget[{self._profile}]({inner})"


def budget(*, quick: Mapping[str, Any], full: Mapping[str, Any]) -> Budget:
    """Pick a cell's sizes for the active profile.

    Args:
        quick: values for a CPU run (CI, laptops): few epochs, small offline data.
        full: values for a GPU run at paper scale. Must have the same keys as ``quick``.

    Returns:
        A :class:`Budget` with the values of the active profile.

    Raises:
        ValueError: ``quick`` or ``full`` is not a mapping, or their keys differ.
    """
    for arg, value in (("quick", quick), ("full", full)):
        if not isinstance(value, Mapping):
            raise ValueError(f"{arg} must be a mapping of budget values, got {type(value).__name__}")
    if set(quick) != set(full):
        raise ValueError(
            "quick and full must name the same budget keys; "
            f"only in quick: {sorted(set(quick) - set(full))}, only in full: {sorted(set(full) - set(quick))}"
        )
    name = profile()
    return Budget(name, quick if name == "quick" else full)


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
            :func:`use_mixed_precision`).

    Returns:
        The seed.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"value must be a non-negative int, got {value!r}")
    import keras
    import tensorflow as tf

    if clear_session:
        keras.backend.clear_session()
        if not _MIXED["decided"]:  # full profile on a GPU with tensor cores: mixed_float16
            use_mixed_precision(None)
        elif _MIXED["on"]:  # clear_session resets the dtype policy; keep the one the run chose
            keras.config.set_dtype_policy("mixed_float16")
    keras.utils.set_random_seed(value)
    if deterministic is None:
        deterministic = not has_gpu()
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    return value


def device_report() -> str:
    """A short text: profile, versions, devices and CPU threads."""
    import keras
    import numpy as np
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


# --------------------------------------------------------------------------------------------
# scale: GPUs, several devices, several machines
# --------------------------------------------------------------------------------------------

#: Set to ``0`` to keep float32 on a GPU under the full profile, ``1`` to ask for mixed precision.
MIXED_ENV_VAR = "CNNBOOK_MIXED_PRECISION"

_MIXED = {"on": False, "decided": False}


def split_cpu(n: int) -> list[str]:
    """Split the CPU into ``n`` logical devices, so that ``MirroredStrategy`` can be tried (and
    tested) on a machine without GPUs.

    Must run before TensorFlow initialises its devices (before the first operation).

    Returns:
        The logical device names, e.g. ``["/device:CPU:0", "/device:CPU:1"]``.

    Raises:
        ValueError: ``n`` is not a positive int.
        RuntimeError: TensorFlow has already initialised its devices.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError as err:
        raise RuntimeError(
            "split_cpu must run before TensorFlow initialises its devices (before any tensor is "
            f"created); start a fresh process and call it first ({err})"
        ) from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def parse_tf_config(text: str | None = None) -> dict | None:
    """Read and check a ``TF_CONFIG`` (the environment variable when ``text`` is None).

    ``TF_CONFIG`` tells each process of a multi-machine run who is in the cluster and who it is::

        {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}

    Returns:
        The parsed dict, or None when ``TF_CONFIG`` is unset or empty.

    Raises:
        ValueError: not valid JSON, no ``cluster``/``task``, an address named twice, or a task
            that is not in the cluster.
    """
    if text is None:
        text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        return None
    import json

    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"TF_CONFIG is not valid JSON ({err.msg} at character {err.pos}): {text[:80]!r}") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("cluster"), dict) or not cfg["cluster"]:
        raise ValueError('TF_CONFIG must be a JSON object with a "cluster" mapping job names to lists of '
                         f'"host:port" addresses, got {text[:80]!r}')
    seen: dict[str, str] = {}
    for job, addresses in cfg["cluster"].items():
        if not isinstance(addresses, list) or not addresses:
            raise ValueError(f"TF_CONFIG: cluster[{job!r}] must be a non-empty list of 'host:port', got {addresses!r}")
        for i, addr in enumerate(addresses):
            if not isinstance(addr, str) or ":" not in addr:
                raise ValueError(f"TF_CONFIG: cluster[{job!r}][{i}] must be 'host:port', got {addr!r}")
            if addr in seen:
                raise ValueError(f"TF_CONFIG names {addr} twice ({seen[addr]} and {job}[{i}]); every task needs "
                                 "its own host:port")
            seen[addr] = f"{job}[{i}]"
    task = cfg.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError('TF_CONFIG must have a "task" with "type" and "index" (which entry of the cluster '
                         f"this process is), got {task!r}")
    jobs = cfg["cluster"]
    if task["type"] not in jobs:
        raise ValueError(f"TF_CONFIG: task type {task['type']!r} is not a job of the cluster {sorted(jobs)}")
    index = task["index"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(jobs[task["type"]]):
        raise ValueError(f"TF_CONFIG: task index {index!r} is not in 0..{len(jobs[task['type']]) - 1} "
                         f"for job {task['type']!r}")
    return cfg


def strategy(devices: Sequence[str] | None = None):
    """The ``tf.distribute`` strategy for what is there.

    - ``TF_CONFIG`` names a cluster of several tasks: ``MultiWorkerMirroredStrategy`` (one
      process per machine; create it at the start of the program);
    - ``devices`` given: ``MirroredStrategy`` over them (one of them: ``OneDeviceStrategy``);
    - several GPUs: ``MirroredStrategy`` over all of them;
    - otherwise ``OneDeviceStrategy`` on the GPU, or on the CPU.

    Build and compile the model inside ``strategy.scope()``; :func:`cnnbook.train.fit` then
    trains it on every replica with the global batch ``batch_size`` x :func:`replicas`.

    Raises:
        ValueError: a bad ``TF_CONFIG`` (see :func:`parse_tf_config`) or an empty ``devices``.
    """
    import tensorflow as tf

    cfg = parse_tf_config()
    if cfg is not None and sum(len(a) for a in cfg["cluster"].values()) > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if devices is not None:
        devices = [str(d) for d in devices]
        if not devices:
            raise ValueError("devices must name at least one device, e.g. ['/gpu:0', '/gpu:1']")
        if len(devices) == 1:
            return tf.distribute.OneDeviceStrategy(devices[0])
        return tf.distribute.MirroredStrategy(devices)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([g.name for g in gpus])
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


def replicas(strat=None) -> int:
    """Number of replicas that train in sync (1 without a strategy)."""
    import tensorflow as tf

    return int((strat or tf.distribute.get_strategy()).num_replicas_in_sync)


def global_batch(per_replica: int, strat=None) -> int:
    """The global batch: ``per_replica`` examples on each of the strategy's replicas."""
    if isinstance(per_replica, bool) or not isinstance(per_replica, int) or per_replica < 1:
        raise ValueError(f"per_replica must be a positive int, got {per_replica!r}")
    return per_replica * replicas(strat)


def mixed_precision_supported() -> bool:
    """True when every visible GPU has compute capability 7.0 or more (tensor cores)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return False
    for g in gpus:
        try:
            cc = tf.config.experimental.get_device_details(g).get("compute_capability", (0, 0))
        except Exception:  # pragma: no cover - depends on the driver
            return False
        if tuple(cc) < (7, 0):
            return False
    return True


def use_mixed_precision(enable: bool | None = None) -> bool:
    """Switch Keras's ``mixed_float16`` policy on or off; :func:`seed` keeps the choice.

    Layers then compute in float16 and keep float32 weights; ``compile`` adds loss scaling. The
    model's last layer should compute in float32 (``dtype="float32"``, as
    :func:`cnnbook.models.mnist_convnet` does) so that the softmax does not saturate.

    Args:
        enable: True / False; None decides: on under the full profile where
            :func:`mixed_precision_supported`, unless ``CNNBOOK_MIXED_PRECISION=0``.

    Returns:
        Whether mixed precision is now on.
    """
    import keras

    if enable is None:
        flag = os.environ.get(MIXED_ENV_VAR, "").strip()
        if flag not in ("", "0", "1"):
            raise ValueError(f"{MIXED_ENV_VAR}={flag!r}: use 0 or 1 (or unset it)")
        enable = flag != "0" and profile() == "full" and mixed_precision_supported()
    _MIXED["on"] = bool(enable)
    _MIXED["decided"] = True
    keras.config.set_dtype_policy("mixed_float16" if enable else "float32")
    return bool(enable)


def configure_gpu(*, memory_growth: bool = True, mixed_precision: bool | None = None) -> dict:
    """Prepare the GPUs for the full profile: memory growth and mixed precision.

    XLA needs nothing here: Keras's default ``jit_compile="auto"`` compiles the training step
    with XLA on a GPU and leaves it off on a CPU. Call this first, before any tensor exists.

    Returns:
        ``{"gpus": n, "mixed_precision": bool}``.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if memory_growth:
        for g in gpus:
            try:
                tf.config.experimental.set_memory_growth(g, True)
            except RuntimeError:  # already initialised: keep TF's default
                pass
    return {"gpus": len(gpus), "mixed_precision": use_mixed_precision(mixed_precision)}
