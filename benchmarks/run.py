"""The benchmark suite: one command, one table, one results page for the book.

    python -m benchmarks                     # everything that runs here (CPU; GPU rows where present)
    python -m benchmarks --skip-notebooks    # without executing the book's notebooks
    python -m benchmarks --gpu-full          # only the full-profile GPU rows (any Keras backend)
    python -m benchmarks --mnist-real        # cnnbook vs the keras.io recipe on real MNIST (CPU)

It prints a table and writes it, stamped with the date, the device and the versions, to
``book/benchmarks.md`` (``--output``; ``--no-write`` to only print). Rows:

- training images/second of the simple CNN, the MNIST convnet, and ResNet-20/56 for CIFAR, on
  the CPU, and on the GPU where there is one (mixed precision where it is supported);
- ``cnnbook.train.fit`` wall time over a bare ``model.fit`` (ratio; target <= 1.05);
- the chapter 3-4 targets: test accuracy on digits within 30 s for both MNIST networks;
- the NumPy reference convolution over ``tf.nn.conv2d`` (ratio);
- the wall time and peak memory of every notebook under the quick profile (targets: <= 120 s
  each, <= 10 min together, <= 4 GB).

This suite needs TensorFlow (the low-level network, ``tf.nn.conv2d``, the notebooks). The page's
GPU section is written by ``--gpu-full`` alone (:mod:`benchmarks.gpu_full`), which runs on any
Keras backend, JAX without TensorFlow included: ResNet-20/56 throughput in float32 and mixed
precision, the MNIST convnet on real MNIST to the chapter's target, and ResNet-20 on CIFAR-10
(target: <= 8.75% test error within 10 minutes, the ResNet paper's Table 6 figure) where CIFAR-10
is in the Keras cache. A full run of this suite keeps that section as it is.

These are measurements, not tests: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]

Row = dict


def _row(group: str, name: str, value: str, target: str = "", note: str = "",
         met: bool | None = None) -> Row:
    """One line of the table; ``met`` says whether ``value`` meets ``target`` (None: no target,
    or not measured), and the page marks every row with ``met=False`` as a miss."""
    return {"group": group, "name": name, "value": value, "target": target, "note": note, "met": met}


def verdict(met: bool | None) -> str:
    """The page's "met?" cell: ``yes``, a bold ``MISS``, or empty (no target / not measured)."""
    return "" if met is None else ("yes" if met else "**MISS**")


# ------------------------------------------------------------------------------ throughput


def _throughput_models():
    from cnnbook import models

    builders = {
        "simple CNN (32x32x3)": ((32, 32, 3), lambda: models.simple_cnn((32, 32, 3), 10, filters=(32, 64, 128))),
        "MNIST convnet (28x28x1)": ((28, 28, 1), lambda: models.mnist_convnet()),
    }
    resnet = getattr(models, "resnet_cifar", None)
    for depth in (20, 56):
        name = f"ResNet-{depth} (32x32x3)"
        builders[name] = ((32, 32, 3), None if resnet is None else (lambda d=depth: resnet(d)))
    return builders


