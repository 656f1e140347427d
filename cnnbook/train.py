"""The one training path: budgeted, seeded, resumable training around ``keras.Model.fit``, and
the papers' recipes built on it.

Every Keras model the package trains goes through :func:`fit` (chapter 3's low-level
TensorFlow network, :mod:`cnnbook.lowlevel`, is the teaching exception): the comparison runs of
the ResNet and SENet chapters (:func:`compare_training`), the few-shot transfer of chapter 5
(:func:`cnnbook.shipped.fit_few`). The papers' CIFAR recipe is :func:`paper_optimizer` (SGD,
momentum, step schedule, warm-up) with :func:`training_dataset` (shuffling, pad-crop-flip
augmentation, mean subtraction). The one other loop, :func:`fast_fit`, trains the dozens of
short-lived children of an architecture search with one compiled step and the same seeding
contract (``benchmarks/fast_fit.py`` measures why).

:func:`fit` adds a few things to ``model.fit`` and nothing else:

- checks of the model against the data (image rank and size, channel count, labels against the
  number of classes, a positive number of epochs) that fail with a ``ValueError`` before training;
- a seed: with array data, the order of the examples in epoch ``e`` and the random masks of
  layers such as ``Dropout`` are functions of ``(seed, e)`` only, so a run repeats exactly on a
  CPU and a resumed run continues as if it had never stopped;
- a wall-clock budget (:class:`TimeBudget`);
- resumption of a killed run through Keras's ``BackupAndRestore`` callback when ``backup_dir``
  is given, refusing a folder written by another model or run;
- distribution: a model built inside a ``tf.distribute`` strategy's scope (see
  :func:`cnnbook.distribute.strategy`) is trained on all its replicas, with the global batch
  ``batch_size`` x replicas.

Metrics, progress bars and the history are Keras's own.

Progress: a full-profile run at paper scale takes minutes to hours, so every training entry point
here reports as it goes when :func:`cnnbook.runtime.progress` says so (``CNNBOOK_PROGRESS``, or the
full profile on a GPU), and prints nothing under the quick profile (the book build, the tests) or a
smoke run: :func:`fit` passes that level to Keras (one line per epoch at 2), :func:`compare_training`
prints one line per chunk and per run, :func:`fast_fit` one line per epoch. Each takes a
``verbose`` argument that overrides it (None: ask :func:`cnnbook.runtime.progress`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any
from pathlib import Path

import keras
import numpy as np

from cnnbook import compat, runtime
from cnnbook import validate as check

__all__ = ["fit", "TimeBudget", "EpochSeeds", "Snapshots", "StopOnNonFinite", "TrainingDiverged",
           "epoch_dataset", "resume_epoch", "RUN_FILE", "LOCK_FILE", "paper_optimizer", "training_dataset",
           "compare_training", "fast_fit", "seed_layers", "resolve_verbose"]

#: File that :func:`fit` writes into ``backup_dir`` to recognise its own runs.
RUN_FILE = "cnnbook_run.json"

#: File that :func:`fit` holds in ``backup_dir`` while it trains (process id and host name), so a
#: second process cannot write into a folder in use.
LOCK_FILE = "cnnbook.lock"


def resolve_verbose(verbose: Any, arg: str = "verbose", *, allow_auto: bool = False) -> int | str:
    """The progress level a training call uses: ``verbose``, or :func:`cnnbook.runtime.progress` when None.

    Args:
        verbose: 0 (print nothing), 1 (a progress bar where Keras draws one; a line per epoch, chunk
            or child in cnnbook's own loops), 2 (one line per epoch), None (``runtime.progress()``:
            2 for a full-profile run at paper scale, 0 under the quick profile and in smoke runs,
            or ``CNNBOOK_PROGRESS``), or ``"auto"`` where ``allow_auto`` (Keras's own choice).
        arg: the argument's name, for the error message.
        allow_auto: accept ``"auto"`` (it is passed on to ``model.fit``).

    Returns:
        0, 1, 2, or ``"auto"``.

    Raises:
        ValueError: ``verbose`` is anything else (a bool, 3, "2", ...); also a ``TypeError`` for a
            value of the wrong type.
    """
    if verbose is None:
        return runtime.progress()
    if allow_auto and isinstance(verbose, str) and verbose == "auto":
        return "auto"
    allowed = "0 (quiet), 1 (progress bar), 2 (one line per epoch)" + (", 'auto'" if allow_auto else "") \
        + " or None (cnnbook.runtime.progress(): 2 at paper scale, 0 under the quick profile)"
    if not check.is_int(verbose):
        raise check.ArgumentTypeError(f"{arg} must be {allowed}, got {check.describe(verbose)}")
    if verbose not in (0, 1, 2):
        raise ValueError(f"{arg} must be {allowed}, got {check.describe(verbose)}")
    return int(verbose)


def _say(text: str) -> None:
    """One progress line, flushed at once (a notebook or a log file shows it while training runs)."""
    print(text, flush=True)


class TrainingDiverged(FloatingPointError):
    """The loss or the weights became NaN or infinite during :func:`fit`."""


class StopOnNonFinite(keras.callbacks.Callback):
    """Stop training with :class:`TrainingDiverged` as soon as the loss or the weights are not finite.

    The loss is checked after every step (as ``keras.callbacks.TerminateOnNaN`` does, but raising an
    error that names the epoch and the step instead of stopping quietly); the weights at the end of
    every epoch, before a backup of that epoch is written (so the last good backup stays in place).
    """

    #: Keras may run the per-step check in its callback thread (as for callbacks without batch hooks):
    #: a batch hook that is not ``async_safe`` makes Keras wait for and convert every step's logs on the
    #: training thread, about 10% more CPU time per step on small models (benchmarks.basics.fit_overhead).
    #: An error raised there still stops ``fit`` (at the next step or at the end of the epoch, before
    #: ``on_epoch_end`` and so before any backup of that epoch).
    async_safe = True

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = int(epoch)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None:
            try:
                value = float(loss)
            except (TypeError, ValueError):
                return
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"training diverged: the loss became {value} at epoch {self._epoch + 1}, step {int(batch) + 1}; "
                    "training stopped (a backup of the last finished epoch, if any, was kept). Lower the "
                    "learning rate, or check the data")

    def on_epoch_end(self, epoch, logs=None):
        bad = []
        for w in self.model.weights:
            try:
                value = keras.ops.convert_to_numpy(w)
            except Exception:  # a variable that cannot be read here (e.g. on another worker)
                continue
            if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
                bad.append(w.path)
        if bad:
            raise TrainingDiverged(
                f"training diverged: after epoch {int(epoch) + 1} the weights {bad[:5]}"
                f"{' and more' if len(bad) > 5 else ''} hold NaN or infinite values; training stopped before "
                "backing up this epoch (a backup of the last good epoch, if any, was kept)")


class TimeBudget(keras.callbacks.Callback):
    """Stop training at the end of the first epoch that ends past ``max_seconds`` of training."""

    def __init__(self, max_seconds: float):
        super().__init__()
        self.max_seconds = check.positive_number(max_seconds, "max_seconds")
        self.elapsed = 0.0
        self.stopped_epoch: int | None = None
        self._t0 = 0.0

    def on_train_begin(self, logs=None):
        self._t0 = time.perf_counter()
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        self.elapsed = time.perf_counter() - self._t0
        if self.elapsed >= self.max_seconds:
            self.stopped_epoch = epoch
            self.model.stop_training = True


class EpochSeeds(keras.callbacks.Callback):
    """At the start of epoch ``e``, set every Keras ``SeedGenerator`` of the model (dropout masks,
    random augmentation) to a state that depends only on ``(seed, e)`` and the generator's place.

    Keras does not save these states in a backup, so without this a resumed run would draw other
    dropout masks than the run it continues.
    """

    def __init__(self, seed: int):
        super().__init__()
        self.seed = check.non_negative_int(seed, "seed")

    def on_epoch_begin(self, epoch, logs=None):
        seed_layers(self.model, self.seed, epoch)


def seed_layers(model: keras.Model, seed: int, epoch: int) -> None:
    """Set every ``SeedGenerator`` of ``model`` to a state that depends only on ``(seed, epoch)``
    and the generator's place in the model (what :class:`EpochSeeds` does each epoch)."""
    for i, state in enumerate(compat.seed_generator_states(model)):
        value = np.array([int(seed) * 7919 + i + 1, (int(epoch) + 1) << 24], dtype=state.dtype)
        state.assign(value)


def epoch_dataset(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    seed: int,
    start_epoch: int,
    epochs: int,
    shuffle: bool = True,
):
    """Batches of ``(x, y)`` for epochs ``start_epoch .. epochs - 1``, one after the other.

    The order of epoch ``e`` is ``tf.random.experimental.stateless_shuffle`` of the indices with
    the seed ``(seed, e)``: it does not depend on what ran before, so a resumed run sees the same
    batches as an uninterrupted one. Every epoch has ``ceil(len(x) / batch_size)`` batches (the
    last one may be smaller).

    On the JAX and PyTorch backends (no TensorFlow) the batches are NumPy arrays from a generator;
    the order of epoch ``e`` is then ``numpy.random.default_rng((seed, e)).permutation(len(x))``
    (also a function of ``(seed, e)`` only, but another order than TensorFlow's).
    """
    if keras.backend.backend() != "tensorflow":
        return _numpy_epochs(x, y, batch_size=batch_size, seed=seed, start_epoch=start_epoch, epochs=epochs,
                             shuffle=shuffle)
    import tensorflow as tf

    n = len(x)
    with tf.device("/cpu:0"):  # the input pipeline runs on the host, also when a GPU is present
        xs = tf.convert_to_tensor(x)
        ys = tf.convert_to_tensor(y)
        seed_t = tf.constant(int(seed), tf.int64)

    def one_epoch(e):
        idx = tf.range(n, dtype=tf.int64)
        if shuffle:
            idx = tf.random.experimental.stateless_shuffle(idx, seed=tf.stack([seed_t, e]))
        return tf.data.Dataset.from_tensor_slices(idx).batch(batch_size)

    ds = tf.data.Dataset.range(start_epoch, epochs).flat_map(one_epoch)
    ds = ds.map(lambda i: (tf.gather(xs, i), tf.gather(ys, i)), num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def _numpy_epochs(x, y, *, batch_size: int, seed: int, start_epoch: int, epochs: int, shuffle: bool):
    """:func:`epoch_dataset` without TensorFlow: a generator of NumPy ``(x, y)`` batches."""
    x, y = np.asarray(x), np.asarray(y)
    n = len(x)
    for e in range(int(start_epoch), int(epochs)):
        idx = np.random.default_rng((int(seed), e)).permutation(n) if shuffle else np.arange(n)
        for i in range(0, n, batch_size):
            j = idx[i:i + batch_size]
            yield x[j], y[j]


def resume_epoch(backup_dir: str | Path) -> int:
    """The epoch a run backed up in ``backup_dir`` resumes at (0 when there is no backup)."""
    meta = Path(backup_dir) / "training_metadata.json"
    if not meta.exists():
        return 0
    try:
        return int(json.loads(meta.read_text())["epoch"])
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"backup_dir={str(backup_dir)!r} holds an unreadable {meta.name}; "
                         "move the folder away to start afresh") from None


def _model_input_shape(model: keras.Model):
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1:
        return None
    return tuple(inputs[0].shape)


def _check_x(model: keras.Model, shape: tuple, arg: str) -> None:
    want = _model_input_shape(model)
    if want is None:
        return
    if len(shape) != len(want):
        raise ValueError(
            f"{arg}: the model takes inputs of rank {len(want)} (batch, {', '.join(str(s) for s in want[1:])}), "
            f"got rank {len(shape)} with shape {shape}"
        )
    for axis, (got, exp) in enumerate(zip(shape[1:], want[1:]), start=1):
        if exp is not None and got is not None and got != exp:
            what = "channels" if axis == len(want) - 1 and len(want) == 4 else f"axis {axis}"
            raise ValueError(
                f"{arg}: the model expects {exp} {what} (input shape {want[1:]}), got {got} in shape {shape}"
            )


def _classes(model: keras.Model) -> int | None:
    try:
        shape = tuple(model.outputs[0].shape) if getattr(model, "outputs", None) else None
    except (AttributeError, IndexError, TypeError):
        return None
    return int(shape[-1]) if shape and shape[-1] is not None and len(shape) == 2 else None


_SPARSE = ("sparse_categorical_crossentropy", "sparsecategoricalcrossentropy")
_ONE_HOT = ("categorical_crossentropy", "categoricalcrossentropy")


def _loss_kind(model: keras.Model) -> str | None:
    """``"sparse"`` (integer labels), ``"one-hot"`` or None (another or several losses)."""
    loss = getattr(model, "loss", None)
    if isinstance(loss, keras.losses.SparseCategoricalCrossentropy):
        return "sparse"
    if isinstance(loss, keras.losses.CategoricalCrossentropy):
        return "one-hot"
    name = loss if isinstance(loss, str) else getattr(loss, "__name__", None)
    if not isinstance(name, str):
        return None
    name = name.lower()
    return "sparse" if name in _SPARSE else "one-hot" if name in _ONE_HOT else None


def _check_loss_labels(model: keras.Model, y: np.ndarray, arg: str) -> None:
    """Labels that match the compiled loss: integer labels for a sparse loss, one-hot rows otherwise."""
    kind, k = _loss_kind(model), _classes(model)
    if kind == "sparse":
        if y.ndim == 2 and y.shape[1] > 1:
            raise ValueError(
                f"{arg}: the model's loss is sparse_categorical_crossentropy, which takes integer labels of "
                f"shape (N,), but y holds one-hot rows of shape {y.shape}; pass y.argmax(axis=1), or compile "
                "with loss='categorical_crossentropy'")
        flat = y.reshape(len(y), -1)[:, 0] if y.ndim == 2 else y
        if np.issubdtype(flat.dtype, np.floating) and not np.all(flat == np.round(flat)):
            bad = flat[flat != np.round(flat)]
            raise ValueError(
                f"{arg}: y must hold integer class labels for sparse_categorical_crossentropy, got "
                f"{bad.size} fractional value(s) such as {float(bad[0])!r}")
    elif kind == "one-hot":
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and (k or 0) > 1):
            raise ValueError(
                f"{arg}: the model's loss is categorical_crossentropy, which takes one-hot labels of shape "
                f"(N, {k}), but y has shape {y.shape} (integer labels?); pass "
                f"keras.utils.to_categorical(y, {k}), or compile with loss='sparse_categorical_crossentropy'")


