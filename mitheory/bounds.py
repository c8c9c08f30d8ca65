r"""Exact bounds on model-inversion gain for differentially private learners.

Notation follows the MID paper (Wang et al., AAAI 2021) and ``THEORY.md``: a learner trained on ``n``
records is (ε, δ)-DP under substitution adjacency; ``gain^IND`` is the success probability of an adversary
in the indistinguishability game (Experiment 2), so ``max_A gain^IND = (1 + TV)/2`` where TV is the total
variation between the model laws under the two training distributions.

Bounds on ``max_A gain^IND``
----------------------------
* :func:`paper_bound` — Theorem 2 as printed,

  .. math:: \frac{e^{n\epsilon}}{e^{n\epsilon}+1} + \frac{e^{n\epsilon}-1}{(e^{n\epsilon}+1)(e^\epsilon-1)}\,\delta,

  i.e. group privacy (nε, δ_n) with δ_n = δ(e^{nε} − 1)/(e^ε − 1) followed by the best test for one
  (E, D)-indistinguishable pair. Its slack is ``1 − gain = (1 − δ_n)/(1 + e^{nε})``; it exceeds 1 (is
  *vacuous*) iff δ_n ≥ 1.
* :func:`tight_bound` — the exact supremum over all (ε, δ)-DP learners (f-DP group privacy,
  THEORY.md §3.3): ``acc*_n = 1 − α*_n`` with

  .. math:: \alpha^*_n = \max\{0,\ e^{-m\epsilon}(x_0 - c\,(e^{m\epsilon}-1))\},\quad
            m = \lfloor n/2 \rfloor,\ c = \delta/(e^\epsilon - 1),

  ``x0 = 1/2`` for even n and ``(1 − δ)/(1 + e^ε)`` for odd n. It equals :func:`paper_bound` at n = 1
  and is strictly smaller for n ≥ 2 unless both are 1.
* :func:`gdp_bound` — μ-GDP learners: ``Φ(nμ/2)`` (THEORY.md §4).
* :func:`refined_bound` — the distribution-dependent ``1/2 + ½ E_{K~Bin(n, TV(p,q))} TV*_K`` (§6).

Theorem 1's transfer :func:`advantage_bound` turns a gain bound into an advantage bound, and
:func:`required_epsilon` inverts the ε-bounds.

Numerics
--------
Everything is computed with mpmath. Inputs are first converted *exactly* to rationals (a float is its exact
binary value, a string such as ``"0.1"`` its exact decimal value), then each bound is evaluated with
``expm1``/``tanh`` forms that avoid cancellation (§3.7) at increasing working precision until two
evaluations agree to ``digits + 3`` significant digits (a Ziv loop), so the returned values are correct to
the requested ``digits`` even where δ_n ≈ 1 or nε is huge (n up to 10^15, ε up to 10^3 and beyond).
This module imports only the standard library and mpmath, so ``python -m mitheory.bounds`` starts fast.
"""

from __future__ import annotations

import math
import numbers
import operator
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Literal, Sequence

import mpmath
from mpmath import mp, mpf

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

Number = int | float | str | Fraction | mpf

DEFAULT_DIGITS = 50
MIN_DIGITS, MAX_DIGITS = 5, 1000
_MAX_WORKING_DPS = 20_000


@dataclass(frozen=True)
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
    """

    gain: mpf
    slack: mpf
    raw: mpf
    vacuous: bool
    advantage: mpf

    def __float__(self) -> float:
        return float(self.gain)


# ---------------------------------------------------------------------------------------------------
# Input validation: exact rationals, one-line errors.


def _rational(name: str, value: Number) -> Fraction:
    """Convert ``value`` exactly to a Fraction, rejecting non-numbers and non-finite values."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if isinstance(value, mpf):
        if not mpmath.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        sign, man, exp, _ = value._mpf_
        frac = Fraction(man) * (Fraction(2) ** exp) if man else Fraction(0)
        return -frac if sign else frac
    if isinstance(value, Fraction):
        return value
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            pass
        try:
            as_float = float(text)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {value!r}") from None
        if not math.isfinite(as_float):
            raise ValueError(f"{name} must be finite, got {value!r}")
    raise ValueError(f"{name} must be a number, got {value!r}")


def _epsilon(eps: Number) -> Fraction:
    e = _rational("eps", eps)
    if e <= 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    return e


