"""``python -m benchmarks --gpu-full`` at a tiny scale on the CPU (issue 15, item 5).

The full run needs a GPU and minutes; here the same code path runs on a CPU on a tiny MNIST file in
the Keras cache format (noise images: the accuracy means nothing), one ResNet depth, one timed step.
The rows must appear as they are measured, mixed precision must say "not supported here" on a CPU
instead of a number, and ``--no-write`` must leave ``book/benchmarks.md`` alone. Under JAX (an
interpreter without TensorFlow named by ``CNNBOOK_JAX_PYTHON``, see tests/test_backend_jax.py) the
same run is repeated; without one that test is skipped.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras_cache_fixture  # tests/ is on sys.path (rootdir-relative imports)
from benchmarks import gpu_full, run

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "benchmarks.md"
TINY = ["--gpu-full", "--epochs", "1", "--depths", "20", "--steps", "1", "--repeats", "1",
        "--throughput-batch", "8", "--skip-cifar10", "--no-write"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _child_env(home: Path, backend: str) -> dict:
    env = dict(os.environ, KERAS_HOME=str(home), KERAS_BACKEND=backend, CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=str(ROOT), MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("CNNBOOK_PROGRESS", None)
    if backend == "jax":
        env["JAX_PLATFORMS"] = "cpu"
    return env


def _check_tiny_run(out: str) -> None:
    rows = [line for line in out.splitlines() if line.startswith("[")]
    assert len(rows) == 3, out[-3000:]  # ResNet-20 float32, ResNet-20 mixed, MNIST
    float32 = next(r for r in rows if r.startswith("[throughput] ResNet-20 (32x32x3), float32"))
    ips = float(re.search(r": ([\d,]+) img/s", float32).group(1).replace(",", ""))
    assert ips > 0
    assert "policy float32" in float32 and "batch 8, 1 steps/epoch" in float32
    mixed = next(r for r in rows if "mixed_float16" in r)
    assert ": not supported here" in mixed and "img/s" not in mixed  # no number faked on a CPU
    mnist = next(r for r in rows if r.startswith("[full profile] MNIST convnet, MNIST test accuracy: "))
    acc = float(mnist.split(": ")[1].split()[0])
    assert 0.0 <= acc <= 1.0
    assert "540 training / 60 validation / 100 test images" in mnist
    assert "reduced scale: not compared with the target" in mnist and "[met]" not in mnist
    # progress: the rows come before the final table, the epoch line (Keras verbose=2) before the MNIST row
    lines = out.splitlines()
    assert lines.index(float32) < lines.index(mnist) < lines.index("| group | name | value | target | met? | note |")
    epochs = [i for i, line in enumerate(lines) if re.match(r"\d+/\d+ - .*loss: .*val_accuracy: ", line)]
    assert len(epochs) == 1 and epochs[0] < lines.index(mnist), out[-3000:]  # Keras verbose=2, one epoch
    assert "not written (--no-write)" in out


def test_tiny_gpu_full_run_on_cpu_under_tensorflow(tmp_path):
    keras_cache_fixture.write_mnist(tmp_path / "keras")
    before = _digest(PAGE)
    proc = subprocess.run([sys.executable, "-m", "benchmarks", *TINY], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=240, env=_child_env(tmp_path / "keras", "tensorflow"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    _check_tiny_run(proc.stdout)
    assert "backend tensorflow" in proc.stdout
    assert _digest(PAGE) == before  # --no-write: the page is untouched


def test_missing_mnist_is_one_line_and_exit_code_1(tmp_path):
    (tmp_path / "keras").mkdir()
    proc = subprocess.run([sys.executable, "-m", "benchmarks", *TINY], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=120, env=_child_env(tmp_path / "keras", "tensorflow"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    err = [line for line in proc.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(err) == 1 and proc.stderr.strip().endswith(err[0]), proc.stderr[-2000:]
    assert str(tmp_path / "keras" / "datasets" / "mnist.npz") in err[0]
    assert "python -m cnnbook.data seed mnist" in err[0]
    assert not [r for r in proc.stdout.splitlines() if r.startswith("[")]  # stopped before measuring anything


def test_bad_options_are_refused_naming_the_option(capsys):
    for argv, named in ((["--depths", "21"], "--depths"), (["--steps", "0"], "--steps"),
                        (["--mnist-target", "1.5"], "--mnist-target"), (["--depths", "twenty"], "--depths")):
        with pytest.raises(SystemExit) as exit_info:
            run.main(["--gpu-full", *argv, "--no-write"])
        assert exit_info.value.code == 2
        assert named in capsys.readouterr().err


def test_gpu_section_replaces_only_its_part_of_the_page(tmp_path):
    page = tmp_path / "benchmarks.md"
    head = "# Benchmarks\n\n| group | name |\n|---|---|\n| a | b |\n\n"
    page.write_text(head + "GPU rows: not measured yet. No GPU machine has run it;\nthe rows are missing.\n\n"
                    "Since this run: a note by hand.\n")
    rows = [run._row("throughput", "ResNet-20, float32", "123 img/s", "", "batch 128")]
    gpu_full.write_section(page, gpu_full.section(rows, seconds=5, report="gpus : test", command="x"))
    text = page.read_text()
    assert text.startswith(head) and text.endswith("Since this run: a note by hand.\n")
    assert "not measured yet" not in text and "| throughput | ResNet-20, float32 | 123 img/s |" in text
    assert gpu_full.current_section(page).startswith(gpu_full.BEGIN)
    # a second run replaces the section, nothing else
    gpu_full.write_section(page, gpu_full.section([run._row("g", "n", "9 img/s")], report="r"))
    text2 = page.read_text()
    assert "123 img/s" not in text2 and "| g | n | 9 img/s |" in text2 and text2.count(gpu_full.BEGIN) == 1
    assert text2.startswith(head) and text2.endswith("Since this run: a note by hand.\n")
    # the full suite's page keeps the GPU section of the page it replaces
    run.write_page(page, [run._row("g", "cpu row", "1 s")], 1.0, "")
    assert "| g | n | 9 img/s |" in page.read_text() and "cpu row" in page.read_text()
    fresh = tmp_path / "fresh.md"
    run.write_page(fresh, [run._row("g", "cpu row", "1 s")], 1.0, "")
    assert gpu_full.NOT_MEASURED in fresh.read_text()


def test_mixed_precision_only_where_the_device_supports_it():
    cpu = {"gpu": False, "name": "CPU", "compute_capability": None}
    assert gpu_full.mixed_precision_support(cpu)[0] is False
    assert "not supported here" in gpu_full.mixed_precision_support(cpu)[1]
    old = {"gpu": True, "name": "P100", "compute_capability": (6, 0)}
    why = "not supported here: compute capability 6.0 < 7.0 (no tensor cores)"
    assert gpu_full.mixed_precision_support(old) == (False, why)
    assert gpu_full.mixed_precision_support({"gpu": True, "name": "H200", "compute_capability": (9, 0)})[0]


JAX_PYTHON = os.environ.get("CNNBOOK_JAX_PYTHON", "")


@pytest.mark.skipif(not JAX_PYTHON or not Path(JAX_PYTHON).exists(),
                    reason="CNNBOOK_JAX_PYTHON does not name a Python with JAX and Keras but no TensorFlow")
def test_tiny_gpu_full_run_on_cpu_under_jax_without_tensorflow(tmp_path):
    probe = subprocess.run([JAX_PYTHON, "-c", "import importlib.util as u; print(u.find_spec('tensorflow') is None)"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert probe.stdout.strip() == "True", f"{JAX_PYTHON} has TensorFlow; this test needs an environment without it"
    keras_cache_fixture.write_mnist(tmp_path / "keras")
    before = _digest(PAGE)
    proc = subprocess.run([JAX_PYTHON, "-m", "benchmarks", *TINY], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=300, env=_child_env(tmp_path / "keras", "jax"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    _check_tiny_run(proc.stdout)
    assert "backend jax" in proc.stdout
    assert _digest(PAGE) == before
