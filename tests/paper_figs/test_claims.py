"""The verdict rules of paper_figs._claims on small synthetic figure documents built to be decisive one way.

Each document is aggregated by :func:`validation.sweep.aggregate` from per-run numbers, as a figure's is.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from paper_figs._claims import (COMMON_RANGE, WITHIN_5_POINTS, agrees, close_everywhere, compare_tradeoffs,
                                not_effective, vulnerability_grows_with_utility)
from paper_figs.report import rests_on
from validation.sweep import Setting, aggregate


def document(curves: dict[str, list[tuple[float, list[float]]]], *, runs: int = 8, unit: str = "seeds",
             ratio: float = 0.0, trials: float = 200, noise: float = 0.01, seed: int = 0,
             baseline: float | None = 0.1, utility_noise: float = 0.002) -> dict:
    """A figure document: per defense a list of (utility, attack per run or one attack for every run)."""
    rng = np.random.default_rng(seed)
    settings, out = [], {}
    for name, pts in curves.items():
        for i, (u, a) in enumerate(pts):
            s = Setting(name, None if name == "undefended" else "k", None if name == "undefended" else float(i))
            settings.append(s)
            per_run = a if isinstance(a, list) else [a + noise * rng.standard_normal() for _ in range(runs)]
            for k, v in enumerate(per_run):
                out[f"{s.key}|split={k}"] = {"utility": u + utility_noise * rng.standard_normal(), "attack": v,
                                             "attack_trials": trials}
    n = len(next(iter(out.values())) and [k for k in out if k.startswith(settings[0].key)])
    doc = {"series": aggregate(settings, n, out, proportions=("utility",), test_train_ratio=ratio),
           "replication": {"unit": unit, "n": n, "test_train_ratio": ratio}, "baseline": {}}
    if baseline is not None:
        doc["baseline"] = {"attack_prior": baseline, "attack_prior_ci": [baseline - 0.01, baseline + 0.01],
                           "values": {"attack_prior": [baseline] * n}}
    return doc


def compare(doc, **kw):
    v = compare_tradeoffs(doc, "MID", "DP", attack="attack", no_model=("attack_prior",), **kw)
    assert agrees(v), v
    return v


UNDEFENDED = [(0.90, 0.60)]


def test_better_inside_the_relevant_range_is_reproduced():
    doc = document({"undefended": UNDEFENDED, "MID": [(0.84, 0.40), (0.88, 0.45), (0.90, 0.55)],
                    "DP": [(0.84, 0.50), (0.88, 0.55), (0.90, 0.60)]})
    v = compare(doc)
    assert v["verdict"] == "reproduced" and v["ci"][1] < 0 and "within 0.05 or 10%" in v["measurement"]
    assert v["runs"] == 8 and v["unit"] == "seeds" and "6 significant wins, 0 losses, 0 ties" in v["detail"]
    assert v["ci_method"] == "max(paired t, binomial floor)"


def test_better_only_outside_the_range_is_not_reproduced():
    # MID is far more private at useless utilities (0.3-0.5); inside the range (>= 0.81) the two are equal
    doc = document({"undefended": UNDEFENDED,
                    "MID": [(0.30, 0.10), (0.50, 0.15), (0.85, 0.50), (0.90, 0.58)],
                    "DP": [(0.30, 0.40), (0.50, 0.45), (0.85, 0.50), (0.90, 0.58)]}, runs=20)
    v = compare(doc)
    assert v["verdict"] == "not reproduced" and v["ci"][0] > -0.05 and v["ci"][0] < 0 < v["ci"][1]
    assert "0.1 − 0.1" not in v["measurement"]
    # the whole curve (every level both reach) would have said otherwise
    assert compare(doc, relevant=COMMON_RANGE)["verdict"] == "reproduced"


def test_a_defense_that_never_reaches_the_range_is_not_measured_never_extrapolated():
    doc = document({"undefended": UNDEFENDED, "MID": [(0.85, 0.40), (0.90, 0.50)], "DP": [(0.50, 0.20)]})
    v = compare(doc)
    assert v["verdict"] == "not measured" and "DP has no setting in the relevant range" in v["measurement"]


def test_underpowered_comparison_is_inconclusive_and_says_how_many_seeds_would_resolve_it():
    doc = document({"undefended": UNDEFENDED, "MID": [(0.85, 0.45), (0.90, 0.55)],
                    "DP": [(0.85, 0.50), (0.90, 0.60)]}, runs=3, noise=0.08, seed=3)
    v = compare(doc)
    assert v["verdict"] == "inconclusive" and v["ci"][0] < -0.05 and v["ci"][1] > 0
    assert v["needed"] > 3 and f"about {v['needed']} seeds would likely resolve it" in rests_on(v)


def test_no_signal_when_the_undefended_attack_is_not_above_the_no_model_attacker():
    doc = document({"undefended": [(0.9, 0.30)], "MID": [(0.85, 0.10), (0.90, 0.20)],
                    "DP": [(0.85, 0.30), (0.90, 0.30)]}, baseline=0.31)
    v = compare(doc)
    assert v["verdict"] == "no signal" and "set aside: the comparison alone would read reproduced" in v["detail"]
    # and a model at chance utility carries no trade-off either
    doc = document({"undefended": [(0.02, 0.60)], "MID": [(0.02, 0.4)], "DP": [(0.02, 0.5)]})
    doc["baseline"]["chance"] = 0.025
    assert compare(doc, chance="chance")["verdict"] == "no signal"


def test_an_undetermined_signal_makes_a_decisive_comparison_inconclusive():
    # the undefended attack (0.60, noisy over 3 seeds) may or may not beat the no-model attacker (0.55)
    doc = document({"undefended": [(0.9, [0.45, 0.75, 0.6])], "MID": [(0.85, 0.30), (0.90, 0.40)],
                    "DP": [(0.85, 0.50), (0.90, 0.60)]}, runs=3, baseline=0.55)
    v = compare(doc)
    assert v["verdict"] == "inconclusive" and "the comparison alone: reproduced" in v["detail"]
    assert v["ci"][0] < 0 < 0.05 < v["ci"][1] and v["ci_of"].startswith("the undefended attack minus")


def test_tied_seeds_keep_the_binomial_floor():
    # every seed gives the same proportions (30 trials each): the seed-level variance is 0, the counts' is not
    tied = {"undefended": [(0.9, [0.6] * 3)], "MID": [(0.85, [0.3] * 3), (0.9, [0.5] * 3)],
            "DP": [(0.85, [0.4] * 3), (0.9, [0.6] * 3)]}
    v = compare(document(tied, trials=10, utility_noise=0.0))
    assert v["ci"][1] - v["ci"][0] > 0.1 and v["verdict"] == "inconclusive"
    assert v["ci_method"] == "max(paired t, binomial floor)"
    # with 1000 trials per seed the same proportions are decisive
    assert compare(document(tied, trials=1000, utility_noise=0.0))["verdict"] == "reproduced"


def test_overlapping_splits_widen_the_interval():
    curves = {"undefended": UNDEFENDED, "MID": [(0.85, 0.47), (0.90, 0.57)], "DP": [(0.85, 0.50), (0.90, 0.60)]}
    seeds = compare(document(curves, runs=10, noise=0.03, seed=1))
    splits = compare(document(curves, runs=10, noise=0.03, seed=1, unit="splits", ratio=0.25))
    w = lambda v: v["ci"][1] - v["ci"][0]  # noqa: E731
    assert w(splits) / w(seeds) == pytest.approx(math.sqrt(3.5), rel=1e-6)  # sqrt((1/10 + 1/4) / (1/10))
    assert seeds["verdict"] == "reproduced" and splits["verdict"] == "inconclusive"
    assert splits["ci_method"] == "max(paired resampled-t, binomial floor)" and splits["unit"] == "splits"


def test_partly_needs_significant_wins_and_losses_and_shows_the_balance():
    doc = document({"undefended": UNDEFENDED, "MID": [(0.82, 0.30), (0.90, 0.70)],
                    "DP": [(0.82, 0.50), (0.90, 0.50)]})
    v = compare(doc)
    assert v["verdict"] == "partly" and "significant wins, 1 losses" in v["detail"]


def test_a_large_margin_claim_needs_the_whole_interval_beyond_the_margin():
    doc = document({"undefended": UNDEFENDED, "MID": [(0.85, 0.45), (0.90, 0.53)],
                    "DP": [(0.85, 0.50), (0.90, 0.60)]})
    assert compare(doc)["verdict"] == "reproduced"
    v = compare(doc, margin=0.10)  # better, but significantly by less than 0.10
    assert v["verdict"] == "not reproduced" and -0.10 < v["ci"][0] < v["ci"][1] < 0


def test_the_frontier_gap_of_a_document_is_the_hand_computation():
    # the hand computation of tests/validation/test_statistics.py, through a document
    doc = document({"MID": [(0.70, [0.30, 0.32, 0.34]), (0.80, [0.50, 0.52, 0.48])],
                    "DP": [(0.72, [0.40, 0.44, 0.42]), (0.78, [0.60, 0.62, 0.64])]}, utility_noise=0.0,
                   trials=1e9, baseline=None)
    v = compare(doc, relevant=COMMON_RANGE)
    assert v["ci"] == pytest.approx([-0.134841, -0.085159], abs=1e-5) and v["verdict"] == "reproduced"


def test_output_perturbation_equivalence_within_the_margin():
    base = {"undefended": [(0.9, 0.6)], "release": [(0.9, 0.6)]}
    small = document({**base, "rounding": [(0.9, 0.59), (0.89, 0.585)], "noise": [(0.88, 0.595)]}, runs=10)
    kw = dict(reference="release", perturbations=("rounding", "noise"), attack="attack", margin=0.05,
              no_model=("attack_prior",))
    v = not_effective(small, **kw)
    assert v["verdict"] == "reproduced" and v["ci"][1] < 0.05 and v["ci_level"] == pytest.approx(0.9) and agrees(v)
    big = document({**base, "rounding": [(0.9, 0.59)], "noise": [(0.88, 0.30)]}, runs=10)
    v = not_effective(big, **kw)
    assert v["verdict"] == "partly" and "noise" in v["ci_of"] and v["ci"][0] > 0.05 and agrees(v)
    # a real but small reduction (0.03) is inside the margin: not effective; 0.045 with noise is undecided
    real = document({**base, "rounding": [(0.9, 0.57)]}, runs=10, noise=0.002, trials=1e6)
    v = not_effective(real, **kw)
    assert v["verdict"] == "reproduced" and 0 < v["ci"][0] < v["ci"][1] < 0.05
    close = document({**base, "rounding": [(0.9, 0.555)]}, runs=4, noise=0.01, trials=1e6, seed=2)
    v = not_effective(close, **kw)
    assert v["verdict"] == "inconclusive" and v["ci"][0] < 0.05 < v["ci"][1] < 0.1
    # seeds that tie: the counts' floor keeps a 0.01 reduction from 3 x 10 trials undecided
    tied = document({**base, "rounding": [(0.9, [0.59] * 3)]} | {"release": [(0.9, [0.6] * 3)],
                                                                   "undefended": [(0.9, [0.6] * 3)]},
                    trials=10, utility_noise=0.0)
    v = not_effective(tied, **kw)
    assert v["verdict"] == "inconclusive" and v["ci"][1] > 0.05 and "binomial floor" in v["ci_method"]
    # no reduction can be read where the release itself is not above the no-model attacker
    assert not_effective(document({**base, "rounding": [(0.9, 0.59)]}, baseline=0.7), **kw)["verdict"] == "no signal"


def test_train_test_closeness_is_an_equivalence_test():
    def doc(gap):
        s = Setting("VIB", "beta", 1.0)
        runs = {f"{s.key}|split={k}": {"train": 1.0 + 0.01 * k, "test": 1.0 + 0.01 * k + gap + 0.005 * (-1) ** k}
                for k in range(6)}
        return {"series": aggregate([s], 6, runs), "replication": {"unit": "seeds", "n": 6}}
    assert close_everywhere(doc(0.01), "test", "train", relative=True, margin=0.1)["verdict"] == "reproduced"
    assert close_everywhere(doc(0.5), "test", "train", relative=True, margin=0.1)["verdict"] == "refuted"


def test_trends_are_tested_within_each_series_never_pooled():
    # each series decreases, but the two series sit one above the other: pooled, utility and attack correlate
    curves = {"A": [(0.1, 0.9), (0.2, 0.8), (0.3, 0.7), (0.4, 0.6)],
              "B": [(0.6, 0.95), (0.7, 0.9), (0.8, 0.85), (0.9, 0.8)],
              "C": [(0.5, 0.99), (0.55, 0.98), (0.6, 0.97), (0.65, 0.96)]}
    v = vulnerability_grows_with_utility(document(curves, noise=0.0, baseline=None), attack="attack")
    assert v["verdict"] == "refuted" and "combined -1.00" in v["measurement"]
    few = vulnerability_grows_with_utility(document({"A": curves["A"][:3], "B": curves["B"][:3]}, noise=0.0,
                                                    baseline=None), attack="attack")
    assert few["verdict"] == "inconclusive" and "smallest p-value possible is 0.0556" in few["detail"]


def test_agrees_catches_a_badge_that_contradicts_its_interval():
    v = compare(document({"undefended": UNDEFENDED, "MID": [(0.85, 0.40), (0.90, 0.50)],
                          "DP": [(0.85, 0.50), (0.90, 0.60)]}))
    assert agrees(v) and not agrees({**v, "verdict": "refuted"}) and not agrees({**v, "ci": [0.01, 0.2]})


def test_the_default_range_is_five_points_or_ten_percent_whichever_is_wider():
    assert WITHIN_5_POINTS.oriented(0.9, 1.0)[0] == pytest.approx(0.81)
    assert WITHIN_5_POINTS.oriented(0.3, 1.0)[0] == pytest.approx(0.25)


def test_settings_too_uncertain_to_place_make_the_row_inconclusive_not_unmeasured():
    # DP's only setting in the range has test accuracies 0.69 and 0.99 on two seeds: it cannot anchor a level
    doc = document({"undefended": [(0.9, 0.6)], "MID": [(0.85, 0.40), (0.90, 0.50)], "DP": [(0.30, 0.10)]}, runs=2)
    p = next(s for s in doc["series"] if s["defense"] == "DP")["points"]
    noisy = dict(p[0], utility=0.84, utility_ci=[0.2, 1.0], values={**p[0]["values"], "utility": [0.69, 0.99]})
    doc["series"][-1]["points"] = [p[0], noisy]
    v = compare(doc)
    assert v["verdict"] == "inconclusive" and "wider than half the axis" in v["measurement"]
    doc["series"][-1]["points"] = [p[0]]  # without it, the grid simply does not reach the range
    assert compare(doc)["verdict"] == "not measured"
