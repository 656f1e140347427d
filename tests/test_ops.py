"""cnnbook.ops against TensorFlow and Keras: property tests over random shapes, strides, paddings."""

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnnbook import ops

# On Ampere and later GPUs TF computes float32 convolutions in TF32 (10-bit mantissa) by default;
# the reference is compared at float32 tolerance, so TF must compute in float32 as well.
tf.config.experimental.enable_tensor_float_32_execution(False)

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, database=None)

# --------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------

paddings = st.one_of(
    st.sampled_from(["valid", "same", "VALID", "SAME"]),
    st.integers(0, 2),
    st.tuples(st.integers(0, 2), st.integers(0, 2)),
)
strides = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))


@st.composite
def conv_case(draw, max_side=12):
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    c_in, c_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride, padding = draw(strides), draw(paddings)
    pad = padding if not isinstance(padding, int) else (padding, padding)
    if not isinstance(pad, str):
        assume(kh <= h + 2 * pad[0] and kw <= w + 2 * pad[1])
    elif pad.lower() == "valid":
        assume(kh <= h and kw <= w)
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c_in)).astype(np.float32)
    k = rng.standard_normal((kh, kw, c_in, c_out)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32) if draw(st.booleans()) else None
    return x, k, b, stride, padding


def _tf_padding(padding):
    if isinstance(padding, str):
        return padding.upper()
    p = (padding, padding) if isinstance(padding, int) else padding
    return [[0, 0], [p[0], p[0]], [p[1], p[1]], [0, 0]]


def _tf_conv(x, k, b, stride, padding):
    y = tf.nn.conv2d(x, k, strides=list(stride) if isinstance(stride, tuple) else stride,
                     padding=_tf_padding(padding)).numpy()
    return y if b is None else y + b


def _close(a, b, x, k):
    # float32 tolerance scaled by the number of terms in each sum
    atol = 1e-5 * k.shape[0] * k.shape[1] * k.shape[2] * max(1.0, float(np.abs(x).max()))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=atol)


# --------------------------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------------------------


@settings(max_examples=80, **SETTINGS)
@given(conv_case())
def test_conv2d_matches_tf_nn_conv2d(case):
    x, k, b, stride, padding = case
    got = ops.conv2d(x, k, b, stride=stride, padding=padding)
    want = _tf_conv(x, k, b, stride, padding)
    assert got.shape == want.shape
    _close(got, want, x, k)


@settings(max_examples=25, **SETTINGS)
@given(conv_case(max_side=7))
def test_conv2d_loop_matches_vectorised(case):
    x, k, b, stride, padding = case
    _close(ops.conv2d_loop(x, k, b, stride, padding), ops.conv2d(x, k, b, stride, padding), x, k)


@settings(max_examples=20, **SETTINGS)
@given(conv_case(max_side=10))
def test_conv2d_matches_keras_conv2d(case):
    x, k, b, stride, padding = case
    assume(isinstance(padding, str))
    layer = keras.layers.Conv2D(k.shape[-1], k.shape[:2], strides=stride, padding=padding.lower(),
                                use_bias=b is not None)
    layer.build(x.shape)
    layer.set_weights([k] if b is None else [k, b])
    _close(ops.conv2d(x, k, b, stride, padding), np.asarray(layer(x)), x, k)


def test_conv2d_unbatched_and_integer_exact():
    x = np.arange(25).reshape(5, 5, 1)
    k = np.array([[1, 0], [0, -1]]).reshape(2, 2, 1, 1)
    y = ops.conv2d(x, k, b=np.array([10]))
    assert y.shape == (4, 4, 1) and y.dtype.kind == "i"
    # x[i, j] - x[i+1, j+1] = -6 everywhere, plus the bias
    assert np.all(y == 4)
    assert np.array_equal(ops.conv2d_loop(x, k, b=np.array([10])), y)


def test_conv2d_sums_over_channels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 6, 3))
    k = rng.standard_normal((3, 3, 3, 1))
    per_channel = [ops.conv2d(x[..., c:c + 1], k[:, :, c:c + 1, :]) for c in range(3)]
    np.testing.assert_allclose(ops.conv2d(x, k), sum(per_channel))


