"""Measuring a network: parameters, multiply-adds, layer tables, gradient and activation
statistics, squeeze-and-excitation gates, predictions and accuracy. One implementation each.

Every function takes a built ``keras.Model`` (functional or sequential, nested models included)
and reads it through public Keras APIs (``model.layers``, ``layer.input`` / ``layer.output``,
``layer.weights``); the one exception, the calls of a shared layer, goes through
:func:`cnnbook.compat.layer_calls`.

- :func:`trainable_params`, :func:`depth`: what the model holds.
- :func:`multiply_adds`: the papers' "FLOPs" of one forward pass, for every layer the book
  builds (convolutions of every kind, dense layers, :class:`~cnnbook.layers.ConvBNAct`,
  :class:`~cnnbook.layers.SqueezeExcite`, the NASNet operations).
- :func:`layer_table`: per output size (the ResNet papers' structure table) or per group of
  layers (parameters and multiply-adds of VGG's blocks).
- :func:`inception_branches`: the parallel branches of an inception module.
- :func:`kernel_gradient_norms`, :func:`activation_stds`: how signals travel at initialisation.
- :func:`excitations`: SE gate values per class (Hu et al. 2018, Fig. 6).
- :func:`predict`, :func:`accuracy`: eager inference without tracing.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import layers

from cnnbook import compat
from cnnbook import validate as check
from cnnbook.layers import ConvBNAct, SqueezeExcite

__all__ = [
    "trainable_params",
    "depth",
    "all_layers",
    "multiply_adds",
    "layer_table",
    "inception_branches",
    "kernel_gradient_norms",
    "activation_stds",
    "excitations",
    "predict",
    "accuracy",
]

# Layers that hold weights but cost no multiply-adds in the papers' counts.
_FREE = (layers.BatchNormalization, layers.LayerNormalization, layers.GroupNormalization,
         layers.Normalization, layers.Embedding)


def all_layers(model: keras.Model):
    """The model's layers with nested models opened up, in order."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)
        else:
            yield layer


def trainable_params(model: keras.Model) -> int:
    """Number of trainable parameters (batch-norm moving statistics excluded)."""
    check.keras_model(model)
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def depth(model: keras.Model) -> int:
    """Number of layers that hold weights (what keras.io's Depth column counts)."""
    check.keras_model(model)
    return sum(1 for layer in all_layers(model) if layer.weights)


def _positions(shape) -> int:
    """Output positions of a feature map (batch and channel axes left out; 1 for a vector)."""
    return int(np.prod([int(s) for s in tuple(shape)[1:-1]])) if len(shape) > 2 else 1


def _shape(tensor):
    if isinstance(tensor, (list, tuple)):
        # an InputLayer's call record can hold an empty input list
        return tuple(tensor[0].shape) if tensor else ()
    return tuple(tensor.shape)


def _call_cost(layer, inputs, outputs) -> int | None:
    """Multiply-adds of one call of ``layer``; None for a layer this function does not know."""
    out_shape, in_shape = _shape(outputs), _shape(inputs)
    if isinstance(layer, layers.SeparableConv2D):
        dw = int(np.prod(layer.depthwise_kernel.shape))
        return _positions(out_shape) * (dw + int(np.prod(layer.pointwise_kernel.shape)))
    if isinstance(layer, layers.DepthwiseConv2D):
        return _positions(out_shape) * int(np.prod(layer.kernel.shape))
    if isinstance(layer, (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)):
        return _positions(in_shape) * int(np.prod(layer.kernel.shape))
    if isinstance(layer, (layers.Conv1D, layers.Conv2D, layers.Conv3D)):
        # k_h * k_w * C_in / groups per output channel and position
        return _positions(out_shape) * int(np.prod(layer.kernel.shape[:-1])) * int(out_shape[-1])
    if isinstance(layer, layers.Dense):
        return _positions(out_shape) * int(np.prod(layer.kernel.shape))
    if isinstance(layer, ConvBNAct):
        return _positions(out_shape) * int(np.prod(layer.conv.kernel.shape[:-1])) * int(out_shape[-1])
    if isinstance(layer, SqueezeExcite):
        # two dense layers on the squeezed vector, then H * W * C multiplications of the scaling
        c, u = layer.channels, layer.units
        return 2 * c * u + _positions(in_shape) * c
    if isinstance(layer, _FREE) or not layer.weights:
        return 0
    return None


