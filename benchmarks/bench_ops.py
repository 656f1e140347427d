"""How fast is the NumPy reference convolution next to TensorFlow's?

    python benchmarks/bench_ops.py [--repeats 200]

Times ``cnnbook.ops.conv2d`` (sliding-window view + im2col + one matrix product) and
``tf.nn.conv2d`` on a 1x64x64x16 input with a 3x3x16x32 kernel, float32, CPU, "valid" and
"same" padding, and prints the medians and their ratio. Target: NumPy within 3x of TensorFlow.

NumPy's BLAS runs the matrix product on its own thread pool. On a machine whose cores are busy
with other work, waking several BLAS threads for a product this small costs more than it saves,
so the NumPy time is also reported with BLAS limited to one thread (``threadpoolctl``).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # CPU against CPU

import numpy as np  # noqa: E402


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up (TensorFlow traces / allocates on the first call)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    import tensorflow as tf
    from threadpoolctl import threadpool_limits

    from cnnbook import ops

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 64, 64, 16)).astype(np.float32)
    w = rng.standard_normal((3, 3, 16, 32)).astype(np.float32)
    xt, wt = tf.constant(x), tf.constant(w)
    print(f"input {x.shape}, kernel {w.shape}, float32, {os.cpu_count()} CPU cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'padding':8s} {'tf.nn.conv2d':>13s} {'ops.conv2d':>11s} {'ratio':>6s} "
          f"{'ops (1 BLAS thread)':>20s} {'ratio':>6s} {'max |diff|':>11s}")
    worst = 0.0
    for padding in ("valid", "same"):
        t_tf = median_time(lambda: tf.nn.conv2d(xt, wt, 1, padding.upper()).numpy(), args.repeats)
        t_np = median_time(lambda: ops.conv2d(x, w, padding=padding), args.repeats)
        with threadpool_limits(limits=1, user_api="blas"):
            t_np1 = median_time(lambda: ops.conv2d(x, w, padding=padding), args.repeats)
        diff = float(np.abs(ops.conv2d(x, w, padding=padding) - tf.nn.conv2d(xt, wt, 1, padding.upper()).numpy()).max())
        print(f"{padding:8s} {t_tf * 1e3:10.3f} ms {t_np * 1e3:8.3f} ms {t_np / t_tf:5.2f}x "
              f"{t_np1 * 1e3:17.3f} ms {t_np1 / t_tf:5.2f}x {diff:11.2e}")
        worst = max(worst, min(t_np, t_np1) / t_tf)
    print(f"best NumPy / TensorFlow ratio, worst case over paddings: {worst:.2f}x (target <= 3x): "
          f"{'OK' if worst <= 3 else 'MISSED'}")


if __name__ == "__main__":
    main()
