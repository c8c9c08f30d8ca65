"""The intervals of :func:`validation.sweep.aggregate`: Student-t, intersected with [0, 1] for proportions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import t as student_t

from validation.sweep import Setting, aggregate, in_unit_interval, mean_ci


def test_mean_ci_is_the_student_t_interval():
    v = [0.2, 0.5, 0.6]
    half = student_t.ppf(0.975, 2) * np.std(v, ddof=1) / np.sqrt(3)
    assert mean_ci(v) == pytest.approx((np.mean(v), np.mean(v) - half, np.mean(v) + half), abs=1e-15)
    assert mean_ci([0.7]) == (0.7, 0.7, 0.7)


def test_an_accuracy_interval_stays_in_the_unit_interval_and_an_mse_interval_does_not_move():
    s = Setting("VIB", "beta", 0.01)
    runs = {f"{s.key}|split=0": {"attack": 0.99, "utility": 1.0, "mse": 0.99},
            f"{s.key}|split=1": {"attack": 0.40, "utility": 0.5, "mse": 0.40}}
    free = mean_ci([0.99, 0.40])
    assert free[1] < 0 and free[2] > 1  # two splits far apart: the t-interval leaves [0, 1] on both sides
    (point,) = aggregate([s], 2, runs, proportions=("utility",))[0]["points"]
    assert point["attack_ci"] == [0.0, 1.0] and point["utility_ci"] == [0.0, 1.0]
    assert point["mse_ci"] == pytest.approx(list(free[1:]))  # not a proportion: the plain interval
    assert point["attack"] == pytest.approx(0.695)  # the mean is never moved
    (unlisted,) = aggregate([s], 2, runs)[0]["points"]
    assert unlisted["utility_ci"][1] > 1  # utility is a proportion only where the sweep says so


@pytest.mark.parametrize("name, expected", [
    ("attack_test", True), ("art_attack_train", True), ("attack_acc_top5", True), ("ece", True),
    ("auroc_train", True), ("success_any_of_5_restarts", True), ("target_confidence", True),
    ("train_accuracy", True), ("utility", False), ("knn_dist_train", False), ("pixel_mse_identity_mean", False),
    ("eps_rdp", False), ("feature_l2_first", False),
])
def test_which_metrics_are_proportions(name, expected):
    assert in_unit_interval(name) is expected


def test_corrected_resampled_t_inflates_the_variance_for_overlapping_splits():
    from scipy.stats import t as student_t

    from validation.sweep import corrected_resampled_t

    v = np.array([0.1, 0.3, 0.2, 0.4, 0.25])
    m, lo, hi = corrected_resampled_t(v, 0.2)
    half = student_t.ppf(0.975, 4) * np.sqrt((1 / 5 + 0.2 / 0.8) * v.var(ddof=1))  # Nadeau & Bengio (2003)
    assert m == pytest.approx(0.25) and (lo, hi) == pytest.approx((m - half, m + half), rel=1e-12)
    plain = student_t.ppf(0.975, 4) * v.std(ddof=1) / np.sqrt(5)
    assert hi - m > plain  # wider than the plain t-interval
    for degenerate in ([0.3], [0.1, 0.1, 0.1]):  # one split, or no variation: no interval, never zero width
        m, lo, hi = corrected_resampled_t(degenerate, 0.2)
        assert np.isnan(lo) and np.isnan(hi) and m == pytest.approx(degenerate[0])
    with pytest.raises(ValueError, match="test_fraction"):
        corrected_resampled_t(v, 1.0)
