"""MID regression, AdaSSP and the Naive MAP attack (docs/defenses.md)."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import kstest
from sklearn.exceptions import SkipTestWarning
from sklearn.linear_model import LinearRegression
from sklearn.utils.estimator_checks import check_estimator

from defenses.datasets import load_iwpc
from defenses.linear import (
    AdaSSPRegression,
    DataClippedWarning,
    MIDLinearRegression,
    NaiveMAPAttack,
    NaiveMAPRegressionAttack,
    NoModelBaseline,
    PriorBaseline,
    empirical_prior,
    analytic_gaussian_multiplier,
    composed_delta,
    gaussian_delta,
    gaussian_mixture_entropy,
    gaussian_noise_multiplier,
)

H = gaussian_mixture_entropy
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# --------------------------------------------------------------------------------------------------
# The regularizer H0 (MID paper Eq. 4)

@pytest.mark.parametrize("pred, expected", [
    ((0, 0), 0.918939), ((0, 1), 1.138009), ((0, 2), 1.485158), ((0, 1, 2), 1.382787), ((0, 100), 1.612086),
])
def test_entropy_matches_hand_values_at_sigma_one(pred, expected):
    assert H(np.array(pred, float), 1.0) == pytest.approx(expected, abs=5e-7)


def test_entropy_of_two_far_points_is_half_log_2pi_plus_log2():
    assert H(np.array([0.0, 100.0]), 1.0) == pytest.approx(HALF_LOG_2PI + math.log(2), abs=1e-15)


finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@settings(max_examples=150)
@given(st.lists(finite, min_size=1, max_size=40), st.floats(0.05, 20), finite)
def test_entropy_is_translation_invariant_and_within_bounds(values, sigma, shift):
    y = np.array(values)
    h = H(y, sigma)
    low = 0.5 * math.log(2 * math.pi * sigma**2)
    assert low - 1e-12 <= h <= low + math.log(len(y)) + 1e-12
    assert H(y + shift, sigma) == pytest.approx(h, abs=1e-9)


@settings(max_examples=100)
@given(st.lists(finite, min_size=2, max_size=60), st.floats(0.1, 5), st.integers(1, 17), st.randoms())
def test_chunked_entropy_and_gradient_equal_one_shot_and_are_permutation_invariant(values, sigma, chunk, rnd):
    y = np.array(values)
    h1, g1 = H(y, sigma, method="exact", chunk_size=10_000, return_grad=True)
    h2, g2 = H(y, sigma, method="exact", chunk_size=chunk, return_grad=True)
    assert h2 == pytest.approx(h1, abs=1e-12)
    np.testing.assert_allclose(g2, g1, atol=1e-12)
    perm = np.array(rnd.sample(range(len(y)), len(y)))
    hp, gp = H(y[perm], sigma, method="exact", chunk_size=chunk, return_grad=True)
    assert hp == pytest.approx(h1, abs=1e-12)
    np.testing.assert_allclose(gp, g1[perm], atol=1e-12)


@pytest.mark.parametrize("sigma", [0.3, 1.0, 4.0])
@pytest.mark.parametrize("n, method", [(2, "exact"), (7, "exact"), (300, "exact"), (7, "chebyshev"),
                                       (600, "chebyshev")])
def test_entropy_gradient_matches_central_finite_differences(sigma, n, method):
    rng = np.random.default_rng(n)
    y = rng.normal(scale=1.5, size=n)
    _, grad = H(y, sigma, method=method, chunk_size=64, return_grad=True)
    step = 1e-5
    for k in rng.choice(n, size=min(n, 12), replace=False):
        e = np.zeros(n)
        e[k] = step
        fd = (H(y + e, sigma, method=method) - H(y - e, sigma, method=method)) / (2 * step)
        assert grad[k] == pytest.approx(fd, abs=1e-8)
    assert abs(grad.sum()) < 1e-12  # translation invariance: Σ_k ∂H0/∂ŷ_k = 0


@pytest.mark.parametrize("bad", [dict(pred=[]), dict(pred=[0.0, np.nan]), dict(sigma=0.0), dict(sigma=-1.0),
                                 dict(chunk_size=0), dict(method="fast")])
def test_entropy_rejects_bad_input(bad):
    kw = {"pred": [0.0, 1.0], "sigma": 1.0, **bad}
    with pytest.raises(ValueError, match=next(iter(bad))):
        H(np.asarray(kw.pop("pred"), float), kw.pop("sigma"), **kw)


# The Chebyshev fast path against the exact pairwise sum

def _predictions(kind: str, n: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Prediction sets the fast path must handle: a few σ wide (linear models), far narrower than σ,
    spread over thousands of σ (most pairs in the dropped band), and clusters far apart, off zero."""
    if kind == "linear":
        return rng.normal(scale=2.0 * sigma, size=n)
    if kind == "clustered":
        return 3.0 + rng.normal(scale=1e-3 * sigma, size=n)
    if kind == "spread":
        return rng.uniform(-2000.0 * sigma, 2000.0 * sigma, size=n)
    centres = rng.choice([-1e4, 0.0, 25.0, 1e6], size=n) * sigma + 7e6 * sigma
    return centres + rng.normal(scale=0.7 * sigma, size=n)