def test_same_padding_is_asymmetric_like_tensorflow():
    assert ops.pad_amounts(6, 4, 1, "same") == (1, 2)
    assert ops.pad_amounts(7, 3, 2, "same") == (1, 1)
    assert ops.pad_amounts(6, 3, 2, "same") == (0, 1)
    assert ops.pad_amounts(5, 1, 1, "same") == (0, 0)
    assert ops.pad_amounts(5, 3, 1, 2) == (2, 2)


# --------------------------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------------------------


@st.composite
def pool_case(draw):
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    c = draw(st.integers(1, 3))
    size = draw(st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    stride = draw(st.one_of(st.none(), strides))
    padding = draw(st.sampled_from(["valid", "same"]))
    kh, kw = size if isinstance(size, tuple) else (size, size)
    if padding == "valid":
        assume(kh <= h and kw <= w)
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    return rng.standard_normal((n, h, w, c)).astype(np.float32), size, stride, padding


def _tf_pool(x, size, stride, padding, mode):
    size = size if isinstance(size, tuple) else (size, size)
    stride = size if stride is None else (stride if isinstance(stride, tuple) else (stride, stride))
    if stride[0] <= size[0] and stride[1] <= size[1]:
        return tf.nn.pool(x, window_shape=size, pooling_type={"max": "MAX", "avg": "AVG"}[mode],
                          strides=stride, padding=padding.upper()).numpy()
    # tf.nn.pool refuses strides larger than the window; the 2-D ops accept them
    op = {"max": tf.nn.max_pool2d, "avg": tf.nn.avg_pool2d}[mode]
    return op(x, ksize=size, strides=stride, padding=padding.upper()).numpy()


@settings(max_examples=80, **SETTINGS)
@given(pool_case(), st.sampled_from(["max", "avg"]))
def test_pool2d_matches_tf_nn_pool(case, mode):
    x, size, stride, padding = case
    got = ops.pool2d(x, size, stride, padding, mode)
    want = _tf_pool(x, size, stride, padding, mode)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@settings(max_examples=20, **SETTINGS)
@given(pool_case(), st.sampled_from(["max", "avg"]))
def test_pool2d_matches_keras_pooling_layers(case, mode):
    x, size, stride, padding = case
    cls = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}[mode]
    layer = cls(pool_size=size, strides=stride, padding=padding)
    np.testing.assert_allclose(ops.pool2d(x, size, stride, padding, mode), np.asarray(layer(x)),
                               rtol=1e-5, atol=1e-6)


@settings(max_examples=40, **SETTINGS)
@given(pool_case())
def test_min_pool_is_minus_max_pool_of_minus_x(case):
    x, size, stride, padding = case
    got = ops.pool2d(x, size, stride, padding, "min")
    np.testing.assert_array_equal(got, -ops.pool2d(-x, size, stride, padding, "max"))
    np.testing.assert_array_equal(got, -_tf_pool(-x, size, stride, padding, "max"))


def test_pool2d_small_example_and_dtypes():
    x = np.array([[1, 3, 2, 0], [5, 7, 1, 2], [0, 2, 9, 4], [1, 1, 3, 8]]).reshape(4, 4, 1)
    assert ops.pool2d(x)[..., 0].tolist() == [[7, 2], [2, 9]]
    assert ops.pool2d(x, mode="min")[..., 0].tolist() == [[1, 0], [0, 3]]
    avg = ops.pool2d(x, mode="avg")
    assert avg.dtype.kind == "f" and avg[..., 0].tolist() == [[4.0, 1.25], [1.0, 6.0]]
    assert ops.pool2d(x).dtype == x.dtype


# --------------------------------------------------------------------------------------------
# output size and receptive field
# --------------------------------------------------------------------------------------------


@settings(max_examples=40, **SETTINGS)
@given(n=st.integers(1, 20), kernel=st.integers(1, 6), stride=st.integers(1, 4),
       padding=st.sampled_from(["valid", "same"]), dilation=st.integers(1, 3))
