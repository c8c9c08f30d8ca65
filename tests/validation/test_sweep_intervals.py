"""The intervals of :func:`validation.sweep.aggregate`: Student-t, intersected with [0, 1] for proportions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import t as student_t

from validation.statistics import wilson
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


def _runs(setting, rows):
    return {f"{setting.key}|split={k}": r for k, r in enumerate(rows)}


def test_points_keep_per_run_values_in_split_order_and_trials_are_not_metrics():
    a, b = Setting("MID", "lam", 1.0), Setting("MID", "lam", 2.0)
    runs = {**_runs(a, [{"attack": 0.2, "attack_trials": 50.0, "mse": 1.0}, {"attack": 0.4, "attack_trials": 50.0,
                                                                              "mse": 2.0}]),
            **_runs(b, [{"attack": 0.3, "attack_trials": 50.0, "mse": 3.0}, {"attack": 0.1, "attack_trials": 50.0,
                                                                              "mse": 4.0}])}
    (series,) = aggregate([a, b], 2, runs)
    p, q = series["points"]
    assert p["values"] == {"attack": [0.2, 0.4], "mse": [1.0, 2.0]} and q["values"]["attack"] == [0.3, 0.1]
    assert p["trials"] == {"attack": [50.0, 50.0]} and "attack_trials" not in p and "attack_trials_ci" not in p
    assert p["attack_ci_method"] == "max(t, wilson-pooled)" and p["mse_ci_method"] == "t"


def test_tied_counted_proportions_never_get_a_zero_width_interval():
    s = Setting("VIB", "beta", 0.1)
    (series,) = aggregate([s], 3, _runs(s, [{"attack": 1.0, "attack_trials": 10.0, "other": 0.3}] * 3))
    (p,) = series["points"]
    lo, hi = p["attack_ci"]
    assert hi == 1.0 and lo == pytest.approx(wilson(30, 30)[0]) and lo < 0.9  # 30 trials: not certain
    assert p["other_ci"] == [pytest.approx(0.3), pytest.approx(0.3)]  # no counts: nothing to floor it with


def test_overlapping_splits_get_the_resampled_t_and_fewer_effective_trials():
    s = Setting("AdaSSP", "epsilon", 1.0)
    rng = np.random.default_rng(1)
    rows = [{"mse": float(v), "attack": 0.5, "attack_trials": 200.0} for v in rng.normal(1, 0.1, 10)]
    (plain,) = aggregate([s], 10, _runs(s, rows))[0]["points"]
    (split,) = aggregate([s], 10, _runs(s, rows), test_train_ratio=0.25)[0]["points"]
    width = lambda p, m: p[f"{m}_ci"][1] - p[f"{m}_ci"][0]  # noqa: E731
    assert split["mse_ci_method"] == "resampled-t" and width(split, "mse") / width(plain, "mse") == pytest.approx(
        np.sqrt(3.5), rel=1e-9)
    n_eff = 2000 / 3.5  # 10 splits of 200 trials overlap: 2000 / (1 + 10 / 4) independent trials
    assert split["attack_ci"] == pytest.approx(list(wilson(0.5 * n_eff, n_eff)))
    assert split["attack_ci_method"] == "max(resampled-t, wilson-pooled)"


def test_one_run_has_no_interval_without_counts():
    s = Setting("VIB", "beta", 0.1)
    (p,) = aggregate([s], 1, _runs(s, [{"mse": 2.0, "attack": 0.5, "attack_trials": 40.0}]))[0]["points"]
    assert p["mse_ci"] is None and p["mse_ci_method"].startswith("n/a")
    assert p["attack_ci"] == pytest.approx(list(wilson(20, 40))) and p["attack_ci_method"] == "wilson (one run)"


def test_more_splits_extend_a_store_and_fewer_read_the_first_ones(tmp_path):
    from validation.sweep import run_sweep

    calls = []

    def evaluate(setting, split):
        calls.append(split)
        return {"attack": 0.1 * split, "attack_trials": 10.0}

    s = [Setting("MID", "lam", 1.0)]
    experiment = {"dataset": "toy", "n_seeds": 2}
    run_sweep(s, 2, evaluate, tmp_path / "store.json", experiment, progress=False)
    more = run_sweep(s, 4, evaluate, tmp_path / "store.json", {**experiment, "n_seeds": 4}, progress=False)
    fewer = run_sweep(s, 3, evaluate, tmp_path / "store.json", experiment, progress=False)
    assert calls == [0, 1, 2, 3] and len(more) == 4 and len(fewer) == 3  # nothing computed twice
    with pytest.raises(ValueError, match="other settings"):  # anything else that sets the numbers still counts
        run_sweep(s, 2, evaluate, tmp_path / "store.json", {"dataset": "other"}, progress=False)


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
