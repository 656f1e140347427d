"""Argument checks shared by the whole package: one rule per kind of argument.

Every public function of ``cnnbook`` checks what it is given with these helpers before any work
starts, so the same mistake gets the same message everywhere. A message names the argument, says
what was expected and shows what was received::

    >>> positive_int(0, "classes")
    Traceback (most recent call last):
    ValueError: classes must be a positive int, got 0

The rules:

- ``bool`` is not an int (``True`` is not 1 class); NumPy integers (``np.int64(3)``) are ints.
- A number is an ``int``/``float`` or a NumPy number, not a ``bool``; NaN and infinity are refused
  unless asked for.
- A wrong *type* raises :class:`ArgumentTypeError`, which is both a ``TypeError`` and a
  ``ValueError`` (so ``except ValueError`` keeps working); a wrong *value* raises ``ValueError``.

Each helper returns the value normalised (a plain ``int``, ``float``, ``tuple`` or NumPy array),
so a caller writes ``classes = positive_int(classes, "classes")`` and goes on.
"""

from __future__ import annotations

import difflib
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ArgumentTypeError",
    "describe",
    "is_int",
    "is_number",
    "integer",
    "positive_int",
    "non_negative_int",
    "number",
    "positive_number",
    "fraction",
    "boolean",
    "choice",
    "pooling",
    "POOLINGS",
    "input_shape",
    "int_sequence",
    "array",
    "finite",
    "labels",
    "same_length",
    "existing_file",
    "weights",
    "keras_model",
    "unknown_keys",
    "describe_model_file",
    "model_inputs",
]

#: What ``pooling`` may be in every builder (as in keras.applications).
POOLINGS: tuple[None, str, str] = (None, "avg", "max")


class ArgumentTypeError(ValueError, TypeError):
    """An argument of the wrong type: both a ``TypeError`` and a ``ValueError``."""