@pytest.mark.parametrize("kind", ["linear", "clustered", "spread", "clusters"])
@pytest.mark.parametrize("sigma", [1e-3, 0.75, 1.0, 300.0])
@pytest.mark.parametrize("n", [450, 2500])
def test_chebyshev_entropy_and_gradient_equal_the_exact_sum_to_round_off(kind, sigma, n):
    y = _predictions(kind, n, sigma, np.random.default_rng([n, int(sigma * 1e3)]))
    h_exact, g_exact = H(y, sigma, method="exact", return_grad=True)
    h_fast, g_fast = H(y, sigma, method="chebyshev", return_grad=True)
    assert h_fast == pytest.approx(h_exact, abs=1e-14 * max(1.0, abs(h_exact)))
    # Gradient entries are of order 1/(Nσ): compare on that scale (and to the largest entry).
    scale = max(np.max(np.abs(g_exact)), 1.0 / (n * sigma))
    np.testing.assert_allclose(g_fast, g_exact, rtol=0, atol=2e-14 * scale)
    assert np.sum(g_fast) == pytest.approx(0.0, abs=1e-12 * scale)


def test_auto_method_takes_the_fast_path_from_400_predictions_and_the_exact_sum_below():
    rng = np.random.default_rng(1)
    for n, method in ((399, "exact"), (400, "chebyshev")):
        y = rng.normal(size=n)
        auto, chosen = H(y, 0.8, return_grad=True), H(y, 0.8, method=method, return_grad=True)
        assert auto[0] == chosen[0] and np.array_equal(auto[1], chosen[1])
    far = np.r_[rng.normal(size=500), 1e20]  # beyond the exactly indexable panels: exact sum, or refusal
    assert H(far, 0.8) == H(far, 0.8, method="exact")
    with pytest.raises(ValueError, match="chebyshev"):
        H(far, 0.8, method="chebyshev")


@pytest.mark.parametrize("kind", ["linear", "spread"])
def test_chebyshev_path_is_accurate_against_a_50_digit_reference(kind):
    """Both methods within float64 round-off of the sums computed in 50-digit arithmetic."""
    import mpmath

    sigma = 0.9
    y = _predictions(kind, 60, sigma, np.random.default_rng(3))
    with mpmath.workdps(50):
        ym = [mpmath.mpf(float(v)) for v in y]
        k = [[mpmath.exp(-(a - b) ** 2 / (2 * mpmath.mpf(sigma) ** 2)) for b in ym] for a in ym]
        s = [mpmath.fsum(row) for row in k]
        n = len(ym)
        h_ref = -mpmath.fsum(mpmath.log(v) for v in s) / n + mpmath.log(n) + mpmath.log(2 * mpmath.pi * sigma**2) / 2
        g_ref = [mpmath.fsum((k[i][j] / s[i] + k[j][i] / s[j]) * (ym[i] - ym[j]) for j in range(n))
                 / (n * mpmath.mpf(sigma) ** 2) for i in range(n)]
        h_ref, g_ref = float(h_ref), np.array([float(v) for v in g_ref])
    for method in ("exact", "chebyshev"):
        h, g = H(y, sigma, method=method, return_grad=True)
        assert h == pytest.approx(h_ref, rel=1e-15)
        np.testing.assert_allclose(g, g_ref, rtol=0, atol=4e-15 * np.max(np.abs(g_ref)))


@pytest.mark.parametrize("degree", [4, 7, 10])
def test_chebyshev_error_bound_holds_with_too_few_nodes(degree):
    """With p = 4…10 nodes the interpolation error is visible, and it stays within the stated bound."""
    from defenses.linear.mid import _kernel_sums_chebyshev, _kernel_sums_exact, chebyshev_error_bound

    sigma, n = 1.0, 800
    y = np.random.default_rng(degree).normal(scale=3.0, size=n)
    reach = 12
    s_fast, g_fast = _kernel_sums_chebyshev(y, sigma, True, degree=degree, reach=reach)
    s_exact, g_exact = _kernel_sums_exact(y, sigma, 256, True)
    eta = chebyshev_error_bound(n, degree, reach, 1.0)
    assert 1e-14 < np.max(np.abs(s_fast - s_exact) / s_exact) <= eta
    assert np.max(np.abs(g_fast - g_exact)) <= 3 * eta / sigma


