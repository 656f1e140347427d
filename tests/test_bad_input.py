"""Every bad call listed in issue 17, one test each: a clear error from cnnbook that names the
argument (or the file, the device, the epoch), never a silent wrong result, and no file changed."""

import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from cnnbook import (
    applications,
    data,
    distribute,
    lowlevel,
    models,
    nas,
    ops,
    resnet,
    runtime,
    shipped,
    train,
)

RNG = np.random.default_rng(0)
X = RNG.random((24, 8, 8, 1)).astype("float32")
Y = RNG.integers(0, 3, 24)


def small(loss="sparse_categorical_crossentropy", optimizer="adam", dropout=None):
    runtime.seed(0)
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    if dropout is not None:
        h = keras.layers.Dropout(dropout, name="drop")(h)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(h)
    m = keras.Model(inputs, outputs, name="small")
    m.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return m


def files_of(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ------------------------------------------------------------------ non-finite data


@pytest.mark.parametrize("value, word", [(np.nan, "1 NaN"), (np.inf, "1 infinite")])
def test_fit_refuses_non_finite_images(value, word):
    x = X.copy()
    x[3, 2, 2, 0] = value
    m = small()
    before = m.get_weights()
    with pytest.raises(ValueError, match=f"data: x must hold finite values, got .*{word.split()[1]}"):
        train.fit(m, (x, Y), epochs=1)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


def test_nas_evaluate_refuses_nan_images():
    x = X.copy()
    x[0, 0, 0, 0] = np.nan
    arch = nas.NASNET_A  # the data are checked first
    with pytest.raises(ValueError, match="x_train must hold finite values, got 1 NaN"):
        nas.evaluate(arch, ((x, Y), (X, Y)), batch_size=8, epochs=1)


def test_shapes_refuse_nan_noise():
    with pytest.raises(ValueError, match="noise must be a non-negative finite number, got nan"):
        data.load("shapes", noise=float("nan"))


def test_top_k_refuses_nan_probabilities():
    p = np.full((2, 10), 0.1)
    p[1, 3] = np.nan
    with pytest.raises(ValueError, match="probs must hold finite values, got 1 NaN"):
        applications.top_k(p, 3)


def test_decode_imagenet_refuses_nan_before_any_download():
    with pytest.raises(ValueError, match="probs must hold finite values"):
        applications.decode_imagenet(np.full((1, 1000), np.nan))


# ------------------------------------------------------------------ wrong but plausible


def test_conv2d_on_uint8_is_computed_without_overflow():
    x = np.full((1, 3, 3, 1), 200, np.uint8)
    w = np.full((3, 3, 1, 1), 9, np.uint8)
    y = ops.conv2d(x, w)
    assert y.dtype == np.int64 and int(y.ravel()[0]) == 9 * 200 * 9  # converted, not wrapped around
    np.testing.assert_array_equal(y, ops.conv2d(x.astype(float), w.astype(float)))
    assert ops.conv2d_loop(x, w).ravel()[0] == 16200


def test_builders_refuse_float_and_string_shapes():
    with pytest.raises(TypeError, match=r"input_shape must be \(height, width, channels\) of positive ints"):
        models.mnist_convnet(input_shape=(28.9, 28.9, 1))
    with pytest.raises(TypeError, match="input_shape must be .* a tuple of ints, got '883'"):
        models.simple_cnn(input_shape="883")


def test_fractional_labels_are_refused():
    with pytest.raises(ValueError, match="must hold integer class labels .* fractional"):
        train.fit(small(), (X, Y + 0.5), epochs=1)


def test_preprocess_refuses_images_in_0_1_unless_asked():
    x = RNG.random((1, 32, 32, 3))
    with pytest.raises(ValueError, match=r"expects pixel values in \[0, 255\].*check_range=False"):
        applications.preprocess("ResNet50", x)
    assert applications.preprocess("ResNet50", x, check_range=False).shape == (1, 224, 224, 3)
    with pytest.raises(ValueError, match=r"values in \[0, 255\]"):
        applications.preprocess("ResNet50", x * 1000)


def test_load_shipped_refuses_another_models_file(tmp_path):
    path = tmp_path / "other.keras"
    models.simple_cnn(input_shape=(8, 8, 1), classes=3).save(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"holds another model.*'simple_cnn'.*input \(None, 8, 8, 1\), 3 outputs"):
        shipped.load_shipped(path)
    assert path.read_bytes() == before


def test_lowlevel_refuses_string_filters():
    with pytest.raises(TypeError, match="filters must be two positive ints, got '32'"):
        lowlevel.LowLevelCNN(filters="32")


# ------------------------------------------------------------------ devices


def test_strategy_over_missing_devices_names_the_ones_that_exist():
    import tensorflow as tf

    if len(tf.config.list_logical_devices("GPU")) > 8:
        pytest.skip("this machine has a /gpu:8")
    with pytest.raises(ValueError, match=r"devices \['/gpu:7', '/gpu:8'\] do not exist .* sees are: .*CPU:0"):
        distribute.strategy(devices=["/gpu:7", "/gpu:8"])


# ------------------------------------------------------------------ training that cannot diverge silently


class _Explode(keras.callbacks.Callback):
    """From the second epoch on, a learning rate that makes the loss overflow."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            self.model.optimizer.learning_rate.assign(1e38)


def test_divergence_stops_with_the_epoch_and_keeps_the_last_good_backup(tmp_path):
    backup = tmp_path / "b"
    m = small(optimizer=keras.optimizers.SGD(0.01))
    with pytest.raises(train.TrainingDiverged, match=r"epoch 2, step \d+|after epoch 2"):
        train.fit(m, (X, Y), epochs=4, batch_size=8, backup_dir=backup, callbacks=[_Explode()])
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 1  # epoch 1's backup
    assert not (backup / train.LOCK_FILE).exists()
    restored = small(optimizer=keras.optimizers.SGD(0.01))
    restored.load_weights(backup / "latest.weights.h5")
    assert all(np.isfinite(w).all() for w in restored.get_weights())


# ------------------------------------------------------------------ safe resume


def _interrupted_backup(tmp_path, **kw):
    class Stop(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    backup = tmp_path / "b"
    with pytest.raises(KeyboardInterrupt):
        train.fit(small(**kw), (X, Y), epochs=3, batch_size=8, backup_dir=backup, callbacks=[Stop()])
    return backup, files_of(backup)


def test_resume_refuses_another_optimiser_dropout_loss_or_data(tmp_path):
    backup, files = _interrupted_backup(tmp_path, dropout=0.5)
    with pytest.raises(ValueError, match="another optimizer"):
        train.fit(small(optimizer="sgd", dropout=0.5), (X, Y), epochs=3, batch_size=8, backup_dir=backup)
    with pytest.raises(ValueError, match="another optimizer"):
        train.fit(small(optimizer=keras.optimizers.Adam(0.01), dropout=0.5), (X, Y), epochs=3, batch_size=8,
                  backup_dir=backup)
    with pytest.raises(ValueError, match=r"another model \(layer settings such as dropout"):
        train.fit(small(dropout=0.2), (X, Y), epochs=3, batch_size=8, backup_dir=backup)
    with pytest.raises(ValueError, match="another data set"):
        train.fit(small(dropout=0.5), (X[::-1].copy(), Y), epochs=3, batch_size=8, backup_dir=backup)
    assert files_of(backup) == files  # untouched
    h = train.fit(small(dropout=0.5), (X, Y), epochs=3, batch_size=8, backup_dir=backup)
    assert h.epoch == [1, 2] and not backup.exists()


def test_a_stale_lock_of_a_killed_run_is_taken_over(tmp_path):
    import socket

    backup, _ = _interrupted_backup(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process that no longer runs (a killed run leaves its lock behind)
    (backup / train.LOCK_FILE).write_text(json.dumps({"pid": gone.pid, "host": socket.gethostname(), "started": 0}))
    h = train.fit(small(), (X, Y), epochs=3, batch_size=8, backup_dir=backup)
    assert h.epoch == [1, 2] and not backup.exists()


def test_corrupt_backup_weights_are_named_and_kept(tmp_path):
    backup, files = _interrupted_backup(tmp_path)
    weights = backup / "latest.weights.h5"
    weights.write_bytes(weights.read_bytes()[:100])
    files = files_of(backup)
    with pytest.raises(ValueError, match=f"{weights}.* is not a readable weights file"):
        train.fit(small(), (X, Y), epochs=3, batch_size=8, backup_dir=backup)
    assert files_of(backup) == files


def test_weights_of_another_architecture_say_what_the_file_holds(tmp_path):
    path = tmp_path / "small.weights.h5"
    small().save_weights(path)
    with pytest.raises(ValueError, match=r"does not fit the resnet8 .* the file holds 4 weight arrays \(55 param"):
        resnet.resnet_cifar(8, weights=path)


# ------------------------------------------------------------------ obscure errors made clear


def test_one_hot_labels_with_a_sparse_loss():
    with pytest.raises(ValueError, match="loss is sparse_categorical_crossentropy.*one-hot rows.*argmax"):
        train.fit(small(), (X, np.eye(3)[Y]), epochs=1)


def test_integer_labels_with_a_one_hot_loss():
    with pytest.raises(ValueError, match="loss is categorical_crossentropy.*to_categorical"):
        train.fit(small("categorical_crossentropy"), (X, Y), epochs=1)
    with pytest.raises(ValueError, match="loss is categorical_crossentropy"):
        train.fit(small(keras.losses.CategoricalCrossentropy()), (X, Y), epochs=1)


def test_a_single_callback_instead_of_a_list():
    with pytest.raises(TypeError, match=r"got a single EarlyStopping: pass callbacks=\[EarlyStopping"):
        train.fit(small(), (X, Y), epochs=1, callbacks=keras.callbacks.EarlyStopping())


def test_empty_data_in_the_low_level_trainer():
    m = lowlevel.LowLevelCNN()
    with pytest.raises(ValueError, match="data: there are no images"):
        lowlevel.train(m, (np.zeros((0, 28, 28, 1), "float32"), np.zeros((0,), int)), epochs=1)


def test_kernel_size_zero():
    with pytest.raises(ValueError, match="kernel_size must be a positive int, got 0"):
        models.simple_cnn(input_shape=(8, 8, 1), kernel_size=0)
    with pytest.raises(ValueError, match="kernel_size must be a positive int, got 0"):
        lowlevel.LowLevelCNN(kernel_size=0)
    with pytest.raises(ValueError, match="kernel must be a positive int, got 0"):
        ops.output_size(8, 0)


def test_dataset_name_in_a_list():
    with pytest.raises(TypeError, match=r"name must be a dataset name .* got \['mnist'\]"):
        data.load(["mnist"])


HOLDER = r"""
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, numpy as np
from cnnbook import runtime, train
backup, ready, go = sys.argv[1:4]
rng = np.random.default_rng(0)
x, y = rng.random((24, 8, 8, 1)).astype("float32"), rng.integers(0, 3, 24)
runtime.seed(0)
inputs = keras.Input((8, 8, 1))
h = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
m = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
m.compile("adam", "sparse_categorical_crossentropy")

class Hold(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            open(ready, "w").close()
            t0 = time.time()
            while not os.path.exists(go) and time.time() - t0 < 90:
                time.sleep(0.1)

train.fit(m, (x, y), epochs=2, batch_size=8, backup_dir=backup, callbacks=[Hold()])
"""


def test_two_processes_on_one_backup_folder(tmp_path):
    backup, ready, go = tmp_path / "b", tmp_path / "ready", tmp_path / "go"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(backup), str(ready), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        t0 = time.time()
        while not ready.exists():
            assert holder.poll() is None, holder.stdout.read()[-2000:]
            assert time.time() - t0 < 120, "the first process did not start training"
            time.sleep(0.1)
        files = files_of(backup)
        with pytest.raises(ValueError, match=f"in use by process {holder.pid} on host"):
            train.fit(small(), (X, Y), epochs=2, batch_size=8, backup_dir=backup)
        assert files_of(backup) == files  # the second process wrote nothing
    finally:
        go.touch()
        out, _ = holder.communicate(timeout=120)
    assert holder.returncode == 0, out[-2000:]
    assert not backup.exists()  # the first run finished and removed its folder
