"""Figures 2(b) and 4(c): JSON schema (docs/figures.md), PNG, shared resumable sweep, CLI."""

from __future__ import annotations

import json

import pytest

import paper_figs.fig2b as fig2b
import paper_figs.fig4c as fig4c
from paper_figs.__main__ import main
from validation.tree import TreeSweepConfig

TINY = TreeSweepConfig(max_depth=3, lambdas=(1.0, 100.0), epsilons=(100.0,), priority_depths=(0, None))


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(fig2b.CONFIGS, True, TINY)
    monkeypatch.setitem(fig2b.SPLITS, True, 2)


def test_both_figures_share_one_sweep_and_follow_the_schema(tmp_path, data_home, tiny, monkeypatch):
    p2 = fig2b.make(tmp_path, quick=True, device="cpu", data_home=data_home)
    import validation.tree as vt

    monkeypatch.setattr(vt, "evaluate_split", lambda *a: pytest.fail("fig4c must reuse fig2b's runs"))
    p4 = fig4c.make(tmp_path, quick=True, device="cpu", data_home=data_home)
    for path, name in ((p2, "fig2b"), (p4, "fig4c")):
        doc = json.loads(path.read_text())
        assert doc["figure"] == name and (tmp_path / f"{name}.png").stat().st_size > 10_000
        assert {"title", "dataset", "settings", "series", "baseline", "metrics"} <= set(doc)
        assert "attack_prior" in doc["baseline"] and "attack_prior_ci" in doc["baseline"]
        defenses = {s["defense"]: s for s in doc["series"]}
        assert set(defenses) == {"ID3 (no defense)", "MID", "DP-ID3", "Priority"}
        assert [p["knob"] for p in defenses["MID"]["points"]] == [1.0, 100.0]
        for s in doc["series"]:
            for p in s["points"]:
                assert {"knob", "utility", "utility_ci", "attack_train", "attack_test", "attack_ci", "runs"} <= set(p)
        art = {s["defense"]: s for s in doc["art_series"]}  # ART's white-box attack on the same trees
        assert set(art) == set(defenses) and all(0 <= p["attack_test"] <= 1 for s in art.values() for p in s["points"])
        assert [p["utility"] for p in art["MID"]["points"]] == [p["utility"] for p in defenses["MID"]["points"]]
    d2, d4 = json.loads(p2.read_text()), json.loads(p4.read_text())
    assert d2["series"][0]["points"][0]["utility"] == d4["series"][0]["points"][0]["utility"]
    assert d2["settings"]["attack"] == "naive_map" and d4["settings"]["attack"] == "map_counts"
    for doc in (d2, d4):
        assert_gain_over_the_no_model_attacker(doc, n_splits=2)
    assert d2["settings"]["model_assisted"] == "assisted_black_box" and d4["settings"]["model_assisted"] == (
        "assisted_white_box")


def assert_gain_over_the_no_model_attacker(doc, n_splits):
    """The contract of every attribute-inference figure (docs/figures.md): the best no-model attacker in
    ``baseline`` with its interval and per-run values, the majority-class utility, and on every point of
    every attack series the gain over that attacker on the same split, with its interval."""
    b = doc["baseline"]
    assert len(b["values"]["attack_no_model"]) == n_splits and 0 <= b["attack_no_model"] <= 1
    assert b["attack_no_model"] == pytest.approx(sum(b["values"]["attack_no_model"]) / n_splits)
    assert len(b["attack_no_model_ci"]) == 2 and "resampled" in b["attack_no_model_ci_method"]
    assert "utility_chance" in b and len(b["values"]["utility_chance"]) == n_splits
    for key in ("series", "assisted_series"):
        for s in doc[key]:
            for p in s["points"]:
                gains = [a - f for a, f in zip(p["values"]["attack_test"], b["values"]["attack_no_model"])]
                assert p["values"]["gain_test"] == pytest.approx(gains, abs=1e-12)
                assert p["gain_test"] == pytest.approx(sum(gains) / n_splits, abs=1e-12)
                if p["gain_test_ci"] is None:  # no interval only when every split gives the same gain
                    assert len(set(gains)) == 1 and p["gain_test_ci_method"].startswith("n/a")
                else:
                    assert "resampled" in p["gain_test_ci_method"]
                    lo, hi = p["gain_test_ci"]
                    assert lo < p["gain_test"] < hi


def test_the_affairs_figures_run_on_the_second_survey(tmp_path, tiny):
    import paper_figs.fig2b_affairs as fig2b_affairs
    import paper_figs.fig4c_affairs as fig4c_affairs

    for module in (fig2b_affairs, fig4c_affairs):
        doc = json.loads(module.make(tmp_path, quick=True, device="cpu").read_text())
        assert doc["figure"] == module.NAME and "affairs" in doc["dataset"]
        assert "had an affair" in doc["metrics"]["attack"] and "marriage" in doc["metrics"]["utility"]
        assert_gain_over_the_no_model_attacker(doc, n_splits=2)
        assert [c["figure"] for c in module.CLAIMS] == [module.NAME] * len(module.CLAIMS)
    assert (tmp_path / "tree_sweep_affairs_quick.jsonl").is_file()


def test_cli_reports_a_missing_dataset_with_exit_2(tmp_path, tiny, capsys, no_data):
    assert main(["fig2b", "--quick", "--out", str(tmp_path), "--data-home", str(tmp_path)]) == 2
    assert "steak-risk-survey.csv" in capsys.readouterr().err
