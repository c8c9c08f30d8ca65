"""Figures 4(a) and 4(b): end to end through the CLI on a tiny configuration; the claims' verdicts."""

from __future__ import annotations

import json

import pytest

import validation.gmi as vg
from paper_figs import FIGURES, NEURAL_FIGURES, fig4a, fig4b
from paper_figs.__main__ import main

TINY = vg.GMIConfig(name="quick", dataset="digits", private_per_class=20, public_limit=64, gan_dim=4, gan_epochs=1,
                    gan_batch_size=32, epochs=1, batch_size=32, patience=1, dp_batch_size=32, eval_epochs=1,
                    attack_iterations=2, attacks_per_identity=1, betas=(0.1,), noise_multipliers=(1.0,), n_seeds=2)
VERDICTS = {"reproduced", "partly", "not reproduced", "refuted", "not measured"}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_fig4a_and_fig4b_through_the_cli(tmp_path, data_home, monkeypatch, capsys):
    assert {"fig4a", "fig4b"} <= set(FIGURES) and {"fig4a", "fig4b"} <= NEURAL_FIGURES
    monkeypatch.setattr(vg, "QUICK", TINY)
    rc = main(["fig4b", "fig4a", "--quick", "--out", str(tmp_path), "--device", "cpu", "--data-home", str(data_home)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "fig4a:" in out and "fig4b:" in out
    b = json.loads((tmp_path / "fig4b.json").read_text())
    assert b["figure"] == "fig4b" and (tmp_path / "fig4b.png").stat().st_size > 0
    assert [s["defense"] for s in b["series"]] == ["undefended", "VIB", "DP-SGD"]
    p = b["series"][2]["points"][0]
    assert {"utility", "utility_ci", "attack", "attack_ci", "attack_acc_top1", "attack_acc_top5",
            "success_any_of_5_restarts", "knn_dist_train", "knn_dist_test", "pixel_mse_identity_mean",
            "eps_rdp", "runs"} <= set(p)
    assert {"confidence_true", "heldout_attack_acc_top1", "heldout_knn_dist_train", "private5_attack_acc_top1"} <= set(p)
    assert p["attack"] == p["attack_acc_top1"] and p["runs"] == 2 and p["trials"]["attack_acc_top1"] == 5
    assert b["baseline"]["chance"] == 0.1 and b["baseline"]["chance_private5"] == 0.2
    assert 0 <= b["baseline"]["attack_prior"] <= 1
    assert {"margin_dp_minus_vib", "closest_pair", "VIB", "DP-SGD", "undefended"} <= set(b["summary"])
    assert b["run"]["command"].startswith("python -m paper_figs fig4b --quick")  # the command that redoes fig4b
    assert [c["id"] for c in b["claims"]] == [c["id"] for c in fig4b.CLAIMS]
    a = json.loads((tmp_path / "fig4a.json").read_text())
    assert (tmp_path / "fig4a.png").stat().st_size > 0
    assert [c["defense"] for c in a["columns"]] == ["undefended", "VIB", "DP-SGD"]
    assert all(0 <= c["utility"] <= 1 for c in a["columns"])
    for doc, module in ((a, fig4a), (b, fig4b)):
        for claim in module.CLAIMS:
            assert claim["figure"] == module.NAME and claim["quote"]
            got = claim["evaluate"](doc)
            assert got["verdict"] in VERDICTS and isinstance(got["measurement"], str)
            assert got["ci"] is None or len(got["ci"]) == 2


def _doc(vib_attack, dp_attack, diffs, *, vib_util=0.95, dp_util=0.96):
    def pt(knob, u, a, **kw):
        return {"knob": knob, "utility": u, "attack_acc_top1": a, "knn_dist_train": 1.0, "knn_dist_test": 1.05, **kw}

    from validation.sweep import mean_ci

    m, lo, hi = mean_ci(diffs)
    diff = {"mean": m, "ci": [lo, hi], "per_seed": diffs}
    und, v = pt(None, 0.99, 0.9), pt(0.1, vib_util, vib_attack)
    d = pt(1.0, dp_util, dp_attack, eps_rdp=3.0, eps_prv=2.5)
    return {"series": [{"defense": "undefended", "points": [und]}, {"defense": "VIB", "points": [v]},
                       {"defense": "DP-SGD", "points": [d]}],
            "summary": {"undefended": und, "VIB": v, "DP-SGD": d, "margin_dp_minus_vib": diff,
                        "closest_pair": {"VIB": v, "DP-SGD": d, "difference_dp_minus_vib": diff}}}


@pytest.mark.parametrize(("diffs", "verdict"), [
    ([0.5, 0.4, 0.45], "reproduced"),       # large and significant
    ([0.05, 0.06, 0.055], "partly"),        # significant but small
    ([0.3, -0.2, 0.1], "not reproduced"),   # interval straddles 0
    ([-0.3, -0.35, -0.4], "refuted"),       # DP-SGD protects better
])
def test_margin_claims_follow_the_paired_interval(diffs, verdict):
    doc = _doc(0.3, 0.3 + sum(diffs) / 3, diffs)
    large = fig4b.CLAIMS[0]["evaluate"](doc)
    assert large["verdict"] == verdict and large["ci"][0] < sum(diffs) / 3 < large["ci"][1]
    assert "ε=3 (RDP) / 2.5 (PRV)" in large["measurement"]
    assert fig4a.CLAIMS[0]["evaluate"](doc)["verdict"] == verdict


def test_margin_claim_is_not_measured_without_a_matched_point():
    doc = _doc(0.3, 0.5, [0.2, 0.2, 0.2])
    doc["summary"]["margin_dp_minus_vib"] = None
    assert fig4b.CLAIMS[0]["evaluate"](doc)["verdict"] == "not measured"


def test_train_test_and_monotonicity_claims():
    doc = _doc(0.3, 0.6, [0.3, 0.3, 0.3])
    assert fig4b.CLAIMS[2]["evaluate"](doc)["verdict"] == "reproduced"  # 5% apart everywhere
    doc["series"][1]["points"][0]["knn_dist_test"] = 1.5
    assert fig4b.CLAIMS[2]["evaluate"](doc)["verdict"] == "not reproduced"
    mono = fig4b.CLAIMS[1]["evaluate"](doc)
    assert mono["verdict"] in VERDICTS and "Spearman" in mono["measurement"]