def _delta(delta: Number) -> Fraction:
    d = _rational("delta", delta)
    if not 0 <= d < 1:
        raise ValueError(f"delta must lie in [0, 1), got {delta!r}")
    return d


def _size(n: int, name: str = "n", minimum: int = 1) -> int:
    if isinstance(n, bool):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    try:
        k = operator.index(n)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}") from None
    if k < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    return k


def _digits(digits: int) -> int:
    d = _size(digits, "digits", MIN_DIGITS)
    if d > MAX_DIGITS:
        raise ValueError(f"digits must lie in {MIN_DIGITS}..{MAX_DIGITS}, got {digits!r}")
    return d


def _mp(x: Fraction) -> mpf:
    """The rational ``x`` at the current working precision (one rounding)."""
    return mpf(x.numerator) / x.denominator if x.denominator != 1 else mpf(x.numerator)


def _expm1(x: mpf) -> mpf:
    """e^x − 1: mpmath's cancellation-free expm1 near 0, the cheaper exp(x) − 1 where |x| ≥ 1/2 (< 1 bit lost)."""
    return mpmath.exp(x) - 1 if abs(x) >= 0.5 else mpmath.expm1(x)


# ---------------------------------------------------------------------------------------------------
# The Ziv loop: evaluate at increasing precision until two results agree.


def _agree(a: Sequence[mpf], b: Sequence[mpf], digits: int) -> bool:
    tol = mpf(10) ** (-digits)
    for x, y in zip(a, b):
        if x == y:
            continue
        if x == 0 or y == 0:
            return False
        if abs(x - y) > tol * max(abs(x), abs(y)):
            return False
    return True


def _exact(evaluate: Callable[[], tuple], digits: int) -> tuple:
    """Run ``evaluate()`` (which reads its inputs at the current precision) until stable to ``digits``.

    Returns the components rounded to ``digits`` significant digits. Booleans in the tuple are passed
    through and must agree between the two final evaluations.
    """
    dps = digits + 15
    previous = None
    while dps <= _MAX_WORKING_DPS:
        with mp.workdps(dps):
            current = evaluate()
        if previous is not None:
            numbers_prev = [v for v in previous if not isinstance(v, bool)]
            numbers_cur = [v for v in current if not isinstance(v, bool)]
            flags_same = [v for v in previous if isinstance(v, bool)] == [
                v for v in current if isinstance(v, bool)
            ]
            if flags_same and _agree(numbers_prev, numbers_cur, digits + 3):
                with mp.workdps(digits):
                    return tuple(v if isinstance(v, bool) else +v for v in current)
        previous = current
        dps = dps + 20 if dps == digits + 15 else 2 * dps
    raise ArithmeticError("bound evaluation did not stabilise; inputs are too close to a singular point")


# ---------------------------------------------------------------------------------------------------
# The bounds.


def _paper_parts(e: Fraction, n: int, d: Fraction):
    """(gain, slack, raw, vacuous, advantage) of Theorem 2 at the current precision."""
    eps, delta = _mp(e), _mp(d)
    ne = n * eps
    c = delta / _expm1(eps)  # δ/(e^ε − 1)
    tv_raw = (1 + 2 * c) * mpmath.tanh(ne / 2)  # THEORY.md §2 identity
    raw = (1 + tv_raw) / 2
    one_minus_delta_n = 1 - c * _expm1(ne)  # 1 − δ_n
    vacuous = one_minus_delta_n <= 0
    if vacuous:
        return mpf(1), mpf(0), raw, True, mpf(1)
    slack = one_minus_delta_n / (1 + mpmath.exp(ne))
    return 1 - slack, slack, raw, False, tv_raw


def _tight_parts(e: Fraction, n: int, d: Fraction):
    """(gain, slack, raw, vacuous, advantage) of the tight bound acc*_n at the current precision."""
    eps, delta = _mp(e), _mp(d)
    c = delta / _expm1(eps)
    m, odd = divmod(n, 2)
    if odd:
        # τ_n = 1 − 2e^{−(n−1)ε/2}/(1 + e^ε) = (expm1(ε) − 2·expm1(−mε))/(1 + e^ε): both terms ≥ 0.
        tau = (_expm1(eps) - 2 * _expm1(-m * eps)) / (1 + mpmath.exp(eps))
        x0 = (1 - delta) / (1 + mpmath.exp(eps))
    else:
        tau = -_expm1(-m * eps)
        x0 = mpf(1) / 2
    tv_raw = (1 + 2 * c) * tau
    raw = (1 + tv_raw) / 2
    bracket = x0 - c * _expm1(m * eps)
    if bracket <= 0:
        return mpf(1), mpf(0), raw, True, mpf(1)
    alpha = mpmath.exp(-m * eps) * bracket
    return 1 - alpha, alpha, raw, False, tv_raw