def describe(value: Any, limit: int = 60) -> str:
    """A short description of a received value for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    if isinstance(value, (str, bytes, bool, int, float, tuple, list, type(None))):
        return text
    return f"{text} ({type(value).__name__})"


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, False for ``bool`` and everything else."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_number(value: Any) -> bool:
    """True for real numbers (int, float, NumPy numbers), False for ``bool``."""
    return isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_)) \
        and not isinstance(value, np.complexfloating)


def _none_ok(allow_none: bool) -> str:
    return " or None" if allow_none else ""


def integer(value: Any, arg: str, *, minimum: int | None = None, maximum: int | None = None,
            allow_none: bool = False) -> int | None:
    """An int in ``[minimum, maximum]`` (either bound optional); returns a plain ``int``.

    Message: ``"{arg} must be an int >= {minimum}, got {value}"`` (or ``in a..b``).
    """
    if value is None and allow_none:
        return None
    if minimum is not None and maximum is not None:
        want = f"an int in {minimum}..{maximum}"
    elif minimum is not None:
        want = f"an int >= {minimum}"
    elif maximum is not None:
        want = f"an int <= {maximum}"
    else:
        want = "an int"
    if not is_int(value):
        raise ArgumentTypeError(f"{arg} must be {want}{_none_ok(allow_none)}, got {describe(value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{arg} must be {want}{_none_ok(allow_none)}, got {describe(value)}")
    return int(value)


def positive_int(value: Any, arg: str, *, allow_none: bool = False) -> int | None:
    """An int >= 1 (``bool`` refused, NumPy ints accepted); returns a plain ``int``.

    Message: ``"{arg} must be a positive int, got {value}"``.
    """
    if value is None and allow_none:
        return None
    if not is_int(value):
        raise ArgumentTypeError(f"{arg} must be a positive int{_none_ok(allow_none)}, got {describe(value)}")
    if value < 1:
        raise ValueError(f"{arg} must be a positive int{_none_ok(allow_none)}, got {describe(value)}")
    return int(value)


def non_negative_int(value: Any, arg: str, *, allow_none: bool = False) -> int | None:
    """An int >= 0 such as a seed. Message: ``"{arg} must be a non-negative int, got {value}"``."""
    if value is None and allow_none:
        return None
    if not is_int(value):
        raise ArgumentTypeError(f"{arg} must be a non-negative int{_none_ok(allow_none)}, got {describe(value)}")
    if value < 0:
        raise ValueError(f"{arg} must be a non-negative int{_none_ok(allow_none)}, got {describe(value)}")
    return int(value)


def number(value: Any, arg: str, *, minimum: float | None = None, maximum: float | None = None,
           include_min: bool = True, include_max: bool = True, finite: bool = True,
           allow_none: bool = False) -> float | None:
    """A real number in a range (NaN and infinity refused when ``finite``); returns a ``float``.

    Args:
        value: what was passed.
        arg: the argument's name, for the message.
        minimum, maximum: bounds (None: unbounded).
        include_min, include_max: whether the bounds themselves are allowed.
        finite: refuse NaN and infinity.
        allow_none: let None through (returned as None).
    """
    if value is None and allow_none:
        return None
    lo = "" if minimum is None else f"{'[' if include_min else '('}{minimum:g}"
    hi = "" if maximum is None else f"{maximum:g}{']' if include_max else ')'}"
    if minimum is not None and maximum is not None:
        want = f"a number in {lo}, {hi}"
    elif minimum is not None:
        want = f"a number {'>=' if include_min else '>'} {minimum:g}"
    elif maximum is not None:
        want = f"a number {'<=' if include_max else '<'} {maximum:g}"
    else:
        want = "a finite number" if finite else "a number"
    if not is_number(value):
        raise ArgumentTypeError(f"{arg} must be {want}{_none_ok(allow_none)}, got {describe(value)}")
    v = float(value)
    if finite and not np.isfinite(v):
        raise ValueError(f"{arg} must be {want} (finite){_none_ok(allow_none)}, got {describe(value)}")
    if minimum is not None and (v < minimum or (v == minimum and not include_min)):
        raise ValueError(f"{arg} must be {want}{_none_ok(allow_none)}, got {describe(value)}")
    if maximum is not None and (v > maximum or (v == maximum and not include_max)):
        raise ValueError(f"{arg} must be {want}{_none_ok(allow_none)}, got {describe(value)}")
    return v


def positive_number(value: Any, arg: str, *, allow_none: bool = False) -> float | None:
    """A finite number > 0. Message: ``"{arg} must be a positive number, got {value}"``."""
    if value is None and allow_none:
        return None
    if not is_number(value) or not np.isfinite(float(value)) or float(value) <= 0:
        err = ArgumentTypeError if not is_number(value) else ValueError
        raise err(f"{arg} must be a positive number{_none_ok(allow_none)}, got {describe(value)}")
    return float(value)


def fraction(value: Any, arg: str, *, include_one: bool = False) -> float:
    """A number in [0, 1) (or [0, 1] with ``include_one``), e.g. a dropout rate.

    Message: ``"{arg} must be in [0, 1), got {value}"``.
    """
    interval = "[0, 1]" if include_one else "[0, 1)"
    if not is_number(value):
        raise ArgumentTypeError(f"{arg} must be in {interval}, got {describe(value)}")
    v = float(value)
    if not (0.0 <= v < 1.0 or (include_one and v == 1.0)):
        raise ValueError(f"{arg} must be in {interval}, got {describe(value)}")
    return v


def boolean(value: Any, arg: str) -> bool:
    """``True`` or ``False`` (NumPy booleans accepted; 0/1 and strings refused)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{arg} must be True or False, got {describe(value)}")
    return bool(value)


def choice(value: Any, arg: str, options: Iterable[Any]) -> Any:
    """One of ``options`` (compared with ``==``; ``True`` never matches ``1``).

    The message lists the options and suggests the closest one for a misspelt string::

        shortcut must be one of 'A', 'B', 'C', got 'D'
    """
    options = list(options)
    for option in options:
        if type(value) is type(option) or (is_int(value) and is_int(option)) or option is None:
            if value == option:
                return option
    listed = ", ".join(repr(o) for o in options)
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, [o for o in options if isinstance(o, str)], n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"{arg} must be one of {listed}, got {describe(value)}{hint}")


