"""Benchmark of mitheory.bounds: start-up of the main command against ``import mpmath``, and the cost of
the bounds, the refined bound and the inverse.

Run: ``python benchmarks/bounds.py [--repeat 21]``. Prints ``name: value unit`` lines. Targets (issues 14
and 15): the main command's whole process at most 1.2x ``python -c "import mpmath"`` measured in the same
run (the two are run alternately and the ratio is the median of the paired ratios, which cancels drifts of
the machine's load); ``required_epsilon(..., bound="tight")`` at 50 digits in about 50 ms or less for gains
in (1/2, 1), n up to 1e6 and delta in [0, 0.1]; ``refined_bound`` with delta > 0 at n = 1e5 and 1e6 and
with tiny eps and delta in milliseconds (it raised NoConvergence or took minutes before). The script
runs against whatever ``mitheory`` is importable, so it measures an older checkout too (failures are
printed, not raised).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import timeit


def process_pair(cmd: list[str], peer: list[str], repeat: int) -> tuple[float, float, float]:
    """Median wall times of ``cmd`` and ``peer`` run alternately, and the median of the paired ratios.

    The children run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` removed), as for a user: the
    warm-up run writes the ``.pyc`` files that mpmath's installed package already has.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for c in (cmd, peer):  # warm the page cache and write the .pyc files
        subprocess.run(c, check=True, capture_output=True, env=env)
    a, b = [], []
    for _ in range(repeat):
        for c, out in ((cmd, a), (peer, b)):
            start = timeit.default_timer()
            subprocess.run(c, check=True, capture_output=True, env=env)
            out.append(timeit.default_timer() - start)
    return statistics.median(a), statistics.median(b), statistics.median(x / y for x, y in zip(a, b))


def best_time(fn, repeat: int = 5) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number


def child(code: str, timeout: float) -> list[str]:
    """Run ``code`` (which prints ``name: value`` lines) in a fresh process; an older checkout may raise or
    never finish on the inputs the issues name, which is reported instead of stopping the benchmark."""
    try:
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        done = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return done.splitlines() + [f"... did not finish within {timeout:.0f} s"]
    lines = res.stdout.splitlines()
    if res.returncode:
        lines.append("... failed: " + (res.stderr.strip().splitlines() or ["?"])[-1][:120])
    return lines


_TIMED = """
import time
from mitheory.bounds import refined_bound, required_epsilon
def timed(label, fn):
    t = time.perf_counter()
    try:
        fn()
        print(f"{label}: {(time.perf_counter() - t) * 1e3:.1f} ms", flush=True)
    except Exception as exc:
        print(f"{label}: {type(exc).__name__} after {time.perf_counter() - t:.3g} s: {str(exc)[:60]}", flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark of mitheory.bounds (start-up, bounds, inverse).")
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed to each child run")
    args = parser.parse_args()

    from mitheory.bounds import paper_bound, tight_bound

    main_cmd = [sys.executable, "-m", "mitheory.bounds", "--eps", "0.1", "--n", "1000"]
    peer_cmd = [sys.executable, "-c", "import mpmath"]
    t_main, t_peer, ratio = process_pair(main_cmd, peer_cmd, args.repeat)
    print(f"main command (--eps 0.1 --n 1000) whole process: {t_main * 1e3:.1f} ms")
    print(f"python -c 'import mpmath' whole process: {t_peer * 1e3:.1f} ms")
    print(f"ratio main command / import mpmath (median of {args.repeat} pairs): {ratio:.3f} (target <= 1.2)")

    for f in (paper_bound, tight_bound):
        for n in (10**3, 10**12):
            for delta in (0, 1e-5):
                best = best_time(lambda: f(0.1, n, delta, digits=50))
                print(f"{f.__name__}(eps=0.1, n={n:.0e}, delta={delta:g}, digits=50): {best * 1e6:.0f} us")

    survey = _TIMED + """
worst, where, errors = 0.0, None, 0
for g in ("0.5000001", "0.51", "0.6", "0.75", "0.9", "0.99", "0.999999"):
    for n in (10, 1000, 10**6):
        for delta in ("0", "1e-9", "1e-3", "0.1"):
            t = time.perf_counter()
            try:
                required_epsilon(g, n, delta, bound="tight", digits=50)
            except Exception:
                errors += 1
            t = time.perf_counter() - t
            if t > worst:
                worst, where = t, (g, n, delta)
print(f"required_epsilon(bound='tight', digits=50) worst over 84 (gain, n, delta): {worst * 1e3:.1f} ms at {where}; "
      f"{errors} raised")
"""
    print("\n".join(child(survey, args.timeout)))
    print("\n".join(child(_TIMED + """
timed("required_epsilon('0.55000000000000000001', 10, '0.01', digits=12)",
      lambda: required_epsilon("0.55000000000000000001", 10, "0.01", digits=12))
""", 60)))
    for eps, n, delta, tv in (("0.01", 10**5, "1e-6", "0.3"), ("0.01", 10**6, "1e-6", "0.3"),
                              ("1e-5", 10**5, "1e-9", "0.5"), ("0.001", 50_000, "1e-4", "0.001")):
        label = f"refined_bound(eps={eps}, n={n:.0e}, delta={delta}, tv={tv}, digits=30)"
        print("\n".join(child(_TIMED + f"timed({label!r}, lambda: refined_bound({eps!r}, {n}, {delta!r}, {tv!r}, "
                                         f"digits=30))", args.timeout)))
    print(f"load_average_1min: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} cpus)")


if __name__ == "__main__":
    main()
