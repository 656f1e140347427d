"""Small stand-ins for the files the full profile reads from the Keras cache (``$KERAS_HOME``).

The full profile loads MNIST, Fashion-MNIST, CIFAR-10/100 and ImageNet weights that Keras
downloads once into its cache. None of them can be had in CI, so :func:`write` makes files in
exactly Keras's layout and formats (``mnist.npz``; the four gzipped IDX files of Fashion-MNIST;
the pickled CIFAR batches; an HDF5 weights file and the ImageNet class index), but with a few
hundred random images each. ``cnnbook.data`` reads and checks them as it reads the real ones, so
the notebooks' full-profile branches run end to end on them (tests/test_full_smoke.py).

The images are noise and the weights random: what such a run prints means nothing.
"""

from __future__ import annotations

import gzip
import json
import pickle
import struct
from pathlib import Path

import numpy as np

SIZES = {"mnist": (600, 100), "fashion_mnist": (600, 100), "cifar10": (500, 100), "cifar100": (1000, 200)}
CLASSES = {"mnist": 10, "fashion_mnist": 10, "cifar10": 10, "cifar100": 100}


def _labels(n: int, classes: int, rng: np.random.Generator) -> np.ndarray:
    """Every class present (n >= classes), in a random order."""
    return rng.permutation(np.arange(n) % classes).astype(np.uint8)


def _idx(path: Path, array: np.ndarray) -> None:
    magic = 2048 + array.ndim
    header = struct.pack(f">i{array.ndim}i", magic, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def _cifar_batch(path: Path, x: np.ndarray, y: np.ndarray, label_key: str) -> None:
    data = x.transpose(0, 3, 1, 2).reshape(len(x), -1)  # (N, 3072), channel planes first
    with open(path, "wb") as f:
        pickle.dump({b"batch_label": b"fixture", label_key.encode(): [int(v) for v in y], b"data": data}, f)


def write_mnist(home: Path, *, rng: np.random.Generator | None = None) -> Path:
    """``home/datasets/mnist.npz`` alone (uint8 (N, 28, 28) noise images, every digit a label); its path."""
    rng = np.random.default_rng(0) if rng is None else rng
    folder = Path(home) / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    n_tr, n_te = SIZES["mnist"]
    path = folder / "mnist.npz"
    np.savez_compressed(path, x_train=rng.integers(0, 256, size=(n_tr, 28, 28), dtype=np.uint8),
                        y_train=_labels(n_tr, 10, rng),
                        x_test=rng.integers(0, 256, size=(n_te, 28, 28), dtype=np.uint8),
                        y_test=_labels(n_te, 10, rng))
    return path


def write_datasets(home: Path, seed: int = 0) -> Path:
    """Write the four Keras datasets into ``home/datasets``; returns that folder."""
    rng = np.random.default_rng(seed)
    root = Path(home) / "datasets"
    root.mkdir(parents=True, exist_ok=True)

    def images(n: int, shape: tuple[int, ...]) -> np.ndarray:
        return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)

    write_mnist(home, rng=rng)
    fashion = root / "fashion-mnist"
    fashion.mkdir(exist_ok=True)
    n_tr, n_te = SIZES["fashion_mnist"]
    for prefix, n in (("train", n_tr), ("t10k", n_te)):
        _idx(fashion / f"{prefix}-labels-idx1-ubyte.gz", _labels(n, 10, rng))
        _idx(fashion / f"{prefix}-images-idx3-ubyte.gz", images(n, (28, 28)))
    c10 = root / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    c10.mkdir(parents=True, exist_ok=True)
    n_tr, n_te = SIZES["cifar10"]
    for i in range(1, 6):
        _cifar_batch(c10 / f"data_batch_{i}", images(n_tr // 5, (32, 32, 3)), _labels(n_tr // 5, 10, rng), "labels")
    _cifar_batch(c10 / "test_batch", images(n_te, (32, 32, 3)), _labels(n_te, 10, rng), "labels")
    c100 = root / "cifar-100-python-target" / "cifar-100-python"
    c100.mkdir(parents=True, exist_ok=True)
    n_tr, n_te = SIZES["cifar100"]
    _cifar_batch(c100 / "train", images(n_tr, (32, 32, 3)), _labels(n_tr, 100, rng), "fine_labels")
    _cifar_batch(c100 / "test", images(n_te, (32, 32, 3)), _labels(n_te, 100, rng), "fine_labels")
    return root


def write_imagenet(home: Path, names: tuple[str, ...] = ("ResNet50",), seed: int = 0) -> Path:
    """Random-weight stand-ins for the ImageNet weights of ``names`` and the class index, in
    ``home/models`` under the file names Keras uses (Keras's legacy HDF5 weights layout, which
    is what ``keras.applications`` downloads and ``model.load_weights`` reads)."""
    import keras
    from keras.src.legacy.saving import legacy_h5_format  # the writer of Keras's .h5 weights layout

    from cnnbook import applications

    root = Path(home) / "models"
    root.mkdir(parents=True, exist_ok=True)
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (root / "imagenet_class_index.json").write_text(json.dumps(index))
    import h5py

    for name in names:
        keras.utils.set_random_seed(seed)
        model = applications.load(name, weights=None)
        target = Path(home) / "models" / applications.weights_file(name)[0].name
        with h5py.File(target, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
        keras.backend.clear_session()
    return root


def write(home: Path, *, imagenet: tuple[str, ...] = ("ResNet50",), seed: int = 0) -> Path:
    """Datasets and ImageNet stand-ins under ``home`` (use it as ``KERAS_HOME``); returns ``home``."""
    write_datasets(home, seed=seed)
    write_imagenet(home, imagenet, seed=seed)
    return Path(home)


if __name__ == "__main__":  # python tests/keras_cache_fixture.py <folder>
    import sys

    print(write(Path(sys.argv[1])))
