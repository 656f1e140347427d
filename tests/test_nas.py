"""Tests of cnnbook.nas: architectures as data, the Keras builder, the controller, the searches."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from cnnbook import nas


def _arch(**over):
    arch = {
        "normal": [{"inputs": [1, 0], "ops": ["sep3x3", "identity"]},
                   {"inputs": [2, 1], "ops": ["avg3x3", "conv1x7_7x1"]}],
        "reduction": [{"inputs": [0, 1], "ops": ["max3x3", "sep5x5"]},
                      {"inputs": [2, 0], "ops": ["sep7x7", "identity"]}],
        "num_cells": 1,
        "filters": 4,
        "num_reductions": 1,
    }
    arch.update(over)
    return arch


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    # two classes told apart by the brightness of the left half: learnable in a few steps
    y = rng.integers(0, 2, size=96)
    x = rng.uniform(0, 0.3, size=(96, 8, 8, 1)).astype("float32")
    x[y == 1, :, :4] += 0.6
    return (x[:64], y[:64]), (x[64:], y[64:])


# ---------------------------------------------------------------- validation of architecture dicts


def test_validate_returns_normalised_copy():
    a = _arch()
    v = nas.validate(a)
    assert v == a and v is not a and v["normal"] is not a["normal"]
    assert list(v) == list(nas.ARCH_KEYS)
    v2 = nas.validate(_arch(filters=np.int64(4)))
    assert type(v2["filters"]) is int


def test_validate_unknown_op_is_named():
    a = _arch()
    a["normal"][1]["ops"][1] = "conv9x9"
    with pytest.raises(ValueError, match=r"arch\['normal'\]\[1\]\['ops'\]\[1\] = 'conv9x9' is an unknown operation"):
        nas.validate(a)


def test_validate_dangling_input_is_named():
    a = _arch()
    a["reduction"][0]["inputs"][1] = 2  # block 0 cannot read block 0's own output
    with pytest.raises(ValueError, match=r"arch\['reduction'\]\[0\]\['inputs'\]\[1\] = 2 is a dangling input"):
        nas.validate(a)
    a = _arch()
    a["normal"][1]["inputs"][0] = -1
    with pytest.raises(ValueError, match="dangling input"):
        nas.validate(a)


def test_validate_missing_and_unknown_keys():
    a = _arch()
    del a["reduction"]
    with pytest.raises(ValueError, match=r"missing key\(s\) \['reduction'\]"):
        nas.validate(a)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['colour'\]"):
        nas.validate(_arch(colour="red"))
    a = _arch()
    del a["normal"][0]["ops"]
    with pytest.raises(ValueError, match=r"arch\['normal'\]\[0\] must be a dict with keys 'inputs' and 'ops'"):
        nas.validate(a)


@pytest.mark.parametrize(
    "over, match",
    [
        ({"normal": []}, r"arch\['normal'\] must be a non-empty list"),
        ({"normal": [{"inputs": [0, 1], "ops": ["identity", "identity"]}]}, "same number of blocks"),
        ({"filters": 0}, r"arch\['filters'\] must be an int >= 1"),
        ({"num_cells": 1.5}, r"arch\['num_cells'\]"),
        ({"num_reductions": -1}, r"arch\['num_reductions'\] must be an int >= 0"),
        ({"normal": [{"inputs": [0], "ops": ["identity", "identity"]},
                     {"inputs": [0, 1], "ops": ["identity", "identity"]}]}, "two hidden-state indices"),
        ({"normal": [{"inputs": [0, 1], "ops": "identity"},
                     {"inputs": [0, 1], "ops": ["identity", "identity"]}]}, "two operation names"),
    ],
)
def test_validate_bad_parts(over, match):
    with pytest.raises(ValueError, match=match):
        nas.validate(_arch(**over))


def test_validate_not_a_dict():
    with pytest.raises(ValueError, match="arch must be a dict"):
        nas.validate([1, 2])


def test_validate_respects_restricted_ops():
    with pytest.raises(ValueError, match="unknown operation"):
        nas.validate(_arch(), ops=("identity", "sep3x3"))


def test_json_round_trip():
    a = _arch()
    text = nas.to_json(a)
    assert json.loads(text) == a
    assert nas.from_json(text) == a
    with pytest.raises(ValueError, match="not valid JSON"):
        nas.from_json("{normal")
    with pytest.raises(ValueError, match="missing key"):
        nas.from_json('{"normal": []}')


def test_scale():
    a = nas.scale(_arch(), num_cells=3, filters=16)
    assert (a["num_cells"], a["filters"], a["num_reductions"]) == (3, 16, 1)
    assert a["normal"] == _arch()["normal"]
    with pytest.raises(ValueError, match="filters"):
        nas.scale(_arch(), filters=0)


# ---------------------------------------------------------------- the Keras model


def test_build_shapes_and_widths():
    m = nas.build(_arch(), input_shape=(8, 8, 1), classes=3)
    assert m.output_shape == (None, 3)
    # normal cell: block 0 feeds block 1, so only block 1 is a loose end -> F channels
    assert m.get_layer("cell0_normal_b1_add").output.shape[1:] == (8, 8, 4)
    # reduction cell: halves the size, doubles the filters; blocks 0 and 1 both feed... block 1 reads
    # block 0, so block 1 is the only loose end
    assert m.get_layer("cell1_reduction_b1_add").output.shape[1:] == (4, 4, 8)
    assert m.get_layer("cell2_normal_b0_add").output.shape[1:] == (4, 4, 8)
    feats = nas.build(_arch(), input_shape=(8, 8, 1), include_top=False)
    assert feats.output_shape == (None, 4, 4, 8)
    pooled = nas.build(_arch(), input_shape=(8, 8, 1), include_top=False, pooling="avg")
    assert pooled.output_shape == (None, 8)


def test_build_concatenates_loose_ends():
    a = _arch()
    a["normal"] = [{"inputs": [0, 1], "ops": ["sep3x3", "identity"]},
                   {"inputs": [1, 1], "ops": ["max3x3", "avg3x3"]}]  # neither block is consumed
    m = nas.build(a, input_shape=(8, 8, 1), include_top=False)
    assert m.get_layer("cell0_normal_concat").output.shape[-1] == 2 * 4
    assert m.output_shape == (None, 4, 4, 8 * 2)


def test_build_uses_each_op_layer():
    m = nas.build(_arch(), input_shape=(8, 8, 1))
    kinds = {type(lay).__name__ for lay in m.layers}
    assert {"SeparableConv2D", "AveragePooling2D", "MaxPooling2D", "Add", "Conv2D"} <= kinds
    assert m.get_layer("cell0_normal_b1_r_conv1x7_7x1_conv1x7").kernel.shape[:2] == (1, 7)
    assert m.get_layer("cell0_normal_b1_r_conv1x7_7x1_conv7x1").kernel.shape[:2] == (7, 1)
    assert m.get_layer("cell1_reduction_b0_r_sep5x5_sepconv").strides == (2, 2)
    assert m.get_layer("cell1_reduction_b1_l_sep7x7_sepconv").strides == (1, 1)  # reads block 0


def test_cheaper_ops_give_fewer_params():
    cheap = _arch()
    for cell in ("normal", "reduction"):
        for b in cheap[cell]:
            b["ops"] = ["max3x3", "avg3x3"]
    assert nas.build(cheap).count_params() < nas.build(_arch()).count_params()


def test_build_from_json_is_identical():
    a = _arch()
    m1 = nas.build(a, input_shape=(8, 8, 1), classes=5)
    m2 = nas.build(nas.from_json(nas.to_json(a)), input_shape=(8, 8, 1), classes=5)
    assert json.dumps(m1.get_config(), sort_keys=True, default=str) == json.dumps(
        m2.get_config(), sort_keys=True, default=str)
    assert m1.count_params() == m2.count_params()
    m2.set_weights(m1.get_weights())
    x = np.random.default_rng(1).uniform(size=(4, 8, 8, 1)).astype("float32")
    np.testing.assert_array_equal(np.asarray(m1(x)), np.asarray(m2(x)))


def test_build_bad_arguments():
    with pytest.raises(ValueError, match="input_shape"):
        nas.build(_arch(), input_shape=(8, 8))
    with pytest.raises(ValueError, match="input_shape needs height and width of at least 4"):
        nas.build(_arch(num_reductions=2), input_shape=(2, 2, 1))
    with pytest.raises(ValueError, match="classes"):
        nas.build(_arch(), classes=0)
    with pytest.raises(ValueError, match="weights"):
        nas.build(_arch(), weights="imagenet")
    with pytest.raises(ValueError, match="pooling"):
        nas.build(_arch(), include_top=False, pooling="sum")
    with pytest.raises(ValueError, match="activation 'nope'"):
        nas.build(_arch(), activation="nope")
    with pytest.raises(ValueError, match="unknown operation"):
        bad = _arch()
        bad["normal"][0]["ops"][0] = "conv3x3"
        nas.build(bad)


def test_cell_census_of_child():
    m = nas.build(nas.scale(_arch(), num_cells=2), input_shape=(8, 8, 1))
    c = nas.cell_census(m)
    assert (c["normal_cells"], c["reduction_cells"]) == (4, 1)
    assert c["separable_convs"] == 4 * 1 + 2  # one sep3x3 per normal cell, sep5x5 + sep7x7 once
    assert c["params"] == m.count_params()
    with pytest.raises(ValueError, match="model must be a keras.Model"):
        nas.cell_census("NASNetMobile")


def test_cell_census_nasnet_mobile():
    m = keras.applications.NASNetMobile(weights=None)
    c = nas.cell_census(m)
    assert c["params"] == 5_326_716
    assert (c["normal_cells"], c["reduction_cells"]) == (12, 4)
    assert c["separable_convs"] == 160


# ---------------------------------------------------------------- the search space


def test_search_space_decisions_and_round_trip():
    sp = nas.SearchSpace(blocks=3, ops=("identity", "sep3x3", "max3x3"))
    dec = sp.decisions()
    assert len(dec) == 2 * 3 * 4
    assert [n for _, n in dec[:8]] == [2, 2, 3, 3, 3, 3, 3, 3]
    assert sp.size() == int(np.prod([n for _, n in dec]))
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = sp.sample(rng)
        assert nas.validate(a, sp.ops) == a
        assert sp.decode(sp.encode(a)) == a
        m = sp.mutate(a, rng)
        assert sum(p != q for p, q in zip(sp.encode(a), sp.encode(m))) == 1


def test_search_space_bad_input():
    with pytest.raises(ValueError, match="ops is empty"):
        nas.SearchSpace(ops=())
    with pytest.raises(ValueError, match="unknown operation"):
        nas.SearchSpace(ops=("identity", "conv3x3"))
    with pytest.raises(ValueError, match="blocks must be an int >= 1"):
        nas.SearchSpace(blocks=0)
    sp = nas.SearchSpace(blocks=1)
    with pytest.raises(ValueError, match="choices must hold 8 decisions"):
        sp.decode([0, 0])
    with pytest.raises(ValueError, match="normal.b0.input1 must be an int in 0..1"):
        sp.decode([5, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="this space has 1"):
        sp.encode(_arch())


# ---------------------------------------------------------------- the controller


def test_controller_samples_valid_architectures():
    sp = nas.SearchSpace(blocks=2)
    c = nas.Controller(sp, seed=0)
    for _ in range(3):
        a = c.sample()
        assert nas.validate(a) == a
    probs = c.probabilities(a)
    assert len(probs) == len(sp.decisions())
    for p, (_, n) in zip(probs, sp.decisions()):
        assert p.shape == (n,) and abs(p.sum() - 1) < 1e-5


def test_reinforce_step_moves_probability_towards_rewarded_arch():
    sp = nas.SearchSpace(blocks=2)
    c = nas.Controller(sp, seed=0, learning_rate=0.05, entropy_weight=0.0)
    good, bad = c.sample(), c.sample()
    assert c.update(good, 0.5) == 0.0  # the first reward only sets the baseline
    assert c.baseline == 0.5
    before_good, before_bad = c.log_prob(good), c.log_prob(bad)
    adv = c.update(good, 0.9)
    assert adv == pytest.approx(0.4)
    assert c.baseline == pytest.approx(0.8 * 0.5 + 0.2 * 0.9)
    assert c.log_prob(good) > before_good
    adv = c.update(bad, 0.1)
    assert adv < 0
    assert c.log_prob(bad) < before_bad + 1e-6 or c.log_prob(bad) < c.log_prob(good)


def test_controller_bad_input():
    with pytest.raises(ValueError, match="space must be a SearchSpace"):
        nas.Controller("space")
    with pytest.raises(ValueError, match="baseline_decay"):
        nas.Controller(nas.SearchSpace(), baseline_decay=1.0)
    c = nas.Controller(nas.SearchSpace(blocks=1))
    with pytest.raises(ValueError, match="reward must be a finite number"):
        c.update(c.sample(), float("nan"))


# ---------------------------------------------------------------- training children and searching


def test_evaluate_trains_a_child(tiny_data):
    t = nas.evaluate(_arch(), tiny_data, epochs=3, batch_size=16, seed=0)
    assert 0.0 <= t.reward <= 1.0 and t.params > 0 and t.seconds > 0
    assert t.reward >= 0.75  # the task is easy; a trained child must beat chance clearly


@pytest.mark.parametrize("strategy", nas.STRATEGIES)
def test_search_tiny_budget(strategy, tiny_data):
    sp = nas.SearchSpace(blocks=1, filters=4)
    seen = []
    r = nas.search(tiny_data, strategy=strategy, budget=3, space=sp, epochs=1, batch_size=32, seed=0,
                   population=2, sample_size=2, callback=lambda i, t: seen.append(i))
    assert r.strategy == strategy and len(r.history) == 3 and seen == [0, 1, 2]
    assert all(0.0 <= t.reward <= 1.0 for t in r.history)
    assert r.best.reward == r.rewards.max()
    assert np.all(np.diff(r.running_best()) >= 0)
    for t in r.history:
        assert nas.validate(t.arch) == t.arch
        json.dumps(t.arch)
    if strategy == "rl":
        assert r.controller is not None and r.controller.baseline is not None
        assert r.history[0].baseline is None and r.history[1].baseline == r.history[0].reward
    if strategy == "evolution":
        # the third child is a one-decision mutation of one of the first two
        enc = [sp.encode(t.arch) for t in r.history]
        assert min(sum(p != q for p, q in zip(enc[2], e)) for e in enc[:2]) == 1


def test_random_search_repeats_with_seed(tiny_data):
    import tensorflow as tf

    sp = nas.SearchSpace(blocks=1, filters=4)
    # as runtime.seed() does on a CPU (TF has no public switch back; determinism only costs speed)
    tf.config.experimental.enable_op_determinism()
    a = nas.search(tiny_data, strategy="random", budget=2, space=sp, epochs=1, batch_size=32, seed=3)
    b = nas.search(tiny_data, strategy="random", budget=2, space=sp, epochs=1, batch_size=32, seed=3)
    assert [t.arch for t in a.history] == [t.arch for t in b.history]
    np.testing.assert_array_equal(a.rewards, b.rewards)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"budget": 0}, "budget must be an int >= 1"),
        ({"strategy": "grid"}, "strategy must be one of"),
        ({"epochs": 0}, "epochs must be an int >= 1"),
        ({"space": "small"}, "space must be a SearchSpace"),
        ({"strategy": "evolution", "population": 2, "sample_size": 3}, "sample_size"),
        ({"max_seconds": 0}, "max_seconds"),
        ({"strategy": "rl", "controller_options": {"lr": 0.1}}, r"controller_options has unknown key\(s\) \['lr'\]"),
    ],
)
def test_search_bad_arguments(kwargs, match, tiny_data):
    with pytest.raises(ValueError, match=match):
        nas.search(tiny_data, **kwargs)


def test_search_bad_data():
    with pytest.raises(ValueError, match="data must be"):
        nas.search((np.zeros((4, 8, 8, 1)), np.zeros(4)), budget=1)
    x = np.zeros((4, 8, 8, 1), "float32")
    with pytest.raises(ValueError, match="data must be"):
        nas.search(((x, np.zeros(3)), (x, np.zeros(4))), budget=1)


def test_train_child_batch_larger_than_data(tiny_data):
    (x, y), _ = tiny_data
    with pytest.raises(ValueError, match="batch_size"):
        nas.train_child(nas.build(_arch()), x, y, batch_size=1000)


def test_train_child_optimizer_argument(tiny_data):
    (x, y), (xv, yv) = tiny_data
    with pytest.raises(ValueError, match="optimizer must be a keras.optimizers.Optimizer"):
        nas.train_child(nas.build(_arch()), x, y, optimizer="adam")
    keras.utils.set_random_seed(0)
    m = nas.build(_arch(), input_shape=(8, 8, 1), classes=2)
    losses = nas.train_child(m, x, y, epochs=3, batch_size=16, optimizer=keras.optimizers.Adam(3e-3))
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert 0.0 <= nas.accuracy(m, xv, yv) <= 1.0


# ---------------------------------------------------------------- NASNet-A, the paper's cells


def test_nasnet_a_is_a_valid_architecture_of_the_paper_size():
    arch = nas.validate(nas.NASNET_A)
    assert arch == nas.NASNET_A  # already normalised
    assert "NASNET_A" in nas.__all__
    # 6 @ 768: N = 6, and 768 = 6 hidden states x 4F channels in the last stage -> F = 32
    assert arch["num_cells"] == 6 and arch["num_reductions"] == 2
    assert 6 * arch["filters"] * 2 ** arch["num_reductions"] == 768
    for cell in ("normal", "reduction"):
        assert len(arch[cell]) == 5
        ops = [op for b in arch[cell] for op in b["ops"]]
        assert set(ops) <= set(nas.OPS)
        assert "conv1x7_7x1" not in ops  # NASNet-A has no asymmetric convolutions
        # five of the ten operations of each cell are separable convolutions
        assert sum(op.startswith("sep") for op in ops) == 5


def test_nasnet_a_structure_matches_the_paper():
    normal, reduction = nas.NASNET_A["normal"], nas.NASNET_A["reduction"]
    # the normal cell reads only its two inputs; every block output reaches the concatenation
    assert all(i < 2 for b in normal for i in b["inputs"])
    assert nas.loose_ends(normal) == [2, 3, 4, 5, 6]
    # the reduction cell's blocks 3 and 4 read block 0 and block 1
    assert reduction[3]["inputs"] == [3, 2] and reduction[4]["inputs"] == [2, 1]
    assert nas.loose_ends(reduction) == [4, 5, 6]
    # the 7x7 separable convolutions are only in the reduction cell
    assert all("sep7x7" not in b["ops"] for b in normal)
    assert sum(b["ops"].count("sep7x7") for b in reduction) == 2


def test_nasnet_a_builds_at_a_small_size():
    small = nas.scale(nas.NASNET_A, num_cells=1, filters=4, num_reductions=1)
    model = nas.build(small, input_shape=(8, 8, 1), classes=10)
    census = nas.cell_census(model)
    assert census["normal_cells"] == 2 and census["reduction_cells"] == 1
    assert census["separable_convs"] == 3 * 5
    assert census["adds"] == 3 * 5
    assert model.output_shape == (None, 10)
    # doubling F: 1x1 and pointwise weights grow as F^2, depthwise, BN and classifier as F
    wide = nas.build(nas.scale(small, filters=8), input_shape=(8, 8, 1), classes=10)
    assert 2.0 < wide.count_params() / model.count_params() < 4.0