def throughput(device: str, *, batch_size: int = 128, steps: int = 8, repeats: int = 3) -> list[Row]:
    """Training images/second: one warm-up epoch (tracing), then the median of timed epochs.

    Measured without TensorFlow's op determinism (it costs about 1.7x on ResNet-20 on a CPU), so
    run these rows before anything that turns it on (``runtime.seed`` does on a CPU).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from cnnbook import runtime

    rows = []
    # float32 on the CPU; mixed precision on a GPU that supports it (the full profile's choice)
    runtime.use_mixed_precision(device.startswith("/gpu") and runtime.mixed_precision_supported())
    for name, (shape, build) in _throughput_models().items():
        if build is None:
            rows.append(_row("throughput", f"{name}, {device}", "skipped", "",
                             "cnnbook.models.resnet_cifar is not available yet"))
            continue
        runtime.seed(0, deterministic=False)  # speed, not repeatability: op determinism costs ~1.7x
        rng = np.random.default_rng(0)
        n = batch_size * steps
        x = rng.random((n, *shape), dtype=np.float32)
        y = rng.integers(0, 10, n)
        with tf.device("/cpu:0"):
            ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).cache().prefetch(2)
        with tf.device(device):
            model = build()
            model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                          loss="sparse_categorical_crossentropy")
            model.fit(ds, epochs=1, verbose=0)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                model.fit(ds, epochs=1, verbose=0)
                times.append(time.perf_counter() - t0)
        ips = n / float(np.median(times))
        rows.append(_row("throughput", f"{name}, {device}", f"{ips:,.0f} img/s", "",
                         f"batch {batch_size}, {_params(model)}, policy "
                         f"{keras.config.dtype_policy().name}"))
    return rows


def _params(model) -> str:
    """Parameter count as Keras gives it, with the trainable part when batch norm adds statistics."""
    from cnnbook import measure

    total = model.count_params()
    trainable = measure.trainable_params(model)
    if trainable == total:
        return f"{total:,} params"
    return (f"{total:,} params ({trainable:,} trainable; the rest are batch-norm moving "
            f"statistics)")


# ------------------------------------------------------------------------------ ratios


def fit_overhead_rows() -> list[Row]:
    """``train.fit`` over a bare ``model.fit``, on digits28 (3 epochs, batch 32, median of 7) and on
    real MNIST (1 epoch, batch 128, median of 9) where MNIST is in the Keras cache: the median of
    each repeat's own ratio of its two side-by-side runs (see :func:`benchmarks.basics.fit_overhead`)."""
    from benchmarks import basics
    from cnnbook import data

    rows = []
    for dataset, epochs, batch, repeats in (("digits28", 3, 32, 7), ("mnist", 1, 128, 9)):
        name = f"train.fit / bare model.fit (wall time), {dataset}"
        if dataset == "mnist":
            try:
                data.read_cached("mnist")
            except data.DatasetUnavailable as err:
                rows.append(_row("cnnbook.train", name, "skipped", "<= 1.05", f"MNIST not in the Keras cache ({err})"))
                continue
        r = basics.fit_overhead(dataset, epochs=epochs, batch_size=batch, repeats=repeats)
        rows.append(_row("cnnbook.train", name, f"{r['ratio']:.3f}", "<= 1.05",
                         f"{r['epochs']} epoch(s) of {dataset} at batch {batch}, median of {r['repeats']} "
                         f"side-by-side ratios; medians {r['train_fit_s']} s vs {r['bare_fit_s']} s "
                         f"(ratio {r['ratio_of_medians']:.3f}); CPU-time ratio {r['cpu_ratio']:.3f}; "
                         f"fastest runs {r['best_ratio']:.3f}",
                         met=r["ratio"] <= 1.05))
    return rows


def accuracy_rows(seconds: float = 30.0) -> list[Row]:
    from benchmarks import basics

    rows = []
    for r in basics.accuracy_in_budget(seconds=seconds):
        reached = r["s_to_0.97"]
        rows.append(_row("chapters 3-4", f"{r['model']}, digits28 test accuracy",
                         f"{r['test_acc']:.4f} after {r['epochs']} epochs ({r['train_s']} s)",
                         ">= 0.97 within 30 s",
                         "never reached 0.97" if reached is None else
                         f"0.97 first reached after epoch {r['epoch_to_0.97']}, {reached} s of training",
                         met=reached is not None and reached <= seconds))
    return rows


def conv_ratio_row(repeats: int = 50) -> Row:
    import numpy as np
    import tensorflow as tf

    try:
        from cnnbook import ops
    except ImportError:
        return _row("ops", "NumPy conv2d / tf.nn.conv2d", "skipped", "", "cnnbook.ops is not available")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 64, 64, 16)).astype(np.float32)
    w = rng.standard_normal((3, 3, 16, 32)).astype(np.float32)
    xt, wt = tf.constant(x), tf.constant(w)

    def median(fn):
        fn()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return float(np.median(ts))

    t_np = median(lambda: ops.conv2d(x, w, padding="same"))
    t_tf = median(lambda: tf.nn.conv2d(xt, wt, strides=1, padding="SAME").numpy())
    return _row("ops", "NumPy conv2d / tf.nn.conv2d (1x64x64x16, 3x3x16x32)", f"{t_np / t_tf:.2f}", "",
                f"{t_np * 1e3:.2f} ms vs {t_tf * 1e3:.2f} ms, CPU, median of {repeats}")


