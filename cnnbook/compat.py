"""Every use of a private Keras (or TensorFlow) internal in cnnbook, in one place.

The rest of the package uses public APIs only. Where Keras offers no public way, the package
calls a function of this module, and each function here names the internal it relies on. They
were written against the Keras versions in :data:`SUPPORTED` (the range ``pyproject.toml`` pins);
``tests/test_compat.py`` checks every one of them, so a Keras release that moves or changes an
internal fails that test loudly instead of breaking a reader's notebook quietly.

==============================  ============================================================  =====================
function                        private internal                                              why there is no public way
==============================  ============================================================  =====================
:func:`keras_home`              ``keras.src.backend.config.keras_home``                       the cache folder Keras resolved at import
:func:`seed_generator_states`   ``Layer._flatten_layers``, ``Layer._seed_generators``         dropout/augmentation RNG state (resume)
:func:`layer_calls`             ``Operation._inbound_nodes``                                  every call of a shared layer (multiply-adds)
:func:`producer`                ``KerasTensor._keras_history``                                the layer that made a symbolic tensor
:func:`in_multi_worker_mode`    ``tf.distribute`` ``extended._in_multi_worker_mode``          is the strategy multi-worker
:func:`fit_multi_worker`        ``Model._symbolic_build``, ``Model._distribute_strategy``,    keras-team/keras#20585 (multi-worker fit)
                                ``keras.src.backend.tensorflow.trainer.reduce_per_replica``
==============================  ============================================================  =====================
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = [
    "SUPPORTED",
    "keras_version",
    "supported",
    "check",
    "keras_home",
    "seed_generator_states",
    "layer_calls",
    "producer",
    "in_multi_worker_mode",
    "fit_multi_worker",
]

#: The Keras versions these internals were checked against: ``(lowest, first unsupported)``
#: as ``(major, minor)``; the same range as ``keras>=3.15,<3.16`` in ``pyproject.toml``.
SUPPORTED: tuple[tuple[int, int], tuple[int, int]] = ((3, 15), (3, 16))


def keras_version() -> tuple[int, int]:
    """The installed Keras's ``(major, minor)``."""
    import keras

    major, minor = keras.__version__.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def supported() -> bool:
    """True when the installed Keras is in :data:`SUPPORTED`."""
    low, high = SUPPORTED
    return low <= keras_version() < high


def _broken(what: str, err: Exception | None = None) -> RuntimeError:
    import keras

    low, high = SUPPORTED
    detail = f" ({type(err).__name__}: {err})" if err is not None else ""
    return RuntimeError(
        f"cnnbook relies on a Keras internal that this Keras ({keras.__version__}) does not have: "
        f"{what}{detail}. cnnbook supports Keras >={low[0]}.{low[1]},<{high[0]}.{high[1]}; install "
        f"a Keras in that range (pip install 'keras>={low[0]}.{low[1]},<{high[0]}.{high[1]}')."
    )


def keras_home() -> Path:
    """The folder Keras keeps its caches in (``$KERAS_HOME``, default ``~/.keras``), as Keras
    resolved it at import (it falls back to ``/tmp/.keras`` when the home folder is not writable).

    Internal: ``keras.src.backend.config.keras_home``. Without it, the rule Keras documents is
    applied (``KERAS_HOME``, else ``~/.keras``).
    """
    try:
        from keras.src.backend.config import keras_home as private_keras_home

        return Path(private_keras_home())
    except ImportError:  # pragma: no cover - a Keras without the accessor
        return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))


def seed_generator_states(model) -> list:
    """The state variables of every ``keras.random.SeedGenerator`` in ``model`` (the random
    masks of ``Dropout``, the random augmentation layers), each once, in layer order.

    Internals: ``Layer._flatten_layers(include_self=True)`` and ``Layer._seed_generators``.
    """
    try:
        layers = list(model._flatten_layers(include_self=True))
    except AttributeError as err:
        raise _broken("Layer._flatten_layers", err) from None
    seen, states = set(), []
    for layer in layers:
        for sg in getattr(layer, "_seed_generators", []):
            if id(sg.state) not in seen:
                seen.add(id(sg.state))
                states.append(sg.state)
    return states