def test_output_size_equals_keras_conv2d_shape(n, kernel, stride, padding, dilation):
    assume(stride == 1 or dilation == 1)  # Keras refuses strides > 1 together with dilation > 1
    span = (kernel - 1) * dilation + 1
    if padding == "valid" and span > n:
        with pytest.raises(ValueError, match="kernel"):
            ops.output_size(n, kernel, stride, padding, dilation)
        return
    layer = keras.layers.Conv2D(1, kernel, strides=stride, padding=padding, dilation_rate=dilation)
    out = layer(np.zeros((1, n, n + 1, 1), np.float32))
    assert out.shape[1] == ops.output_size(n, kernel, stride, padding, dilation)
    assert out.shape[2] == ops.output_size(n + 1, kernel, stride, padding, dilation)


@settings(max_examples=30, **SETTINGS)
@given(n=st.integers(1, 16), kernel=st.integers(1, 5), stride=st.integers(1, 3), pad=st.integers(0, 3),
       pool=st.integers(1, 3))
def test_output_size_with_int_padding_and_pooling_equals_keras(n, kernel, stride, pad, pool):
    assume(kernel <= n + 2 * pad and pool <= n)
    model = keras.Sequential([keras.layers.ZeroPadding2D(pad), keras.layers.Conv2D(1, kernel, strides=stride)])
    out = model(np.zeros((1, n, n, 1), np.float32))
    assert out.shape[1] == ops.output_size(n, kernel, stride, pad)
    pooled = keras.layers.MaxPooling2D(pool)(np.zeros((1, n, n, 1), np.float32))
    assert pooled.shape[1] == ops.output_size(n, pool, pool)


def _empirical_rf(model, size):
    """Width of the input region that the centre output of ``model`` depends on (via the gradient)."""
    x = tf.Variable(np.random.default_rng(0).random((1, size, size, 1)).astype(np.float32))
    with tf.GradientTape() as tape:
        y = model(x)
        c = y.shape[1] // 2
        target = y[0, c, c, 0]
    g = np.abs(tape.gradient(target, x).numpy()[0, :, :, 0])
    rows = np.nonzero(g.sum(axis=1))[0]
    return rows.max() - rows.min() + 1


@pytest.mark.parametrize("stack", [
    [("conv", 3, 1, 1), ("conv", 3, 1, 1)],
    [("conv", 3, 1, 1), ("pool", 2, 2, 1), ("conv", 3, 1, 1), ("pool", 2, 2, 1), ("conv", 3, 1, 1)],
    [("conv", 5, 2, 1), ("conv", 3, 1, 2), ("pool", 3, 3, 1)],
])
def test_receptive_field_matches_gradient_footprint(stack):
    layers = []
    for kind, k, s, d in stack:
        if kind == "conv":
            layers.append(keras.layers.Conv2D(1, k, strides=s, dilation_rate=d, use_bias=False,
                                              kernel_initializer="ones"))
        else:
            layers.append(keras.layers.AveragePooling2D(k, strides=s))
    model = keras.Sequential([keras.Input((64, 64, 1)), *layers])
    table = ops.receptive_field(model.layers)
    assert table[-1].rf == _empirical_rf(model, 64)
    assert [r.rf for r in table] == [r.rf for r in ops.receptive_field([(k, s, d) for _, k, s, d in stack])]
    assert table[-1].jump == int(np.prod([s for _, _, s, _ in stack]))


def test_receptive_field_forms():
    rows = ops.receptive_field([{"kernel": 3, "name": "c1"}, (2, 2), (3, 1, 2)])
    assert [(r.name, r.rf, r.jump) for r in rows] == [("c1", 3, 1), ("1", 4, 2), ("2", 12, 2)]


def test_docstring_examples():
    result = doctest.testmod(ops)
    assert result.attempted >= 2 and result.failed == 0


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------

X = np.zeros((5, 5, 3), np.float32)
K = np.zeros((3, 3, 3, 2), np.float32)


