"""cnnbook.pretrained: catalog vs measured models, weights from the cache (fast offline failure),
top-k against NumPy, the shipped model's recorded accuracy, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from cnnbook import applications, models, plot, pretrained

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "InceptionV3",
            "InceptionResNetV2", "Xception", "MobileNet", "MobileNetV2", "DenseNet121", "NASNetMobile",
            "NASNetLarge", "EfficientNetB0"]
SMALL = ["MobileNet", "MobileNetV2", "EfficientNetB0"]


# ------------------------------------------------------------------------------------- catalog


def test_catalog_has_the_source_tables_models_with_published_fields():
    rows = pretrained.catalog()
    names = [r.name for r in rows]
    assert len(names) == len(set(names))
    assert set(REQUIRED) <= set(names)
    for r in rows:
        assert 0.6 < r.top1 < r.top5 < 1.0, r
        assert 1 < r.params < 200 and r.depth > 10 and r.size_mb > 10, r
        assert hasattr(keras.applications, r.name)
    vgg = pretrained.info("VGG16")
    assert (vgg.size_mb, vgg.top1, vgg.top5, vgg.params, vgg.depth) == (528, 0.713, 0.901, 138.4, 16)


def _agrees(name: str) -> pretrained.Measured:
    m = pretrained.measure(name)
    pub = pretrained.info(name)
    assert round(m.params / 1e6, 1) == pub.params, (name, m.params, pub.params)
    assert m.depth == pub.depth, (name, m.depth, pub.depth)
    return m


@pytest.mark.parametrize("name", SMALL)
def test_measured_agrees_with_published_small_models(name):
    _agrees(name)


@pytest.mark.slow
def test_measured_agrees_with_published_every_row():
    """Builds all 20 catalog models with weights=None (about a minute on 2 cores, 2 GB peak)."""
    for a in pretrained.catalog():
        m = _agrees(a.name)
        if a.name in pretrained.PUBLISHED_MULTIPLY_ADDS:
            pub, _ = pretrained.PUBLISHED_MULTIPLY_ADDS[a.name]
            assert abs(m.multiply_adds / pub - 1) < 0.05, (a.name, m.multiply_adds, pub)


def test_exact_counts_of_small_models():
    assert pretrained.measure("MobileNet").params == 4_253_864
    assert pretrained.measure("MobileNetV2").params == 3_538_984
    mobilenet = pretrained.measure("MobileNet")
    pub, _ = pretrained.PUBLISHED_MULTIPLY_ADDS["MobileNet"]
    assert abs(mobilenet.multiply_adds / pub - 1) < 0.01


@pytest.mark.parametrize("bad", ["resnet50", "ResNet-50", "", None, 3])
def test_unknown_model_name_lists_the_catalog(bad):
    for fn in (pretrained.load, pretrained.info, pretrained.measure, pretrained.weights_file):
        with pytest.raises(ValueError, match="not in the catalog.*VGG16.*ResNet50"):
            fn(bad)
    with pytest.raises(ValueError, match="Did you mean 'ResNet50'"):
        pretrained.load("resnet50")


# ------------------------------------------------------------------------------- multiply-adds


def test_multiply_adds_by_hand():
    inp = keras.Input((10, 10, 3))
    x = keras.layers.Conv2D(8, 3)(inp)  # 8x8 positions x (3*3*3*8) kernel
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)  # 8x8 x (3*3*8)
    x = keras.layers.SeparableConv2D(4, 3, strides=2, padding="same")(x)  # 4x4 x (3*3*8 + 8*4)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(5)(x)  # 64 x 5
    model = keras.Model(inp, out)
    expected = 64 * 216 + 64 * 72 + 16 * (72 + 32) + 64 * 5
    assert pretrained.multiply_adds(model) == expected
    with pytest.raises(ValueError, match="keras.Model"):
        pretrained.multiply_adds("VGG16")


def test_multiply_adds_needs_a_fixed_input_size():
    with pytest.raises(ValueError, match="fixed input size"):
        pretrained.multiply_adds(keras.applications.MobileNetV2(weights=None, include_top=False))


# -------------------------------------------------------------------- weights: cache and errors


def _keras_request(name: str, include_top: bool):
    """The (file name, URL) Keras itself asks get_file for, intercepted before any download."""
    from keras.src.utils import file_utils

    class Asked(Exception):
        pass

    def fake_get_file(fname=None, origin=None, **kwargs):
        raise Asked(fname, origin, kwargs.get("cache_subdir"))

    real = file_utils.get_file
    file_utils.get_file = fake_get_file
    try:
        getattr(keras.applications, name)(weights="imagenet", include_top=include_top)
    except Asked as e:
        return e.args
    finally:
        file_utils.get_file = real
        keras.backend.clear_session()
    raise AssertionError(f"{name} did not ask for a weights file")


def _check_weights_file(name):
    for top in (True, False):
        fname, origin, subdir = _keras_request(name, top)
        path, url = pretrained.weights_file(name, top)
        assert (path.name, url, subdir) == (fname, origin, "models"), name
        assert path.parent == pretrained.keras_models_dir()


@pytest.mark.parametrize("name", SMALL + ["ResNet50"])
def test_weights_file_is_what_keras_downloads(name):
    _check_weights_file(name)


@pytest.mark.slow
def test_weights_file_is_what_keras_downloads_every_row():
    for a in pretrained.catalog():
        _check_weights_file(a.name)


OFFLINE = textwrap.dedent(
    """
    import sys, time
    from cnnbook import applications, pretrained
    if applications._reachable():  # online machine: aim the probe at a non-routable address instead
        from cnnbook import data
        applications._reachable = lambda url=None: data.reachable("https://10.255.255.1/x.h5")
    t0 = time.perf_counter()
    try:
        pretrained.load("ResNet50")
    except pretrained.WeightsUnavailable as e:
        print(repr(time.perf_counter() - t0))
        print(e)
        sys.exit(0)
    sys.exit(3)
    """
)


def test_offline_without_cached_weights_fails_fast(tmp_path):
    env = dict(os.environ, KERAS_HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", OFFLINE], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    seconds, message = r.stdout.split("\n", 1)
    assert float(seconds) < 5.0
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert str(tmp_path / "models") in message
    assert "https://storage.googleapis.com/tensorflow/keras-applications/resnet/" in message
    assert not (tmp_path / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels.h5").exists()


def test_cached_file_skips_the_probe(tmp_path, monkeypatch):
    """With the file in the cache, load() checks it without the network; a bad one is named, kept."""
    monkeypatch.setattr(applications, "keras_models_dir", lambda: tmp_path)
    monkeypatch.setattr(applications, "_reachable", lambda *a, **k: pytest.fail("probe called"))
    path, _ = pretrained.weights_file("MobileNet", include_top=False)
    assert path.parent == tmp_path
    path.write_bytes(b"not an h5 file")
    with pytest.raises(pretrained.WeightsUnavailable, match="not a readable HDF5 weights file") as e:
        pretrained.load("MobileNet", include_top=False, input_shape=(64, 64, 3))
    assert str(path) in str(e.value)
    assert path.read_bytes() == b"not an h5 file"  # never deleted or downloaded over


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_shape": (16, 16, 3), "include_top": False}, "at least 32"),
        ({"input_shape": (160, 160, 3)}, r"takes \(224, 224, 3\) only"),
        ({"input_shape": (224, 224, 1), "include_top": False}, "3 channels"),
        ({"input_shape": "big", "include_top": False}, "input_shape must be"),
        ({"weights": "no/such/file.h5"}, "existing weights file"),
        ({"weights": "imagenet", "classes": 10}, "1000 classes"),
        ({"pooling": "sum", "include_top": False}, "pooling"),
    ],
)
def test_load_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pretrained.load("MobileNetV2", **kwargs)


def test_inception_needs_75_pixels():
    with pytest.raises(ValueError, match="at least 75"):
        pretrained.load("InceptionV3", weights=None, include_top=False, input_shape=(64, 64, 3))


def test_weights_that_do_not_fit_the_architecture(tmp_path):
    other = models.simple_cnn((32, 32, 3), 4)
    path = tmp_path / "other.weights.h5"
    other.save_weights(path)
    with pytest.raises(ValueError, match="does not fit the MobileNetV2 architecture"):
        pretrained.load("MobileNetV2", weights=path, include_top=False, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="does not hold weights of the shipped architecture"):
        pretrained.load_shipped(path)


def test_own_weights_file_round_trip(tmp_path):
    m = pretrained.load("MobileNet", weights=None, include_top=False, input_shape=(32, 32, 3))
    path = tmp_path / "mobilenet.weights.h5"
    m.save_weights(path)
    back = pretrained.load("MobileNet", weights=path, include_top=False, input_shape=(32, 32, 3))
    for a, b in zip(m.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------- top-k


def _probs(n=300, c=10, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c)).astype(np.float32)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return p, rng.integers(0, c, size=n)


def test_top_k_accuracy_matches_numpy():
    p, y = _probs()
    for k in range(1, 11):
        ranks = np.argsort(-p, axis=1)[:, :k]
        expected = np.mean([y[i] in ranks[i] for i in range(len(y))])
        assert pretrained.top_k_accuracy(y, p, k) == pytest.approx(expected, abs=1e-7)
    assert pretrained.top_k_accuracy(y, p, 10) == 1.0


def test_top_k_indices_and_decode():
    p, _ = _probs(n=20, c=6)
    idx, scores = pretrained.top_k(p, 3)
    np.testing.assert_array_equal(idx, np.argsort(-p, axis=1)[:, :3])
    np.testing.assert_allclose(scores, np.sort(p, axis=1)[:, ::-1][:, :3])
    names = list("abcdef")
    decoded = pretrained.decode_top_k(p, names, k=2)
    assert decoded[0][0] == (names[idx[0, 0]], pytest.approx(float(scores[0, 0])))
    assert len(decoded) == 20 and all(len(r) == 2 for r in decoded)


def test_top_k_bad_input():
    p, y = _probs(n=10, c=5)
    with pytest.raises(ValueError, match="k=6 is larger than the number of classes"):
        pretrained.top_k_accuracy(y % 5, p, 6)
    with pytest.raises(ValueError, match="k=6 is larger"):
        pretrained.top_k(p, 6)
    with pytest.raises(ValueError, match="k must be a positive int"):
        pretrained.top_k(p, 0)
    with pytest.raises(ValueError, match="y_true must have shape"):
        pretrained.top_k_accuracy(y[:5], p, 1)
    with pytest.raises(ValueError, match="integer classes"):
        pretrained.top_k_accuracy(y + 5, p, 1)
    with pytest.raises(ValueError, match="probs must be a 2-D"):
        pretrained.top_k(p[0], 1)
    with pytest.raises(ValueError, match="class_names has 3 entries"):
        pretrained.decode_top_k(p, ["a", "b", "c"], 1)
    with pytest.raises(ValueError, match=r"shape \(N, 1000\)"):
        pretrained.decode_imagenet(p, 5)


# ------------------------------------------------------------------------ looking inside models


def test_inception_module_branches():
    inc = keras.applications.InceptionV3(weights=None)
    m = pretrained.inception_branches(inc, "mixed0")
    assert m["input"] == (35, 35, 192) and m["output"] == (35, 35, 256)
    labels = [[u["label"] for u in b] for b in m["branches"]]
    assert labels == [["conv 1x1, 64"], ["conv 1x1, 48", "conv 5x5, 64"],
                      ["conv 1x1, 64", "conv 3x3, 96", "conv 3x3, 96"], ["avg pool 3x3", "conv 1x1, 32"]]
    assert sum(b[-1]["shape"][-1] for b in m["branches"]) == 256
    # 1x1 conv with BN (scale=False): 192*64 weights + 64 bias-free + 3*64 BN statistics/offset
    assert m["branches"][0][0]["params"] == 192 * 64 + 3 * 64
    fig = plot.inception_module(m)
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="block='nope' is not a layer"):
        pretrained.inception_branches(inc, "nope")
    with pytest.raises(ValueError, match="not a Concatenate"):
        pretrained.inception_branches(inc, "conv2d")


def test_inception_module_plot_bad_input():
    with pytest.raises(ValueError, match="module must be a mapping"):
        plot.inception_module([1, 2])
    with pytest.raises(ValueError, match="module\\['branches'\\]"):
        plot.inception_module({"input": (1, 1, 1), "output": (1, 1, 1), "branches": [[]]})


@pytest.mark.slow
def test_vgg16_parameters_sit_in_fc1():
    vgg = keras.applications.VGG16(weights=None)
    table = dict((g, (p, m)) for g, p, m in pretrained.layer_table(vgg))
    assert table["fc1"][0] == 7 * 7 * 512 * 4096 + 4096
    assert sum(p for p, _ in table.values()) == vgg.count_params() == 138_357_544
    assert table["fc1"][0] / vgg.count_params() > 0.74
    assert sum(m for _, m in table.values()) == pretrained.multiply_adds(vgg)


# --------------------------------------------------------------------------- preprocessing etc.


def test_preprocess_for_keras_models():
    img = (np.random.default_rng(0).uniform(0, 255, size=(100, 150, 3))).astype(np.uint8)
    x = pretrained.preprocess("ResNet50", img)
    assert x.shape == (1, 224, 224, 3) and x.dtype == np.float32
    x = pretrained.preprocess("InceptionV3", np.stack([img, img]))
    assert x.shape == (2, 299, 299, 3) and -1.0 <= x.min() and x.max() <= 1.0
    with pytest.raises(ValueError, match="RGB"):
        pretrained.preprocess("ResNet50", img[..., 0])


def test_preprocess_shipped():
    x, _ = pretrained.canvas_digits(split="test")
    rgb = (np.repeat(np.kron(x[:3], np.ones((1, 2, 2, 1))), 3, axis=-1) * 255).astype(np.uint8)
    back = pretrained.preprocess_shipped(rgb)
    assert back.shape == (3, 40, 40, 1) and back.dtype == np.float32
    assert np.abs(back - x[:3]).mean() < 0.01
    assert pretrained.preprocess_shipped(x[0, ..., 0]).shape == (1, 40, 40, 1)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        pretrained.preprocess_shipped(x * 3)
    with pytest.raises(ValueError, match="images must be"):
        pretrained.preprocess_shipped(np.zeros((2, 4, 4, 2)))


def test_canvas_digits_and_few_labels():
    x, y = pretrained.canvas_digits((7, 5), "test", seed=3)
    assert x.shape[1:] == (40, 40, 1) and set(np.unique(y)) == {0, 1}
    assert 0.0 <= x.min() and x.max() <= 1.0
    again, _ = pretrained.canvas_digits((7, 5), "test", seed=3)
    np.testing.assert_array_equal(x, again)
    xf, yf = pretrained.few_labels(x, y, 4, seed=0)
    assert len(xf) == 8 and np.bincount(yf).tolist() == [4, 4]
    for bad, match in [(dict(digits=(1, 1)), "distinct"), (dict(digits=(10,)), "distinct"),
                       (dict(split="val"), "split"), (dict(copies=0), "copies"), (dict(canvas=20), "canvas")]:
        with pytest.raises(ValueError, match=match):
            pretrained.canvas_digits(**bad)
    with pytest.raises(ValueError, match="has only"):
        pretrained.few_labels(x, y, 10_000)
    with pytest.raises(ValueError, match="steps"):
        pretrained.fit_few(models.mlp((40, 40, 1), 2), xf, yf, steps=0, learning_rate=1e-3)


# ----------------------------------------------------------------------------- shipped model


def test_shipped_model_is_small_and_its_accuracy_is_what_is_recorded():
    rec = pretrained.shipped_info()
    assert pretrained.SHIPPED_FILE.stat().st_size <= 2 * 1024 * 1024
    assert rec["file"] == pretrained.SHIPPED_FILE.name and rec["classes"] == ["0", "1", "2", "3", "4"]
    model = pretrained.load_shipped()
    assert model.count_params() == rec["params"]
    assert tuple(model.input_shape[1:]) == tuple(rec["input_shape"])
    correct, total = pretrained.evaluate_shipped(model)
    assert (correct, total) == (rec["test_correct"], rec["test_size"])
    assert correct / total == pytest.approx(rec["test_accuracy"], abs=1e-6)
    assert rec["test_accuracy"] >= 0.9


def test_feature_extractor_copies_and_freezes():
    model = pretrained.load_shipped()
    base = pretrained.feature_extractor(model, "gap")
    assert base.output_shape == (None, 128) and not base.trainable
    assert model.trainable
    np.testing.assert_array_equal(base.get_weights()[0], model.get_weights()[0])
    with pytest.raises(ValueError, match="layer='nope'"):
        pretrained.feature_extractor(model, "nope")


def test_load_shipped_bad_path(tmp_path):
    with pytest.raises(ValueError, match="is not a file"):
        pretrained.load_shipped(tmp_path / "missing.keras")
    p = tmp_path / "model.txt"
    p.write_text("x")
    with pytest.raises(ValueError, match="must end in .keras or .weights.h5"):
        pretrained.load_shipped(p)


@pytest.mark.slow
def test_training_script_repeats_exactly(tmp_path):
    """Two short runs of scripts/train_shipped_model.py give the same weights and accuracy."""
    outs = []
    for run in ("a", "b"):
        out = tmp_path / run
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CNNBOOK_PROFILE="quick")
        r = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_shipped_model.py"), "--out", str(out),
                            "--epochs", "1", "--copies", "1"], env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append(out)
    rec = [json.loads((o / "canvas_digits_cnn.json").read_text()) for o in outs]
    assert rec[0]["test_correct"] == rec[1]["test_correct"]
    wa = pretrained.load_shipped(outs[0] / "canvas_digits_cnn.keras").get_weights()
    wb = pretrained.load_shipped(outs[1] / "canvas_digits_cnn.keras").get_weights()
    for a, b in zip(wa, wb):
        np.testing.assert_array_equal(a, b)
