"""Figures 1, 2(c) and 3(a) end to end on a tiny configuration (schema, files, CLI)."""

from __future__ import annotations

import json

import pytest

import validation.neural as vn
from paper_figs import fig1
from paper_figs.__main__ import main

TINY = vn.FacesConfig(image_size=16, epochs=1, patience=1, eval_epochs=1, attack_epochs=1, attack_ngf=4,
                      batch_size=40, dp_batch_size=40, betas=(1e-3, 0.1), noise_multipliers=(1.0,), n_seeds=2)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_fig2c_and_fig3a_through_the_cli(tmp_path, data_home, monkeypatch, capsys):
    monkeypatch.setattr(vn, "QUICK", TINY)
    rc = main(["fig2c", "fig3a", "--quick", "--out", str(tmp_path), "--device", "cpu",
               "--data-home", str(data_home)])
    assert rc == 0
    for name in ("fig2c", "fig3a"):
        doc = json.loads((tmp_path / f"{name}.json").read_text())
        assert doc["figure"] == name and (tmp_path / f"{name}.png").stat().st_size > 0
        assert [s["defense"] for s in doc["series"]] == ["undefended", "VIB", "DP-SGD"]
        assert doc["series"][1]["knob"] == "beta" and len(doc["series"][1]["points"]) == 2
        p = doc["series"][2]["points"][0]
        assert {"utility", "utility_ci", "attack_train", "attack_ci", "runs", "ece", "eps_rdp"} <= set(p)
        assert "attack_test" not in p  # the official roles: the held-out images are the attacker's own
        assert doc["baseline"]["chance"] == 1 / 40 and 0 <= doc["baseline"]["attack_prior"] <= 1
        assert set(doc["summary"]) == {"within_test_accuracy_points", "undefended", "VIB", "DP-SGD"}
        # the quick tag, what the seeds re-draw, every interval's method and the per-seed values
        assert doc["settings"]["quick"] is True and doc["replication"]["n"] == 2
        # official roles: 5 training and 5 test images per identity (the test images are the attacker's)
        assert doc["replication"]["test_train_ratio"] == pytest.approx(5 / 5)
        assert p["attack_train_ci_method"] == "max(resampled-t, wilson-pooled)" and len(p["values"]["attack_train"]) == 2
        assert p["trials"]["attack_train"] == [200.0, 200.0] and doc["deviations"]
    assert (tmp_path / "fig2c_reconstructions.png").stat().st_size > 0
    assert "fig3a:" in capsys.readouterr().out


def test_fig1_shows_both_prongs(tmp_path, data_home, monkeypatch):
    monkeypatch.setitem(fig1.CONFIGS, "quick", {"betas": [1e-4, 1.0], "epochs": 2, "patience": 2,
                                                "draws_a": 3, "draws_b": 50})
    path = fig1.make(tmp_path, quick=True, device="cpu", data_home=data_home, seeds=2)
    doc = json.loads(path.read_text())
    pts = doc["series"][0]["points"]
    assert [p["knob"] for p in pts] == [1e-4, 1.0] and len(pts[0]["values"]["a_spread"]) == 2
    assert pts[0]["a_spread"] == pytest.approx(sum(pts[0]["values"]["a_spread"]) / 2)
    assert len(pts[0]["a_label_output"]) == 3 * 5 and len(pts[0]["b_label_output"]) == 50
    assert pts[1]["kl_nats"] < pts[0]["kl_nats"]  # the regulariser shrinks I(X; Z)'s bound
    assert (tmp_path / "fig1.png").stat().st_size > 0
