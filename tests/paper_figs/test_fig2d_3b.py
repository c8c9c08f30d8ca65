"""Figures 2(d) and 3(b) end to end on a tiny configuration: the CLI writes valid documents, claims evaluate."""

from __future__ import annotations

import json

import pytest

import validation.update_leaks as vu
from paper_figs import fig2d, fig3b
from paper_figs._claims import VERDICTS
from paper_figs.__main__ import main
from validation.neural import SOFTMAX_RELEASE

TINY = vu.UpdateLeaksConfig(dataset="digits", n_target=150, n_shadow=150, n_shadow_updates=120,
                            n_target_updates=60, n_test=100, epochs=2, patience=2, batch_size=50, dp_batch_size=10,
                            attack_rounds=2, attack_epochs_per_round=2, betas=(1e-3, 1.0), noise_multipliers=(1.0,),
                            n_seeds=2, roundings=(0.1, 1.0), uniform_noises=(0.1,), queries=(1, 3),
                            update_epsilons=(10.0,), n_utility_updates=2)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_fig2d_and_fig3b_through_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(vu, "QUICK", TINY)
    rc = main(["fig2d", "fig3b", "--quick", "--out", str(tmp_path), "--device", "cpu", "--threads", "1"])
    assert rc == 0
    docs = {}
    for name in ("fig2d", "fig3b"):
        doc = docs[name] = json.loads((tmp_path / f"{name}.json").read_text())
        assert doc["figure"] == name and (tmp_path / doc["png"]).stat().st_size > 0
        assert [s["defense"] for s in doc["series"]] == ["undefended", "VIB", vu.VIB_MEAN, "DP-SGD", vu.DP_UPDATE,
                                                         SOFTMAX_RELEASE, "rounding", "uniform noise"]
        by = {s["defense"]: s for s in doc["series"]}
        assert by["DP-SGD"]["protects"].startswith("the training set") and "update record" in by[vu.DP_UPDATE]["protects"]
        for s in doc["series"]:  # every setting is attacked at every query budget
            for q in s["points"]:
                assert {"attack_q1", "attack_q3"} <= set(q) and q["attack_q1"] == q["attack"]
                assert q["trials"]["attack"] == [TINY.n_target_updates] * TINY.n_seeds
                if q["queries_identical"]:
                    assert q["attack_q3"] == q["attack_q1"]
        assert not by["VIB"]["points"][0]["queries_identical"] and by[vu.VIB_MEAN]["points"][0]["queries_identical"]
        upd = by[vu.DP_UPDATE]["points"][0]
        assert upd["knob"] == 10.0 and upd["eps_update_replace"] == 10.0 and 0 < upd["eps_add_remove"] < 10.0
        assert {"utility_before_update", "noise_multiplier", "ece_15", "ece_100", "brier", "nll"} <= set(upd)
        assert doc["queries"] == [1, 3]
        rounding = doc["series"][6]
        assert rounding["knob"] == "r" and [p["knob"] for p in rounding["points"]] == [0.1, 1.0]
        assert {"utility_ci", "attack_ci", "ece_ci", "per_seed"} <= set(rounding["points"][1])
        assert doc["series"][1]["knob"] == "beta" and [p["knob"] for p in doc["series"][1]["points"]] == [1e-3, 1.0]
        p = doc["series"][3]["points"][0]
        assert {"utility", "utility_ci", "attack", "attack_ci", "ece", "ece_ci", "runs", "eps_rdp", "eps_prv",
                "per_seed"} <= set(p)
        assert doc["baseline"]["chance"] == 0.1 and 0 <= doc["baseline"]["attack_prior"] <= 1
        assert "10 equal-width bins" in doc["metrics"]["ece"]
        assert {"within_test_accuracy_points", "undefended", "VIB", "DP-SGD", "vib_ece_below_dp", SOFTMAX_RELEASE,
                "rounding", "uniform noise"} <= set(doc["summary"])
        test = doc["summary"]["vib_ece_below_dp_test"]  # paired over the seeds, never read off two intervals
        if test is not None:
            vib, dp = doc["summary"]["VIB"]["per_seed"]["ece"], doc["summary"]["DP-SGD"]["per_seed"]["ece"]
            per = [a - b for a, b in zip(vib, dp)]
            assert test["mean_difference"] == pytest.approx(sum(per) / len(per)) and test["seeds"] == len(per)
            assert (test["ci"] is None) == (doc["summary"]["vib_ece_significantly_below_dp"] is None)
        assert doc["settings"]["dataset"] == "digits" and doc["run"]["quick"] is True
        assert (tmp_path / "update_leaks_sweep_quick.json").is_file()
    assert docs["fig3b"]["plot"] == {"x": "attack", "y": "ece"}
    assert "fig3b:" in capsys.readouterr().out
    for module in (fig2d, fig3b):
        for c in module.CLAIMS:
            assert c["figure"] == module.NAME and c["quote"]
            v = c["evaluate"](docs[module.NAME])
            assert v["verdict"] in VERDICTS and v["measurement"]
            if c["id"].endswith("output-perturbation"):  # evaluated on the figure's own series, not skipped
                # (tiny models: a perturbation may cost more than 0.05 of utility; then nothing is in range to test)
                assert v["verdict"] != "not measured" or "no setting within 0.05" in v["measurement"], v
                assert v["verdict"] in ("no signal", "not measured") or "unperturbed softmax release" in v["measurement"]
    assert {c["id"] for m in (fig2d, fig3b) for c in m.CLAIMS} >= {"fig2d-output-perturbation",
                                                                    "fig3b-output-perturbation"}

