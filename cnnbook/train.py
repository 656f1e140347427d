"""Budgeted, seeded, resumable training around ``keras.Model.fit``.

:func:`fit` adds three things to ``model.fit`` and nothing else: a seed set before the first
step, a wall-clock budget (:class:`TimeBudget`), and resumption of a killed run through Keras's
``BackupAndRestore`` callback when ``backup_dir`` is given. Metrics, progress and history are
Keras's own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

__all__ = ["fit", "TimeBudget"]


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


def _check_data(data, arg: str):
    """Return (x, y) arrays or a tf.data.Dataset, validating shapes."""
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
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
    return x, y


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
) -> keras.callbacks.History:
    """Train a compiled model under a budget.

    Args:
        model: a compiled ``keras.Model``.
        data: ``(x, y)`` arrays or a batched ``tf.data.Dataset``.
        epochs: maximum number of epochs (positive int).
        batch_size: batch size for array data (ignored for datasets).
        validation_data: ``(x, y)`` or a dataset, evaluated after every epoch.
        seed: seeds Python/NumPy/TF/Keras before training (``keras.utils.set_random_seed``);
            None leaves the random state alone.
        max_seconds: wall-clock budget; training stops after the epoch that exceeds it.
        backup_dir: folder for ``keras.callbacks.BackupAndRestore``; a run killed mid-way and
            started again with the same folder resumes after the last finished epoch.
        callbacks: extra Keras callbacks.
        shuffle: shuffle array data every epoch.
        verbose: passed to ``model.fit`` (0 silent, 1 progress bar, 2 one line per epoch).

    Returns:
        The Keras ``History``; ``history.history`` maps each metric to its per-epoch values.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ValueError("model must be compiled first: call model.compile(optimizer=..., loss=..., metrics=...)")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    data = _check_data(data, "data")
    if validation_data is not None:
        validation_data = _check_data(validation_data, "validation_data")
    cbs = list(callbacks)
    if max_seconds is not None:
        cbs.append(TimeBudget(max_seconds))
    if backup_dir is not None:
        cbs.append(keras.callbacks.BackupAndRestore(str(backup_dir), save_freq="epoch", delete_checkpoint=True))
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    if isinstance(data, tuple):
        x, y = data
        return model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=validation_data,
                         callbacks=cbs, shuffle=shuffle, verbose=verbose)
    return model.fit(data, epochs=epochs, validation_data=validation_data, callbacks=cbs, verbose=verbose)