# ------------------------------------------------------------------------------ notebooks

_NB_RUNNER = r"""
import json, os, resource, sys, time
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
t0 = time.perf_counter()
NotebookClient(nb, timeout=900, kernel_name="python3",
               resources={"metadata": {"path": os.path.dirname(path)}}).execute()
wall = time.perf_counter() - t0
kernel_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall_s": wall, "kernel_peak_mb": kernel_kb / 1024}))
"""


def notebook_paths() -> list[Path]:
    """The notebooks the table of contents lists (commented-out chapters are skipped)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    return [ROOT / f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").exists()]


def notebook_rows() -> list[Row]:
    """Execute each notebook in a fresh kernel (quick profile); the files are not modified."""
    rows, total, peak = [], 0.0, 0.0
    env = dict(os.environ, CNNBOOK_PROFILE="quick", TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    for path in notebook_paths():
        proc = subprocess.run([sys.executable, "-c", _NB_RUNNER, str(path)], env=env, capture_output=True,
                              text=True, cwd=path.parent)
        rel = path.relative_to(ROOT).as_posix()
        if proc.returncode != 0:
            rows.append(_row("notebooks", rel, "FAILED", "<= 120 s", proc.stderr.strip().splitlines()[-1][:120]
                             if proc.stderr.strip() else "", met=False))
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        total += r["wall_s"]
        peak = max(peak, r["kernel_peak_mb"])
        rows.append(_row("notebooks", rel, f"{r['wall_s']:.1f} s", "<= 120 s",
                         f"kernel peak memory {r['kernel_peak_mb']:,.0f} MB", met=r["wall_s"] <= 120))
    failed = any(r["met"] is False and r["value"] == "FAILED" for r in rows)
    rows.append(_row("notebooks", "whole book (sum)", f"{total:.1f} s", "<= 600 s",
                     f"largest kernel peak {peak:,.0f} MB (target <= 4,096 MB)",
                     met=not failed and total <= 600 and peak <= 4096))
    return rows


# ------------------------------------------------------------------------------ full profile on a GPU


def resnet20_cifar10(**kwargs) -> Row:
    """ResNet-20 on CIFAR-10 on one GPU (see :func:`benchmarks.gpu_full.resnet20_cifar10`)."""
    from benchmarks import gpu_full

    return gpu_full.resnet20_cifar10(**kwargs)


# ------------------------------------------------------------------------------ output


def table(rows: list[Row]) -> str:
    heads = ["group", "name", "value", "target", "met?", "note"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in heads) + "|"]
    for r in rows:
        cells = {**r, "met?": verdict(r.get("met"))}
        lines.append("| " + " | ".join(str(cells[h]).replace("|", "/") for h in heads) + " |")
    return "\n".join(lines)


def stamp() -> str:
    from cnnbook import runtime

    report = runtime.device_report().replace("profile     : quick", "profile     : quick (CPU rows)")
    return report


def write_page(path: Path, rows: list[Row], seconds: float, busy: str) -> None:
    date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    missed = [r["name"] for r in rows if r.get("met") is False]
    misses = f" ({len(missed)} in this run: {'; '.join(missed)})" if missed else " (none in this run)"
    from benchmarks import gpu_full

    gpu_section = gpu_full.current_section(path) or gpu_full.section(None)  # --gpu-full's, kept as it is
    from benchmarks import mnist_real

    mnist_section = gpu_full.current_section(path, mnist_real.BEGIN, mnist_real.END) or mnist_real.section(None)
    text = f"""# Benchmarks

