"""Speed of MID regression and AdaSSP on the full IWPC cohort against scikit-learn's LinearRegression.

``python benchmarks/linear.py [--repeat 5] [--lambdas 0.3 1 3] [--sweep-splits 0]`` prints ``name: value unit``
lines. Peer: ``sklearn.linear_model.LinearRegression.fit`` on the same 5,452 × 15 matrix, measured in the same
run. Times are medians over ``--repeat`` runs in this process, all with one BLAS thread (threadpoolctl;
on a shared machine a second spinning OpenBLAS thread made LinearRegression.fit 30x slower). Also reported: one evaluation of the exact
O(N²) regularizer H₀ with its gradient (the unit of MID's cost) and, with ``--sweep-splits K``, the wall
time of K splits of the full Figure 2(a) grid (scale by 100/K for the paper's protocol).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sklearn.linear_model import LinearRegression
from threadpoolctl import threadpool_limits

from defenses.linear import (
    AdaSSPRegression,
    MIDLinearRegression,
    gaussian_mixture_entropy,
)
from validation.linear import FULL_GRID, IWPCProblem, run_linear_sweep


def median_time(fn, repeat: int) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls (after one warm-up call), in seconds."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.3, 1.0, 3.0])
    parser.add_argument("--sweep-splits", type=int, default=0)
    args = parser.parse_args()
    if args.repeat < 1 or args.sweep_splits < 0:
        parser.exit(2, "benchmarks/linear.py: error: --repeat must be >= 1 and --sweep-splits >= 0\n")

    threadpool_limits(1)
    p = IWPCProblem()
    X, y = p.X, p.y
    print(f"data: IWPC {X.shape[0]} rows x {X.shape[1]} features")
    t_ols = median_time(lambda: LinearRegression().fit(X, y), args.repeat * 20)
    print(f"sklearn LinearRegression.fit: {t_ols * 1e3:.2f} ms")

    pred = LinearRegression().fit(X, y).predict(X)
    t_h = median_time(lambda: gaussian_mixture_entropy(pred, 1.0, return_grad=True), args.repeat)
    print(f"H0 value+gradient, N={len(pred)} ({len(pred) ** 2 / 1e6:.1f}M pairs): {t_h * 1e3:.1f} ms")

    for lam in args.lambdas:
        model = MIDLinearRegression(mid_lambda=lam)
        t_mid = median_time(lambda m=model: m.fit(X, y), args.repeat)
        print(f"MIDLinearRegression(mid_lambda={lam:g}).fit: {t_mid * 1e3:.0f} ms "
              f"({model.n_iter_} L-BFGS iterations)")
        print(f"ratio MID(mid_lambda={lam:g}) / sklearn LinearRegression: {t_mid / t_ols:.0f}")

    ada = AdaSSPRegression(epsilon=1.0, x_bound=p.x_bound, y_bound=p.y_bound, random_state=0)
    t_ada = median_time(lambda: ada.fit(X, y), args.repeat * 20)
    print(f"AdaSSPRegression(epsilon=1).fit: {t_ada * 1e3:.2f} ms")
    print(f"ratio AdaSSP / sklearn LinearRegression: {t_ada / t_ols:.2f}")

    if args.sweep_splits:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_linear_sweep(Path(tmp) / "runs.json", n_splits=args.sweep_splits, progress=False, **FULL_GRID)
            wall = time.perf_counter() - start
        print(f"Figure 2(a) full grid, {args.sweep_splits} splits: {wall:.1f} s "
              f"(x{100 / args.sweep_splits:g} for 100 splits: {wall * 100 / args.sweep_splits / 60:.1f} min)")


if __name__ == "__main__":
    main()
