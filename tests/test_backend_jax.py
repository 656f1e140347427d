"""cnnbook without TensorFlow: KERAS_BACKEND=jax (issue 15, item 4).

The checks run in a separate interpreter that has JAX and Keras but no TensorFlow: the one named
by ``CNNBOOK_JAX_PYTHON`` (CI creates the venv, see .ci/run). Without such an interpreter the
tests are skipped, saying why. The child processes get matplotlib's Agg backend, not the notebook
backend that the book's test configuration sets (the JAX venv has no matplotlib-inline).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON = os.environ.get("CNNBOOK_JAX_PYTHON", "")
CHILD_ENV = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")


def _interpreter_ok() -> str | None:
    if not PYTHON:
        return "CNNBOOK_JAX_PYTHON is not set (it names a Python with JAX and Keras but no TensorFlow)"
    if not Path(PYTHON).exists():
        return f"no JAX interpreter at {PYTHON} (set CNNBOOK_JAX_PYTHON; .ci/run creates one)"
    probe = subprocess.run(
        [PYTHON, "-c", "import importlib.util as u; print(bool(u.find_spec('jax')), bool(u.find_spec('tensorflow')))"],
        capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return f"{PYTHON} does not run: {probe.stderr[-300:]}"
    has_jax, has_tf = probe.stdout.split()
    if has_jax != "True":
        return f"jax is not installed in {PYTHON}"
    if has_tf != "False":
        return f"{PYTHON} has TensorFlow; this test needs an environment without it"
    return None


SKIP = _interpreter_ok()
if SKIP is not None and os.environ.get("CNNBOOK_REQUIRE_JAX"):  # CI: a missing JAX venv is a failure
    raise RuntimeError(f"CNNBOOK_REQUIRE_JAX is set but {SKIP}")
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


def _run(code: str, timeout: int = 600, **env) -> str:
    full_env = {**CHILD_ENV, "KERAS_BACKEND": "jax", "CNNBOOK_PROFILE": "quick",
                "CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu", **env}
    proc = subprocess.run([PYTHON, "-c", textwrap.dedent(code)], env=full_env, capture_output=True, text=True,
                          timeout=timeout, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


def test_import_and_builder_registry_without_tensorflow():
    out = _run("""
        import sys
        import cnnbook, keras
        from cnnbook import data, layers, measure, models, nas
        assert keras.backend.backend() == "jax"
        sys.path.insert(0, "tests")
        from test_builders import SMALL  # the registry test's smallest arguments per builder
        built = 0
        for name in models.names():
            model = models.get(name, **SMALL[name], classes=3)
            assert isinstance(model, keras.Model) and model.count_params() > 0, name
            built += 1
        arch = nas.SearchSpace(blocks=2, filters=8).sample(__import__("numpy").random.default_rng(0))
        child = nas.build(arch, input_shape=(8, 8, 1), classes=10)
        assert measure.multiply_adds(child) > 0
        (x, y), _ = data.load("digits")
        assert x.shape[1:] == (8, 8, 1)
        assert "tensorflow" not in sys.modules, "something imported TensorFlow"
        print("built", built)
    """)
    assert int(out.split()[-1]) >= 3


def test_tensorflow_only_parts_say_what_they_need():
    out = _run("""
        from cnnbook import distribute, runtime, train
        runtime.seed(0)
        for call in (lambda: __import__("cnnbook.lowlevel"), distribute.strategy,
                     lambda: train.fast_fit(None, None, None)):
            try:
                call()
            except ImportError as e:
                print(str(e).splitlines()[0][:200])
    """)
    assert out.count("needs TensorFlow") == 3, out


def test_full_profile_seed_and_progress_without_tensorflow():
    """runtime.seed under the full profile asks whether mixed precision pays off (JAX's own device
    query, no TensorFlow); train.fit then prints one line per epoch."""
    out = _run("""
        import sys
        import keras
        from cnnbook import data, distribute, models, runtime, train
        assert runtime.profile() == "full" and runtime.progress() == 2
        runtime.seed(0)
        assert distribute.mixed_precision_supported() is False  # JAX on a CPU
        (x, y), _ = data.load("digits")
        m = models.get("simple_cnn", input_shape=(8, 8, 1), filters=(4, 8), classes=10)
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        train.fit(m, (x[:128], y[:128]), epochs=2, batch_size=64, seed=0)
        assert "tensorflow" not in sys.modules, "something imported TensorFlow"
    """, CNNBOOK_PROFILE="full")
    assert "Epoch 2/2" in out and "accuracy:" in out, out


def test_unknown_backend_is_a_clear_error():
    proc = subprocess.run([PYTHON, "-c", "import cnnbook"], capture_output=True, text=True, timeout=120,
                          env=dict(CHILD_ENV, KERAS_BACKEND="tensorfow"))
    assert proc.returncode != 0
    assert "KERAS_BACKEND='tensorfow'" in proc.stderr and "jax" in proc.stderr


def test_seeded_fit_repeats_and_resumes_on_jax(tmp_path):
    out = _run(f"""
        import numpy as np, keras
        from cnnbook import data, models, train

        (x, y), _ = data.load("digits")
        x, y = x[:256], y[:256]

        class Crash(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch == 1:
                    raise KeyboardInterrupt("killed at the start of epoch 2")

        def run(epochs, backup=None, callbacks=()):
            keras.utils.set_random_seed(0)
            m = models.get("simple_cnn", input_shape=(8, 8, 1), filters=(4, 8), classes=10)
            m.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
            h = train.fit(m, (x, y), epochs=epochs, batch_size=32, seed=3, backup_dir=backup,
                          callbacks=list(callbacks))
            return m, h

        a, ha = run(2)
        b, hb = run(2)
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            assert np.array_equal(wa, wb), "same seed, other weights"
        assert ha.history["loss"] == hb.history["loss"]
        backup = {str(tmp_path / "backup")!r}
        try:
            run(2, backup, [Crash()])
        except KeyboardInterrupt:
            pass
        assert train.resume_epoch(backup) == 1
        c, hc = run(2, backup)
        assert hc.epoch == [1], hc.epoch
        for wa, wc in zip(a.get_weights(), c.get_weights()):
            np.testing.assert_allclose(wa, wc, rtol=1e-5, atol=1e-6)
        print("loss", ha.history["loss"][-1])
    """)
    assert "loss" in out
