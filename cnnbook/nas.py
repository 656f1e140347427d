"""A small NASNet-style architecture search: search space, child networks, search strategies.

The search space follows NASNet (Zoph et al., 2018). A *cell* takes the outputs of the two
previous cells, ``h[k-2]`` and ``h[k-1]``, and is made of ``B`` *blocks*. Each block

1. picks two inputs among the hidden states the cell has so far (index 0 = ``h[k-2]``,
   1 = ``h[k-1]``, ``2 + j`` = the output of block ``j``),
2. picks one operation for each input from :data:`OPS`,
3. adds the two results (NASNet's combination by addition).

The block outputs that no other block consumes are concatenated into the cell's output. A
*normal* cell keeps the spatial size; a *reduction* cell applies its operations with stride 2 to
the cell's inputs (so it halves height and width) and doubles the filter count. A network is a
stem convolution, then ``num_reductions + 1`` stages of ``num_cells`` normal cells, separated by
reduction cells, then global average pooling and a softmax layer.

An architecture is plain data, a JSON-able ``dict``::

    {
        "normal":    [{"inputs": [1, 0], "ops": ["sep3x3", "identity"]}, ...],   # B blocks
        "reduction": [{"inputs": [0, 1], "ops": ["max3x3", "sep5x5"]}, ...],     # B blocks
        "num_cells": 1,        # N: normal cells per stage
        "filters": 8,          # F: filters of the first stage (doubled at each reduction)
        "num_reductions": 1,   # reduction cells between the stages
    }

:func:`build` turns it into a ``keras.Model``; :func:`validate` says what is wrong with a bad one;
:func:`search` runs random search, a REINFORCE controller (:class:`Controller`, as in NAS,
Zoph & Le 2017) or regularised evolution (Real et al., 2019) over a :class:`SearchSpace`.

A search at paper scale takes hours: when :func:`cnnbook.runtime.progress` says so (the full
profile, or ``CNNBOOK_PROGRESS``), :func:`search` prints one line per child (its reward, the best
so far, its time) and :func:`evaluate` one per epoch and one with the reward; under the quick
profile (the book build, the tests) and in smoke runs they print nothing. Their ``verbose``
argument overrides it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from keras import layers

from cnnbook import validate as check
from cnnbook.layers import classifier_head, load_weights
from cnnbook.measure import accuracy
from cnnbook.train import fast_fit, resolve_verbose


class _TensorFlow:
    """TensorFlow, imported at first use: the search space and :func:`build` run on any Keras backend;
    the controller's and the children's training loops (``tf.GradientTape``, ``tf.function``) need
    TensorFlow."""

    def __getattr__(self, name: str):
        try:
            import tensorflow
        except ImportError as err:
            raise ImportError(
                "this part of cnnbook.nas (the RNN controller and the search's training loop) is written in "
                "TensorFlow and needs it: pip install tensorflow. nas.SearchSpace and nas.build work on any "
                "Keras backend."
            ) from err
        return getattr(tensorflow, name)


tf = _TensorFlow()

__all__ = [
    "OPS",
    "NASNET_A",
    "ARCH_KEYS",
    "SearchSpace",
    "validate",
    "build",
    "scale",
    "to_json",
    "from_json",
    "Controller",
    "Trial",
    "SearchResult",
    "evaluate",
    "train_child",
    "accuracy",
    "search",
    "STRATEGIES",
    "cell_census",
    "loose_ends",
]

#: The operations a block can apply to each of its inputs (NASNet's list, shortened).
OPS: tuple[str, ...] = ("identity", "sep3x3", "sep5x5", "sep7x7", "avg3x3", "max3x3", "conv1x7_7x1")

#: Keys every architecture dict has.
ARCH_KEYS: tuple[str, ...] = ("normal", "reduction", "num_cells", "filters", "num_reductions")

#: Search strategies :func:`search` knows.
STRATEGIES: tuple[str, ...] = ("random", "rl", "evolution")

_CELLS = ("normal", "reduction")

# Children train for a few dozen steps only: a faster moving average lets batch norm's inference
# statistics catch up (Keras's default momentum 0.99 needs hundreds of steps).
_BN_MOMENTUM = 0.9


# --------------------------------------------------------------------------------------------
# architectures as data
# --------------------------------------------------------------------------------------------


def _positive_int(value: Any, arg: str, minimum: int = 1) -> int:
    return check.integer(value, arg, minimum=minimum)


def _check_ops(ops: Any, arg: str = "ops") -> tuple[str, ...]:
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        raise ValueError(f"{arg} must be a sequence of operation names from {OPS}, got {ops!r}")
    ops = tuple(ops)
    if not ops:
        raise ValueError(f"{arg} is empty: a search space needs at least one operation from {OPS}")
    unknown = [o for o in ops if o not in OPS]
    if unknown:
        raise ValueError(f"{arg} has unknown operation(s) {unknown}; known operations are {OPS}")
    if len(set(ops)) != len(ops):
        raise ValueError(f"{arg} lists an operation twice: {ops}")
    return ops


def validate(arch: Any, ops: Sequence[str] = OPS) -> dict[str, Any]:
    """Check an architecture dict and return a normalised deep copy (plain ints and strings).

    Args:
        arch: the architecture (see the module docstring for its shape).
        ops: the operations allowed (default: all of :data:`OPS`).

    Returns:
        A new dict with exactly the keys of :data:`ARCH_KEYS`.

    Raises:
        ValueError: a key is missing or unknown, a cell is not a non-empty list of blocks, the
            two cells have different numbers of blocks, a block input points at a hidden state that
            does not exist yet (a dangling index), an operation is not in ``ops``, or a size is not
            a positive int. The message names the place, e.g. ``arch['normal'][1]['inputs'][0]``.
    """
    ops = _check_ops(ops)
    if not isinstance(arch, Mapping):
        raise ValueError(f"arch must be a dict with keys {ARCH_KEYS}, got {type(arch).__name__}")
    missing = [k for k in ARCH_KEYS if k not in arch]
    if missing:
        raise ValueError(f"arch is missing key(s) {missing}; an architecture has keys {ARCH_KEYS}")
    extra = sorted(str(k) for k in arch if k not in ARCH_KEYS)
    if extra:
        raise ValueError(f"arch has unknown key(s) {extra}; an architecture has keys {ARCH_KEYS}")
    out: dict[str, Any] = {
        "num_cells": _positive_int(arch["num_cells"], "arch['num_cells']"),
        "filters": _positive_int(arch["filters"], "arch['filters']"),
        "num_reductions": _positive_int(arch["num_reductions"], "arch['num_reductions']", minimum=0),
    }
    for cell in _CELLS:
        blocks = arch[cell]
        where = f"arch[{cell!r}]"
        if isinstance(blocks, (str, Mapping)) or not isinstance(blocks, Sequence) or not blocks:
            raise ValueError(f"{where} must be a non-empty list of blocks, got {blocks!r}")
        norm = []
        for j, block in enumerate(blocks):
            bw = f"{where}[{j}]"
            if not isinstance(block, Mapping) or set(block) != {"inputs", "ops"}:
                raise ValueError(f"{bw} must be a dict with keys 'inputs' and 'ops', got {block!r}")
            ins, bops = block["inputs"], block["ops"]
            if isinstance(ins, str) or not isinstance(ins, Sequence) or len(ins) != 2:
                raise ValueError(f"{bw}['inputs'] must be a list of two hidden-state indices, got {ins!r}")
            if isinstance(bops, str) or not isinstance(bops, Sequence) or len(bops) != 2:
                raise ValueError(f"{bw}['ops'] must be a list of two operation names, got {bops!r}")
            for s in range(2):
                i = ins[s]
                if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
                    raise ValueError(f"{bw}['inputs'][{s}] must be an int, got {i!r}")
                if not 0 <= i < 2 + j:
                    earlier = ("" if j == 0 else ", 2 = the output of block 0" if j == 1
                               else f", 2..{1 + j} = the outputs of blocks 0..{j - 1}")
                    raise ValueError(
                        f"{bw}['inputs'][{s}] = {i} is a dangling input: block {j} can only read "
                        f"0..{1 + j} (0 = h[k-2], 1 = h[k-1]{earlier})"
                    )
                if bops[s] not in ops:
                    raise ValueError(f"{bw}['ops'][{s}] = {bops[s]!r} is an unknown operation; allowed: {ops}")
            norm.append({"inputs": [int(ins[0]), int(ins[1])], "ops": [str(bops[0]), str(bops[1])]})
        out[cell] = norm
    if len(out["normal"]) != len(out["reduction"]):
        raise ValueError(
            f"arch['normal'] has {len(out['normal'])} blocks but arch['reduction'] has "
            f"{len(out['reduction'])}; both cells must have the same number of blocks B"
        )
    return {k: out[k] for k in ARCH_KEYS}


def to_json(arch: Mapping[str, Any]) -> str:
    """The architecture as a JSON string (validated, keys sorted)."""
    return json.dumps(validate(arch), sort_keys=True)


def from_json(text: str) -> dict[str, Any]:
    """Parse and validate an architecture from a JSON string."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a JSON string, got {type(text).__name__}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"text is not valid JSON: {e}") from None
    return validate(data)