Measured by `python -m benchmarks` on {date}; the whole run took {seconds:.0f} s.
{busy}
Timings depend on the machine and on what else runs on it; accuracies on the seed.

```text
{stamp()}
```

{table(rows)}

Targets: the book's issues (chapters 3-4: at least 97% on the digits within 30 s for both MNIST
networks, `cnnbook.train.fit` within 5% of a bare `model.fit`; the whole book in at most 10
minutes on 2 CPU cores, no notebook over 2 minutes, at most 4 GB of memory; on one GPU, ResNet-20
at most 8.75% CIFAR-10 error within 10 minutes, {{cite:p}}`he2016deep` Table 6 reports 8.75%).
Rows marked *skipped* say what was missing. The *met?* column compares each value with its target;
a row that misses it is marked **MISS**{misses}.

{mnist_section}

{gpu_section}
"""
    path.write_text(text)


def main(argv=None) -> int:
    """``python -m benchmarks``: parse the options, run the suite (or ``--gpu-full`` / ``--mnist-real``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--mnist-real" in argv:  # its own options: benchmarks/mnist_real.py
        from benchmarks import mnist_real

        return mnist_real.main(argv)
    from benchmarks import gpu_full

    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="cnnbook benchmark suite")
    parser.add_argument("--skip-notebooks", action="store_true", help="do not execute the notebooks")
    parser.add_argument("--skip-accuracy", action="store_true", help="skip the 30-s accuracy runs")
    parser.add_argument("--gpu-full", action="store_true",
                        help="only the full-profile rows, on any Keras backend (KERAS_BACKEND=jax without "
                             "TensorFlow too): ResNet-20/56 throughput in float32 and mixed precision, the MNIST "
                             "convnet on real MNIST (Keras cache) to the chapter's target, ResNet-20 on CIFAR-10 "
                             "where it is cached; writes the page's GPU section after a full-scale GPU run")
    parser.add_argument("--gpu-epochs", type=int, default=60, help="ResNet-20 CIFAR-10 epochs for --gpu-full "
                                                                   "(default 60)")
    parser.add_argument("--gpu-seconds", type=float, default=600.0,
                        help="stop the ResNet-20 run after the epoch that passes this many seconds (default 600)")
    parser.add_argument("--output", default=None, help="the page to write (default book/benchmarks.md)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--note", default="", help="a sentence for the page, e.g. whether others were running")
    gpu_full.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.gpu_full:
        return gpu_full.main(parser, args, argv)

    import keras

    if keras.backend.backend() != "tensorflow":
        print(f"error: the benchmark suite needs TensorFlow (the low-level network, tf.nn.conv2d, the notebooks); "
              f"KERAS_BACKEND is {keras.backend.backend()!r}. Under this backend run `python -m benchmarks "
              f"--gpu-full`.", file=sys.stderr)
        return 1
    import tensorflow as tf

    t0 = time.perf_counter()
    print(stamp(), flush=True)
    rows: list[Row] = []

    def add(new):
        new = new if isinstance(new, list) else [new]
        for r in new:
            print(f"[{r['group']}] {r['name']}: {r['value']}  ({r['target']}) {r['note']}", flush=True)
        rows.extend(new)

    add(throughput("/cpu:0"))
    if tf.config.list_logical_devices("GPU"):
        add(throughput("/gpu:0", batch_size=512, steps=20))
    add(fit_overhead_rows())
    if not args.skip_accuracy:
        add(accuracy_rows())
    add(conv_ratio_row())
    if not args.skip_notebooks:
        add(notebook_rows())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    add(_row("memory", "peak memory of this benchmark process", f"{peak:,.0f} MB", "<= 4,096 MB",
             met=peak <= 4096))
    seconds = time.perf_counter() - t0
    print()
    print(table(rows))
    if not args.no_write:
        output = Path(args.output) if args.output else ROOT / "book" / "benchmarks.md"
        write_page(output, rows, seconds, args.note)
        shown = output.resolve().relative_to(ROOT) if output.resolve().is_relative_to(ROOT) else output
        print(f"\nwritten to {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