def pooling(value: Any, arg: str = "pooling") -> str | None:
    """None, ``"avg"`` or ``"max"``. Message: ``"pooling must be None, 'avg' or 'max', got ..."``."""
    if value is None or (isinstance(value, str) and value in ("avg", "max")):
        return value
    raise ValueError(f"{arg} must be None, 'avg' or 'max', got {describe(value)}")


def input_shape(value: Any, arg: str = "input_shape", *, min_side: int = 1, allow_none: bool = False,
                channels: int | Sequence[int] | None = None) -> tuple:
    """A channels-last image shape ``(height, width, channels)`` of ints.

    Args:
        value: what was passed (any sequence of three ints; NumPy ints accepted).
        arg: the argument's name.
        min_side: the smallest height and width the network accepts (its total stride).
        allow_none: let height and width be None (a model for any image size).
        channels: the channel count(s) allowed, or None for any.

    Returns:
        The shape as a tuple of ints (None where allowed).

    Raises:
        ArgumentTypeError: not a sequence of ints (floats such as ``28.9`` and strings such as
            ``"883"`` are refused).
        ValueError: not three entries, a side below ``min_side``, or channels not allowed.
    """
    want = f"{arg} must be (height, width, channels) of positive ints"
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ArgumentTypeError(f"{arg} must be (height, width, channels), a tuple of ints, got {describe(value)}")
    items = list(value)
    if len(items) != 3:
        raise ValueError(f"{arg} must be (height, width, channels), 3 entries, got {describe(value)}")
    shape: list[int | None] = []
    for i, s in enumerate(items):
        if s is None and allow_none and i < 2:
            shape.append(None)
            continue
        if s is None:
            raise ValueError(f"{want}, got {describe(value)}: this needs a fixed height, width and channels")
        if not is_int(s):
            extra = " or None for height/width" if allow_none else ""
            raise ArgumentTypeError(f"{want}{extra}, got {describe(value)}")
        if s < 1:
            raise ValueError(f"{want}, got {describe(value)}")
        shape.append(int(s))
    if channels is not None:
        allowed = (channels,) if is_int(channels) else tuple(channels)
        if shape[2] not in allowed:
            listed = " or ".join(str(c) for c in allowed)
            raise ValueError(f"{arg} must have {listed} channels, got {describe(value)}")
    for side in shape[:2]:
        if side is not None and side < min_side:
            raise ValueError(f"{arg} needs height and width of at least {min_side}, got {describe(value)}")
    return tuple(shape)


def int_sequence(value: Any, arg: str, *, length: int | None = None, minimum: int = 1,
                 non_empty: bool = True) -> tuple[int, ...]:
    """A sequence of ints >= ``minimum`` (of exactly ``length`` entries when given)."""
    if length is not None:
        size = f"{length} "
    else:
        size = "a non-empty sequence of " if non_empty else "a sequence of "
    want = f"{arg} must be {size}ints >= {minimum}"
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ArgumentTypeError(f"{want}, got {describe(value)}")
    items = list(value)
    if (length is not None and len(items) != length) or (non_empty and not items):
        raise ValueError(f"{want}, got {describe(value)}")
    if not all(is_int(v) for v in items):
        raise ArgumentTypeError(f"{want}, got {describe(value)}")
    if any(v < minimum for v in items):
        raise ValueError(f"{want}, got {describe(value)}")
    return tuple(int(v) for v in items)


