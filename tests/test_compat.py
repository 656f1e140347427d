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
    """The grep of the issue (``keras.src`` or ``._name``), made meaningful: outside compat.py every
    ``._name`` must be a private name the package defines itself (its own attributes, functions
    and modules); anything else is a private Keras/TensorFlow internal in the wrong place."""
    sources = {p: p.read_text() for p in sorted((ROOT / "cnnbook").rglob("*.py"))}
    own = set()
    for text in sources.values():
        own |= set(re.findall(r"(?:def|class)\s+(_\w+)", text))
        own |= set(re.findall(r"(?:self|cls)\.(_\w+)\s*(?::[^=]*)?=", text))
        own |= set(re.findall(r"^\s*(_\w+)\s*(?::[^=]*)?=", text, re.M))
        own |= set(re.findall(r"\bas\s+(_\w+)", text))
    own |= {p.stem for p in sources if p.stem.startswith("_")}
    offenders = []
    for path, text in sources.items():
        if path.name == "compat.py":
            continue
        for i, line in enumerate(text.splitlines(), start=1):
            code = line.split("#", 1)[0]
            hits = [m for m in re.findall(r"\.(_[a-z]\w*)", code) if m not in own]
            if "keras.src" in code or hits:
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
