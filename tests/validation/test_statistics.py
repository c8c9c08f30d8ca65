"""validation.statistics against hand computations, scipy/statsmodels references and hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.integrate import quad

from validation.statistics import (
    Estimate,
    Frontier,
    clopper_pearson,
    contrast,
    effective_trials,
    equivalence,
    floor_variance,
    frontier_gap,
    holm,
    mean_estimate,
    proportion_estimate,
    runs_needed,
    stratified_spearman,
    wilson,
)

counts = st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(counts)
def test_wilson_and_clopper_pearson_match_scipy_and_never_have_zero_width(kn):
    k, n = kn
    ref = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    assert wilson(k, n) == pytest.approx((ref.low, ref.high), abs=1e-12)
    ref = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    assert clopper_pearson(k, n) == pytest.approx((ref.low, ref.high), abs=1e-9)
    lo, hi = wilson(k, n)
    assert hi - lo > 0 and lo <= k / n <= hi


def test_the_resampled_t_is_wider_by_the_nadeau_bengio_factor():
    rng = np.random.default_rng(0)
    for J, factor in ((10, 1.87), (100, 5.10)):  # 80/20 splits: sqrt((1/J + 1/4) / (1/J))
        v = rng.normal(size=J)
        plain, corrected = mean_estimate(v), mean_estimate(v, ratio=0.25)
        assert corrected.method == "resampled-t" and plain.method == "t" and corrected.df == plain.df == J - 1
        assert corrected.se / plain.se == pytest.approx(factor, abs=0.01)
        assert plain.interval() == pytest.approx(stats.t.interval(0.95, J - 1, v.mean(), stats.sem(v)), abs=1e-12)


def test_one_run_has_no_t_interval():
    e = mean_estimate([0.4])
    assert e.interval() is None and e.method.startswith("n/a")


def test_tied_proportions_keep_the_binomial_floor_of_the_pooled_counts():
    est, iv = proportion_estimate([1.0, 1.0, 1.0], [10, 10, 10])
    assert est.method == "max(t, wilson-pooled)" and est.se < 1e-15
    assert iv == pytest.approx(wilson(30, 30)) and iv[1] - iv[0] > 0.1
    # Overlapping splits count fewer independent trials: 10 splits of 50 test records at r = 1/4
    est, iv = proportion_estimate([0.3] * 10, [50] * 10, ratio=0.25)
    n_eff = effective_trials(500, 10, 0.25)
    assert n_eff == pytest.approx(500 / 3.5) and iv == pytest.approx(wilson(0.3 * n_eff, n_eff))
    # spread-out runs: the run-level interval is the wider one
    est, iv = proportion_estimate([0.4, 0.5, 0.6], [1000, 1000, 1000])
    assert iv == pytest.approx(est.interval())


def test_a_contrast_of_tied_runs_takes_the_floor_and_names_it():
    plain = contrast([0.1, 0.1, 0.1])
    assert plain.se < 1e-15 and plain.method == "paired t"
    floored = contrast([0.1, 0.1, 0.1], floor_var=floor_variance(0.0, 30) + floor_variance(0.1, 30))
    lo, hi = floored.interval()
    assert floored.method == "max(paired t, binomial floor)" and floored.df is None and lo < 0.1 < hi
    assert floor_variance(0.0, 30) > 0 and floor_variance(1.0, 30) > 0
    wide = contrast([0.0, 0.5, -0.3], ratio=0.25, floor_var=1e-6)
    assert wide.df == 2 and wide.method == "max(paired resampled-t, binomial floor)"


def test_runs_needed_is_the_normal_power_formula():
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert runs_needed(0.1, 0.05) == math.ceil((z * 0.1 / 0.05) ** 2) == 32
    # splits cannot beat the overlap: (1/n + r) sd^2 <= (d/z)^2 has no solution once r sd^2 is too big
    assert runs_needed(0.1, 0.05, ratio=0.25) == math.inf
    assert runs_needed(0.1, 0.1, ratio=0.01) == math.ceil(1 / ((0.1 / (z * 0.1)) ** 2 - 0.01))


@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_rejects_exactly_where_the_adjusted_p_value_is_below_alpha(p):
    # Holm's adjusted p-values: p_adj(i) = max over j <= i of min(1, (m - j + 1) p_(j)) (sorted order, 1-based)
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate([min(1.0, (len(p) - j) * p[i]) for j, i in enumerate(order)])
    expected = np.zeros(len(p), bool)
    expected[order] = adjusted <= 0.05
    assert holm(p, 0.05) == expected.tolist()


def test_holm_on_a_textbook_example():
    assert holm([0.01, 0.04, 0.03, 0.005], 0.05) == [True, False, False, True]  # 0.005*4, 0.01*3 pass; 0.03*2 not


def test_equivalence_decisions():
    assert equivalence(Estimate(0.01, 0.01, None, "x"), -0.05, 0.05)[0] == "equivalent"
    assert equivalence(Estimate(0.2, 0.01, None, "x"), -0.05, 0.05)[0] == "beyond"
    assert equivalence(Estimate(0.04, 0.01, None, "x"), -0.05, 0.05)[0] == "undecided"
    assert equivalence(Estimate(-0.3, 0.01, None, "x"), -math.inf, 0.05)[0] == "equivalent"  # one-sided
    _, iv = equivalence(Estimate(0.0, 1.0, None, "x"), -1, 1)
    assert iv == pytest.approx((-stats.norm.ppf(0.95), stats.norm.ppf(0.95)))  # the 90% interval


def test_the_frontier_drops_dominated_settings_and_never_extrapolates():
    f = Frontier([0.5, 0.6, 0.7, 0.65], [0.2, 0.4, 0.5, 0.6])  # (0.65, 0.6) is dominated by (0.7, 0.5)
    assert f.points == [0, 1, 2] and f.reach == 0.7
    assert f.weights(0.3) @ [0.2, 0.4, 0.5, 0.6] == pytest.approx(0.2)  # flat below the least useful
    assert f.weights(0.65) @ [0.2, 0.4, 0.5, 0.6] == pytest.approx(0.45)
    with pytest.raises(ValueError, match="beyond"):
        f.weights(0.71)
    mse = Frontier([2.0, 1.0], [0.3, 0.6], higher_is_better=False)  # lower MSE is more useful
    assert mse.points == [0, 1] and mse.weights(-1.5) @ [0.3, 0.6] == pytest.approx(0.45)


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=6),
       st.floats(0, 1), st.floats(0, 1))
def test_mean_weights_are_the_average_of_the_interpolated_frontier(points, a, b):
    f = Frontier([p[0] for p in points], [p[1] for p in points])
    lo, hi = sorted((a * f.reach, b * f.reach))
    attack = np.array([p[1] for p in points])
    if hi - lo > 1e-9:  # adaptive quadrature, told where the frontier bends
        kinks = [f.x[i] for i in f.points if lo < f.x[i] < hi]
        dense = quad(lambda x: f.weights(x) @ attack, lo, hi, points=kinks or None, limit=200)[0] / (hi - lo)
    else:
        dense = f.weights(lo) @ attack
    assert f.mean_weights(lo, hi) @ attack == pytest.approx(dense, abs=1e-7)
    assert f.mean_weights(lo, hi).sum() == pytest.approx(1.0)


def test_a_frontier_gap_pinned_to_a_hand_computation():
    # ours: settings at mean utility 0.70 and 0.80; theirs at 0.72 and 0.78; range [0.72, 0.78].
    # Both frontiers are linear on the range, so their means are the values at 0.75: (a1 + a2)/2 and (b1 + b2)/2.
    # Per seed: (0.30+0.50)/2 - (0.40+0.60)/2 = -0.10, (0.32+0.52)/2 - (0.44+0.62)/2 = -0.11,
    # (0.34+0.48)/2 - (0.42+0.64)/2 = -0.12: mean -0.11, sd 0.01, half-width t(0.975, 2)*0.01/sqrt(3) = 0.024841.
    ours = np.array([[0.30, 0.32, 0.34], [0.50, 0.52, 0.48]])
    theirs = np.array([[0.40, 0.44, 0.42], [0.60, 0.62, 0.64]])
    g = frontier_gap([0.70, 0.80], ours, [0.72, 0.78], theirs, 0.72, 0.78)
    assert g.per_run == pytest.approx([-0.10, -0.11, -0.12])
    assert g.estimate.interval() == pytest.approx((-0.134841, -0.085159), abs=1e-6)
    assert g.weights_ours == pytest.approx([0.5, 0.5]) and g.weights_theirs == pytest.approx([0.5, 0.5])
    assert [round(u, 2) for u, _, _ in g.levels] == [0.72, 0.78]
    # at level 0.72 ours is 0.2*a2 + 0.8*a1: per seed (0.34, 0.36, 0.368) - (0.40, 0.44, 0.42)
    assert g.levels[0][1].value == pytest.approx(np.mean([0.34 - 0.40, 0.36 - 0.44, 0.368 - 0.42]))
    # splits: the same numbers with the Nadeau-Bengio correction (r = 1/4) and a binomial floor
    s = frontier_gap([0.70, 0.80], ours, [0.72, 0.78], theirs, 0.72, 0.78, ratio=0.25,
                     ours_trials=np.full((2, 3), 100), theirs_trials=np.full((2, 3), 100))
    assert s.estimate.method == "max(paired resampled-t, binomial floor)"
    assert s.estimate.se >= 0.01 * math.sqrt(1 / 3 + 0.25) - 1e-12
    with pytest.raises(ValueError, match="same runs"):
        frontier_gap([0.7], ours[:1, :2], [0.7], theirs[:1], 0.6, 0.7)


def test_stratified_spearman_matches_an_exact_permutation_test_and_knows_its_power():
    x, y = [1, 2, 3, 4, 5, 6], [0.1, 0.3, 0.2, 0.5, 0.4, 0.7]
    r = stratified_spearman([(x, y)])
    ref = stats.permutation_test((y,), lambda v: stats.spearmanr(x, v).statistic, permutation_type="pairings",
                                 alternative="two-sided", n_resamples=np.inf)
    assert r.rho[0] == pytest.approx(stats.spearmanr(x, y).statistic) and r.p_value == pytest.approx(ref.pvalue)
    assert "exact" in r.method
    three = [([1, 2, 3], [0.1, 0.2, 0.3])] * 2
    t = stratified_spearman(three)
    assert t.combined == pytest.approx(1.0) and t.min_p_value == pytest.approx(2 / 36) and t.p_value > 0.05
    assert stratified_spearman(three * 2).p_value == pytest.approx(2 / 6**4)
    flat = stratified_spearman([([1, 2, 3], [0.5, 0.5, 0.5]), ([1, 2, 3], [0.3, 0.2, 0.1])])
    assert math.isnan(flat.rho[0]) and flat.combined == pytest.approx(-1.0)


def test_a_setting_as_useful_and_more_private_dominates():
    f = Frontier([0.6, 0.6, 0.7], [0.4, 0.3, 0.5])  # equal utility, lower attack: (0.6, 0.4) is off the frontier
    assert f.points == [1, 2]


def test_strata_are_weighted_by_their_size_and_ties_keep_the_exact_minimum_p():
    a, b = ([1, 2, 3], [0.1, 0.3, 0.2]), ([1, 2, 3, 4], [0.4, 0.3, 0.2, 0.1])
    r = stratified_spearman([a, b])
    assert r.combined == pytest.approx((2 * stats.spearmanr(*a).statistic + 3 * stats.spearmanr(*b).statistic) / 5)
    # ties in both: the permutation distribution is not symmetric; brute force over the 3! orderings
    x, y = [1, 1, 2], [2, 2, 1]  # the most extreme ordering is the negative one
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    rhos = [np.corrcoef(rx, ry[list(p)])[0, 1] for p in __import__("itertools").permutations(range(3))]
    t = stratified_spearman([(x, y)])
    assert t.min_p_value == pytest.approx(np.mean(np.abs(rhos) >= max(np.abs(rhos)) - 1e-9))
    assert t.p_value == pytest.approx(np.mean(np.abs(rhos) >= abs(t.combined) - 1e-9))


def test_a_proportion_interval_stays_in_the_unit_interval():
    est, (lo, hi) = proportion_estimate([1.0, 0.93], [300, 300])  # two seeds: the t-interval reaches past 1
    assert est.interval()[1] > 1 and hi == 1.0 and 0 <= lo < 0.93
