"""paper_figs.report and the claim verdicts: built from figure JSON only, every claim with a verdict."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paper_figs import FIGURES
from paper_figs._claims import VERDICTS, compare_tradeoffs, vulnerability_grows_with_utility
from paper_figs.report import build_report, collect

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "data" / "report"  # trimmed JSON of a real `all --quick` run


@pytest.fixture
def figures_dir(tmp_path) -> Path:
    out = tmp_path / "results"
    shutil.copytree(FIXTURES, out)
    return out


def test_the_report_builds_from_the_json_and_every_claim_has_a_verdict(figures_dir):
    data = collect(figures_dir)
    present = {p.stem for p in FIXTURES.glob("*.json")}
    assert data["claims"], "no claims collected"
    for row in data["claims"]:
        assert row["verdict"] in VERDICTS and row["quote"] and row["measurement"], row
        if row["figure"] in present:  # a figure that was run must be evaluated, not skipped
            assert row["verdict"] != "not measured", row
            assert row["command"].startswith("python -m paper_figs ")
        else:
            assert row["verdict"] == "not measured" and "not run" in row["measurement"]
    with_claims = {name for name, module in FIGURES.items() if getattr(importlib.import_module(module), "CLAIMS", [])}
    assert present <= with_claims  # every figure of the fixture run states claims
    assert {r["figure"] for r in data["claims"]} == with_claims  # a figure not run still has its rows
    html_path, md_path = build_report(figures_dir)
    html, md = html_path.read_text(), md_path.read_text()
    assert html.count("<tr>") >= len(data["claims"]) and "Theorem 1" in html and "id='fig2a'" in html
    assert md.count("\n| ") >= len(data["claims"]) and "**refuted**" in md  # Theorem 1 as printed is false


def test_theory_verdicts_are_the_exact_ones(figures_dir):
    rows = {r["id"]: r for r in collect(figures_dir)["claims"]}
    assert rows["theorem1"]["verdict"] == "refuted" and "Adv^SEM = 4/9" in rows["theorem1"]["measurement"]
    assert rows["theorem2-tight"]["verdict"] == "refuted" and "0.8808 vs 0.8161" in rows["theorem2-tight"]["measurement"]
    assert rows["o-1-over-n"]["verdict"] == "reproduced"


def test_the_auditors_table_lists_eps_lower_next_to_the_declared_eps(figures_dir):
    audit = collect(figures_dir)["audit"]
    assert audit and all(a["eps_lower"] <= a["eps"] and not a["flag"] for a in audit)


def test_report_rebuilds_without_recomputing_through_the_cli(figures_dir):
    r = subprocess.run([sys.executable, "-m", "paper_figs", "report", "--out", str(figures_dir)], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (figures_dir / "report.html").is_file() and (figures_dir / "report.md").is_file()
    assert not (figures_dir / "fig2a.quick.runs.json").exists()  # nothing was computed


def test_a_missing_figure_is_not_measured_and_a_broken_one_is_refused(figures_dir):
    (figures_dir / "fig2a.json").unlink()
    rows = [r for r in collect(figures_dir)["claims"] if r["figure"] == "fig2a"]
    assert rows and all(r["verdict"] == "not measured" for r in rows)
    (figures_dir / "fig2b.json").write_text("{not json")
    with pytest.raises(ValueError, match="fig2b.json is not a figure document"):
        collect(figures_dir)


def _doc(ours, theirs):
    def series(name, pts):
        return {"defense": name, "knob": "k", "points": [
            {"knob": i, "utility": u, "attack_test": a, "attack_test_ci": [a - h, a + h]}
            for i, (u, a, h) in enumerate(pts)]}
    return {"series": [series("MID", ours), series("DP", theirs)]}


@pytest.mark.parametrize("ours, theirs, expected", [
    # MID lower attack at every utility level, intervals apart
    ([(0.5, 0.2, 0.01), (0.8, 0.3, 0.01)], [(0.5, 0.4, 0.01), (0.8, 0.5, 0.01)], "reproduced"),
    # the other way round
    ([(0.5, 0.4, 0.01), (0.8, 0.5, 0.01)], [(0.5, 0.2, 0.01), (0.8, 0.3, 0.01)], "refuted"),
    # overlapping intervals everywhere
    ([(0.5, 0.3, 0.2), (0.8, 0.4, 0.2)], [(0.5, 0.31, 0.2), (0.8, 0.41, 0.2)], "not reproduced"),
    # better at low utility, worse at high utility
    ([(0.5, 0.1, 0.01), (0.8, 0.6, 0.01)], [(0.5, 0.3, 0.01), (0.8, 0.4, 0.01)], "partly"),
])
def test_compare_tradeoffs_verdicts(ours, theirs, expected):
    assert compare_tradeoffs(_doc(ours, theirs), "MID", "DP")["verdict"] == expected


def test_compare_tradeoffs_compares_at_the_utility_both_reach_and_respects_lower_is_better():
    # DP never reaches utility 0.9: the comparison stops at 0.8, where MID's frontier point is (0.9, 0.35).
    v = compare_tradeoffs(_doc([(0.9, 0.35, 0.01)], [(0.5, 0.2, 0.01), (0.8, 0.5, 0.01)]), "MID", "DP")
    assert "≥ 0.8" in v["measurement"] and v["verdict"] == "partly"
    # With MSE (lower is better) the same numbers mean the opposite frontiers.
    low = compare_tradeoffs(_doc([(0.5, 0.2, 0.01), (0.8, 0.3, 0.01)], [(0.5, 0.4, 0.01), (0.8, 0.5, 0.01)]),
                            "MID", "DP", higher_is_better=False)
    assert "≤ 0.5" in low["measurement"] and low["verdict"] == "reproduced"
    assert compare_tradeoffs({"series": []}, "MID", "DP")["verdict"] == "not measured"


def test_vulnerability_trend_needs_a_real_rank_correlation():
    pts = [{"utility": u, "attack_test": a} for u, a in [(0.1, 0.1), (0.2, 0.2), (0.3, 0.3), (0.4, 0.5), (0.5, 0.6),
                                                          (0.6, 0.7)]]
    assert vulnerability_grows_with_utility({"series": [{"points": pts}]})["verdict"] == "reproduced"
    flipped = [{"utility": p["utility"], "attack_test": 1 - p["attack_test"]} for p in pts]
    assert vulnerability_grows_with_utility({"series": [{"points": flipped}]})["verdict"] == "refuted"


def test_every_registered_figure_module_lists_valid_claims():
    for name, module in FIGURES.items():
        for c in getattr(importlib.import_module(module), "CLAIMS", []):
            assert set(c) == {"id", "figure", "quote", "evaluate"} and callable(c["evaluate"]), (name, c)
            assert c["figure"] == name


def test_fixture_documents_are_figure_json():
    for path in FIXTURES.glob("*.json"):
        doc = json.loads(path.read_text())
        assert doc["figure"] == path.stem
