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


# ---------------------------------------------------------------- hand-seeded Keras cache (issues 15, 17)


def _mnist_arrays(n_train=20, n_test=10, classes=10, side=28, seed=0):
    rng = np.random.default_rng(seed)
    return dict(x_train=rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
                y_train=(np.arange(n_train) % classes).astype(np.uint8),
                x_test=rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
                y_test=(np.arange(n_test) % classes).astype(np.uint8))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty Keras cache folder, and no network (a download attempt would fail the test)."""
    folder = tmp_path / "datasets"
    folder.mkdir()
    monkeypatch.setattr(data, "keras_cache_dir", lambda: folder)
    monkeypatch.setattr(data, "_cache_dir_fast", lambda: folder)

    def no_network(*a, **k):
        raise AssertionError("the network was asked for although the file is in the cache")

    monkeypatch.setattr(data, "_reachable", no_network)
    return folder


def test_seeded_mnist_npz_is_loaded_without_keras(cache):
    arrays = _mnist_arrays()
    np.savez(cache / "mnist.npz", **arrays)
    (x, y), (xt, yt) = data.load("mnist")
    assert x.shape == (20, 28, 28, 1) and xt.shape == (10, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], arrays["x_train"] / 255.0, rtol=1e-6)
    assert y.dtype == np.int64 and list(yt) == list(arrays["y_test"])


@pytest.mark.parametrize("spoil, match", [
    ("truncate", r"not a readable \.npz file"),
    ("shape", r"x_train/y_train images have shape \(20, 27, 27\), expected \(N, 28, 28\)"),
    ("classes", r"labels run from 0 to 11, but MNIST has 10 classes"),
    ("keys", r"lacks the arrays \['y_test'\]"),
])
def test_bad_seeded_mnist_is_refused_and_left_alone(cache, spoil, match):
    path = cache / "mnist.npz"
    arrays = _mnist_arrays(side=27 if spoil == "shape" else 28, classes=12 if spoil == "classes" else 10)
    if spoil == "keys":
        del arrays["y_test"]
    np.savez(path, **arrays)
    if spoil == "truncate":
        path.write_bytes(path.read_bytes()[:700])
    before = path.read_bytes()
    with pytest.raises(data.CacheFileError, match=match) as err:
        data.load("mnist")
    assert str(path) in str(err.value) and "left as it is" in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, data.DatasetUnavailable)
    assert path.read_bytes() == before  # never deleted, never replaced by a download


def _idx(array, magic):
    import struct

    return struct.pack(f">{array.ndim + 1}i", magic, *array.shape) + array.astype(np.uint8).tobytes()


def test_seeded_fashion_mnist_and_truncated_file(cache, tmp_path):
    import gzip

    src = tmp_path / "fashion"
    src.mkdir()
    a = _mnist_arrays()
    for fname, arr, magic in [("train-labels-idx1-ubyte.gz", a["y_train"], 2049),
                              ("train-images-idx3-ubyte.gz", a["x_train"], 2051),
                              ("t10k-labels-idx1-ubyte.gz", a["y_test"], 2049),
                              ("t10k-images-idx3-ubyte.gz", a["x_test"], 2051)]:
        with gzip.open(src / fname, "wb") as f:
            f.write(_idx(arr, magic))
    written = data.seed("fashion_mnist", src)
    assert len(written) == 4 and all(p.parent == cache / "fashion-mnist" for p in written)
    (x, y), (xt, yt) = data.load("fashion_mnist")
    assert x.shape == (20, 28, 28, 1) and list(y) == list(a["y_train"])
    bad = cache / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    with gzip.open(bad, "wb") as f:
        f.write(_idx(a["x_test"], 2051)[:-100])
    before = bad.read_bytes()
    with pytest.raises(data.CacheFileError, match=r"t10k-images-idx3-ubyte\.gz: holds .* bytes of data.*truncated"):
        data.load("fashion_mnist")
    assert bad.read_bytes() == before


def test_seeded_cifar10_from_archive(cache, tmp_path):
    import io
    import pickle
    import tarfile

    rng = np.random.default_rng(0)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            blob = pickle.dumps({b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                                 b"labels": [0, 3, 9, 1]})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    data.seed("cifar10", archive)
    (x, y), (xt, yt) = data.load("cifar10")
    assert x.shape == (20, 32, 32, 3) and xt.shape == (4, 32, 32, 3) and list(yt) == [0, 3, 9, 1]
    with pytest.raises(FileExistsError, match="left as they are"):
        data.seed("cifar10", archive)  # never replaces without force
    bad = cache / "cifar-10-batches-py-target" / "cifar-10-batches-py" / "data_batch_3"
    bad.write_bytes(bad.read_bytes()[:50])
    before = bad.read_bytes()
    with pytest.raises(data.CacheFileError, match=r"data_batch_3: not a readable pickle"):
        data.load("cifar10")
    assert bad.read_bytes() == before


def test_seed_from_classic_pickle_converts_pixels(cache, tmp_path):
    import gzip
    import pickle

    a = _mnist_arrays(n_train=12, n_test=6)

    def part(x, y):
        return (x.reshape(len(x), -1).astype(np.float32) / 256.0, y.astype(np.int64))

    sets = (part(a["x_train"][:8], a["y_train"][:8]), part(a["x_train"][8:], a["y_train"][8:]),
            part(a["x_test"], a["y_test"]))
    with gzip.open(tmp_path / "mnist.pkl.gz", "wb") as f:
        pickle.dump(sets, f)
    assert data._main(["seed", "mnist", str(tmp_path / "mnist.pkl.gz")]) == 0
    with np.load(cache / "mnist.npz") as f:
        assert np.array_equal(f["x_train"], a["x_train"]) and np.array_equal(f["y_test"], a["y_test"])
    assert data._main(["seed", "mnist", str(tmp_path / "mnist.pkl.gz")]) == 1  # exists: refused


def test_reachability_respects_a_silent_proxy(monkeypatch):
    """A proxy that accepts connections and never answers: False within the timeout."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in range(4)], daemon=True).start()
    proxy = f"http://127.0.0.1:{server.getsockname()[1]}"
    for var in ("https_proxy", "http_proxy", "HTTPS_PROXY", "HTTP_PROXY"):
        monkeypatch.setenv(var, proxy)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    data._REACH_CACHE.clear()
    t0 = time.perf_counter()
    assert data.reachable("https://storage.googleapis.com/x.npz", timeout=1.0) is False
    assert time.perf_counter() - t0 < 2.5
    assert held, "the request did not go through the proxy"
    data._REACH_CACHE.clear()
    server.close()


def test_empty_cache_behind_silent_proxy_fails_fast_in_a_fresh_process(tmp_path):
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    threading.Thread(target=lambda: [server.accept() for _ in range(4)], daemon=True).start()
    proxy = f"http://127.0.0.1:{server.getsockname()[1]}"
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "keras"), TF_CPP_MIN_LOG_LEVEL="3",
               https_proxy=proxy, http_proxy=proxy, HTTPS_PROXY=proxy, HTTP_PROXY=proxy)
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    code = ("from cnnbook import data\ntry:\n    data.load('mnist')\n"
            "except data.DatasetUnavailable as e:\n    print(e)\n")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - t0
    server.close()
    assert "mnist.npz" in proc.stdout and "python -m cnnbook.data seed mnist" in proc.stdout, proc.stderr
    assert elapsed < 5, f"took {elapsed:.1f} s"
