"""Exact bounds on model-inversion gain for differentially private learners.

Notation follows the MID paper (Wang et al., AAAI 2021) and docs/theory.md: a learner trained on n records
is (ε, δ)-DP under substitution adjacency; gain^IND is the success probability of an adversary in the
indistinguishability game (Experiment 2), so max_A gain^IND = (1 + TV)/2 where TV is the total variation
between the model laws under the two training distributions.

Bounds on max_A gain^IND
------------------------
* paper_bound: Theorem 2 as printed, e^{nε}/(e^{nε}+1) + (e^{nε}−1)δ/((e^{nε}+1)(e^ε−1)), i.e. group
  privacy (nε, δ_n) with δ_n = δ(e^{nε} − 1)/(e^ε − 1) followed by the best test for one
  (E, D)-indistinguishable pair. Its slack is 1 − gain = (1 − δ_n)/(1 + e^{nε}); it is vacuous iff δ_n ≥ 1.
* tight_bound: the exact supremum over all (ε, δ)-DP learners (f-DP group privacy, docs/theory.md §3):
  acc*_n = 1 − α*_n with α*_n = max{0, e^{−mε}(x₀ − c(e^{mε} − 1))}, m = ⌊n/2⌋, c = δ/(e^ε − 1),
  x₀ = 1/2 for even n and (1 − δ)/(1 + e^ε) for odd n. It equals paper_bound at n = 1 and is strictly
  smaller for n ≥ 2 unless both are 1.
* gdp_bound: μ-GDP learners, Φ(nμ/2) (§4).
* refined_bound: the distribution-dependent 1/2 + ½·E_{K~Bin(n, TV(p,q))} TV*_K (§6).

advantage_bound turns a gain bound into Theorem 1's advantage bound, and required_epsilon inverts the
ε-bounds.

Numerics
--------
Inputs are converted exactly to rationals (a float is its exact binary value, a string such as "0.1" its
exact decimal value). Each bound is then evaluated in ball arithmetic (mitheory._ball: every intermediate
carries a rigorous error radius) in cancellation-free forms (expm1, tanh, §3.7), at increasing working
precision until every requested output rounds to one decimal: the digits returned (GainBound.text) and
printed are the exact value correctly rounded (half to even), and the flags (vacuous) are decided exactly.
The precision this takes grows with the conditioning of the input (δ near the vacuity threshold, huge nε).
The one input where a flag sits exactly on its threshold — n = 2, δ = 1/2, where α*_2 = (1/2 − δ)e^{−ε}
vanishes — is decided in exact rational arithmetic; every other threshold crossing is a nonconstant
polynomial in the transcendental number e^ε and cannot be hit by a rational input (docs/theory.md §7).
This module imports only the standard library and mpmath, so python -m mitheory.bounds starts fast.
"""

from __future__ import annotations

import mpmath
from mpmath import mp, mpf

from mitheory import _ball as B
from mitheory._ball import (
    Ball,
    Q,  # exact rationals without importing fractions (and decimal) at start-up
)

__all__ = [
    "GainBound",
    "paper_bound",
    "tight_bound",
    "gdp_bound",
    "refined_bound",
    "advantage_bound",
    "required_epsilon",
    "paper_bound_expr",
    "paper_bound_rewritten_expr",
]

DEFAULT_DIGITS = 50
MIN_DIGITS, MAX_DIGITS = 5, 1000
MAX_EXPONENT = 100_000
"""Decimal inputs are accepted with exponents up to this size (``1e-100000`` … ``1e100000``)."""
MAX_TERMS = 10_000_000
"""refined_bound refuses inputs whose binomial sum needs more terms than this (it says how many)."""

_FIELDS = ("gain", "slack", "raw", "advantage")


class GainBound:
    """A bound on ``max_A gain^IND``.

    Attributes
    ----------
    gain : mpf
        The bound, clipped to ``[1/2, 1]``.
    slack : mpf
        ``1 − gain`` computed without cancellation (it carries the information when ``gain`` rounds to 1).
    raw : mpf
        The formula's value before clipping (equals ``gain`` where the formula cannot exceed 1).
    vacuous : bool
        ``raw ≥ 1``: the bound says nothing (every adversary could be allowed to always win).
    advantage : mpf
        ``2·gain − 1`` — Theorem 1's transfer (:func:`advantage_bound`); equals the TV bound, computed
        directly rather than by subtraction.
    digits : int or None
        Significant digits of the values; each is the exact value correctly rounded to ``digits``
        decimal digits (``text`` gives the decimal string itself).
    """

    __slots__ = ("gain", "slack", "raw", "vacuous", "advantage", "digits", "_texts")

    def __init__(self, gain, slack, raw, vacuous: bool, advantage, *, digits: int | None = None,
                 texts: dict | None = None):
        for name, value in (("gain", gain), ("slack", slack), ("raw", raw), ("vacuous", bool(vacuous)),
                            ("advantage", advantage), ("digits", digits), ("_texts", texts)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError("GainBound is immutable")

    def __reduce__(self):  # pickling (process pools) goes through __init__, not setattr
        return _restore_gain_bound, (self.gain, self.slack, self.raw, self.vacuous, self.advantage, self.digits,
                                     self._texts)

    def __eq__(self, other) -> bool:
        if not isinstance(other, GainBound):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in ("gain", "slack", "raw", "vacuous", "advantage"))

    def __hash__(self) -> int:
        return hash((self.gain, self.slack, self.raw, self.vacuous, self.advantage))

    def __repr__(self) -> str:
        body = ", ".join(f"{f}={self.text(f)}" for f in _FIELDS)
        return f"GainBound({body}, vacuous={self.vacuous})"

    def __float__(self) -> float:
        return float(self.gain)

    def text(self, field: str = "gain") -> str:
        """The correctly rounded decimal string of ``gain``, ``slack``, ``raw`` or ``advantage``."""
        if field not in _FIELDS:
            raise ValueError(f"field must be one of {', '.join(_FIELDS)}, got {field!r}")
        if self._texts is not None and field in self._texts:
            return self._texts[field]
        value = getattr(self, field)
        return mpmath.nstr(value, self.digits or 15, strip_zeros=False) if value else "0"

    @classmethod
    def _from_texts(cls, texts: dict, vacuous: bool, digits: int) -> GainBound:
        with mp.workdps(digits + 2):
            values = {k: mpf(v) for k, v in texts.items()}
        return cls(values["gain"], values["slack"], values["raw"], vacuous, values["advantage"],
                   digits=digits, texts=dict(texts))