def multiply_adds(model: keras.Model, *, detail: bool = False):
    """Multiply-accumulate operations of one forward pass for one image (the papers' "FLOPs").

    Counted per call of every layer, nested models included:

    - convolutions (``Conv1D/2D/3D``): ``H_out * W_out * k_h * k_w * C_in * C_out / groups``;
      transposed convolutions: input positions x kernel size;
    - depthwise convolutions: ``H_out * W_out * k_h * k_w * C``; separable convolutions: that
      plus the pointwise ``H_out * W_out * C_in * C_out``;
    - dense layers: ``inputs * units`` (per position on a sequence);
    - :class:`~cnnbook.layers.ConvBNAct`: its convolution;
    - :class:`~cnnbook.layers.SqueezeExcite`: its two dense layers (``2 * C * C / r``) plus the
      ``H * W * C`` multiplications of the channel scaling.

    Biases, batch normalisation, activations, pooling, additions and concatenations are not
    counted, as in He et al. (2016a, Table 1), Zoph et al. (2018) and Hu et al. (2018, Table 2).

    Args:
        model: a built ``keras.Model`` with a fixed input size.
        detail: return ``{layer name: count}`` instead of the total.

    Returns:
        The total (int) or the per-layer dictionary (layers that cost nothing are left out).

    Raises:
        ValueError: ``model`` is not a Keras model, its input size is not fixed, or a layer holds
            weights this function does not know how to count (rather than a silent 0).
    """
    check.keras_model(model)
    counts: dict[str, int] = {}
    for layer in all_layers(model):
        if not layer.weights:  # inputs, pooling, activations, additions, reshapes: no multiply-adds
            continue
        calls = compat.layer_calls(layer)
        for inputs, outputs in calls:
            shape = _shape(outputs)
            if any(s is None for s in shape[1:]):
                raise ValueError(f"multiply_adds needs a fixed input size; layer {layer.name!r} outputs "
                                 f"{shape}: build the model with a fixed input_shape")
            cost = _call_cost(layer, inputs, outputs)
            if cost is None:
                raise ValueError(f"multiply_adds does not know how to count layer {layer.name!r} "
                                 f"({type(layer).__name__})")
            if cost:
                counts[layer.name] = counts.get(layer.name, 0) + cost
    return counts if detail else int(sum(counts.values()))


def _default_group(name: str) -> str:
    return name.split("_")[0]


def layer_table(model: keras.Model, *, by: str = "output",
                group: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """A table of the network's layers, one dict per row.

    Args:
        model: a built ``keras.Model``.
        by: ``"output"``: the paper-style structure table of He et al. (2016a): main-path
            convolutions grouped by output size (projection shortcuts, named ``*_0_conv``, are
            not counted, as in the papers' depth), then the dense classifier; the ``layers``
            column sums to the network's depth. Rows: ``{"output": "32x32", "layers": 7,
            "filters": "16"}``.
            ``"group"``: parameters and multiply-adds per group of layers, in order of first
            appearance, groups without parameters left out. Rows: ``{"group": "block1",
            "params": 38720, "multiply_adds": 1.8e9}``.
        group: with ``by="group"``, a function layer name -> group name (default: the text
            before the first ``_``, which gives VGG's ``block1`` ... ``block5``, ``fc1``, ``fc2``,
            ``predictions``).

    Returns:
        The rows, as a list of dicts.
    """
    check.keras_model(model)
    by = check.choice(by, "by", ("output", "group"))
    if by == "group":
        name_of = group or _default_group
        if not callable(name_of):
            raise check.ArgumentTypeError(f"group must be a function layer name -> group name, got "
                                          f"{check.describe(group)}")
        macs = multiply_adds(model, detail=True)
        grouped: dict[str, dict[str, Any]] = {}
        for layer in all_layers(model):
            p = int(layer.count_params()) if layer.weights else 0
            if not p:
                continue
            key = name_of(layer.name)
            row = grouped.setdefault(key, {"group": key, "params": 0, "multiply_adds": 0})
            row["params"] += p
            row["multiply_adds"] += macs.get(layer.name, 0)
        return list(grouped.values())
    rows: dict[str, dict[str, Any]] = {}
    dense = None
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D) and not layer.name.endswith("_0_conv"):
            h, w = layer.output.shape[1:3]
            key = f"{h}x{w}"
            row = rows.setdefault(key, {"output": key, "layers": 0, "filters": []})
            row["layers"] += 1
            if layer.filters not in row["filters"]:
                row["filters"].append(layer.filters)
        elif isinstance(layer, layers.Dense):
            dense = {"output": "1x1", "layers": 1, "filters": f"{layer.units} (dense)"}
    table = [{**r, "filters": ", ".join(str(f) for f in sorted(r["filters"]))} for r in rows.values()]
    return table + ([dense] if dense else [])