def test_chebyshev_parameters_meet_the_budget_and_grow_slowly():
    from defenses.linear.mid import chebyshev_error_bound, chebyshev_parameters

    for n in (400, 5452, 40_000, 10**7):
        for width in (0.5, 0.75, 1.0):
            p, w = chebyshev_parameters(n, width)
            assert chebyshev_error_bound(n, p, w, width) <= 2.0**-64 / n
            assert chebyshev_error_bound(n, p - 1, w, width) > 2.0**-65 / n  # p is the smallest
            assert p <= 32 and w * width >= 11
    assert chebyshev_parameters(5452, 1.0) == (26, 12)


# --------------------------------------------------------------------------------------------------
# MIDLinearRegression

def _regression(n=400, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1.0, 10.0, 0.1, 3.0][:d] + 5.0
    y = X @ np.array([0.5, -0.1, 8.0, 0.2])[:d] + rng.normal(scale=0.7, size=n) + 3.0
    return X, y


def test_mid_with_lambda_zero_is_ordinary_least_squares():
    X, y = _regression()
    ols = LinearRegression().fit(X, y)
    mid = MIDLinearRegression(mid_lambda=0.0).fit(X, y)
    np.testing.assert_allclose(mid.coef_, ols.coef_, rtol=0, atol=1e-8)
    assert mid.intercept_ == pytest.approx(ols.intercept_, abs=1e-8)
    assert mid.sigma_ == pytest.approx(np.sqrt(np.mean((y - ols.predict(X)) ** 2)), rel=1e-12)


def test_mid_with_lambda_zero_is_ols_on_iwpc(iwpc):
    X, y = iwpc.data.to_numpy(), iwpc.target
    np.testing.assert_allclose(MIDLinearRegression(mid_lambda=0).fit(X, y).coef_,
                               LinearRegression().fit(X, y).coef_, atol=1e-8)


@pytest.mark.parametrize("lam", [0.05, 0.5, 3.0])
def test_mid_solution_is_a_stationary_point_of_the_objective(lam):
    """Finite differences of J(θ) = MSE + λ·H0 (public functions only) vanish at the fitted θ."""
    X, y = _regression(n=200)
    m = MIDLinearRegression(mid_lambda=lam, tol=1e-9).fit(X, y)
    sigma = m.sigma_

    def J(coef):
        pred = X @ coef
        b = np.mean(y - pred)
        return np.mean((y - pred - b) ** 2) + lam * H(pred, sigma)

    assert J(m.coef_) == pytest.approx(m.objective_, rel=1e-10)
    scale = X.std(axis=0)
    for k in range(X.shape[1]):
        e = np.zeros(X.shape[1])
        e[k] = 1e-5 / scale[k]  # a step in standardized coordinates
        assert (J(m.coef_ + e) - J(m.coef_ - e)) / 2e-5 == pytest.approx(0.0, abs=1e-6)


def test_mid_lambda_path_trades_mse_for_entropy():
    X, y = _regression(n=300, seed=3)
    fits = [MIDLinearRegression(mid_lambda=lam).fit(X, y) for lam in (0.0, 0.1, 0.3, 1.0, 3.0, 10.0)]
    mses = [np.mean((y - f.predict(X)) ** 2) for f in fits]
    entropies = [f.entropy_ for f in fits]
    assert all(b >= a - 1e-9 for a, b in zip(mses, mses[1:]))
    assert all(b <= a + 1e-9 for a, b in zip(entropies, entropies[1:]))
    assert entropies[-1] < entropies[0] - 0.5
    assert np.linalg.norm(fits[-1].coef_) < 0.2 * np.linalg.norm(fits[0].coef_)


def test_mid_is_deterministic_and_handles_fixed_sigma_and_no_intercept():
    X, y = _regression(n=150)
    a = MIDLinearRegression(mid_lambda=0.7, sigma=0.3, fit_intercept=False).fit(X, y)
    b = MIDLinearRegression(mid_lambda=0.7, sigma=0.3, fit_intercept=False).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.intercept_ == 0.0 and a.sigma_ == 0.3


@pytest.mark.parametrize("param, value", [("mid_lambda", -0.1), ("mid_lambda", np.inf), ("sigma", 0.0),
                                          ("sigma", "big"), ("max_iter", 0), ("tol", 0.0), ("chunk_size", 0),
                                          ("fit_intercept", "yes")])