def array(value: Any, arg: str, *, ndim: int | Sequence[int] | None = None, numeric: bool = True,
          finite: bool = False, min_len: int = 0, dtype: Any = None) -> np.ndarray:
    """``np.asarray(value)`` checked: rank, numbers only, not empty, finite values.

    Args:
        value: array-like.
        arg: the argument's name.
        ndim: the allowed rank(s).
        numeric: refuse non-numeric dtypes (strings, objects).
        finite: refuse NaN and infinity (the message counts them).
        min_len: the smallest length of the first axis.
        dtype: convert to this dtype after the checks.
    """
    try:
        a = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise ArgumentTypeError(f"{arg} must be an array, got {describe(value)} ({err})") from None
    if ndim is not None:
        allowed = (ndim,) if is_int(ndim) else tuple(ndim)
        if a.ndim not in allowed:
            listed = " or ".join(str(n) for n in allowed)
            raise ValueError(f"{arg} must be a {listed}-D array, got shape {a.shape}")
    if numeric and not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise ArgumentTypeError(f"{arg} must hold numbers, got dtype {a.dtype}")
    if min_len and (a.ndim == 0 or len(a) < min_len):
        raise ValueError(f"{arg} must hold at least {min_len} item(s), got shape {a.shape}")
    if finite:
        _finite(a, arg)
    return a if dtype is None else a.astype(dtype)


def finite(value: Any, arg: str) -> np.ndarray:
    """Refuse NaN and infinity, saying how many there are; returns the array."""
    return _finite(np.asarray(value), arg)


def _finite(a: np.ndarray, arg: str) -> np.ndarray:
    if np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.complexfloating):
        bad = ~np.isfinite(a)
        if bad.any():
            n_nan = int(np.isnan(a).sum())
            raise ValueError(f"{arg} must hold finite values, got {n_nan} NaN and {int(bad.sum()) - n_nan} "
                             f"infinite value(s) among {a.size}")
    return a


def labels(value: Any, arg: str, *, classes: int | None = None, length: int | None = None) -> np.ndarray:
    """Integer class labels of shape (N,), in ``0..classes-1`` when ``classes`` is given.

    Floats that are whole numbers (``3.0``) are accepted and converted; ``2.5`` is refused.
    """
    y = np.asarray(value)
    if y.ndim != 1:
        raise ValueError(f"{arg} must have shape (N,) (one integer label per example), got shape {y.shape}")
    if length is not None and len(y) != length:
        raise ValueError(f"{arg} must have {length} labels (one per example), got {len(y)}")
    if np.issubdtype(y.dtype, np.floating):
        _finite(y, arg)
        if not np.all(y == np.round(y)):
            raise ValueError(f"{arg} must hold integer class labels, got fractional values "
                             f"(e.g. {y[y != np.round(y)][0]!r})")
        y = y.astype(np.int64)
    elif not np.issubdtype(y.dtype, np.integer):
        raise ArgumentTypeError(f"{arg} must hold integer class labels, got dtype {y.dtype}")
    if classes is not None and y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"{arg} must hold integer classes in [0, {classes - 1}], "
                         f"got values {y.min()}..{y.max()}")
    if y.size and y.min() < 0:
        raise ValueError(f"{arg} must hold non-negative class labels, got {y.min()}")
    return y


