"""Figure 2(a): the command line writes fig2a.json (docs/figures.md schema) and a readable fig2a.png."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import paper_figs.fig2a as fig2a
from paper_figs.__main__ import main

TINY = {"n_splits": 2, "mid_lambdas": (2.0,), "epsilons": (0.3, 300.0), "test_size": 0.8}


def _check_document(doc, n_splits):
    assert doc["figure"] == "fig2a" and doc["title"] and "IWPC" in doc["dataset"]
    assert doc["metrics"]["utility"].startswith("MSE") and "accuracy" in doc["metrics"]["attack"]
    assert doc["settings"]["n_splits"] == n_splits
    assert doc["settings"]["calibration"] == "analytic"  # AdaSSP (ε, δ)-DP at every ε of the grid
    names = [s["defense"] for s in doc["series"]]
    assert names == ["undefended", "MID", "AdaSSP"]
    for s in doc["series"]:
        for p in s["points"]:
            assert {"knob", "utility", "utility_ci", "attack_train", "attack_test", "attack_ci", "runs"} <= set(p)
    art = {s["defense"]: s for s in doc["art_series"]}  # ART's black box on the same models
    assert list(art) == names and [p["knob"] for p in art["AdaSSP"]["points"]] == [0.3, 300.0]
    assert art["undefended"]["points"][0]["attack_test"] > 0.95  # it sees f(x_K, v) of the target itself
    b = doc["baseline"]
    assert 0.3 < b["attack_prior"] < 0.4 and len(b["attack_prior_ci"]) == 2
    assert b["attack_no_model"] == b["attack_ideal"] and len(b["values"]["attack_no_model"]) == n_splits
    assert "utility_chance" in b and b["utility_chance"] > doc["series"][0]["points"][0]["utility"]
    for key in ("series", "assisted_series"):
        for s in doc[key]:
            for p in s["points"]:
                gains = [a - f for a, f in zip(p["values"]["attack_test"] if key == "series" else
                                               p.get("values", {}).get("assisted_test", []),
                                               b["values"]["attack_no_model"])]
                assert p["gain_test"] == pytest.approx(p["attack_test"] - b["attack_no_model"], abs=1e-12)
                if gains:
                    assert p["gain_test"] == pytest.approx(sum(gains) / n_splits, abs=1e-12)
                assert "gain_test_ci" in p and "resampled" in p["gain_test_ci_method"]
    summary = doc["summary"]
    assert summary["undefended_mse"] == doc["series"][0]["points"][0]["utility"]
    for name in ("MID", "AdaSSP"):
        for tol in ("5", "25"):
            entry = summary[f"{name}@mse+{tol}%"]
            assert entry is None or entry["utility"] <= (1 + int(tol) / 100) * summary["undefended_mse"]


def test_cli_writes_json_and_png(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(fig2a.CONFIGS, "quick", TINY)
    assert main(["fig2a", "--quick", "--out", str(tmp_path)]) == 0
    assert "fig2a" in capsys.readouterr().out
    doc = json.loads((tmp_path / "fig2a.json").read_text())
    _check_document(doc, 2)
    png = (tmp_path / "fig2a.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert (tmp_path / "fig2a.quick.runs.json").exists()
    # A second run resumes from the per-split store and reproduces the same numbers.
    fig2a.make(tmp_path, quick=True)
    assert json.loads((tmp_path / "fig2a.json").read_text())["series"] == doc["series"]
    # --seeds 3 extends the store by one split per setting; the first two splits are read, not recomputed
    assert main(["fig2a", "--quick", "--seeds", "3", "--out", str(tmp_path)]) == 0
    more = json.loads((tmp_path / "fig2a.json").read_text())
    assert more["replication"] == {**doc["replication"], "n": 3} and more["settings"]["n_splits"] == 3
    mid, mid3 = doc["series"][1]["points"][0], more["series"][1]["points"][0]
    assert mid3["values"]["attack_test"][:2] == mid["values"]["attack_test"] and mid3["runs"] == 3
    assert mid3["attack_test_ci_method"] == "max(resampled-t, wilson-pooled)"
    assert "--seeds 3" in more["run"]["command"]


def test_plot_draws_every_series_with_labels_and_legend(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    captured = {}
    monkeypatch.setattr(plt, "close", lambda fig: captured.setdefault("fig", fig))
    point = {"knob": 1.0, "utility": 1.1, "utility_ci": [1.0, 1.2], "attack_train": 0.5, "attack_test": 0.5,
             "attack_train_ci": [0.45, 0.55], "attack_test_ci": [0.45, 0.55], "runs": 3}
    doc = {"settings": {"n_splits": 3, "delta": 1e-6, "calibration": "analytic"},
           "series": [{"defense": "undefended", "knob": None, "points": [{**point, "knob": None}]},
                      {"defense": "MID", "knob": "mid_lambda", "points": [point]},
                      {"defense": "AdaSSP", "knob": "epsilon", "points": [point]}],
           "art_series": [{"defense": "MID", "knob": "mid_lambda", "points": [point]}],
           "baseline": {"attack_prior": 0.37, "attack_prior_ci": [0.36, 0.38],
                        "attack_known_attributes": 0.6, "attack_known_attributes_ci": [0.59, 0.61],
                        "attack_no_model": 0.62, "attack_no_model_ci": [0.6, 0.64]}}
    fig2a.plot(doc, tmp_path / "f.png")
    ax = captured["fig"].axes[0]
    assert "MSE" in ax.get_xlabel() and "accuracy" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"MID (test)", "MID (train)", "AdaSSP (test)", "undefended OLS (test)", "prior only (no model)",
            "MID: ART black box (test)"} <= set(labels)


@pytest.mark.slow
def test_quick_figure_from_the_command_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "paper_figs", "fig2a", "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "fig2a.json").read_text())
    _check_document(doc, 10)
    undefended = doc["series"][0]["points"][0]
    assert undefended["attack_test_ci"][0] > doc["baseline"]["attack_prior_ci"][1]
    assert np.isfinite(doc["summary"]["undefended_mse"])