@pytest.mark.parametrize("call, match", [
    (lambda: ops.conv2d(X, K, stride=0), r"stride must be a positive int, got 0"),
    (lambda: ops.conv2d(X, K, stride=(1, -1)), r"stride must be a positive int"),
    (lambda: ops.conv2d(X, K, stride=1.5), r"stride must be a positive int"),
    (lambda: ops.conv2d(X, K, padding=-1), r"padding must be 'valid', 'same', a non-negative int"),
    (lambda: ops.conv2d(X, K, padding="full"), r"padding must be 'valid', 'same'"),
    (lambda: ops.conv2d(X, K, padding=(1, 2, 3)), r"padding must be"),
    (lambda: ops.conv2d(X, np.zeros((7, 3, 3, 2))), r"w's kernel \(7, 3\) is larger than the padded input \(5, 5\)"),
    (lambda: ops.conv2d(X, np.zeros((3, 3, 1, 2))), r"w expects C_in=1 .* x has 3"),
    (lambda: ops.conv2d(X[..., 0], K), r"x must have shape \(H, W, C\) or \(N, H, W, C\)"),
    (lambda: ops.conv2d(X, K[..., 0]), r"w must have shape \(kh, kw, C_in, C_out\)"),
    (lambda: ops.conv2d(X, K, b=np.zeros(3)), r"b must have shape \(C_out,\) = \(2,\)"),
    (lambda: ops.conv2d(X.astype(str), K), r"x must hold real numbers"),
    (lambda: ops.conv2d(np.zeros((0, 5, 5, 3)), K), r"x is empty"),
    (lambda: ops.conv2d_loop(X, K, stride=0), r"stride must be a positive int"),
    (lambda: ops.pool2d(X, size=0), r"size must be a positive int"),
    (lambda: ops.pool2d(X, stride=0), r"stride must be a positive int"),
    (lambda: ops.pool2d(X, mode="median"), r"mode must be one of 'max', 'avg', 'min', got 'median'"),
    (lambda: ops.pool2d(X, padding=1), r"padding must be 'valid' or 'same' for pooling"),
    (lambda: ops.pool2d(X, size=6), r"size \(6, 6\) is larger than the padded input \(5, 5\)"),
    (lambda: ops.pool2d(np.zeros((2, 2)), size=1), r"x must have shape"),
    (lambda: ops.output_size(0, 3), r"n must be a positive int"),
    (lambda: ops.output_size(5, 0), r"kernel must be a positive int"),
    (lambda: ops.output_size(5, 3, stride=0), r"stride must be a positive int"),
    (lambda: ops.output_size(5, 3, dilation=0), r"dilation must be a positive int"),
    (lambda: ops.output_size(5, 3, padding=-2), r"padding must be an int >= 0"),
    (lambda: ops.output_size(5, 3, padding="full"), r"padding must be 'valid', 'same'"),
    (lambda: ops.output_size(5, 3, dilation=3), r"kernel=3 \(span 7 with dilation=3\) is larger than the padded input"),
    (lambda: ops.receptive_field([]), r"layers must be a non-empty sequence"),
    (lambda: ops.receptive_field([(3,)]), r"layers\[0\] must be \(kernel, stride\)"),
    (lambda: ops.receptive_field([(3, 1), (0, 1)]), r"layers\[1\] kernel must be a positive int"),
    (lambda: ops.receptive_field([{"size": 3}]), r"layers\[0\] must be a dict with 'kernel'"),
    (lambda: ops.receptive_field([keras.layers.Flatten()]), r"layers\[0\] must be .* got Flatten"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------------------------
# the chapter's figures (cnnbook.plot, Terminology section)
# --------------------------------------------------------------------------------------------

from cnnbook import plot  # noqa: E402

X5 = np.array([[1, 2, 0, 3, 1], [0, 1, 2, 1, 0], [3, 1, 0, 2, 2], [1, 0, 1, 3, 1], [2, 2, 0, 1, 0]])
K3 = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]])


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_conv_steps_writes_the_computed_values():
    import matplotlib.pyplot as plt

    fig = plot.conv_steps(X5, K3, stride=2, padding=1, steps=(0, -1))
    y = ops.conv2d(X5[:, :, None], K3[:, :, None, None], stride=2, padding=1)[:, :, 0]
    texts = _texts(fig)
    assert len(fig.axes) == 6
    assert any(t.endswith(f"= {y[0, 0]}") and t.startswith("y[0,0] =") for t in texts)
    assert any(t.startswith(f"y[{y.shape[0] - 1},{y.shape[1] - 1}] =") for t in texts)
    plt.close(fig)


