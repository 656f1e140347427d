"""Chapters 3-4's full-profile training on real MNIST, side by side with the keras.io recipe.

    python -m benchmarks --mnist-real --write              # 6 seeds x 2 ways x 15 epochs (~25 min, 2 idle cores)
    python -m benchmarks --mnist-real --epochs 1 --n-train 2000 --seeds 0   # a smoke run
    python -m benchmarks --mnist-real --merge a.json b.json --write    # page section from saved --json runs

Both ways get the same arrays from the Keras cache (``cnnbook.data.load("mnist")``; seed it from a file
you have with ``python -m cnnbook.data seed mnist <mnist.npz or mnist.pkl.gz>``), the same seeds
and the same split (the first 90% of the training images train, the last 10% validate):

* ``cnnbook``: ``cnnbook.models.mnist_convnet`` compiled as chapter 4 does (Adam 1e-3, sparse labels)
  and trained by ``cnnbook.train.fit`` (seeded epoch order, validation on the last 10%);
* ``keras.io``: the recipe of keras.io/examples/vision/mnist_convnet: the same layers built inline,
  one-hot labels, ``categorical_crossentropy``, bare ``model.fit(..., validation_split=0.1)``.

Batch 128, 15 epochs (the recipe's). It prints every run (test accuracy, seconds of ``fit``), the
medians of each way and the verdict: cnnbook must match or beat the recipe's median accuracy in no
more median time. A measurement, not a test: seconds depend on what else runs on the machine.

Six seeds by default, not three: one run's test accuracy moves by about 0.1 point with the order in
which the epochs visit the images alone (the recipe's layers under a bare ``model.fit`` give the
recipe's numbers exactly; only the example order differs in ``cnnbook``'s path), and three seeds
cannot tell such a spread from a difference between the two ways. ``--write`` puts the runs into
the marked MNIST section of ``book/benchmarks.md`` (``python -m benchmarks`` keeps that section).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BEGIN = "<!-- mnist-real:begin -->"
END = "<!-- mnist-real:end -->"
NOT_MEASURED = ("Real MNIST, `cnnbook` against the keras.io recipe: not measured on this page yet "
                "(`python -m benchmarks --mnist-real --write`).")


def _recipe_model(input_shape, classes):
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(classes, activation="softmax"),
    ])


def one_run(way: str, seed: int, arrays, *, epochs: int, batch_size: int = 128) -> dict:
    """Train one way once; return its test accuracy and the seconds ``fit`` took."""
    import keras
    import numpy as np

    from cnnbook import models, runtime, train

    (x, y), (xt, yt) = arrays
    n_val = len(x) // 10
    runtime.seed(seed)
    if way == "cnnbook":
        model = models.mnist_convnet(input_shape=x.shape[1:], classes=10)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        t0 = time.perf_counter()
        train.fit(model, (x[:-n_val], y[:-n_val]), epochs=epochs, batch_size=batch_size, seed=seed,
                  validation_data=(x[-n_val:], y[-n_val:]))
        seconds = time.perf_counter() - t0
        acc = float(model.evaluate(xt, yt, batch_size=1000, verbose=0)[1])
    elif way == "keras.io":
        model = _recipe_model(x.shape[1:], 10)
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        y1 = keras.utils.to_categorical(y, 10)
        t0 = time.perf_counter()
        model.fit(x, y1, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=0)
        seconds = time.perf_counter() - t0
        acc = float(model.evaluate(xt, keras.utils.to_categorical(yt, 10), batch_size=1000, verbose=0)[1])
    else:
        raise ValueError(f"way must be 'cnnbook' or 'keras.io', got {way!r}")
    keras.backend.clear_session()
    return {"way": way, "seed": int(seed), "epochs": int(epochs), "test_acc": round(acc, 4),
            "fit_s": round(seconds, 1), "train_images": int(len(x) - n_val)}


def compare(seeds=(0, 1, 2, 3, 4, 5), *, epochs: int = 15, n_train: int | None = None, n_test: int | None = None,
            log=print) -> dict:
    """Both ways for every seed, alternating which goes first; the runs, medians and verdict."""
    from cnnbook import data

    (x, y), (xt, yt) = data.load("mnist")
    if n_train:
        x, y = x[:n_train], y[:n_train]
    if n_test:
        xt, yt = xt[:n_test], yt[:n_test]
    runs = []
    for i, seed in enumerate(seeds):
        for way in (("cnnbook", "keras.io") if i % 2 == 0 else ("keras.io", "cnnbook")):
            r = one_run(way, seed, ((x, y), (xt, yt)), epochs=epochs)
            log(f"{r['way']:9s} seed {r['seed']}: test accuracy {100 * r['test_acc']:.2f}%, fit {r['fit_s']:.1f} s "
                f"({r['epochs']} epochs, {r['train_images']} training images)")
            runs.append(r)
    result = summarize(runs, load_average=round(os.getloadavg()[0], 1))
    log_summary(result, log)
    return result


def log_summary(result: dict, log=print) -> None:
    """The medians of each way and the verdict, a line each."""
    for way, m in result["medians"].items():
        log(f"median {way:9s}: {100 * m['test_acc']:.2f}% (lowest {100 * m['min_acc']:.2f}%), {m['fit_s']:.1f} s")
    log(f"verdict: {result['verdict']}; load average {result['load_average']} on {os.cpu_count()} cores")


def summarize(runs: list[dict], *, load_average=None) -> dict:
    """Medians of each way, the lowest accuracy, and the verdict over ``runs``."""
    import numpy as np

    med = {}
    for way in ("cnnbook", "keras.io"):
        mine = [r for r in runs if r["way"] == way]
        if not mine:
            raise ValueError(f"no {way} runs among the {len(runs)} given")
        med[way] = {"test_acc": float(np.median([r["test_acc"] for r in mine])),
                    "fit_s": float(np.median([r["fit_s"] for r in mine])),
                    "min_acc": float(min(r["test_acc"] for r in mine))}
    ok_acc = med["cnnbook"]["test_acc"] >= med["keras.io"]["test_acc"]
    ok_time = med["cnnbook"]["fit_s"] <= med["keras.io"]["fit_s"]
    verdict = ("cnnbook matches or beats the recipe's median accuracy in no more median time" if ok_acc and ok_time
               else "cnnbook is " + " and ".join(w for w, bad in (("less accurate (median)", not ok_acc),
                                                                   ("slower (median)", not ok_time)) if bad))
    return {"runs": runs, "medians": med, "met": ok_acc and ok_time, "verdict": verdict,
            "load_average": load_average}


def section(result: dict | None, *, note: str = "") -> str:
    """The page's MNIST section (between :data:`BEGIN` and :data:`END`): every run, the medians and
    the verdict of ``result`` (:func:`compare` or :func:`summarize`), or "not measured yet"."""
    if result is None:
        return f"{BEGIN}\n{NOT_MEASURED}\n{END}"
    import datetime as _dt

    from benchmarks.run import table

    runs = sorted(result["runs"], key=lambda r: (r["seed"], r["way"]))
    rows = [{"group": "run", "name": f"{r['way']}, seed {r['seed']}", "value": f"{100 * r['test_acc']:.2f}%",
             "target": "", "note": f"fit {r['fit_s']:.1f} s, {r['epochs']} epochs, {r['train_images']:,} images",
             "met": None} for r in runs]
    for way, m in result["medians"].items():
        rows.append({"group": "median", "name": way, "value": f"{100 * m['test_acc']:.2f}%", "target": "",
                     "note": f"fit {m['fit_s']:.1f} s; lowest {100 * m['min_acc']:.2f}%", "met": None})
    date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d")
    seeds = sorted({r["seed"] for r in runs})
    return (f"{BEGIN}\n## Real MNIST: `cnnbook` against the keras.io recipe\n\n"
            f"`python -m benchmarks --mnist-real`, {date}, seeds {', '.join(map(str, seeds))}: the same arrays "
            "(Keras's MNIST, seeded by hand into the Keras cache), the same split (the first 54,000 training "
            "images train, the last 6,000 validate), batch 128, 15 epochs. `cnnbook`: `models.mnist_convnet` "
            "trained by `train.fit` (seeded epoch order); keras.io: the example's layers, one-hot labels, bare "
            f"`model.fit(validation_split=0.1)`. Test accuracy on the 10,000 test images.\n\n{table(rows)}\n\n"
            f"Verdict: {result['verdict']}.{(' ' + note) if note else ''}\n{END}")


def merge(paths: list[str]) -> dict:
    """One result from the ``--json`` files of several runs (e.g. seeds 0-2 and 3-5)."""
    runs, loads = [], []
    for path in paths:
        with open(path) as f:
            saved = json.load(f)
        runs += saved["runs"]
        if saved.get("load_average") is not None:
            loads.append(saved["load_average"])
    seen = [(r["way"], r["seed"]) for r in runs]
    if len(seen) != len(set(seen)):
        raise ValueError(f"{', '.join(paths)}: the same way and seed appear twice")
    return summarize(runs, load_average=max(loads) if loads else None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks --mnist-real", description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-real", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", default="0,1,2,3,4,5", help="comma-separated seeds (default 0-5)")
    parser.add_argument("--n-train", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--n-test", type=int, default=None, help="use only the first N test images")
    parser.add_argument("--json", default=None, help="also write the result to this JSON file")
    parser.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                        help="do not train: summarize the runs saved by earlier --json runs")
    parser.add_argument("--write", action="store_true",
                        help="put the runs into the MNIST section of book/benchmarks.md (full-scale runs only)")
    parser.add_argument("--note", default="", help="a sentence added after the verdict on the page")
    args = parser.parse_args(argv)
    from cnnbook import data

    if args.merge:
        result = merge(args.merge)
        log_summary(result)
    else:
        try:
            result = compare(tuple(int(s) for s in args.seeds.split(",")), epochs=args.epochs,
                             n_train=args.n_train, n_test=args.n_test)
        except data.DatasetUnavailable as err:
            print(f"error: {err}")
            return 1
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if args.write:
        small = [r for r in result["runs"] if r["epochs"] != 15 or r["train_images"] != 54000]
        if small:
            print("not written to book/benchmarks.md: only full-scale runs (15 epochs, 54,000 images) go there")
            return 0
        from benchmarks import gpu_full

        page = Path(__file__).resolve().parents[1] / "book" / "benchmarks.md"
        gpu_full.write_section(page, section(result, note=args.note), BEGIN, END)
        print(f"written to {page.relative_to(page.parents[1])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
