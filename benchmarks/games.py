"""Speed of the security-game simulators and exact evaluators (issues 3 and 14).

Prints ``name: value unit`` lines:

- wall time of the exact IND game (``exact(digits=50)``) for the Laplace and geometric counts at
  n = 1e3, 1e4 and 1e5 (targets: under 2 s at n = 1e4, under 30 s at n = 1e5), and of the extremal
  mechanism's exact solution at n = 1e4;
- the binomial law of the count at n = 2000 and 5000 built in exact fractions (the peer: what the exact
  games used to do) and by the mpmath recurrence, and their ratio;
- simulated IND rounds per second for the Laplace count at n = 100 (statistic drawn from its binomial law,
  likelihood-ratio adversary), with 1 and 2 worker threads, against a peer written the obvious numpy way
  (draw the n records of every training set, count, add ``rng.laplace`` noise, threshold);
- the RNG limit for the same draws (issue 24, item 6: target ratio >= 0.7): the generator calls alone that
  produce exactly the simulation's random numbers — per block of ``2^21`` rounds a spawned generator's
  ``binomial`` for the world sizes, one uniform per round (the count's alias draw) and two standard
  exponentials per round (the Laplace noise) — written into a cache-resident buffer, the fastest way to
  obtain them. Simulation and limit run alternately (``--pairs`` times); the ratio limit / simulation is the
  median of the paired ratios, of process CPU time (what another process's load does not inflate) and of
  wall time.

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


def rng_limit(rounds: int, rng: np.random.Generator, block: int = 1 << 21, piece: int = 1 << 15) -> None:
    """Only the draws of ``IndistinguishabilityGame.simulate`` for a Laplace count with an alias-table law."""
    buf = np.empty(piece)
    for g, start in zip(rng.spawn(-(-rounds // block)), range(0, rounds, block)):
        m = min(block, rounds - start)
        g.binomial(m, 0.5)
        for draw in (g.random, g.standard_exponential, g.standard_exponential):
            for s in range(0, m, piece):
                draw(out=buf[:min(piece, m - s)])


def paired(a, b, pairs: int) -> tuple[float, float, float, float]:
    """Alternate ``a()`` and ``b()``; best CPU seconds of each and the medians of the paired b/a ratios
    of CPU time and of wall time."""
    cpu_a, cpu_b, r_cpu, r_wall = [], [], [], []
    for _ in range(pairs):
        times = []
        for fn in (a, b):
            c, w = time.process_time(), time.perf_counter()
            fn()
            times.append((time.process_time() - c, time.perf_counter() - w))
        cpu_a.append(times[0][0])
        cpu_b.append(times[1][0])
        r_cpu.append(times[1][0] / times[0][0])
        r_wall.append(times[1][1] / times[0][1])
    return min(cpu_a), min(cpu_b), float(np.median(r_cpu)), float(np.median(r_wall))


def mpmath_law(p, n: int) -> None:
    """The count's law by the O(n) recurrence (the current code), at 50 digits plus guard digits."""
    from mitheory.mechanisms import guard_digits

    with mpmath.workdps(50 + guard_digits(n)):
        statistic_law(CountStatistic(agreement_event()), p, n, arithmetic="mpmath")


def main() -> None:
    ap = argparse.ArgumentParser(description="Speed of the exact and simulated security games.")
    ap.add_argument("--rounds", type=int, default=20_000_000)
    ap.add_argument("--max-seconds", type=float, default=120.0)
    ap.add_argument("--pairs", type=int, default=5, help="alternating simulation / RNG-limit runs (default 5)")
    ap.add_argument("--only-ind", action="store_true", help="only the simulation against its RNG limit")
    args = ap.parse_args()
    p = correlated_bits()
    stat = CountStatistic(agreement_event())
    if args.only_ind:
        ind_vs_limit(p, stat, args)
        return

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
    ind_vs_limit(p, stat, args)


def ind_vs_limit(p, stat, args) -> None:
    """The one-thread simulation of the Laplace count at n = 100 against the RNG limit of its draws."""
    ind = IndistinguishabilityGame(p, LaplaceCount(1.0, stat), 100)
    adv = ind.optimal_adversary()
    ind.simulate(adv, 100_000, 0)  # warm the alias table
    cpu_sim, cpu_lim, r_cpu, r_wall = paired(lambda: ind.simulate(adv, args.rounds, np.random.default_rng(1)),
                                             lambda: rng_limit(args.rounds, np.random.default_rng(1)), args.pairs)
    print(f"ind_sim_laplace_n100_workers1_cpu: {args.rounds / cpu_sim:.4g} rounds per CPU second")
    print(f"rng_limit_same_draws_cpu: {args.rounds / cpu_lim:.4g} rounds per CPU second")
    print(f"ratio_sim_to_rng_limit: {r_cpu:.3f} (CPU time), {r_wall:.3f} (wall); median of {args.pairs} pairs, "
          f"target >= 0.7")
    print(f"load_average_1min: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} cpus)")


if __name__ == "__main__":
    main()
