"""Chapter 7 target: the architecture search of the quick profile, timed.

    python -m benchmarks.nas                 # the notebook's search: random + REINFORCE, 16 children each
    python -m benchmarks.nas --budget 10     # another budget per strategy

Target (issue 7): >= 20 child models in <= 90 s on 2 CPU cores (here: both searches together,
on the notebook's data and settings: scikit-learn digits 8x8, 1024 training / 413 validation
images, B = 2, F = 8, two epochs per child). Also printed: seconds per child (wall and CPU),
the controller's own cost, and the best searched reward against the median random one.

A measurement, not a test: wall times depend on what else runs on the machine (the CPU time
column does much less).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=16, help="children per strategy (default 16)")
    args = parser.parse_args(argv)

    from cnnbook import data, nas, runtime

    runtime.seed(0)
    (x, y), _ = data.load("digits")
    search_data = ((x[:1024], y[:1024]), (x[1024:], y[1024:]))
    space = nas.SearchSpace(blocks=2, filters=8)
    rows = []
    total_wall = total_cpu = 0.0
    results = {}
    for strategy in ("random", "rl"):
        w0, c0 = time.perf_counter(), time.process_time()
        res = nas.search(search_data, strategy=strategy, budget=args.budget, space=space, epochs=2,
                         batch_size=64, seed=0)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        child_wall = sum(t.seconds for t in res.history)
        total_wall += wall
        total_cpu += cpu
        results[strategy] = res
        rows.append((strategy, len(res.history), wall, cpu, wall / len(res.history), wall - child_wall))
    print(f"{'strategy':10s} {'children':>8s} {'wall s':>8s} {'CPU s':>8s} {'s/child':>8s} {'outside children s':>19s}")
    for name, n, wall, cpu, per, outside in rows:
        print(f"{name:10s} {n:8d} {wall:8.1f} {cpu:8.1f} {per:8.2f} {outside:19.1f}")
    n_total = sum(r[1] for r in rows)
    print(f"{'total':10s} {n_total:8d} {total_wall:8.1f} {total_cpu:8.1f}")
    ok = n_total >= 20 and total_wall <= 90
    print(f"target >= 20 children in <= 90 s: {'met' if ok else 'NOT met'} "
          f"({n_total} in {total_wall:.1f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    best, median = results["rl"].best.reward, float(np.median(results["random"].rewards))
    print(f"best REINFORCE child {best:.3f} vs median random child {median:.3f} "
          f"(best random child {results['random'].best.reward:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
