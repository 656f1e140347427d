"""cnnbook.measure: one multiply_adds for every layer the book builds, checked by hand and against
the papers' figures; layer tables; predictions. (The ResNet-specific checks are in
test_resnet.py, the keras.applications ones in test_pretrained.py.)"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnbook import measure, nas, pretrained, resnet
from cnnbook.layers import ConvBNAct, SqueezeExcite


def test_one_implementation_behind_every_old_name():
    assert pretrained.multiply_adds is resnet.multiply_adds is measure.multiply_adds
    assert nas.accuracy is pretrained.accuracy is measure.accuracy
    assert pretrained.predict is measure.predict
    assert resnet.trainable_params is measure.trainable_params


def test_multiply_adds_counts_the_book_blocks_by_hand():
    inputs = keras.Input((8, 8, 3))
    x = ConvBNAct(4, 3, name="cba")(inputs)                       # 64 positions x 3*3*3 x 4
    x = SqueezeExcite(2, name="se")(x)                             # 2 * 4 * 2 + 64 * 4
    x = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(x)     # 64 x 3*3*4
    x = keras.layers.SeparableConv2D(6, 3, strides=2, padding="same", name="sep")(x)  # 16 x (36 + 24)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Conv2D(6, (1, 7), padding="same", groups=2, name="grouped")(x)  # 16 x 7*3 x 6
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(5, name="fc")(x))  # 6 x 5
    expected = {"cba": 64 * 27 * 4, "se": 2 * 4 * 2 + 64 * 4, "dw": 64 * 36, "sep": 16 * (36 + 24),
                "grouped": 16 * 21 * 6, "fc": 30}
    assert measure.multiply_adds(model, detail=True) == expected
    assert measure.multiply_adds(model) == sum(expected.values())


def test_a_shared_layer_counts_once_per_call_and_nested_models_are_opened():
    dense = keras.layers.Dense(4, name="shared")
    inputs = keras.Input((4,))
    inner = keras.Model(inputs, dense(dense(inputs)), name="inner")
    outer_in = keras.Input((4,))
    model = keras.Model(outer_in, keras.layers.Dense(2, name="head")(inner(outer_in)))
    assert measure.multiply_adds(model, detail=True) == {"shared": 2 * 16, "head": 8}


def test_unknown_weighted_layer_is_an_error_not_a_silent_zero():
    inputs = keras.Input((4, 4, 2))
    out = keras.layers.PReLU(name="prelu")(inputs)
    with pytest.raises(ValueError, match="does not know how to count layer 'prelu'"):
        measure.multiply_adds(keras.Model(inputs, out))
    with pytest.raises(ValueError, match="model must be a keras.Model"):
        measure.multiply_adds("VGG16")


def test_nasnet_children_count_their_separable_and_factorised_convolutions():
    arch = {"normal": [{"inputs": [0, 1], "ops": ["sep3x3", "conv1x7_7x1"]}],
            "reduction": [{"inputs": [0, 1], "ops": ["max3x3", "sep5x5"]}],
            "num_cells": 1, "filters": 4, "num_reductions": 1}
    model = nas.build(arch, input_shape=(8, 8, 1), classes=3)
    detail = measure.multiply_adds(model, detail=True)
    # the first normal cell at 8x8 with 4 filters: a 3x3 separable conv and the 1x7, 7x1 pair
    assert detail["cell0_normal_b0_l_sep3x3_sepconv"] == 64 * (9 * 4 + 4 * 4)
    assert detail["cell0_normal_b0_r_conv1x7_7x1_conv1x7"] == 64 * 7 * 4 * 4
    assert sum(detail.values()) == measure.multiply_adds(model)
    assert all(isinstance(layer, keras.layers.BatchNormalization) or layer.name in detail
               for layer in measure.all_layers(model) if layer.weights)


def test_se_resnet50_matches_senet_table_2():
    """Hu et al. (2018, Table 2): ResNet-50 3.86 GFLOPs, SE-ResNet-50 3.87 (paper_tables.md §4)."""
    base = measure.multiply_adds(resnet.resnet_imagenet(50))
    se = measure.multiply_adds(resnet.resnet_imagenet(50, se_ratio=16))
    assert 3.8e9 <= base <= 4.1e9 and round(base / 1e9, 2) == 3.86
    assert round(se / 1e9, 2) == 3.87


def test_layer_table_by_output_and_by_group():
    model = resnet.resnet_cifar(8, widths=(4, 8, 16), input_shape=(16, 16, 3))
    rows = measure.layer_table(model)
    assert [r["output"] for r in rows] == ["16x16", "8x8", "4x4", "1x1"]
    assert sum(r["layers"] for r in rows) == 8
    groups = measure.layer_table(model, by="group", group=lambda n: n.split("_")[0])
    assert sum(r["params"] for r in groups) == model.count_params()
    assert sum(r["multiply_adds"] for r in groups) == measure.multiply_adds(model)
    legacy = pretrained.layer_table(model)
    assert legacy == [(r["group"], r["params"], r["multiply_adds"]) for r in groups]
    with pytest.raises(ValueError, match="by must be one of 'output', 'group'"):
        measure.layer_table(model, by="size")


def test_predict_accuracy_depth_trainable():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, kernel_initializer="zeros",
                                                   bias_initializer=keras.initializers.Constant([0.0, 1.0]))(inputs))
    x = np.zeros((5, 3), np.float32)
    assert measure.predict(model, x, batch_size=2).shape == (5, 2)
    assert measure.accuracy(model, x, np.ones(5, int)) == 1.0
    assert measure.depth(model) == 1 and measure.trainable_params(model) == 8
    with pytest.raises(ValueError, match="same length"):
        measure.accuracy(model, x, np.ones(4, int))