# --------------------------------------------------------------------------------------------
# the branches of an inception module
# --------------------------------------------------------------------------------------------


def _unit(layers_: list) -> list[dict[str, Any]]:
    """Group Conv -> BatchNorm -> Activation runs into one unit each."""
    units: list[dict[str, Any]] = []
    for layer in layers_:
        kind = type(layer).__name__
        shape = tuple(layer.output.shape[1:])
        if kind in ("BatchNormalization", "Activation") and units:
            units[-1]["shape"] = shape
            units[-1]["layers"].append(layer.name)
            continue
        if kind == "Conv2D":
            kh, kw = layer.kernel_size
            label = f"conv {kh}x{kw}, {layer.filters}" + (f", stride {layer.strides[0]}" if layer.strides[0] > 1 else "")
        elif "Pooling" in kind:
            p = layer.pool_size
            label = f"{'avg' if 'Average' in kind else 'max'} pool {p[0]}x{p[1]}"
        else:
            label = kind
        units.append({"label": label, "shape": shape, "layers": [layer.name],
                      "params": 0})
    return units


def inception_branches(model, block: str = "mixed0") -> dict[str, Any]:
    """The parallel branches of one inception module, read from the model's graph.

    Walks back from the module's ``Concatenate`` layer along each input until the branches meet.

    Args:
        model: a functional model such as ``keras.applications.InceptionV3``.
        block: name of the concatenation layer that closes the module.

    Returns:
        ``{"input": (H, W, C), "output": (H, W, C), "branches": [[unit, ...], ...]}`` where a unit is
        ``{"label": "conv 5x5, 64", "shape": (H, W, C), "layers": [...], "params": n}``
        (a Conv-BatchNorm-ReLU run counts as one unit).

    Raises:
        ValueError: ``block`` is not a layer of the model or not a concatenation of branches.
    """
    try:
        concat = model.get_layer(block)
    except ValueError:
        raise ValueError(f"block={block!r} is not a layer of {model.name}") from None
    if type(concat).__name__ != "Concatenate":
        raise ValueError(f"block={block!r} is a {type(concat).__name__}, not a Concatenate layer")
    chains = []
    for t in concat.input:
        chain = []
        op = compat.producer(t)
        for _ in range(64):
            chain.append(op)
            inp = op.input
            if isinstance(inp, (list, tuple)):
                if len(inp) != 1:
                    break
                inp = inp[0]
            op = compat.producer(inp)
        chains.append(chain)
    common = next((op for op in chains[0] if all(op in c for c in chains[1:])), None)
    if common is None:
        raise ValueError(f"block={block!r}: the branches do not meet within 64 layers")
    branches = []
    for chain in chains:
        own = list(reversed(chain[: chain.index(common)]))
        units = _unit(own)
        for u in units:
            u["params"] = int(sum(model.get_layer(n).count_params() for n in u["layers"]))
        branches.append(units)
    return {"input": tuple(common.output.shape[1:]), "output": tuple(concat.output.shape[1:]),
            "branches": branches}


# --------------------------------------------------------------------------------------------
# signals: gradients, activations, excitations
# --------------------------------------------------------------------------------------------


def _main_convs(model: keras.Model) -> list:
    return [layer for layer in model.layers
            if isinstance(layer, layers.Conv2D) and not layer.name.endswith("_0_conv")]


def kernel_gradient_norms(model: keras.Model, x, y, *, loss: Any = "sparse_categorical_crossentropy"
                          ) -> dict[str, float]:
    """L2 norm of the loss gradient with respect to each main-path convolution kernel.

    Computed on one batch with ``tf.GradientTape`` in training mode (batch statistics for batch
    normalisation), in depth order: the profile of how the error signal reaches each layer.

    Args:
        model: a ``keras.Model`` whose output is a probability vector (or logits with a
            matching ``loss``).
        x: a batch of inputs.
        y: its integer labels.
        loss: a Keras loss (name or object).

    Returns:
        ``{layer name: gradient norm}``, ordered from input to output.
    """
    import tensorflow as tf

    check.keras_model(model)
    x = check.model_inputs(model, x)
    y = check.array(y, "y", ndim=1)
    check.same_length(x=x, y=y)
    y = check.labels(y, "y")
    convs = _main_convs(model)
    if not convs:
        raise ValueError("model has no Conv2D layers to measure")
    loss_fn = keras.losses.get(loss)
    kernels = [c.kernel for c in convs]
    with tf.GradientTape() as tape:
        value = loss_fn(tf.convert_to_tensor(y), model(tf.convert_to_tensor(x), training=True))
        value = tf.reduce_mean(value)
    grads = tape.gradient(value, kernels)
    return {c.name: float(tf.norm(g)) for c, g in zip(convs, grads)}


