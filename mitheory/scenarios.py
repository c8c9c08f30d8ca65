"""The built-in scenarios of ``python -m mitheory.games``: small games that show each result of
docs/theory.md, exactly and by simulation.

Each :class:`Scenario` builds a :class:`~mitheory.games.SemanticMIGame` (and with it the IND game) and
names the options it takes; :func:`run_scenario` evaluates it exactly, simulates the IND game and checks
Theorems 1 and 2 as printed and as corrected. Sizes are checked against a cost model before anything
runs, so a request that could not finish is refused with its estimated time and memory.

Imports run one way: :mod:`mitheory.games_cli` → this module → :mod:`mitheory.theorems` →
:mod:`mitheory.games`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from mitheory.adversaries import CallableAdversary, PluginAdversary, RegionGuessAdversary
from mitheory.cli import human_bytes, human_seconds
from mitheory.distributions import FiniteDistribution, UniformDiagonal, agreement_event, disagreement_event
from mitheory.games import DEFAULT_DIGITS, SemanticMIGame
from mitheory.mechanisms import (
    Constant,
    CountStatistic,
    ExtremalMechanism,
    GeometricCount,
    HistogramStatistic,
    LaplaceCount,
    Memorizer,
    RandomizedResponse,
)
from mitheory.theorems import check_theorem1, check_theorem2

__all__ = ["Scenario", "SCENARIOS", "build_scenario", "run_scenario", "estimate_cost", "MAX_SECONDS",
           "MAX_BYTES"]

MAX_SECONDS = 900.0
"""run_scenario refuses requests whose estimated run time exceeds this (15 minutes)."""
MAX_BYTES = 4 * 2**30
"""… or whose estimated memory exceeds this (4 GiB)."""
_SIM_ROUNDS_PER_SECOND = 2e6  # a conservative rate of the vectorized IND simulator on one core


@dataclass(frozen=True)
class Scenario:
    """A built-in game.

    Attributes
    ----------
    name, summary : str
    builder : callable ``(n, eps, delta) -> {"game": SemanticMIGame, "attack": adversary or None}``
    uses_eps, uses_delta : bool
        Whether ``--eps`` / ``--delta`` apply (passing one that does not apply is an error).
    max_n : int or None
        Largest n the exact evaluation allows (the memorizer enumerates training histograms).
    seconds_per_record, bytes_per_record : float
        Cost model of a whole run (exact evaluation, theorem checks, likelihood-ratio adversary), linear
        in n: ``python -m mitheory.games run SCENARIO --n 100000`` measured on a shared 2-core machine,
        rounded up (the theorem-1 counterexample's constant model costs nothing per record).
    """

    name: str
    summary: str
    builder: Callable[[int, Any, Any], dict]
    uses_eps: bool
    uses_delta: bool
    max_n: int | None = None
    seconds_per_record: float = 1e-4
    bytes_per_record: float = 4e3

    def options(self) -> str:
        """The options this scenario takes, for help texts."""
        opts = ["--n N" + (f" (<= {self.max_n})" if self.max_n else "")]
        if self.uses_eps:
            opts.append("--eps E")
        if self.uses_delta:
            opts.append("--delta D")
        return " ".join(opts)


def _correlated_bits() -> FiniteDistribution:
    """``Y`` a uniform bit, ``X_s = Y`` with probability 3/4 (no ``x_ns``)."""
    f = Fraction
    return FiniteDistribution(
        {((), 0, 0): f(3, 8), ((), 1, 1): f(3, 8), ((), 1, 0): f(1, 8), ((), 0, 1): f(1, 8)}
    )


def _copy_label(models, x_ns, y):
    """A*(f, y) = y."""
    return np.asarray(y)


def _sc_counterexample(n, eps, delta):
    f = Fraction
    p = FiniteDistribution({((), 0, 0): f(1, 2), ((), 1, 1): f(1, 2)})
    return {"game": SemanticMIGame(p, Constant(0), n), "attack": CallableAdversary(_copy_label, name="A*(f, y) = y")}


def _sc_rr(n, eps, delta):
    mech = RandomizedResponse(eps, CountStatistic(agreement_event()))

    def attack(models, x_ns, y):  # trust the released bit: "most records have x_s = y"
        return np.where(np.asarray(models) == 1, y, 1 - np.asarray(y))

    return {"game": SemanticMIGame(_correlated_bits(), mech, n),
            "attack": CallableAdversary(attack, name="y if bit else 1 - y")}


def _sc_geometric(n, eps, delta):
    mech = GeometricCount(eps, CountStatistic(agreement_event()))

    def attack(models, x_ns, y):
        return np.where(np.asarray(models) > n / 2, y, 1 - np.asarray(y))

    return {"game": SemanticMIGame(_correlated_bits(), mech, n),
            "attack": CallableAdversary(attack, name="y if count > n/2 else 1 - y")}


def _sc_laplace(n, eps, delta):
    mech = LaplaceCount(eps, CountStatistic(agreement_event()))
    attack = RegionGuessAdversary([n / 2], [lambda x_ns, y: 1 - np.asarray(y), lambda x_ns, y: np.asarray(y)])
    return {"game": SemanticMIGame(_correlated_bits(), mech, n), "attack": attack}


def _sc_extremal(n, eps, delta):
    mech = ExtremalMechanism(eps, delta, CountStatistic(disagreement_event()))
    return {"game": SemanticMIGame(UniformDiagonal(), mech, n), "attack": None}


def _sc_memorizer(n, eps, delta):
    p = _correlated_bits()
    stat = HistogramStatistic(p.decorrelated().records)
    return {"game": SemanticMIGame(p, Memorizer(stat), n), "attack": PluginAdversary(stat)}


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario("theorem1-counterexample",
                 "constant model, X_s = Y a uniform bit, A*(f, y) = y: printed Theorem 1 fails "
                 "(docs/theory.md 1.1)",
                 _sc_counterexample, False, False, seconds_per_record=0.0, bytes_per_record=0.0),
        Scenario("randomized-response",
                 "eps-DP randomized response on 1[#{x_s = y} > n/2], X_s = Y w.p. 3/4",
                 _sc_rr, True, False, seconds_per_record=1.5e-4, bytes_per_record=2.5e3),
        Scenario("geometric-count",
                 "eps-DP two-sided geometric count of {x_s = y}, clipped to [0, n], X_s = Y w.p. 3/4",
                 _sc_geometric, True, False, seconds_per_record=2e-4, bytes_per_record=2.5e3),
        Scenario("laplace-count",
                 "eps-DP Laplace count of {x_s = y}, X_s = Y w.p. 3/4 (real-valued model)",
                 _sc_laplace, True, False, seconds_per_record=1e-4, bytes_per_record=2.5e3),
        Scenario("extremal",
                 "(eps, delta)-DP extremal mechanism g^-c(U), Y ~ U(0,1), X_s = Y: attains the tight bound "
                 "(docs/theory.md 3.5)",
                 _sc_extremal, True, True, seconds_per_record=6e-4, bytes_per_record=2.5e3),
        Scenario("memorizer",
                 "releases the training histogram (no privacy); model-only plug-in attacker, X_s = Y w.p. 3/4",
                 _sc_memorizer, False, False, 40),
    ]
}


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or int(n) < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return int(n)


def estimate_cost(name: str, n: int, rounds: int) -> tuple[float, float, float]:
    """Estimated (seconds of exact evaluation, bytes of memory, seconds of simulation) of a run."""
    sc = SCENARIOS[name]
    return n * sc.seconds_per_record, n * sc.bytes_per_record + 64 * 2**20, rounds / _SIM_ROUNDS_PER_SECOND


def _check_cost(name: str, n: int, rounds: int) -> None:
    exact_s, size, sim_s = estimate_cost(name, n, rounds)
    if exact_s > MAX_SECONDS or size > MAX_BYTES:
        sc = SCENARIOS[name]
        n_max = int(min(MAX_SECONDS / sc.seconds_per_record, (MAX_BYTES - 64 * 2**20) / sc.bytes_per_record))
        raise ValueError(
            f"--n {n}: the exact evaluation of {name} would take about {human_seconds(exact_s)} and "
            f"{human_bytes(size)} of memory (limits {human_seconds(MAX_SECONDS)}, {human_bytes(MAX_BYTES)}); "
            f"use --n <= {n_max:.2g}")
    if sim_s > MAX_SECONDS:
        raise ValueError(
            f"--rounds {rounds}: the simulation would take about {human_seconds(sim_s)} (at about "
            f"{_SIM_ROUNDS_PER_SECOND:.0e} rounds/s; limit {human_seconds(MAX_SECONDS)}); use --rounds <= "
            f"{int(MAX_SECONDS * _SIM_ROUNDS_PER_SECOND):.2g}")


def _check_eps(eps: Any) -> Any:
    try:
        e = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"eps must be a number, got {eps!r}") from None
    if not (e > 0 and math.isfinite(e)):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    return eps


def _check_delta(delta: Any) -> Any:
    try:
        d = float(delta)
    except (TypeError, ValueError):
        raise ValueError(f"delta must be a number, got {delta!r}") from None
    if not 0.0 <= d < 1.0:
        raise ValueError(f"delta must lie in [0, 1), got {delta!r}")
    return delta


def build_scenario(name: str, n: int = 10, eps: Any = None, delta: Any = None) -> dict:
    """Build a built-in scenario: ``{"game": SemanticMIGame, "attack": semantic adversary or None}``.

    ``eps`` (default 1) and ``delta`` (default 0) may only be given to scenarios that use them.
    """
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}")
    sc = SCENARIOS[name]
    n = _check_n(n)
    if sc.max_n is not None and n > sc.max_n:
        raise ValueError(f"scenario {name!r} enumerates training histograms exactly; use n <= {sc.max_n}")
    if eps is not None and not sc.uses_eps:
        raise ValueError(f"scenario {name!r} has no epsilon (--eps applies to: "
                         + ", ".join(s.name for s in SCENARIOS.values() if s.uses_eps) + ")")
    if delta is not None and not sc.uses_delta:
        raise ValueError(f"scenario {name!r} is pure DP (--delta applies to: "
                         + ", ".join(s.name for s in SCENARIOS.values() if s.uses_delta) + ")")
    eps = _check_eps(1.0 if eps is None else eps)
    delta = _check_delta(0.0 if delta is None else delta)
    return sc.builder(n, eps, delta)


def run_scenario(
    name: str, n: int = 10, eps: Any = None, delta: Any = None, rounds: int = 1_000_000, seed: int = 0,
    *, digits: int = DEFAULT_DIGITS,
) -> dict:
    """Run a built-in scenario: exact values, a seeded simulation of the IND game and both theorem checks.

    Returns a JSON-ready dict with the keys ``scenario, n, eps, delta, exact, estimate, ci_low, ci_high,
    rounds, paper_gain, tight_gain, theorem1_printed_holds, theorem1_corrected_holds, theorem2_holds``
    (``exact``: the exact ``max_A gain^IND``; ``estimate``/``ci_*``: the simulated gain of the
    likelihood-ratio adversary), plus ``refined_gain``, ``tv_pq``, ``ind_tv``, a ``semantic`` block and the
    check of the declared privacy (``declared_privacy_holds``, ``exact_eps`` — None when infinite or unknown —,
    ``exact_delta`` at the declared ε, and its one-line ``privacy`` summary).
    Theorem 1 entries are None when the semantic game is not finite (``extremal``); ``eps`` is None for
    the non-private memorizer (ε = ∞). Requests whose estimated time or memory exceed
    :data:`MAX_SECONDS` / :data:`MAX_BYTES` raise ValueError with the estimate, before any work.
    """
    setup = build_scenario(name, n, eps, delta)
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 1:
        raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    _check_cost(name, int(n), int(rounds))
    sc = SCENARIOS[name]
    eps = 1.0 if eps is None else eps
    delta = 0.0 if delta is None else delta
    game: SemanticMIGame = setup["game"]
    ind = game.ind
    t2 = check_theorem2(ind, digits=digits)
    sim = ind.simulate(ind.optimal_adversary(), int(rounds), np.random.default_rng(int(seed)))
    out: dict[str, Any] = {
        "scenario": name,
        "n": game.n,
        "eps": float(eps) if sc.uses_eps else (None if isinstance(game.mechanism, Memorizer) else 0.0),
        "mechanism": repr(game.mechanism),
        "delta": float(delta) if sc.uses_delta else 0.0,
        "exact": float(t2.max_gain),
        "estimate": sim.estimate,
        "ci_low": sim.ci_low,
        "ci_high": sim.ci_high,
        "rounds": int(rounds),
        "paper_gain": float(t2.paper.gain),
        "tight_gain": float(t2.tight.gain),
        "refined_gain": float(t2.refined.gain),
        "paper_vacuous": bool(t2.paper.vacuous),
        "tv_pq": float(t2.tv_pq),
        "ind_tv": float(t2.tv),
        "theorem2_holds": bool(t2.holds),
        "declared_privacy_holds": t2.declared_holds,
        "exact_eps": None if t2.privacy.exact_eps is None or mpmath.isinf(t2.privacy.exact_eps)
        else float(t2.privacy.exact_eps),
        "exact_delta": None if t2.privacy.exact_delta is None else float(t2.privacy.exact_delta),
        "privacy": t2.privacy.summary(),
        "theorem2_paper_strictly_loose": bool(t2.paper_strictly_loose),
        "theorem1_printed_holds": None,
        "theorem1_corrected_holds": None,
        "semantic": None,
        "_theorem1": None,
        "_theorem2": t2,
    }
    if setup["attack"] is not None:
        t1 = check_theorem1(game, setup["attack"], digits=digits)
        e = t1.exact
        out["theorem1_printed_holds"] = bool(t1.printed_holds)
        out["theorem1_corrected_holds"] = bool(t1.corrected_holds and t1.sharp_holds)
        out["theorem1_decomposition_holds"] = bool(t1.decomposition_holds)
        out["semantic"] = {
            "attack": repr(setup["attack"]),
            "gain": float(e.gain),
            "baseline": float(e.baseline),
            "adv_sem": float(e.advantage),
            "adv_corrected": float(e.corrected_advantage),
            "best_gain_eq7": float(e.best_gain),
            "delta_star": float(e.delta_star),
            "rhs_2maxgain_minus_1": float(e.tv_models),
            "sharp_bound": float(t1.sharp_bound),
            "decomposition_bound": float(t1.decomposition_bound),
        }
        out["_theorem1"] = t1
    return out
