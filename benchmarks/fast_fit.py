"""Why the architecture search trains its children with ``train.fast_fit`` and not ``train.fit``.

    python -m benchmarks.fast_fit              # 6 children of the chapter's search space
    python -m benchmarks.fast_fit --children 10

Each child of chapter 7's search (scikit-learn digits 8x8, 1024 training images, B = 2, F = 8,
two epochs of 16 steps at batch 64) is a new model, trained once and thrown away. The benchmark
builds the same children twice, with the same seeds, and trains them with

* ``train.fit`` (compile + ``model.fit``: a new ``tf.function`` for the train step, the
  optimizer's update and the metrics of every child), and
* ``train.fast_fit`` (one ``tf.function`` of the loss, its gradient and the optimizer update),

and prints the wall and CPU seconds per child. The search's budget (>= 20 children in <= 90 s on
2 CPU cores, issue 7) is met only with the second. A measurement, not a test: wall times depend
on what else runs on the machine (the CPU time column much less).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=6, help="children per trainer (default 6)")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from cnnbook import data, nas, runtime, train

    runtime.seed(0)
    (x, y), _ = data.load("digits")
    x, y = x[:1024], y[:1024]
    space = nas.SearchSpace(blocks=2, filters=8)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(args.children)]

    def child(i, arch):
        keras.utils.set_random_seed(i)
        return nas.build(arch, input_shape=x.shape[1:], classes=10)

    def with_fit(i, arch):
        model = child(i, arch)
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                      loss="sparse_categorical_crossentropy")
        return train.fit(model, (x, y), epochs=2, batch_size=64, seed=i).history["loss"]

    def with_fast_fit(i, arch):
        return train.fast_fit(child(i, arch), x, y, epochs=2, batch_size=64, seed=i)

    print(f"{'trainer':14s} {'children':>8s} {'wall s/child':>13s} {'CPU s/child':>12s} {'last loss (mean)':>17s}")
    for label, run in (("train.fit", with_fit), ("train.fast_fit", with_fast_fit)):
        w0, c0 = time.perf_counter(), time.process_time()
        losses = [run(i, a)[-1] for i, a in enumerate(archs)]
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        n = len(archs)
        print(f"{label:14s} {n:8d} {wall / n:13.2f} {cpu / n:12.2f} {float(np.mean(losses)):17.3f}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