def test_mid_rejects_bad_parameters_naming_them(param, value):
    X, y = _regression(n=20)
    with pytest.raises(ValueError, match=param):
        MIDLinearRegression(**{param: value}).fit(X, y)


@pytest.mark.parametrize("estimator", [MIDLinearRegression(), AdaSSPRegression(random_state=0)],
                         ids=lambda e: type(e).__name__)
@pytest.mark.filterwarnings("ignore::defenses.linear.DataClippedWarning")  # the checks' data exceed the default bounds
def test_sklearn_check_estimator_passes_every_check(estimator):
    """No expected failures. (sklearn skips its array-API check unless SCIPY_ARRAY_API is set.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkipTestWarning)
        results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert len(results) > 40 and failed == []


# --------------------------------------------------------------------------------------------------
# AdaSSP

def test_adassp_noise_scales_match_wang_formulas():
    rng = np.random.default_rng(0)
    X = rng.uniform(-0.3, 0.3, size=(50, 10))
    y = rng.uniform(-1, 1, size=50)
    m = AdaSSPRegression(epsilon=1.0, delta=1e-6, x_bound=1.0, y_bound=1.0, fit_intercept=False,
                         calibration="wang2018", random_state=1).fit(X, y)
    assert m.noise_multiplier_ == pytest.approx(11.8518, abs=1e-4)
    assert m.eigenvalue_shift_ == pytest.approx(46.8218, abs=1e-4)
    assert m.gram_noise_scale_ == m.noise_multiplier_ and m.moment_noise_scale_ == m.noise_multiplier_
    assert m.ridge_ + m.min_eigenvalue_noisy_ == pytest.approx(107.936, abs=1e-3)  # λ̃_min < threshold here
    m2 = AdaSSPRegression(epsilon=3.0, delta=1e-5, x_bound=2.0, y_bound=5.0, calibration="wang2018",
                          random_state=1).fit(X, y)
    s = math.sqrt(math.log(6 / 1e-5)) / 1.0
    assert m2.row_bound_ == pytest.approx(math.sqrt(5.0))
    assert m2.gram_noise_scale_ == pytest.approx(5.0 * s) and m2.moment_noise_scale_ == pytest.approx(math.sqrt(5) * 5 * s)


def test_gaussian_delta_equals_the_curve_in_50_digit_arithmetic():
    """Φ(μ/2 − ε/μ) − e^ε Φ(−μ/2 − ε/μ) (Balle & Wang 2018, Thm. 8) against mpmath at 50 digits, over
    ε ∈ {0} ∪ [1e-10, 1e8] and μ ∈ [1e-12, 1e4]: no overflow, no cancellation."""
    import mpmath

    checked = 0
    for eps in np.r_[0.0, np.logspace(-10, 8, 19)]:
        for mu in np.logspace(-12, 4, 17):
            with mpmath.workdps(50):
                e, m = mpmath.mpf(eps), mpmath.mpf(mu)
                ref = float(mpmath.ncdf(m / 2 - e / m) - mpmath.exp(e) * mpmath.ncdf(-m / 2 - e / m))
            if ref < 1e-300:
                assert gaussian_delta(eps, mu) < 1e-290
                continue
            # float64 resolves x = ε/μ − μ/2 only to 2·2⁻⁵³·(ε/μ + μ/2); δ's relative sensitivity to x is
            # at most |x| + 2.
            x = eps / mu - mu / 2
            tol = 1e-13 + (abs(x) + 2) * 2.3e-16 * (eps / mu + mu / 2)
            assert gaussian_delta(eps, mu) == pytest.approx(ref, rel=tol), (eps, mu)
            checked += 1
    assert checked > 150


@pytest.mark.parametrize("eps, expected", [(0.1, 108.686), (1.0, 12.471), (10.0, 1.4661)])
def test_analytic_gaussian_multiplier_reproduces_the_per_release_values(eps, expected):
    """docs/defenses.md's σ/Δ of one release at (ε/3, δ/3) for δ = 1e-6, and it is the smallest such σ/Δ."""
    ratio = analytic_gaussian_multiplier(eps / 3, 1e-6 / 3)
    assert ratio == pytest.approx(expected, rel=2e-4)
    assert gaussian_delta(eps / 3, 1 / ratio) == pytest.approx(1e-6 / 3, rel=1e-9)
    assert gaussian_delta(eps / 3, 1 / (ratio * (1 - 1e-9))) > 1e-6 / 3