def _as_bound(parts: tuple) -> GainBound:
    gain, slack, raw, vacuous, advantage = parts
    return GainBound(gain=gain, slack=slack, raw=raw, vacuous=vacuous, advantage=advantage)


def paper_bound(eps: Number, n: int, delta: Number = 0, *, digits: int = DEFAULT_DIGITS) -> GainBound:
    r"""Theorem 2 of the MID paper: the printed bound on ``max_A gain^IND`` for an (ε, δ)-DP learner.

    .. math:: \mathrm{gain} \le \frac{e^{n\epsilon}}{e^{n\epsilon}+1}
              + \frac{(e^{n\epsilon}-1)\,\delta}{(e^{n\epsilon}+1)(e^\epsilon-1)}
              = \tfrac12 + \tfrac12\Big(1 + \frac{2\delta}{e^\epsilon-1}\Big)\tanh\frac{n\epsilon}{2}.

    ``raw`` is the formula as printed; it exceeds 1 exactly when δ_n = δ(e^{nε}−1)/(e^ε−1) > 1, and then
    ``vacuous`` is set and ``gain`` is clipped to 1. ``slack = (1 − δ_n)/(1 + e^{nε})`` (THEORY.md §3.7).

    Parameters
    ----------
    eps : number > 0
        The learner's ε (floats are taken at their exact binary value, strings at their exact decimal one).
    n : int ≥ 1
        Training-set size, which is also the group size: the two training sets differ in all n records.
    delta : number in [0, 1)
    digits : int in 5..1000
        Significant digits of the results (all correct).

    Notes
    -----
    The paper calls this bound tight; it is only for n = 1. See :func:`tight_bound`.
    """
    e, d, n, digits = _epsilon(eps), _delta(delta), _size(n), _digits(digits)
    return _as_bound(_exact(lambda: _paper_parts(e, n, d), digits))


def tight_bound(eps: Number, n: int, delta: Number = 0, *, digits: int = DEFAULT_DIGITS) -> GainBound:
    r"""The largest ``gain^IND`` any (ε, δ)-DP learner allows when the two training sets differ in n records.

    By f-DP group privacy (Dong, Roth & Su 2022) and THEORY.md §3.3, with ``g = 1 − f_{ε,δ}``,
    ``acc*_n = 1 − α*_n`` where α*_n is the fixed point of ``1 − g^n``:

    .. math:: \alpha^*_n = \max\Big\{0,\ e^{-m\epsilon}\big(x_0 - \tfrac{\delta}{e^\epsilon-1}(e^{m\epsilon}-1)\big)\Big\},
              \qquad m = \lfloor n/2\rfloor,

    ``x0 = 1/2`` (n even) or ``(1 − δ)/(1 + e^ε)`` (n odd). The advantage is
    ``TV*_n = min{1, (1 + 2δ/(e^ε−1))·τ_n}`` with ``τ_n = 1 − e^{−nε/2}`` (n even) and
    ``τ_n = 1 − 2e^{−(n−1)ε/2}/(1 + e^ε)`` (n odd). The value is attained by the count mechanism of §3.5,
    so it is the exact supremum over (p, M); it equals :func:`paper_bound` at n = 1 and is strictly
    smaller for n ≥ 2 unless both are 1 (§3.4).

    Parameters are as for :func:`paper_bound`. ``vacuous`` is set when the bound is 1.
    """
    e, d, n, digits = _epsilon(eps), _delta(delta), _size(n), _digits(digits)
    return _as_bound(_exact(lambda: _tight_parts(e, n, d), digits))


