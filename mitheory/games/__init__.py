"""The paper's security games, exact and simulated: Experiment 1 (semantic MI) and Experiment 2 (IND).

- :class:`SemanticMIGame` ``(p, M, n, τ)``: the server draws ``S ~ p^n``, trains ``f = M(S)``, draws a
  challenge ``z = (x_ns, x_s, y) ~ p`` and the adversary, given ``(f, x_ns, y)``, guesses ``τ(x_s)``
  (Eq. 6). :meth:`SemanticMIGame.exact` returns the gain, the printed advantage ``Adv^SEM`` of Eq. 8
  (baseline: the same game over ``q = p(X_s) × p(X_ns, Y)``), the corrected advantage ``Adv′`` of
  docs/theory.md §1.3 (only the training set is drawn from ``q``), the best possible gain ``G_p`` (Eq. 7)
  and the constants of §1.3–1.4.
- :class:`IndistinguishabilityGame` ``(p, M, n)``: ``b`` uniform, ``S ~ p^n`` if ``b = 0`` else ``q^n``,
  the adversary sees ``f = M(S)`` and outputs ``b′``. ``max_A gain^IND = (1 + TV(M(p^n), M(q^n)))/2``.
- :func:`gamma_exact` / :func:`gamma_simulate`: ``γ = 1 − Pr[S ∩ S′ = ∅]`` of Eq. 11 (docs/theory.md §6).

Exact evaluation never enumerates datasets: it sums over the values of the mechanism's statistic (a
count has ``n + 1`` values with binomial probabilities). For counts the law is built by an O(n)
recurrence in mpmath with guard digits chosen from n, and the Laplace and geometric solvers are O(n), so
``n = 10^5`` takes seconds (exact rationals are kept up to n = 300, see :meth:`IndistinguishabilityGame.exact`).
Simulation is vectorized over rounds — the statistic is drawn from its binomial/multinomial law — and
returns the estimate with a Clopper–Pearson interval.

The built-in scenarios live in :mod:`mitheory.scenarios` and the command line
(``python -m mitheory.games list | run SCENARIO …``) in :mod:`mitheory.games_cli`; this module imports
neither, so the imports run one way: games_cli → scenarios → theorems → games.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from mitheory.adversaries import BayesAdversary, LikelihoodRatioAdversary, RegionGuessAdversary
from mitheory.distributions import FiniteDistribution, UniformDiagonal, unify_exact
from mitheory.mechanisms import (
    Mechanism,
    from_fixed,
    guard_digits,
    resolution_digits,
    output_law,
    sample_statistic,
    statistic_law,
    to_fixed,
)
from mitheory.privacy import PrivacyCheck, check_declared_privacy
from mitheory.rng import as_generator
from mitheory.stats import clopper_pearson

__all__ = [
    "SimulationResult",
    "INDExact",
    "SemanticExact",
    "IndistinguishabilityGame",
    "SemanticMIGame",
    "gamma_exact",
    "gamma_simulate",
    "resolve_arithmetic",
    "FRACTION_MAX_N",
]

DEFAULT_DIGITS = 50
_CHUNK = 1 << 22
_BLOCK = 1 << 21


# ----------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class SimulationResult:
    """A Monte Carlo estimate of a game's gain with its exact (Clopper–Pearson) interval.

    Attributes
    ----------
    estimate : float
        ``wins / rounds``.
    ci_low, ci_high : float
        Two-sided ``1 − alpha`` Clopper–Pearson interval.
    wins, rounds : int
    alpha : float
    """

    estimate: float
    ci_low: float
    ci_high: float
    wins: int
    rounds: int
    alpha: float

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in the interval."""
        return self.ci_low <= float(value) <= self.ci_high


def _result(wins: int, rounds: int, alpha: float) -> SimulationResult:
    lo, hi = clopper_pearson(int(wins), int(rounds), alpha)
    return SimulationResult(wins / rounds, float(lo), float(hi), int(wins), int(rounds), float(alpha))


@dataclass(frozen=True)
class INDExact:
    """Exact values of the IND game (Experiment 2).

    Attributes
    ----------
    gain : exact number or None
        ``gain^IND`` of the given adversary (None when no adversary was given).
    max_gain : exact number
        ``max_A gain^IND = (1 + tv)/2`` (the likelihood-ratio adversary).
    tv : exact number
        ``TV(M(p^n), M(q^n)) = 2·max_gain − 1``, the right-hand side of Theorem 1 (Eq. 10).
    """

    gain: Any
    max_gain: Any
    tv: Any

    @property
    def advantage(self) -> Any:
        """``2·max_gain − 1``."""
        return self.tv


