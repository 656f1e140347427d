import os
import subprocess
import sys
import time

import numpy as np
import pytest

from cnnbook import data


def test_names_and_registry():
    assert set(data.names()) == {"digits", "digits28", "shapes", "mnist", "fashion_mnist", "cifar10", "cifar100"}
    reg = {d.name: d for d in data.registry()}
    for name in ("svhn", "imagenet", "coco", "voc", "caltech101"):
        assert not reg[name].loadable
    assert reg["cifar10"].image_shape == (32, 32, 3) and reg["cifar10"].train_size == 50000
    assert all(reg[n].offline for n in ("digits", "digits28", "shapes"))


def test_unknown_name_lists_available():
    with pytest.raises(ValueError, match=r"name='nope' is not a dataset; available: digits, digits28, shapes, mnist"):
        data.load("nope")


def test_reference_only_entry_is_refused():
    with pytest.raises(ValueError, match="listed for reference only"):
        data.load("imagenet")


@pytest.mark.parametrize("kwargs,match", [
    ({"n_train": 0}, "n_train must be a positive int"),
    ({"n_test": -3}, "n_test must be a positive int"),
    ({"n_train": 2.5}, "n_train must be a positive int"),
    ({"seed": -1}, "seed must be a non-negative int"),
    ({"channels": 3}, r"unknown option\(s\) \['channels'\] for 'digits'"),
    ({"size": 0}, "size must be a positive int"),
    ({"size": 16.0}, "size must be a positive int"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load("digits", **kwargs)


def test_digits_shapes_and_ranges():
    (xtr, ytr), (xte, yte) = data.load("digits")
    assert xtr.shape == (1437, 8, 8, 1) and xte.shape == (360, 8, 8, 1)
    assert xtr.dtype == np.float32 and ytr.dtype == np.int64
    assert 0.0 <= xtr.min() and xtr.max() <= 1.0
    assert set(np.unique(ytr)) == set(range(10))
    (x28, _), _ = data.load("digits28", n_train=100)
    assert x28.shape == (100, 28, 28, 1) and 0.0 <= x28.min() and x28.max() <= 1.0


def test_subsets_are_seeded():
    (a, ya), _ = data.load("digits", n_train=50, seed=1)
    (b, yb), _ = data.load("digits", n_train=50, seed=1)
    (c, _), _ = data.load("digits", n_train=50, seed=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c)


def test_shapes_dataset():
    (xtr, ytr), (xte, yte) = data.load("shapes", n_train=400, n_test=100, size=24, seed=5)
    assert xtr.shape == (400, 24, 24, 1) and xte.shape == (100, 24, 24, 1)
    assert np.bincount(np.concatenate([ytr, yte])).tolist() == [125] * 4  # balanced
    (again, _), _ = data.load("shapes", n_train=400, n_test=100, size=24, seed=5)
    np.testing.assert_array_equal(xtr, again)
    (rgb, _), _ = data.load("shapes", n_train=8, n_test=8, channels=3)
    assert rgb.shape == (8, 32, 32, 3)
    # objects are at random positions: the centre of mass varies a lot across images
    com = [np.argwhere(img[..., 0] > 0.45).mean(axis=0) for img in xtr[:100]]
    assert np.std(np.array(com), axis=0).min() > 3


@pytest.mark.parametrize("kwargs,match", [({"size": 8}, "size must be at least 12"),
                                          ({"channels": 2}, "channels must be 1 or 3"),
                                          ({"noise": -1}, "noise must be a non-negative")])
def test_shapes_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load("shapes", n_train=4, n_test=4, **kwargs)


def test_photos_ship_offline():
    cat = data.photo("cat")
    assert cat.shape == (300, 451, 3) and cat.dtype == np.uint8
    assert data.photo("china").shape == (427, 640, 3)
    assert "cat" in data.photo_names()
    with pytest.raises(ValueError, match="name='dog' is not a shipped photo; available: cat"):
        data.photo("dog")


def test_pipeline_batches_and_validates():
    (x, y), _ = data.load("digits", n_train=100)
    ds = data.pipeline(x, y, batch_size=32, shuffle=True, seed=0)
    batches = list(ds)
    assert [len(b[0]) for b in batches] == [32, 32, 32, 4]
    with pytest.raises(ValueError, match=r"x must be a 4-D array"):
        data.pipeline(x[..., 0], y)
    with pytest.raises(ValueError, match=r"y must have shape \(N,\)"):
        data.pipeline(x, y[:10])
    with pytest.raises(ValueError, match="x must hold numbers"):
        data.pipeline(np.array(["a"] * 100).reshape(100, 1, 1, 1), y)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        data.pipeline(x, y, batch_size=0)


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_keras_dataset_offline_fails_fast(tmp_path, name):
    """Empty Keras cache, no network: load() fails in < 5 s, names the file and the folder."""
    code = (
        "import socket, time\n"
        "def refuse(*a, **k): raise OSError('network disabled for this test')\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "import keras  # a reader's session has Keras loaded already; time the load() call only\n"
        "from cnnbook import data\n"
        "t0 = time.perf_counter()\n"
        "try:\n"
        f"    data.load({name!r})\n"
        "except data.DatasetUnavailable as e:\n"
        "    print(f'{time.perf_counter() - t0:.3f}')\n"
        "    print(e)\n"
    )
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "keras"), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    elapsed, message = proc.stdout.split("\n", 1)
    assert float(elapsed) < 5
    expected = {"mnist": "mnist.npz", "cifar10": "cifar-10-batches-py-target"}[name]
    assert expected in message and str(tmp_path / "keras" / "datasets") in message
    assert "No other dataset is substituted" in message
    assert not (tmp_path / "keras" / "datasets" / expected).exists()


def test_keras_dataset_failure_is_fast_in_process(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "keras_cache_dir", lambda: tmp_path)
    monkeypatch.setattr(data, "_reachable", lambda url, timeout=3.0: False)
    t0 = time.perf_counter()
    with pytest.raises(data.DatasetUnavailable, match=r"fashion_mnist is not in the Keras cache"):
        data.load("fashion_mnist")
    assert time.perf_counter() - t0 < 5


def test_reachability_probe_times_out_quickly():
    # 203.0.113.0/24 is reserved (TEST-NET-3): no web server answers there.
    t0 = time.perf_counter()
    assert data._reachable("https://203.0.113.1/nothing.npz", timeout=1.0) is False
    assert time.perf_counter() - t0 < 5


def test_size_resizes_like_the_chapters_did():
    import keras

    (xtr, ytr), (xte, yte) = data.load("digits")
    (rtr, rytr), (rte, _) = data.load("digits", size=16)
    assert rtr.shape[1:] == (16, 16, 1) and rte.shape[1:] == (16, 16, 1) and rtr.dtype == np.float32
    np.testing.assert_array_equal(rytr, ytr)
    by_hand = keras.ops.convert_to_numpy(keras.ops.image.resize(xtr, (16, 16)))
    np.testing.assert_array_equal(rtr, by_hand)  # the block chapters 6 and 8 copied
    assert data.load("digits", size=8)[0][0].shape[1:] == (8, 8, 1)
    assert data.load("shapes", size=16, n_train=4, n_test=2)[0][0].shape == (4, 16, 16, 1)
