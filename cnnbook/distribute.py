"""Training on several devices or machines, and mixed precision.

- :func:`strategy`: the ``tf.distribute`` strategy for what is there (one device, several GPUs,
  several machines named by ``TF_CONFIG``); build and compile the model in its scope and
  :func:`cnnbook.train.fit` trains it on every replica.
- :func:`split_cpu`: several logical CPUs, to try ``MirroredStrategy`` without GPUs.
- :func:`parse_tf_config`, :func:`replicas`, :func:`global_batch`.
- :func:`use_mixed_precision`, :func:`mixed_precision_supported`, :func:`configure_gpu`: the
  ``mixed_float16`` policy on GPUs with tensor cores (the full profile's default).

These names are also importable from :mod:`cnnbook.runtime`, where they used to live.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cnnbook import compat
from cnnbook import validate as check
from cnnbook.runtime import profile

__all__ = ["MIXED_ENV_VAR", "split_cpu", "parse_tf_config", "strategy", "replicas", "global_batch",
           "mixed_precision_supported", "use_mixed_precision", "mixed_precision_on", "configure_gpu"]

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
    n = check.positive_int(n, "n")
    tf = compat.tensorflow("cnnbook.distribute.split_cpu")

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
    tf = compat.tensorflow("cnnbook.distribute.strategy")

    cfg = parse_tf_config()
    if cfg is not None and sum(len(a) for a in cfg["cluster"].values()) > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if devices is not None:
        if isinstance(devices, (str, bytes)) or not isinstance(devices, Sequence) \
                or not all(isinstance(d, str) for d in devices):
            raise check.ArgumentTypeError(f"devices must be a list of device names such as ['/gpu:0', '/gpu:1'], "
                                          f"got {check.describe(devices)}")
        devices = [str(d) for d in devices]
        if not devices:
            raise ValueError("devices must name at least one device, e.g. ['/gpu:0', '/gpu:1']")
        _check_devices_exist(devices)
        if len(devices) == 1:
            return tf.distribute.OneDeviceStrategy(devices[0])
        return tf.distribute.MirroredStrategy(devices)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([g.name for g in gpus])
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


def _check_devices_exist(devices: Sequence[str]) -> None:
    """Refuse local device names the runtime does not see (a strategy over them would hang)."""
    tf = compat.tensorflow("cnnbook.distribute._check_devices_exist")

    present = tf.config.list_logical_devices()
    seen = {(tf.DeviceSpec.from_string(d.name).device_type.upper(), tf.DeviceSpec.from_string(d.name).device_index)
            for d in present}
    missing = []
    for name in devices:
        try:
            spec = tf.DeviceSpec.from_string(name)
        except (ValueError, TypeError):
            raise ValueError(f"devices: {name!r} is not a device name such as '/gpu:0'") from None
        if spec.job not in (None, "localhost"):
            continue  # a device of another task: the cluster checks it
        if spec.device_type is None:
            raise ValueError(f"devices: {name!r} does not name a device type, e.g. '/gpu:0' or '/cpu:0'")
        if (spec.device_type.upper(), spec.device_index if spec.device_index is not None else 0) not in seen:
            missing.append(name)
    if missing:
        names = ", ".join(d.name for d in present) or "none"
        raise ValueError(f"devices {missing} do not exist on this machine; the devices TensorFlow sees are: {names}")


def replicas(strat=None) -> int:
    """Number of replicas that train in sync (1 without a strategy)."""
    tf = compat.tensorflow("cnnbook.distribute.replicas")

    return int((strat or tf.distribute.get_strategy()).num_replicas_in_sync)


def global_batch(per_replica: int, strat=None) -> int:
    """The global batch: ``per_replica`` examples on each of the strategy's replicas."""
    per_replica = check.positive_int(per_replica, "per_replica")
    return per_replica * replicas(strat)


def _capability(value) -> tuple[int, int]:
    """``(major, minor)`` of a compute capability given as ``"9.0"`` or ``(9, 0)``; (0, 0) if unreadable."""
    parts = list(value) if isinstance(value, (tuple, list)) else str(value or "").split(".")
    try:
        return (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0)
    except (ValueError, IndexError):
        return (0, 0)


def mixed_precision_supported() -> bool:
    """True when every visible GPU has compute capability 7.0 or more (tensor cores).

    Asked of the Keras backend's own runtime: TensorFlow's device details, JAX's
    ``device.compute_capability`` or ``torch.cuda.get_device_capability``; no TensorFlow is
    needed under JAX or PyTorch. False without a GPU, or when a capability cannot be read.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        return bool(gpus) and all(_capability(getattr(d, "compute_capability", None)) >= (7, 0) for d in gpus)
    if backend == "torch":
        import torch

        if not torch.cuda.is_available():
            return False
        return all(_capability(torch.cuda.get_device_capability(i)) >= (7, 0)
                   for i in range(torch.cuda.device_count()))
    tf = compat.tensorflow("cnnbook.distribute.mixed_precision_supported")

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


def mixed_precision_on() -> bool | None:
    """Whether this process chose mixed precision: True / False, or None while undecided (then
    :func:`cnnbook.runtime.seed` decides on its first call, see :func:`use_mixed_precision`)."""
    return _MIXED["on"] if _MIXED["decided"] else None


def configure_gpu(*, memory_growth: bool = True, mixed_precision: bool | None = None) -> dict:
    """Prepare the GPUs for the full profile: memory growth and mixed precision.

    XLA needs nothing here: Keras's default ``jit_compile="auto"`` compiles the training step
    with XLA on a GPU and leaves it off on a CPU. Call this first, before any tensor exists.

    Returns:
        ``{"gpus": n, "mixed_precision": bool}``.
    """
    tf = compat.tensorflow("cnnbook.distribute.configure_gpu")

    gpus = tf.config.list_physical_devices("GPU")
    if memory_growth:
        for g in gpus:
            try:
                tf.config.experimental.set_memory_growth(g, True)
            except RuntimeError:  # already initialised: keep TF's default
                pass
    return {"gpus": len(gpus), "mixed_precision": use_mixed_precision(mixed_precision)}