@dataclass(frozen=True)
class SemanticExact:
    """Exact values of the semantic MI game (Experiment 1) for one adversary ``A``.

    Notation of docs/theory.md §1: ``gain(A; r, s)`` trains on ``S ~ r^n`` and challenges with ``z ~ s``.

    Attributes
    ----------
    gain : ``gain^SEM(A, M, p, τ) = gain(A; p, p)`` (Eq. 6).
    baseline : ``gain^SEM(A, M, q, τ) = gain(A; q, q)``, the baseline of Eq. 8.
    advantage : ``Adv^SEM = gain − baseline`` (Eq. 8, as printed).
    gain_q_train : ``gain(A; q, p)`` (training set from ``q``, challenge from ``p``).
    corrected_advantage : ``Adv′ = gain(A; p, p) − gain(A; q, p)`` (Theorem 1′).
    delta : ``Δ(A) = gain(A; q, p) − gain(A; q, q)``, so ``Adv^SEM = Adv′ + Δ(A)`` (§1.4).
    best_gain : ``G_p = E max_v p(τ=v | x_ns, y)``, the best possible gain (Eq. 7).
    best_baseline : ``G_q = max_v p(τ = v)``.
    worst_gain : ``L_p = E min_v p(τ=v | x_ns, y)``.
    delta_star : ``Δ* = E_p max_v [p(τ=v | x_ns, y) − p(τ=v)]`` (§1.4).
    tv_models : ``TV(P_p, P_q) = 2·max gain^IND − 1``.
    sup_corrected_advantage : ``sup_A Adv′ = (G_p − L_p)·TV(P_p, P_q)`` (sharp Theorem 1′) over attackers
        whose answers lie in ``V``, the values ``τ`` takes under ``p``.
    sup_advantage : ``sup_A Adv^SEM = Σ_{f,x_ns,y} max_v [P_p(f)p_τ − P_q(f)q_τ]`` over attackers with
        answers in ``V`` (finite outputs only, else None).
    sup_advantage_any : the same supremum when an attacker may also answer a value outside ``V`` (always
        wrong): each term becomes ``max(0, max_v […])``.
    answers_in_range : bool or None
        Whether every answer of the given adversary lies in ``V`` (None without an adversary). An
        attacker that answers outside ``V`` can have ``h(f) = 0 < L_p``; for it the sharp bound of
        Theorem 1′ is ``G_p·TV`` (:func:`mitheory.theorems.check_theorem1` uses the right one).
    """

    gain: Any
    baseline: Any
    advantage: Any
    gain_q_train: Any
    corrected_advantage: Any
    delta: Any
    best_gain: Any
    best_baseline: Any
    worst_gain: Any
    delta_star: Any
    tv_models: Any
    sup_corrected_advantage: Any
    sup_advantage: Any
    sup_advantage_any: Any = None
    answers_in_range: bool | None = None


# ----------------------------------------------------------------------------------------------------
# helpers


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or int(n) < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return int(n)


def _check_rounds(rounds: Any) -> int:
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or int(rounds) < 1:
        raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}")
    return int(rounds)


def _check_rng(rng: Any) -> np.random.Generator:
    return as_generator(rng, name="rng")


def _to_mpf(v: Any) -> mpmath.mpf:
    return mpmath.mpf(v.numerator) / v.denominator if isinstance(v, Fraction) else mpmath.mpf(v)


def _as_model_array(models: list) -> np.ndarray:
    """Stack model values into an array the adversaries accept (rows for tuple-valued models)."""
    if models and isinstance(models[0], tuple):
        return np.array(models)
    arr = np.array(models)
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
    return arr


FRACTION_MAX_N = 300
"""``arithmetic="auto"`` keeps exact rationals up to this training-set size."""


def resolve_arithmetic(arithmetic: str, n: int) -> str:
    """``"fraction"`` or ``"mpmath"`` for an ``arithmetic`` argument (``"auto"``: by ``n``)."""
    if arithmetic not in ("auto", "fraction", "mpmath"):
        raise ValueError(f"arithmetic must be 'auto', 'fraction' or 'mpmath', got {arithmetic!r}")
    if arithmetic == "auto":
        return "fraction" if n <= FRACTION_MAX_N else "mpmath"
    return arithmetic


def _count_weights(law: list[tuple], n: int) -> list:
    w: list = [0] * (n + 1)
    for c, pr in law:
        w[c] = pr
    return w


def _decisions_exact(adversary: Any, models: list) -> list:
    """Exact probability that a deterministic IND adversary says ``b′ = 1`` on each model."""
    if hasattr(adversary, "decision_law"):
        return unify_exact(adversary.decision_law(models))
    if getattr(adversary, "randomized", False):
        raise ValueError("a randomized adversary can only be simulated (or must provide decision_law)")
    d = np.asarray(adversary.decide(_as_model_array(models), None)).reshape(-1)
    if len(d) != len(models) or not np.all(np.isin(d, (0, 1))):
        raise ValueError("adversary.decide must return one 0/1 decision per model")
    return [Fraction(int(v)) for v in d]


def _half_l1(a: list, b: list) -> Any:
    """``Σ|a_i − b_i|/2``: exact for Fractions; for mpf values a fixed-point sum at the current precision
    plus 16 bits (one rounding per term instead of three)."""
    if all(isinstance(x, Fraction) for x in a) and all(isinstance(y, Fraction) for y in b):
        return sum((abs(x - y) for x, y in zip(a, b)), Fraction(0)) / 2
    bits = mpmath.mp.prec + 16
    return from_fixed(sum(abs(to_fixed(x, bits) - to_fixed(y, bits)) for x, y in zip(a, b)), bits + 1)


