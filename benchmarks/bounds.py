"""Benchmark of mitheory.bounds: whole-process time of the main command and per-call cost of the bounds.

Run: ``python benchmarks/bounds.py [--repeat 15]``. Prints ``name: value unit`` lines. The main command's
whole-process time is compared with ``python -c "import mpmath"`` measured in the same run (target: ratio
under 2); each bound call at 50 digits should take under 1 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import timeit

from mitheory.bounds import paper_bound, tight_bound


def process_time(cmd: list[str], repeat: int) -> float:
    """Median wall time of running ``cmd`` to completion, in seconds (after one warm-up run)."""
    subprocess.run(cmd, check=True, capture_output=True)
    times = []
    for _ in range(repeat):
        start = timeit.default_timer()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(timeit.default_timer() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    main_cmd = [sys.executable, "-m", "mitheory.bounds", "--eps", "0.1", "--n", "1000"]
    peer_cmd = [sys.executable, "-c", "import mpmath"]
    t_main = process_time(main_cmd, args.repeat)
    t_peer = process_time(peer_cmd, args.repeat)
    print(f"main command (--eps 0.1 --n 1000) whole process: {t_main * 1e3:.1f} ms")
    print(f"python -c 'import mpmath' whole process: {t_peer * 1e3:.1f} ms")
    print(f"ratio main command / import mpmath: {t_main / t_peer:.2f}")

    for f in (paper_bound, tight_bound):
        for n in (10**3, 10**12):
            for delta in (0, 1e-5):
                timer = timeit.Timer(lambda: f(0.1, n, delta, digits=50))
                number, _ = timer.autorange()
                best = min(timer.repeat(repeat=5, number=number)) / number
                print(f"{f.__name__}(eps=0.1, n={n:.0e}, delta={delta:g}, digits=50): {best * 1e6:.0f} us")


if __name__ == "__main__":
    main()
