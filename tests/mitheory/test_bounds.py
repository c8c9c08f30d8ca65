"""Tests of mitheory.bounds against exact arithmetic, LPs, closed forms and float formulas."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from mpmath import mp, mpf
from scipy.optimize import linprog

from mitheory.bounds import (
    advantage_bound,
    gdp_bound,
    paper_bound,
    paper_bound_expr,
    paper_bound_rewritten_expr,
    refined_bound,
    required_epsilon,
    tight_bound,
)

# The whole valid domain of the issue: ε up to 10^3, n up to 10^15, δ in [0, 1).
eps_st = st.floats(min_value=1e-6, max_value=1e3, allow_nan=False, allow_infinity=False)
n_st = st.one_of(st.integers(1, 60), st.integers(1, 10**15))
delta_st = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=0.999, exclude_max=True),
                     st.floats(min_value=1e-12, max_value=1e-3))


def close(a, b, digits: int) -> bool:
    a, b = mpf(a), mpf(b)
    return a == b or abs(a - b) <= mpf(10) ** (-digits) * max(abs(a), abs(b))


# --------------------------------------------------------------------------------------------------
# Invariants over the whole domain (hypothesis).


@given(eps_st, n_st, delta_st)
def test_bounds_are_finite_and_in_half_one(eps, n, delta):
    for b in (paper_bound(eps, n, delta, digits=20), tight_bound(eps, n, delta, digits=20)):
        assert mpmath.isfinite(b.gain) and mpmath.isfinite(b.slack)
        assert mpf(1) / 2 <= b.gain <= 1
        assert 0 <= b.slack <= mpf(1) / 2
        assert 0 <= b.advantage <= 1
        assert b.vacuous == (b.slack == 0)


@given(eps_st, n_st, delta_st)
def test_slack_and_advantage_are_consistent_with_gain(eps, n, delta):
    for b in (paper_bound(eps, n, delta, digits=30), tight_bound(eps, n, delta, digits=30)):
        with mp.workdps(60):
            assert close(b.gain + b.slack, 1, 28)
            assert abs(b.advantage - (1 - 2 * b.slack)) <= mpf(10) ** -28


@given(eps_st, n_st, delta_st)
def test_tight_never_exceeds_paper(eps, n, delta):
    paper, tight = paper_bound(eps, n, delta, digits=25), tight_bound(eps, n, delta, digits=25)
    assert tight.gain <= paper.gain
    assert tight.slack >= paper.slack


@given(eps_st, delta_st)
def test_tight_equals_paper_at_n_equal_one(eps, delta):
    paper, tight = paper_bound(eps, 1, delta, digits=40), tight_bound(eps, 1, delta, digits=40)
    assert close(paper.gain, tight.gain, 38)
    assert close(paper.slack, tight.slack, 38)


@given(st.floats(1e-3, 5.0), st.integers(2, 400), st.one_of(st.just(0.0), st.floats(0.0, 0.05)))
def test_tight_strictly_below_paper_for_n_at_least_two_unless_both_one(eps, n, delta):
    paper, tight = paper_bound(eps, n, delta, digits=40), tight_bound(eps, n, delta, digits=40)
    if not (paper.vacuous and tight.vacuous):
        assert tight.slack > paper.slack


@given(eps_st, st.floats(1.0001, 50.0), n_st, delta_st)
def test_bounds_are_monotone_in_eps(eps, factor, n, delta):
    for f in (paper_bound, tight_bound):
        lo, hi = f(eps, n, delta, digits=25), f(eps * factor, n, delta, digits=25)
        assert hi.slack <= lo.slack and hi.gain >= lo.gain


@given(eps_st, n_st, st.integers(1, 10**6), delta_st)
def test_bounds_are_monotone_in_n(eps, n, extra, delta):
    for f in (paper_bound, tight_bound):
        lo, hi = f(eps, n, delta, digits=25), f(eps, n + extra, delta, digits=25)
        assert hi.slack <= lo.slack and hi.gain >= lo.gain


@given(eps_st, n_st, delta_st, delta_st)
def test_bounds_are_monotone_in_delta(eps, n, d1, d2):
    d_lo, d_hi = sorted((d1, d2))
    for f in (paper_bound, tight_bound):
        lo, hi = f(eps, n, d_lo, digits=25), f(eps, n, d_hi, digits=25)
        assert hi.slack <= lo.slack and hi.gain >= lo.gain


# --------------------------------------------------------------------------------------------------
# Agreement with float formulas where floats are exact enough.


@given(st.floats(1e-3, 10.0), st.integers(1, 300), st.one_of(st.just(0.0), st.floats(1e-9, 0.1)))
def test_paper_bound_agrees_with_float_formula(eps, n, delta):
    assume(n * eps < 600)
    E = math.exp(n * eps)
    printed = E / (E + 1) + (E - 1) * delta / ((E + 1) * (math.exp(eps) - 1))
    b = paper_bound(eps, n, delta, digits=30)
    assert float(b.raw) == pytest.approx(printed, rel=1e-12)
    assert float(b.gain) == pytest.approx(min(1.0, printed), rel=1e-12)


@given(st.floats(1e-3, 10.0), st.integers(1, 300), st.one_of(st.just(0.0), st.floats(1e-9, 0.1)))
def test_tight_bound_agrees_with_float_closed_form(eps, n, delta):
    m = n // 2
    assume(m * eps < 700)
    c = delta / math.expm1(eps)
    x0 = 0.5 if n % 2 == 0 else (1 - delta) / (1 + math.exp(eps))
    bracket = x0 - c * math.expm1(m * eps)
    alpha = max(0.0, math.exp(-m * eps) * bracket)
    assume(alpha == 0.0 or abs(bracket) > 1e-6 * x0)  # float cancellation would make the reference wrong
    b = tight_bound(eps, n, delta, digits=30)
    assert float(b.slack) == pytest.approx(alpha, rel=1e-9, abs=1e-300)


def test_gdp_bound_agrees_with_scipy_normal_cdf():
    from scipy.stats import norm

    for mu, n in [(0.1, 10), (0.5, 3), (0.001, 1000), (2.0, 1)]:
        b = gdp_bound(mu, n, digits=30)
        assert float(b.gain) == pytest.approx(norm.cdf(n * mu / 2), rel=1e-14)
        assert float(b.slack) == pytest.approx(norm.sf(n * mu / 2), rel=1e-12)
        assert float(b.advantage) == pytest.approx(2 * norm.cdf(n * mu / 2) - 1, rel=1e-12)


# --------------------------------------------------------------------------------------------------
# High-precision spot values (docs/theory.md tables and independent mpmath evaluations).


def test_spot_values_from_theory_table():
    # TV*_n for n = 1..6 (docs/theory.md §3.5 table, closed form = LP).
    table = {
        (1, 0): [0.46211716, 0.63212056, 0.80212396, 0.86466472, 0.92720547, 0.95021293],
        (0.5, 0.01): [0.25246948, 0.40559995, 0.55873043, 0.65160876, 0.74448709, 0.80082065],
        (1, 0.05): [0.48901130, 0.66890850, 0.84880571, 0.91498619, 0.98116667, 1.0],
    }
    paper_rows = {
        (1, 0): [0.462117, 0.761594, 0.905148, 0.964028, 0.986614, 0.995055],
        (0.5, 0.01): [0.252469, 0.476364, 0.654731, 0.785074, 0.874436, 0.933054],
        (1, 0.05): [0.489011, 0.805917, 0.957826, 1, 1, 1],
    }
    for (eps, delta), tvs in table.items():
        for n, tv in enumerate(tvs, start=1):
            assert float(tight_bound(eps, n, delta).advantage) == pytest.approx(tv, abs=6e-9)
            assert float(paper_bound(eps, n, delta).advantage) == pytest.approx(paper_rows[eps, delta][n - 1], abs=6e-7)


def test_spot_values_at_forty_digits():
    with mp.workdps(80):
        paper_slack = 1 / (1 + mpmath.exp(100))  # ε = 0.1, n = 1000
        tight_slack = mpmath.exp(-50) / 2
        n2 = 1 - mpmath.exp(-1) / 2  # ε = 1, n = 2: acc = 1 − e^{−ε}/2
    assert close(paper_bound("0.1", 1000, digits=40).slack, paper_slack, 39)
    assert close(tight_bound("0.1", 1000, digits=40).slack, tight_slack, 39)
    assert close(tight_bound(1, 2, digits=40).gain, n2, 39)
    assert mpmath.nstr(paper_bound(1, 2, digits=20).gain, 10) == "0.880797078"


def test_huge_n_and_eps_do_not_overflow():
    b = paper_bound(1000, 10**15)
    t = tight_bound(1000, 10**15, "1e-300")
    assert b.gain == 1 and 0 < b.slack < mpf(10) ** -(10**17)
    assert t.vacuous  # δ_n is astronomically large
    small = tight_bound("1e-15", 10**15)
    assert close(small.advantage, -mpmath.expm1(-mpf("0.5")), 40)  # nε = 1, even n: τ = 1 − e^{−1/2}


def test_delta_near_the_vacuity_threshold_keeps_all_digits():
    # Take δ so that δ_n = 1 − 10^−45 (to 60 digits): 1 − δ_n cancels 45 digits, more than the first
    # evaluation's guard, so only the Ziv loop's higher precision can return correct digits.
    eps, n = Fraction(1, 10), 20
    with mp.workdps(200):
        e = mpf(eps.numerator) / eps.denominator
        ratio = mpmath.expm1(n * e) / mpmath.expm1(e)
        delta = Fraction(mpmath.nstr((1 - mpf(10) ** -45) / ratio, 60))
        d = mpf(delta.numerator) / delta.denominator
        expected = (1 - d * ratio) / (1 + mpmath.exp(n * e))
    b = paper_bound(eps, n, delta, digits=30)
    assert expected > 0 and not b.vacuous
    assert close(b.slack, expected, 29)


def test_large_n_matches_backward_orbit():
    """§3.7: the O(1) closed form equals the O(n) backward orbit of g^{-1} from the kink."""
    n = 10_001
    with mp.workdps(60):
        eps, delta = mpf("0.001"), mpf("1e-7")
        E = mpmath.exp(eps)
        x = (1 - delta) / (1 + E)  # odd n: g^m(α*) = α1
        for _ in range(n // 2):
            x = max(mpf(0), (x - delta) / E)
        b = tight_bound("0.001", n, "1e-7", digits=45)
        assert close(b.slack, x, 44)


# --------------------------------------------------------------------------------------------------
# Exact rational composition of the tradeoff curve (docs/theory.md §3.3).


def _compose(breaks_outer, breaks_inner):
    """Breakpoints of outer∘inner for increasing piecewise-linear maps given by (x, y) breakpoint lists."""

    def evaluate(breaks, x):
        for (x0, y0), (x1, y1) in zip(breaks, breaks[1:]):
            if x0 <= x <= x1:
                return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        raise AssertionError("outside [0, 1]")

    def preimages(breaks, y):
        out = []
        for (x0, y0), (x1, y1) in zip(breaks, breaks[1:]):
            if y0 <= y <= y1 and y1 != y0:
                out.append(x0 + (y - y0) * (x1 - x0) / (y1 - y0))
        return out

    xs = {x for x, _ in breaks_inner}
    for y, _ in breaks_outer:
        xs.update(preimages(breaks_inner, y))
    xs = sorted(xs)
    return [(x, evaluate(breaks_outer, evaluate(breaks_inner, x))) for x in xs]


def _g_breaks(E: Fraction, delta: Fraction):
    """g = 1 − f_{ε,δ} = min{1, δ + Eα, 1 − (1 − δ − α)/E} on [0, 1] (docs/theory.md §3.1)."""
    a1 = (1 - delta) / (1 + E)
    return [(Fraction(0), delta), (a1, 1 - a1), (1 - delta, Fraction(1)), (Fraction(1), Fraction(1))]


def _alpha_star_exact(E: Fraction, delta: Fraction, n: int) -> Fraction:
    m = n // 2
    x0 = Fraction(1, 2) if n % 2 == 0 else (1 - delta) / (1 + E)
    return max(Fraction(0), x0 / E**m - delta * (1 - Fraction(1) / E**m) / (E - 1))


@pytest.mark.parametrize("E", [Fraction(2), Fraction(3, 2), Fraction(11, 10), Fraction(5)])
@pytest.mark.parametrize("delta", [Fraction(0), Fraction(1, 1000), Fraction(1, 50), Fraction(3, 10)])
def test_tight_bound_equals_exact_composition_of_tradeoff_curve(E, delta):
    g = _g_breaks(E, delta)
    gn = g
    for n in range(1, 13):
        if n > 1:
            gn = _compose(g, gn)
        sup = max(y - x for x, y in gn)  # sup_α g^n(α) − α over breakpoints, exact
        alpha = _alpha_star_exact(E, delta, n)
        assert sup == 1 - 2 * alpha  # exact rational equality
        with mp.workdps(60):
            eps = mpmath.log(mpf(E.numerator) / E.denominator)
        b = tight_bound(eps, n, delta, digits=40)
        assert close(b.slack, mpf(alpha.numerator) / alpha.denominator, 35) or (alpha == 0 and b.slack == 0)


# --------------------------------------------------------------------------------------------------
# LP over chains of distributions P_0..P_n (docs/theory.md §3.5).


def _chain_lp_tv(eps: float, delta: float, n: int, m: int) -> float:
    """max TV(P_0, P_n) over chains on m symbols whose consecutive links are (ε, δ)-indistinguishable."""
    E = math.exp(eps)
    n_p = (n + 1) * m
    n_s = 2 * n * m  # hockey-stick slacks, both directions per link
    nv = n_p + n_s

    def p(k, x):
        return k * m + x

    def s(k, direction, x):
        return n_p + (2 * k + direction) * m + x

    a_ub, b_ub, a_eq, b_eq = [], [], [], []
    for k in range(n):
        for direction, (hi, lo) in enumerate([(k + 1, k), (k, k + 1)]):
            for x in range(m):  # s ≥ P_hi(x) − e^ε P_lo(x)
                row = np.zeros(nv)
                row[p(hi, x)], row[p(lo, x)], row[s(k, direction, x)] = 1, -E, -1
                a_ub.append(row)
                b_ub.append(0.0)
            row = np.zeros(nv)  # Σ_x s ≤ δ
            row[[s(k, direction, x) for x in range(m)]] = 1
            a_ub.append(row)
            b_ub.append(delta)
    for k in range(n + 1):
        row = np.zeros(nv)
        row[[p(k, x) for x in range(m)]] = 1
        a_eq.append(row)
        b_eq.append(1.0)
    best = 0.0
    for j in range(1, m):  # test set A = first j symbols (symbols are interchangeable)
        c = np.zeros(nv)
        c[[p(n, x) for x in range(j)]] = -1
        c[[p(0, x) for x in range(j)]] = 1
        res = linprog(c, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq,
                      bounds=[(0, None)] * nv, method="highs")
        assert res.status == 0
        best = max(best, -res.fun)
    return best


@pytest.mark.parametrize("eps,delta", [(1.0, 0.0), (0.5, 0.01), (1.0, 0.05), (2.0, 0.0), (0.3, 0.001)])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_tight_bound_equals_chain_linear_program(eps, delta, n):
    lp = _chain_lp_tv(eps, delta, n, m=n + 2)
    assert lp == pytest.approx(float(tight_bound(eps, n, delta).advantage), abs=1e-8)
    if n >= 2 and lp < 1 - 1e-9:
        assert lp < float(paper_bound(eps, n, delta).advantage) - 1e-6


# --------------------------------------------------------------------------------------------------
# Symbolic: the paper's rewriting and the TV identity.


def test_paper_rewriting_is_symbolically_equal():
    import sympy as sp

    expr, rewritten = paper_bound_expr(), paper_bound_rewritten_expr()
    assert sp.simplify(expr - rewritten) == 0
    syms = {s.name: s for s in expr.free_symbols}
    eps, n, delta = syms["epsilon"], syms["n"], syms["delta"]
    tv_identity = (1 + 2 * delta / (sp.exp(eps) - 1)) * sp.tanh(n * eps / 2)
    assert sp.simplify((2 * expr - 1 - tv_identity).rewrite(sp.exp)) == 0


def test_paper_expr_matches_numeric_bound():
    expr = paper_bound_expr()
    syms = {s.name: s for s in expr.free_symbols}
    import sympy as sp

    value = expr.subs({syms["epsilon"]: sp.Rational(7, 10), syms["n"]: 3, syms["delta"]: sp.Rational(1, 1000)})
    with mp.workdps(50):
        assert close(paper_bound("0.7", 3, "0.001", digits=40).raw, mpf(str(value.evalf(50))), 38)


# --------------------------------------------------------------------------------------------------
# GDP, refined bound, advantage transfer, inversion.


@given(st.floats(1e-4, 5.0), st.integers(1, 10**6))
def test_gdp_bound_is_phi_of_n_mu_over_two(mu, n):
    b = gdp_bound(mu, n, digits=30)
    with mp.workdps(50):
        assert close(b.gain, mpmath.ncdf(n * mpf(mu) / 2), 28)
    assert mpf(1) / 2 < b.gain <= 1


def test_refined_bound_between_half_and_tight():
    # docs/theory.md §6: ε = 0.1, n = 50, TV(p, q) = 0.3: E[TV*_K] = 0.5217 ≤ TV*_50 = 0.9179.
    b = refined_bound(0.1, 50, 0, 0.3)
    assert float(b.advantage) == pytest.approx(0.5217, abs=5e-5)
    assert float(tight_bound(0.1, 50).advantage) == pytest.approx(0.9179, abs=5e-5)
    assert refined_bound(0.1, 50, 0, 0).gain == mpf(1) / 2
    assert refined_bound(0.1, 50, 0, 1).gain == tight_bound(0.1, 50).gain
    # Add/remove adjacency: each differing record costs two steps.
    assert refined_bound(0.1, 50, 0, 1, steps=2).gain == tight_bound(0.1, 100).gain
    assert refined_bound(0.1, 50, 0, 0.3).gain < refined_bound(0.1, 50, 0, 0.3, steps=2).gain


@settings(max_examples=60)
@given(st.floats(0.01, 3.0), st.integers(1, 80), st.floats(0.0, 0.01), st.floats(0.01, 0.99))
def test_refined_bound_agrees_with_direct_binomial_sum(eps, n, delta, t):
    from scipy.stats import binom

    tvs = [0.0] + [float(tight_bound(eps, k, delta, digits=20).advantage) for k in range(1, n + 1)]
    direct = 0.5 + 0.5 * float(np.dot(binom.pmf(np.arange(n + 1), n, t), tvs))
    b = refined_bound(eps, n, delta, t, digits=20)
    assert float(b.gain) == pytest.approx(direct, abs=1e-10)
    assert b.gain <= tight_bound(eps, n, delta, digits=20).gain


def test_advantage_bound_is_two_gain_minus_one():
    assert advantage_bound(0.75) == mpf("0.5")
    b = tight_bound(1, 2)
    assert advantage_bound(b) == b.advantage
    with pytest.raises(ValueError, match="gain"):
        advantage_bound(0.4)


@given(st.floats(0.5001, 0.9999), st.integers(1, 10**6))
def test_required_epsilon_matches_closed_forms_for_pure_dp(target, n):
    with mp.workdps(40):
        g = mpf(target)
        paper_eps = 2 * mpmath.atanh(2 * g - 1) / n
    assert close(required_epsilon(target, n, digits=30), paper_eps, 25)
    if n % 2 == 0:
        with mp.workdps(40):
            tight_eps = -2 * mpmath.log(2 * (1 - g)) / n
        assert close(required_epsilon(target, n, bound="tight", digits=30), tight_eps, 25)


@given(st.floats(0.51, 0.999), st.integers(1, 1000), st.one_of(st.just(0.0), st.floats(1e-9, 1e-5)),
       st.sampled_from(["paper", "tight"]))
def test_required_epsilon_inverts_the_bound(target, n, delta, which):
    assume(0.5 + min(1.0, n * delta) / 2 < target)
    eps = required_epsilon(target, n, delta, bound=which, digits=20)
    f = paper_bound if which == "paper" else tight_bound
    assert close(f(eps, n, delta, digits=20).gain, target, 15)
    assert f(eps * (1 + mpf(10) ** -10), n, delta, digits=30).gain > mpf(target)


def test_required_epsilon_edge_cases():
    assert required_epsilon(1, 10) == mpmath.inf
    # at or below the eps -> 0 limit 1/2 + min(1, n delta)/2 no eps > 0 qualifies: the documented 0
    assert required_epsilon(0.51, 100, delta=0.01) == 0
    assert required_epsilon(0.5, 10) == 0 and required_epsilon(0.4, 10) == 0
    assert required_epsilon("0.55", 10, "0.01", bound="tight") == 0  # exactly the limit
    with pytest.raises(ValueError, match="target_gain"):
        required_epsilon(-0.1, 10)
    with pytest.raises(ValueError, match="target_gain"):
        required_epsilon(1.5, 10)
    with pytest.raises(ValueError, match="bound"):
        required_epsilon(0.6, 10, bound="loose")


# --------------------------------------------------------------------------------------------------
# Input validation: one clear ValueError per bad input.


@pytest.mark.parametrize("kwargs,match", [
    ({"eps": 0, "n": 1}, "eps must be > 0"),
    ({"eps": -1.0, "n": 1}, "eps must be > 0"),
    ({"eps": float("inf"), "n": 1}, "eps must be finite"),
    ({"eps": float("nan"), "n": 1}, "eps must be finite"),
    ({"eps": "abc", "n": 1}, "eps must be a number"),
    ({"eps": 1, "n": 0}, "n must be an integer"),
    ({"eps": 1, "n": 2.5}, "n must be an integer"),
    ({"eps": 1, "n": True}, "n must be an integer"),
    ({"eps": 1, "n": 3, "delta": 1}, "delta must lie"),
    ({"eps": 1, "n": 3, "delta": -0.1}, "delta must lie"),
    ({"eps": 1, "n": 3, "digits": 4}, "digits must"),
    ({"eps": 1, "n": 3, "digits": 1001}, "digits must"),
])
def test_bad_input_raises_one_clear_value_error(kwargs, match):
    for f in (paper_bound, tight_bound):
        with pytest.raises(ValueError, match=match):
            f(**kwargs)


def test_gdp_and_refined_bad_input():
    with pytest.raises(ValueError, match="mu must be > 0"):
        gdp_bound(0, 3)
    with pytest.raises(ValueError, match="tv_pq"):
        refined_bound(1, 3, 0, 1.5)


# --------------------------------------------------------------------------------------------------
# Correct to the last digit: rounding, the singular input, thresholds, refined and inverse (issue 15).


def rounded(value, digits: int):
    """The exact value (a high-precision mpf) rounded half-even to ``digits`` significant digits, as a
    Decimal (an independent rounding: the decimal module, not mitheory._ball)."""
    import decimal

    ctx = decimal.Context(prec=digits, rounding=decimal.ROUND_HALF_EVEN, Emin=-10**17, Emax=10**17)
    return ctx.plus(decimal.Decimal(mpmath.nstr(value, digits + 60, strip_zeros=False)))


def same_decimal(text: str, value, digits: int) -> bool:
    import decimal

    return text == "0" and value == 0 or decimal.Decimal(text) == rounded(value, digits)


def test_decimals_are_the_exact_value_correctly_rounded():
    # issue example: rounding a binary float of the value ended in ...923; the value is ...9235...
    b = tight_bound("0.3", 13, digits=60)
    assert b.text("gain").endswith("578924")
    with mp.workdps(150):
        eps = mpf(3) / 10
        alpha = mpmath.exp(-6 * eps) / (1 + mpmath.exp(eps))  # n = 13: m = 6, x0 = 1/(1 + e^eps)
        assert "5789235" in mpmath.nstr(1 - alpha, 70)
        assert same_decimal(b.text("gain"), 1 - alpha, 60) and same_decimal(b.text("slack"), alpha, 60)
    with mp.workdps(62):
        assert b.gain == mpf(b.text("gain"))  # the mpf field is the decimal, not a second rounding


def test_singular_input_n2_delta_half_is_exact():
    # n = 2, delta = 1/2: alpha*_2 = (1/2 - delta) e^-eps = 0 exactly; the old Ziv loop never settled here
    t = tight_bound(4, 2, "0.5", digits=20)
    assert t.vacuous and t.gain == 1 and t.slack == 0 and t.text("slack") == "0"
    assert t.text("raw") == "1.0000000000000000000"  # (1 + 2c)(1 - e^-eps) = 1 exactly
    assert paper_bound(4, 2, "0.5").vacuous
    for side, vacuous in (("-", False), ("+", True)):
        delta = f"0.5{'' if side == '-' else '0' * 94 + '1'}" if side == "+" else "0." + "4" + "9" * 94
        b = tight_bound(4, 2, delta, digits=30)
        assert b.vacuous is vacuous
        if not vacuous:  # slack = e^-4 (1/2 - delta) = e^-4 * 10^-95
            with mp.workdps(60):
                assert same_decimal(b.text("slack"), mpmath.exp(-4) * mpf(10) ** -95, 30)


def _threshold(eps: str, n: int, which: str):
    """delta at which the bound turns vacuous, at 300 digits: delta_n = 1 (paper), alpha*_n = 0 (tight)."""
    with mp.workdps(300):
        e = mpf(eps)
        if which == "paper":
            return mpmath.expm1(e) / mpmath.expm1(n * e)
        m = n // 2
        x0 = mpf(1) / 2 if n % 2 == 0 else None
        if x0 is not None:
            return x0 * mpmath.expm1(e) / mpmath.expm1(m * e)
        # odd n: (1 - d)/(1 + e^eps) = d expm1(m eps)/expm1(eps)
        return 1 / (1 + (1 + mpmath.exp(e)) * mpmath.expm1(m * e) / mpmath.expm1(e))


@pytest.mark.parametrize("which,n", [("paper", 20), ("tight", 10), ("tight", 7)])
def test_delta_within_1e90_of_the_vacuity_threshold_is_flagged_correctly(which, n):
    f = paper_bound if which == "paper" else tight_bound
    star = _threshold("0.1", n, which)
    with mp.workdps(300):
        below = mpmath.nstr(star * (1 - mpf(10) ** -90), 200)
        above = mpmath.nstr(star * (1 + mpf(10) ** -90), 200)
    lo, hi = f("0.1", n, below, digits=25), f("0.1", n, above, digits=25)
    assert not lo.vacuous and hi.vacuous
    assert 0 < lo.slack < mpf(10) ** -85 and hi.slack == 0
    with mp.workdps(300):  # the tiny slack itself, to all 25 digits
        e, d = mpf("0.1"), mpf(below)
        if which == "paper":
            want = (1 - d * mpmath.expm1(n * e) / mpmath.expm1(e)) / (1 + mpmath.exp(n * e))
        else:
            m = n // 2
            x0 = mpf(1) / 2 if n % 2 == 0 else (1 - d) / (1 + mpmath.exp(e))
            want = mpmath.exp(-m * e) * (x0 - d * mpmath.expm1(m * e) / mpmath.expm1(e))
        assert same_decimal(lo.text("slack"), want, 25)


def test_huge_eps_and_mu_finish_with_correct_digits():
    b = tight_bound("1e1000", 10, digits=15)  # slack = e^-(5e1000)/2: a 1000-digit decimal exponent
    with mp.workdps(1100):
        log10 = -5 * mpf(10) ** 1000 / mpmath.log(10) - mpmath.log10(2)
        exponent = int(mpmath.floor(log10))
        mantissa = mpf(10) ** (log10 - exponent)
    got_mantissa, got_exponent = b.text("slack").split("e")
    assert int(got_exponent) == exponent and same_decimal(got_mantissa, mantissa, 15)
    assert b.gain == 1 and b.text("gain") == "1.00000000000000"
    g = gdp_bound("1e400", 10, digits=12)  # erfc beyond the range of mpmath's own series
    with mp.workdps(900):  # erfc(x)/2 ~ e^{-x^2}/(2 x sqrt(pi)), x = n mu / (2 sqrt 2)
        x = 10 * mpf(10) ** 400 / (2 * mpmath.sqrt(2))
        log10 = (-x * x - mpmath.log(2 * x * mpmath.sqrt(mpmath.pi))) / mpmath.log(10)
        assert int(g.text("slack").split("e")[1]) == int(mpmath.floor(log10))
    with pytest.raises(ValueError, match="too large"):
        tight_bound("1e100000", 2)


def _alpha_tv(eps, delta, k):
    """alpha*_k and TV*_k from THEORY's first form (subtractions, no expm1), at the current precision."""
    if k == 0:
        return mpf(1) / 2, mpf(0)
    m = k // 2
    E = mpmath.exp(eps)
    x0 = mpf(1) / 2 if k % 2 == 0 else (1 - delta) / (1 + E)
    alpha = max(mpf(0), mpmath.exp(-m * eps) * x0 - delta * (1 - mpmath.exp(-m * eps)) / (E - 1))
    return alpha, 1 - 2 * alpha