def _total(values: list, zero: Any) -> Any:
    """``Σ values``: exact for Fractions, a fixed-point sum for mpf values."""
    if all(isinstance(x, Fraction) for x in values):
        return sum(values, zero if isinstance(zero, Fraction) else Fraction(0))
    bits = mpmath.mp.prec + 16
    return from_fixed(sum(to_fixed(x, bits) for x in values), bits)


def _one_hot(guesses: list, values: list) -> list[list]:
    """Rows of the guess law for deterministic guesses; an answer outside V is always wrong: a zero row."""
    vidx = {v: i for i, v in enumerate(values)}
    law = []
    for gv in guesses:
        row = [0] * len(values)
        j = vidx.get(gv)
        if j is not None:
            row[j] = 1
        law.append(row)
    return law


def _mixed(*groups: list) -> list[list]:
    """Unify several lists of exact numbers to one type (Fraction if possible)."""
    flat = unify_exact([v for g in groups for v in g])
    out, i = [], 0
    for g in groups:
        out.append(flat[i: i + len(g)])
        i += len(g)
    return out


# ----------------------------------------------------------------------------------------------------
# Experiment 2


class IndistinguishabilityGame:
    """Experiment 2, ``Exp^IND(A, M, p)``: tell ``M(p^n)`` from ``M(q^n)``.

    Parameters
    ----------
    distribution : FiniteDistribution or UniformDiagonal
        The target distribution ``p``; ``q`` is its :meth:`decorrelated` product.
    mechanism : Mechanism
    n : int
        Training-set size.
    """

    def __init__(self, distribution: Any, mechanism: Mechanism, n: int):
        if not hasattr(distribution, "decorrelated") or not hasattr(distribution, "sample"):
            raise ValueError("distribution must be a FiniteDistribution or UniformDiagonal")
        if not isinstance(mechanism, Mechanism):
            raise ValueError(f"mechanism must be an mitheory Mechanism, got {type(mechanism).__name__}")
        self.distribution = distribution
        self.mechanism = mechanism
        self.n = _check_n(n)
        self.q = distribution.decorrelated()
        self._cache: dict = {}  # (what, arithmetic) → (mp.prec, value): laws are reused at lower precision

    def __repr__(self) -> str:
        return f"IndistinguishabilityGame({self.distribution!r}, {self.mechanism!r}, n={self.n})"

    def check_privacy(self, eps: Any = None, delta: Any = None, *, digits: int = DEFAULT_DIGITS) -> PrivacyCheck:
        """The mechanism's declared (or the given) ``(ε, δ)`` against its exact privacy on ``n`` records of
        this distribution's domain (:func:`mitheory.privacy.check_declared_privacy`)."""
        return check_declared_privacy(self.mechanism, self.n, eps, delta, distribution=self.distribution,
                                      digits=digits)

    # -- exact -----------------------------------------------------------------------------------------
    def _arithmetic(self, arithmetic: str) -> str:
        return resolve_arithmetic(arithmetic, self.n)

    def _cached(self, what: str, arithmetic: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per (what, arithmetic), reused while the cached precision suffices."""
        hit = self._cache.get((what, arithmetic))
        if hit is not None and hit[0] >= mpmath.mp.prec:
            return hit[1]
        value = compute()
        self._cache[(what, arithmetic)] = (mpmath.mp.prec, value)
        return value

    def statistic_laws(self, arithmetic: str = "fraction") -> tuple[list, list]:
        """Exact laws of the mechanism's statistic under ``p^n`` and ``q^n`` (``arithmetic`` as in
        :func:`mitheory.mechanisms.statistic_law`; ``"auto"`` as in :meth:`exact`)."""
        st, arith = self.mechanism.statistic, self._arithmetic(arithmetic)
        return self._cached("statistic", arith, lambda: (
            statistic_law(st, self.distribution, self.n, arithmetic=arith),
            statistic_law(st, self.q, self.n, arithmetic=arith)))

    def output_laws(self, arithmetic: str = "fraction") -> tuple[dict, dict]:
        """Exact output laws ``(P_p, P_q)`` as ``{model: probability}`` (finite-output mechanisms)."""
        if not self.mechanism.finite_output:
            raise ValueError(f"{self.mechanism!r} has real-valued output; use exact() for its TV")
        arith = self._arithmetic(arithmetic)

        def compute():
            law_p, law_q = self.statistic_laws(arith)
            pp = output_law(self.mechanism, law_p, self.n)
            pq = output_law(self.mechanism, law_q, self.n)
            a, b = _mixed(list(pp.values()), list(pq.values()))
            return dict(zip(pp, a)), dict(zip(pq, b))

        return self._cached("output", arith, compute)

    def ind_solution(self, arithmetic: str = "auto"):
        """The real-valued mechanism's exact IND solution (TV and likelihood-ratio regions), cached."""
        arith = self._arithmetic(arithmetic)

        def compute():
            law_p, law_q = self.statistic_laws(arith)
            w_p, w_q = _count_weights(law_p, self.n), _count_weights(law_q, self.n)
            return self.mechanism.ind_solution(w_p, w_q, self.n)

        return self._cached("solution", arith, compute)

    def exact(self, adversary: Any = None, *, digits: int = DEFAULT_DIGITS, arithmetic: str = "auto") -> INDExact:
        """Exact ``gain^IND`` of ``adversary`` (if given) and ``max_A gain^IND`` (docs/theory.md §1).

        Finite-output mechanisms: sums over the output laws. Laplace and extremal mechanisms: their
        closed-form solution; the adversary must then read the model through a partition of the line (a
        ``RegionAdversary``, ``ThresholdAdversary`` or ``LikelihoodRatioAdversary``).

        ``arithmetic``: ``"fraction"`` keeps exact rationals wherever the inputs are rational (the
        reference; its cost grows like n² because the numbers grow to O(n) digits); ``"mpmath"`` builds
        the statistic's law by an O(n) recurrence in mpmath at ``digits`` plus
        :func:`~mitheory.mechanisms.guard_digits` ``(n)`` digits, so every value agrees with the rational
        one to ``digits`` digits, and the whole evaluation is O(n) (O(n log n) at most for the
        histogram-free mechanisms); ``"auto"`` (default) is ``"fraction"`` up to n = 300, else ``"mpmath"``.
        """
        arith = self._arithmetic(arithmetic)
        dps = digits + (guard_digits(self.n) if arith == "mpmath" else 0) + resolution_digits(self.mechanism)
        with mpmath.workdps(dps):
            if self.mechanism.finite_output:
                pp, pq = self.output_laws(arith)
                models = list(set(pp) | set(pq))
                zero = next(iter(pp.values())) * 0
                a = [pp.get(m, zero) for m in models]
                b = [pq.get(m, zero) for m in models]
                tv = _half_l1(a, b)
                gain = None
                if adversary is not None:
                    d = _decisions_exact(adversary, models)
                    if all(v == 0 or v == 1 for v in d):  # deterministic decisions: the gain is a split sum
                        says_p = [x for x, di in zip(a, d) if di == 0]
                        says_q = [y for y, di in zip(b, d) if di == 1]
                        gain = (_total(says_p, zero) + _total(says_q, zero)) / 2
                    else:
                        a2, b2, d = _mixed(a, b, d)
                        gain = sum(((x * (1 - di) + y * di) for x, y, di in zip(a2, b2, d)), a2[0] * 0) / 2
                return INDExact(gain, (1 + tv) / 2, tv)
            law_p, law_q = self.statistic_laws(arith)
            w_p, w_q = _count_weights(law_p, self.n), _count_weights(law_q, self.n)
            sol = self.ind_solution(arith)
            gain = None
            if adversary is not None:
                if not (hasattr(adversary, "breaks") and hasattr(adversary, "decisions")) and not hasattr(
                    adversary, "solution"
                ):
                    raise ValueError(
                        "exact gain on a real-valued mechanism needs a RegionAdversary, ThresholdAdversary "
                        "or LikelihoodRatioAdversary; use simulate() for other adversaries"
                    )
                impl = adversary._impl if hasattr(adversary, "_impl") else adversary
                gain = self._region_gain(impl.breaks, impl.decisions, w_p, w_q)
            return INDExact(gain, (1 + sol.tv) / 2, sol.tv)

    def _region_gain(self, breaks, decisions, w_p, w_q) -> mpmath.mpf:
        cdf = self.mechanism.cdf
        fp = [cdf(b, w_p, self.n) for b in breaks] + [mpmath.mpf(1)]
        fq = [cdf(b, w_q, self.n) for b in breaks] + [mpmath.mpf(1)]
        total, prev_p, prev_q = mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(0)
        for d, a, b in zip(decisions, fp, fq):
            if d:
                total += (b - prev_q) - (a - prev_p)
            prev_p, prev_q = a, b
        return (1 + total) / 2

    def optimal_adversary(self, *, digits: int = 30) -> LikelihoodRatioAdversary:
        """The likelihood-ratio adversary, which attains ``max_A gain^IND``."""
        return LikelihoodRatioAdversary(self.distribution, self.mechanism, self.n, digits=digits,
                                        arithmetic=self._arithmetic("auto"), game=self)

    # -- simulation ------------------------------------------------------------------------------------
    def simulate(
        self,
        adversary: Any = None,
        rounds: int = 1_000_000,
        rng: np.random.Generator | int | None = None,
        *,
        alpha: float = 0.05,
        workers: int = 1,
    ) -> SimulationResult:
        """Play ``rounds`` independent rounds (vectorized) and estimate ``gain^IND``.

        Rounds are processed in blocks of ``2^21``; block ``i`` uses the ``i``-th generator spawned from
        ``rng``, so the result depends on the seed only, not on ``workers``. In a block the number of
        ``b = 1`` rounds is drawn as ``Bin(block, 1/2)``, each round's statistic is drawn from its
        binomial/multinomial law under ``p`` or ``q``, the mechanism releases one model per round, and the
        adversary (default: the likelihood-ratio adversary) answers the whole block in one call.
        ``workers > 1`` runs blocks in threads (numpy releases the GIL in its samplers and ufuncs); the
        adversary must then be thread-safe, as the reference adversaries are.
        """
        rounds = _check_rounds(rounds)
        rng = _check_rng(rng)
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
        if adversary is None:
            adversary = self.optimal_adversary()
        sizes = [min(_BLOCK, rounds - s) for s in range(0, rounds, _BLOCK)]
        gens = rng.spawn(len(sizes))
        if workers == 1:
            wins = sum(self._block(adversary, m, g) for m, g in zip(sizes, gens))
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=int(workers)) as pool:
                wins = sum(pool.map(lambda mg: self._block(adversary, *mg), zip(sizes, gens)))
        return _result(wins, rounds, alpha)

    def _block(self, adversary: Any, m: int, rng: np.random.Generator) -> int:
        st = self.mechanism.statistic
        m1 = int(rng.binomial(m, 0.5))
        m0 = m - m1
        s0 = sample_statistic(st, self.distribution, self.n, m0, rng)
        s1 = sample_statistic(st, self.q, self.n, m1, rng)
        models = self.mechanism.sample(np.concatenate([s0, s1]), self.n, rng)
        d = np.asarray(adversary.decide(models, rng)).reshape(-1)
        if len(d) != m:
            raise ValueError("adversary.decide must return one decision per model")
        return int(np.count_nonzero(d[:m0] == 0)) + int(np.count_nonzero(d[m0:] == 1))

    # -- Eq. 11 ----------------------------------------------------------------------------------------
    def gamma(self, rounds: int | None = None, rng: Any = None, *, alpha: float = 0.05) -> Any:
        """``γ`` of Eq. 11: exact for a finite ``p`` (``rounds=None``), else simulated."""
        if rounds is None:
            return gamma_exact(self.distribution, self.n)
        return gamma_simulate(self.distribution, self.n, rounds, rng, alpha=alpha)


