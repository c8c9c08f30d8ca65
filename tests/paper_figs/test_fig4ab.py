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
from paper_figs._claims import VERDICTS, agrees

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
    assert p["attack"] == p["attack_acc_top1"] and p["runs"] == 2 and p["trials"]["attack_acc_top1"] == [5.0, 5.0]
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
            assert got["verdict"] in VERDICTS and isinstance(got["measurement"], str) and got["rule"]
            assert (got["ci"] is None or len(got["ci"]) == 2) and agrees(got)


def _doc(vib_attack, dp_attack, *, vib_util=0.95, dp_util=0.96, knn_test=1.05):
    """A GMI document with three seeds: per-seed attack accuracies (no counts: no binomial floor)."""
    def pt(knob, u, attacks, **kw):
        return {"knob": knob, "utility": u, "utility_ci": [u - 0.01, u + 0.01], "attack_acc_top1": sum(attacks) / 3,
                "knn_dist_train": 1.0, "knn_dist_test": knn_test,
                "values": {"attack_acc_top1": attacks, "utility": [u] * 3, "knn_dist_train": [1.0, 1.01, 0.99],
                           "knn_dist_test": [knn_test, knn_test + 0.01, knn_test - 0.01]}, **kw}

    und, v = pt(None, 0.99, [0.9] * 3), pt(0.1, vib_util, vib_attack)
    d = pt(1.0, dp_util, dp_attack, eps_rdp=3.0, eps_prv=2.5)
    return {"series": [{"defense": "undefended", "knob": None, "points": [und]},
                       {"defense": "VIB", "knob": "beta", "points": [v]},
                       {"defense": "DP-SGD", "knob": "noise_multiplier", "points": [d]}],
            "replication": {"unit": "seeds", "n": 3}, "baseline": {"chance": 0.2},
            "summary": {"undefended": und, "VIB": v, "DP-SGD": d, "closest_pair": {"VIB": v, "DP-SGD": d}}}


@pytest.mark.parametrize(("diffs", "verdict"), [
    ([0.5, 0.4, 0.45], "reproduced"),        # the whole interval beyond the 0.10 margin
    ([0.05, 0.06, 0.055], "not reproduced"),  # significantly better, but significantly by less than 0.10
    ([0.3, -0.2, 0.1], "inconclusive"),       # 0 and a large margin both inside the interval
    ([-0.3, -0.35, -0.4], "refuted"),         # DP-SGD protects better
])
def test_much_better_claim_follows_the_paired_interval(diffs, verdict):
    vib = [0.3, 0.3, 0.3]
    doc = _doc(vib, [a + d for a, d in zip(vib, diffs)])
    got = fig4a.CLAIMS[0]["evaluate"](doc)
    assert got["verdict"] == verdict and got["ci"][0] < sum(diffs) / 3 < got["ci"][1] and agrees(got)
    assert "ε=3 (RDP) / 2.5 (PRV)" in got["measurement"] and got["runs"] == 3


def test_much_better_is_not_measured_without_a_matched_pair():
    doc = _doc([0.3] * 3, [0.5] * 3, vib_util=0.70)
    assert fig4a.CLAIMS[0]["evaluate"](doc)["verdict"] == "not measured"


def test_train_test_closeness_is_an_equivalence_test():
    close = fig4b.CLAIMS[2]["evaluate"](_doc([0.3] * 3, [0.6] * 3))  # 5% apart everywhere, tightly
    assert close["verdict"] == "reproduced" and -0.1 < close["ci"][0] < close["ci"][1] < 0.1
    far = fig4b.CLAIMS[2]["evaluate"](_doc([0.3] * 3, [0.6] * 3, knn_test=1.5))
    assert far["verdict"] == "refuted" and far["ci"][0] > 0.1