@pytest.mark.parametrize("delta", [1e-10, 1e-6, 1e-3])
def test_default_calibration_is_exactly_eps_delta_dp_for_every_epsilon(delta):
    """The three releases composed exactly (μ = √3/s) spend δ — not more, and not much less — at every ε
    from 10⁻³ to 10³; s is √3 times the one-release multiplier, and below the per-release split's."""
    for eps in np.logspace(-3, 3, 61):
        s = gaussian_noise_multiplier(eps, delta)
        spent = composed_delta(eps, s)
        assert spent <= delta and spent == pytest.approx(delta, rel=1e-9)
        assert composed_delta(eps, s * (1 - 1e-9)) > delta  # the smallest such s
        assert s == pytest.approx(math.sqrt(3) * analytic_gaussian_multiplier(eps, delta), rel=1e-11)
        assert s < analytic_gaussian_multiplier(eps / 3, delta / 3)


def test_wang_calibration_is_refused_where_it_is_not_dp():
    """For δ = 1e-6 Wang's constant composes to δ ≈ 0.65 at ε = 100 (docs/defenses.md) and is refused there."""
    s = math.sqrt(math.log(6e6)) / (100 / 3)
    assert composed_delta(100.0, s) == pytest.approx(0.6537, abs=1e-4)
    for eps in (1.0, 10.0, 30.0):  # still (ε, δ)-DP by exact composition, though not per release
        s = gaussian_noise_multiplier(eps, 1e-6, "wang2018")
        assert composed_delta(eps, s) <= 1e-6 < 3 * gaussian_delta(eps / 3, 1 / s)
    for eps in (31.0, 100.0, 1e3):
        with pytest.raises(ValueError, match="wang2018.*not"):
            gaussian_noise_multiplier(eps, 1e-6, "wang2018")
    X, y = _regression(n=30)
    with pytest.raises(ValueError, match="wang2018"):
        AdaSSPRegression(epsilon=100.0, calibration="wang2018").fit(X / 100, y / 100)


def test_adassp_records_the_delta_it_spends():
    X, y = _regression(n=50)
    m = AdaSSPRegression(epsilon=2.0, delta=1e-5, random_state=0).fit(X / 100, y / 100)
    assert m.noise_multiplier_ == gaussian_noise_multiplier(2.0, 1e-5)
    assert m.delta_spent_ == pytest.approx(1e-5, rel=1e-9) and m.delta_spent_ <= 1e-5
    w = AdaSSPRegression(epsilon=2.0, delta=1e-5, calibration="wang2018", random_state=0).fit(X / 100, y / 100)
    assert w.delta_spent_ < 1e-5 and w.noise_multiplier_ > m.noise_multiplier_


