"""The classic MNIST CNN written with TensorFlow's low-level API (chapter 3).

No Keras layers: the weights are ``tf.Variable``\\ s with He initialisation, the forward pass is
``tf.nn.conv2d`` -> ReLU -> ``tf.nn.max_pool2d`` twice, a dense layer with dropout, and the loss
is ``tf.nn.sparse_softmax_cross_entropy_with_logits``. One training step is a
``tf.function`` around a ``tf.GradientTape``; the data come from a ``tf.data`` pipeline.

With the defaults (3x3 'VALID' convolutions, 32 and 64 filters) it is the same network as
:func:`cnnbook.models.mnist_convnet` and has the same 34,826 parameters on 28x28x1 input::

    from cnnbook import lowlevel
    net = lowlevel.LowLevelCNN()
    history = lowlevel.train(net, (x_train, y_train), epochs=5)
    accuracy = lowlevel.evaluate(net, x_test, y_test)

:func:`train` prints one line per epoch (loss, accuracy, time) when
:func:`cnnbook.runtime.progress` says so (a full-profile run, or ``CNNBOOK_PROGRESS``), and
nothing under the quick profile or in a smoke run; its ``verbose`` argument overrides it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
try:
    import tensorflow as tf
except ImportError as _err:  # the low-level example exists to show TensorFlow itself
    raise ImportError(
        "cnnbook.lowlevel is chapter 3's low-level TensorFlow network (tf.Variable, tf.GradientTape, "
        "tf.function) and needs TensorFlow: pip install tensorflow. The rest of cnnbook runs on any "
        "Keras backend (KERAS_BACKEND=jax or torch)."
    ) from _err

from cnnbook import validate as check
from cnnbook.train import resolve_verbose

__all__ = ["LowLevelCNN", "make_train_step", "train", "evaluate"]


def he_normal(shape: Sequence[int], fan_in: int, seed: tuple[int, int]) -> tf.Tensor:
    """He initialisation: normal with standard deviation sqrt(2 / fan_in) (He et al., 2015)."""
    return tf.random.stateless_normal(shape, seed=seed) * math.sqrt(2.0 / fan_in)


class LowLevelCNN(tf.Module):
    """Conv -> ReLU -> max-pool, twice, then dropout and a dense softmax layer, as raw variables.

    Args:
        input_shape: (height, width, channels) of the images.
        classes: number of classes (width of the last layer).
        filters: output channels of the two convolutions.
        kernel_size: side of the square convolution kernels.
        padding: ``"VALID"`` (as the Keras example; 34,826 parameters on MNIST) or ``"SAME"``
            (as the TF 1 lecture code the source shows; 7x7x64 features before the dense layer).
        dropout: fraction of the dense layer's inputs dropped while training.
        seed: seeds the initial weights and the dropout masks.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (28, 28, 1),
        classes: int = 10,
        *,
        filters: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        padding: str = "VALID",
        dropout: float = 0.5,
        seed: int = 0,
    ):
        super().__init__(name="lowlevel_cnn")
        shape = check.input_shape(input_shape)
        classes = check.integer(classes, "classes", minimum=2)
        if not isinstance(padding, str) or padding not in ("VALID", "SAME"):
            raise ValueError(f"padding must be 'VALID' or 'SAME', got {check.describe(padding)}")
        if isinstance(filters, (str, bytes)) or not isinstance(filters, (Sequence, np.ndarray)) \
                or len(filters) != 2 or not all(check.is_int(f) for f in filters):
            raise check.ArgumentTypeError(f"filters must be two positive ints, got {check.describe(filters)}")
        check.int_sequence(filters, "filters", length=2)
        kernel_size = check.positive_int(kernel_size, "kernel_size")
        dropout = check.fraction(dropout, "dropout")
        seed = check.non_negative_int(seed, "seed")
        self.input_shape = shape
        self.classes = classes
        self.padding = padding
        self.dropout = float(dropout)
        h, w, c = shape
        k = int(kernel_size)
        f1, f2 = (int(f) for f in filters)
        for _ in range(2):  # spatial size after each conv + 2x2 pool
            if padding == "VALID":
                h, w = h - k + 1, w - k + 1
            h, w = h // 2, w // 2
        if min(h, w) < 1:
            raise ValueError(f"input_shape {shape} is too small for two {k}x{k} convolutions and 2x2 pools")
        flat = h * w * f2
        self.w1 = tf.Variable(he_normal((k, k, c, f1), k * k * c, (seed, 1)), name="w1")
        self.b1 = tf.Variable(tf.zeros([f1]), name="b1")
        self.w2 = tf.Variable(he_normal((k, k, f1, f2), k * k * f1, (seed, 2)), name="w2")
        self.b2 = tf.Variable(tf.zeros([f2]), name="b2")
        self.w3 = tf.Variable(he_normal((flat, classes), flat, (seed, 3)), name="w3")
        self.b3 = tf.Variable(tf.zeros([classes]), name="b3")
        self._rng = tf.random.Generator.from_seed(seed)

    def features(self, x: tf.Tensor) -> list[tf.Tensor]:
        """The feature maps after each ReLU and pool: [relu1, pool1, relu2, pool2]."""
        pad = self.padding
        r1 = tf.nn.relu(tf.nn.conv2d(x, self.w1, strides=1, padding=pad) + self.b1)
        p1 = tf.nn.max_pool2d(r1, ksize=2, strides=2, padding="VALID")
        r2 = tf.nn.relu(tf.nn.conv2d(p1, self.w2, strides=1, padding=pad) + self.b2)
        p2 = tf.nn.max_pool2d(r2, ksize=2, strides=2, padding="VALID")
        return [r1, p1, r2, p2]

    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Logits (batch, classes) of images (batch, H, W, C); dropout if ``training``."""
        flat = tf.reshape(self.features(x)[-1], [tf.shape(x)[0], -1])
        if training and self.dropout > 0:
            seed = self._rng.make_seeds(1)[:, 0]
            flat = tf.nn.experimental.stateless_dropout(
                flat, rate=self.dropout, seed=seed)
        return tf.matmul(flat, self.w3) + self.b3

    @tf.function
    def predict_classes(self, x: tf.Tensor) -> tf.Tensor:
        """The most likely class of each image (no dropout)."""
        return tf.argmax(self(x, training=False), axis=1)

    def count_params(self) -> int:
        """Number of scalars in the weights (the dropout generator's state is not counted)."""
        return int(sum(np.prod(v.shape) for v in (self.w1, self.b1, self.w2, self.b2, self.w3, self.b3)))

    @property
    def weights(self) -> list[tf.Variable]:
        """The six trainable variables, in layer order."""
        return [self.w1, self.b1, self.w2, self.b2, self.w3, self.b3]


def make_train_step(model: LowLevelCNN, optimizer):
    """A compiled training step: forward pass, loss, ``tf.GradientTape``, update.

    Returns:
        A ``tf.function`` ``step(x, y) -> (loss, accuracy)`` over one batch.
    """
    # create Adam's moment variables now, not during the first trace
    if not optimizer.built:
        optimizer.build(model.weights)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=y, logits=logits))
        grads = tape.gradient(loss, model.weights)
        optimizer.apply_gradients(zip(grads, model.weights))
        correct = tf.equal(tf.argmax(logits, axis=1, output_type=y.dtype), y)
        return loss, tf.reduce_mean(tf.cast(correct, tf.float32))

    return step