def layer_calls(layer) -> list[tuple[Any, Any]]:
    """``(inputs, outputs)`` of every call of ``layer`` in the graphs it belongs to (a shared
    layer has several). A single tensor stands alone; several come as a list.

    Public Keras gives only the first call (``layer.input`` / ``layer.output``). Internal:
    ``Operation._inbound_nodes`` and each node's ``input_tensors`` / ``output_tensors``.
    """
    try:
        nodes = layer._inbound_nodes
    except AttributeError as err:
        raise _broken("Operation._inbound_nodes", err) from None
    calls = []
    for node in nodes:
        ins, outs = list(node.input_tensors), list(node.output_tensors)
        calls.append((ins[0] if len(ins) == 1 else ins, outs[0] if len(outs) == 1 else outs))
    return calls


def producer(tensor):
    """The layer (operation) whose call produced the symbolic ``tensor``.

    Internal: ``KerasTensor._keras_history.operation``.
    """
    try:
        return tensor._keras_history.operation
    except AttributeError as err:
        raise _broken("KerasTensor._keras_history", err) from None


def in_multi_worker_mode(strategy) -> bool:
    """True for a ``tf.distribute`` strategy that spans several workers (machines).

    Internal: ``strategy.extended._in_multi_worker_mode()`` (TensorFlow).
    """
    extended = getattr(strategy, "extended", None)
    return bool(getattr(extended, "_in_multi_worker_mode", lambda: False)())


def fit_multi_worker(model, strategy, data, kwargs: dict):
    """``model.fit(**kwargs)`` under ``MultiWorkerMirroredStrategy``.

    Keras 3 builds a model that was created in a strategy's scope from a first batch that it
    averages over the replicas with ``strategy.reduce``; under the multi-worker strategy that
    eager cross-worker reduce fails (keras-team/keras#20585). The build needs only the shapes, so
    it is done here from one local example (``Model._symbolic_build``), and ``fit`` runs inside
    the strategy's scope with ``Model._distribute_strategy`` cleared, where Keras finds the
    strategy without that step. Keras then averages each replica's scalar logs with
    ``strategy.reduce(..., axis=0)``, which a scalar does not have under this strategy; scalars
    are averaged over all replicas (``axis=None``) by a replacement of
    ``keras.src.backend.tensorflow.trainer.reduce_per_replica`` for the duration of the call.
    """
    import keras
    import tensorflow as tf

    try:
        from keras.src.backend.tensorflow import trainer as tf_trainer

        original = tf_trainer.reduce_per_replica
        symbolic_build = model._symbolic_build
        saved = model._distribute_strategy
    except (ImportError, AttributeError) as err:
        raise _broken("Model._symbolic_build / trainer.reduce_per_replica", err) from None

    if isinstance(data, tuple):
        sample = (tf.convert_to_tensor(data[0][:1]), tf.convert_to_tensor(data[1][:1]))
    else:
        sample = next(iter(data.take(1)))
    with strategy.scope():
        symbolic_build(data_batch=sample)

    def reduce_per_replica(values, strat, reduction):
        def one(v):
            if reduction in ("auto", "mean") and getattr(v, "shape", None) is not None and v.shape.rank == 0:
                return strat.reduce("MEAN", v, axis=None)
            return original(v, strat, reduction)

        return keras.tree.map_structure(one, values)

    model._distribute_strategy = None
    tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        with strategy.scope():
            return model.fit(**kwargs)
    finally:
        model._distribute_strategy = saved
        tf_trainer.reduce_per_replica = original


