"""The benchmark suite's plumbing (the measurements themselves are not tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks import run

ROOT = Path(__file__).resolve().parents[1]


def test_table_and_page(tmp_path):
    rows = [run._row("g", "a | b", "1 s", "<= 2 s", "note")]
    text = run.table(rows)
    assert text.splitlines()[0] == "| group | name | value | target | met? | note |"
    assert "a / b" in text  # a pipe inside a cell cannot break the markdown table
    missed = run.table([run._row("g", "slow", "1.2", "<= 1.05", "", met=False),
                        run._row("g", "fast", "1.0", "<= 1.05", "", met=True)]).splitlines()
    assert "**MISS**" in missed[2] and "**MISS**" not in missed[3] and "| yes |" in missed[3]
    page = tmp_path / "b.md"
    run.write_page(page, rows, 12.0, "busy machine.")
    content = page.read_text()
    assert content.startswith("# Benchmarks") and "tensorflow  :" in content and "busy machine." in content


def test_notebook_paths_follow_the_toc():
    paths = run.notebook_paths()
    assert paths and all(p.suffix == ".ipynb" and p.exists() for p in paths)
    assert [p.name for p in paths] == sorted(p.name for p in paths)


def test_gpu_full_run_skips_cleanly_without_a_gpu():
    import pytest
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is present: the full run would train for minutes")
    row = run.resnet20_cifar10()
    assert row["value"] == "skipped" and row["note"] == "no GPU"


def test_command_line_help():
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "--gpu-full" in out.stdout
