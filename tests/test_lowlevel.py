"""cnnbook.lowlevel (the TF 2 low-level MNIST CNN) and the chapter 3-4 figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

from cnnbook import data, lowlevel, models, plot


@pytest.fixture(scope="module")
def digits():
    return data.load("digits28", n_train=320, n_test=160)


def test_same_parameters_as_keras_convnet():
    assert lowlevel.LowLevelCNN().count_params() == models.mnist_convnet().count_params() == 34_826
    same = lowlevel.LowLevelCNN(padding="SAME")  # the TF 1 lecture variant: 7x7x64 features
    assert same.w3.shape == (7 * 7 * 64, 10)
    assert lowlevel.LowLevelCNN((32, 32, 3), 4).count_params() == (
        models.mnist_convnet((32, 32, 3), 4).count_params())


def test_he_initialisation_scale():
    net = lowlevel.LowLevelCNN(filters=(64, 64), seed=3)
    for w, fan_in in ((net.w2, 9 * 64), (net.w3, 5 * 5 * 64)):
        assert float(tf.math.reduce_std(w)) == pytest.approx(np.sqrt(2 / fan_in), rel=0.05)
    assert float(tf.reduce_max(tf.abs(net.b1))) == 0.0


def test_forward_matches_keras_with_same_weights(digits):
    (x, _), _ = digits
    net = lowlevel.LowLevelCNN(seed=1)
    keras_model = models.mnist_convnet(classifier_activation=None)
    keras_model.set_weights([v.numpy() for v in net.weights])
    np.testing.assert_allclose(net(x[:8]).numpy(), keras_model.predict(x[:8], verbose=0), atol=1e-4)


def test_training_learns_and_step_traces_once(digits):
    (x, y), (xt, yt) = digits
    net = lowlevel.LowLevelCNN(seed=0)
    before = lowlevel.evaluate(net, xt, yt)
    h = lowlevel.train(net, (x, y), epochs=4, batch_size=32, validation_data=(xt, yt))
    assert len(h["loss"]) == 4 and h["loss"][-1] < h["loss"][0]
    assert h["val_accuracy"][-1] == lowlevel.evaluate(net, xt, yt) > max(before, 0.6)
    import keras

    step = lowlevel.make_train_step(lowlevel.LowLevelCNN(seed=2), keras.optimizers.Adam())
    for i in range(3):
        step(x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16])
    assert step.experimental_get_tracing_count() == 1


def test_dropout_only_in_training(digits):
    (x, _), _ = digits
    net = lowlevel.LowLevelCNN(seed=0)
    a, b = net(x[:4]), net(x[:4])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(net(x[:4], training=True), a)


def test_bad_input(digits):
    (x, y), _ = digits
    net = lowlevel.LowLevelCNN()
    with pytest.raises(ValueError, match="images must have shape"):
        lowlevel.train(net, (x[..., 0], y), epochs=1)
    with pytest.raises(ValueError, match="labels must lie in 0..9"):
        lowlevel.train(net, (x, y + 10), epochs=1)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        lowlevel.train(net, (x, y), epochs=0)
    with pytest.raises(ValueError, match="padding"):
        lowlevel.LowLevelCNN(padding="same")
    with pytest.raises(ValueError, match="too small"):
        lowlevel.LowLevelCNN((8, 8, 1))
    with pytest.raises(ValueError, match="classes"):
        lowlevel.LowLevelCNN(classes=1)
    with pytest.raises(ValueError, match="model must be a LowLevelCNN"):
        lowlevel.evaluate(models.mnist_convnet(), x, y)


def test_figures_over_epochs():
    rng = np.random.default_rng(0)
    kernels = {e: rng.normal(size=(3, 3, 1, 16)) for e in (0, 1, 5)}
    fig = plot.filters_over_epochs(kernels, max_filters=6)
    assert len(fig.axes) == 3 * 6 + 1  # panels + the shared colour bar
    plt.close(fig)
    maps = {e: rng.random((26, 26, 32)) for e in (0, 3)}
    fig = plot.feature_maps_over_epochs(maps, image=rng.random((28, 28, 1)), max_maps=4)
    assert len(fig.axes) == 2 * 5
    plt.close(fig)
    with pytest.raises(ValueError, match="snapshots must be a non-empty mapping"):
        plot.filters_over_epochs({})
    with pytest.raises(ValueError, match=r"snapshots\[0\] must have 4 dimensions"):
        plot.filters_over_epochs({0: np.zeros((3, 3))})
    with pytest.raises(ValueError, match="same shape"):
        plot.filters_over_epochs({0: np.zeros((3, 3, 1, 4)), 1: np.zeros((5, 5, 1, 4))})
    with pytest.raises(ValueError, match="epoch numbers"):
        plot.feature_maps_over_epochs({"a": np.zeros((4, 4, 2))})
    with pytest.raises(ValueError, match="one image"):
        plot.feature_maps_over_epochs({0: np.zeros((2, 4, 4, 2))})
    with pytest.raises(ValueError, match="image must have 2 or 3 dimensions"):
        plot.feature_maps_over_epochs({0: np.zeros((4, 4, 2))}, image=np.zeros(4))
