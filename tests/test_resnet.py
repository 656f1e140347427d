"""cnnbook.resnet: exact parameter counts against the papers and keras.applications, layer-for-layer
equality with keras.applications, SE-ResNet-50 against SENet Table 10, bad input."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnbook import models
from cnnbook.layers import SqueezeExcite, ZeroPadShortcut
from cnnbook.resnet import (
    BlockParts,
    activation_stds,
    cifar_depths,
    copy_weights,
    kernel_gradient_norms,
    layer_table,
    multiply_adds,
    resnet_cifar,
    resnet_imagenet,
    trainable_params,
)

# He et al. 2016a Table 6 / 2016b Table 3, recomputed exactly (paper_tables.md §2-§3):
# option A, convolutions without bias, batch-norm gamma/beta counted, final dense with bias.
CIFAR_COUNTS = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962}


@pytest.mark.parametrize("depth,count", sorted(CIFAR_COUNTS.items()))
def test_cifar_resnet_exact_counts(depth, count):
    model = resnet_cifar(depth)
    assert trainable_params(model) == count
    # the plain net with option A has exactly the same parameters (the paper's fair comparison)
    assert trainable_params(resnet_cifar(depth, plain=True)) == count


@pytest.mark.slow
def test_cifar_resnet_1202_exact_count():
    assert trainable_params(resnet_cifar(1202)) == 19_421_274


def test_preact_resnet_164_exact_count():
    model = resnet_cifar(164, version=2, shortcut="B")
    assert trainable_params(model) == 1_703_258
    assert sum(row["layers"] for row in layer_table(model)) == 164


@pytest.mark.slow
def test_preact_resnet_1001_exact_count():
    assert trainable_params(resnet_cifar(1001, version=2, shortcut="B")) == 10_327_706


def test_layer_table_resnet20_matches_paper_structure():
    rows = layer_table(resnet_cifar(20))
    assert rows == [
        {"output": "32x32", "layers": 7, "filters": "16"},  # 1 + 2n
        {"output": "16x16", "layers": 6, "filters": "32"},  # 2n
        {"output": "8x8", "layers": 6, "filters": "64"},  # 2n
        {"output": "1x1", "layers": 1, "filters": "10 (dense)"},
    ]


@pytest.mark.parametrize("kwargs", [dict(depth=32), dict(depth=44, version=2), dict(depth=20, shortcut="B"),
                                    dict(depth=29, version=2, bottleneck=True)])
def test_layer_table_sums_to_depth(kwargs):
    model = resnet_cifar(**kwargs)
    assert sum(row["layers"] for row in layer_table(model)) == kwargs["depth"]


def test_shortcut_options():
    a, b, c = (trainable_params(resnet_cifar(20, shortcut=s)) for s in "ABC")
    # B adds two 1x1 projections with BN (16->32, 32->64); C projects on every one of the 9 shortcuts
    assert b - a == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert c > b
    model = resnet_cifar(20, shortcut="A")
    assert sum(isinstance(layer, ZeroPadShortcut) for layer in model.layers) == 2
    assert not any(isinstance(layer, keras.layers.Add) for layer in resnet_cifar(20, plain=True).layers)


def test_version2_and_bottleneck_choice():
    v2 = resnet_cifar(110, version=2)  # the paper's pre-activation ResNet-110 uses basic blocks
    assert sum(row["layers"] for row in layer_table(v2)) == 110
    assert "post_bn" in [layer.name for layer in v2.layers]
    assert not any(layer.name.endswith("_3_conv") for layer in v2.layers)
    v2b = resnet_cifar(164, version=2, shortcut="B")  # and bottleneck blocks from 164 on
    assert any(layer.name.endswith("_3_conv") for layer in v2b.layers)


def test_forward_and_train_step_small_inputs():
    x = np.random.default_rng(0).random((8, 16, 16, 3)).astype("float32")
    y = np.arange(8) % 4
    for kwargs in (dict(version=1), dict(version=2), dict(plain=True), dict(se_ratio=4), dict(shortcut="B")):
        model = resnet_cifar(8, input_shape=(16, 16, 3), classes=4, widths=(4, 8, 16), **kwargs)
        model.compile("sgd", "sparse_categorical_crossentropy")
        model.train_on_batch(x, y)
        p = model.predict(x, verbose=0)
        assert p.shape == (8, 4)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_se_cifar_adds_paper_formula():
    base, se = resnet_cifar(20), resnet_cifar(20, se_ratio=4)
    # 3 blocks per stage on 16/32/64 channels: 2C^2/r weights + C/r + C biases each
    expected = sum(3 * (2 * c * c // 4 + c // 4 + c) for c in (16, 32, 64))
    assert trainable_params(se) - trainable_params(base) == expected
    assert sum(isinstance(layer, SqueezeExcite) for layer in se.layers) == 9


# --- ImageNet ResNets: exactly keras.applications -------------------------------------------

# keras.applications' exact count_params() (weights=None), as printed by the keras-io
# applications table and recomputed with keras 3.15.1 (paper_tables.md §1)
KERAS_APPS = [(50, 1, 25_636_712), (50, 2, 25_613_800), (101, 1, 44_707_176), (101, 2, 44_675_560),
              (152, 1, 60_419_944), (152, 2, 60_380_648)]


@pytest.mark.parametrize("depth,version,count", KERAS_APPS)
def test_imagenet_counts_equal_keras_applications(depth, version, count):
    assert resnet_imagenet(depth, version=version).count_params() == count


@pytest.mark.parametrize("version,app", [(1, "ResNet50"), (2, "ResNet50V2")])
def test_imagenet_counts_equal_keras_applications_live(version, app):
    ours = resnet_imagenet(50, version=version)
    ref = getattr(keras.applications, app)(weights=None)
    assert ours.count_params() == ref.count_params()
    assert trainable_params(ours) == trainable_params(ref)
    notop = resnet_imagenet(50, version=version, include_top=False)
    assert notop.count_params() == getattr(keras.applications, app)(weights=None, include_top=False).count_params()


@pytest.mark.parametrize("version,app", [(1, "ResNet50"), (2, "ResNet50V2")])
def test_imagenet_outputs_equal_keras_applications(version, app):
    kwargs = dict(include_top=False, pooling="avg", input_shape=(64, 64, 3))
    ours = resnet_imagenet(50, version=version, **kwargs)
    ref = getattr(keras.applications, app)(weights=None, **kwargs)
    assert copy_weights(ref, ours) == sum(1 for layer in ref.layers if layer.weights)
    x = np.random.default_rng(0).normal(size=(2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), ref.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("ratio,paper_millions", [(2, 45.7), (4, 35.7), (8, 30.7), (16, 28.1), (32, 26.9)])
def test_se_resnet50_table10(ratio, paper_millions):
    """Hu et al. Table 10. Counted: trainable parameters of the Keras model (convolution biases as
    in keras.applications, batch-norm gamma/beta, dense biases; no moving statistics)."""
    model = resnet_imagenet(50, se_ratio=ratio)
    assert abs(trainable_params(model) / 1e6 - paper_millions) / paper_millions < 0.005
    assert sum(isinstance(layer, SqueezeExcite) for layer in model.layers) == 16


def test_se_resnet50_overhead_formula_and_multiply_adds():
    base, se = resnet_imagenet(50), resnet_imagenet(50, se_ratio=16)
    extra = trainable_params(se) - trainable_params(base)
    weights = 2 * sum(n * c * c for n, c in ((3, 256), (4, 512), (6, 1024), (3, 2048))) // 16
    assert weights == 2_514_944  # (2/r) sum N_s C_s^2, paper_tables.md §4
    biases = sum(n * (c // 16 + c) for n, c in ((3, 256), (4, 512), (6, 1024), (3, 2048)))
    assert extra == weights + biases
    # SENet Table 2: ResNet-50 3.86 GFLOPs (multiply-adds), SE-ResNet-50 3.87
    macs, se_macs = multiply_adds(base), multiply_adds(se)
    assert round(macs / 1e9, 2) == 3.86
    assert 0.001 < (se_macs - macs) / macs < 0.004


def test_multiply_adds_small_model():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    assert multiply_adds(model) == 8 * 8 * 3 * 3 * 3 * 4 + 4 * 2
    assert multiply_adds(model, detail=True)[model.layers[1].name] == 8 * 8 * 27 * 4
    with pytest.raises(ValueError, match="fixed input size"):
        multiply_adds(resnet_cifar(8, include_top=False, input_shape=(None, None, 3), pooling="avg"))


def test_imagenet_basic_depths_and_plain():
    for depth, convs in ((18, 17), (34, 33)):
        model = resnet_imagenet(depth, input_shape=(64, 64, 3), classes=10)
        assert sum(row["layers"] for row in layer_table(model)) == convs + 1
    r34a = trainable_params(resnet_imagenet(34, shortcut="A", input_shape=(64, 64, 3)))
    p34 = trainable_params(resnet_imagenet(34, plain=True, input_shape=(64, 64, 3)))
    assert r34a == p34  # option A: no extra parameters (He et al. Table 2)


def test_weights_file_round_trip(tmp_path):
    model = resnet_cifar(8, widths=(4, 8, 16), input_shape=(16, 16, 3))
    path = tmp_path / "r8.weights.h5"
    model.save_weights(path)
    again = resnet_cifar(8, widths=(4, 8, 16), input_shape=(16, 16, 3), weights=str(path))
    x = np.random.default_rng(1).random((2, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_full_model_keras_round_trip(tmp_path):
    model = resnet_cifar(8, se_ratio=2, widths=(4, 8, 16), input_shape=(16, 16, 3))
    path = tmp_path / "se_resnet8.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(2).random((2, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_imagenet_weights_unavailable_message(monkeypatch, tmp_path):
    from cnnbook import applications

    def offline(**kwargs):  # must never be reached: the package checks before Keras downloads
        raise AssertionError("keras.applications was called although the weights are unavailable")

    missing = tmp_path / "models" / "resnet50_notop.h5"
    monkeypatch.setattr(applications, "weights_file", lambda name, include_top=True: (missing, "https://x/r.h5"))
    monkeypatch.setattr(keras.applications, "ResNet50", offline)
    monkeypatch.setenv("CNNBOOK_OFFLINE", "1")
    with pytest.raises(applications.WeightsUnavailable, match="not in the Keras cache.*Download https://x/r.h5"):
        resnet_imagenet(50, weights="imagenet", input_shape=(64, 64, 3), include_top=False)
    assert not missing.exists()


def test_gradient_norms_and_activation_stds():
    model = resnet_cifar(14, widths=(4, 8, 16), input_shape=(16, 16, 3), classes=4)
    x = np.random.default_rng(0).random((16, 16, 16, 3)).astype("float32")
    norms = kernel_gradient_norms(model, x, np.arange(16) % 4)
    assert len(norms) == 13 and all(v > 0 for v in norms.values())
    assert list(norms)[0] == "conv1_conv"
    stds = activation_stds(model, x)
    assert len(stds) == 1 + 6 + 6  # stem ReLU; per block one inside and one after the addition
    assert list(stds)[:3] == ["conv1_relu", "conv2_block1_1_relu", "conv2_block1_out"]


def test_models_reexports():
    assert models.resnet_cifar is resnet_cifar and models.resnet_imagenet is resnet_imagenet


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [21, 19, 3, 0, -4])
def test_bad_cifar_depth_lists_valid(depth):
    with pytest.raises(ValueError, match=r"6n\+2|depth must be"):
        resnet_cifar(depth)


def test_bad_depth_messages():
    with pytest.raises(ValueError, match=r"6n\+2.*valid: 8, 14, 20, 26, 32"):
        resnet_cifar(21)
    with pytest.raises(ValueError, match=r"9n\+2.*valid: 11, 20, 29"):
        resnet_cifar(1000, version=2)
    with pytest.raises(ValueError, match="depth must be one of"):
        resnet_imagenet(42)
    assert cifar_depths()[:4] == [8, 14, 20, 26] and 1202 in cifar_depths()
    assert 164 in cifar_depths(bottleneck=True) and 1001 in cifar_depths(bottleneck=True, up_to=1001)


@pytest.mark.parametrize("kwargs,match", [
    (dict(version=3), "version must be 1"),
    (dict(version=True), "version must be 1"),
    (dict(shortcut="D"), "shortcut must be"),
    (dict(shortcut=None), "shortcut must be"),
    (dict(se_ratio=0), "se_ratio"),
    (dict(se_ratio=0.5), "se_ratio"),
    (dict(classes=0), "classes"),
    (dict(input_shape=(2, 2, 3)), "smaller than the network's total stride"),
    (dict(input_shape=(32, 32)), "input_shape"),
    (dict(widths=(16, 32)), "widths"),
    (dict(weight_decay=-1.0), "weight_decay"),
    (dict(pooling="sum", include_top=False), "pooling"),
    (dict(weights="/no/such/file.h5"), "weights"),
])
def test_bad_cifar_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        resnet_cifar(20, **kwargs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(input_shape=(16, 16, 3)), "total stride"),
    (dict(version=0), "version"),
    (dict(weights="imagenet", se_ratio=16), "weights='imagenet' exists only"),
    (dict(weights="imagenet", classes=10), "classes=1000"),
    (dict(weights="nonsense"), "weights must be"),
    (dict(input_shape=(None, None, 3)), "fixed height and width"),
])
def test_bad_imagenet_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        resnet_imagenet(50, **kwargs)


def test_block_parts_validation():
    with pytest.raises(ValueError, match="shortcut"):
        BlockParts(shortcut="Z")
    with pytest.raises(ValueError, match="conv_bias"):
        BlockParts(conv_bias="some")


# --- the papers' training recipe ------------------------------------------------------------


def test_paper_optimizer_schedule():
    from cnnbook.resnet import paper_optimizer

    opt = paper_optimizer(64000)
    lr = opt._learning_rate  # the PiecewiseConstantDecay schedule
    assert isinstance(lr, keras.optimizers.schedules.PiecewiseConstantDecay)
    assert [round(float(lr(s)), 6) for s in (0, 31999, 32001, 48001, 63999)] == [0.1, 0.1, 0.01, 0.001, 0.001]
    warm = paper_optimizer(64000, warmup_steps=400)._learning_rate
    assert [round(float(warm(s)), 6) for s in (0, 399, 401)] == [0.01, 0.01, 0.1]
    with pytest.raises(ValueError, match="steps"):
        paper_optimizer(0)
    with pytest.raises(ValueError, match="warmup_steps"):
        paper_optimizer(100, warmup_steps=60)
    with pytest.raises(ValueError, match="lr"):
        paper_optimizer(100, lr=0)


def test_training_dataset_augmentation_is_seeded():
    from cnnbook.resnet import training_dataset

    x = np.random.default_rng(0).random((16, 8, 8, 3)).astype("float32")
    y = np.arange(16)
    a = next(iter(training_dataset(x, y, batch_size=4, augment=True, seed=3)))
    b = next(iter(training_dataset(x, y, batch_size=4, augment=True, seed=3)))
    assert a[0].shape == (4, 8, 8, 3)
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    plain = next(iter(training_dataset(x, y, batch_size=16, seed=3, mean=x.mean(axis=0))))
    np.testing.assert_allclose(plain[0].numpy().mean(axis=0), 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="one label each"):
        training_dataset(x, y[:3])


def test_compare_training_records_and_reuse_matches_fresh_runs():
    from cnnbook.resnet import compare_training

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 8, 8, 1)).astype("float32"), rng.integers(0, 3, 64)
    build = {"r": lambda: resnet_cifar(8, widths=(2, 4, 4), input_shape=(8, 8, 1), classes=3)}
    both = compare_training(build, (x, y), seeds=(0, 1), steps=4, points=2, batch_size=16, test=(x, y))["r"]
    alone = compare_training(build, (x, y), seeds=(1,), steps=4, points=2, batch_size=16)["r"]
    assert both["train_error"].shape == (2, 2) and list(both["step"]) == [2, 4]
    assert both["params"] == trainable_params(build["r"]())
    assert np.all((both["test_error"] >= 0) & (both["test_error"] <= 1)) and np.isnan(alone["test_error"]).all()
    # the second seed of a reused network trains exactly like a fresh network with that seed
    np.testing.assert_allclose(both["loss"][1], alone["loss"][0], rtol=1e-5)
    with pytest.raises(ValueError, match="multiple of points"):
        compare_training(build, (x, y), steps=5, points=2)
    with pytest.raises(ValueError, match="builders"):
        compare_training({}, (x, y))


def test_excitations_per_class_and_keep_models():
    from cnnbook.resnet import compare_training, excitations

    rng = np.random.default_rng(1)
    x, y = rng.random((48, 8, 8, 1)).astype("float32"), np.arange(48) % 3
    build = {"se": lambda: resnet_cifar(8, se_ratio=2, widths=(4, 4, 8), input_shape=(8, 8, 1), classes=3)}
    record = compare_training(build, (x, y), steps=2, points=1, batch_size=16, keep_models=True)["se"]
    model, mean = record["model"], record["mean"]
    assert mean.shape == (8, 8, 1)
    ex = excitations(model, x - mean, y)
    assert list(ex) == ["conv2_block1_se", "conv3_block1_se", "conv4_block1_se"]
    assert ex["conv4_block1_se"].shape == (3, 8)
    # each row is the mean gate over the images of that class
    se = model.get_layer("conv2_block1_se")
    feats = keras.Model(model.inputs[0], se.input)(x[y == 1] - mean, training=False)
    np.testing.assert_allclose(ex["conv2_block1_se"][1], keras.ops.convert_to_numpy(se.excitation(feats)).mean(0),
                               rtol=1e-5)
    assert np.isnan(excitations(model, x - mean, y, classes=4)["conv2_block1_se"][3]).all()
    with pytest.raises(ValueError, match="no SqueezeExcite"):
        excitations(resnet_cifar(8, widths=(4, 4, 8), input_shape=(8, 8, 1)), x, y)
    with pytest.raises(ValueError, match="same length"):
        excitations(model, x, y[:5])


def test_imagenet_basic_multiply_adds_match_paper():
    # He et al. (2016a), Table 1: 1.8 and 3.6 billion multiply-adds ("FLOPs") at 224x224;
    # the plain network costs the same as the ResNet with option-A shortcuts (Fig. 3)
    for depth, paper in ((18, 1.8), (34, 3.6)):
        assert round(multiply_adds(resnet_imagenet(depth, shortcut="A")) / 1e9, 1) == paper
    assert multiply_adds(resnet_imagenet(34, plain=True)) == multiply_adds(resnet_imagenet(34, shortcut="A"))