def gdp_bound(mu: Number, n: int, *, digits: int = DEFAULT_DIGITS) -> GainBound:
    r"""``max_A gain^IND`` for a μ-Gaussian-DP learner on n records: ``Φ(nμ/2)`` (THEORY.md §4).

    μ-GDP composes exactly to nμ-GDP for a group of n, so the bound is attained (Gaussian count mechanism).
    ``slack = Φ(−nμ/2)`` and ``advantage = erf(nμ/(2√2)) = TV(N(0,1), N(nμ,1))``.
    """
    m = _rational("mu", mu)
    if m <= 0:
        raise ValueError(f"mu must be > 0, got {mu!r}")
    n, digits = _size(n), _digits(digits)

    def evaluate():
        x = n * _mp(m) / (2 * mpmath.sqrt(2))
        slack = mpmath.erfc(x) / 2
        return 1 - slack, slack, 1 - slack, False, mpmath.erf(x)

    return _as_bound(_exact(evaluate, digits))


def refined_bound(
    eps: Number, n: int, delta: Number, tv_pq: Number, *, steps: int = 1, digits: int = DEFAULT_DIGITS
) -> GainBound:
    r"""Distribution-dependent bound ``1/2 + ½·E_{K~Bin(n, TV(p,q))} TV*_K`` (THEORY.md §6, corrected Theorem 2).

    Coupling p^n and q^n coordinatewise maximally makes the Hamming distance K ~ Bin(n, TV(p, q)), and
    joint convexity of TV gives ``max_A gain^IND ≤ 1/2 + ½ E[TV*_K] ≤ acc*_n`` for every p, with no γ.

    ``steps`` is the number of neighbouring steps one differing record costs: 1 under substitution
    adjacency, 2 under add/remove adjacency (a substitution is a removal and an addition), in which case
    the bound is ``1/2 + ½·E TV*_{2K}`` (THEORY.md §6, point 4).

    The slack ``1 − gain = E[α*_{steps·K}]`` is summed directly (no cancellation when the gain is close
    to 1). For δ = 0, ``α*_k = z^k/2`` (k even) or ``z^{k−1}/(1 + e^ε)`` (k odd) with ``z = e^{−ε/2}``, so the
    expectation has the closed form ``½·E_even + E_odd/(z(1+e^ε))`` with
    ``E_even/odd = ((1−t+tz)^n ± (1−t−tz)^n)/2`` — O(1). For δ > 0 every ``K ≥ k_vac`` (the first group
    size at which the tight bound is 1) contributes slack 0 and ``TV* = 1`` (its binomial tail mass is one
    regularized incomplete beta function); the ``K < k_vac`` terms are summed one by one, so the cost is
    ``min(n, k_vac)`` terms, ``k_vac ≈ (2/ε)·ln((e^ε − 1)/(2δ))``.
    """
    e, d, n, digits = _epsilon(eps), _delta(delta), _size(n), _digits(digits)
    steps = _size(steps, "steps")
    t = _rational("tv_pq", tv_pq)
    if not 0 <= t <= 1:
        raise ValueError(f"tv_pq must lie in [0, 1], got {tv_pq!r}")
    if t == 0:
        half = mpf(1) / 2
        return GainBound(half, half, half, False, mpf(0))
    if t == 1:
        return tight_bound(e, steps * n, d, digits=digits)

    def pure():
        # α*_{sK} = u^K/2 (sK even) or u^K/(z(1 + e^ε)) (sK odd), with z = e^{−ε/2}, u = z^s; sK is odd iff
        # s and K are, so E[α*] follows from the parity-split generating function of Bin(n, t) at u.
        tt, eps = _mp(t), _mp(e)
        z = mpmath.exp(-eps / 2)
        u = z**steps
        plus, minus = (1 - tt + tt * u) ** n, (1 - tt - tt * u) ** n
        if steps % 2 == 0:
            slack = plus / 2
        else:
            slack = (plus + minus) / 4 + (plus - minus) / (2 * z * (1 + mpmath.exp(eps)))
        return 1 - slack, slack, 1 - slack, False, 1 - 2 * slack

    def with_delta():
        tt = _mp(t)
        c = _mp(d) / _expm1(_mp(e))
        # First vacuous group size for even and odd sizes (the tight TV is nondecreasing in the size).
        m_even = int(mpmath.ceil(mpmath.log1p(1 / (2 * c)) / _mp(e)))
        m_odd = int(mpmath.ceil(mpmath.log1p((1 - _mp(d)) / ((1 + mpmath.exp(_mp(e))) * c)) / _mp(e)))
        k_vac = min(2 * m_even, 2 * m_odd + 1)  # in group-size units
        last = min(n, -(-k_vac // steps) - 1)  # largest K with steps·K < k_vac
        pk = (1 - tt) ** n
        odds = tt / (1 - tt)
        slack, advantage = pk / 2, mpf(0)
        for k in range(1, last + 1):
            pk = pk * (n - k + 1) / k * odds
            _, s_k, _, _, tv_k = _tight_parts(e, steps * k, d)
            slack += pk * s_k
            advantage += pk * tv_k
        if last < n:  # P(K > last) = I_t(last + 1, n − last), every such K is vacuous
            advantage += mpmath.betainc(last + 1, n - last, 0, tt, regularized=True)
        return 1 - slack, slack, 1 - slack, False, advantage

    evaluate = pure if d == 0 else with_delta
    return _as_bound(_exact(evaluate, digits))


def advantage_bound(gain: Number | GainBound) -> mpf:
    r"""Theorem 1's transfer: ``2·gain − 1``.

    For every fixed attack A*, the *corrected* advantage of THEORY.md §1.3,
    ``Adv′(A*) = gain(A*; train~p, challenge~p) − gain(A*; train~q, challenge~p)``, satisfies
    ``|Adv′| ≤ 2·max_B gain^IND(B) − 1``. This is **not** a bound on the printed ``Adv^SEM`` of Eq. 8,
    for which Theorem 1 as printed is false (THEORY.md §1.1); ``Adv^SEM ≤ (2·max gain^IND − 1) + Δ*``.

    Accepts a :class:`GainBound` (its cancellation-free ``advantage`` is returned) or a gain in [1/2, 1].
    """
    if isinstance(gain, GainBound):
        return gain.advantage
    g = _rational("gain", gain)
    if not Fraction(1, 2) <= g <= 1:
        raise ValueError(f"gain must lie in [1/2, 1], got {gain!r}")
    return 2 * _mp(g) - 1


def required_epsilon(
    target_gain: Number,
    n: int,
    delta: Number = 0,
    bound: Literal["paper", "tight"] = "paper",
    *,
    digits: int = DEFAULT_DIGITS,
) -> mpf:
    r"""The largest ε whose bound on ``max_A gain^IND`` stays at or below ``target_gain``.

    Both bounds are continuous and nondecreasing in ε, tending to ``1/2 + min(1, nδ)/2`` as ε → 0, so the
    answer is the root of ``bound(ε) = target`` — found on log ε by the Illinois method (regula falsi
    that keeps a bracket) to ``digits`` significant digits. Returns ``+inf`` when ``target_gain ≥ 1`` (every ε qualifies) and raises ``ValueError`` when
    the target is below the ε → 0 limit (no ε > 0 qualifies).

    For δ = 0 the closed forms are ``nε = 2·artanh(2g − 1)`` (paper) and, for even n,
    ``nε = −2·ln(2(1 − g))`` (tight) — THEORY.md §5.
    """
    g, d, n, digits = _rational("target_gain", target_gain), _delta(delta), _size(n), _digits(digits)
    if bound not in ("paper", "tight"):
        raise ValueError(f"bound must be 'paper' or 'tight', got {bound!r}")
    if not Fraction(1, 2) <= g:
        raise ValueError(f"target_gain must be >= 1/2, got {target_gain!r}")
    if g >= 1:
        return mpmath.inf
    parts = _paper_parts if bound == "paper" else _tight_parts
    if Fraction(1, 2) + min(1, n * d) / 2 >= g:
        raise ValueError(
            f"no eps > 0 achieves gain <= {target_gain} with n={n}, delta={delta}: the bound tends to "
            f"1/2 + min(1, n*delta)/2 as eps -> 0"
        )

    # Root of F(u) = 0 with u = log ε, F increasing: the log-ratio of the advantage to the target
    # advantage near g = 1/2, of the target slack to the slack near g = 1 (both well conditioned there).
    use_advantage = g < Fraction(3, 4)

    def F(u: mpf) -> mpf:
        e = _rational("eps", mpmath.exp(u))
        slack, advantage = _exact(lambda: parts(e, n, d)[1:5:3], digits + 5)
        if use_advantage:
            return mpmath.log(advantage) - mpmath.log(_mp(2 * g - 1))
        return mpmath.log(_mp(1 - g)) - mpmath.log(slack) if slack > 0 else mpmath.inf

    with mp.workdps(digits + 20):
        lo, hi = mpf(0), mpf(0)
        f_lo = f_hi = F(lo)
        while f_lo > 0:
            hi, f_hi = lo, f_lo
            lo -= 8
            f_lo = F(lo)
        while f_hi <= 0:
            lo, f_lo = hi, f_hi
            hi += 8
            f_hi = F(hi)
        # Illinois (safeguarded regula falsi) on the bracket [lo, hi] with F(lo) ≤ 0 < F(hi); bisect
        # while F(hi) is infinite (the bound is 1 there). Stop when hi/lo − 1 < 10^−(digits+2) in ε.
        tol = mpf(10) ** (-(digits + 2))
        side = 0
        while hi - lo > tol:
            if mpmath.isinf(f_hi):
                mid = (lo + hi) / 2
            else:
                mid = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
                if not lo < mid < hi:
                    mid = (lo + hi) / 2
            f_mid = F(mid)
            if f_mid <= 0:
                lo, f_lo = mid, f_mid
                if side == -1:
                    f_hi /= 2
                side = -1
            else:
                hi, f_hi = mid, f_mid
                if side == 1:
                    f_lo /= 2
                side = 1
            if f_mid == 0:
                break
        result = mpmath.exp(lo)
    with mp.workdps(digits):
        return +result


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


class _CLIError(Exception):
    """Bad command-line input: reported as one line on stderr with exit status 2."""


def _split(text: str, name: str) -> list[str]:
    items = [t.strip() for t in text.split(",")]
    if not items or any(not t for t in items):
        raise _CLIError(f"--{name} must be a comma-separated list of numbers, got {text!r}")
    return items


def _parse_n(text: str) -> int:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise _CLIError(f"n must be an integer >= 1, got {text!r}") from None
    if value.denominator != 1 or value < 1:
        raise _CLIError(f"n must be an integer >= 1, got {text!r}")
    return int(value)


def _fmt(x: mpf, digits: int) -> str:
    if x == 0:
        return "0"
    return mpmath.nstr(x, digits, strip_zeros=False, min_fixed=-4, max_fixed=digits)


def _rows(args) -> list[dict]:
    digits = args.digits
    rows = []
    ns = [_parse_n(t) for t in _split(args.n, "n")]
    if args.eps is not None:
        for eps in _split(args.eps, "eps"):
            for n in ns:
                for delta in _split(args.delta, "delta"):
                    paper = paper_bound(eps, n, delta, digits=digits)
                    tight = tight_bound(eps, n, delta, digits=digits)
                    with mp.workdps(digits):
                        ratio = paper.advantage / tight.advantage
                    rows.append({
                        "eps": eps, "n": n, "delta": delta,
                        "paper_gain": _fmt(paper.gain, digits),
                        "paper_gain_raw": _fmt(paper.raw, digits),
                        "paper_vacuous": paper.vacuous,
                        "paper_slack": _fmt(paper.slack, digits),
                        "paper_advantage": _fmt(paper.advantage, digits),
                        "tight_gain": _fmt(tight.gain, digits),
                        "tight_slack": _fmt(tight.slack, digits),
                        "tight_advantage": _fmt(tight.advantage, digits),
                        "tight_vacuous": tight.vacuous,
                        "advantage_ratio": _fmt(ratio, digits),
                    })
    if args.mu is not None:
        for mu in _split(args.mu, "mu"):
            for n in ns:
                gdp = gdp_bound(mu, n, digits=digits)
                rows.append({
                    "mu": mu, "n": n,
                    "gdp_gain": _fmt(gdp.gain, digits),
                    "gdp_slack": _fmt(gdp.slack, digits),
                    "gdp_advantage": _fmt(gdp.advantage, digits),
                })
    return rows


def _table(rows: list[dict], digits: int) -> str:
    width = max(digits + 8, 16)
    head = f"{'':24}{'gain^IND bound':<{width}}{'slack = 1 - gain':<{width}}advantage bound = 2 gain - 1"
    out = [f"Bounds on max_A gain^IND (Experiment 2) for a DP learner trained on n records; "
           f"{digits} significant digits.", ""]
    for r in rows:
        if "eps" in r:
            out.append(f"eps = {r['eps']}   n = {r['n']}   delta = {r['delta']}")
            out.append(head)
            mark = f"   VACUOUS: as printed {r['paper_gain_raw']} >= 1" if r["paper_vacuous"] else ""
            out.append(f"{'  Theorem 2 (paper)':24}{r['paper_gain']:<{width}}{r['paper_slack']:<{width}}"
                       f"{r['paper_advantage']}{mark}")
            mark = "   = 1: some such learner lets an adversary always win" if r["tight_vacuous"] else ""
            out.append(f"{'  tight (f-DP)':24}{r['tight_gain']:<{width}}{r['tight_slack']:<{width}}"
                       f"{r['tight_advantage']}{mark}")
            out.append(f"  advantage ratio paper / tight: {r['advantage_ratio']}")
        else:
            out.append(f"mu = {r['mu']}   n = {r['n']}   (mu-Gaussian DP)")
            out.append(head)
            out.append(f"{'  Phi(n mu / 2)':24}{r['gdp_gain']:<{width}}{r['gdp_slack']:<{width}}"
                       f"{r['gdp_advantage']}")
        out.append("")
    out.append("The advantage bound holds for the corrected advantage Adv' of Theorem 1' (THEORY.md 1.3), "
               "not for the printed Adv^SEM.")
    return "\n".join(out)


def _plot(path: str, eps_list: list[str], ns: list[int], delta: str) -> None:
    """Draw paper and tight bounds on max gain^IND against ε (log axis) for each n."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    lo = min(float(e) for e in eps_list) if eps_list else 1e-3
    hi = max(float(e) for e in eps_list) if eps_list else 10.0
    grid = np.logspace(math.log10(lo) - 2, math.log10(hi) + 1, 160)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, n in enumerate(ns):
        color = f"C{i}"
        paper = [float(paper_bound(float(e), n, delta, digits=15).gain) for e in grid]
        tight = [float(tight_bound(float(e), n, delta, digits=15).gain) for e in grid]
        ax.plot(grid, paper, "--", color=color, label=f"Theorem 2 (paper), n = {n}")
        ax.plot(grid, tight, "-", color=color, label=f"tight (f-DP), n = {n}")
    ax.set_xscale("log")
    ax.set_xlabel("epsilon")
    ax.set_ylabel("bound on max gain^IND")
    ax.set_title(f"Bounds on the IND-game gain, delta = {delta}")
    ax.set_ylim(0.48, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m mitheory.bounds``; returns the exit status."""
    import argparse
    import json
    import sys

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):  # one line, status 2, no usage dump
            self.exit(2, f"{self.prog}: error: {message}\n")

    parser = Parser(
        prog="python -m mitheory.bounds",
        description="Exact bounds on max_A gain^IND for (eps, delta)-DP and mu-GDP learners: Theorem 2 of "
        "the MID paper, the tight f-DP bound, and the Theorem 1 advantage bounds they imply.",
    )
    parser.add_argument("--eps", help="epsilon, or a comma-separated list (e.g. 0.01,0.1,1)")
    parser.add_argument("--n", required=True, help="training-set size(s), comma-separated")
    parser.add_argument("--delta", default="0", help="delta in [0, 1), or a list (default 0)")
    parser.add_argument("--mu", help="mu of a mu-Gaussian-DP learner, or a list")
    parser.add_argument("--digits", type=int, default=12, help="significant digits, 5..1000 (default 12)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    parser.add_argument("--plot", metavar="FILE.png", help="draw the bounds against epsilon for each n")
    args = parser.parse_args(argv)
    try:
        if args.eps is None and args.mu is None:
            raise _CLIError("give --eps (for (eps, delta)-DP) and/or --mu (for mu-GDP)")
        if not MIN_DIGITS <= args.digits <= MAX_DIGITS:
            raise _CLIError(f"digits must lie in {MIN_DIGITS}..{MAX_DIGITS}, got {args.digits}")
        rows = _rows(args)
        if args.plot:
            eps_list = _split(args.eps, "eps") if args.eps else []
            _plot(args.plot, eps_list, [_parse_n(t) for t in _split(args.n, "n")], _split(args.delta, "delta")[0])
    except (_CLIError, ValueError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(_table(rows, args.digits))
    if args.plot:
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
