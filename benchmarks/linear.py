"""Speed of MID regression and AdaSSP on the IWPC cohort against scikit-learn's LinearRegression.

``python benchmarks/linear.py [--repeat 5] [--lambdas 0.3 1 3] [--large 40000] [--sweep-splits 0] [--jobs 2]``
prints ``name: value unit`` lines. Peer: ``sklearn.linear_model.LinearRegression.fit`` on the same matrix,
measured in the same run. Times are medians over ``--repeat`` runs in this process, all with one BLAS
thread (threadpoolctl; on a shared machine a second spinning OpenBLAS thread made LinearRegression.fit
30x slower). Reported:

- one evaluation of the regularizer H₀ with its gradient on the 5,452 OLS predictions, by the exact
  O(N²) pairwise sum and by the Chebyshev expansion that ``method="auto"`` chooses (and their ratio);
- MID fits on IWPC (default: the Chebyshev path) as ratios to OLS, and one fit with the exact sum — the
  cost before the fast path, in the same run;
- a MID fit at N = ``--large`` rows (IWPC rows drawn with replacement, seeded) and its ratio to OLS there;
- AdaSSP's fit; and, with ``--sweep-splits K``, the wall time of K splits of the full Figure 2(a) grid on
  ``--jobs`` worker processes (scale by 100/K for the paper's protocol).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LinearRegression
from threadpoolctl import threadpool_limits

from defenses.linear import AdaSSPRegression, MIDLinearRegression, gaussian_mixture_entropy
from validation.engine import make_executor
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.3, 1.0, 3.0])
    parser.add_argument("--large", type=int, default=40_000, help="rows of the large MID fit (default 40000)")
    parser.add_argument("--sweep-splits", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of the timed sweep (default 2)")
    args = parser.parse_args()
    if args.repeat < 1 or args.sweep_splits < 0 or args.large < 2 or args.jobs < 1:
        parser.exit(2, "benchmarks/linear.py: error: --repeat, --jobs must be >= 1, --large >= 2, "
                       "--sweep-splits >= 0\n")

    threadpool_limits(1)
    p = IWPCProblem()
    X, y = p.X, p.y
    print(f"data: IWPC {X.shape[0]} rows x {X.shape[1]} features; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    t_ols = median_time(lambda: LinearRegression().fit(X, y), args.repeat * 20)
    print(f"sklearn LinearRegression.fit: {t_ols * 1e3:.2f} ms")

    pred = LinearRegression().fit(X, y).predict(X)
    sigma = float(np.sqrt(np.mean((y - pred) ** 2)))
    t_exact = median_time(lambda: gaussian_mixture_entropy(pred, sigma, method="exact", return_grad=True),
                          max(1, args.repeat // 2))
    t_fast = median_time(lambda: gaussian_mixture_entropy(pred, sigma, return_grad=True), args.repeat * 20)
    print(f"H0 value+gradient exact, N={len(pred)} ({len(pred) ** 2 / 1e6:.1f}M pairs): {t_exact * 1e3:.1f} ms")
    print(f"H0 value+gradient chebyshev (auto), N={len(pred)}: {t_fast * 1e3:.2f} ms")
    print(f"ratio H0 exact / chebyshev: {t_exact / t_fast:.0f}")

    for lam in args.lambdas:
        model = MIDLinearRegression(mid_lambda=lam)
        t_mid = median_time(lambda m=model: m.fit(X, y), args.repeat)
        print(f"MIDLinearRegression(mid_lambda={lam:g}).fit: {t_mid * 1e3:.1f} ms "
              f"({model.n_iter_} L-BFGS iterations)")
        print(f"ratio MID(mid_lambda={lam:g}) / sklearn LinearRegression: {t_mid / t_ols:.1f}")
    exact = MIDLinearRegression(mid_lambda=1.0, entropy_method="exact")
    start = time.perf_counter()
    exact.fit(X, y)
    t_mid_exact = time.perf_counter() - start
    print(f"MIDLinearRegression(mid_lambda=1, entropy_method='exact').fit: {t_mid_exact * 1e3:.0f} ms "
          f"({exact.n_iter_} L-BFGS iterations, one run)")
    print(f"ratio MID exact(mid_lambda=1) / sklearn LinearRegression: {t_mid_exact / t_ols:.0f}")

    rows = np.random.default_rng(0).integers(0, len(y), size=args.large)
    X_big, y_big = X[rows], y[rows]
    t_ols_big = median_time(lambda: LinearRegression().fit(X_big, y_big), args.repeat * 4)
    big = MIDLinearRegression(mid_lambda=1.0)
    t_big = median_time(lambda: big.fit(X_big, y_big), max(1, args.repeat // 2))
    print(f"MIDLinearRegression(mid_lambda=1).fit, N={args.large} (IWPC rows resampled): {t_big:.2f} s "
          f"({big.n_iter_} L-BFGS iterations)")
    print(f"ratio MID(mid_lambda=1, N={args.large}) / sklearn LinearRegression: {t_big / t_ols_big:.1f}")

    ada = AdaSSPRegression(epsilon=1.0, x_bound=p.x_bound, y_bound=p.y_bound, random_state=0)
    t_ada = median_time(lambda: ada.fit(X, y), args.repeat * 20)
    print(f"AdaSSPRegression(epsilon=1).fit: {t_ada * 1e3:.2f} ms")
    print(f"ratio AdaSSP / sklearn LinearRegression: {t_ada / t_ols:.2f}")

    if args.sweep_splits:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_linear_sweep(Path(tmp) / "runs.json", n_splits=args.sweep_splits, progress=False,
                             executor=make_executor(args.jobs), **FULL_GRID)
            wall = time.perf_counter() - start
        print(f"Figure 2(a) full grid, {args.sweep_splits} splits on {args.jobs} processes: {wall:.1f} s "
              f"(x{100 / args.sweep_splits:g} for 100 splits: {wall * 100 / args.sweep_splits / 60:.1f} min); "
              f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
