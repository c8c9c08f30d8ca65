"""Learning algorithms (mechanisms) ``M: 𝒳^n → 𝓡`` for the paper's security games.

Every reference mechanism releases a randomized function of a *statistic* of the training set ``S``:

- :class:`CountStatistic` — ``c(S) = #{i : s_i ∈ B}`` for an :class:`~mitheory.distributions.Event` ``B``.
  Substituting one record changes ``c`` by at most 1. Under ``S ~ r^n``, ``c ~ Bin(n, r(B))``.
- :class:`HistogramStatistic` — the full histogram of ``S`` over a finite record domain (a sufficient
  statistic of ``S``); under ``S ~ r^n`` it is multinomial.

Because of this the games never enumerate or draw raw datasets: the exact evaluation sums over the
``n + 1`` values of a count (or the compositions of ``n`` for a histogram) with their binomial
(multinomial) probabilities, and the simulator draws the statistic directly from its law.

Mechanisms (each declares its ``(ε, δ)`` under substitution adjacency, Eq. 9):

============================  ========================================  ==========  ==============
class                         releases                                  (ε, δ)      output space
============================  ========================================  ==========  ==============
:class:`Constant`             a fixed value                             (0, 0)      finite
:class:`Memorizer`            the statistic itself                      (∞, 0)      finite
:class:`RandomizedResponse`   ``1[c > t]`` flipped w.p. 1/(1+e^ε)       (ε, 0)      {0, 1}
:class:`GeometricCount`       ``clip(c + Z, 0, n)``, Z two-sided        (ε, 0)      {0, …, n}
                              geometric
:class:`LaplaceCount`         ``c + Lap(1/ε)``                          (ε, 0)      ℝ
:class:`ExtremalMechanism`    ``g^{−c}(U)`` (docs/theory.md §3.5)       (ε, δ)      [0, 1]
:class:`TabularMechanism`     any exact kernel statistic → output       declared    finite
============================  ========================================  ==========  ==============

Finite-output mechanisms expose :meth:`Mechanism.kernel` (the exact output law given the statistic).
The two continuous ones expose an exact solution of the indistinguishability game
(:meth:`LaplaceCount.ind_solution`, :meth:`ExtremalMechanism.ind_solution`): the total variation
between the two output mixtures and the likelihood-ratio decision regions, computed from the piecewise
closed form of their densities.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from mitheory.distributions import Event, Records, to_exact, unify_exact

__all__ = [
    "CountStatistic",
    "HistogramStatistic",
    "Mechanism",
    "Constant",
    "Memorizer",
    "RandomizedResponse",
    "GeometricCount",
    "LaplaceCount",
    "ExtremalMechanism",
    "TabularMechanism",
    "RegionSolution",
    "statistic_law",
    "binomial_law",
    "guard_digits",
    "resolution_digits",
    "MAX_REAL_EPSILON",
    "to_fixed",
    "from_fixed",
    "sample_statistic",
    "output_law",
    "extremal_g",
    "extremal_ginv",
    "extremal_sample",
]


# ----------------------------------------------------------------------------------------------------
# statistics


class CountStatistic:
    """``c(S) = #{i : s_i ∈ B}``, the number of training records in the event ``B``.

    Parameters
    ----------
    event : Event
        The set ``B``.
    """

    k = 2

    def __init__(self, event: Event):
        if not isinstance(event, Event):
            raise ValueError(f"event must be an mitheory.distributions.Event, got {type(event).__name__}")
        self.event = event

    def categorize(self, records: Records) -> np.ndarray:
        """1 for records in ``B``, 0 otherwise."""
        return self.event(records).astype(np.int64)

    def __repr__(self) -> str:
        return f"CountStatistic({self.event.name!r})"


class HistogramStatistic:
    """The histogram of ``S`` over a finite record domain (the multiset ``S`` itself).

    Parameters
    ----------
    domain : sequence of (x_ns, x_s, y)
        Every record that can occur in a training set, typically ``q.records`` (which contains the
        support of ``p``). The released histogram is aligned with this order.
    """

    def __init__(self, domain: Sequence[tuple]):
        self.domain = [(tuple(r[0]), r[1], r[2]) for r in domain]
        if not self.domain:
            raise ValueError("domain must not be empty")
        self.index = {r: i for i, r in enumerate(self.domain)}
        if len(self.index) != len(self.domain):
            raise ValueError("domain must not contain duplicate records")
        self.k = len(self.domain)

    def categorize(self, records: Records) -> np.ndarray:
        """The position of each record in :attr:`domain`."""
        out = np.empty(len(records), dtype=np.int64)
        for i in range(len(records)):
            rec = (tuple(records.x_ns[i].tolist()), _py(records.x_s[i]), _py(records.y[i]))
            try:
                out[i] = self.index[rec]
            except KeyError:
                raise ValueError(f"record {rec!r} is not in the histogram's domain") from None
        return out

    def __repr__(self) -> str:
        return f"HistogramStatistic({self.k} records)"


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def guard_digits(n: int) -> int:
    """Extra decimal digits of working precision for the O(n) recurrences of the exact games.

    The recurrences below run in fixed point with ``prec + 16`` fraction bits and lose at most a few
    units of ``2^−(prec+16)`` per step in absolute terms, so after n steps the absolute error stays below
    ``4n·2^−prec``; ``log10(4n) + 6`` guard digits keep the sums that follow (the total variation, the
    output laws, the gains) correct to the requested digits.
    """
    return len(str(4 * max(int(n), 1))) + 6


def resolution_digits(mechanism: Any) -> int:
    """Extra decimal digits of working precision that resolve an ε-DP mechanism's signal as ε → 0.

    The output laws of a mechanism with a small ε differ from each other by O(ε) (the total variation of the
    IND game, the attacker's gains and advantages all are O(ε)), so their difference loses about
    ``−log10 ε`` digits to cancellation: ``⌈−log10 ε⌉ + 1`` digits more (0 for ε ≥ 1 or no ε) keep every
    exact value correct to the requested digits down to the smallest ε a mechanism accepts (the smallest
    positive double, 5e-324).
    """
    eps = getattr(mechanism, "epsilon", None)
    if eps is None or not 0 < eps < 1:
        return 0
    return math.ceil(-math.log10(eps)) + 1


def _fixed_bits() -> int:
    return mpmath.mp.prec + 16


def to_fixed(x: Any, bits: int) -> int:
    """``x`` (Fraction, int or mpf) as the integer ``⌊x·2^bits⌉`` (truncated toward zero)."""
    if isinstance(x, Fraction):
        q = (abs(x.numerator) << bits) // x.denominator
        return q if x.numerator >= 0 else -q
    if isinstance(x, int):
        return x << bits
    man, exp = (x if isinstance(x, mpmath.mpf) else mpmath.mpf(x)).man_exp
    shift = exp + bits
    if shift >= 0:
        return int(man) << shift
    return int(man) >> -shift if man >= 0 else -((-int(man)) >> -shift)


def from_fixed(x: int, bits: int) -> mpmath.mpf:
    """The fixed-point integer ``x`` (``bits`` fraction bits) as an mpf at the current precision."""
    return mpmath.mpf((x, -bits)) if x else mpmath.mpf(0)


def binomial_law(theta: Any, n: int) -> list:
    """``Bin(n, θ)`` probabilities ``[P(0), …, P(n)]`` as mpf at the current precision, in O(n).

    ``P(mode)`` is computed in mpmath; the recurrences ``P(k±1) = P(k)·ratio`` then run outward from the
    mode in fixed point with ``prec + 16`` fraction bits (every step's ratio is at most 1 there, so the
    absolute error stays below ``3n`` units of ``2^−(prec+16)``; see :func:`guard_digits`), and
    probabilities below that resolution come out as 0. ``θ`` is exact (Fraction or mpf); θ = 0 and θ = 1
    give point masses.
    """
    th = theta if isinstance(theta, Fraction) else to_exact(theta)
    if th == 0 or th == 1:
        law = [mpmath.mpf(0)] * (n + 1)
        law[0 if th == 0 else n] = mpmath.mpf(1)
        return law
    bits = _fixed_bits()
    with mpmath.workprec(bits + 32 + 2 * n.bit_length()):
        t = _mp(th)
        u = _mp(1 - th) if isinstance(th, Fraction) else 1 - t
        mode = min(n, int(mpmath.floor((n + 1) * t)))
        log_p = (mpmath.loggamma(n + 1) - mpmath.loggamma(mode + 1) - mpmath.loggamma(n - mode + 1)
                 + mode * mpmath.log(t) + (n - mode) * mpmath.log(u))
        top = to_fixed(mpmath.exp(log_p), bits)
        up, down = to_fixed(t / u, bits), to_fixed(u / t, bits)
    fixed = [0] * (n + 1)
    fixed[mode] = top
    x = top
    for k in range(mode, n):
        x = ((x * up) >> bits) * (n - k) // (k + 1)
        if not x:
            break
        fixed[k + 1] = x
    x = top
    for k in range(mode, 0, -1):
        x = ((x * down) >> bits) * k // (n - k + 1)
        if not x:
            break
        fixed[k - 1] = x
    return [from_fixed(v, bits) for v in fixed]


def statistic_law(statistic: CountStatistic | HistogramStatistic | None, dist: Any, n: int, *,
                  arithmetic: str = "fraction") -> list[tuple]:
    """Exact law of the statistic of ``S ~ dist^n`` as ``[(value, probability), …]``.

    A count has values ``0..n`` with ``Bin(n, dist(B))`` probabilities; a histogram has the compositions
    of ``n`` over the categories of positive probability with multinomial probabilities; ``None`` (the
    constant mechanism's statistic) has the single value 0. Zero-probability values are omitted.

    ``arithmetic="fraction"`` gives exact rationals when ``dist(B)`` is rational (the reference, whose
    cost grows like n² — the numbers have O(n) digits); ``"mpmath"`` computes a count's law by the O(n)
    recurrence of :func:`binomial_law` at the current mpmath precision (set it to the digits wanted plus
    :func:`guard_digits`). A histogram's law is always exact.
    """
    if arithmetic not in ("fraction", "mpmath"):
        raise ValueError(f"arithmetic must be 'fraction' or 'mpmath', got {arithmetic!r}")
    if statistic is None:
        return [(0, Fraction(1))]
    if isinstance(statistic, CountStatistic):
        th = to_exact(dist.event_probability(statistic.event))
        if arithmetic == "mpmath":
            return [(c, pr) for c, pr in enumerate(binomial_law(th, n)) if pr != 0]
        one = th * 0 + 1
        out = []
        for c in range(n + 1):
            pr = math.comb(n, c) * th**c * (one - th) ** (n - c)
            if pr != 0:
                out.append((c, pr))
        return out
    if isinstance(statistic, HistogramStatistic):
        if not hasattr(dist, "category_probabilities"):
            raise ValueError("a histogram statistic needs a finite distribution")
        pi = dist.category_probabilities(statistic.categorize, statistic.k)
        live = [j for j, pr in enumerate(pi) if pr != 0]
        out = []
        for comp in _compositions(n, len(live)):
            coef = math.factorial(n)
            pr = pi[live[0]] * 0 + 1
            for j, a in zip(live, comp):
                coef //= math.factorial(a)
                pr = pr * pi[j] ** a
            hist = [0] * statistic.k
            for j, a in zip(live, comp):
                hist[j] = a
            out.append((tuple(hist), coef * pr))
        return out
    raise ValueError(f"unknown statistic {statistic!r}")


def _compositions(n: int, parts: int):
    """All tuples of ``parts`` non-negative integers summing to ``n``."""
    if parts == 1:
        yield (n,)
        return
    for cut in itertools.combinations(range(n + parts - 1), parts - 1):
        prev, comp = -1, []
        for c in cut:
            comp.append(c - prev - 1)
            prev = c
        comp.append(n + parts - 1 - prev - 1)
        yield tuple(comp)


_ALIAS_MAX_N = 20_000


@functools.lru_cache(maxsize=64)
def _binomial_alias(n: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table of ``Bin(n, θ)``: one uniform per draw, O(1) (numpy's binomial sampler
    costs O(nθ) per draw for nθ < 30 and is several times slower at the sizes the games use)."""
    from scipy.stats import binom

    k = n + 1
    pmf = binom.pmf(np.arange(k), n, theta)
    scaled = pmf / pmf.sum() * k
    prob = np.ones(k)
    alias = np.arange(k, dtype=np.int32)
    small = [i for i in range(k) if scaled[i] < 1.0]
    large = [i for i in range(k) if scaled[i] >= 1.0]
    while small and large:
        s, big = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], big
        scaled[big] -= 1.0 - scaled[s]
        (small if scaled[big] < 1.0 else large).append(big)
    for i in small + large:  # numerical leftovers: probability 1 of themselves
        prob[i] = 1.0
    return prob, alias


def sample_statistic(
    statistic: CountStatistic | HistogramStatistic | None,
    dist: Any,
    n: int,
    rounds: int,
    rng: np.random.Generator,
    *,
    chunk_records: int = 4_000_000,
) -> np.ndarray:
    """Draw the statistic of ``rounds`` independent training sets ``S ~ dist^n``.

    The statistic is drawn from its binomial/multinomial law when the distribution gives the category
    probabilities (finite distributions, known events) — a count by a cached alias table of
    ``Bin(n, θ)`` (``n ≤ 20000``, else numpy's binomial sampler); otherwise ``rounds·n`` records are drawn (in
    chunks) and categorized. Returns shape ``(rounds,)`` for a count (and for ``None``), ``(rounds, k)``
    for a histogram.
    """
    if statistic is None:
        return np.zeros(rounds, dtype=np.int64)
    if isinstance(statistic, CountStatistic):
        try:
            theta = float(dist.event_probability(statistic.event))
        except ValueError:
            theta = None
        if theta is not None:
            if n > _ALIAS_MAX_N or theta in (0.0, 1.0):
                return rng.binomial(n, theta, size=rounds)
            prob, alias = _binomial_alias(n, theta)
            u = rng.random(rounds)
            u *= n + 1
            i = u.astype(np.int32)
            u -= i  # the fractional part is the alias coin
            keep = u < prob[i]
            return np.where(keep, i, alias[i])
    elif isinstance(statistic, HistogramStatistic) and hasattr(dist, "category_probabilities"):
        pi = np.array([float(v) for v in dist.category_probabilities(statistic.categorize, statistic.k)])
        return rng.multinomial(n, pi / pi.sum(), size=rounds)
    # generic path: draw the records themselves
    per = max(1, chunk_records // max(n, 1))
    parts = []
    for start in range(0, rounds, per):
        m = min(per, rounds - start)
        cats = statistic.categorize(dist.sample(m * n, rng)).reshape(m, n)
        if isinstance(statistic, CountStatistic):
            parts.append(cats.sum(axis=1))
        else:  # one bincount over (round, category) pairs
            flat = (np.arange(m)[:, None] * statistic.k + cats).ravel()
            parts.append(np.bincount(flat, minlength=m * statistic.k).reshape(m, statistic.k))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


# ----------------------------------------------------------------------------------------------------
# mechanisms


class Mechanism:
    """Base class: a randomized map from the statistic of ``S`` to a released model ``f``.

    Attributes
    ----------
    statistic : CountStatistic, HistogramStatistic or None
    epsilon, delta : float
        The declared differential-privacy parameters under substitution adjacency (Eq. 9);
        ``epsilon = inf`` for a non-private mechanism.
    finite_output : bool
        Whether :meth:`kernel` gives the exact, finitely supported output law.
    """

    statistic: CountStatistic | HistogramStatistic | None = None
    epsilon: float = math.inf
    delta: float = 0.0
    finite_output: bool = True

    def sample(self, stats: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """Release one model per row of ``stats`` (vectorized)."""
        raise NotImplementedError

    def kernel(self, stat: Any, n: int) -> dict:
        """Exact output law ``{output: probability}`` given the statistic value ``stat``."""
        raise ValueError(f"{type(self).__name__} has no finite output law; use its ind_solution or simulate()")

    def epsilon_exact(self) -> mpmath.mpf | float:
        """``ε`` at the current mpmath precision (``inf`` when not private)."""
        return mpmath.mpf(self.epsilon)

    def declared_privacy(self) -> tuple[Any, Any]:
        """``(ε, δ)`` as exact as they were given, for :mod:`mitheory.bounds`."""
        return self.epsilon, self.delta

    def describe(self) -> str:
        """One line for reports."""
        return repr(self)


def _exact_real(value: Any) -> Fraction | mpmath.mpf:
    """A parameter as an exact number: floats by their exact binary value (as ``mitheory.bounds`` does),
    strings/ints/Fractions as Fractions, ``mpf`` unchanged."""
    if isinstance(value, mpmath.mpf):
        return value
    if isinstance(value, (float, np.floating)):
        return Fraction(float(value))
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    return Fraction(value)


MAX_REAL_EPSILON = 50.0
"""Largest ε of the real-valued mechanisms (:class:`LaplaceCount`, :class:`ExtremalMechanism`): beyond it their
densities, e^{−ε·distance}, fall below the fixed-point resolution of the exact region solution and their
double-precision samplers overflow (checked against simulation up to ε = 70; wrong from about ε = 80)."""


def _check_eps(epsilon: Any, exp_epsilon: Any, maximum: float | None = None) -> tuple[float, Any]:
    """Validate ``epsilon`` / ``exp_epsilon`` (at most ``maximum``); return (float ε, exact e^ε or None)."""
    if exp_epsilon is not None:
        if epsilon is not None:
            raise ValueError("give either epsilon or exp_epsilon, not both")
        try:
            ee = to_exact(exp_epsilon)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"exp_epsilon must be a number, got {exp_epsilon!r}") from None
        if not ee > 1:
            raise ValueError(f"exp_epsilon must be > 1, got {exp_epsilon!r}")
        return float(mpmath.log(_mp(ee))), ee
    if epsilon is None:
        raise ValueError("epsilon is required")
    try:
        eps = float(epsilon)
        _exact_real(epsilon)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ValueError(f"epsilon must be a number, got {epsilon!r}") from None
    if not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"epsilon must be a finite number > 0, got {epsilon!r}")
    if maximum is not None and eps > maximum:
        raise ValueError(f"epsilon must be <= {maximum:g} for this real-valued mechanism (its exact solution and "
                         f"sampler resolve densities e^(-eps*distance) only that far), got {eps:g}")
    return eps, None


class _EpsMixin:
    """Exact ``ε`` for mechanisms built from ``epsilon`` or ``exp_epsilon``."""

    _exp_eps: Any = None
    _eps_in: Any = None

    def epsilon_exact(self):
        if self._exp_eps is not None:
            return mpmath.log(_mp(self._exp_eps))
        return _mp(_exact_real(self._eps_in))

    def declared_privacy(self) -> tuple[Any, Any]:
        if self._exp_eps is not None:
            with mpmath.workdps(120):
                return mpmath.log(_mp(self._exp_eps)), 0
        return self._eps_in, 0

    def _exp_neg_eps(self):
        """Exact ``e^{−ε}``: a Fraction when ``exp_epsilon`` is rational, else mpf at current precision."""
        if isinstance(self._exp_eps, Fraction):
            return 1 / self._exp_eps
        return mpmath.exp(-self.epsilon_exact())


class Constant(Mechanism):
    """``M(S) = value`` for every ``S`` — perfectly private, ``(0, 0)``-DP (docs/theory.md §1.1)."""

    epsilon = 0.0

    def __init__(self, value: Any = 0):
        self.value = value
        self.statistic = None

    def sample(self, stats, n, rng):
        return np.full(len(stats), self.value)

    def kernel(self, stat, n):
        return {self.value: Fraction(1)}

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"


class Memorizer(Mechanism):
    """Releases the statistic exactly (no privacy, ``ε = ∞``).

    With a :class:`HistogramStatistic` it releases the whole training multiset, i.e. a model that
    memorizes ``S``; with a :class:`CountStatistic` it releases ``c(S)``.
    """

    def __init__(self, statistic: CountStatistic | HistogramStatistic):
        if not isinstance(statistic, (CountStatistic, HistogramStatistic)):
            raise ValueError("statistic must be a CountStatistic or HistogramStatistic")
        self.statistic = statistic

    def sample(self, stats, n, rng):
        return np.asarray(stats)

    def kernel(self, stat, n):
        return {stat: Fraction(1)}

    def __repr__(self) -> str:
        return f"Memorizer({self.statistic!r})"


class RandomizedResponse(_EpsMixin, Mechanism):
    """Randomized response on the bit ``β(S) = 1[c(S) > threshold]``: keep it w.p. ``e^ε/(1+e^ε)``.

    For any two datasets the output probabilities differ by a factor ≤ ``e^ε``, so the mechanism is
    ``ε``-DP (even for groups: it shows how loose group privacy can be for a particular mechanism).

    Parameters
    ----------
    epsilon : float
        Privacy parameter ``ε > 0``. Alternatively give ``exp_epsilon`` (exact ``e^ε > 1``, e.g.
        ``Fraction(3)``) to keep exact evaluation rational.
    statistic : CountStatistic
    threshold : float, optional
        Default ``n/2`` (the majority of the training set lies in ``B``).
    """

    def __init__(self, epsilon: float | None = None, statistic: CountStatistic | None = None,
                 threshold: float | None = None, *, exp_epsilon: Any = None):
        self.epsilon, self._exp_eps = _check_eps(epsilon, exp_epsilon)
        self._eps_in = epsilon
        if not isinstance(statistic, CountStatistic):
            raise ValueError("statistic must be a CountStatistic")
        self.statistic = statistic
        if threshold is not None and not math.isfinite(float(threshold)):
            raise ValueError(f"threshold must be finite, got {threshold!r}")
        self.threshold = threshold

    def _bit(self, c, n):
        t = n / 2 if self.threshold is None else self.threshold
        return c > t

    def sample(self, stats, n, rng):
        a = math.exp(-self.epsilon)  # 1/(1 + e^ε) without overflow at large ε
        flip = rng.random(len(stats)) < a / (1.0 + a)
        return (self._bit(np.asarray(stats), n) ^ flip).astype(np.int64)

    def kernel(self, stat, n):
        a = self._exp_neg_eps()
        flip = a / (1 + a)
        bit = int(self._bit(stat, n))
        return {bit: 1 - flip, 1 - bit: flip}

    def __repr__(self) -> str:
        return f"RandomizedResponse(epsilon={self.epsilon:g}, {self.statistic!r})"


class GeometricCount(_EpsMixin, Mechanism):
    """``clip(c(S) + Z, 0, n)`` with ``P(Z = z) = (1−a)/(1+a)·a^{|z|}``, ``a = e^{−ε}`` (ε-DP).

    Clipping to ``[0, n]`` is post-processing and, as docs/theory.md §3.5 notes, it only merges outputs with
    equal likelihood ratio, so the IND game's optimum is that of the unclipped geometric mechanism; its
    total variation for ``p ⊥ q`` equals the tight pure-DP value ``τ_n(ε)``.
    """

    def __init__(self, epsilon: float | None = None, statistic: CountStatistic | None = None, *,
                 exp_epsilon: Any = None):
        self.epsilon, self._exp_eps = _check_eps(epsilon, exp_epsilon)
        self._eps_in = epsilon
        if not isinstance(statistic, CountStatistic):
            raise ValueError("statistic must be a CountStatistic")
        self.statistic = statistic

    def sample(self, stats, n, rng):
        q = -math.expm1(-self.epsilon)  # success probability 1 − a
        z = rng.geometric(q, len(stats)) - rng.geometric(q, len(stats))
        return np.clip(np.asarray(stats) + z, 0, n)

    def _powers(self, n: int) -> tuple:
        """``(a^0, …, a^n, 1/(1+a), (1−a)/(1+a))`` at the current precision (cached)."""
        key = (n, mpmath.mp.prec)
        if getattr(self, "_pow_key", None) != key:
            a = self._exp_neg_eps()
            pw = [a * 0 + 1]
            for _ in range(n):
                pw.append(pw[-1] * a)
            self._pow_cache = (pw, 1 / (1 + a), (1 - a) / (1 + a))
            self._pow_key = key
        return self._pow_cache

    def output_law_from_weights(self, weights: Sequence, n: int) -> dict:
        """Exact output law for the count law ``weights[c]`` in O(n), by two geometric recurrences.

        ``L(x) = Σ_{c≤x} w_c a^{x−c} = a·L(x−1) + w_x`` and ``R(x) = Σ_{c>x} w_c a^{c−x} = a·(R(x+1) + w_{x+1})``
        give ``P(x) = (1−a)/(1+a)·(L(x) + R(x))`` inside, ``P(0) = (w_0 + R(0))/(1+a)``,
        ``P(n) = L(n)/(1+a)``. Rational weights and a rational ``a`` stay exact; otherwise the recurrences
        run in fixed point at the current precision (absolute error a few units of 2^−(prec+16) per step,
        see :func:`guard_digits`).
        """
        if n == 0:
            return {0: unify_exact(list(weights))[0]}
        rational = all(isinstance(w, (int, Fraction)) for w in weights) and isinstance(self._exp_neg_eps(), Fraction)
        if not rational:
            return self._output_law_fixed(weights, n)
        pw, edge, mid = self._powers(n)
        a = pw[1]
        w = unify_exact(list(weights))
        left = [w[0]] * (n + 1)
        for x in range(1, n + 1):
            left[x] = a * left[x - 1] + w[x]
        right = [w[0] * 0] * (n + 1)
        for x in range(n - 1, -1, -1):
            right[x] = a * (right[x + 1] + w[x + 1])
        out = {0: (w[0] + right[0]) * edge, n: left[n] * edge}
        for x in range(1, n):
            out[x] = mid * (left[x] + right[x])
        return out

    def _output_law_fixed(self, weights: Sequence, n: int) -> dict:
        bits = _fixed_bits()
        with mpmath.workprec(bits + 16):
            a = self._exp_neg_eps()
            a = _mp(a)
            fa, fedge, fmid = to_fixed(a, bits), to_fixed(1 / (1 + a), bits), to_fixed((1 - a) / (1 + a), bits)
        w = [to_fixed(v, bits) if v else 0 for v in weights]
        left = [0] * (n + 1)
        acc = 0
        for x in range(n + 1):
            acc = ((acc * fa) >> bits) + w[x]
            left[x] = acc
        right = [0] * (n + 1)
        acc = 0
        for x in range(n - 1, -1, -1):
            acc = ((acc + w[x + 1]) * fa) >> bits
            right[x] = acc
        out = {0: from_fixed(((w[0] + right[0]) * fedge) >> bits, bits),
               n: from_fixed((left[n] * fedge) >> bits, bits)}
        for x in range(1, n):
            out[x] = from_fixed(((left[x] + right[x]) * fmid) >> bits, bits)
        return out

    def kernel(self, stat, n):
        pw, edge, mid = self._powers(n)
        c = int(stat)
        if n == 0:
            return {0: pw[0]}
        out = {0: pw[c] * edge, n: pw[n - c] * edge}
        for x in range(1, n):
            out[x] = mid * pw[abs(x - c)]
        return out

    def __repr__(self) -> str:
        return f"GeometricCount(epsilon={self.epsilon:g}, {self.statistic!r})"


@dataclass(frozen=True)
class RegionSolution:
    """Exact solution of the IND game for a mechanism with real-valued output.

    Attributes
    ----------
    tv : mpf
        ``TV(M(p^n), M(q^n))``; the best IND gain is ``(1 + tv)/2``.
    breaks : ndarray
        Increasing cut points ``b_0 < … < b_{m−1}``; region ``i`` is ``(b_{i−1}, b_i]`` (with
        ``b_{−1} = −∞``, ``b_m = +∞``).
    decisions : ndarray of int, shape (m + 1,)
        The likelihood-ratio test's answer ``b' = 1`` (“trained on q”) where the q-density exceeds the
        p-density on the region, else 0.
    """

    tv: Any
    breaks: np.ndarray
    decisions: np.ndarray


class LaplaceCount(_EpsMixin, Mechanism):
    """``c(S) + Lap(1/ε)`` (ε-DP); real-valued output.

    The densities of the two output mixtures ``Σ_c w_r(c)·(ε/2)e^{−ε|x−c|}`` are, on each unit interval
    ``[j, j+1]``, of the form ``A e^{εx} + B e^{−εx}``, so their difference changes sign at most once per
    interval and integrates in closed form: :meth:`ind_solution` is exact (mpmath). ``0 < ε ≤``
    :data:`MAX_REAL_EPSILON`.
    """

    finite_output = False

    def __init__(self, epsilon: float, statistic: CountStatistic):
        self.epsilon, self._exp_eps = _check_eps(epsilon, None, MAX_REAL_EPSILON)
        self._eps_in = epsilon
        if not isinstance(statistic, CountStatistic):
            raise ValueError("statistic must be a CountStatistic")
        self.statistic = statistic

    def sample(self, stats, n, rng):
        # Lap(1/ε) as the difference of two Exp(ε) draws (exact in law; faster than rng.laplace)
        m = len(stats)
        x = rng.standard_exponential(m)
        x -= rng.standard_exponential(m)
        x *= 1.0 / self.epsilon
        x += stats
        return x

    def cdf(self, x: Any, weights: Sequence, n: int) -> mpmath.mpf:
        """Exact ``P(M(S) ≤ x)`` when ``c(S)`` has law ``weights`` (``weights[c]``, c = 0..n).

        ``Σ_{c≤x} w_c (1 − e^{−ε(x−c)}/2) + Σ_{c>x} w_c e^{−ε(c−x)}/2``: the exponentials are powers of
        ``e^{−ε}`` times two exponentials, accumulated in fixed point (O(n) integer operations).
        """
        bits = _fixed_bits()
        x = mpmath.mpf(x)
        j = min(n, int(mpmath.floor(x))) if x >= 0 else -1
        with mpmath.workprec(bits + 16):
            eps = self.epsilon_exact()
            e = to_fixed(mpmath.exp(-eps), bits)
            f_below = to_fixed(mpmath.exp(-eps * (x - j)) / 2, bits) if j >= 0 else 0
            f_above = to_fixed(mpmath.exp(-eps * (j + 1 - x)) / 2, bits) if j < n else 0
        one = 1 << bits
        total = 0
        f = f_below
        for c in range(j, -1, -1):  # c ≤ x at distance (x − j) + (j − c)
            w = weights[c]
            if w:
                total += (to_fixed(w, bits) * (one - f)) >> bits
            f = (f * e) >> bits
        f = f_above
        for c in range(j + 1, n + 1):  # c > x at distance (j + 1 − x) + (c − j − 1)
            w = weights[c]
            if w:
                total += (to_fixed(w, bits) * f) >> bits
            f = (f * e) >> bits
        return from_fixed(total, bits)

    def ind_solution(self, w_p: Sequence, w_q: Sequence, n: int) -> RegionSolution:
        """Exact TV and likelihood-ratio regions between the outputs for count laws ``w_p``, ``w_q``.

        On ``[j, j+1]`` (``x = j + t``) the density difference is ``(ε/2)(b_j e^{−εt} + a_j e^{εt})`` with
        ``b_j = Σ_{c≤j} d_c e^{−ε(j−c)}`` and ``a_j = Σ_{c>j} d_c e^{−ε(c−j)}`` (``d = w_p − w_q``), both by
        O(n) recurrences. Its primitive ``(a e^{εt} − b e^{−εt})/2`` changes sign at most once, where
        ``e^{2εt} = −b/a``, and takes the value ``sign(a)·√(−ab)`` there, so each interval costs a few
        integer operations (fixed point at the current precision plus 16 bits) and at most one integer
        square root: O(n) in all.
        """
        bits = _fixed_bits()
        with mpmath.workprec(bits + 16):
            eps = self.epsilon_exact()
            fe, fee = to_fixed(mpmath.exp(-eps), bits), to_fixed(mpmath.exp(eps), bits)
            fe2 = to_fixed(mpmath.exp(2 * eps), bits)
            eps_f = float(eps)
        one = 1 << bits
        d = [to_fixed(a, bits) - to_fixed(b, bits) for a, b in zip(w_p, w_q)]  # f_p − f_q per location
        b = [0] * (n + 1)
        acc = 0
        for j in range(n + 1):
            acc = ((acc * fe) >> bits) + d[j]
            b[j] = acc
        a = [0] * (n + 1)
        acc = 0
        for j in range(n - 1, -1, -1):
            acc = ((acc + d[j + 1]) * fe) >> bits
            a[j] = acc
        left = d[0] + a[0]  # Σ_c d_c e^{−εc}: for x < 0 the difference is (ε/2)·left·e^{εx}
        twice = abs(left) + abs(b[n])  # twice the integral of |difference|
        cuts: list[tuple[Any, int]] = [(0.0, int(left < 0))]
        for j in range(n):
            aj, bj = a[j], b[j]
            p0 = aj - bj  # twice the primitive at t = 0 and t = 1
            p1 = (aj * fee - bj * fe) >> bits
            if aj and bj and (aj > 0) != (bj > 0) and abs(aj) < abs(bj) and abs(bj) * one < abs(aj) * fe2:
                root2 = 2 * math.isqrt(-aj * bj)  # twice sign(a)·√(−ab)
                root2 = root2 if aj > 0 else -root2
                twice += abs(root2 - p0) + abs(p1 - root2)
                ratio = (abs(bj) << 64) // abs(aj) / 2.0**64  # −b/a ∈ (1, e^{2ε})
                cuts.append((j + math.log(ratio) / (2 * eps_f), int(bj < 0)))  # the sign near t = 0 is b's
                cuts.append((float(j + 1), int(aj < 0)))
            else:
                twice += abs(p1 - p0)
                mid_sign = ((aj * fee) >> bits) + bj  # sign of the difference at t = 1/2, times e^{ε/2}
                cuts.append((float(j + 1), int(mid_sign < 0)))
        cuts.append((math.inf, int(b[n] < 0)))
        return _region_solution(from_fixed(twice, bits) / 4, cuts)

    def __repr__(self) -> str:
        return f"LaplaceCount(epsilon={self.epsilon:g}, {self.statistic!r})"


def _mp(v: Any) -> mpmath.mpf:
    if isinstance(v, Fraction):
        return mpmath.mpf(v.numerator) / v.denominator
    return mpmath.mpf(v)


def _region_solution(tv: Any, cuts: list) -> RegionSolution:
    """Turn ``[(right end, decision), …]`` pieces into a :class:`RegionSolution` with float cut points.

    Pieces whose right end rounds to the previous float cut point are empty in floating point and are
    dropped; consecutive pieces with equal decisions are merged.
    """
    breaks: list[float] = []
    decisions: list[int] = []
    for right, dec in cuts:
        r = float(right)
        if breaks and r <= breaks[-1]:
            continue
        if decisions and decisions[-1] == dec:
            breaks[-1] = r
        else:
            breaks.append(r)
            decisions.append(dec)
    # the last piece extends to +inf: drop its right end
    breaks = breaks[:-1]
    return RegionSolution(tv, np.array(breaks, dtype=np.float64), np.array(decisions, dtype=np.int64))


# ----------------------------------------------------------------------------------------------------
# the extremal mechanism (docs/theory.md §3.5–3.6)


def extremal_g(alpha: Any, eps: Any, delta: Any) -> Any:
    """``g(α) = min{1, δ + e^ε α, 1 − e^{−ε}(1 − δ − α)}`` = 1 − f_{ε,δ}(α) (docs/theory.md §3.1)."""
    ee = mpmath.exp(eps)
    return min(mpmath.mpf(1), delta + ee * alpha, 1 - (1 - delta - alpha) / ee)


def extremal_ginv(u: Any, eps: Any, delta: Any) -> Any:
    """Generalized inverse ``g^{−1}(u) = max{0, e^{−ε}(u − δ), 1 − δ − e^ε(1 − u)}``."""
    ee = mpmath.exp(eps)
    return max(mpmath.mpf(0), (u - delta) / ee, 1 - delta - ee * (1 - u))


def extremal_sample(k: np.ndarray, u: np.ndarray, eps: float, delta: float) -> np.ndarray:
    """``X = g^{−k}(U)`` in O(1) per draw (docs/theory.md §3.6), vectorized over ``k`` and ``u``.

    With ``c = δ/(e^ε − 1)`` the region-2 steps act on ``β = 1 − x`` as ``β + c ↦ e^ε(β + c)`` while
    ``β < α₁ = (1−δ)/(1+e^ε)``, and the region-1 steps act as ``x + c ↦ e^{−ε}(x + c)``, clipped at 0.
    """
    k = np.asarray(k, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    c = delta / math.expm1(eps)
    a1 = (1.0 - delta) / (1.0 + math.exp(eps))
    beta0 = 1.0 - u
    hi = beta0 < a1
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(hi, np.ceil(np.log((a1 + c) / (beta0 + c)) / eps), 0.0)
    j2 = np.minimum(k, np.maximum(need, 0.0))
    beta = np.where(j2 > 0, np.exp(j2 * eps) * (beta0 + c) - c, beta0)
    x = 1.0 - beta
    rest = k - j2
    x = np.where(rest > 0, np.maximum(0.0, np.exp(-rest * eps) * (x + c) - c), x)
    return x


class ExtremalMechanism(Mechanism):
    """``M(S) = g^{−c(S)}(U)``, ``U ~ U(0,1)`` — (ε, δ)-DP and attains the tight bound (docs/theory.md §3.5).

    ``P_k``, the law of ``g^{−k}(U)``, has CDF ``g^k`` (piecewise linear). Substituting one record
    changes ``c`` by at most one and each link ``(P_k, P_{k+1})`` has tradeoff ``≥ f_{ε,δ}``, so the
    mechanism is (ε, δ)-DP. When ``p(B) = 0`` and ``q(B) = 1`` the IND game compares ``P_0`` with
    ``P_n`` and the test “b′ = 1 iff X ≤ α*_n” has accuracy exactly ``acc*_n``.

    Parameters
    ----------
    epsilon : float
        ``0 < ε ≤`` :data:`MAX_REAL_EPSILON`.
    delta : float
        ``δ ∈ [0, 1)``.
    statistic : CountStatistic
    """

    finite_output = False

    def __init__(self, epsilon: float, delta: float, statistic: CountStatistic):
        self.epsilon, _ = _check_eps(epsilon, None, MAX_REAL_EPSILON)
        self._eps_in = epsilon
        try:
            self.delta = float(delta)
        except (TypeError, ValueError):
            raise ValueError(f"delta must be a number, got {delta!r}") from None
        if not 0.0 <= self.delta < 1.0:
            raise ValueError(f"delta must lie in [0, 1), got {delta!r}")
        self._delta_in = delta
        if not isinstance(statistic, CountStatistic):
            raise ValueError("statistic must be a CountStatistic")
        self.statistic = statistic

    def epsilon_exact(self):
        return _mp(_exact_real(self._eps_in))

    def delta_exact(self):
        """``δ`` at the current mpmath precision."""
        return _mp(_exact_real(self._delta_in))

    def declared_privacy(self) -> tuple[Any, Any]:
        return self._eps_in, self._delta_in

    def sample(self, stats, n, rng):
        return extremal_sample(np.asarray(stats), rng.random(len(stats)), self.epsilon, self.delta)

    def _grid(self, n: int, counts: Sequence[int]):
        """Breakpoints of every ``g^c`` (c in ``counts``) and the CDF values ``g^c`` there.

        The kinks of ``g^c`` are the points ``ginv^j(b)``, ``j < c``, for the kinks ``b`` of ``g``
        (``α₁`` and ``1 − δ``). Since ``g^j(ginv^j(b)) = b`` while ``ginv^j(b) > 0``, the CDF values are
        read off the orbit of ``b``: ``g^c(ginv^j(b)) = ginv^{j−c}(b)`` for ``c ≤ j`` and ``g^{c−j}(b)``
        otherwise — O(n) evaluations of ``g`` per kink, and O(n·len(counts)) memory for the table.
        """
        eps, delta = self.epsilon_exact(), self.delta_exact()
        ee = mpmath.exp(eps)
        one, zero = mpmath.mpf(1), mpmath.mpf(0)

        def g(v):
            return min(one, delta + ee * v, 1 - (1 - delta - v) / ee)

        def gi(u):
            return max(zero, (u - delta) / ee, 1 - delta - ee * (1 - u))

        kmax = max(counts) if counts else 0
        a1 = (1 - delta) / (1 + ee)
        kinks = [a1] + ([1 - delta] if delta > 0 else [])
        orbit0 = [zero]
        for _ in range(kmax):
            orbit0.append(g(orbit0[-1]))
        wanted = sorted(set(counts))
        entries: dict = {zero: [orbit0[c] for c in wanted], one: [one] * len(wanted)}
        for b in kinks:
            fwd = [b]
            for _ in range(kmax):
                fwd.append(g(fwd[-1]))
            back = [b]
            while len(back) < max(n, 1):
                nxt = gi(back[-1])
                if not 0 < nxt < 1:
                    break
                back.append(nxt)
            for j, x in enumerate(back):
                if 0 < x < 1 and x not in entries:
                    entries[x] = [back[j - c] if c <= j else fwd[c - j] for c in wanted]
        grid = sorted(entries)
        cdfs = {c: [entries[x][i] for x in grid] for i, c in enumerate(wanted)}
        return grid, cdfs

    def cdf(self, x: Any, weights: Sequence, n: int) -> mpmath.mpf:
        """Exact ``P(M(S) ≤ x)`` when ``c(S)`` has law ``weights`` (``weights[c]``, c = 0..n)."""
        eps, delta = self.epsilon_exact(), self.delta_exact()
        x = mpmath.mpf(x)
        if x < 0:
            return mpmath.mpf(0)
        x = min(x, mpmath.mpf(1))
        ee = mpmath.exp(eps)
        total = mpmath.mpf(0)
        v, c_done = x, 0
        for c, w in enumerate(weights):  # v = g^c(x), advanced incrementally
            while c_done < c:
                v = min(mpmath.mpf(1), delta + ee * v, 1 - (1 - delta - v) / ee)
                c_done += 1
            if w != 0:
                total += _mp(w) * v
        return total

    def ind_solution(self, w_p: Sequence, w_q: Sequence, n: int) -> RegionSolution:
        """Exact TV and likelihood-ratio regions, on the common refinement of all breakpoints.

        Every ``g^c`` is linear between consecutive grid points, so both output mixtures have constant
        density on each grid interval (plus an atom at 0 of mass ``Σ_c w(c) g^c(0)`` when δ > 0), and
        the TV is a finite sum. This is independent of the closed form of ``tight_bound``.
        """
        counts = [c for c in range(n + 1) if w_p[c] != 0 or w_q[c] != 0]
        grid, cdfs = self._grid(n, counts)
        wp = {c: _mp(w_p[c]) for c in counts}
        wq = {c: _mp(w_q[c]) for c in counts}
        fp = [sum((wp[c] * cdfs[c][i] for c in counts), mpmath.mpf(0)) for i in range(len(grid))]
        fq = [sum((wq[c] * cdfs[c][i] for c in counts), mpmath.mpf(0)) for i in range(len(grid))]
        atom = fp[0] - fq[0]
        total = abs(atom)
        cuts = [(mpmath.mpf(0), int(atom < 0))]
        for i in range(1, len(grid)):
            diff = (fp[i] - fp[i - 1]) - (fq[i] - fq[i - 1])
            total += abs(diff)
            cuts.append((grid[i], int(diff < 0)))
        cuts.append((mpmath.inf, 0))
        return _region_solution(total / 2, cuts)

    def __repr__(self) -> str:
        return f"ExtremalMechanism(epsilon={self.epsilon:g}, delta={self.delta:g}, {self.statistic!r})"


class TabularMechanism(Mechanism):
    """A mechanism given by an exact kernel ``statistic value → {output: probability}``.

    Parameters
    ----------
    statistic : CountStatistic or HistogramStatistic
    kernel : callable or mapping
        ``kernel(stat, n) -> {output: probability}`` (probabilities summing to 1), or a mapping from
        statistic values to such dicts. Outputs must be hashable scalars.
    epsilon, delta : float
        Declared privacy (default ``inf, 0``). :meth:`pure_epsilon` computes the exact pure-DP ``ε`` of a
        count-based kernel.
    """

    def __init__(self, statistic, kernel: Callable | Mapping, epsilon: float = math.inf, delta: float = 0.0):
        if not isinstance(statistic, (CountStatistic, HistogramStatistic)):
            raise ValueError("statistic must be a CountStatistic or HistogramStatistic")
        self.statistic = statistic
        self._kernel = kernel if callable(kernel) else (lambda s, n, _m=dict(kernel): _m[s])
        self.epsilon = float(epsilon)
        self.delta = float(delta)
        self._cache: dict = {}

    def kernel(self, stat, n):
        key = (stat, n)
        if key not in self._cache:
            law = dict(self._kernel(stat, n))
            vals = unify_exact(law.values())
            if any(v < 0 for v in vals) or sum(vals) != 1 and not (
                isinstance(vals[0], mpmath.mpf) and abs(sum(vals) - 1) < 1e-12
            ):
                raise ValueError(f"kernel({stat!r}, {n}) must be a probability law, got {law!r}")
            self._cache[key] = dict(zip(law.keys(), vals))
        return self._cache[key]

    def sample(self, stats, n, rng):
        stats = np.asarray(stats)
        keys = [tuple(r) for r in stats.tolist()] if stats.ndim == 2 else stats.tolist()
        uniq: dict = {}
        for i, k in enumerate(keys):
            uniq.setdefault(k, []).append(i)
        out = np.empty(len(keys), dtype=object)
        for k, idx in uniq.items():
            law = self.kernel(k, n)
            outs = list(law.keys())
            w = np.array([float(v) for v in law.values()])
            draw = rng.choice(len(outs), size=len(idx), p=w / w.sum())
            out[np.array(idx)] = [outs[j] for j in draw]
        try:
            return out.astype(np.float64) if all(isinstance(v, (int, float)) for v in out) else out
        except (TypeError, ValueError):
            return out

    def pure_epsilon(self, n: int) -> float:
        """The smallest ``ε`` with which a count-based kernel is ε-DP (max log-ratio of c vs c+1)."""
        if not isinstance(self.statistic, CountStatistic):
            raise ValueError("pure_epsilon needs a CountStatistic")
        worst = 0.0
        for c in range(n):
            a, b = self.kernel(c, n), self.kernel(c + 1, n)
            for o in set(a) | set(b):
                pa, pb = a.get(o, 0), b.get(o, 0)
                if (pa == 0) != (pb == 0):
                    return math.inf
                if pa:
                    worst = max(worst, abs(float(mpmath.log(_mp(pa) / _mp(pb)))))
        return worst

    def __repr__(self) -> str:
        return f"TabularMechanism({self.statistic!r}, epsilon={self.epsilon:g})"


def output_law(mechanism: Mechanism, stat_law: list[tuple], n: int) -> dict:
    """Exact output law ``{output: probability}`` of a finite-output mechanism given a statistic law.

    Values are all ``Fraction`` when the statistic law and the kernel are rational, else all ``mpf``.
    """
    if isinstance(mechanism, GeometricCount):
        weights: list = [0] * (n + 1)
        for c, w in stat_law:
            weights[c] = w
        return mechanism.output_law_from_weights(weights, n)
    parts = [(w, mechanism.kernel(stat, n)) for stat, w in stat_law]
    use_mpf = any(isinstance(w, mpmath.mpf) for w, _ in parts) or any(
        isinstance(v, mpmath.mpf) for _, k in parts for v in k.values()
    )
    def conv(v: Any) -> Any:
        if use_mpf:
            return v if isinstance(v, mpmath.mpf) else _mp(v)
        return v if isinstance(v, Fraction) else to_exact(v)

    out: dict = {}
    for w, law in parts:
        w = conv(w)
        for o, pr in law.items():
            term = w * conv(pr)
            out[o] = out[o] + term if o in out else term
    return out