def _restore_gain_bound(gain, slack, raw, vacuous, advantage, digits, texts) -> GainBound:
    return GainBound(gain, slack, raw, vacuous, advantage, digits=digits, texts=texts)


# ---------------------------------------------------------------------------------------------------
# Input validation: exact rationals, one-line errors.


def _parse_decimal(name: str, text: str) -> Q:
    """A decimal or ``p/q`` string as an exact rational, by the rules every command line shares
    (:func:`mitheory.cli.parse_real`: ASCII digits, ``_`` between digits, bounded exponents)."""
    from mitheory.cli import ParamError, parse_real

    try:
        value = parse_real(text)
    except ParamError as exc:
        raise ValueError(f"{name} {exc}") from None
    return Q(value.numerator, value.denominator)


def _rational(name: str, value) -> Q:
    """Convert ``value`` exactly to a rational (Q), rejecting non-numbers and non-finite values."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if isinstance(value, Q):
        return value
    if isinstance(value, int):
        return Q(value)
    if isinstance(value, mpf):
        if not mpmath.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        return Q.from_mpf(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return Q.from_float(value)
    if isinstance(value, str):
        return _parse_decimal(name, value)
    try:  # other numbers: numpy scalars, decimal.Decimal, numbers.Rational
        if hasattr(value, "numerator") and hasattr(value, "denominator"):
            return Q(int(value.numerator), int(value.denominator))
        if hasattr(value, "__index__"):
            return Q(value.__index__())
        if hasattr(value, "__float__"):
            return _rational(name, float(value))
    except (TypeError, ValueError, OverflowError):
        pass
    raise ValueError(f"{name} must be a number, got {value!r}")


def _epsilon(eps) -> Q:
    e = _rational("eps", eps)
    if e <= 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    return e


def _delta(delta) -> Q:
    d = _rational("delta", delta)
    if not 0 <= d < 1:
        raise ValueError(f"delta must lie in [0, 1), got {delta!r}")
    return d


def _size(n, name: str = "n", minimum: int = 1) -> int:
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    k = n.__index__()
    if k < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    return k


def _digits(digits) -> int:
    d = _size(digits, "digits", MIN_DIGITS)
    if d > MAX_DIGITS:
        raise ValueError(f"digits must lie in {MIN_DIGITS}..{MAX_DIGITS}, got {digits!r}")
    return d


def _start(digits: int, what: str, *magnitudes) -> int:
    """First working precision, refusing inputs whose exponentials could not be evaluated at all."""
    prec = B.start_prec(digits, *magnitudes)
    if prec > B.MAX_PREC:
        big = max((abs(m) for m in magnitudes), default=0)
        raise ValueError(
            f"{what} = {mpmath.nstr(mpf(big.numerator) / big.denominator, 3)} is too large: e^-({what}) needs "
            f"about {prec} bits of working precision, more than the {B.MAX_PREC} this module uses"
        )
    return prec


# ---------------------------------------------------------------------------------------------------
# The bounds as balls at the current precision: ({name: Ball}, vacuous).


def _paper_balls(e: Q, n: int, d: Q):
    eps = Ball.of(e)
    ne = Ball.of(n * e)
    c = Ball.of(d) / B.expm1(eps) if d else Ball(0)  # δ/(e^ε − 1)
    tv_raw = (1 + 2 * c) * B.tanh(Ball.of(n * e / 2))  # docs/theory.md §2: TV_paper = (1 + 2c)·tanh(nε/2)
    raw = (1 + tv_raw).scale2(-1)
    if d == 0:
        one_minus_dn = Ball(1)
    elif n == 1:
        one_minus_dn = Ball.of(1 - d)  # δ_1 = δ exactly
    else:
        one_minus_dn = 1 - c * B.expm1(ne)  # 1 − δ_n; never exactly 0 for n ≥ 2 (§7)
    if one_minus_dn.sign() <= 0:
        return {"gain": Ball(1), "slack": Ball(0), "raw": raw, "advantage": Ball(1)}, True
    slack = one_minus_dn / (1 + B.exp(ne))
    return {"gain": 1 - slack, "slack": slack, "raw": raw, "advantage": tv_raw}, False


def _tight_balls(e: Q, n: int, d: Q):
    eps = Ball.of(e)
    m, odd = divmod(n, 2)
    em1 = B.expm1(eps)
    c = Ball.of(d) / em1 if d else Ball(0)
    if odd:
        # τ_n = 1 − 2e^{−mε}/(1 + e^ε) = (expm1(ε) − 2·expm1(−mε))/(1 + e^ε): both terms ≥ 0
        ee1 = em1 + 2  # 1 + e^ε
        tau = (em1 - 2 * B.expm1(Ball.of(-m * e))) / ee1
        x0 = Ball.of(1 - d) / ee1
    else:
        tau = -B.expm1(Ball.of(-m * e))
        x0 = Ball(mpf(1) / 2)
    tv_raw = (1 + 2 * c) * tau
    raw = (1 + tv_raw).scale2(-1)
    if d == 0 or m == 0:
        bracket = x0  # > 0
    elif n == 2:
        bracket = Ball.of(Q(1, 2) - d)  # x₀ − c(e^ε − 1) = 1/2 − δ exactly: the one singular input
    else:
        bracket = x0 - c * B.expm1(Ball.of(m * e))  # never exactly 0 (§7)
    if bracket.sign() <= 0:
        return {"gain": Ball(1), "slack": Ball(0), "raw": raw, "advantage": Ball(1)}, True
    alpha = B.exp(Ball.of(-m * e)) * bracket if m else bracket
    return {"gain": 1 - alpha, "slack": alpha, "raw": raw, "advantage": tv_raw}, False


def _solve_bound(evaluate, digits: int, prec: int) -> GainBound:
    texts, vacuous, _ = B.solve(evaluate, digits, prec)
    return GainBound._from_texts(texts, vacuous, digits)


def paper_bound(eps, n: int, delta=0, *, digits: int = DEFAULT_DIGITS) -> GainBound:
    r"""Theorem 2 of the MID paper: the printed bound on ``max_A gain^IND`` for an (ε, δ)-DP learner.

    .. math:: \mathrm{gain} \le \frac{e^{n\epsilon}}{e^{n\epsilon}+1}
              + \frac{(e^{n\epsilon}-1)\,\delta}{(e^{n\epsilon}+1)(e^\epsilon-1)}
              = \tfrac12 + \tfrac12\Big(1 + \frac{2\delta}{e^\epsilon-1}\Big)\tanh\frac{n\epsilon}{2}.

    ``raw`` is the formula as printed; it exceeds 1 exactly when δ_n = δ(e^{nε}−1)/(e^ε−1) > 1, and then
    ``vacuous`` is set and ``gain`` is clipped to 1. ``slack = (1 − δ_n)/(1 + e^{nε})`` (docs/theory.md §2).

    Parameters
    ----------
    eps : number > 0
        The learner's ε (floats are taken at their exact binary value, strings at their exact decimal one).
    n : int ≥ 1
        Training-set size, which is also the group size: the two training sets differ in all n records.
    delta : number in [0, 1)
    digits : int in 5..1000
        Significant digits of the results, each the exact value correctly rounded.

    Notes
    -----
    The paper calls this bound tight; it is only for n = 1. See :func:`tight_bound`.
    """
    e, d, n, digits = _epsilon(eps), _delta(delta), _size(n), _digits(digits)
    prec = _start(digits, "n*eps", n * e)
    return _solve_bound(lambda: _paper_balls(e, n, d), digits, prec)


def tight_bound(eps, n: int, delta=0, *, digits: int = DEFAULT_DIGITS) -> GainBound:
    r"""The largest ``gain^IND`` any (ε, δ)-DP learner allows when the two training sets differ in n records.

    By f-DP group privacy (Dong, Roth & Su 2022; docs/theory.md §3), with ``g = 1 − f_{ε,δ}``,
    ``acc*_n = 1 − α*_n`` where α*_n is the fixed point of ``1 − g^n``:

    .. math:: \alpha^*_n = \max\Big\{0,\ e^{-m\epsilon}\big(x_0
              - \tfrac{\delta}{e^\epsilon-1}(e^{m\epsilon}-1)\big)\Big\}, \qquad m = \lfloor n/2\rfloor,

    ``x0 = 1/2`` (n even) or ``(1 − δ)/(1 + e^ε)`` (n odd). The advantage is
    ``TV*_n = min{1, (1 + 2δ/(e^ε−1))·τ_n}`` with ``τ_n = 1 − e^{−nε/2}`` (n even) and
    ``τ_n = 1 − 2e^{−(n−1)ε/2}/(1 + e^ε)`` (n odd). The value is attained by the count mechanism of §3.5,
    so it is the exact supremum over (p, M); it equals :func:`paper_bound` at n = 1 and is strictly
    smaller for n ≥ 2 unless both are 1 (§3.4).

    Parameters are as for :func:`paper_bound`. ``vacuous`` is set when the bound is 1 (at n = 2 this
    happens exactly when δ ≥ 1/2, decided in rational arithmetic).
    """
    e, d, n, digits = _epsilon(eps), _delta(delta), _size(n), _digits(digits)
    prec = _start(digits, "n*eps", n * e)
    return _solve_bound(lambda: _tight_balls(e, n, d), digits, prec)


def _gdp_balls(m: Q, n: int):
    x = Ball.of(n * m) / B.sqrt(Ball(8))  # nμ/(2√2)
    slack = B.erfc(x).scale2(-1)
    gain = 1 - slack
    return {"gain": gain, "slack": slack, "raw": gain, "advantage": B.erf(x)}, False


def _mu(mu) -> Q:
    m = _rational("mu", mu)
    if m <= 0:
        raise ValueError(f"mu must be > 0, got {mu!r}")
    return m


def gdp_bound(mu, n: int, *, digits: int = DEFAULT_DIGITS) -> GainBound:
    r"""``max_A gain^IND`` for a μ-Gaussian-DP learner on n records: ``Φ(nμ/2)`` (docs/theory.md §4).

    μ-GDP composes exactly to nμ-GDP for a group of n, so the bound is attained (Gaussian count mechanism).
    ``slack = Φ(−nμ/2)`` and ``advantage = erf(nμ/(2√2)) = TV(N(0,1), N(nμ,1))``. Never vacuous.
    """
    m, n, digits = _mu(mu), _size(n), _digits(digits)
    prec = _start(digits, "(n*mu)^2", (n * m) ** 2)
    return _solve_bound(lambda: _gdp_balls(m, n), digits, prec)


# ---------------------------------------------------------------------------------------------------
# The refined bound: binomial sums of the closed form.


def _binomial_partial(n: int, t: Q, v: Ball, K: int, total: Ball) -> Ball:
    r"""``L(v) = Σ_{k<K} C(n,k) t^k (1−t)^{n−k} v^k`` for ``1 ≤ K ≤ n`` and ``|v| ≤ 1``.

    ``total`` is the full sum ``(1 − t + tv)^n``. When ``K − 1`` lies at or below the mode of the terms'
    magnitudes (the binomial tilted by ``|v|``) the terms from ``K − 1`` downward are summed, otherwise
    ``total`` minus the terms from ``K`` upward: either way the terms shrink from the first one on (after
    at most the distance to the mode), and the sum stops once the geometric bound on all remaining terms,
    which is added to the radius, is below the working precision. The recurrence runs on midpoints; its
    rounding error, ``≤ 4·ULPS·2^−prec`` relative per step, is added to the radius as well.
    """
    av = abs(v.mid)
    if av == 0:
        return Ball(1) if K >= 1 else Ball(0)
    tm = mpf(t.numerator) / t.denominator
    tilt = tm * av / (1 - tm + tm * av)
    mode = (n + 1) * tilt
    down = K - 1 <= mode
    k0 = K - 1 if down else K
    sigma = mpmath.sqrt(n * tilt * (1 - tilt)) + 1
    dist = abs(k0 - mode)
    window = float(mpmath.sqrt(2 * mp.prec * 0.7) * sigma)
    estimate = max(0.0, window - float(dist)) + mp.prec
    if estimate > MAX_TERMS:
        raise ValueError(
            f"refined_bound: the binomial sum at n={n}, TV(p,q)={float(t):.6g} needs about {estimate:.3g} "
            f"terms (~{estimate * 5e-6:.3g} s); the limit is {MAX_TERMS:.0e}: the vacuity cut falls inside the "
            f"bulk of Bin(n, TV(p,q))"
        )
    # the first term, C(n,k0) t^k0 (1−t)^(n−k0) v^k0, as a ball
    small = min(k0, n - k0)
    if small <= 5_000:
        comb = Ball.of(_comb(n, k0))
    else:
        comb = B.exp(B.loggamma_int(n + 1) - B.loggamma_int(k0 + 1) - B.loggamma_int(n - k0 + 1))
    first = comb * B.power(Ball.of(t), k0) * B.power(Ball.of(1 - t), n - k0) * B.power(v, k0)
    if first.rad >= abs(first.mid):  # hopelessly imprecise: ask for more precision
        raise B.Undecided(B._bits_short(first))
    odds = (1 - tm) / (tm * v.mid) if down else tm * v.mid / (1 - tm)
    odds_abs = abs(odds)
    term = first.mid
    acc, acc_abs = term, abs(term)
    tiny = mpmath.ldexp(1, -mp.prec - 4)
    k, steps, remainder = k0, 0, mpf(0)
    while (0 < k) if down else (k < n):
        r = odds_abs * k / (n - k + 1) if down else odds_abs * (n - k) / (k + 1)  # |next term / term|
        if r < 1:  # the ratios only shrink from here on: the rest is below a geometric series
            remainder = abs(term) * r / (1 - r)
            if remainder <= tiny * acc_abs:
                break
        if down:
            term = term * odds * k / (n - k + 1)
            k -= 1
        else:
            term = term * odds * (n - k) / (k + 1)
            k += 1
        steps += 1
        acc += term
        acc_abs += abs(term)
    else:
        remainder = mpf(0)
    rel = first.rad / abs(first.mid) + steps * (v.rad / av + mpmath.ldexp(4 * B.ULPS, -mp.prec))
    part = Ball(acc, rel * acc_abs + remainder + B._ulp(acc))
    return part if down else total - part


def _comb(n: int, k: int) -> int:
    from math import comb

    return comb(n, k)


def _refined_balls(e: Q, n: int, d: Q, t: Q, s: int):
    eps = Ball.of(e)
    ee = B.exp(eps)
    em1 = ee - 1 if e >= Q(1, 2) else B.expm1(eps)
    c = Ball.of(d) / em1 if d else Ball(0)
    z = B.exp(Ball.of(-e / 2))  # e^{−ε/2}
    um1 = B.expm1(Ball.of(-s * e / 2))  # u − 1, u = z^s = e^{−sε/2}
    u = um1 + 1
    half = Ball(mpf(1) / 2)
    a_even = half + c  # α*_j = a_even·z^j − c for even j
    a_odd = (Ball.of(1 - d) / (ee + 1) + c) / z  # α*_j = a_odd·z^j − c for odd j
    # k_vac: the first vacuous group size; every K with s·K ≥ k_vac is vacuous (TV*_j grows with j)
    k_vac = None
    if d:
        if d >= Q(1, 2):
            m_even = 1  # α*_2 = (1/2 − δ)e^{−ε} ≤ 0 exactly
        else:
            m_even = _ceil_ball(B.log1p(1 / (2 * c)) / eps, s * n + 2)
        m_odd = _ceil_ball(B.log1p((Ball.of(1 - d) / (ee + 1)) / c) / eps, s * n + 2)
        k_vac = min(2 * m_even, 2 * m_odd + 1)
    cut = n + 1 if k_vac is None else min(n + 1, -(-k_vac // s))  # first vacuous K (n + 1: none)
    tm1 = Ball.of(t) * um1  # t(u − 1)
    base_plus = 1 + tm1  # 1 − t + tu ∈ (0, 1]
    total_plus = B.power(base_plus, n)
    one_minus_plus = -B.expm1(n * B.log1p(tm1))  # 1 − (1 − t + tu)^n without cancellation
    alt = s % 2 == 1
    if alt:
        base_minus = 1 - Ball.of(t) * (1 + u)  # 1 − t − tu ∈ (−1, 1)
        total_minus = B.power(base_minus, n)
    if cut > n:  # no vacuous group size: closed forms (docs/theory.md §6)
        l1, lu = Ball(1), total_plus
        w_u = one_minus_plus
        if alt:
            lm = total_minus
            w_m = 1 - total_minus
    else:
        l1 = _binomial_partial(n, t, Ball(1), cut, Ball(1))
        lu = _binomial_partial(n, t, u, cut, total_plus)
        w_u = l1 - lu
        if alt:
            lm = _binomial_partial(n, t, -u, cut, total_minus)
            w_m = l1 - lm
    if alt:
        # group size s·k has the parity of k: α* = ((a_e + a_o)/2 + (−1)^k (a_e − a_o)/2)·u^k − c
        slack = ((a_even + a_odd) * lu + (a_even - a_odd) * lm).scale2(-1) - c * l1
        d_odd = 2 / (z * (ee + 1))  # τ_j = 1 − d_odd·z^j for odd j (1 − z^j for even j)
        tv_part = ((1 + d_odd) * w_u + (1 - d_odd) * w_m).scale2(-1)
    else:
        slack = a_even * lu - c * l1
        tv_part = w_u
    advantage = (1 - l1) + (1 + 2 * c) * tv_part  # vacuous mass P(K ≥ cut) plus the non-vacuous TV*
    return {"gain": 1 - slack, "slack": slack, "raw": 1 - slack, "advantage": advantage}, False


def _ceil_ball(x: Ball, cap: int) -> int:
    """``⌈x⌉`` for a ball whose value is not an integer; ``cap`` when ``x ≥ cap`` (no need to know more)."""
    lo = x.lo
    if lo >= cap:
        return cap
    a, b = int(mpmath.ceil(lo)), int(mpmath.ceil(x.hi))
    if a != b:
        raise B.Undecided(B._bits_short(x))
    return a


def refined_bound(eps, n: int, delta, tv_pq, *, steps: int = 1, digits: int = DEFAULT_DIGITS) -> GainBound:
    r"""Distribution-dependent bound ``1/2 + ½·E_{K~Bin(n, TV(p,q))} TV*_K`` (docs/theory.md §6).

    Coupling p^n and q^n coordinatewise maximally makes the Hamming distance K ~ Bin(n, TV(p, q)), and
    joint convexity of TV gives ``max_A gain^IND ≤ 1/2 + ½ E[TV*_K] ≤ acc*_n`` for every p, with no γ.

    ``steps`` is the number of neighbouring steps one differing record costs: 1 under substitution
    adjacency, 2 under add/remove adjacency (a substitution is a removal and an addition), in which case
    the bound is ``1/2 + ½·E TV*_{2K}``.

    The slack ``1 − gain = E[α*_{steps·K}]`` is computed directly. With ``z = e^{−ε/2}``, ``u = z^steps``
    and ``c = δ/(e^ε − 1)``, the tight slack of a group of size j is ``a_j z^j − c`` until the first
    vacuous size ``k_vac`` (``a_j = 1/2 + c`` for even j, ``((1−δ)/(1+e^ε) + c)/z`` for odd j) and 0 from
    there on, so the expectation is a combination of three truncated binomial sums
    ``L(v) = Σ_{k<K} P(K=k) v^k`` at ``v = 1, u, −u``, with ``K = ⌈k_vac/steps⌉``. When no size up to
    ``steps·n`` is vacuous (always for δ = 0, and for tiny ε and δ) these are the closed forms
    ``(1 − t + tv)^n``: O(1) work for any n. Otherwise each truncated sum is taken from the side of the cut
    where the terms decay, ``Σ_{k<K}`` or ``total − Σ_{k≥K}``, with a rigorous geometric bound on the rest,
    so it costs O(digits / log(1/ρ)) terms for the term ratio ρ at the cut — at most O(√(n·digits)) when
    the cut falls inside the bulk of the binomial; inputs that would need more than :data:`MAX_TERMS`
    terms are refused with the estimate.
    """
    e, d, n, digits = _epsilon(eps), _delta(delta), _size(n), _digits(digits)
    s = _size(steps, "steps")
    t = _rational("tv_pq", tv_pq)
    if not 0 <= t <= 1:
        raise ValueError(f"tv_pq must lie in [0, 1], got {tv_pq!r}")
    if t == 0:
        half = mpf(1) / 2
        texts = {"gain": "0.5" + "0" * (digits - 1), "slack": "0.5" + "0" * (digits - 1)}
        return GainBound(half, half, half, False, mpf(0), digits=digits,
                         texts={**texts, "raw": texts["gain"], "advantage": "0"})
    if t == 1:
        return tight_bound(e, s * n, d, digits=digits)
    prec = _start(digits, "n*eps", s * n * e)
    return _solve_bound(lambda: _refined_balls(e, n, d, t, s), digits, prec)


def advantage_bound(gain) -> mpf:
    r"""Theorem 1's transfer: ``2·gain − 1``.

    For every fixed attack A*, the *corrected* advantage of docs/theory.md §1.3,
    ``Adv′(A*) = gain(A*; train~p, challenge~p) − gain(A*; train~q, challenge~p)``, satisfies
    ``|Adv′| ≤ 2·max_B gain^IND(B) − 1``. This is **not** a bound on the printed ``Adv^SEM`` of Eq. 8,
    for which Theorem 1 as printed is false (§1.1); ``Adv^SEM ≤ (2·max gain^IND − 1) + Δ*``.

    Accepts a :class:`GainBound` (its cancellation-free ``advantage`` is returned) or a gain in [1/2, 1].
    """
    if isinstance(gain, GainBound):
        return gain.advantage
    g = _rational("gain", gain)
    if not Q(1, 2) <= g <= 1:
        raise ValueError(f"gain must lie in [1/2, 1], got {gain!r}")
    x = 2 * g - 1
    return mpf(x.numerator) / x.denominator


# ---------------------------------------------------------------------------------------------------
# Inversion.


def _to_fraction(x: mpf) -> Q:
    return Q.from_mpf(x)


def required_epsilon(target_gain, n: int, delta=0, bound: str = "paper", *,
                     digits: int = DEFAULT_DIGITS) -> mpf:
    r"""The largest ε whose bound on ``max_A gain^IND`` stays at or below ``target_gain``.

    Both bounds are continuous and nondecreasing in ε and tend to ``g₀ = 1/2 + min(1, nδ)/2`` as ε → 0
    (docs/theory.md §5), so for ``g₀ < target < 1`` the answer is the root of ``bound(ε) = target``. It
    is returned rounded down to ``digits`` significant digits (the largest such decimal not above the
    root, so the bound at the returned ε is at most the target): a safeguarded secant iteration on
    ``log ε`` keeps a bracket ``[ε_lo, ε_hi]`` whose ends are certified (in ball arithmetic, at a
    precision raised whenever a sign is not yet decided) to lie below and above the root, and stops when
    both ends round down to the same decimal. The bracket search widens geometrically and stops: the bound
    tends to ``g₀ < target`` as ε → 0 and to 1 as ε → ∞.

    Returns ``0`` when ``target_gain ≤ g₀`` (no ε > 0 keeps the bound at or below the target; read as an
    empirical lower bound on ε — an observed gain that large says nothing about ε — it is the trivial
    bound 0) and ``+inf`` when ``target_gain ≥ 1`` (every ε qualifies).

    For δ = 0 the closed forms are ``nε = 2·artanh(2g − 1)`` (paper) and, for even n,
    ``nε = −2·ln(2(1 − g))`` (tight) — docs/theory.md §5.

    Parameters
    ----------
    target_gain : number in [0, 1]
    n : int ≥ 1
    delta : number in [0, 1)
    bound : "paper" or "tight"
    digits : int in 5..1000
    """
    g, d, n, digits = _rational("target_gain", target_gain), _delta(delta), _size(n), _digits(digits)
    if bound not in ("paper", "tight"):
        raise ValueError(f"bound must be 'paper' or 'tight', got {bound!r}")
    if not 0 <= g <= 1:
        raise ValueError(f"target_gain must lie in [0, 1], got {target_gain!r}")
    if g >= 1:
        return mpmath.inf
    if g <= Q(1, 2) + min(Q(1), n * d) / 2:
        return mpf(0)
    parts = _paper_balls if bound == "paper" else _tight_balls
    by_advantage = g < Q(3, 4)
    target = 2 * g - 1 if by_advantage else 1 - g

    state = {"prec": B.start_prec(digits) + 16}

    def sign_at(u: mpf) -> tuple[int, mpf]:
        """Certified sign of bound(e^u) − target and a midpoint value of log(bound/target) for the secant."""
        while True:
            with mp.workprec(state["prec"]):
                e = _to_fraction(mpmath.exp(u))
                if e == 0:
                    return -1, mpf(-1)
                prec_need = B.start_prec(digits, n * e) + 16
                if prec_need > state["prec"]:
                    state["prec"] = prec_need
                    continue
                try:
                    balls, vacuous = parts(e, n, d)
                    if by_advantage:
                        diff = balls["advantage"] - Ball.of(target)
                        sgn = diff.sign()
                        val = mpmath.log(balls["advantage"].mid / (mpf(target.numerator) / target.denominator))
                    else:
                        diff = Ball.of(target) - balls["slack"]
                        sgn = diff.sign()
                        slack = balls["slack"].mid
                        val = mpmath.inf if vacuous or slack <= 0 else mpmath.log(
                            (mpf(target.numerator) / target.denominator) / slack)
                    if sgn == 0:  # bound(ε) = target exactly: impossible for rational ε (§7), but harmless
                        return 0, mpf(0)
                    return sgn, val
                except B.Undecided as exc:
                    if state["prec"] >= B.MAX_PREC:
                        raise ValueError(
                            f"target_gain={target_gain} is too close to the eps -> 0 limit "
                            f"1/2 + min(1, n*delta)/2 to be resolved") from None
                    state["prec"] = min(B.MAX_PREC, max(state["prec"] * 3 // 2, state["prec"] + exc.bits))

    # a float estimate of the root seeds a narrow bracket; the certified search does the rest
    u0 = _float_root(bound, float(g), n, float(d), by_advantage)
    with mp.workprec(state["prec"]):
        if u0 is None:
            gm = mpf(g.numerator) / g.denominator
            guess = 2 * mpmath.atanh(2 * gm - 1) / n if bound == "paper" else -2 * mpmath.log(2 * (1 - gm)) / n
            u0 = mpmath.log(guess) if guess > 0 else mpf(-1)
            step = mpf(1)
        else:
            u0, step = mpf(u0), mpf(2) ** -40 * max(1, abs(u0))
    # bracket: F(lo) < 0 < F(hi), widening the step geometrically (it ends: F → g₀ − target < 0 as
    # u → −∞ and F > 0 once the bound is near 1)
    s0, v0 = sign_at(u0)
    if s0 == 0:
        return _round_eps(u0, digits)
    lo = hi = u0
    f_lo = f_hi = v0
    if s0 > 0:
        while True:
            lo = hi - step
            s, f_lo = sign_at(lo)
            if s < 0:
                break
            hi, f_hi, step = lo, f_lo, step * 4
    else:
        while True:
            hi = lo + step
            s, f_hi = sign_at(hi)
            if s > 0:
                break
            lo, f_lo, step = hi, f_hi, step * 4
    # secant steps on the last two points, kept inside the certified bracket (bisection otherwise); after a
    # short step, a probe just past it on the other side shrinks the bracket from both ends. Stop when
    # both ends round down to one decimal.
    recent = [(lo, f_lo), (hi, f_hi)]
    while True:
        with mp.workprec(state["prec"]):
            tol = mpf(2) ** -(int(digits * 3.33) + 4) * max(1, abs(lo))
            if hi - lo <= tol:
                r_lo, r_hi = _round_eps_parts(lo, digits), _round_eps_parts(hi, digits)
                if r_lo is not None and r_lo == r_hi:
                    return _eps_from_parts(r_lo, digits)
            (ua, fa), (ub, fb) = recent[-2:]
            mid = None
            if mpmath.isfinite(fa) and mpmath.isfinite(fb) and fa != fb:
                mid = ub - fb * (ub - ua) / (fb - fa)
            if mid is None or not lo < mid < hi:
                mid = (lo + hi) / 2
        if not lo < mid < hi:  # the bracket is below the resolution of the working precision
            state["prec"] = min(B.MAX_PREC, state["prec"] * 3 // 2)
            continue
        s, f_mid = sign_at(mid)
        if s == 0:
            return _round_eps(mid, digits)
        if s < 0:
            lo, f_lo = mid, f_mid
        else:
            hi, f_hi = mid, f_mid
        step = abs(mid - recent[-1][0])
        recent.append((mid, f_mid))
        if step < (hi - lo) / 4:  # probe just past the new point, towards the far end of the bracket
            with mp.workprec(state["prec"]):
                probe = mid + (2 * step + tol / 4) * (1 if s < 0 else -1)
            if lo < probe < hi:
                s2, f2 = sign_at(probe)
                if s2 == 0:
                    return _round_eps(probe, digits)
                if s2 < 0:
                    lo, f_lo = probe, f2
                else:
                    hi, f_hi = probe, f2


def _float_root(bound: str, g: float, n: int, delta: float, by_advantage: bool) -> float | None:
    """log ε at which the bound reaches ``g``, in floats (a starting point for the certified search), or
    None where floats do not resolve it."""
    import math

    target = math.log(2 * g - 1) if by_advantage else math.log(1 - g)

    def f(u: float) -> float:
        eps = math.exp(u)
        c = delta / math.expm1(eps) if delta else 0.0
        if bound == "paper":
            if by_advantage:
                return math.log((1 + 2 * c) * math.tanh(n * eps / 2)) - target
            x = n * eps
            if x > 700:
                return math.inf if c else -target - x  # slack ≈ e^{−nε}
            rest = 1 - c * math.expm1(x)
            return math.inf if rest <= 0 else target - (math.log(rest) - math.log1p(math.exp(x)))
        m, odd = divmod(n, 2)
        if by_advantage:
            if odd:
                tau = (math.expm1(eps) - 2 * math.expm1(-m * eps)) / (1 + math.exp(eps))
            else:
                tau = -math.expm1(-m * eps)
            return math.log((1 + 2 * c) * tau) - target
        x0 = 0.5 if not odd else (1 - delta) / (1 + math.exp(eps))
        if m * eps > 700:
            return math.inf if c else target - (math.log(x0) - m * eps)
        bracket = x0 - c * math.expm1(m * eps)
        return math.inf if bracket <= 0 else target - (math.log(bracket) - m * eps)

    try:
        lo, hi = -700.0, 6.0
        f_lo, f_hi = f(lo), f(hi)
        if not (f_lo < 0 < f_hi):
            return None
        for _ in range(200):
            mid = (lo + hi) / 2
            if mid in (lo, hi):
                break
            if f(mid) < 0:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2
    except (OverflowError, ValueError, ZeroDivisionError):
        return None


def _round_eps_parts(u: mpf, digits: int):
    """The rounding of ``e^u`` to ``digits`` digits if the current precision decides it, else None."""
    return B.round_ball(B.exp(Ball(u)), digits, down=True)


def _eps_from_parts(parts, digits: int) -> mpf:
    text = B.format_decimal(parts, digits)
    with mp.workdps(digits + 2):
        return mpf(text)


def _round_eps(u: mpf, digits: int) -> mpf:
    with mp.workprec(B.start_prec(digits) + 64):
        parts = _round_eps_parts(u, digits)
    return _eps_from_parts(parts, digits) if parts else +mpmath.exp(u)


# ---------------------------------------------------------------------------------------------------
# Symbolic form (sympy is imported only here).


def paper_bound_expr():
    """The right-hand side of Theorem 2 as a sympy expression in symbols ``eps, n, delta`` (positive)."""
    import sympy as sp

    eps, n, delta = sp.symbols("epsilon n delta", positive=True)
    E = sp.exp(n * eps)
    return E / (E + 1) + (E - 1) * delta / ((E + 1) * (sp.exp(eps) - 1))


def paper_bound_rewritten_expr():
    """The paper's rewriting ``1/2 + (e^{nε}−1)/(2(e^{nε}+1)) + (e^{nε}−1)δ/((e^{nε}+1)(e^ε−1))``."""
    import sympy as sp

    eps, n, delta = sp.symbols("epsilon n delta", positive=True)
    E = sp.exp(n * eps)
    return sp.Rational(1, 2) + (E - 1) / (2 * (E + 1)) + (E - 1) * delta / ((E + 1) * (sp.exp(eps) - 1))