def _check_y(model: keras.Model, y: np.ndarray, arg: str) -> None:
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_):
        raise check.ArgumentTypeError(f"{arg}: y must hold numbers (labels), got dtype {y.dtype}")
    check.finite(y, f"{arg}: y")
    k = _classes(model)
    if k is None:
        _check_loss_labels(model, y, arg)
        return
    if y.ndim == 2 and y.shape[1] != 1:
        if y.shape[1] != k:
            raise ValueError(f"{arg}: one-hot labels have {y.shape[1]} columns but the model has {k} classes")
        _check_loss_labels(model, y, arg)
        return
    _check_loss_labels(model, y, arg)
    labels = y.reshape(len(y), -1)[:, 0] if y.ndim == 2 else y
    if y.ndim > 2:
        raise ValueError(f"{arg}: labels must have shape (N,) or (N, {k}), got {y.shape}")
    if np.issubdtype(labels.dtype, np.floating) and not np.all(labels == np.round(labels)):
        return  # regression-style or soft targets: nothing to check
    hi = max(k, 2) - 1
    if labels.size and (labels.min() < 0 or labels.max() > hi):
        raise ValueError(
            f"{arg}: labels must be class indices in 0..{hi} for a model with {k} outputs, "
            f"got values {labels.min()}..{labels.max()}"
        )


