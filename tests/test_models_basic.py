import numpy as np
import pytest

from cnnbook import models


def test_mnist_convnet_has_the_keras_example_parameter_count():
    m = models.mnist_convnet()
    assert m.count_params() == 34_826
    assert m.output_shape == (None, 10)


def test_simple_cnn_and_mlp_shapes():
    cnn = models.simple_cnn((32, 32, 1), classes=4, filters=(16, 32, 32))
    assert cnn.output_shape == (None, 4)
    # 3x3 convs with bias: 1*9*16+16, 16*9*32+32, 32*9*32+32; dense 32*4+4
    assert cnn.count_params() == 160 + 4640 + 9248 + 132
    base = models.simple_cnn((32, 32, 3), include_top=False, pooling="avg", filters=(8, 16))
    assert base.output_shape == (None, 16)
    mlp = models.mlp((8, 8, 1), classes=10, hidden=(32,))
    assert mlp.count_params() == 64 * 32 + 32 + 32 * 10 + 10
    x = np.zeros((2, 8, 8, 1), "float32")
    np.testing.assert_allclose(mlp.predict(x, verbose=0).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("call,match", [
    (lambda: models.mnist_convnet(input_shape=(28, 28)), r"input_shape must be \(height, width, channels\)"),
    (lambda: models.mnist_convnet(input_shape=(5, 5, 1)), "at least 10"),
    (lambda: models.mnist_convnet(classes=0), "classes must be a positive int"),
    (lambda: models.mnist_convnet(weights="imagenet"), "has no published weights"),
    (lambda: models.mnist_convnet(dropout=1.0), r"dropout must be in \[0, 1\)"),
    (lambda: models.simple_cnn(filters=()), "filters must be a non-empty sequence"),
    (lambda: models.simple_cnn(include_top=False, pooling="sum"), "pooling must be None, 'avg' or 'max'"),
    (lambda: models.mlp(hidden=(0,)), "hidden must be positive ints"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_classifier_head_matches_keras_applications_endings():
    import keras

    from cnnbook.layers import classifier_head

    inputs = keras.Input((6, 6, 8))
    top = keras.Model(inputs, classifier_head(inputs, include_top=True, pooling=None, classes=3,
                                              classifier_activation="softmax", dropout=0.5))
    assert [layer.name for layer in top.layers[1:]] == ["avg_pool", "dropout", "predictions"]
    assert top.output_shape == (None, 3) and top.get_layer("predictions").dtype_policy.compute_dtype == "float32"
    for pooling, shape in ((None, (None, 6, 6, 8)), ("avg", (None, 8)), ("max", (None, 8))):
        out = classifier_head(inputs, include_top=False, pooling=pooling, classes=3, classifier_activation=None)
        assert keras.Model(inputs, out).output_shape == shape