def test_conv_animation_has_one_frame_per_output_and_embeds_offline():
    anim = plot.conv_animation(X5[:4, :4], K3[:2, :2], interval=100)
    html = plot.animation_html(anim)
    assert html.count("data:image/png;base64") == 9
    assert "http" not in html and 'class="fa' not in html and "\u25b6" in html
    with pytest.raises(ValueError, match="anim must be a matplotlib Animation"):
        plot.animation_html("not an animation")
    with pytest.raises(ValueError, match="default_mode must be"):
        plot.animation_html(anim, default_mode="bounce")


@pytest.mark.parametrize("fn", [
    lambda: plot.padding_diagram(X5, pad=2),
    lambda: plot.pooling_diagram(X5[:4, :4]),
    lambda: plot.matrices({"kernel": K3, "x": X5}),
    lambda: plot.channels(np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)),
    lambda: plot.multichannel_conv(np.ones((4, 4, 3)), np.ones((2, 2, 3)), b=1.0),
    lambda: plot.filter_responses(np.ones((8, 8)), {"id": np.ones((1, 1))}, {"id": np.ones((8, 8))}),
    lambda: plot.training_snapshots({"a": np.ones((3, 3, 1, 4))}, {"a": np.ones((6, 6, 4))}),
])
def test_terminology_figures_draw(fn):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = fn()
    assert isinstance(fig, Figure) and fig.axes
    plt.close(fig)


def test_pooling_diagram_shows_all_three_modes():
    import matplotlib.pyplot as plt

    x = np.array([[1, 3, 2, 0], [5, 7, 1, 2], [0, 2, 9, 4], [1, 1, 3, 8]])
    fig = plot.pooling_diagram(x)
    texts = [[t.get_text() for t in ax.texts] for ax in fig.axes]
    assert texts[1] == ["7", "2", "2", "9"] and texts[2] == ["4", "1.25", "1", "6"] and texts[3] == ["1", "0", "0", "3"]
    plt.close(fig)


@pytest.mark.parametrize("call, match", [
    (lambda: plot.conv_steps(X5, K3, stride=0), r"stride must be a positive int"),
    (lambda: plot.conv_steps(X5, K3, padding=-1), r"padding must be a non-negative int"),
    (lambda: plot.conv_steps(X5, K3, steps=(9,)), r"steps must hold ints in \[-9, 9\)"),
    (lambda: plot.conv_steps(X5, K3, steps=()), r"steps must name at least one"),
    (lambda: plot.conv_steps(np.zeros((20, 20)), K3), r"x must be at most 12x12"),
    (lambda: plot.conv_steps(X5, np.zeros((3, 3, 1))), r"w must have 2 dimensions"),
    (lambda: plot.conv_steps(X5, np.zeros((6, 6))), r"w must be at most 5x5"),
    (lambda: plot.conv_animation(X5, K3, interval=0), r"interval must be a positive int"),
    (lambda: plot.padding_diagram(X5, pad=0), r"pad must be a positive int"),
    (lambda: plot.pooling_diagram(X5), r"x's sides must be multiples of size=2"),
    (lambda: plot.matrices({}), r"arrays must be a non-empty mapping"),
    (lambda: plot.channels(np.zeros((4, 4))), r"image must have 3 dimensions"),
    (lambda: plot.channels(np.zeros((4, 4, 4))), r"image must have 3 channels"),
    (lambda: plot.multichannel_conv(np.ones((4, 4, 3)), np.ones((2, 2, 2))), r"w must have as many channels as x \(3\)"),
    (lambda: plot.filter_responses(np.ones((4, 4)), {"a": K3}, {"b": K3}), r"responses must map the same names"),
    (lambda: plot.training_snapshots({"a": np.ones((3, 3, 1, 2))}, {"b": np.ones((4, 4, 2))}), r"maps must have the same stages"),
])
def test_terminology_figures_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