def activation_stds(model: keras.Model, x, *, kind: type = layers.Activation) -> dict[str, float]:
    """Standard deviation of the output of every layer of type ``kind``, in depth order.

    Args:
        model: a functional ``keras.Model``.
        x: a batch of inputs.
        kind: the layer class to probe (default: activation layers, i.e. after each ReLU).

    Returns:
        ``{layer name: std of its output}`` computed in training mode (batch statistics).
    """
    check.keras_model(model)
    x = check.model_inputs(model, x)
    probes = [layer for layer in model.layers if isinstance(layer, kind)]
    if not probes:
        raise ValueError(f"model has no {kind.__name__} layers to probe")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs, [p.output for p in probes])
    outs = probe(x, training=True)
    return {p.name: float(np.std(keras.ops.convert_to_numpy(o))) for p, o in zip(probes, outs)}


def excitations(model: keras.Model, x, y, *, classes: int | None = None) -> dict[str, np.ndarray]:
    """Average squeeze-and-excitation gate values per class, for every SE block of a model.

    The analysis of Hu et al. (2018, Fig. 6): run images of each class through the network and
    average, per channel, the excitation ``s`` each :class:`~cnnbook.layers.SqueezeExcite` block
    computes (in inference mode).

    Args:
        model: a functional ``keras.Model`` with :class:`~cnnbook.layers.SqueezeExcite` layers.
        x: input images (already preprocessed as the model expects).
        y: their integer labels.
        classes: number of classes (default ``max(y) + 1``).

    Returns:
        ``{SE layer name: array (classes, channels)}`` in depth order; classes without images
        get NaN rows.
    """
    check.keras_model(model)
    se_layers = [layer for layer in model.layers if isinstance(layer, SqueezeExcite)]
    if not se_layers:
        raise ValueError("model has no SqueezeExcite layers")
    x = check.model_inputs(model, x)
    y = check.array(y, "y", ndim=1)
    check.same_length(x=x, y=y)
    y = check.labels(y, "y").astype(int)
    classes = check.positive_int(classes, "classes", allow_none=True)
    k = int(classes) if classes is not None else int(y.max()) + 1
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    features = keras.Model(inputs, [layer.input for layer in se_layers])(np.asarray(x, np.float32), training=False)
    out = {}
    for layer, f in zip(se_layers, features):
        s = keras.ops.convert_to_numpy(layer.excitation(f))
        out[layer.name] = np.stack([s[y == c].mean(axis=0) if np.any(y == c) else np.full(s.shape[1], np.nan)
                                    for c in range(k)])
    return out


# --------------------------------------------------------------------------------------------
# predictions
# --------------------------------------------------------------------------------------------


def predict(model, x, *, batch_size: int = 256) -> np.ndarray:
    """``model(x, training=False)`` batch by batch, as a NumPy array.

    Unlike ``model.predict`` it traces no ``tf.function``, which makes it the faster choice
    for the many small models of an experiment that are each used once.
    """
    batch_size = check.positive_int(batch_size, "batch_size")
    check.keras_model(model)
    x = check.model_inputs(model, x)
    outs = []
    with warnings.catch_warnings():  # Keras warns when a named input receives a bare tensor
        warnings.filterwarnings("ignore", message="The structure of `inputs`")
        for i in range(0, len(x), batch_size):
            outs.append(np.asarray(model(x[i:i + batch_size], training=False)))
    return np.concatenate(outs)


def accuracy(model, x, y, batch_size: int = 256) -> float:
    """Top-1 accuracy: the fraction of ``x`` that ``model`` classifies as ``y`` (arg-max of its
    scores), computed with eager forward passes of ``batch_size`` images (:func:`predict`)."""
    check.keras_model(model)
    x = check.model_inputs(model, x)
    y = check.array(y, "y", ndim=1)
    check.same_length(x=x, y=y)
    y = check.labels(y, "y")
    return float(np.mean(np.argmax(predict(model, x, batch_size=batch_size), axis=1) == y))