def _refined_direct(eps, n, delta, t, steps=1, k_lo=0, k_hi=None):
    """1/2 + E TV*_{steps K} term by term (K ~ Bin(n, t)) over k_lo..k_hi (default all), slack and
    advantage, at the current precision; alpha*_k by THEORY's first form with e^{-m eps} updated per step."""
    eps, delta, t = mpf(eps), mpf(delta), mpf(t)
    k_hi = n if k_hi is None else k_hi
    E = mpmath.exp(eps)
    c = delta / (E - 1)
    x_odd = (1 - delta) / (1 + E)
    pk = mpmath.exp(mpmath.loggamma(n + 1) - mpmath.loggamma(k_lo + 1) - mpmath.loggamma(n - k_lo + 1)
                    + k_lo * mpmath.log(t) + (n - k_lo) * mpmath.log(1 - t))
    slack = adv = mpf(0)
    for k in range(k_lo, k_hi + 1):
        if k > k_lo:
            pk = pk * (n - k + 1) / k * t / (1 - t)
        j = steps * k
        if j == 0:
            a = mpf(1) / 2
        else:
            r = mpmath.exp(-(j // 2) * eps)
            a = max(mpf(0), r * (mpf(1) / 2 if j % 2 == 0 else x_odd) - c * (1 - r))
        slack += pk * a
        adv += pk * (1 - 2 * a)
    return slack, adv


@pytest.mark.parametrize("eps,n,delta,t,steps", [
    ("1", 40, "0.05", "0.5", 1),      # vacuous from k = 6 on: most of the mass is in the vacuous tail
    ("0.5", 60, "0.01", "0.3", 1),    # the cut inside the bulk
    ("0.5", 60, "0.01", "0.3", 2),    # add/remove adjacency
    ("0.2", 300, "1e-3", "0.05", 1),  # the cut above the bulk: closed form minus an upper tail
    ("0.01", 80, "0", "0.9", 1),      # pure DP: closed form
])
def test_refined_bound_every_field_equals_the_direct_sum(eps, n, delta, t, steps):
    b = refined_bound(eps, n, delta, t, steps=steps, digits=40)
    with mp.workdps(120):
        slack, adv = _refined_direct(eps, n, delta, t, steps)
        assert same_decimal(b.text("slack"), slack, 40)
        assert same_decimal(b.text("gain"), 1 - slack, 40)
        assert same_decimal(b.text("advantage"), adv, 40)  # includes the vacuous tail's mass


def test_refined_bound_large_n_with_delta_and_tiny_eps_delta():
    # n >= 5e4 with delta > 0 raised NoConvergence; tiny eps, delta took minutes (k_vac ~ 3e7 terms)
    with mp.workdps(40):  # K ~ Bin(5e4, 1e-3) has mean 50: P(K > 400) < 1e-200
        slack, adv = _refined_direct("0.001", 50_000, "1e-4", "0.001", k_hi=400)
    b = refined_bound("0.001", 50_000, "1e-4", "0.001", digits=25)
    assert same_decimal(b.text("slack"), slack, 25) and same_decimal(b.text("advantage"), adv, 25)
    big = refined_bound("0.01", 10**6, "1e-6", "0.3", digits=30)  # almost all mass vacuous
    assert big.text("advantage") == "1." + "0" * 29 and 0 < big.slack < mpf(10) ** -1000
    tiny = refined_bound("1e-9", 10**6, "1e-12", "0.5", digits=30)  # no vacuous size: closed form
    with mp.workdps(45):  # Bin(1e6, 1/2) has sd 500: the mass beyond 14 sd is below 1e-42
        slack, _ = _refined_direct("1e-9", 10**6, "1e-12", "0.5", k_lo=500_000 - 7_000, k_hi=500_000 + 7_000)
        assert same_decimal(tiny.text("slack"), slack, 30)
    huge = refined_bound("1e-9", 10**15, "1e-30", "0.5", digits=20)  # n eps = 1e6: slack ~ e^{-n eps/4}
    assert not huge.vacuous and 0 < huge.slack and int(huge.text("slack").split("e")[1]) < -10**5


def _root(f, log_lo, log_hi, digits=70):
    """Bisection on log(eps) for the increasing f with the root in [e^log_lo, e^log_hi], independent of
    mitheory's search; at the caller's precision."""
    lo, hi = mpf(log_lo), mpf(log_hi)
    for _ in range(int(digits * 3.4) + 30):
        mid = (lo + hi) / 2
        if f(mpmath.exp(mid)) > 0:
            hi = mid
        else:
            lo = mid
    return mpmath.exp(lo)


def _paper_gain_printed(eps, n, delta):
    E = mpmath.exp(n * eps)
    return min(mpf(1), E / (E + 1) + (E - 1) * delta / ((E + 1) * (mpmath.exp(eps) - 1)))


@pytest.mark.parametrize("target,n,delta,which", [
    ("0.55000000000000000001", 10, "0.01", "paper"),  # the input: it looped forever
    ("0.55000000000000000001", 10, "0.01", "tight"),
    ("0.6", 1000, "1e-5", "paper"),
    ("0.6", 1000, "1e-5", "tight"),
    ("0.9", 7, "0.02", "tight"),
    ("0.999", 10**6, "1e-9", "tight"),
    ("0.75", 2, "0.1", "tight"),
])
def test_required_epsilon_with_delta_against_independent_roots(target, n, delta, which):
    with mp.workdps(120):
        d, g = mpf(delta), mpf(target)
        if which == "paper":
            def f(eps):
                return _paper_gain_printed(eps, n, d) - g
        else:
            def f(eps):
                return 1 - _alpha_tv(eps, d, n)[0] - g
        want = _root(f, -100, 5)
    got = required_epsilon(target, n, delta, bound=which, digits=12)
    # rounded down to 12 digits: the largest 12-digit decimal not above the root
    import decimal

    ctx = decimal.Context(prec=12, rounding=decimal.ROUND_DOWN)
    assert decimal.Decimal(mpmath.nstr(got, 12)) == ctx.plus(decimal.Decimal(mpmath.nstr(want, 60)))


def test_required_epsilon_near_eps_zero_keeps_its_digits():
    # delta > 0 and the target 1e-40 above the eps -> 0 limit: the root is near 1e-39
    target = "0.5" + "0" * 2 + "5" + "0" * 37 + "1"  # 0.5005 + 1e-41: n delta = 0.001
    got = required_epsilon(target, 10, "0.0001", bound="tight", digits=30)
    with mp.workdps(200):
        d, g = mpf("0.0001"), mpf(target)
        want = _root(lambda e: 1 - _alpha_tv(e, d, 10)[0] - g, -200, 0, digits=60)
        assert abs(got / want - 1) < mpf(10) ** -29


def test_gain_bound_is_immutable_and_pickles():
    import copy
    import pickle

    b = tight_bound("0.3", 13, "1e-4", digits=30)
    with pytest.raises(AttributeError):
        b.gain = 0
    for c in (pickle.loads(pickle.dumps(b)), copy.deepcopy(b)):
        assert c == b and c.text("slack") == b.text("slack") and c.digits == 30