def check() -> list[str]:
    """What of the above this Keras lacks: a list of problems (empty when all is well).

    Builds two tiny models and exercises every internal the module relies on. Used by
    ``tests/test_compat.py``; cheap enough (well under a second) to call anywhere.
    """
    import inspect

    import keras

    problems = []
    low, high = SUPPORTED
    if not supported():
        problems.append(f"Keras {keras.__version__} is outside the supported range "
                        f">={low[0]}.{low[1]},<{high[0]}.{high[1]}")
    try:
        from keras.src.backend.config import keras_home as private_keras_home

        if not isinstance(private_keras_home(), str):
            problems.append("keras.src.backend.config.keras_home() no longer returns a path string")
    except ImportError:
        problems.append("keras.src.backend.config.keras_home is gone")
    inputs = keras.Input((4,))
    shared = keras.layers.Dense(4, name="shared")
    hidden = keras.layers.Dropout(0.5, seed=1, name="drop")(shared(inputs))
    out = shared(hidden)
    model = keras.Model(inputs, out)
    try:
        states = seed_generator_states(model)
        if len(states) != 1:
            problems.append(f"seed_generator_states found {len(states)} SeedGenerator states in a model "
                            "with one Dropout (Layer._seed_generators changed)")
    except RuntimeError as err:
        problems.append(str(err))
    try:
        calls = layer_calls(shared)
        if len(calls) != 2 or calls[1][1] is not out:
            problems.append("layer_calls: Operation._inbound_nodes no longer lists every call with its tensors")
    except RuntimeError as err:
        problems.append(str(err))
    try:
        if producer(hidden) is not model.get_layer("drop"):
            problems.append("producer: KerasTensor._keras_history.operation is not the producing layer")
    except RuntimeError as err:
        problems.append(str(err))
    if not callable(getattr(model, "_symbolic_build", None)):
        problems.append("Model._symbolic_build is gone")
    elif "data_batch" not in inspect.signature(model._symbolic_build).parameters:
        problems.append("Model._symbolic_build no longer takes data_batch")
    if not hasattr(model, "_distribute_strategy"):
        problems.append("Model._distribute_strategy is gone")
    try:
        from keras.src.backend.tensorflow import trainer as tf_trainer

        params = list(inspect.signature(tf_trainer.reduce_per_replica).parameters)
        if params != ["values", "strategy", "reduction"]:
            problems.append(f"trainer.reduce_per_replica takes {params}, not (values, strategy, reduction)")
    except (ImportError, AttributeError):
        problems.append("keras.src.backend.tensorflow.trainer.reduce_per_replica is gone")
    try:  # set_random_seed (TensorFlow's eager context, not Keras)
        from tensorflow.python.eager import context as tf_context

        source = inspect.getsource(tf_context.Context._set_global_seed)
        if "self._seed = seed" not in source or "self._rng = random.Random(" not in source:
            problems.append("set_random_seed: tensorflow's Context._set_global_seed no longer sets _seed/_rng")
    except ImportError:  # no TensorFlow: set_random_seed is keras.utils.set_random_seed
        pass
    return problems


def set_random_seed(seed: int) -> None:
    """``keras.utils.set_random_seed(seed)``, without flushing TensorFlow's kernel cache when
    TensorFlow's global seed already is ``seed``.

    ``tf.random.set_seed`` empties the eager kernel cache every time (to restart stateful random
    kernels); the next training steps then rebuild every kernel, about 0.1 s of CPU per
    ``cnnbook.train.fit`` call on a small model (benchmarks.basics.fit_overhead). Keras 3 draws all
    its randomness with stateless ops, so when the seed is unchanged only TensorFlow's op-seed
    sequence is restarted, as ``set_seed`` does, and the cached kernels are kept.

    Internals: ``tensorflow.python.eager.context.context()._seed`` and ``._rng``. Without them, or
    with another seed, this is ``keras.utils.set_random_seed`` itself.
    """
    import random
    import sys

    import keras

    tf = sys.modules.get("tensorflow")
    ctx = None
    if tf is not None:
        try:
            from tensorflow.python.eager import context as tf_context

            ctx = tf_context.context()
            if not (tf.executing_eagerly() and getattr(ctx, "_seed", None) == seed and hasattr(ctx, "_rng")):
                ctx = None
        except Exception:  # pragma: no cover - another TensorFlow layout
            ctx = None
    if ctx is None:
        keras.utils.set_random_seed(seed)
        return
    original = tf.random.set_seed

    def restart_op_seeds(value):
        ctx._rng = random.Random(value)  # what context._set_global_seed does, minus the cache flush

    tf.random.set_seed = restart_op_seeds
    try:
        keras.utils.set_random_seed(seed)
    finally:
        tf.random.set_seed = original


def tensorflow(what: str):
    """The ``tensorflow`` module, for a part of cnnbook that exists to show TensorFlow (or runs on it
    only); without TensorFlow an ImportError that names ``what`` and the way out.

    Under ``KERAS_BACKEND=jax`` or ``torch`` without TensorFlow installed, the rest of the package works.
    """
    try:
        import tensorflow as tf
    except ImportError as err:
        raise ImportError(
            f"{what} needs TensorFlow (pip install tensorflow; the versions are in constraints.txt). "
            "The model builders, cnnbook.layers, nas.build, data.load, train.fit and the counting "
            "helpers run on any Keras backend; on JAX use keras.distribution.DataParallel for several "
            "devices."
        ) from err
    return tf
