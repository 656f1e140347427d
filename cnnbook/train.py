"""Budgeted, seeded, resumable training around ``keras.Model.fit``.

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
  :func:`cnnbook.runtime.strategy`) is trained on all its replicas, with the global batch
  ``batch_size`` x replicas.

Metrics, progress bars and the history are Keras's own.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

__all__ = ["fit", "TimeBudget", "EpochSeeds", "Snapshots", "epoch_dataset", "resume_epoch", "RUN_FILE"]

#: File that :func:`fit` writes into ``backup_dir`` to recognise its own runs.
RUN_FILE = "cnnbook_run.json"


class TimeBudget(keras.callbacks.Callback):
    """Stop training at the end of the first epoch that ends past ``max_seconds`` of training."""

    def __init__(self, max_seconds: float):
        super().__init__()
        if not isinstance(max_seconds, (int, float)) or isinstance(max_seconds, bool) or max_seconds <= 0:
            raise ValueError(f"max_seconds must be a positive number, got {max_seconds!r}")
        self.max_seconds = float(max_seconds)
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
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.seed = int(seed)

    def _states(self):
        seen, states = set(), []
        for layer in self.model._flatten_layers(include_self=True):
            for sg in getattr(layer, "_seed_generators", []):
                if id(sg.state) not in seen:
                    seen.add(id(sg.state))
                    states.append(sg.state)
        return states

    def on_epoch_begin(self, epoch, logs=None):
        for i, state in enumerate(self._states()):
            value = np.array([self.seed * 7919 + i + 1, (int(epoch) + 1) << 24], dtype=state.dtype)
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
    """
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


def _check_y(model: keras.Model, y: np.ndarray, arg: str) -> None:
    k = _classes(model)
    if k is None:
        return
    if y.ndim == 2 and y.shape[1] != 1:
        if y.shape[1] != k:
            raise ValueError(f"{arg}: one-hot labels have {y.shape[1]} columns but the model has {k} classes")
        return
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
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if isinstance(spec, tuple) and spec:
            x_spec = spec[0]
            if isinstance(x_spec, tf.TensorSpec) and x_spec.shape.rank is not None:
                _check_x(model, tuple(x_spec.shape), arg)
        return data
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{arg} must be an (x, y) pair of arrays or a tf.data.Dataset, got {type(data).__name__}")
    x, y = data
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim < 2:
        raise ValueError(f"{arg}: x must have a batch axis and at least one feature axis, got shape {x.shape}")
    if len(x) != len(y):
        raise ValueError(f"{arg}: x and y must have the same length, got {len(x)} and {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{arg}: x is empty")
    _check_x(model, x.shape, arg)
    _check_y(model, y, arg)
    return x, y