# ---------------------------------------------------------------------------------------------------
# Command line: python -m mitheory.bounds --eps 0.1 --n 1000 [--delta D] [--mu MU] [--digits K] [--json]
# [--plot FILE.png]. Every input is checked, and the plot path tried, before anything is computed.

_FOOTNOTE = ("The advantage bound holds for the corrected advantage Adv' of Theorem 1' (docs/theory.md, "
             "section 1.3), not for the printed Adv^SEM.")
_PLOT_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")


class _CLIError(Exception):
    """Bad command-line input: reported as one line on stderr with exit status 2."""


def _option(name: str, parse, text: str):
    try:
        return parse(text)
    except ValueError as exc:
        raise _CLIError(f"argument --{name}: {exc}") from None


def _split(text: str, name: str) -> list[str]:
    items = [t.strip() for t in text.split(",")]
    if not items or any(not t for t in items):
        raise _CLIError(f"argument --{name}: must be a comma-separated list of numbers, got {text!r}")
    return items


def _parse_n(text: str) -> int:
    from mitheory.cli import parse_count

    return parse_count(text)


def _check_plot_path(path: str) -> None:
    """Refuse a plot path that cannot be written, before computing: an unknown image format, or a path where
    no file can be created (a directory, a file used as a folder, a dangling link, a link loop, a name or
    path too long, a read-only or virtual file system) — checked by creating and removing a probe file."""
    import os

    from mitheory.cli import ParamError, probe_output_file

    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in _PLOT_FORMATS and not os.path.isdir(path):
        raise _CLIError(f"argument --plot: unknown image format {('.' + ext) if ext else '(none)'!r} in "
                        f"{path!r}; use one of {', '.join('.' + f for f in _PLOT_FORMATS)}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.lexists(folder):
        raise _CLIError(f"argument --plot: folder {folder!r} does not exist")
    try:
        probe_output_file(path, "--plot")
    except ParamError as exc:
        raise _CLIError(f"argument {exc}") from None


def _eps_row(eps: str, e: Q, n: int, delta: str, d: Q, digits: int) -> dict:
    def evaluate():
        paper, pv = _paper_balls(e, n, d)
        tight, tv = _tight_balls(e, n, d)
        balls = {f"paper_{k}": b for k, b in paper.items()}
        balls.update({f"tight_{k}": b for k, b in tight.items()})
        balls["advantage_ratio"] = paper["advantage"] / tight["advantage"]
        return balls, (pv, tv)

    texts, (pv, tv), _ = B.solve(evaluate, digits, _start(digits, "n*eps", n * e))
    return {"eps": eps, "n": n, "delta": delta,
            "paper_gain": texts["paper_gain"], "paper_gain_raw": texts["paper_raw"], "paper_vacuous": pv,
            "paper_slack": texts["paper_slack"], "paper_advantage": texts["paper_advantage"],
            "tight_gain": texts["tight_gain"], "tight_slack": texts["tight_slack"],
            "tight_advantage": texts["tight_advantage"], "tight_vacuous": tv,
            "advantage_ratio": texts["advantage_ratio"]}


def _mu_row(mu: str, m: Q, n: int, digits: int) -> dict:
    b = gdp_bound(m, n, digits=digits)
    return {"mu": mu, "n": n, "gdp_gain": b.text("gain"), "gdp_slack": b.text("slack"),
            "gdp_advantage": b.text("advantage")}


def _table(rows: list[dict], digits: int) -> str:
    """The human table: columns sized to their widest entry (any width of number stays apart)."""
    heads = ("", "gain^IND bound", "slack = 1 - gain", "advantage bound = 2 gain - 1")
    lines = []
    for r in rows:
        if "eps" in r:
            lines.append(("title", f"eps = {r['eps']}   n = {r['n']}   delta = {r['delta']}"))
            mark = f"VACUOUS: as printed {r['paper_gain_raw']} >= 1" if r["paper_vacuous"] else ""
            lines.append(("row", ("Theorem 2 (paper)", r["paper_gain"], r["paper_slack"], r["paper_advantage"],
                                  mark)))
            mark = "= 1: some such learner lets an adversary always win" if r["tight_vacuous"] else ""
            lines.append(("row", ("tight (f-DP)", r["tight_gain"], r["tight_slack"], r["tight_advantage"], mark)))
            lines.append(("note", f"advantage ratio paper / tight: {r['advantage_ratio']}"))
        else:
            lines.append(("title", f"mu = {r['mu']}   n = {r['n']}   (mu-Gaussian DP)"))
            lines.append(("row", ("Phi(n mu / 2)", r["gdp_gain"], r["gdp_slack"], r["gdp_advantage"], "")))
    cells = [c for kind, c in lines if kind == "row"] + [heads + ("",)]
    widths = [max(len(c[i]) for c in cells) for i in range(3)]
    gap = "   "

    def fmt(c) -> str:
        text = "  " + gap.join(c[i].ljust(widths[i]) for i in range(3)) + gap + c[3]
        return (text + gap + c[4] if c[4] else text).rstrip()

    out = [f"Bounds on max_A gain^IND (Experiment 2) for a DP learner trained on n records; "
           f"{digits} significant digits, each correctly rounded.", ""]
    for kind, item in lines:
        if kind == "title":
            if out[-1] != "":
                out.append("")
            out += [item, fmt(heads + ("",))]
        elif kind == "row":
            out.append(fmt(item))
        else:
            out.append("  " + item)
    out += ["", _FOOTNOTE]
    return "\n".join(out)


def _log_grid(values: list[Q], what: str) -> list[float]:
    """160 points, log-spaced from 100× below to 10× above the given values (float range only)."""
    logs = [float(mpmath.log10(mpf(v.numerator) / v.denominator)) for v in values]
    if min(logs) < -290 or max(logs) > 290:
        raise _CLIError(f"argument --plot: {what} values must lie within 1e-290..1e290 to be drawn")
    lo, hi = min(logs) - 2, max(logs) + 1
    return [10 ** (lo + (hi - lo) * i / 159) for i in range(160)]


#: With more values of n than this, curves are coloured along a colour bar of n instead of a legend entry each.
_LEGEND_NS = 6


def _plot(path: str, eps_list: list[Q], mu_list: list[Q], ns: list[int], delta: Q) -> dict:
    """Draw paper and tight bounds against ε, and/or Φ(nμ/2) against μ, for each n, into ``path``
    (written atomically); returns the curves drawn, ``{label: (xs, ys)}``. A progress report on stderr
    counts the curves; beyond :data:`_LEGEND_NS` values of n the colour encodes n on a colour bar."""
    import os
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.lines import Line2D

    from mitheory.cli import Progress

    grids = {}
    if eps_list:
        grids["eps"] = _log_grid(eps_list, "eps")
    if mu_list:
        grids["mu"] = _log_grid(mu_list, "mu")
    many = len(ns) > _LEGEND_NS
    norm = (LogNorm if min(ns) > 0 and max(ns) > 10 * min(ns) else Normalize)(min(ns), max(ns) + (min(ns) == max(ns)))
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, len(grids), figsize=(7 * len(grids), 4.5), squeeze=False)
    curves: dict = {}
    total = len(ns) * sum(2 if kind == "eps" else 1 for kind in grids)
    with Progress(total, desc="bounds --plot", unit="curve") as bar:
        for ax, (kind, grid) in zip(axes[0], grids.items()):
            for i, n in enumerate(ns):
                color = cmap(norm(n)) if many else f"C{i % 10}"
                if kind == "eps":
                    for label, style, f in ((f"Theorem 2 (paper), n = {n}", "--", paper_bound),
                                            (f"tight (f-DP), n = {n}", "-", tight_bound)):
                        curves[label] = (grid, [float(f(x, n, delta, digits=15).gain) for x in grid])
                        ax.plot(*curves[label], style, color=color, label=None if many else label, lw=1)
                        bar.update(1)
                else:
                    label = f"Phi(n mu / 2), n = {n}"
                    curves[label] = (grid, [float(gdp_bound(x, n, digits=15).gain) for x in grid])
                    ax.plot(*curves[label], "-", color=color, label=None if many else label, lw=1)
                    bar.update(1)
            ax.set_xscale("log")
            ax.set_xlabel("epsilon" if kind == "eps" else "mu")
            ax.set_ylabel("bound on max gain^IND")
            ax.set_title(f"(eps, delta)-DP, delta = {float(delta):g}" if kind == "eps" else "mu-Gaussian DP")
            ax.set_ylim(0.48, 1.02)
            ax.grid(True, which="both", alpha=0.3)
            if not many:
                ax.legend(fontsize=8)
                continue
            if kind == "eps":
                ax.legend(handles=[Line2D([], [], ls="--", color="k", label="Theorem 2 (paper)"),
                                   Line2D([], [], ls="-", color="k", label="tight (f-DP)")], fontsize=8)
            fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=f"n ({len(ns)} values)")
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(path))
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, dpi=120, format=ext)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    finally:
        plt.close(fig)
    return curves


