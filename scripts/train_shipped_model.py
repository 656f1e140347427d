"""Train the small CNN that ships with cnnbook and write it to cnnbook/assets.

    python scripts/train_shipped_model.py [--out cnnbook/assets] [--epochs 12]

The model (``cnnbook.pretrained.shipped_architecture``) learns handwritten digits 0-4 pasted at
random positions on a 40x40 noisy canvas (``cnnbook.pretrained.canvas_digits``, built from the
scikit-learn digits, so it needs no download). Seeds and TensorFlow's op determinism make a run
on the same CPU and library versions repeat exactly. It writes

* ``canvas_digits_cnn.keras``: the model (Keras v3 format, no optimizer state);
* ``canvas_digits_cnn.json``: classes, data, training setup and the test accuracy, which
  ``tests/test_pretrained.py`` re-measures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from cnnbook import pretrained, runtime, train  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "cnnbook" / "assets"))
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--copies", type=int, default=4, help="random placements of each training digit")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    data_cfg = {"source": "cnnbook.data.load('digits28') (scikit-learn digits, 28x28)",
                "digits": [0, 1, 2, 3, 4], "canvas": pretrained.CANVAS, "noise": 0.1,
                "train_copies": args.copies, "train_seed": 0, "test_seed": 1}
    train_cfg = {"optimizer": "Adam", "learning_rate": 1e-3, "batch_size": 64, "epochs": args.epochs,
                 "loss": "sparse_categorical_crossentropy", "seed": args.seed}

    runtime.seed(args.seed)
    x, y = pretrained.canvas_digits(data_cfg["digits"], "train", copies=args.copies, canvas=data_cfg["canvas"],
                                    noise=data_cfg["noise"], seed=data_cfg["train_seed"])
    model = pretrained.shipped_architecture(classes=len(data_cfg["digits"]))
    model.compile(optimizer=keras.optimizers.Adam(train_cfg["learning_rate"]), loss=train_cfg["loss"],
                  metrics=["accuracy"])
    t0 = time.perf_counter()
    train.fit(model, (x, y), epochs=args.epochs, batch_size=train_cfg["batch_size"], seed=args.seed)
    seconds = time.perf_counter() - t0

    # Store the bare model (no optimizer state): rebuild the architecture and copy the weights.
    bare = pretrained.shipped_architecture(classes=len(data_cfg["digits"]))
    bare.set_weights(model.get_weights())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / pretrained.SHIPPED_FILE.name
    bare.save(model_path)

    xt, yt = pretrained.canvas_digits(data_cfg["digits"], "test", canvas=data_cfg["canvas"],
                                      noise=data_cfg["noise"], seed=data_cfg["test_seed"])
    pred = bare.predict(xt, batch_size=256, verbose=0).argmax(axis=1)
    correct = int((pred == yt).sum())
    record = {
        "name": "canvas_digits_cnn",
        "file": model_path.name,
        "classes": [str(d) for d in data_cfg["digits"]],
        "input_shape": [pretrained.CANVAS, pretrained.CANVAS, 1],
        "params": int(bare.count_params()),
        "test_correct": correct,
        "test_size": int(len(yt)),
        "test_accuracy": round(correct / len(yt), 6),
        "train_images": int(len(x)),
        "data": data_cfg,
        "train": train_cfg,
        "train_seconds_cpu": round(seconds, 1),
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__},
        "script": "scripts/train_shipped_model.py",
    }
    (out / "canvas_digits_cnn.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: record[k] for k in ("params", "test_correct", "test_size", "test_accuracy")}),
          f"file size {model_path.stat().st_size / 1024:.0f} KiB, trained in {seconds:.1f} s")
    return record


if __name__ == "__main__":
    main()
