"""The exact privacy of a mechanism, checked against the (ε, δ) it declares (docs/theory.md §8).

Theorem 2 and the tight bound hold *for (ε, δ)-DP mechanisms*: a mechanism that declares a guarantee it does
not have makes them look false. :func:`check_declared_privacy` computes, where it can, the mechanism's own
privacy under substitution adjacency and says whether the declaration is true:

* **finite-output mechanisms of a count** (:class:`~mitheory.mechanisms.RandomizedResponse`,
  :class:`~mitheory.mechanisms.GeometricCount`, :class:`~mitheory.mechanisms.Memorizer`, a
  :class:`~mitheory.mechanisms.TabularMechanism`): substituting one record moves ``c(S)`` by at most one, so
  the neighbouring output laws are ``K(c)`` and ``K(c + 1)`` for every count ``c`` the record domain can
  reach. The exact pure ε is ``max |log K(c)(o)/K(c+1)(o)|`` (∞ when one law has an output the other lacks)
  and the exact δ at a given ε is the largest hockey-stick divergence
  ``Σ_o max(0, K(c)(o) − e^ε K(c')(o))`` over ordered neighbouring pairs;
* **finite-output mechanisms of a histogram**: the same over every histogram of ``n`` records and every
  substitution ``h − e_i + e_j`` (when there are at most :data:`MAX_HISTOGRAM_PAIRS` pairs);
* :class:`~mitheory.mechanisms.LaplaceCount`: ``c + Lap(1/ε)`` has exactly pure ε and
  ``δ(ε') = 1 − e^{(ε' − ε)/2}`` for ``ε' < ε`` (Balle & Wang 2018, the Laplace privacy profile);
* :class:`~mitheory.mechanisms.ExtremalMechanism`: its neighbouring laws have tradeoff exactly
  ``f_{ε,δ}`` (docs/theory.md §3.5), whose privacy profile is
  ``δ(ε') = max{δ, 1 − (1 − δ)(1 + e^{ε'})/(1 + e^ε)}``; pure ε is ∞ when δ > 0;
* :class:`~mitheory.mechanisms.Constant`: (0, 0).

Other mechanisms are reported as unchecked (``holds = None``). Everything here is exact arithmetic
(fractions, or mpmath at the requested digits); the comparison with the declared δ allows a relative slack of
``10^-(digits - 10)`` for irrational e^ε.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath

from mitheory.mechanisms import (
    Constant,
    CountStatistic,
    ExtremalMechanism,
    HistogramStatistic,
    LaplaceCount,
    Mechanism,
    _compositions,
)

__all__ = ["MAX_HISTOGRAM_PAIRS", "PrivacyCheck", "check_declared_privacy"]

#: Neighbouring histogram pairs evaluated at most (beyond it the privacy of a histogram mechanism is unchecked).
MAX_HISTOGRAM_PAIRS = 200_000
DEFAULT_DIGITS = 50


def _mp(x: Any) -> mpmath.mpf:
    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    return mpmath.mpf(x)


@dataclass(frozen=True)
class PrivacyCheck:
    """A declared (ε, δ) against the mechanism's exact privacy at ``n`` records (substitution adjacency).

    Attributes
    ----------
    declared_eps, declared_delta : the claim examined
    exact_eps : mpf or None
        The smallest ε with which the mechanism is (ε, 0)-DP (``inf`` when none); None when not computable.
    exact_delta : mpf or None
        The smallest δ with which it is (``declared_eps``, δ)-DP; None when not computable.
    holds : bool or None
        Whether the declaration is true (``exact_delta ≤ declared_delta``); None when unchecked.
    method : str
        How the exact values were obtained.
    witness : str
        The neighbouring pair (and output) that attains ``exact_delta``, when there is one.
    """

    declared_eps: Any
    declared_delta: Any
    exact_eps: Any
    exact_delta: Any
    holds: bool | None
    method: str
    witness: str = ""

    def summary(self) -> str:
        claim = f"({float(self.declared_eps):g}, {float(self.declared_delta):g})-DP"
        if self.holds is None or self.exact_eps is None:
            return f"declared {claim}: {'not checked' if self.holds is None else 'true'} ({self.method})"
        exact = f"exact pure eps = {float(self.exact_eps):.6g}, exact delta at eps = {float(self.declared_eps):g} is " \
                f"{float(self.exact_delta):.6g}"
        if self.holds:
            return f"declared {claim}: true ({exact}; {self.method})"
        return (f"declared {claim} is FALSE: {exact}"
                + (f" ({self.witness})" if self.witness else "") + f"; {self.method}")


def _reachable_counts(statistic: CountStatistic, n: int, distribution: Any) -> range:
    """Counts a training set of ``n`` records from the distribution's domain can have (all of 0..n unless the
    domain lies entirely inside or outside the event)."""
    domain = distribution.decorrelated() if distribution is not None and hasattr(distribution, "decorrelated") else None
    records = getattr(domain, "records", None)
    if records is None:
        return range(n + 1)
    inside = statistic.event(domain)
    if inside.all():
        return range(n, n + 1)
    if not inside.any():
        return range(0, 1)
    return range(n + 1)


def _finite_profile(pairs, eps: Any, digits: int) -> tuple[Any, Any, str, str]:
    """(exact pure ε, exact δ at ``eps``, witness of δ, witness of ε) over ordered pairs of output laws."""
    worst_eps, eps_witness = mpmath.mpf(0), ""
    worst_delta, delta_witness = mpmath.mpf(0), ""
    e_eps = mpmath.exp(_mp(eps))
    for label, a, b in pairs:
        hockey = mpmath.mpf(0)
        for o in set(a) | set(b):
            pa, pb = _mp(a.get(o, 0)), _mp(b.get(o, 0))
            if pa > 0 and pb == 0:
                if worst_eps != mpmath.inf:
                    worst_eps, eps_witness = mpmath.inf, f"{label}: output {o!r} has probability {float(pa):.6g} vs 0"
            elif pa > 0:
                r = mpmath.log(pa / pb)
                if r > worst_eps:
                    worst_eps, eps_witness = r, f"{label}: output {o!r}, log ratio {float(r):.6g}"
            excess = pa - e_eps * pb
            if excess > 0:
                hockey += excess
        if hockey > worst_delta:
            worst_delta, delta_witness = hockey, f"worst neighbours {label}"
    return worst_eps, worst_delta, delta_witness, eps_witness


def _count_pairs(mechanism: Mechanism, n: int, counts: range):
    for c in counts:
        if c + 1 in counts:
            k0, k1 = mechanism.kernel(c, n), mechanism.kernel(c + 1, n)
            yield f"c = {c} -> {c + 1}", k0, k1
            yield f"c = {c + 1} -> {c}", k1, k0


def _histogram_pairs(mechanism: Mechanism, n: int, k: int):
    for h in _compositions(n, k):
        law = mechanism.kernel(h, n)
        for i in range(k):
            if h[i] == 0:
                continue
            for j in range(k):
                if j != i:
                    h2 = h[:i] + (h[i] - 1,) + h[i + 1:]
                    h2 = h2[:j] + (h2[j] + 1,) + h2[j + 1:]
                    yield f"histogram {h} -> {h2}", law, mechanism.kernel(h2, n)


def check_declared_privacy(mechanism: Mechanism, n: int, eps: Any = None, delta: Any = None, *,
                           distribution: Any = None, digits: int = DEFAULT_DIGITS) -> PrivacyCheck:
    """Is ``mechanism`` really (ε, δ)-DP on training sets of ``n`` records? (See the module docstring.)

    Parameters
    ----------
    mechanism : Mechanism
    n : int
        Training-set size.
    eps, delta : optional
        The claim; default: the mechanism's declared ``(ε, δ)``.
    distribution : optional
        The game's record distribution: its (decorrelated) support is the record domain, which decides the
        counts a training set can have.
    digits : int
        mpmath precision of the irrational parts.
    """
    d_eps, d_delta = mechanism.declared_privacy()
    eps = d_eps if eps is None else eps
    delta = d_delta if delta is None else delta
    with mpmath.workdps(digits + 10):
        e = _mp(eps)
        if math.isinf(float(e)):
            return PrivacyCheck(eps, delta, None, None, True, "an infinite epsilon claims nothing")
        if isinstance(mechanism, Constant):
            return PrivacyCheck(eps, delta, mpmath.mpf(0), mpmath.mpf(0), True, "a constant output")
        if isinstance(mechanism, LaplaceCount):
            true_eps = mechanism.epsilon_exact()
            exact_delta = max(mpmath.mpf(0), -mpmath.expm1((e - true_eps) / 2))
            return _verdict(eps, delta, true_eps, exact_delta, digits,
                            "Laplace privacy profile 1 - exp((eps' - eps)/2)", "")
        if isinstance(mechanism, ExtremalMechanism):
            true_eps, true_delta = mechanism.epsilon_exact(), mechanism.delta_exact()
            profile = 1 - (1 - true_delta) * (1 + mpmath.exp(e)) / (1 + mpmath.exp(true_eps))
            exact_delta = max(true_delta, profile)
            pure = true_eps if true_delta == 0 else mpmath.inf
            return _verdict(eps, delta, pure, exact_delta, digits, "privacy profile of f_{eps,delta} (§3.5)", "")
        if not getattr(mechanism, "finite_output", False):
            return PrivacyCheck(eps, delta, None, None, None, f"no exact privacy known for {type(mechanism).__name__}")
        stat = mechanism.statistic
        if isinstance(stat, CountStatistic):
            pairs = _count_pairs(mechanism, n, _reachable_counts(stat, n, distribution))
            method = f"exact output laws of neighbouring counts c, c + 1 (n = {n})"
        elif isinstance(stat, HistogramStatistic):
            size = math.comb(n + stat.k - 1, stat.k - 1) * stat.k * (stat.k - 1)
            if size > MAX_HISTOGRAM_PAIRS:
                return PrivacyCheck(eps, delta, None, None, None,
                                    f"{size} neighbouring histograms exceed the {MAX_HISTOGRAM_PAIRS} checked")
            pairs = _histogram_pairs(mechanism, n, stat.k)
            method = f"exact output laws of every neighbouring pair of histograms (n = {n})"
        else:
            return PrivacyCheck(eps, delta, None, None, None, "the mechanism has no statistic")
        true_eps, exact_delta, witness, eps_witness = _finite_profile(pairs, e, digits)
        return _verdict(eps, delta, true_eps, exact_delta, digits, method, witness or eps_witness)


def _verdict(eps, delta, exact_eps, exact_delta, digits, method, witness) -> PrivacyCheck:
    slack = mpmath.mpf(10) ** (-(digits - 10))
    if exact_delta <= slack:  # round-off of an irrational e^eps around an exact 0
        exact_delta = mpmath.mpf(0)
    holds = bool(exact_delta <= _mp(delta) + slack * max(1, abs(_mp(delta))))
    return PrivacyCheck(eps, delta, exact_eps, exact_delta, holds, method, witness)