def scale(arch: Mapping[str, Any], *, num_cells: int | None = None, filters: int | None = None,
          num_reductions: int | None = None) -> dict[str, Any]:
    """The same cells in a network of another size (NASNet's ``N @ F`` scaling).

    Args:
        arch: an architecture.
        num_cells: new N (normal cells per stage); None keeps it.
        filters: new F; None keeps it.
        num_reductions: new number of reduction cells; None keeps it.
    """
    new = validate(arch)
    for key, value in (("num_cells", num_cells), ("filters", filters), ("num_reductions", num_reductions)):
        if value is not None:
            new[key] = value
    return validate(new)


def _used(blocks: Sequence[Mapping[str, Any]]) -> set[int]:
    return {i for b in blocks for i in b["inputs"]}


def loose_ends(blocks: Sequence[Mapping[str, Any]]) -> list[int]:
    """Hidden-state indices of the blocks of a cell that no other block consumes: the ones
    concatenated into the cell's output (block ``j`` is hidden state ``2 + j``)."""
    used = _used(blocks)
    return [2 + j for j in range(len(blocks)) if 2 + j not in used]


_loose_ends = loose_ends  # the former private name


# --------------------------------------------------------------------------------------------
# building the Keras model
# --------------------------------------------------------------------------------------------


def _conv_bn(x, filters: int, strides: int, name: str):
    x = layers.Conv2D(filters, 1, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    return layers.BatchNormalization(momentum=_BN_MOMENTUM, name=f"{name}_bn")(x)


def _apply_op(op: str, x, x_act, filters: int, strides: int, name: str):
    """One operation of a block, as NASNet applies it: activation -> conv -> batch norm.

    ``x`` is the hidden state and ``x_act`` its activation (computed once per hidden state and
    shared by every convolution that reads it; pooling and identity read ``x`` itself).
    """
    if op == "identity":
        if strides == 1:
            return x
        return _conv_bn(x_act(), filters, strides, name)  # stride-2 "identity": a 1x1 projection
    if op in ("sep3x3", "sep5x5", "sep7x7"):
        k = int(op[3])
        y = layers.SeparableConv2D(filters, k, strides=strides, padding="same", use_bias=False,
                                   name=f"{name}_sepconv")(x_act())
        return layers.BatchNormalization(momentum=_BN_MOMENTUM, name=f"{name}_bn")(y)
    if op == "avg3x3":
        return layers.AveragePooling2D(3, strides=strides, padding="same", name=f"{name}_avgpool")(x)
    if op == "max3x3":
        return layers.MaxPooling2D(3, strides=strides, padding="same", name=f"{name}_maxpool")(x)
    if op == "conv1x7_7x1":
        y = layers.Conv2D(filters, (1, 7), strides=(1, strides), padding="same", use_bias=False,
                          name=f"{name}_conv1x7")(x_act())
        y = layers.Conv2D(filters, (7, 1), strides=(strides, 1), padding="same", use_bias=False,
                          name=f"{name}_conv7x1")(y)
        return layers.BatchNormalization(momentum=_BN_MOMENTUM, name=f"{name}_bn")(y)
    raise ValueError(f"op {op!r} is unknown; known operations are {OPS}")  # validate() catches it first


def _cell(prev2, prev, blocks, filters: int, reduction: bool, activation: str, name: str):
    """One cell: bring both inputs to ``filters`` channels, run the blocks, concatenate loose ends."""
    # h[k-2] is twice as large as h[k-1] when a reduction cell sits between them.
    stride0 = 2 if prev2.shape[1] != prev.shape[1] else 1
    hidden = [
        _conv_bn(layers.Activation(activation, name=f"{name}_in0_act")(prev2), filters, stride0, f"{name}_in0"),
        _conv_bn(layers.Activation(activation, name=f"{name}_in1_act")(prev), filters, 1, f"{name}_in1"),
    ]
    acts: dict[int, Any] = {}

    def act_of(i: int):
        def get():
            if i not in acts:
                acts[i] = layers.Activation(activation, name=f"{name}_h{i}_act")(hidden[i])
            return acts[i]
        return get

    for j, block in enumerate(blocks):
        outs = []
        for s, (i, op) in enumerate(zip(block["inputs"], block["ops"])):
            strides = 2 if reduction and i < 2 else 1
            outs.append(_apply_op(op, hidden[i], act_of(i), filters, strides, f"{name}_b{j}_{'lr'[s]}_{op}"))
        hidden.append(layers.Add(name=f"{name}_b{j}_add")(outs))
    ends = [hidden[i] for i in loose_ends(blocks)]
    if len(ends) == 1:
        return ends[0]
    return layers.Concatenate(name=f"{name}_concat")(ends)


def build(
    arch: Mapping[str, Any],
    input_shape: Sequence[int] = (8, 8, 1),
    classes: int = 10,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    weights=None,
    name: str = "nas_child",
    *,
    activation: str = "relu",
    dropout: float = 0.0,
) -> keras.Model:
    """Build the Keras network an architecture describes.

    Stem (3x3 conv, F filters, batch norm) -> ``num_reductions + 1`` stages of ``num_cells``
    normal cells with a reduction cell (filters doubled) between stages -> activation -> global
    average pooling -> dropout -> softmax. Layer names depend only on the architecture, so the
    same dict always gives the same model config.

    Args:
        arch: an architecture dict (checked with :func:`validate`).
        input_shape: (height, width, channels).
        classes: number of classes.
        include_top: end with the classifier; otherwise end at the last cell (see ``pooling``).
        pooling: with ``include_top=False``: None (feature map), ``"avg"`` or ``"max"``.
        classifier_activation: activation of the last layer (None for logits).
        activation: activation used inside the cells (``"relu"`` as NASNet, or e.g. ``"swish"``).
        dropout: dropout rate before the classifier.
        weights: None, or the path of a ``.weights.h5`` file saved from the same architecture
            (searched children have no published weights).
        name: model name.

    Returns:
        An uncompiled ``keras.Model``.
    """
    arch = validate(arch)
    shape = check.input_shape(input_shape, min_side=2 ** arch["num_reductions"])
    classes = check.positive_int(classes, "classes")
    include_top = check.boolean(include_top, "include_top")
    pooling = check.pooling(pooling)
    weights = check.weights(weights)
    dropout = check.fraction(dropout, "dropout")
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(f"activation {activation!r} is not a Keras activation (e.g. 'relu', 'swish')") from None

    f = arch["filters"]
    inputs = keras.Input(shape=shape, name="image")
    x = layers.Conv2D(f, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(momentum=_BN_MOMENTUM, name="stem_bn")(x)
    prev2 = prev = x
    k = 0
    for stage in range(arch["num_reductions"] + 1):
        for _ in range(arch["num_cells"]):
            out = _cell(prev2, prev, arch["normal"], f, False, activation, f"cell{k}_normal")
            prev2, prev, k = prev, out, k + 1
        if stage < arch["num_reductions"]:
            f *= 2
            out = _cell(prev2, prev, arch["reduction"], f, True, activation, f"cell{k}_reduction")
            prev2, prev, k = prev, out, k + 1
    x = layers.Activation(activation, name="head_act")(prev)
    x = classifier_head(x, include_top=include_top, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, dropout=dropout, pool_name="gap")
    return load_weights(keras.Model(inputs, x, name=name), weights)


def cell_census(model: keras.Model) -> dict[str, int]:
    """Count what a NASNet-style Keras model is made of.

    Works on ``keras.applications.NASNetMobile`` / ``NASNetLarge`` (their cells end in
    ``normal_concat_*`` / ``reduction_concat_*`` layers) and on :func:`build`'s models (``*_concat``
    or single-output cells named ``cellK_normal`` / ``cellK_reduction``).

    Returns:
        ``normal_cells``, ``reduction_cells``, ``separable_convs``, ``adds``, ``layers`` and
        ``params``.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    names = [lay.name for lay in model.layers]
    if any(n.startswith("normal_concat") for n in names):  # keras.applications NASNet
        normal = sum(n.startswith("normal_concat") for n in names)
        reduction = sum(n.startswith("reduction_concat") for n in names)
    else:
        prefixes = {n.split("_")[0] + "_" + n.split("_")[1] for n in names
                    if n.startswith("cell") and n.count("_") >= 1}
        normal = sum(p.endswith("_normal") for p in prefixes)
        reduction = sum(p.endswith("_reduction") for p in prefixes)
    return {
        "normal_cells": normal,
        "reduction_cells": reduction,
        "separable_convs": sum(isinstance(lay, layers.SeparableConv2D) for lay in model.layers),
        "adds": sum(isinstance(lay, layers.Add) for lay in model.layers),
        "layers": len(model.layers),
        "params": int(model.count_params()),
    }


# --------------------------------------------------------------------------------------------
# the search space as a sequence of decisions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchSpace:
    """The cells a search may propose, as a sequence of categorical decisions.

    For each cell (normal, then reduction) and each block ``j``: input 1 (``2 + j`` choices),
    input 2 (``2 + j``), operation 1 (``len(ops)``), operation 2 (``len(ops)``) - the order in
    which NASNet's controller emits them. The network size (``num_cells``, ``filters``,
    ``num_reductions``) is fixed during a search and changed afterwards with :func:`scale`.

    Attributes:
        blocks: B, blocks per cell.
        ops: the operations allowed.
        num_cells: N of the child networks.
        filters: F of the child networks.
        num_reductions: reduction cells of the child networks.
    """

    blocks: int = 2
    ops: tuple[str, ...] = OPS
    num_cells: int = 1
    filters: int = 8
    num_reductions: int = 1

    def __post_init__(self):
        _positive_int(self.blocks, "blocks")
        object.__setattr__(self, "ops", _check_ops(self.ops))
        _positive_int(self.num_cells, "num_cells")
        _positive_int(self.filters, "filters")
        _positive_int(self.num_reductions, "num_reductions", minimum=0)

    def decisions(self) -> list[tuple[str, int]]:
        """``(label, number of choices)`` for every decision, in controller order."""
        out = []
        for cell in _CELLS:
            for j in range(self.blocks):
                out += [(f"{cell}.b{j}.input1", 2 + j), (f"{cell}.b{j}.input2", 2 + j),
                        (f"{cell}.b{j}.op1", len(self.ops)), (f"{cell}.b{j}.op2", len(self.ops))]
        return out

    def size(self) -> int:
        """How many distinct architectures (decision sequences) the space holds."""
        return math.prod(n for _, n in self.decisions())

    def decode(self, choices: Sequence[int]) -> dict[str, Any]:
        """Decision indices -> architecture dict."""
        dec = self.decisions()
        if len(choices) != len(dec):
            raise ValueError(f"choices must hold {len(dec)} decisions, got {len(choices)}")
        for c, (label, n) in zip(choices, dec):
            if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c < n:
                raise ValueError(f"choices: decision {label} must be an int in 0..{n - 1}, got {c!r}")
        arch: dict[str, Any] = {}
        it = iter(int(c) for c in choices)
        for cell in _CELLS:
            blocks = []
            for _ in range(self.blocks):
                i1, i2, o1, o2 = next(it), next(it), next(it), next(it)
                blocks.append({"inputs": [i1, i2], "ops": [self.ops[o1], self.ops[o2]]})
            arch[cell] = blocks
        arch.update(num_cells=self.num_cells, filters=self.filters, num_reductions=self.num_reductions)
        return validate(arch, self.ops)

    def encode(self, arch: Mapping[str, Any]) -> list[int]:
        """Architecture dict -> decision indices (the inverse of :meth:`decode`)."""
        arch = validate(arch, self.ops)
        if len(arch["normal"]) != self.blocks:
            raise ValueError(f"arch has {len(arch['normal'])} blocks per cell; this space has {self.blocks}")
        out = []
        for cell in _CELLS:
            for b in arch[cell]:
                out += [b["inputs"][0], b["inputs"][1], self.ops.index(b["ops"][0]), self.ops.index(b["ops"][1])]
        return out

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """A uniformly random architecture."""
        return self.decode([int(rng.integers(n)) for _, n in self.decisions()])

    def mutate(self, arch: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """Change one decision (chosen uniformly) to a different value - evolution's mutation."""
        choices = self.encode(arch)
        dec = self.decisions()
        movable = [t for t, (_, n) in enumerate(dec) if n > 1]
        if not movable:
            return self.decode(choices)
        t = movable[int(rng.integers(len(movable)))]
        new = int(rng.integers(dec[t][1] - 1))
        choices[t] = new if new < choices[t] else new + 1
        return self.decode(choices)


# --------------------------------------------------------------------------------------------
# the REINFORCE controller
# --------------------------------------------------------------------------------------------


class Controller:
    """An LSTM policy that emits the decisions of a :class:`SearchSpace` one after another.

    As in NAS (Zoph & Le, 2017): at step ``t`` the LSTM reads an embedding of the previous
    decision, a softmax head for decision ``t`` turns its hidden state into probabilities, and a
    choice is sampled. After the child network is trained, its validation accuracy ``R`` is the
    reward and the controller takes one gradient step on the REINFORCE loss (Williams, 1992)

    ``loss = -(R - b) * sum_t log p(a_t | a_<t) - entropy_weight * H``,

    where the baseline ``b`` is an exponential moving average of past rewards
    (``b <- decay * b + (1 - decay) * R``) that lowers the variance of the gradient estimate
    without biasing it, and ``H`` is the policy's entropy along the path (a bonus that keeps it
    from committing too early).

    The LSTM cell is written out (four gates from one matrix product), run eagerly: a controller
    step is a few hundred small ops, far cheaper than tracing a graph for it.

    Args:
        space: the search space.
        hidden: LSTM units.
        learning_rate: Adam learning rate of the controller.
        baseline_decay: decay of the moving-average baseline, in [0, 1).
        entropy_weight: weight of the entropy bonus, >= 0.
        seed: seeds the initial weights and the sampling.
    """

    def __init__(self, space: SearchSpace, *, hidden: int = 32, learning_rate: float = 0.05,
                 baseline_decay: float = 0.8, entropy_weight: float = 0.01, seed: int = 0):
        if not isinstance(space, SearchSpace):
            raise ValueError(f"space must be a SearchSpace, got {type(space).__name__}")
        hidden = _positive_int(hidden, "hidden")
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or learning_rate <= 0:
            raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
        if not isinstance(baseline_decay, (int, float)) or not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {baseline_decay!r}")
        if not isinstance(entropy_weight, (int, float)) or entropy_weight < 0:
            raise ValueError(f"entropy_weight must be >= 0, got {entropy_weight!r}")
        self.space = space
        self.decisions = space.decisions()
        self.hidden = hidden
        self.baseline_decay = float(baseline_decay)
        self.entropy_weight = float(entropy_weight)
        self.baseline: float | None = None
        self.rng = np.random.default_rng(seed)
        # Token 0 starts the sequence; choice c of decision t is token offset[t] + c.
        sizes = [n for _, n in self.decisions]
        self._offsets = (1 + np.concatenate([[0], np.cumsum(sizes)[:-1]])).astype(int).tolist()
        n_tokens = 1 + sum(sizes)
        init = np.random.default_rng(seed)

        def var(shape, name, zero=False):
            value = np.zeros(shape) if zero else init.uniform(-0.1, 0.1, size=shape)
            return keras.Variable(value.astype("float32"), name=name)

        self.embedding = var((n_tokens, hidden), "embedding")
        self.kernel = var((2 * hidden, 4 * hidden), "lstm_kernel")
        self.bias = var((4 * hidden,), "lstm_bias", zero=True)
        self.head_kernel = var((hidden, n_tokens - 1), "head_kernel")  # all softmax heads side by side
        self.head_bias = var((n_tokens - 1,), "head_bias", zero=True)
        self.optimizer = keras.optimizers.Adam(learning_rate)

    @property
    def trainable_weights(self) -> list:
        """The controller's variables."""
        return [self.embedding, self.kernel, self.bias, self.head_kernel, self.head_bias]

    def _lstm(self, x, h, c):
        """One LSTM step: input, forget, cell and output gates from one matrix product."""
        z = tf.matmul(tf.concat([x, h], axis=1), self.kernel) + self.bias
        i, f, g, o = tf.split(z, 4, axis=1)
        c = tf.sigmoid(f + 1.0) * c + tf.sigmoid(i) * tf.tanh(g)  # forget-gate bias 1
        return tf.sigmoid(o) * tf.tanh(c), c

    def _run(self, choices: Sequence[int] | None):
        """Unroll the LSTM; sample each decision (``choices=None``) or score the given ones.

        Returns:
            (the choices, list of per-decision log-probability vectors as tensors).
        """
        h = c = tf.zeros((1, self.hidden))
        token = 0
        taken, logps = [], []
        for t, (_, n) in enumerate(self.decisions):
            x = tf.gather(self.embedding, [token])
            h, c = self._lstm(x, h, c)
            lo = self._offsets[t] - 1
            logits = tf.matmul(h, self.head_kernel[:, lo:lo + n]) + self.head_bias[lo:lo + n]
            logp = tf.nn.log_softmax(logits[0])
            if choices is None:
                p = np.exp(logp.numpy().astype(np.float64))
                a = int(self.rng.choice(n, p=p / p.sum()))
            else:
                a = int(choices[t])
            taken.append(a)
            logps.append(logp)
            token = self._offsets[t] + a
        return taken, logps

    def sample(self) -> dict[str, Any]:
        """Sample an architecture from the current policy."""
        return self.space.decode(self._run(None)[0])

    def probabilities(self, arch: Mapping[str, Any]) -> list[np.ndarray]:
        """The policy's probabilities at every decision, along the path of ``arch``."""
        _, logps = self._run(self.space.encode(arch))
        return [np.exp(lp.numpy()) for lp in logps]

    def log_prob(self, arch: Mapping[str, Any]) -> float:
        """log p(arch) under the current policy."""
        choices = self.space.encode(arch)
        _, logps = self._run(choices)
        return float(sum(float(lp[a]) for lp, a in zip(logps, choices)))

    def entropy(self, arch: Mapping[str, Any]) -> float:
        """Sum of the per-decision entropies (nats) along the path of ``arch``; lower = more decided."""
        return float(sum(-(p * np.log(p)).sum() for p in self.probabilities(arch)))

    def update(self, arch: Mapping[str, Any], reward: float) -> float:
        """One REINFORCE step for a trained child; returns the advantage ``R - b`` it used.

        The baseline is the moving average *before* this reward (the first reward only sets it).
        """
        if isinstance(reward, bool) or not isinstance(reward, (int, float, np.floating)) or not np.isfinite(reward):
            raise ValueError(f"reward must be a finite number, got {reward!r}")
        choices = self.space.encode(arch)
        if self.baseline is None:
            self.baseline = float(reward)
        advantage = float(reward) - self.baseline
        weights = self.trainable_weights
        with tf.GradientTape() as tape:
            _, logps = self._run(choices)
            logp = tf.add_n([lp[a] for lp, a in zip(logps, choices)])
            entropy = tf.add_n([-tf.reduce_sum(tf.exp(lp) * lp) for lp in logps])
            loss = -advantage * logp - self.entropy_weight * entropy
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * float(reward)
        return advantage


# --------------------------------------------------------------------------------------------
# training children and searching
# --------------------------------------------------------------------------------------------


@dataclass
class Trial:
    """One child network of a search.

    Attributes:
        arch: its architecture dict.
        reward: its validation accuracy after the short training.
        params: its parameter count.
        seconds: wall time to build, train and evaluate it.
        baseline: the controller's moving-average baseline when it was rewarded (RL only).
    """

    arch: dict[str, Any]
    reward: float
    params: int
    seconds: float
    baseline: float | None = None


@dataclass
class SearchResult:
    """What :func:`search` returns: the strategy and the history of (architecture, reward)."""

    strategy: str
    space: SearchSpace
    history: list[Trial] = field(default_factory=list)
    seconds: float = 0.0
    controller: Controller | None = None

    @property
    def rewards(self) -> np.ndarray:
        """Rewards in the order the children were trained."""
        return np.array([t.reward for t in self.history], dtype=float)

    @property
    def best(self) -> Trial:
        """The child with the highest reward (the earliest one on ties)."""
        if not self.history:
            raise ValueError("the search has no trials")
        return self.history[int(np.argmax(self.rewards))]

    def running_best(self) -> np.ndarray:
        """Best reward so far after each child."""
        return np.maximum.accumulate(self.rewards)


def _check_data(data) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    msg = "data must be ((x_train, y_train), (x_val, y_val)) with images (N, H, W, C) and int labels (N,)"
    try:
        (xtr, ytr), (xva, yva) = data
    except (TypeError, ValueError):
        raise ValueError(msg) from None
    xtr, ytr, xva, yva = (check.array(a, n, numeric=False) for a, n in
                          ((xtr, "x_train"), (ytr, "y_train"), (xva, "x_val"), (yva, "y_val")))
    if xtr.ndim != 4 or xva.ndim != 4 or xtr.shape[1:] != xva.shape[1:]:
        raise ValueError(f"{msg}; got x shapes {xtr.shape} and {xva.shape}")
    if len(xtr) != len(ytr) or len(xva) != len(yva) or len(xtr) == 0 or len(xva) == 0:
        raise ValueError(f"{msg}; got {len(xtr)}/{len(ytr)} train and {len(xva)}/{len(yva)} validation items")
    for arg, x in (("x_train", xtr), ("x_val", xva)):
        check.array(x, arg, finite=True)
    ytr, yva = check.labels(ytr, "y_train"), check.labels(yva, "y_val")
    return (xtr, ytr), (xva, yva)


#: Children train with :func:`cnnbook.train.fast_fit` (the same function under its chapter-7 name).
train_child = fast_fit


def evaluate(
    arch: Mapping[str, Any],
    data,
    *,
    epochs: int = 2,
    batch_size: int = 64,
    learning_rate: float = 0.05,
    seed: int = 0,
    activation: str = "relu",
    verbose: int | None = None,
) -> Trial:
    """Train one child briefly and score it: the reward is its validation accuracy.

    Args:
        arch: the architecture.
        data: ``((x_train, y_train), (x_val, y_val))``.
        epochs: training epochs (the "short training" of every child).
        batch_size: batch size.
        learning_rate: the SGD learning rate (see :func:`train_child`).
        seed: seeds the initial weights and the batch order, so a child's reward repeats.
        activation: activation inside the cells.
        verbose: at 1 or 2, one line per training epoch (:func:`~cnnbook.train.fast_fit`'s) and
            one with the reward (``child: reward 0.812, 12,345 params, 3.1 s``), printed and
            flushed as they come; at 0 nothing. None (default) asks
            :func:`cnnbook.runtime.progress`: lines for a full-profile run at paper scale, nothing
            under the quick profile (the book build, the tests) or in a smoke run.

    Returns:
        A :class:`Trial`.

    Raises:
        ValueError: the architecture, the data or an argument is not valid (named in the message).
    """
    lines = resolve_verbose(verbose) > 0
    (xtr, ytr), (xva, yva) = _check_data(data)
    t0 = time.perf_counter()
    arch = validate(arch)
    classes = int(max(ytr.max(), yva.max())) + 1
    keras.utils.set_random_seed(int(seed))
    model = build(arch, input_shape=xtr.shape[1:], classes=classes, activation=activation)
    fast_fit(model, xtr, ytr, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
             verbose=int(lines))
    acc = accuracy(model, xva, yva, batch_size=1024)
    trial = Trial(arch=arch, reward=float(acc), params=int(model.count_params()), seconds=time.perf_counter() - t0)
    if lines:
        print(f"child: reward {trial.reward:.3f}, {trial.params:,} params, {trial.seconds:.1f} s", flush=True)
    return trial


def search(
    data,
    *,
    strategy: str = "rl",
    budget: int = 20,
    space: SearchSpace | None = None,
    epochs: int = 2,
    batch_size: int = 64,
    learning_rate: float = 0.05,
    seed: int = 0,
    controller_options: Mapping[str, Any] | None = None,
    population: int = 8,
    sample_size: int = 3,
    max_seconds: float | None = None,
    callback: Callable[[int, Trial], None] | None = None,
    verbose: int | None = None,
) -> SearchResult:
    """Search the cell space: propose ``budget`` children, train each briefly, keep the history.

    Strategies:

    * ``"random"``: every child is drawn uniformly from the space.
    * ``"rl"``: a :class:`Controller` samples each child and takes a REINFORCE step on its reward
      with a moving-average baseline (NAS / NASNet).
    * ``"evolution"``: regularised (ageing) evolution: ``population`` random children, then
      repeatedly pick ``sample_size`` members at random, mutate the best of them (one decision
      changed), train the mutant and drop the *oldest* member.

    Args:
        data: ``((x_train, y_train), (x_val, y_val))``; the reward is validation accuracy.
        strategy: one of :data:`STRATEGIES`.
        budget: number of child networks to train (>= 1).
        space: the search space (default ``SearchSpace()``).
        epochs: training epochs per child.
        batch_size: batch size of the children.
        learning_rate: the children's SGD learning rate.
        seed: seeds the strategy (sampling, controller weights); child ``i`` is trained with seed
            ``seed + i``.
        controller_options: keyword arguments for :class:`Controller` (``hidden``,
            ``learning_rate``, ``baseline_decay``, ``entropy_weight``).
        population: evolution's population size.
        sample_size: evolution's tournament size.
        max_seconds: stop proposing children once this much wall time has passed.
        callback: called as ``callback(i, trial)`` after every child.
        verbose: at 1 or 2, one line per child as it is scored
            (``child 7/100 (rl): reward 0.812 (best 0.845), 3.1 s, 41.0 s in all``) and one at the
            end, printed and flushed as they come; at 0 nothing. None (default) asks
            :func:`cnnbook.runtime.progress`: lines for a full-profile run at paper scale, nothing
            under the quick profile (the book build, the tests) or in a smoke run.

    Returns:
        A :class:`SearchResult` whose ``history`` holds one :class:`Trial` per child.

    Raises:
        ValueError: an argument is not valid (named in the message).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    budget = _positive_int(budget, "budget")
    _positive_int(epochs, "epochs")
    lines = resolve_verbose(verbose) > 0
    space = SearchSpace() if space is None else space
    if not isinstance(space, SearchSpace):
        raise ValueError(f"space must be a SearchSpace, got {type(space).__name__}")
    if max_seconds is not None and (not isinstance(max_seconds, (int, float)) or max_seconds <= 0):
        raise ValueError(f"max_seconds must be a positive number or None, got {max_seconds!r}")
    if strategy == "evolution":
        _positive_int(population, "population")
        _positive_int(sample_size, "sample_size")
        if sample_size > population:
            raise ValueError(f"sample_size ({sample_size}) must not exceed population ({population})")
    options = dict(controller_options or {})
    unknown = sorted(set(options) - {"hidden", "learning_rate", "baseline_decay", "entropy_weight"})
    if unknown:
        raise ValueError(f"controller_options has unknown key(s) {unknown}; allowed: hidden, learning_rate, "
                         "baseline_decay, entropy_weight")
    data = _check_data(data)

    rng = np.random.default_rng(seed)
    controller = Controller(space, seed=seed, **options) if strategy == "rl" else None
    result = SearchResult(strategy=strategy, space=space, controller=controller)
    alive: list[Trial] = []  # evolution's population, oldest first
    t0 = time.perf_counter()
    for i in range(budget):
        if max_seconds is not None and i > 0 and time.perf_counter() - t0 >= max_seconds:
            break
        if strategy == "random":
            arch = space.sample(rng)
        elif strategy == "rl":
            arch = controller.sample()
        elif len(alive) < population:
            arch = space.sample(rng)
        else:
            picks = rng.choice(len(alive), size=sample_size, replace=False)
            parent = max((alive[int(p)] for p in picks), key=lambda t: t.reward)
            arch = space.mutate(parent.arch, rng)
        trial = evaluate(arch, data, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                         seed=seed + i, verbose=0)
        if controller is not None:
            trial.baseline = controller.baseline
            controller.update(trial.arch, trial.reward)
        if strategy == "evolution":
            alive.append(trial)
            if len(alive) > population:
                alive.pop(0)
        result.history.append(trial)
        if lines:
            best = max(t.reward for t in result.history)
            print(f"child {i + 1}/{budget} ({strategy}): reward {trial.reward:.3f} (best {best:.3f}), "
                  f"{trial.seconds:.1f} s, {time.perf_counter() - t0:.1f} s in all", flush=True)
        if callback is not None:
            callback(i, trial)
    result.seconds = time.perf_counter() - t0
    if lines:
        top = int(np.argmax(result.rewards))
        print(f"{strategy} search: {len(result.history)} of {budget} children in {result.seconds:.1f} s, "
              f"best reward {result.history[top].reward:.3f} (child {top + 1})", flush=True)
    return result


# --------------------------------------------------------------------------------------------
# NASNet-A, the paper's searched cells
# --------------------------------------------------------------------------------------------

#: NASNet-A's normal and reduction cells (Zoph et al., 2018, Fig. 4 and appendix A.1), the cells of
#: ``keras.applications.NASNetMobile`` / ``NASNetLarge``, written in this module's format and sized
#: as the paper's CIFAR-10 network ``6 @ 768``: N = 6 normal cells per stage, two reduction cells,
#: and F = 768 / 24 = 32 filters in the first stage (the paper's F counts the 6 x 4F = 24F channels
#: of the last cell). Hidden state 0 is ``h[k-2]``, 1 is ``h[k-1]``.
#:
#: Every operation is in :data:`OPS`. Three things differ from the paper's implementation, which
#: :func:`build` does not reproduce: NASNet applies each separable convolution twice in a row (ReLU,
#: sep. conv, BN, ReLU, sep. conv, BN); its normal cell also concatenates its input ``h[k-2]`` into
#: the output (6 x F channels instead of 5 x F) and its reduction cell also concatenates block 1,
#: which block 3 reads (4 x F instead of 3 x F); and it projects ``h[k-2]`` only when its shape
#: differs. So ``build(NASNET_A)`` has the same cells but fewer parameters than the paper's network.
NASNET_A: dict[str, Any] = {
    "normal": [
        {"inputs": [1, 0], "ops": ["sep5x5", "sep3x3"]},
        {"inputs": [0, 0], "ops": ["sep5x5", "sep3x3"]},
        {"inputs": [1, 0], "ops": ["avg3x3", "identity"]},
        {"inputs": [0, 0], "ops": ["avg3x3", "avg3x3"]},
        {"inputs": [1, 1], "ops": ["sep3x3", "identity"]},
    ],
    "reduction": [
        {"inputs": [1, 0], "ops": ["sep5x5", "sep7x7"]},
        {"inputs": [1, 0], "ops": ["max3x3", "sep7x7"]},
        {"inputs": [1, 0], "ops": ["avg3x3", "sep5x5"]},
        {"inputs": [3, 2], "ops": ["identity", "avg3x3"]},
        {"inputs": [2, 1], "ops": ["sep3x3", "max3x3"]},
    ],
    "num_cells": 6,
    "filters": 32,
    "num_reductions": 2,
}