# ----------------------------------------------------------------------------------------------------
# Experiment 1


class SemanticMIGame:
    """Experiment 1, ``Exp^SEM(A, M, p, τ)``: infer ``τ(x_s)`` of a fresh record from the model.

    Parameters
    ----------
    distribution : FiniteDistribution (exact) or any distribution with ``sample`` (simulation)
    mechanism : Mechanism
    n : int
    tau : callable, optional
        Vectorized property ``τ`` of ``x_s`` (default: identity).
    """

    def __init__(self, distribution: Any, mechanism: Mechanism, n: int, tau: Callable | None = None):
        if tau is not None and not callable(tau):
            raise ValueError("tau must be a vectorized callable or None")
        self.ind = IndistinguishabilityGame(distribution, mechanism, n)
        self.distribution = distribution
        self.mechanism = mechanism
        self.n = self.ind.n
        self.q = self.ind.q
        self.tau = tau

    def __repr__(self) -> str:
        return f"SemanticMIGame({self.distribution!r}, {self.mechanism!r}, n={self.n})"

    def indistinguishability(self) -> IndistinguishabilityGame:
        """The IND game over the same ``(p, M, n)``."""
        return self.ind

    def check_privacy(self, eps: Any = None, delta: Any = None, *, digits: int = DEFAULT_DIGITS) -> PrivacyCheck:
        """The mechanism's declared (or the given) ``(ε, δ)`` against its exact privacy
        (:meth:`IndistinguishabilityGame.check_privacy`)."""
        return self.ind.check_privacy(eps, delta, digits=digits)

    def _tau(self, x_s: np.ndarray) -> np.ndarray:
        return np.asarray(x_s) if self.tau is None else np.asarray(self.tau(np.asarray(x_s)))

    def bayes_adversary(self) -> BayesAdversary:
        """The Bayes-optimal adversary of Eq. 7 (knows ``p`` and ``τ``)."""
        return BayesAdversary(self.distribution, self.tau)

    # -- exact -----------------------------------------------------------------------------------------
    def _tables(self):
        """Keys (x_ns, y), values V, and the exact joint tables p_τ[key][v], q_τ[key][v]."""
        p = self.distribution
        if not isinstance(p, FiniteDistribution):
            raise ValueError("exact evaluation of the semantic game needs a FiniteDistribution; use simulate()")
        tv = self._tau(p.x_s).tolist()
        values = sorted(set(tv), key=lambda v: (str(type(v)), v))
        vidx = {v: i for i, v in enumerate(values)}
        keys: dict = {}
        zero = p.probs[0] * 0
        pt: list[list] = []
        for (ns, _, y), v, pr in zip(p.records, tv, p.probs):
            k = keys.setdefault((ns, y), len(keys))
            if k == len(pt):
                pt.append([zero] * len(values))
            pt[k][vidx[v]] += pr
        marg_key = [sum(row, zero) for row in pt]
        marg_v = [sum((row[j] for row in pt), zero) for j in range(len(values))]
        qt = [[mk * mv for mv in marg_v] for mk in marg_key]
        return list(keys), values, pt, qt, marg_v

    def _cells(self, adversary: Any, arithmetic: str):
        """Model cells with exact masses under p^n and q^n, and the exact TV between the models.

        Finite-output mechanisms: one cell per model. Real-valued ones: the regions of a
        :class:`RegionGuessAdversary` (the adversary only sees which region the model falls in).
        """
        ind = self.ind
        if self.mechanism.finite_output:
            pp, pq = ind.output_laws(arithmetic)
            models = list(set(pp) | set(pq))
            zero = next(iter(pp.values())) * 0
            a = [pp.get(m, zero) for m in models]
            b = [pq.get(m, zero) for m in models]
            return models, a, b, _half_l1(a, b), True
        if adversary is not None and not isinstance(adversary, RegionGuessAdversary):
            raise ValueError(
                f"{self.mechanism!r} has real-valued output: exact evaluation needs a RegionGuessAdversary "
                "(or no adversary); use simulate() otherwise"
            )
        law_p, law_q = ind.statistic_laws(arithmetic)
        w_p, w_q = _count_weights(law_p, self.n), _count_weights(law_q, self.n)
        tv = ind.ind_solution(arithmetic).tv
        breaks = list(adversary.breaks) if adversary is not None else []
        fp = [self.mechanism.cdf(x, w_p, self.n) for x in breaks] + [mpmath.mpf(1)]
        fq = [self.mechanism.cdf(x, w_q, self.n) for x in breaks] + [mpmath.mpf(1)]
        a = [fp[0]] + [fp[i] - fp[i - 1] for i in range(1, len(fp))]
        b = [fq[0]] + [fq[i] - fq[i - 1] for i in range(1, len(fq))]
        return list(range(len(a))), a, b, tv, False

    def _guess_law(self, adversary: Any, model: Any, keys: list, values: list, finite: bool) -> list[list]:
        """Exact law of the adversary's guess for each key (one-hot for deterministic adversaries)."""
        if hasattr(adversary, "guess_law"):
            return adversary.guess_law(model, keys, values)
        if getattr(adversary, "randomized", False):
            raise ValueError("a randomized adversary can only be simulated (or must provide guess_law)")
        x_ns, y = self._key_columns(keys)
        if finite:
            m = np.array([model] * len(keys)) if isinstance(model, tuple) else np.full(len(keys), model)
            g = adversary.guess(m, x_ns, y, None)
        else:
            g = adversary.rule_guess(model, x_ns, y, None)
        g = np.asarray(g).reshape(-1)
        if len(g) != len(keys):
            raise ValueError("adversary.guess must return one guess per challenge")
        return _one_hot(g.tolist(), values)

    def _key_columns(self, keys: list) -> tuple[np.ndarray, np.ndarray]:
        p = self.distribution
        x_ns = np.empty((len(keys), p.x_ns.shape[1]), dtype=p.x_ns.dtype)
        for i, (ns, _) in enumerate(keys):
            x_ns[i] = list(ns)
        return x_ns, np.array([k[1] for k in keys], dtype=p.y.dtype)

    def _guess_patterns(self, adversary: Any, cells: list, keys: list, values: list, finite: bool) -> list:
        """Per cell, the guessed value index for each key (−1: outside V), or the cell's guess law when
        the adversary is randomized with a ``guess_law``. Deterministic adversaries on finite outputs
        answer every (cell, key) pair in one vectorized call."""
        if hasattr(adversary, "guess_law") or not finite:
            return [self._guess_law(adversary, c, keys, values, finite) for c in cells]
        if getattr(adversary, "randomized", False):
            raise ValueError("a randomized adversary can only be simulated (or must provide guess_law)")
        x_ns, y = self._key_columns(keys)
        k = len(keys)
        if cells and isinstance(cells[0], tuple):
            models = np.array([c for c in cells for _ in range(k)])
        else:
            models = np.repeat(np.array(cells), k)
        g = np.asarray(adversary.guess(models, np.tile(x_ns, (len(cells), 1)), np.tile(y, len(cells)), None))
        g = g.reshape(-1)
        if len(g) != len(cells) * k:
            raise ValueError("adversary.guess must return one guess per challenge")
        vidx = {v: i for i, v in enumerate(values)}
        flat = [vidx.get(v, -1) for v in g.tolist()]
        return [tuple(flat[i * k:(i + 1) * k]) for i in range(len(cells))]

    def exact(self, adversary: Any = None, *, digits: int = DEFAULT_DIGITS, arithmetic: str = "auto") -> SemanticExact:
        """All exact quantities of docs/theory.md §1 for ``adversary`` (None: only the adversary-free ones).

        Cost: one pass over the model cells × the (x_ns, y) keys × the τ values; cells with the same
        answers share one evaluation of the attacker's conditional gains. ``arithmetic`` as in
        :meth:`IndistinguishabilityGame.exact` (with ``"mpmath"`` the sums over cells run in fixed point).
        """
        arith = resolve_arithmetic(arithmetic, self.n)
        dps = digits + (guard_digits(self.n) if arith == "mpmath" else 0) + resolution_digits(self.ind.mechanism)
        with mpmath.workdps(dps):
            keys, values, pt, qt, marg_v = self._tables()
            cells, a, b, tv, finite = self._cells(adversary, arith)
            flat_pt = [v for row in pt for v in row]
            flat_qt = [v for row in qt for v in row]
            fpt, fqt, (tv,), mv = _mixed(flat_pt, flat_qt, [tv], marg_v)
            nv = len(values)
            pt = [fpt[i * nv:(i + 1) * nv] for i in range(len(keys))]
            qt = [fqt[i * nv:(i + 1) * nv] for i in range(len(keys))]
            zero = fpt[0] * 0
            g_p = sum((max(row) for row in pt), zero)
            l_p = sum((min(row) for row in pt), zero)
            g_q = max(mv)
            d_star = sum((max(x - y for x, y in zip(rp, rq)) for rp, rq in zip(pt, qt)), zero)
            exact_cells = all(isinstance(v, Fraction) for v in a + b + fpt + fqt)
            if exact_cells:  # rationals throughout: sums stay exact
                bits = 0
                A, Bq, PT, QT = a, b, pt, qt
                back = lambda x, scale: x  # noqa: E731
            else:  # fixed point with `bits` fraction bits; products carry 2·bits
                bits = mpmath.mp.prec + 16
                A, Bq = [to_fixed(x, bits) for x in a], [to_fixed(y, bits) for y in b]
                PT = [[to_fixed(x, bits) for x in row] for row in pt]
                QT = [[to_fixed(x, bits) for x in row] for row in qt]
                back = from_fixed
            sup_adv = sup_any = None
            if finite:
                total = positive = 0
                for ap, bq in zip(A, Bq):
                    for rp, rq in zip(PT, QT):
                        t = max(ap * x - bq * y for x, y in zip(rp, rq))
                        total += t
                        if t > 0:
                            positive += t
                sup_adv, sup_any = back(total, 2 * bits), back(positive, 2 * bits)
            in_range = None
            gpp = gqq = gqp = None
            if adversary is not None:
                groups: dict = {}  # answer pattern → [Σ a, Σ b] over its cells
                for pattern, ap, bq in zip(self._guess_patterns(adversary, cells, keys, values, finite), A, Bq):
                    key = pattern if isinstance(pattern, tuple) else tuple(map(tuple, pattern))
                    acc = groups.setdefault(key, [0, 0, pattern])
                    acc[0] += ap
                    acc[1] += bq
                in_range = True
                sums = [0, 0, 0]
                for sa, sb, pattern in groups.values():
                    if isinstance(pattern, tuple):  # value index per key
                        in_range = in_range and all(j >= 0 for j in pattern)
                        hp = sum((PT[k][j] for k, j in enumerate(pattern) if j >= 0), 0)
                        hq = sum((QT[k][j] for k, j in enumerate(pattern) if j >= 0), 0)
                    else:  # a guess law (rows of probabilities, exact)
                        in_range = in_range and all(sum(row) == 1 for row in pattern)
                        law = pattern if exact_cells else [[to_fixed(w, bits) for w in row] for row in pattern]
                        hp = sum((x * w for rp, lr in zip(PT, law) for x, w in zip(rp, lr) if w), 0)
                        hq = sum((x * w for rq, lr in zip(QT, law) for x, w in zip(rq, lr) if w), 0)
                        if not exact_cells:
                            hp, hq = hp >> bits, hq >> bits
                    sums[0] += sa * hp
                    sums[1] += sb * hq
                    sums[2] += sb * hp
                gpp, gqq, gqp = (back(v, 2 * bits) for v in sums)
                if exact_cells:
                    gpp, gqq, gqp = (Fraction(v) for v in (gpp, gqq, gqp))
            return SemanticExact(
                gain=gpp,
                baseline=gqq,
                advantage=None if gpp is None else gpp - gqq,
                gain_q_train=gqp,
                corrected_advantage=None if gpp is None else gpp - gqp,
                delta=None if gpp is None else gqp - gqq,
                best_gain=g_p,
                best_baseline=g_q,
                worst_gain=l_p,
                delta_star=d_star,
                tv_models=tv,
                sup_corrected_advantage=(g_p - l_p) * tv,
                sup_advantage=sup_adv,
                sup_advantage_any=sup_any,
                answers_in_range=in_range,
            )

    # -- simulation ------------------------------------------------------------------------------------
    def simulate(
        self,
        adversary: Any,
        rounds: int = 1_000_000,
        rng: np.random.Generator | int | None = None,
        *,
        train: str = "p",
        challenge: str = "p",
        alpha: float = 0.05,
    ) -> SimulationResult:
        """Estimate ``gain(A; train, challenge)`` over ``rounds`` vectorized rounds.

        ``train="p", challenge="p"`` is ``gain^SEM`` (Eq. 6); ``("q", "q")`` its baseline (Eq. 8);
        ``("q", "p")`` the corrected baseline of Theorem 1′.
        """
        rounds = _check_rounds(rounds)
        rng = _check_rng(rng)
        laws = {"p": self.distribution, "q": self.q}
        if train not in laws or challenge not in laws:
            raise ValueError(f"train and challenge must be 'p' or 'q', got {train!r}, {challenge!r}")
        st = self.mechanism.statistic
        wins = 0
        for start in range(0, rounds, _CHUNK):
            m = min(_CHUNK, rounds - start)
            stats = sample_statistic(st, laws[train], self.n, m, rng)
            models = self.mechanism.sample(stats, self.n, rng)
            z = laws[challenge].sample(m, rng)
            g = np.asarray(adversary.guess(models, z.x_ns, z.y, rng)).reshape(-1)
            if len(g) != m:
                raise ValueError("adversary.guess must return one guess per round")
            wins += int(np.count_nonzero(g == self._tau(z.x_s)))
        return _result(wins, rounds, alpha)