def main(argv=None) -> int:
    """Entry point of ``python -m mitheory.bounds``; returns the exit status (0, 1 internal, 2 bad input)."""
    import argparse
    import sys

    from mitheory.cli_common import add_version, program_name
    from mitheory.cli import Progress, count, terminal_columns

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):  # one line, status 2, no usage dump
            self.exit(2, f"{self.prog}: error: {message}\n")

    def formatter(prog: str) -> argparse.HelpFormatter:  # an explicit width keeps shutil out of start-up
        return argparse.HelpFormatter(prog, width=terminal_columns())

    parser = Parser(
        prog=program_name("mitheory.bounds"),
        formatter_class=formatter,
        description="Exact bounds on max_A gain^IND for (eps, delta)-DP and mu-GDP learners: Theorem 2 of "
        "the MID paper, the tight f-DP bound, and the Theorem 1 advantage bounds they imply. Every printed "
        "digit is the exact value correctly rounded. Theory notes: docs/theory.md.",
    )
    add_version(parser)
    parser.add_argument("--eps", help="epsilon, or a comma-separated list (e.g. 0.01,0.1,1)")
    parser.add_argument("--n", required=True, help="training-set size(s), comma-separated")
    parser.add_argument("--delta", help="delta in [0, 1), or a list (default 0; (eps, delta)-DP only)")
    parser.add_argument("--mu", help="mu of a mu-Gaussian-DP learner, or a list")
    parser.add_argument("--digits", type=count(minimum=MIN_DIGITS, maximum=MAX_DIGITS), default=12,
                        help=f"significant digits, {MIN_DIGITS}..{MAX_DIGITS} (default 12)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw the bounds against epsilon (and/or mu) for each n into this image file")
    args = parser.parse_args(argv)
    try:
        if args.eps is None and args.mu is None:
            raise _CLIError("give --eps (for (eps, delta)-DP) and/or --mu (for mu-GDP)")
        if args.delta is not None and args.eps is None:
            raise _CLIError("argument --delta: applies to (eps, delta)-DP only; mu-GDP has no delta")
        digits = args.digits
        ns = [_option("n", _parse_n, t) for t in _split(args.n, "n")]
        eps = [(t, _option("eps", _epsilon, t)) for t in _split(args.eps, "eps")] if args.eps is not None else []
        deltas = [(t, _option("delta", _delta, t)) for t in _split("0" if args.delta is None else args.delta, "delta")]
        mus = [(t, _option("mu", _mu, t)) for t in _split(args.mu, "mu")] if args.mu is not None else []
        for n in ns:  # refuse what cannot be evaluated before evaluating anything
            for t, e in eps:
                _option("eps", lambda _: _start(digits, "n*eps", n * e), t)
            for t, m in mus:
                _option("mu", lambda _: _start(digits, "(n*mu)^2", (n * m) ** 2), t)
        if args.plot:
            _check_plot_path(args.plot)
            if eps:
                _log_grid([e for _, e in eps], "eps")
            if mus:
                _log_grid([m for _, m in mus], "mu")
        jobs = [("eps", t, e, n, dt, d) for t, e in eps for n in ns for dt, d in deltas]
        jobs += [("mu", t, m, n, None, None) for t, m in mus for n in ns]
        rows = [_eps_row(t, x, n, dt, d, digits) if kind == "eps" else _mu_row(t, x, n, digits)
                for kind, t, x, n, dt, d in Progress.iterate(jobs, desc="bounds", unit="row")]
        if args.plot:
            _plot(args.plot, [e for _, e in eps], [m for _, m in mus], ns, deltas[0][1])
    except _CLIError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    except (ValueError, ArithmeticError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    except Exception as exc:  # internal failure: one line, exit 1
        parser.exit(1, f"{parser.prog}: internal error: {type(exc).__name__}: {exc}\n")
    if args.json:
        import json

        print("\n".join(json.dumps(row) for row in rows))
    else:
        print(_table(rows, digits))
    if args.plot:
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from mitheory.cli import run_main

    run_main(main)