def _check_data(model: keras.Model, data, arg: str):
    """Return (x, y) arrays or a tf.data.Dataset, validated against the model."""
    import sys

    tf = sys.modules.get("tensorflow")  # a tf.data.Dataset exists only where TensorFlow is imported
    if tf is not None and isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if isinstance(spec, tuple) and spec:
            x_spec = spec[0]
            if isinstance(x_spec, tf.TensorSpec) and x_spec.shape.rank is not None:
                _check_x(model, tuple(x_spec.shape), arg)
        return data
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{arg} must be an (x, y) pair of arrays or a tf.data.Dataset, got {type(data).__name__}")
    x, y = data
    x, y = check.array(x, f"{arg}: x", numeric=False), check.array(y, f"{arg}: y", numeric=False)
    if x.ndim < 2:
        raise ValueError(f"{arg}: x must have a batch axis and at least one feature axis, got shape {x.shape}")
    if len(x) != len(y):
        raise ValueError(f"{arg}: x and y must have the same length, got {len(x)} and {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{arg}: x is empty")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise check.ArgumentTypeError(f"{arg}: x must hold numbers (images), got dtype {x.dtype}")
    check.finite(x, f"{arg}: x")
    _check_x(model, x.shape, arg)
    _check_y(model, y, arg)
    return x, y


def _fingerprint(model: keras.Model) -> dict:
    return {
        "model": model.name,
        "params": int(model.count_params()),
        "weights": [[w.path, list(w.shape)] for w in model.weights],
        "architecture": _digest([[type(layer).__name__, _settings(layer.get_config())] for layer in model.layers]),
        "optimizer": _optimizer_settings(model.optimizer),
        "loss": _loss_name(getattr(model, "loss", None)),
    }


def _settings(obj):
    """A config without the names Keras numbers per session (``dense_3``), so that the same network
    built in another process or after another one compares equal."""
    if isinstance(obj, dict):
        return {k: _settings(v) for k, v in obj.items() if k not in ("name", "inbound_nodes", "keras_history")}
    if isinstance(obj, (list, tuple)):
        return [_settings(v) for v in obj]
    return obj


def _plain(obj) -> str:
    return getattr(obj, "__name__", type(obj).__name__)


def _digest(obj) -> str:
    text = json.dumps(obj, sort_keys=True, default=_plain)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _optimizer_settings(optimizer) -> dict:
    try:
        config = keras.optimizers.serialize(optimizer)
    except Exception:  # not serialisable: compare its class only
        return {"class_name": type(optimizer).__name__}
    return json.loads(json.dumps(_settings(config), sort_keys=True, default=_plain))


