"""cnnbook.layers: SqueezeExcite against NumPy, the option-A shortcut, ConvBNAct, the plug-in
blocks, bad input, and .keras save/load with safe_mode=True."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnbook.layers import ConvBNAct, SqueezeExcite, ZeroPadShortcut, inception_block, vgg_block


def _numpy_se(x: np.ndarray, w1, b1, w2, b2) -> np.ndarray:
    """Squeeze (spatial mean), excitation (dense-ReLU-dense-sigmoid), scale: a few NumPy lines."""
    z = x.mean(axis=tuple(range(1, x.ndim - 1)))
    s = 1.0 / (1.0 + np.exp(-(np.maximum(z @ w1 + b1, 0.0) @ w2 + b2)))
    return x * s.reshape((x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],))


@pytest.mark.parametrize("shape", [(2, 5, 7, 32), (3, 9, 16), (2, 3, 4, 5, 8)])
def test_squeeze_excite_matches_numpy(shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype("float32")
    layer = SqueezeExcite(ratio=4)
    y = keras.ops.convert_to_numpy(layer(x))
    # random biases too, so a missing bias would show
    for dense in (layer.reduce, layer.expand):
        dense.bias.assign(rng.normal(size=dense.bias.shape).astype("float32"))
    y = keras.ops.convert_to_numpy(layer(x))
    ref = _numpy_se(x, *(keras.ops.convert_to_numpy(w) for w in
                         (layer.reduce.kernel, layer.reduce.bias, layer.expand.kernel, layer.expand.bias)))
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    assert layer.units == shape[-1] // 4


def test_squeeze_excite_parameters_and_min_units():
    c, r = 64, 16
    layer = SqueezeExcite(ratio=r)
    layer.build((None, 8, 8, c))
    assert layer.units == 4
    assert layer.count_params() == 2 * c * c // r + c // r + c
    wide = SqueezeExcite(ratio=16, min_units=8)
    wide.build((None, 8, 8, c))
    assert wide.units == 8


def test_squeeze_excite_gate_in_unit_interval():
    x = np.random.default_rng(1).normal(size=(4, 6, 6, 12)).astype("float32")
    layer = SqueezeExcite(ratio=3)
    layer(x)
    s = keras.ops.convert_to_numpy(layer.excitation(x))
    assert s.shape == (4, 12)
    assert np.all((s > 0) & (s < 1))


@pytest.mark.parametrize("ratio", [0, 0.5, -2, True, "16", None])
def test_squeeze_excite_bad_ratio(ratio):
    with pytest.raises(ValueError, match="ratio"):
        SqueezeExcite(ratio=ratio)


def test_squeeze_excite_ratio_larger_than_channels():
    with pytest.raises(ValueError, match="larger than the number of channels"):
        SqueezeExcite(ratio=32)(keras.Input((8, 8, 16)))


@pytest.mark.parametrize("shape", [(10,), (4, 4, 4, 4, 4, 4)])
def test_squeeze_excite_wrong_rank(shape):
    with pytest.raises(ValueError, match="rank 3, 4 or 5"):
        SqueezeExcite(ratio=2)(keras.Input(shape))


def test_squeeze_excite_bad_min_units():
    with pytest.raises(ValueError, match="min_units"):
        SqueezeExcite(ratio=2, min_units=0)


def test_zero_pad_shortcut_subsamples_and_pads():
    x = np.arange(2 * 5 * 6 * 3, dtype="float32").reshape(2, 5, 6, 3)
    y = keras.ops.convert_to_numpy(ZeroPadShortcut(8, strides=2)(x))
    assert y.shape == (2, 3, 3, 8)
    np.testing.assert_array_equal(y[..., :3], x[:, ::2, ::2, :])
    assert not y[..., 3:].any()
    layer = ZeroPadShortcut(3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)
    assert layer.count_params() == 0


def test_zero_pad_shortcut_bad_input():
    with pytest.raises(ValueError, match="cannot shrink"):
        ZeroPadShortcut(4)(keras.Input((8, 8, 16)))
    with pytest.raises(ValueError, match="4-D feature map"):
        ZeroPadShortcut(4)(keras.Input((8, 2)))
    with pytest.raises(ValueError, match="strides"):
        ZeroPadShortcut(4, strides=0)
    with pytest.raises(ValueError, match="channels"):
        ZeroPadShortcut(2.5)


def test_conv_bn_act():
    layer = ConvBNAct(8, 3, strides=2)
    out = layer(keras.Input((10, 10, 3)))
    assert tuple(out.shape) == (None, 5, 5, 8)
    # 3*3*3*8 kernel (no bias) + gamma, beta, moving mean, moving variance
    assert layer.count_params() == 216 + 4 * 8
    with pytest.raises(ValueError, match="4-D"):
        ConvBNAct(8)(keras.Input((10, 3)))
    with pytest.raises(ValueError, match="filters"):
        ConvBNAct(0)


def _tiny_model(se_ratio):
    inputs = keras.Input((16, 16, 3))
    x = vgg_block(inputs, 16, convs=2, se_ratio=se_ratio, name="b1")
    x = inception_block(x, (8, 8, 8, 8), se_ratio=se_ratio, name="inc")
    x = ZeroPadShortcut(48, strides=2, name="pad")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def test_se_plugs_into_vgg_and_inception_blocks():
    plain, se = _tiny_model(None), _tiny_model(4)
    extra = se.count_params() - plain.count_params()
    # an SE block on 16 channels (VGG block) and one on 32 (inception output), r = 4
    expected = sum(2 * c * c // 4 + c // 4 + c for c in (16, 32))
    assert extra == expected
    assert [type(layer).__name__ for layer in se.layers].count("SqueezeExcite") == 2


def test_inception_block_bad_filters():
    with pytest.raises(ValueError, match="branch_filters"):
        inception_block(keras.Input((8, 8, 3)), (8, 8, 8))
    with pytest.raises(ValueError, match="branch_filters"):
        inception_block(keras.Input((8, 8, 3)), (8, 0, 8, 8))


def test_keras_round_trip_safe_mode(tmp_path):
    model = _tiny_model(4)
    x = np.random.default_rng(2).random((3, 16, 16, 3)).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)
    se = [layer for layer in loaded.layers if isinstance(layer, SqueezeExcite)]
    assert [layer.ratio for layer in se] == [4, 4]
    assert any(isinstance(layer, ZeroPadShortcut) for layer in loaded.layers)


def test_get_config_round_trip():
    for layer in (SqueezeExcite(ratio=8, min_units=3, name="se"), ZeroPadShortcut(12, strides=2),
                  ConvBNAct(4, 1, activation=None)):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
