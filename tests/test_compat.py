"""cnnbook.compat: every private Keras internal the package relies on still behaves as it did, in
the Keras range the project pins. If this fails after a Keras upgrade, read the message: it names
the internal that changed (see the table in cnnbook/compat.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import keras
import pytest

from cnnbook import compat

ROOT = Path(__file__).resolve().parents[1]


def test_every_internal_still_works():
    problems = compat.check()
    assert not problems, "Keras internals cnnbook relies on changed:\n- " + "\n- ".join(problems)


def test_pyproject_pins_the_supported_keras_minor():
    text = (ROOT / "pyproject.toml").read_text()
    pin = re.search(r'"keras>=(\d+)\.(\d+),<(\d+)\.(\d+)"', text)
    assert pin, "pyproject.toml must pin Keras as keras>=X.Y,<X.Z"
    low, high = (int(pin[1]), int(pin[2])), (int(pin[3]), int(pin[4]))
    assert (low, high) == compat.SUPPORTED
    assert compat.supported(), f"Keras {keras.__version__} is outside {compat.SUPPORTED}"
    constraint = re.search(r"^keras==(\d+)\.(\d+)", (ROOT / "constraints.txt").read_text(), re.M)
    assert constraint and low <= (int(constraint[1]), int(constraint[2])) < high


def test_keras_home_follows_the_environment(tmp_path):
    import os
    import sys

    code = "from cnnbook import compat; print(compat.keras_home())"
    env = dict(os.environ, KERAS_HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == str(tmp_path), out.stderr[-2000:]


def test_private_keras_use_only_in_compat():
    """The grep of the issue, made meaningful: a private Keras name outside compat.py fails."""
    pattern = re.compile(r"keras\.src|\._(flatten_layers|seed_generators|symbolic_build|inbound_nodes|keras_history|"
                         r"distribute_strategy|in_multi_worker_mode|tracker|layers\b|trainable_variables)")
    offenders = []
    for path in sorted((ROOT / "cnnbook").rglob("*.py")):
        if path.name == "compat.py":
            continue
        for i, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "private Keras use outside cnnbook/compat.py:\n" + "\n".join(offenders)


def test_layer_calls_and_producer_on_a_shared_layer():
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(3)
    mid = dense(inputs)
    out = dense(mid)
    calls = compat.layer_calls(dense)
    assert [c[1] for c in calls] == [mid, out]
    assert compat.producer(out) is dense


def test_broken_internal_names_the_supported_range():
    with pytest.raises(RuntimeError, match=r"supports Keras >=3\.\d+,<3\.\d+"):
        compat.seed_generator_states(object())