# ----------------------------------------------------------------------------------------------------
# γ of Eq. 11 (docs/theory.md §6)


def gamma_exact(distribution: Any, n: int) -> Any:
    """Exact ``γ = 1 − Pr[S ∩ S′ = ∅]``, ``S ~ p^n``, ``S′ ~ q^n`` (Eq. 11; docs/theory.md §6).

    ``Pr[S ∩ S′ = ∅] = (n!)²·[uⁿvⁿ] ∏_x (e^{p_x u} + e^{q_x v} − 1)``, computed by a dynamic program over
    the records on the ``(n+1)×(n+1)`` coefficient table (``O(|𝒳|·n³)``) in exact arithmetic; records
    with ``p_x = 0`` are lumped into one factor ``e^{(Σ q_x) v}``. For :class:`UniformDiagonal`
    (continuous records) ``γ = 0``.
    """
    n = _check_n(n)
    if isinstance(distribution, UniformDiagonal):
        return Fraction(0)
    if not isinstance(distribution, FiniteDistribution):
        raise ValueError("gamma_exact needs a FiniteDistribution (or UniformDiagonal); use gamma_simulate")
    p = dict(zip(distribution.records, distribution.probs))
    qd = distribution.decorrelated()
    q = dict(zip(qd.records, qd.probs))
    recs = list(q)
    vals = unify_exact([p.get(r, 0) for r in recs] + [q[r] for r in recs])
    pv, qv = vals[: len(recs)], vals[len(recs):]
    zero = vals[0] * 0
    one = zero + 1
    fact = [math.factorial(i) for i in range(n + 1)]
    table = [[zero] * (n + 1) for _ in range(n + 1)]
    table[0][0] = one
    lump = zero
    for px, qx in zip(pv, qv):
        if px == 0:
            lump += qx
            continue
        pa = [px**i / fact[i] for i in range(n + 1)]
        qb = [qx**i / fact[i] for i in range(n + 1)]
        new = [[zero] * (n + 1) for _ in range(n + 1)]
        for i in range(n + 1):
            for j in range(n + 1):
                s = zero
                for k in range(i + 1):
                    s += table[i - k][j] * pa[k]
                for k in range(1, j + 1):
                    s += table[i][j - k] * qb[k]
                new[i][j] = s
        table = new
    if lump != 0:
        lb = [lump**i / fact[i] for i in range(n + 1)]
        table = [[sum((row[j - k] * lb[k] for k in range(j + 1)), zero) for j in range(n + 1)] for row in table]
    disjoint = table[n][n] * fact[n] * fact[n]
    return one - disjoint