def _fingerprint(model: keras.Model) -> dict:
    return {
        "model": model.name,
        "params": int(model.count_params()),
        "weights": [[w.path, list(w.shape)] for w in model.weights],
    }


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
        for key in ("model", "params", "weights", "seed", "batch_size", "examples"):
            if old.get(key) != run.get(key):
                label = "model" if key in ("model", "params", "weights") else key
                raise ValueError(
                    f"backup_dir={str(backup_dir)!r} holds a run of another {label} "
                    f"({key}: {_short(old.get(key))} there, {_short(run.get(key))} now); nothing was "
                    "overwritten: pass another backup_dir, or delete that folder to start afresh"
                )
    elif has_backup:
        raise ValueError(
            f"backup_dir={str(backup_dir)!r} holds a Keras backup that cnnbook.train.fit did not write "
            f"(no {RUN_FILE}); nothing was overwritten: pass another backup_dir"
        )
    start = resume_epoch(backup_dir)
    backup_dir.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(run))
    return start


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _positive_int(value, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{arg} must be a positive int, got {value!r}")
    return int(value)


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
    verbose: int | str = 0,
    global_batch_size: int | None = None,
) -> keras.callbacks.History:
    """Train a compiled model under a budget.

    Args:
        model: a compiled ``keras.Model``. For several devices, build and compile it inside
            ``cnnbook.runtime.strategy().scope()``.
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
            started again with the same folder (and the same model, data, seed and batch size)
            resumes after the last finished epoch. The folder is removed when training finishes.
            Under a multi-worker strategy every worker backs up into its own ``worker-<i>``
            subfolder.
        callbacks: extra Keras callbacks.
        shuffle: shuffle array data every epoch.
        verbose: passed to ``model.fit`` (0 silent, 1 progress bar, 2 one line per epoch).
        global_batch_size: the global batch for array data instead of ``batch_size`` x replicas;
            it must be divisible by the number of replicas.

    Returns:
        The Keras ``History``; ``history.history`` maps each metric to its per-epoch values (a
        resumed run holds only the epochs it ran).

    Raises:
        ValueError: the model is not compiled, or does not fit the data (input rank, image size,
            channels, labels outside the classes), ``epochs`` is not a positive int, the batch
            does not split over the replicas, or ``backup_dir`` holds another run.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ValueError("model must be compiled first: call model.compile(optimizer=..., loss=..., metrics=...)")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    epochs = int(epochs)
    batch_size = _positive_int(batch_size, "batch_size")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
    outputs = getattr(model, "outputs", None) or []
    if any("float16" in str(getattr(o, "dtype", "")) for o in outputs):
        warnings.warn(
            f"model {model.name!r} outputs float16 (mixed precision): give its last layer "
            "dtype='float32' so that the softmax and the loss keep float32 precision", stacklevel=2)
    strategy = model.distribute_strategy
    replicas = int(strategy.num_replicas_in_sync)
    if global_batch_size is not None:
        global_batch = _positive_int(global_batch_size, "global_batch_size")
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

    cbs = list(callbacks)
    start = 0
    if backup_dir is not None:
        backup = Path(backup_dir)
        if _is_multi_worker(strategy):
            backup = backup / f"worker-{_task_id(strategy)}"
        run = dict(_fingerprint(model), seed=None if seed is None else int(seed), batch_size=global_batch,
                   examples=len(data[0]) if arrays else None)
        start = _prepare_backup(backup, run)
        if start >= epochs:
            raise ValueError(f"backup_dir={str(backup_dir)!r} holds a run that already finished {start} "
                             f"epochs, and epochs={epochs}; nothing to do")
        cbs.append(keras.callbacks.BackupAndRestore(str(backup), save_freq="epoch", delete_checkpoint=True))
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
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
        kwargs = dict(x=data, epochs=epochs, shuffle=False)
    kwargs.update(validation_data=validation_data, callbacks=cbs, verbose=verbose)
    if _is_multi_worker(strategy):
        return _fit_multi_worker(model, strategy, data, kwargs)
    return model.fit(**kwargs)


def _fit_multi_worker(model: keras.Model, strategy, data, kwargs) -> keras.callbacks.History:
    """``model.fit`` under ``MultiWorkerMirroredStrategy``.

    Keras 3 builds a model that was created in a strategy's scope from a first batch that it
    averages over the replicas with ``strategy.reduce``; under the multi-worker strategy that
    eager cross-worker reduce fails (keras-team/keras#20585). The build needs only the shapes, so
    it is done here from one local example, and ``fit`` runs inside the strategy's scope, where
    Keras finds the strategy without that step.
    """
    import tensorflow as tf

    if isinstance(data, tuple):
        sample = (tf.convert_to_tensor(data[0][:1]), tf.convert_to_tensor(data[1][:1]))
    else:
        sample = next(iter(data.take(1)))
    with strategy.scope():
        model._symbolic_build(data_batch=sample)
    # Keras then averages each replica's scalar logs with strategy.reduce(..., axis=0), which a
    # scalar does not have under this strategy; average scalars over all replicas (axis=None).
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strat, reduction):
        def one(v):
            if reduction in ("auto", "mean") and getattr(v, "shape", None) is not None and v.shape.rank == 0:
                return strat.reduce("MEAN", v, axis=None)
            return original(v, strat, reduction)

        return keras.tree.map_structure(one, values)

    saved = model._distribute_strategy
    model._distribute_strategy = None
    tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        with strategy.scope():
            return model.fit(**kwargs)
    finally:
        model._distribute_strategy = saved
        tf_trainer.reduce_per_replica = original


def _is_multi_worker(strategy) -> bool:
    extended = getattr(strategy, "extended", None)
    return bool(getattr(extended, "_in_multi_worker_mode", lambda: False)())


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