def _loss_name(loss) -> Any:
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, keras.losses.Loss):
        return json.loads(json.dumps(_settings(keras.losses.serialize(loss)), sort_keys=True, default=_plain))
    if isinstance(loss, (list, tuple)):
        return [_loss_name(v) for v in loss]
    if isinstance(loss, dict):
        return {k: _loss_name(v) for k, v in loss.items()}
    return _plain(loss)


def _data_digest(x: np.ndarray, y: np.ndarray) -> str:
    """A fingerprint of the training data (shapes, dtypes and every byte)."""
    h = hashlib.blake2b(digest_size=12)
    for a in (x, y):
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(memoryview(np.ascontiguousarray(a)).cast("B"))
    return h.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class _FolderLock:
    """``LOCK_FILE`` in a backup folder: created atomically with this process's id and host name.

    A lock left by a process that is no longer alive on this host (a killed run) is stale and is
    taken over; a lock of a live process, or of another host, is refused with both named.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / LOCK_FILE
        self.created_folder = False
        self.held = False
        self.token = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}

    def acquire(self) -> None:
        if not self.folder.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            self.created_folder = True
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._stale():
                    break
                try:  # take the stale lock over
                    os.replace(self.path, self.path.with_name(f"{LOCK_FILE}.stale-{os.getpid()}"))
                    os.unlink(self.path.with_name(f"{LOCK_FILE}.stale-{os.getpid()}"))
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(self.token, f)
            self.held = True
            return
        owner = self._owner() or {}
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner["started"])) \
            if isinstance(owner.get("started"), (int, float)) else "an unknown time"
        self.release()
        raise ValueError(
            f"backup_dir={str(self.folder)!r} is in use by process {owner.get('pid', '?')} on host "
            f"{owner.get('host', '?')!r} (since {since}; lock file {self.path}); two runs must not write "
            "into one backup folder: wait for that run, pass another backup_dir, or delete the lock file "
            "if that process is gone")

    def _owner(self) -> dict | None:
        try:
            owner = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return owner if isinstance(owner, dict) else None

    def _stale(self) -> bool:
        owner = self._owner()
        if owner is None:  # unreadable: stale once it is old enough not to be a lock being written
            try:
                return time.time() - self.path.stat().st_mtime > 30
            except FileNotFoundError:
                return True
        pid, host = owner.get("pid"), owner.get("host")
        if host != socket.gethostname() or not isinstance(pid, int):
            return False  # another machine's process: cannot tell, so it is in use
        return pid != os.getpid() and not _pid_alive(pid)

    def release(self) -> None:
        if self.held and self._owner() == self.token:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
        self.held = False
        if self.created_folder:
            try:
                self.folder.rmdir()  # only if empty: a folder this call made and nothing wrote into
            except OSError:
                pass


def _prepare_backup(backup_dir: Path, run: dict) -> int:
    """Check a backup folder belongs to this run, record the run, return the epoch to resume at."""
    if backup_dir.exists() and not backup_dir.is_dir():
        raise ValueError(f"backup_dir={str(backup_dir)!r} is a file, not a folder")
    record = backup_dir / RUN_FILE
    has_backup = (backup_dir / "latest.weights.h5").exists() or (backup_dir / "training_metadata.json").exists()
    if record.exists() and has_backup:
        try:
            old = json.loads(record.read_text())
        except ValueError:
            raise ValueError(f"backup_dir={str(backup_dir)!r}: {RUN_FILE} is not valid JSON; "
                             "move the folder away to start afresh") from None
        for key in ("model", "params", "weights", "architecture", "optimizer", "loss", "data", "seed",
                    "batch_size", "examples"):
            if old.get(key) != run.get(key):
                label = {"model": "model", "params": "model", "weights": "model",
                         "architecture": "model (layer settings such as dropout differ)",
                         "optimizer": "optimizer (or optimizer settings)", "data": "data set"}.get(key, key)
                raise ValueError(
                    f"backup_dir={str(backup_dir)!r} holds a run of another {label} "
                    f"({_difference(key, old.get(key), run.get(key))}); nothing was "
                    "overwritten: pass another backup_dir, or delete that folder to start afresh"
                )
    elif has_backup:
        raise ValueError(
            f"backup_dir={str(backup_dir)!r} holds a Keras backup that cnnbook.train.fit did not write "
            f"(no {RUN_FILE}); nothing was overwritten: pass another backup_dir"
        )
    weights = backup_dir / "latest.weights.h5"
    if weights.exists():
        _check_readable_weights(weights, backup_dir)
    start = resume_epoch(backup_dir)
    backup_dir.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(run))
    return start


def _check_readable_weights(path: Path, backup_dir: Path) -> None:
    import h5py

    try:
        with h5py.File(path, "r"):
            pass
    except Exception as err:  # h5py raises OSError (or others) for a truncated or foreign file
        raise ValueError(
            f"backup_dir={str(backup_dir)!r}: {path} is not a readable weights file ({err}); nothing was "
            "overwritten: move that folder away (or delete it) to start afresh") from None


def _flat(value, prefix: str) -> dict:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _difference(key: str, old, new) -> str:
    """``"optimizer.class_name: 'Adam' there, 'SGD' now"``: the settings that differ, not whole records."""
    if isinstance(old, dict) and isinstance(new, dict):
        a, b = _flat(old, key), _flat(new, key)
        diff = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        if diff:
            shown = [f"{k}: {_short(a.get(k))} there, {_short(b.get(k))} now" for k in diff[:3]]
            return "; ".join(shown) + (f"; and {len(diff) - 3} more" if len(diff) > 3 else "")
    return f"{key}: {_short(old)} there, {_short(new)} now"


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fit(
    model: keras.Model,
    data,
    *,
    epochs: int,
    batch_size: int = 64,
    validation_data=None,
    seed: int | None = 0,
    max_seconds: float | None = None,
    backup_dir: str | Path | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    shuffle: bool = True,
    verbose: int | str | None = None,
    global_batch_size: int | None = None,
    steps_per_epoch: int | None = None,
) -> keras.callbacks.History:
    """Train a compiled model under a budget.

    Args:
        model: a compiled ``keras.Model``. For several devices, build and compile it inside
            ``cnnbook.distribute.strategy().scope()``.
        data: ``(x, y)`` arrays or a batched ``tf.data.Dataset``.
        epochs: maximum number of epochs (positive int); a resumed run stops at the same total.
        batch_size: examples per replica and step for array data; the global batch is
            ``batch_size`` x the number of replicas of the model's strategy (ignored for datasets).
        validation_data: ``(x, y)`` or a dataset, evaluated after every epoch.
        seed: with array data, the example order of each epoch and the layers' random masks are
            functions of ``(seed, epoch)`` (see :func:`epoch_dataset` and :class:`EpochSeeds`);
            the global Python/NumPy/TF/Keras seeds are also set. None keeps Keras's own shuffling
            and leaves the random state alone.
        max_seconds: wall-clock budget; training stops after the epoch that exceeds it.
        backup_dir: folder for ``keras.callbacks.BackupAndRestore``; a run killed mid-way and
            started again with the same folder resumes after the last finished epoch. The folder
            records what decides the run (architecture and layer settings such as dropout rates,
            optimiser and its settings, loss, a fingerprint of the data, seed, batch size) and any
            other run is refused, leaving the folder untouched. While training, the folder holds
            :data:`LOCK_FILE` (process id and host): a second process is refused; a lock left by a
            process that no longer runs on this host is taken over. The folder is removed when
            training finishes.
            Under a multi-worker strategy every worker backs up into its own ``worker-<i>``
            subfolder.
        callbacks: extra Keras callbacks.
        shuffle: shuffle array data every epoch.
        verbose: passed to ``model.fit``: 0 silent, 1 progress bar, 2 one line per epoch (its time
            and metrics), ``"auto"``; None (default) asks :func:`cnnbook.runtime.progress`: one line
            per epoch for a full-profile run at paper scale (or as ``CNNBOOK_PROGRESS`` says),
            nothing under the quick profile (the book build, the tests) or in a smoke run.
        global_batch_size: the global batch for array data instead of ``batch_size`` x replicas;
            it must be divisible by the number of replicas.
        steps_per_epoch: with a ``tf.data.Dataset``: the steps that make one epoch (needed for an
            endless, repeating dataset; training then stops after ``epochs * steps_per_epoch``
            steps). Array data always has ``ceil(len(x) / global batch)`` steps per epoch.

    Returns:
        The Keras ``History``; ``history.history`` maps each metric to its per-epoch values (a
        resumed run holds only the epochs it ran).

    Raises:
        ValueError: the model is not compiled, or does not fit the data (input rank, image size,
            channels, labels outside the classes, NaN or infinite values, labels that do not match
            the loss: one-hot rows for a sparse loss or the reverse), ``epochs`` is not a positive
            int, ``verbose`` is not 0, 1, 2, ``"auto"`` or None, the batch does not split over the
            replicas, ``backup_dir`` holds another run or an unreadable backup, or is in use by
            another process.
        TypeError: an argument of the wrong type (e.g. one callback instead of a list); it is
            also a ``ValueError``.
        TrainingDiverged: the loss or the weights became NaN or infinite (the message names the
            epoch and step); the backup of the last good epoch is kept.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ValueError("model must be compiled first: call model.compile(optimizer=..., loss=..., metrics=...)")
    epochs = check.positive_int(epochs, "epochs")
    batch_size = check.positive_int(batch_size, "batch_size")
    seed = check.non_negative_int(seed, "seed", allow_none=True)
    steps_per_epoch = check.positive_int(steps_per_epoch, "steps_per_epoch", allow_none=True)
    verbose = resolve_verbose(verbose, allow_auto=True)
    outputs = getattr(model, "outputs", None) or []
    if any("float16" in str(getattr(o, "dtype", "")) for o in outputs):
        warnings.warn(
            f"model {model.name!r} outputs float16 (mixed precision): give its last layer "
            "dtype='float32' so that the softmax and the loss keep float32 precision", stacklevel=2)
    strategy = getattr(model, "distribute_strategy", None)  # TensorFlow backend only
    replicas = int(strategy.num_replicas_in_sync) if strategy is not None else 1
    if global_batch_size is not None:
        global_batch = check.positive_int(global_batch_size, "global_batch_size")
        if global_batch % replicas:
            raise ValueError(
                f"global_batch_size={global_batch} does not split over the {replicas} replicas of "
                f"{type(strategy).__name__}; use a multiple of {replicas}"
            )
    else:
        global_batch = batch_size * replicas
    data = _check_data(model, data, "data")
    if validation_data is not None:
        validation_data = _check_data(model, validation_data, "validation_data")
    arrays = isinstance(data, tuple)
    if steps_per_epoch is not None and arrays:
        raise ValueError("steps_per_epoch applies to a tf.data.Dataset; array data has ceil(len(x) / batch) "
                         "steps per epoch (pass fewer examples, or a dataset)")

    if isinstance(callbacks, keras.callbacks.Callback):
        raise check.ArgumentTypeError(
            f"callbacks must be a list of keras callbacks, got a single {type(callbacks).__name__}: "
            f"pass callbacks=[{type(callbacks).__name__}(...)]")
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, (Sequence, tuple)):
        raise check.ArgumentTypeError(f"callbacks must be a list of keras callbacks, got {check.describe(callbacks)}")
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, keras.callbacks.Callback):
            raise check.ArgumentTypeError(
                f"callbacks[{i}] must be a keras.callbacks.Callback, got {check.describe(cb)}")
    max_seconds = check.positive_number(max_seconds, "max_seconds", allow_none=True)
    shuffle = check.boolean(shuffle, "shuffle")
    if backup_dir is not None and not isinstance(backup_dir, (str, os.PathLike)):
        raise check.ArgumentTypeError(f"backup_dir must be a folder path or None, got {check.describe(backup_dir)}")

    # the non-finite check comes before any backup callback: an epoch whose weights are NaN is
    # never backed up, so the last good backup stays in place
    cbs = [StopOnNonFinite()] + list(callbacks)
    start = 0
    lock = None
    if backup_dir is not None:
        backup = Path(backup_dir)
        if compat.in_multi_worker_mode(strategy):
            backup = backup / f"worker-{_task_id(strategy)}"
        if backup.exists() and not backup.is_dir():
            raise ValueError(f"backup_dir={str(backup)!r} is a file, not a folder")
        run = dict(_fingerprint(model), seed=None if seed is None else int(seed), batch_size=global_batch,
                   examples=len(data[0]) if arrays else None, data=_data_digest(*data) if arrays else None)
        lock = _FolderLock(backup)
        lock.acquire()
        try:
            start = _prepare_backup(backup, run)
            if start >= epochs:
                raise ValueError(f"backup_dir={str(backup_dir)!r} holds a run that already finished {start} "
                                 f"epochs, and epochs={epochs}; nothing to do")
        except BaseException:
            lock.release()
            raise
        cbs.append(keras.callbacks.BackupAndRestore(str(backup), save_freq="epoch", delete_checkpoint=True))
    try:  # the lock (if any) is released however this ends
        if seed is not None:
            compat.set_random_seed(int(seed))  # keras.utils.set_random_seed, keeping TF's kernel cache
            cbs.insert(0, EpochSeeds(int(seed)))
        if max_seconds is not None:
            cbs.append(TimeBudget(max_seconds))

        if arrays and seed is not None:
            x, y = data
            steps = math.ceil(len(x) / global_batch)
            ds = epoch_dataset(x, y, batch_size=global_batch, seed=int(seed), start_epoch=start, epochs=epochs,
                               shuffle=shuffle)
            kwargs = dict(x=ds, epochs=epochs, steps_per_epoch=steps, shuffle=False,
                          validation_batch_size=global_batch if isinstance(validation_data, tuple) else None)
        elif arrays:
            kwargs = dict(x=data[0], y=data[1], batch_size=global_batch, epochs=epochs, shuffle=shuffle)
        else:
            kwargs = dict(x=data, epochs=epochs, shuffle=False, steps_per_epoch=steps_per_epoch)
        kwargs.update(validation_data=validation_data, callbacks=cbs, verbose=verbose)
        if compat.in_multi_worker_mode(strategy):
            return compat.fit_multi_worker(model, strategy, data, kwargs)
        return model.fit(**kwargs)
    finally:
        if lock is not None:
            lock.release()