def same_length(**arrays: Any) -> int:
    """All arrays have the same length; returns it. ``same_length(x=x, y=y)``."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = " and ".join(f"{n} has {k}" for n, k in lengths.items())
        names = " and ".join(lengths)
        raise ValueError(f"{names} must have the same length, got {listed}")
    return next(iter(lengths.values())) if lengths else 0


def existing_file(value: Any, arg: str) -> Path:
    """The path of an existing file."""
    if not isinstance(value, (str, os.PathLike)):
        raise ArgumentTypeError(f"{arg} must be the path of an existing file, got {describe(value)}")
    path = Path(value)
    if not path.is_file():
        raise ValueError(f"{arg}={str(value)!r} is not an existing file")
    return path


def weights(value: Any, arg: str = "weights", *, options: Sequence[str] = ()) -> str | Path | None:
    """None, one of ``options`` (e.g. ``"imagenet"``) or the path of an existing weights file.

    Message without options: ``"weights must be None or the path of an existing weights file,
    got ..."``.
    """
    if value is None:
        return None
    if isinstance(value, str) and value in options:
        return value
    listed = "".join(f", {o!r}" for o in options)
    if isinstance(value, (str, os.PathLike)) and Path(value).is_file():
        return Path(value)
    hint = "" if options else " (this model has no published weights: train it, or pass a file you saved)"
    raise ValueError(f"{arg} must be None{listed} or the path of an existing weights file, got "
                     f"{describe(value)}{hint}")


def keras_model(value: Any, arg: str = "model"):
    """A ``keras.Model``."""
    import keras

    if not isinstance(value, keras.Model):
        raise ArgumentTypeError(f"{arg} must be a keras.Model, got {type(value).__name__}")
    return value


def model_inputs(model: Any, value: Any, arg: str = "x") -> np.ndarray:
    """A non-empty batch of finite numbers whose rank and fixed sizes fit ``model``'s one input.

    Message, e.g.: ``"x must have shape (N, 8, 8, 1) for model 'small', got shape (8, 8)"``.
    """
    a = array(value, arg, finite=True, min_len=1)
    inputs = getattr(model, "inputs", None)
    if inputs and len(inputs) == 1:
        want = tuple(inputs[0].shape)
        fits = a.ndim == len(want) and all(w is None or w == g for w, g in zip(want[1:], a.shape[1:]))
        if not fits:
            shown = ", ".join("N" if i == 0 else ("?" if w is None else str(w)) for i, w in enumerate(want))
            raise ValueError(f"{arg} must have shape ({shown}) for model {getattr(model, 'name', '?')!r}, "
                             f"got shape {a.shape}")
    return a


def unknown_keys(given: Mapping[str, Any] | Iterable[str], allowed: Iterable[str], arg: str) -> None:
    """Refuse keys outside ``allowed``: ``"{arg} has unknown key(s) ['lr']; allowed: ..."``."""
    allowed = list(allowed)
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"{arg} has unknown key(s) {unknown}; allowed: {', '.join(allowed) or 'none'}")


def describe_model_file(path: Any) -> str:
    """What a ``.keras`` or ``.weights.h5`` file holds, in a few words, for an error message.

    A ``.keras`` file: the model's name, its input shape and its number of outputs (read from
    the archive's ``config.json``, nothing is built). A weights file: the number of weight arrays
    and of parameters, and the first layer names. A file that is neither says so.
    """
    import json
    import zipfile

    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                config = json.loads(z.read("config.json"))
            inner = config.get("config", {})
            name = inner.get("name", "?")
            layers_ = inner.get("layers", [])
            shape = None
            units = None
            for layer in layers_:
                cfg = layer.get("config", {})
                if shape is None and layer.get("class_name") == "InputLayer":
                    shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
                if "units" in cfg:
                    units = cfg["units"]
            where = f", input {tuple(shape)}" if shape else ""
            outs = f", {units} outputs" if units is not None else ""
            return f"a {config.get('class_name', 'Keras')} model {name!r} with {len(layers_)} layers{where}{outs}"
        import h5py

        with h5py.File(path, "r") as f:
            arrays: list[tuple[str, tuple]] = []
            f.visititems(lambda key, obj: arrays.append((key, obj.shape))
                         if isinstance(obj, h5py.Dataset) and not key.startswith("optimizer") else None)
        params = sum(int(np.prod(shape)) for _, shape in arrays)
        layer_names = []
        for key, _ in arrays:
            parts = key.split("/")
            top = parts[1] if parts[0] == "layers" and len(parts) > 1 else parts[0]
            if top not in layer_names:
                layer_names.append(top)
        shown = ", ".join(layer_names[:4]) + (", ..." if len(layer_names) > 4 else "")
        return f"{len(arrays)} weight arrays ({params:,} parameters) of layers {shown}"
    except Exception as err:  # not a Keras file at all, or a truncated one
        return f"no readable Keras model or weights ({type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''})"
