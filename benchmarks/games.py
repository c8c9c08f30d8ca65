"""Speed of the security-game simulators and exact evaluators (issue 3).

Prints ``name: value unit`` lines:

- simulated IND rounds per second for the Laplace-count mechanism at n = 100 (statistic drawn from its
  binomial law, likelihood-ratio adversary), with 1 and 2 worker threads;
- the same for a peer written the obvious numpy way (draw the n records of every training set, count,
  add ``rng.laplace`` noise, threshold) and the ratio;
- wall time of ``exact()`` at n = 500 for the Laplace and geometric counts, and of the extremal
  mechanism's exact solution at n = 100.

Run: ``python benchmarks/games.py [--rounds R]``. Timings share the machine with whatever else runs; the
load average is printed alongside.
"""

from __future__ import annotations

import argparse
import os
import time
from fractions import Fraction

import numpy as np

from mitheory.distributions import FiniteDistribution, UniformDiagonal, agreement_event, disagreement_event
from mitheory.games import IndistinguishabilityGame
from mitheory.mechanisms import CountStatistic, ExtremalMechanism, GeometricCount, LaplaceCount


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20_000_000)
    args = ap.parse_args()
    n, eps = 100, 1.0
    p = correlated_bits()
    ind = IndistinguishabilityGame(p, LaplaceCount(eps, CountStatistic(agreement_event())), n)
    adv = ind.optimal_adversary()
    ind.simulate(adv, 100_000, 0)  # warm the alias table
    for workers in (1, 2):
        t = best_of(lambda: ind.simulate(adv, args.rounds, np.random.default_rng(1), workers=workers))
        rate = args.rounds / t
        print(f"ind_sim_laplace_n100_workers{workers}: {rate:.4g} rounds/s")
    peer_n = max(args.rounds // 20, 100_000)
    thr = float(adv._impl.breaks[0])
    t_peer = best_of(lambda: peer_rounds(peer_n, n, eps, thr, np.random.default_rng(2)), repeat=1)
    peer_rate = peer_n / t_peer
    print(f"peer_numpy_records_n100: {peer_rate:.4g} rounds/s")
    t1 = best_of(lambda: ind.simulate(adv, args.rounds, np.random.default_rng(1)), repeat=1)
    print(f"ratio_vs_peer_workers1: {args.rounds / t1 / peer_rate:.3g} x")

    lap500 = IndistinguishabilityGame(p, LaplaceCount(eps, CountStatistic(agreement_event())), 500)
    print(f"exact_laplace_n500: {best_of(lambda: lap500.exact(digits=50)):.4g} s")
    geo500 = IndistinguishabilityGame(p, GeometricCount(eps, CountStatistic(agreement_event())), 500)
    print(f"exact_geometric_n500: {best_of(lambda: geo500.exact(digits=50), repeat=1):.4g} s")
    ext = IndistinguishabilityGame(UniformDiagonal(), ExtremalMechanism(eps, 0.01, CountStatistic(disagreement_event())), 100)
    print(f"exact_extremal_n100: {best_of(lambda: ext.exact(digits=50), repeat=1):.4g} s")
    print(f"load_average_1min: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} cpus)")


if __name__ == "__main__":
    main()