def _task_id(strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(getattr(resolver, "task_id", 0) or 0)


class Snapshots(keras.callbacks.Callback):
    """Record a convolution layer's kernels and one image's feature maps as training goes.

    Args:
        layer: name of the layer to watch (e.g. ``"conv1"``); its weights' first entry is taken as
            the kernel and its output as the feature maps.
        image: one input image (H, W, C) whose feature maps are recorded.
        epochs: epoch numbers to record: 0 is before training, ``k`` after ``k`` epochs.
            None records every epoch.

    After training, ``kernels`` and ``maps`` map each recorded epoch to a NumPy array, ready for
    :func:`cnnbook.plot.filters_over_epochs` and :func:`cnnbook.plot.feature_maps_over_epochs`.
    """

    def __init__(self, layer: str, image, epochs: Sequence[int] | None = None):
        super().__init__()
        if not isinstance(layer, str) or not layer:
            raise ValueError(f"layer must be a layer name, got {layer!r}")
        img = np.asarray(image, dtype=np.float32)
        if img.ndim != 3:
            raise ValueError(f"image must be one image (H, W, C), got shape {img.shape}")
        if epochs is not None:
            epochs = sorted({int(e) for e in epochs})
            if not epochs or epochs[0] < 0:
                raise ValueError(f"epochs must be non-negative epoch numbers, got {epochs!r}")
        self.layer_name = layer
        self.image = img
        self.epochs = epochs
        self.kernels: dict[int, np.ndarray] = {}
        self.maps: dict[int, np.ndarray] = {}
        self._probe = None

    def _record(self, epoch: int) -> None:
        if self.epochs is not None and epoch not in self.epochs:
            return
        layer = self.model.get_layer(self.layer_name)
        self.kernels[epoch] = np.array(layer.get_weights()[0])
        self.maps[epoch] = np.array(self._probe(self.image[None], training=False))[0]

    def on_train_begin(self, logs=None):
        try:
            layer = self.model.get_layer(self.layer_name)
        except ValueError:
            names = [lay.name for lay in self.model.layers]
            raise ValueError(f"layer={self.layer_name!r} is not in the model; its layers are {names}") from None
        if not layer.get_weights():
            raise ValueError(f"layer={self.layer_name!r} has no weights to record")
        self._probe = keras.Model(self.model.inputs, layer.output)
        if 0 not in self.kernels:
            self._record(0)

    def on_epoch_end(self, epoch, logs=None):
        self._record(int(epoch) + 1)


# --------------------------------------------------------------------------------------------
# the papers' CIFAR training recipe
# --------------------------------------------------------------------------------------------


def paper_optimizer(steps: int, *, lr: float = 0.1, momentum: float = 0.9, warmup_steps: int = 0,
                    warmup_lr: float = 0.01) -> keras.optimizers.Optimizer:
    """SGD with momentum, learning rate divided by 10 at 50% and 75% of training.

    He et al. (2016a, Sec. 4.2) train CIFAR ResNets with lr 0.1, momentum 0.9, and divide the
    rate by 10 at 32k and 48k of 64k iterations (50% and 75%). For ResNet-110 they warm up at
    0.01 for about 400 iterations (``warmup_steps``). Weight decay is part of the model
    (``resnet_cifar(..., weight_decay=1e-4)``).

    Args:
        steps: total number of training steps (positive int).
        lr: initial learning rate.
        momentum: SGD momentum.
        warmup_steps: steps at ``warmup_lr`` before ``lr`` (0 for none).
        warmup_lr: learning rate during the warm-up.

    Returns:
        A ``keras.optimizers.SGD`` with a ``PiecewiseConstantDecay`` schedule.
    """
    steps = check.positive_int(steps, "steps")
    warmup_steps = check.integer(warmup_steps, "warmup_steps", minimum=0)
    for arg, value in (("lr", lr), ("warmup_lr", warmup_lr)):
        check.positive_number(value, arg)
    if warmup_steps >= steps // 2:
        raise ValueError(f"warmup_steps must be shorter than half of steps ({steps // 2}), got {warmup_steps}")
    bounds = [steps // 2, (3 * steps) // 4]
    values = [float(lr), float(lr) / 10, float(lr) / 100]
    if warmup_steps:
        bounds = [warmup_steps] + bounds
        values = [float(warmup_lr)] + values
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(bounds, values)
    return keras.optimizers.SGD(schedule, momentum=momentum)


def training_dataset(x, y, *, batch_size: int = 128, augment: bool = False, seed: int = 0, mean=None):
    """An endless, shuffled ``tf.data`` pipeline of (image, label) batches for SGD.

    Args:
        x: images (N, H, W, C), float.
        y: integer labels (N,).
        batch_size: images per step.
        augment: the papers' CIFAR augmentation: pad 4 pixels on each side, take a random crop
            of the original size, flip horizontally with probability 1/2 (stateless and seeded).
        seed: seed of the shuffling and of the augmentation.
        mean: subtracted from every image (the papers subtract the per-pixel mean of the training
            set); None leaves the images as they are.

    Returns:
        A ``tf.data.Dataset`` that repeats forever.
    """
    tf = compat.tensorflow("cnnbook.train.training_dataset")

    x = check.array(x, "x", ndim=4, finite=True, min_len=1).astype(np.float32)
    y = check.array(y, "y", finite=True)
    seed = check.non_negative_int(seed, "seed")
    if y.ndim == 1:
        y = check.labels(y, "y")
    if x.ndim != 4 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x must be (N, H, W, C) images with one label each in y, got x {x.shape} and y {y.shape}")
    batch_size = check.positive_int(batch_size, "batch_size")
    if mean is not None:
        x = x - np.asarray(mean, dtype=np.float32)
    h, w, c = x.shape[1:]
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat()
    if augment:
        def crop_flip(image, label, pair):
            s1, s2 = tf.unstack(tf.random.experimental.stateless_split(pair, 2))
            image = tf.image.stateless_random_flip_left_right(image, s1)
            image = tf.image.pad_to_bounding_box(image, 4, 4, h + 8, w + 8)
            return tf.image.stateless_random_crop(image, (h, w, c), s2), label

        seeds = tf.data.Dataset.random(seed=seed).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(lambda xy, pair: crop_flip(xy[0], xy[1], pair),
                                                   num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def compare_training(
    builders: dict[str, Callable[[], keras.Model]],
    train: tuple,
    *,
    seeds: Sequence[int] = (0,),
    steps: int = 100,
    points: int = 10,
    batch_size: int = 64,
    lr: float = 0.1,
    warmup_steps: int = 0,
    augment: bool = False,
    test: tuple | None = None,
    keep_models: bool = False,
    verbose: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Train several networks with the same budget and recipe, over several seeds.

    For every seed each network starts from fresh initial weights drawn after
    :func:`cnnbook.runtime.seed` and a fresh optimizer state (the compiled network is reused from
    seed to seed, which saves tracing it again); it is compiled with
    :func:`paper_optimizer` and sparse cross-entropy, and trained for
    ``steps`` SGD steps on :func:`training_dataset` (the per-pixel training mean
    subtracted), through :func:`fit`. The steps are split into ``points`` equal chunks; the training error of a chunk
    is 1 - the accuracy Keras reports over its steps (in training mode, as in the papers' training
    curves).

    Args:
        builders: ``{name: function returning a fresh uncompiled keras.Model}``.
        train: ``(x, y)`` training arrays.
        seeds: one run per seed.
        steps: SGD steps per run (a multiple of ``points``).
        points: number of points on each curve.
        batch_size: images per step.
        lr: initial learning rate (divided by 10 at 50% and 75% of ``steps``).
        warmup_steps: steps at lr 0.01 first (the papers' ResNet-110 warm-up).
        augment: pad-and-crop and flip augmentation.
        test: ``(x, y)`` evaluated once at the end of each run, or None.
        keep_models: add the trained network of the last seed to each record (``model``), and
            the training mean it expects subtracted from its inputs (``mean``).
        verbose: progress lines (printed and flushed as training goes): at 1 or 2, one line per
            chunk (``plain-20 seed 0 (run 1/6): step 100/1000 (chunk 1/10), train error 0.612,
            loss 1.734, 4.1 s``) and one per finished run (its time and test error); at 0 nothing.
            None (default) asks :func:`cnnbook.runtime.progress`: lines for a full-profile run at
            paper scale, nothing under the quick profile (the book build, the tests) or in a smoke run.

    Returns:
        ``{name: record}``; each record has ``step`` (the step at the end of each chunk),
        ``train_error`` and ``loss`` (arrays of shape (len(seeds), points)), ``test_error``
        (array (len(seeds),), NaN without ``test``), ``params`` (trainable parameters) and
        ``seconds`` (wall time of all its runs).

    Raises:
        ValueError: ``builders`` is empty or holds something that is not a function returning a
            ``keras.Model``, ``steps`` is not a multiple of ``points``, no seed is given, or
            ``verbose`` is not 0, 1, 2 or None.
    """
    from cnnbook.measure import trainable_params

    if not isinstance(builders, dict) or not builders or not all(callable(b) for b in builders.values()):
        raise ValueError("builders must be a non-empty dict of {name: function returning a keras.Model}")
    steps, points = check.positive_int(steps, "steps"), check.positive_int(points, "points")
    if steps % points:
        raise ValueError(f"steps ({steps}) must be a multiple of points ({points})")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    lines = resolve_verbose(verbose) > 0
    runs, run = len(builders) * len(seeds), 0
    x, y = train
    x = np.asarray(x, dtype=np.float32)
    mean = x.mean(axis=0)
    results: dict[str, dict[str, Any]] = {}
    for name, build in builders.items():
        record = {"step": np.arange(1, points + 1) * (steps // points), "train_error": [], "loss": [],
                  "test_error": [], "params": None, "seconds": 0.0}
        model = None
        for s in seeds:
            runtime.seed(s, clear_session=model is None)
            t0 = time.perf_counter()
            run += 1
            label = f"{name} seed {s} (run {run}/{runs})"
            fresh = build()
            if not isinstance(fresh, keras.Model):
                raise ValueError(f"builders[{name!r}] must return a keras.Model, got {type(fresh).__name__}")
            if model is None:
                model = fresh
                model.compile(paper_optimizer(steps, lr=lr, warmup_steps=warmup_steps),
                              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            else:
                # Same network, new seed: start again from the fresh initial weights and a reset
                # optimizer (step counter and momentum), reusing the compiled training step instead
                # of tracing it again (tracing dominates a short CPU run).
                model.set_weights(fresh.get_weights())
                for v in model.optimizer.variables:
                    v.assign(keras.ops.zeros(v.shape, dtype=v.dtype))
            data = training_dataset(x, y, batch_size=batch_size, augment=augment, seed=s, mean=mean)
            # seeded above (runtime.seed before the build); the pipeline carries its own seed
            chunks = [_ChunkLines(label, steps, points, t0)] if lines else []
            hist = fit(model, data, epochs=points, steps_per_epoch=steps // points, seed=s, callbacks=chunks,
                       verbose=0)
            record["train_error"].append(1.0 - np.asarray(hist.history["accuracy"]))
            record["loss"].append(np.asarray(hist.history["loss"]))
            if test is not None:
                xt, yt = test
                _, acc = model.evaluate(np.asarray(xt, np.float32) - mean, np.asarray(yt), batch_size=256, verbose=0)
                record["test_error"].append(1.0 - acc)
            else:
                record["test_error"].append(np.nan)
            record["params"] = trainable_params(model)
            seconds = time.perf_counter() - t0
            record["seconds"] += seconds
            if lines:
                last = f"test error {record['test_error'][-1]:.4f}" if test is not None else \
                    f"train error {record['train_error'][-1][-1]:.4f} (last chunk)"
                _say(f"{label}: done in {seconds:.1f} s, {last}")
        for key in ("train_error", "loss", "test_error"):
            record[key] = np.asarray(record[key], dtype=float)
        if keep_models:
            record["model"], record["mean"] = model, mean
        results[name] = record
    return results


class _ChunkLines(keras.callbacks.Callback):
    """:func:`compare_training`'s progress: one line per chunk (a Keras epoch of ``steps // points`` steps)."""

    def __init__(self, label: str, steps: int, points: int, t0: float):
        super().__init__()
        self.label, self.steps, self.points, self.t0 = label, int(steps), int(points), float(t0)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        chunk = int(epoch) + 1
        parts = [f"step {chunk * (self.steps // self.points)}/{self.steps} (chunk {chunk}/{self.points})"]
        if "accuracy" in logs:
            parts.append(f"train error {1.0 - float(logs['accuracy']):.4f}")
        if "loss" in logs:
            parts.append(f"loss {float(logs['loss']):.4f}")
        parts.append(f"{time.perf_counter() - self.t0:.1f} s")
        _say(f"{self.label}: {', '.join(parts)}")


# --------------------------------------------------------------------------------------------
# the fast loop of an architecture search
# --------------------------------------------------------------------------------------------


def fast_fit(model: keras.Model, x: np.ndarray, y: np.ndarray, *, epochs: int = 2, batch_size: int = 64,
             learning_rate: float = 0.05, seed: int = 0,
             optimizer: keras.optimizers.Optimizer | None = None, verbose: int | None = None) -> list[float]:
    """Train a short-lived network briefly with one compiled (``tf.function``) training step.

    This is what :func:`fit` does, without ``model.fit``'s per-model overhead: a search builds and
    traces dozens of new models, and under ``fit`` compiling the model and tracing its training
    and optimizer step dominates each child's cost (``python -m benchmarks.fast_fit`` measures
    both on the chapter's children). Mini-batches are full (the remainder of each shuffled epoch
    is dropped), so the step is traced once.

    The seeding contract is :func:`fit`'s: the global Python/NumPy/TF/Keras seeds are set from
    ``seed``; the example order of epoch ``e`` depends only on ``(seed, e)`` (the ``e``-th
    permutation drawn by ``np.random.default_rng(seed)``); the random masks of layers such as
    ``Dropout`` are reset at the start of every epoch from ``(seed, e)`` (:func:`seed_layers`).

    Args:
        model: an uncompiled (or compiled; the compile settings are not used) ``keras.Model``
            with a softmax output.
        x, y: training images and integer labels.
        epochs: passes over the data.
        batch_size: examples per step (at most ``len(x)``).
        learning_rate: learning rate of SGD with Nesterov momentum 0.9 (as NAS trained its children).
        seed: the seed (see above).
        optimizer: a fresh Keras optimizer to use instead (``learning_rate`` is then ignored).
        verbose: at 1 or 2, one line per epoch, printed and flushed as it ends
            (``epoch 1/2: loss 2.1034, 0.8 s``); at 0 nothing. None (default) asks
            :func:`cnnbook.runtime.progress` (lines at paper scale, nothing under the quick profile
            or in a smoke run). :func:`cnnbook.nas.search` passes 0 and prints one line per child.

    Returns:
        The mean training loss of each epoch.

    Raises:
        ValueError: the model, the data or an argument is not valid (named in the message).
    """
    tf = compat.tensorflow("cnnbook.train.fast_fit")

    check.keras_model(model)
    epochs = check.integer(epochs, "epochs", minimum=1)
    batch_size = check.integer(batch_size, "batch_size", minimum=1)
    seed = check.non_negative_int(seed, "seed")
    lines = resolve_verbose(verbose) > 0
    x = check.model_inputs(model, x)
    y = check.array(y, "y", ndim=1)
    check.same_length(x=x, y=y)
    y = check.labels(y, "y", classes=_classes(model))
    if len(x) < batch_size:
        raise ValueError(f"batch_size ({batch_size}) is larger than the training set ({len(x)} examples)")
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    if optimizer is None:
        learning_rate = check.positive_number(learning_rate, "learning_rate")
        optimizer = keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    elif not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(f"optimizer must be a keras.optimizers.Optimizer, got {type(optimizer).__name__}")
    weights = model.trainable_variables
    optimizer.build(weights)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = tf.constant(x, dtype="float32")
    y = tf.constant(y, dtype="int64")
    n_batches = len(x) // batch_size
    losses = []
    t0 = time.perf_counter()
    for epoch in range(epochs):
        seed_layers(model, seed, epoch)
        order = tf.constant(rng.permutation(len(x))[: n_batches * batch_size].reshape(n_batches, batch_size))
        total = 0.0
        for b in range(n_batches):
            idx = order[b]
            total += float(step(tf.gather(x, idx), tf.gather(y, idx)))
        losses.append(total / n_batches)
        if lines:
            _say(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f}, {time.perf_counter() - t0:.1f} s")
    return losses
