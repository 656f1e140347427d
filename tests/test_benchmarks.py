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


def test_fit_overhead_is_the_median_of_side_by_side_ratios(monkeypatch):
    """Each repeat times both ways one after the other; the reported ratio is the median of those
    per-repeat ratios, not the ratio of the two medians (see benchmarks.basics.fit_overhead)."""
    from benchmarks import basics

    r = basics.fit_overhead("digits28", epochs=1, batch_size=128, repeats=3)
    walls = r["runs_wall_s"]
    assert len(walls["bare"]) == len(walls["fit"]) == 3
    pairs = sorted(f / b for f, b in zip(walls["fit"], walls["bare"]))  # from times rounded to 1 ms
    assert abs(r["ratio"] / pairs[1] - 1) < 0.02
    assert abs(r["ratio_of_medians"] / (r["train_fit_s"] / r["bare_fit_s"]) - 1) < 0.02


def test_mnist_real_section_and_merge(tmp_path):
    import json

    from benchmarks import mnist_real

    def run_of(way, seed, acc):
        return {"way": way, "seed": seed, "epochs": 15, "test_acc": acc, "fit_s": 100.0 + seed,
                "train_images": 54000}

    for i, (a, b) in enumerate(((0.991, 0.992), (0.993, 0.990))):
        (tmp_path / f"{i}.json").write_text(json.dumps({"runs": [run_of("cnnbook", i, a), run_of("keras.io", i, b)],
                                                        "load_average": 1.0}))
    result = mnist_real.merge([str(tmp_path / "0.json"), str(tmp_path / "1.json")])
    assert result["medians"]["cnnbook"]["test_acc"] == 0.992 and result["medians"]["keras.io"]["min_acc"] == 0.99
    assert result["met"] and "matches or beats" in result["verdict"]
    text = mnist_real.section(result)
    assert text.startswith(mnist_real.BEGIN) and text.endswith(mnist_real.END)
    assert "| run | cnnbook, seed 1 | 99.30% |" in text
    import pytest

    with pytest.raises(ValueError, match="the same way and seed appear twice"):
        mnist_real.merge([str(tmp_path / "0.json"), str(tmp_path / "0.json")])
