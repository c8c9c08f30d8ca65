"""The tree privacy-utility sweep: splits, metrics, resumable store, figure schema."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

import validation.tree as vt
from validation.sweep import Setting

TINY = vt.TreeSweepConfig(max_depth=3, lambdas=(10.0,), epsilons=(100.0,), priority_depths=(0, None))


def test_prf_and_macro_f1_agree_with_sklearn():
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = rng.choice(["Yes", "No"], size=30, p=[0.3, 0.7])
        g = rng.choice(["Yes", "No"], size=30)
        p, r, f = vt.binary_prf(t, g)
        assert p == pytest.approx(precision_score(t, g, pos_label="Yes", zero_division=0))
        assert r == pytest.approx(recall_score(t, g, pos_label="Yes", zero_division=0))
        assert f == pytest.approx(f1_score(t, g, pos_label="Yes", zero_division=0))
        a, b = rng.integers(0, 5, 40).astype(str), rng.integers(0, 4, 40).astype(str)
        assert vt.macro_f1(a, b) == pytest.approx(f1_score(a, b, average="macro", zero_division=0))
    assert vt.binary_prf(["No", "No"], ["No", "No"]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="not of the kind"):
        vt.binary_prf([0, 1, 1], [1, 1, 0])  # category codes scored against "Yes"


def test_splits_are_seeded_disjoint_and_80_20():
    tr, te = vt.split_indices(331, 3, vt.FULL)
    tr2, te2 = vt.split_indices(331, 3, vt.FULL)
    assert np.array_equal(tr, tr2) and len(te) == 66 and len(tr) == 265
    assert not set(tr) & set(te) and len(set(tr) | set(te)) == 331
    assert not np.array_equal(te, vt.split_indices(331, 4, vt.FULL)[1])


def test_sweep_runs_resumes_and_aggregates(tmp_path, data_home, monkeypatch):
    store = tmp_path / "tree.jsonl"
    res = vt.run_tree_sweep(store, data_home=data_home, config=TINY, n_splits=2, progress=False)
    assert len(res.runs) == len(TINY.settings()) * 2
    assert len(store.read_text().splitlines()) == 1 + len(res.runs)  # header + one record per unit
    calls = []
    monkeypatch.setattr(vt, "evaluate_split", lambda *a: calls.append(a) or {})
    again = vt.run_tree_sweep(store, data_home=data_home, config=TINY, n_splits=2, progress=False)
    assert calls == [] and again.runs == res.runs
    series = res.series("map_counts")
    assert [s["defense"] for s in series] == ["ID3 (no defense)", "MID", "DP-ID3", "Priority"]
    for s in series:
        for p in s["points"]:
            assert p["runs"] == 2 and 0 <= p["utility"] <= 1
            for part in ("train", "test"):
                lo, hi = p[f"attack_{part}_ci"]
                assert lo <= p[f"attack_{part}"] <= hi
            assert p["attack_ci"] == p["attack_test_ci"]
    prio_none = [p for p in series[3]["points"] if p["knob"] is None][0]
    assert prio_none["attack_train"] == 0.0  # the tree never tests "cheated", so nothing reveals "Yes"
    base = res.baseline()
    assert base["attack_prior"] == 0.0 and 0 < base["attack_prior_rate"] < 0.5
    assert 0 <= base["attack_known_attributes"] <= 1 and "attack_known_attributes_test_ci" in base
    json.dumps({"series": series, "baseline": base}, allow_nan=False)


def test_evaluate_split_metrics(data_home):
    from defenses.datasets import load_steak_survey

    d = load_steak_survey(data_home)
    out = vt.evaluate_split(d, Setting("ID3 (no defense)", None, None), 0, TINY)
    for prefix in ("nm", "wc", "prior", "mode"):
        for part in ("train", "test"):
            assert 0 <= out[f"{prefix}_{part}_f1"] <= 1
    assert out["mode_train_f1"] == 0.0 and out["n_leaves"] > 1
    assert "known_test_f1" in out
    assert "known_test_f1" not in vt.evaluate_split(d, Setting("MID", "mid_lambda", 1.0), 0, TINY)
    with pytest.raises(ValueError, match="defense"):
        vt.make_model(Setting("Bagging", None, None), TINY, 0)


@pytest.mark.slow
def test_reproduction_claims_over_100_splits(tmp_path, data_home):
    """Undefended: white box ≥ black box > the prior's mode; Priority at the root exposes "cheated"; MID
    (λ = 10) blunts Naive MAP on training respondents. Intervals are 95% over 100 random splits."""
    config = vt.TreeSweepConfig(lambdas=(10.0,), epsilons=(), priority_depths=(0,))
    res = vt.run_tree_sweep(tmp_path / "store", data_home=data_home, config=config, n_splits=100, progress=False)
    nm = {s["defense"]: s["points"][0] for s in res.series("naive_map")}
    wc = {s["defense"]: s["points"][0] for s in res.series("map_counts")}
    base = res.baseline()
    undefended = "ID3 (no defense)"
    assert wc[undefended]["attack_train"] >= nm[undefended]["attack_train"] > base["attack_prior"]
    assert nm[undefended]["precision_train"] > 3 * (57 / 331)
    assert nm["Priority"]["attack_train_ci"][0] > nm[undefended]["attack_train_ci"][1]
    assert nm["MID"]["attack_train_ci"][1] < nm[undefended]["attack_train_ci"][0]
    assert nm["MID"]["utility"] < nm[undefended]["utility"]