def test_adassp_output_equals_a_seeded_reference_computation():
    rng = np.random.default_rng(5)
    X = rng.uniform(-0.5, 0.5, size=(80, 3))
    y = X @ [0.3, -0.2, 0.1] + rng.uniform(-0.1, 0.1, 80)
    m = AdaSSPRegression(epsilon=2.0, delta=1e-6, x_bound=1.0, y_bound=1.0, rho=0.05, calibration="wang2018",
                         random_state=42).fit(X, y)
    # By hand: the documented draw order Z, triu(E), z on numpy's default_rng(42).
    A = np.column_stack([X, np.ones(80)])
    d, bound = 4, math.sqrt(2.0)
    s = math.sqrt(math.log(6e6)) / (2.0 / 3)
    g = np.random.default_rng(42)
    lam_min = max(0.0, np.linalg.eigvalsh(A.T @ A)[0] + bound**2 * s * g.standard_normal()
                  - bound**2 * s * math.sqrt(math.log(6e6)))
    ridge = max(0.0, bound**2 * s * math.sqrt(d * math.log(2 * d * d / 0.05)) - lam_min)
    E = np.zeros((d, d))
    E[np.triu_indices(d)] = g.standard_normal(d * (d + 1) // 2)
    E = E + np.triu(E, 1).T
    theta = np.linalg.solve(A.T @ A + bound**2 * s * E + ridge * np.eye(d),
                            A.T @ y + bound * 1.0 * s * g.standard_normal(d))
    np.testing.assert_allclose(np.r_[m.coef_, m.intercept_], theta, rtol=1e-12)
    assert m.ridge_ == pytest.approx(ridge)


def test_adassp_noisy_eigenvalue_has_the_stated_distribution():
    """λ̃_min + shift − λ_min = 𝒳² s Z with Z ~ N(0, 1) whenever the max(0, ·) is inactive."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(20000, 2)) / math.sqrt(2)
    y = rng.uniform(-1, 1, size=20000)
    lam = np.linalg.eigvalsh(X.T @ X)[0]
    z = []
    for seed in range(300):
        m = AdaSSPRegression(epsilon=5.0, x_bound=1.0, fit_intercept=False, random_state=seed).fit(X, y)
        assert m.min_eigenvalue_noisy_ > 0
        z.append((m.min_eigenvalue_noisy_ + m.eigenvalue_shift_ - lam) / m.gram_noise_scale_)
    assert kstest(z, "norm").pvalue > 0.01


def test_adassp_tends_to_ordinary_least_squares_as_epsilon_grows():
    """The analytic noise falls as ε^(−1/2) at large ε, and θ̂ → OLS with it (ε ≤ 10⁸ is accepted)."""
    rng = np.random.default_rng(2)
    X = rng.uniform(-0.5, 0.5, size=(2000, 3))
    y = X @ [0.3, -0.2, 0.1] + rng.uniform(-0.1, 0.1, 2000)
    ols = LinearRegression().fit(X, y)
    errors = []
    for eps in (1e4, 1e6, 1e8):
        m = AdaSSPRegression(epsilon=eps, x_bound=1.0, y_bound=1.0, random_state=0).fit(X, y)
        errors.append(np.max(np.abs(np.r_[m.coef_ - ols.coef_, m.intercept_ - ols.intercept_])))
        assert m.noise_multiplier_ == pytest.approx(math.sqrt(3 / (2 * eps)), rel=0.05)
    assert errors[2] < 1e-5 and errors[0] > 30 * errors[2]
    with pytest.raises(ValueError, match="epsilon"):
        AdaSSPRegression(epsilon=1e12).fit(X, y)


def test_adassp_clips_rows_and_labels_to_the_declared_bounds():
    rng = np.random.default_rng(1)
    X = rng.normal(scale=3.0, size=(100, 3))
    y = rng.normal(scale=4.0, size=100)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    Xc, yc = X * np.minimum(1.0, 2.0 / norms), np.clip(y, -1.5, 1.5)
    assert np.all(np.linalg.norm(Xc, axis=1) <= 2.0 + 1e-12)
    kw = dict(epsilon=1.0, x_bound=2.0, y_bound=1.5, random_state=7)
    said = (f"{100 * np.mean(norms > 2.0):.3g}% of the rows had ||x|| > x_bound (clipped to 2) and "
            f"{100 * np.mean(np.abs(y) > 1.5):.3g}% of the rows had |y| > y_bound (clipped to 1.5)")
    with pytest.warns(DataClippedWarning, match=re.escape(said)):  # one warning, with the fractions clipped
        clipped = AdaSSPRegression(**kw).fit(X, y).coef_
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataClippedWarning)  # data inside the bounds: nothing to say
        inside = AdaSSPRegression(**kw).fit(Xc, yc).coef_
    np.testing.assert_allclose(clipped, inside, rtol=1e-12)


@pytest.mark.parametrize("param, value", [("epsilon", 0.0), ("epsilon", np.inf), ("delta", 1.0), ("x_bound", -1.0),
                                          ("y_bound", 0.0), ("rho", 1.5), ("calibration", "exact"),
                                          ("random_state", "seed")])
def test_adassp_rejects_bad_parameters_naming_them(param, value):
    X, y = _regression(n=20)
    with pytest.raises(ValueError, match=param):
        AdaSSPRegression(**{param: value}).fit(X, y)


# --------------------------------------------------------------------------------------------------
# Naive MAP attack and the no-model adversaries

class _Table:
    """f(x) = 2 − x₀: predicts 2, 1, 0 for the codes 0, 1, 2 of GG, AG, AA."""

    def predict(self, X):
        return 2.0 - np.asarray(X, float)[:, 0]


def test_naive_map_matches_the_hand_example():
    attack = NaiveMAPRegressionAttack([0], {"GG": [0.0], "AG": [1.0], "AA": [2.0]}, {"GG": .3, "AG": .4, "AA": .3}, 0.5)
    X, y = np.array([[7.0, 1.0]]), np.array([0.9])  # the sensitive column's content is ignored
    res = attack.fit(_Table()).infer(X, y)
    np.testing.assert_allclose(res.scores, [[0.0558, 0.8200, 0.1242]], atol=5e-5)
    assert res.guesses.tolist() == ["AG"] and res.values.tolist() == ["GG", "AG", "AA"]
    with pytest.warns(DeprecationWarning, match="NaiveMAPAttack"):  # the old name and call shape, one release
        old = NaiveMAPAttack([0], {"GG": [0.0], "AG": [1.0], "AA": [2.0]}, {"GG": .3, "AG": .4, "AA": .3}, 0.5)
    np.testing.assert_array_equal(old.infer_proba(_Table(), (X, y)), res.scores)
    assert old.infer(_Table(), (X, y)).tolist() == ["AG"]


def test_naive_map_on_a_constant_model_returns_the_prior_and_its_mode():
    class Constant:
        def predict(self, X):
            return np.zeros(len(X))

    prior = {"GG": .3, "AG": .45, "AA": .25}
    attack = NaiveMAPRegressionAttack([0], {"GG": [0.0], "AG": [1.0], "AA": [2.0]}, prior, 1.0).fit(Constant())
    X, y = np.zeros((5, 1)), np.arange(5.0)
    np.testing.assert_allclose(attack.infer(X, y).scores, np.tile([.3, .45, .25], (5, 1)))
    assert set(attack.infer(X, y).guesses) == {"AG"}
    np.testing.assert_allclose(PriorBaseline(prior).infer(X).scores, np.tile([.3, .45, .25], (5, 1)))
    assert set(PriorBaseline(prior).infer(X).guesses) == {"AG"}
    with pytest.warns(DeprecationWarning):  # the old call shape infer((X, y)), one release
        assert set(PriorBaseline(prior).infer((X, y))) == {"AG"}


@pytest.mark.parametrize("kw, match", [
    (dict(prior={"a": 0.5, "b": 0.6}), "prior"), (dict(prior={"a": 1.0}), "prior"),
    (dict(encoding={"a": [0.0], "c": [1.0]}), "encoding"), (dict(encoding={"a": [0.0, 1.0], "b": [1.0, 0.0]}), "encoding"),
    (dict(residual_scale=0.0), "residual_scale"), (dict(sensitive_columns=[]), "sensitive_columns"),
])
def test_naive_map_rejects_bad_knowledge(kw, match):
    args = dict(sensitive_columns=[0], encoding={"a": [0.0], "b": [1.0]}, prior={"a": 0.5, "b": 0.5},
                residual_scale=1.0)
    with pytest.raises(ValueError, match=match):
        NaiveMAPRegressionAttack(**{**args, **kw})


def test_naive_map_rejects_mismatched_rows_and_needs_fit():
    from sklearn.exceptions import NotFittedError

    attack = NaiveMAPRegressionAttack([0], {"a": [0.0], "b": [1.0]}, {"a": 0.5, "b": 0.5}, 1.0)
    with pytest.raises(NotFittedError):
        attack.infer(np.zeros((3, 1)), np.zeros(3))
    attack.fit(_Table())
    with pytest.raises(ValueError, match="rows"):
        attack.infer(np.zeros((3, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="y"):
        attack.infer(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="sensitive_values"):
        NaiveMAPRegressionAttack([0], {"a": [0.0], "b": [1.0]}, residual_scale=1.0).fit(_Table())


@pytest.fixture(scope="module")
def iwpc():
    return load_iwpc()


@pytest.fixture(scope="module")
def iwpc_split(iwpc):
    """A 2,000-patient training sample and 1,000 held-out patients (small enough for fast MID fits)."""
    rng = np.random.default_rng(11)
    idx = rng.permutation(len(iwpc.target))
    cols = [list(iwpc.data.columns).index(c) for c in iwpc.sensitive]
    return iwpc.data.to_numpy(), iwpc.target, iwpc.extra["vkorc1"], idx[:2000], idx[2000:3000], cols


def _attack_accuracy(model, split, enc):
    X, y, s, tr, te, cols = split
    model.fit(X[tr], y[tr])
    attack = NaiveMAPRegressionAttack(cols, enc).fit(model, X[tr], y[tr], s[tr])  # prior, σ_f from training
    return attack.infer(X[te], y[te]).accuracy(s[te]), attack


def test_attack_recovers_vkorc1_far_above_the_prior_and_falls_to_it_as_lambda_grows(iwpc, iwpc_split):
    X, y, s, tr, te, cols = iwpc_split
    enc = iwpc.extra["sensitive_encoding"]
    prior_acc = PriorBaseline(empirical_prior(list(enc), s[tr])).infer(X[te]).accuracy(s[te])
    undefended, attack = _attack_accuracy(LinearRegression(), iwpc_split, enc)
    assert 0.3 < prior_acc < 0.4
    assert undefended > prior_acc + 0.12
    assert attack.prior_ == pytest.approx(empirical_prior(list(enc), s[tr]))
    strong, _ = _attack_accuracy(MIDLinearRegression(mid_lambda=100.0), iwpc_split, enc)
    assert abs(strong - prior_acc) < 0.03


def test_attack_accepts_dataframes_with_named_columns(iwpc):
    frame, y = iwpc.data.iloc[:300], iwpc.target[:300]
    model = LinearRegression().fit(frame, y)
    attack = NaiveMAPRegressionAttack(list(iwpc.sensitive), iwpc.extra["sensitive_encoding"],
                                      {"G/G": 1 / 3, "A/G": 1 / 3, "A/A": 1 / 3}, 1.0)
    by_name = attack.fit(model).infer(frame, y).scores
    cols = [list(frame.columns).index(c) for c in iwpc.sensitive]
    by_index = NaiveMAPRegressionAttack(cols, iwpc.extra["sensitive_encoding"], attack.prior_, 1.0).fit(
        LinearRegression().fit(frame.to_numpy(), y)).infer(frame.to_numpy(), y).scores
    np.testing.assert_allclose(by_name, by_index, atol=1e-10)


def test_no_model_baselines_use_population_knowledge(iwpc_split):
    X, y, s, tr, te, cols = iwpc_split
    values = ("G/G", "A/G", "A/A")
    known = NoModelBaseline(cols, values).fit(X[tr], y[tr], s[tr])
    ideal = NoModelBaseline(cols, values, use_target=True).fit(X[tr], y[tr], s[tr])
    post = known.infer(X[te]).scores
    assert post.shape == (len(te), 3)
    np.testing.assert_allclose(post.sum(axis=1), 1.0)
    acc_known = known.infer(X[te], y[te]).accuracy(s[te])
    acc_ideal = ideal.infer(X[te], y[te]).accuracy(s[te])
    assert 0.5 < acc_known < acc_ideal  # race predicts VKORC1; the dose adds more
    X_tampered = X[te].copy()
    X_tampered[:, cols] = 0.0  # the sensitive columns are not inputs
    np.testing.assert_allclose(known.infer(X_tampered).scores, post)
    with pytest.raises(ValueError, match="use_target"):
        ideal.infer(X[te])
    with pytest.warns(DeprecationWarning):  # the old call shapes, one release
        np.testing.assert_allclose(known.infer_proba((X[te], y[te])), post)
        assert np.mean(known.infer((X[te], y[te])) == s[te]) == acc_known
    with pytest.raises(ValueError, match="sensitive_values"):
        NoModelBaseline(cols, values).fit(X[tr], y[tr], np.array(["x"] * len(tr), dtype=object))


def test_model_assisted_attack_nests_the_no_model_attacker_and_reads_the_models_evidence():
    from defenses.linear import ModelAssistedAttack, NoModelBaseline, shadow_fits

    rng = np.random.default_rng(0)
    n = 3000
    s = rng.integers(0, 3, n)
    K = rng.normal(size=(n, 3))
    X = np.column_stack([K, np.eye(3)[s]])
    # the sensitive value moves the target; a released model that learned it lets y reveal s
    y = K @ [1.0, -0.5, 0.2] + np.array([-2.0, 0.0, 2.0])[s] + rng.normal(0, 0.5, n)
    enc = {0: [1.0, 0.0, 0.0], 1: [0.0, 1.0, 0.0], 2: [0.0, 0.0, 1.0]}
    tr, te = np.arange(2000), np.arange(2000, n)
    model = LinearRegression().fit(X[tr], y[tr])
    free = NoModelBaseline([3, 4, 5], (0, 1, 2), use_target=True).fit(X[tr], y[tr], s[tr])
    acc_free = np.mean(free.infer(X[te], y[te]).guesses == s[te])
    shadows = shadow_fits(LinearRegression(), X[tr], y[tr], 3)
    assisted = ModelAssistedAttack([3, 4, 5], enc).fit(model, X[tr], y[tr], s[tr], shadows=shadows)
    res = assisted.infer(X[te], y[te])
    acc = np.mean(res.guesses == s[te])
    # 1,000 test rows: a 0.05 shortfall would be about 3.5 sd of the paired difference; the assisted
    # attacker has every input of the no-model one plus the model's residuals, so it is not weaker
    assert acc >= acc_free - 0.05, (acc, acc_free)
    assert np.allclose(res.scores.sum(1), 1.0)
    # and it does read the model: against a model whose predictions carry no s, its evidence is flat
    flat = LinearRegression().fit(X[tr][:, :3], y[tr])

    class Drop:
        def predict(self, Z):
            return flat.predict(np.asarray(Z)[:, :3])

    ev = assisted._evidence(Drop(), X[te], y[te], X[tr], y[tr], s[tr])
    assert np.allclose(ev, ev[:, :1])  # the same for every candidate value
    ev = assisted._evidence(model, X[te], y[te], X[tr], y[tr], s[tr])
    assert np.mean(ev.argmax(1) == s[te]) > 0.9  # the released model's residuals point at the truth
