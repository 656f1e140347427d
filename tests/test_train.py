"""cnnbook.train: checks before training, seeding, budget, snapshots, save/load, resuming a
killed run (a subprocess sent SIGKILL), and backups that belong to another run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from cnnbook import data, models, runtime, train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits():
    (x, y), (xt, yt) = data.load("digits28", n_train=256, n_test=128)
    return x, y, xt, yt


def compiled(seed: int = 0, **kw) -> keras.Model:
    runtime.seed(seed)
    m = models.mnist_convnet(**kw)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda x, y: (x[..., 0], y), "rank 4"),
        (lambda x, y: (np.repeat(x, 3, axis=-1), y), "expects 1 channels"),
        (lambda x, y: (x[:, :20, :20], y), "expects 28"),
        (lambda x, y: (x, y + 10), "class indices in 0..9"),
        (lambda x, y: (x, -np.ones_like(y)), "class indices in 0..9"),
        (lambda x, y: (x, np.eye(3)[y % 3]), "3 columns but the model has 10 classes"),
        (lambda x, y: (x, y[:-1]), "same length"),
        (lambda x, y: x, "pair of arrays"),
    ],
)
def test_bad_data_is_refused_before_training(digits, make, match):
    x, y, *_ = digits
    m = compiled()
    before = [w.copy() for w in m.get_weights()]
    with pytest.raises(ValueError, match=match):
        train.fit(m, make(x, y), epochs=1)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


@pytest.mark.parametrize("epochs", [0, -1, 1.5, True, None])
def test_bad_epochs(digits, epochs):
    x, y, *_ = digits
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        train.fit(compiled(), (x, y), epochs=epochs)


def test_other_bad_arguments(digits):
    x, y, xt, yt = digits
    with pytest.raises(ValueError, match="compiled"):
        train.fit(models.mnist_convnet(), (x, y), epochs=1)
    with pytest.raises(ValueError, match="keras.Model"):
        train.fit("model", (x, y), epochs=1)
    with pytest.raises(ValueError, match="batch_size"):
        train.fit(compiled(), (x, y), epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="seed"):
        train.fit(compiled(), (x, y), epochs=1, seed=-1)
    with pytest.raises(ValueError, match="validation_data: the model expects 1 channels"):
        train.fit(compiled(), (x, y), epochs=1, validation_data=(np.repeat(xt, 2, -1), yt))
    with pytest.raises(ValueError, match="max_seconds"):
        train.fit(compiled(), (x, y), epochs=1, max_seconds=0)


def test_dataset_input_is_checked(digits):
    x, y, *_ = digits
    ds = data.pipeline(np.repeat(x, 3, -1), y, batch_size=32)
    with pytest.raises(ValueError, match="expects 1 channels"):
        train.fit(compiled(), ds, epochs=1)
    h = train.fit(compiled(), data.pipeline(x, y, batch_size=32), epochs=1)
    assert len(h.history["loss"]) == 1


# ------------------------------------------------------------------------------ training


def test_fit_learns_and_repeats_exactly(digits):
    x, y, xt, yt = digits
    m1 = compiled()
    h = train.fit(m1, (x, y), epochs=4, batch_size=32, validation_data=(xt, yt), seed=3)
    assert set(h.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert h.history["val_accuracy"][-1] > 0.5
    m2 = compiled()
    train.fit(m2, (x, y), epochs=4, batch_size=32, validation_data=(xt, yt), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(m1.get_weights(), m2.get_weights()))
    m3 = compiled()
    train.fit(m3, (x, y), epochs=4, batch_size=32, seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(m1.get_weights(), m3.get_weights()))


def test_epoch_order_depends_only_on_seed_and_epoch():
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.arange(10)

    def order(start, epochs):
        ds = train.epoch_dataset(x, y, batch_size=4, seed=7, start_epoch=start, epochs=epochs)
        return np.concatenate([b[1].numpy() for b in ds])

    full = order(0, 3)
    assert sorted(full[:10]) == list(range(10)) and sorted(full[10:20]) == list(range(10))
    assert not np.array_equal(full[:10], full[10:20])  # reshuffled each epoch
    assert np.array_equal(order(2, 3), full[20:])  # epoch 2 alone = epoch 2 of the whole run
    plain = train.epoch_dataset(x, y, batch_size=4, seed=7, start_epoch=0, epochs=1, shuffle=False)
    assert np.array_equal(np.concatenate([b[1].numpy() for b in plain]), y)


def test_time_budget_stops_early(digits):
    x, y, *_ = digits
    h = train.fit(compiled(), (x, y), epochs=50, batch_size=64, max_seconds=0.01)
    assert len(h.history["loss"]) == 1


def test_snapshots_record_kernels_and_maps(digits):
    x, y, xt, _ = digits
    snap = train.Snapshots("conv1", xt[0], epochs=[0, 2])
    m = compiled()
    train.fit(m, (x, y), epochs=2, batch_size=64, callbacks=[snap])
    assert sorted(snap.kernels) == [0, 2] and sorted(snap.maps) == [0, 2]
    assert snap.kernels[0].shape == (3, 3, 1, 32) and snap.maps[2].shape == (26, 26, 32)
    assert not np.array_equal(snap.kernels[0], snap.kernels[2])
    np.testing.assert_array_equal(snap.kernels[2], m.get_layer("conv1").get_weights()[0])
    with pytest.raises(ValueError, match="not in the model"):
        train.fit(compiled(), (x, y), epochs=1, callbacks=[train.Snapshots("nope", xt[0])])
    with pytest.raises(ValueError, match="one image"):
        train.Snapshots("conv1", xt[:2])


# ------------------------------------------------------------------------------ save / load


def test_keras_file_round_trip_safe_mode(digits, tmp_path):
    x, y, xt, _ = digits
    m = compiled()
    train.fit(m, (x, y), epochs=1, batch_size=64)
    path = tmp_path / "model.keras"
    m.save(path)
    back = keras.saving.load_model(path, safe_mode=True)
    assert back.count_params() == 34_826
    np.testing.assert_array_equal(back.predict(xt, verbose=0), m.predict(xt, verbose=0))
    # the optimiser state travels too: training both one more step keeps them equal
    assert int(back.optimizer.iterations) == int(m.optimizer.iterations) > 0


# ------------------------------------------------------------------------------ resuming

JOB = textwrap.dedent(
    """
    import json, os, signal, sys
    import numpy as np
    import keras
    from cnnbook import data, models, runtime, train

    backup, log, out, kill_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    (x, y), _ = data.load("digits28", n_train=192)
    runtime.seed(0)
    model = models.mnist_convnet()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    class Log(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == kill_at and batch == 1:
                os.kill(os.getpid(), signal.SIGKILL)   # dies mid-epoch, as a crashed machine would
        def on_epoch_end(self, epoch, logs=None):
            with open(log, "a") as f:
                f.write(json.dumps({"pid": os.getpid(), "epoch": epoch}) + "\\n")

    train.fit(model, (x, y), epochs=5, batch_size=32, seed=11, backup_dir=backup or None, callbacks=[Log()])
    np.savez(out, *model.get_weights())
    """
)


def run_job(tmp_path: Path, backup: str, log: Path, out: Path, kill_at: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CNNBOOK_PROFILE="quick", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", JOB, backup, str(log), str(out), str(kill_at)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_weights(tmp_path):
    backup = tmp_path / "backup"
    log = tmp_path / "epochs.jsonl"
    first = run_job(tmp_path, str(backup), log, tmp_path / "never.npz", kill_at=3)
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    assert (backup / "latest.weights.h5").exists()
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 3

    second = run_job(tmp_path, str(backup), log, tmp_path / "resumed.npz", kill_at=-1)
    assert second.returncode == 0, second.stderr[-2000:]
    assert not backup.exists()  # removed once training finished

    records = [json.loads(line) for line in log.read_text().splitlines()]
    pids = sorted({r["pid"] for r in records}, key=[r["pid"] for r in records].index)
    assert [r["epoch"] for r in records if r["pid"] == pids[0]] == [0, 1, 2]
    assert [r["epoch"] for r in records if r["pid"] == pids[1]] == [3, 4]  # none lost, none repeated

    whole = run_job(tmp_path, "", tmp_path / "whole.jsonl", tmp_path / "whole.npz", kill_at=-1)
    assert whole.returncode == 0, whole.stderr[-2000:]
    a, b = np.load(tmp_path / "resumed.npz"), np.load(tmp_path / "whole.npz")
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k])


def test_backup_of_another_model_is_refused_and_kept(digits, tmp_path):
    x, y, *_ = digits
    backup = tmp_path / "b"

    class Stop(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train.fit(compiled(), (x, y), epochs=3, batch_size=64, backup_dir=backup, callbacks=[Stop()])
    files = {p.name: p.read_bytes() for p in backup.iterdir()}
    assert "latest.weights.h5" in files and train.RUN_FILE in files

    other = compiled(classes=5)
    with pytest.raises(ValueError, match="another model"):
        train.fit(other, (x, y % 5), epochs=3, batch_size=64, backup_dir=backup)
    with pytest.raises(ValueError, match="another seed"):
        train.fit(compiled(), (x, y), epochs=3, batch_size=64, backup_dir=backup, seed=1)
    with pytest.raises(ValueError, match="another batch_size"):
        train.fit(compiled(), (x, y), epochs=3, batch_size=32, backup_dir=backup)
    assert {p.name: p.read_bytes() for p in backup.iterdir()} == files  # nothing overwritten

    h = train.fit(compiled(), (x, y), epochs=3, batch_size=64, backup_dir=backup)
    assert h.epoch == [1, 2]


def test_foreign_or_broken_backup_is_refused(digits, tmp_path):
    x, y, *_ = digits
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    with pytest.raises(ValueError, match="did not write"):
        train.fit(compiled(), (x, y), epochs=2, backup_dir=foreign)
    assert sorted(p.name for p in foreign.iterdir()) == ["training_metadata.json"]
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        train.fit(compiled(), (x, y), epochs=2, backup_dir=afile)


# ------------------------------------------------------------------------------ one training path


def test_the_old_training_names_are_train_functions():
    from cnnbook import nas, pretrained, resnet, shipped

    assert resnet.compare_training is train.compare_training
    assert resnet.paper_optimizer is train.paper_optimizer and resnet.training_dataset is train.training_dataset
    assert nas.train_child is train.fast_fit
    assert pretrained.fit_few is shipped.fit_few


def test_fit_steps_per_epoch_on_an_endless_dataset(digits):
    x, y, _, _ = digits
    m = compiled(dropout=0.0)
    ds = train.training_dataset(x, y, batch_size=32, seed=0)  # repeats forever
    h = train.fit(m, ds, epochs=2, steps_per_epoch=3, seed=0)
    assert len(h.history["loss"]) == 2
    assert int(m.optimizer.iterations.numpy()) == 6
    with pytest.raises(ValueError, match="steps_per_epoch applies to a tf.data.Dataset"):
        train.fit(m, (x, y), epochs=1, steps_per_epoch=2)
    with pytest.raises(ValueError, match="steps_per_epoch must be a positive int"):
        train.fit(m, ds, epochs=1, steps_per_epoch=0)


def test_fast_fit_seeding_contract(digits):
    """Same seed, same losses (dropout masks included); another seed, another run."""
    x, y, _, _ = digits

    def run(seed):
        keras.utils.set_random_seed(0)
        inputs = keras.Input(x.shape[1:])
        h = keras.layers.Flatten()(inputs)
        h = keras.layers.Dropout(0.5, seed=3)(keras.layers.Dense(16, activation="relu")(h))
        model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(h))
        return train.fast_fit(model, x, y, epochs=2, batch_size=32, seed=seed)

    a, b, c = run(1), run(1), run(2)
    assert a == b and a != c
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        train.fast_fit(models.mlp((28, 28, 1), 10), x, y, seed=-1)