def _check_xy(model: LowLevelCNN, x, y, arg: str) -> tuple[np.ndarray, np.ndarray]:
    x = check.array(x, f"{arg}: images", finite=True)
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y)
    if x.ndim != 4 or x.shape[1:] != model.input_shape:
        raise ValueError(f"{arg}: images must have shape (N, {', '.join(map(str, model.input_shape))}), got {x.shape}")
    if len(x) == 0:
        raise ValueError(f"{arg}: there are no images (shape {x.shape}); pass at least one example")
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{arg}: labels must be integers of shape ({len(x)},), got {y.dtype} {y.shape}")
    if len(y) and (y.min() < 0 or y.max() >= model.classes):
        raise ValueError(f"{arg}: labels must lie in 0..{model.classes - 1}, got {y.min()}..{y.max()}")
    return x, y.astype(np.int64)


def _pair(data, arg: str):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise check.ArgumentTypeError(f"{arg} must be an (x, y) pair of arrays, got {check.describe(data)}")
    return data


def train(
    model: LowLevelCNN,
    data: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    seed: int = 0,
    max_seconds: float | None = None,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    verbose: int | None = None,
) -> dict[str, list[float]]:
    """Train with Adam over a shuffled ``tf.data`` pipeline.

    Args:
        model: the network to train (its variables are updated in place).
        data: ``(x, y)`` images and integer labels.
        epochs: maximum number of passes over the data.
        batch_size: images per step.
        learning_rate: Adam's step size.
        seed: seeds the shuffling order.
        max_seconds: stop after the first epoch that ends past this many seconds.
        validation_data: ``(x, y)`` evaluated after every epoch (``val_accuracy``).
        verbose: at 1 or 2, one line per epoch, printed and flushed as it ends
            (``epoch 3/12: loss 0.1234, accuracy 0.9620, val_accuracy 0.9750, 12.3 s``); at 0
            nothing. None (default) asks :func:`cnnbook.runtime.progress`: lines for a
            full-profile run at paper scale, nothing under the quick profile (the book build, the
            tests) or in a smoke run.

    Returns:
        A dict of per-epoch lists, ``loss`` and ``accuracy`` (means over the epoch's batches), ``seconds``
        (cumulative training time) and ``val_accuracy`` when validation data are given.

    Raises:
        ValueError: the model, the data or an argument is not valid (named in the message).
    """
    import keras

    if not isinstance(model, LowLevelCNN):
        raise ValueError(f"model must be a LowLevelCNN, got {type(model).__name__}")
    epochs = check.positive_int(epochs, "epochs")
    batch_size = check.positive_int(batch_size, "batch_size")
    learning_rate = check.positive_number(learning_rate, "learning_rate")
    seed = check.non_negative_int(seed, "seed")
    max_seconds = check.positive_number(max_seconds, "max_seconds", allow_none=True)
    lines = resolve_verbose(verbose) > 0
    x, y = _check_xy(model, *_pair(data, "data"), "data")
    if validation_data is not None:
        xv, yv = _check_xy(model, *_pair(validation_data, "validation_data"), "validation_data")
    ds = (tf.data.Dataset.from_tensor_slices((x, y)).cache()
          .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
          .batch(batch_size).prefetch(tf.data.AUTOTUNE))
    step = make_train_step(model, keras.optimizers.Adam(learning_rate))
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "seconds": []}
    t0 = time.perf_counter()
    for _ in range(epochs):
        losses, accs = [], []
        for xb, yb in ds:
            loss, acc = step(xb, yb)
            losses.append(float(loss))
            accs.append(float(acc))
        history["loss"].append(float(np.mean(losses)))
        history["accuracy"].append(float(np.mean(accs)))
        history["seconds"].append(time.perf_counter() - t0)
        if validation_data is not None:
            history.setdefault("val_accuracy", []).append(evaluate(model, xv, yv))
        if lines:
            shown = [f"{key} {history[key][-1]:.4f}" for key in ("loss", "accuracy", "val_accuracy") if key in history]
            print(f"epoch {len(history['loss'])}/{epochs}: {', '.join(shown)}, {history['seconds'][-1]:.1f} s",
                  flush=True)
        if max_seconds is not None and history["seconds"][-1] >= max_seconds:
            break
    return history


def evaluate(model: LowLevelCNN, x, y, *, batch_size: int = 256) -> float:
    """Accuracy of the model (no dropout) on images ``x`` with integer labels ``y``."""
    if not isinstance(model, LowLevelCNN):
        raise ValueError(f"model must be a LowLevelCNN, got {type(model).__name__}")
    batch_size = check.positive_int(batch_size, "batch_size")
    x, y = _check_xy(model, x, y, "x, y")
    predict = model.predict_classes
    pred = np.concatenate([predict(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)])
    return float(np.mean(pred == y))
