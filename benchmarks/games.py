"""Speed of the security-game simulators and exact evaluators (issues 3 and 14).

Prints ``name: value unit`` lines:

- wall time of the exact IND game (``exact(digits=50)``) for the Laplace and geometric counts at
  n = 1e3, 1e4 and 1e5 (targets: under 2 s at n = 1e4, under 30 s at n = 1e5), and of the extremal
  mechanism's exact solution at n = 1e4;
- the binomial law of the count at n = 2000 and 5000 built in exact fractions (the peer: what the exact
  games used to do) and by the mpmath recurrence, and their ratio;
- simulated IND rounds per second for the Laplace count at n = 100 (statistic drawn from its binomial law,
  likelihood-ratio adversary), with 1 and 2 worker threads, against a peer written the obvious numpy way
  (draw the n records of every training set, count, add ``rng.laplace`` noise, threshold).

Run: ``python benchmarks/games.py [--rounds R] [--max-seconds S]``. A size is skipped (and said so) when
ten times the previous size's time exceeds ``--max-seconds``, so the script also finishes on
an older checkout whose exact games grow quadratically. Timings share the machine with whatever else
runs; the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import os
import time
from fractions import Fraction

import mpmath
import numpy as np

from mitheory.distributions import FiniteDistribution, UniformDiagonal, agreement_event, disagreement_event
from mitheory.games import IndistinguishabilityGame
from mitheory.mechanisms import CountStatistic, ExtremalMechanism, GeometricCount, LaplaceCount, statistic_law


def correlated_bits() -> FiniteDistribution:
    f = Fraction
    return FiniteDistribution({((), 0, 0): f(3, 8), ((), 1, 1): f(3, 8), ((), 1, 0): f(1, 8), ((), 0, 1): f(1, 8)})


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def peer_rounds(rounds: int, n: int, eps: float, threshold: float, rng: np.random.Generator) -> int:
    """Obvious numpy IND simulation: draw every record of every training set."""
    wins, chunk = 0, 100_000
    for start in range(0, rounds, chunk):
        m = min(chunk, rounds - start)
        b = rng.random(m) < 0.5
        theta = np.where(b, 0.5, 0.75)  # p(x_s = y) under q and under p
        counts = (rng.random((m, n)) < theta[:, None]).sum(axis=1)
        x = counts + rng.laplace(0.0, 1.0 / eps, m)
        wins += int(np.count_nonzero((x <= threshold) == b))
    return wins


def mpmath_law(p, n: int) -> None:
    """The count's law by the O(n) recurrence (the current code), at 50 digits plus guard digits."""
    from mitheory.mechanisms import guard_digits

    with mpmath.workdps(50 + guard_digits(n)):
        statistic_law(CountStatistic(agreement_event()), p, n, arithmetic="mpmath")


def main() -> None:
    ap = argparse.ArgumentParser(description="Speed of the exact and simulated security games.")
    ap.add_argument("--rounds", type=int, default=20_000_000)
    ap.add_argument("--max-seconds", type=float, default=120.0)
    args = ap.parse_args()
    p = correlated_bits()
    stat = CountStatistic(agreement_event())

    for name, mech in (("laplace", LaplaceCount(0.001, stat)), ("geometric", GeometricCount(0.001, stat))):
        previous = 0.0
        for n in (1_000, 10_000, 100_000):
            if previous * 10 > args.max_seconds:  # at least 10x the previous size's time
                print(f"exact_{name}_n{n}: skipped (n = {n // 10} took {previous:.3g} s; at least "
                      f"{previous * 10:.3g} s expected)")
                continue
            game = IndistinguishabilityGame(p, mech, n)
            previous = best_of(lambda: game.exact(digits=50), repeat=1)
            print(f"exact_{name}_n{n}: {previous:.4g} s")
    ext = IndistinguishabilityGame(UniformDiagonal(), ExtremalMechanism(0.001, 1e-6, CountStatistic(
        disagreement_event())), 10_000)
    print(f"exact_extremal_n10000: {best_of(lambda: ext.exact(digits=50), repeat=1):.4g} s")

    for n in (2_000, 5_000):
        t_frac = best_of(lambda: statistic_law(stat, p, n), repeat=1)
        try:
            t_mp = best_of(lambda: mpmath_law(p, n))
        except (TypeError, ImportError):  # an older checkout has no mpmath law
            print(f"binomial_law_fraction_n{n}: {t_frac:.4g} s (no mpmath law in this checkout)")
            continue
        print(f"binomial_law_fraction_n{n}: {t_frac:.4g} s")
        print(f"binomial_law_mpmath_n{n}: {t_mp:.4g} s")
        print(f"ratio_fraction_law_over_mpmath_law_n{n}: {t_frac / t_mp:.3g} x")

    n, eps = 100, 1.0
    ind = IndistinguishabilityGame(p, LaplaceCount(eps, stat), n)
    adv = ind.optimal_adversary()
    ind.simulate(adv, 100_000, 0)  # warm the alias table
    for workers in (1, 2):
        t = best_of(lambda: ind.simulate(adv, args.rounds, np.random.default_rng(1), workers=workers))
        print(f"ind_sim_laplace_n100_workers{workers}: {args.rounds / t:.4g} rounds/s")
    peer_n = max(args.rounds // 20, 100_000)
    thr = float(adv._impl.breaks[0])
    t_peer = best_of(lambda: peer_rounds(peer_n, n, eps, thr, np.random.default_rng(2)), repeat=1)
    peer_rate = peer_n / t_peer
    print(f"peer_numpy_records_n100: {peer_rate:.4g} rounds/s")
    t1 = best_of(lambda: ind.simulate(adv, args.rounds, np.random.default_rng(1)), repeat=1)
    print(f"ratio_vs_peer_workers1: {args.rounds / t1 / peer_rate:.3g} x")
    print(f"load_average_1min: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} cpus)")


if __name__ == "__main__":
    main()