def gamma_simulate(
    distribution: FiniteDistribution, n: int, rounds: int, rng: Any = None, *, alpha: float = 0.05
) -> SimulationResult:
    """Monte Carlo ``γ``: the fraction of rounds in which ``S ~ p^n`` and ``S′ ~ q^n`` share a record.

    Vectorized: each round draws the two histograms over the support of ``q`` from their multinomial
    laws; the sets intersect iff some record has a positive count in both.
    """
    n = _check_n(n)
    rounds = _check_rounds(rounds)
    rng = _check_rng(rng)
    if not isinstance(distribution, FiniteDistribution):
        raise ValueError("gamma_simulate needs a FiniteDistribution (γ = 0 for UniformDiagonal)")
    q = distribution.decorrelated()
    index = {r: i for i, r in enumerate(q.records)}
    pw = np.zeros(len(q.records))
    for r, w in zip(distribution.records, distribution.weights):
        pw[index[r]] = w
    hits = 0
    per = max(1, _CHUNK // max(len(q.records), 1))
    for start in range(0, rounds, per):
        m = min(per, rounds - start)
        a = rng.multinomial(n, pw / pw.sum(), size=m)
        b = rng.multinomial(n, q.weights / q.weights.sum(), size=m)
        hits += int(np.count_nonzero(np.any((a > 0) & (b > 0), axis=1)))
    return _result(hits, rounds, alpha)
