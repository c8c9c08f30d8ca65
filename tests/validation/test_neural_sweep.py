"""The faces sweep: one seeded run per (setting, split), resumable, aggregated into the figure schema."""

from __future__ import annotations

import numpy as np
import pytest

from validation.neural import (
    FacesConfig,
    FacesExperiment,
    matched_points,
    run_faces_sweep,
)

#: A tiny but complete sweep: faces averaged to 16×16, two epochs everywhere, two seeds.
TINY = FacesConfig(image_size=16, epochs=2, patience=2, eval_epochs=2, attack_epochs=2, attack_ngf=4,
                   batch_size=40, dp_batch_size=40, betas=(0.1,), noise_multipliers=(1.0,), n_seeds=2)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, data_home):
    out = tmp_path_factory.mktemp("sweep")
    return out, run_faces_sweep(out, quick=True, device="cpu", data_home=data_home, config=TINY, progress=False)


def test_every_run_has_the_metrics_of_its_defense(sweep):
    _, res = sweep
    assert len(res["runs"]) == 3 * TINY.n_seeds
    for key, m in res["runs"].items():
        for name in ("utility", "train_accuracy", "ece", "attack_train", "attack_test"):
            assert 0.0 <= m[name] <= 1.0, (key, name)
        assert m["rmse_train"] > 0 and m["feature_l2_test"] >= 0
        if key.startswith("undefended"):
            assert 0.0 <= m["mean_face_acc_train"] <= 1.0
        if key.startswith("DP-SGD"):
            assert m["eps_rdp"] > 0 and m["eps_prv"] <= m["eps_rdp"] and m["noise_multiplier"] == 1.0


def test_series_follow_the_figure_schema(sweep):
    _, res = sweep
    names = [s["defense"] for s in res["series"]]
    assert names == ["undefended", "VIB", "DP-SGD"]
    p = res["series"][2]["points"][0]
    assert p["knob"] == 1.0 and p["runs"] == 2 and len(p["utility_ci"]) == 2 and "eps_rdp_ci" in p
    assert set(matched_points(res["series"], within=1.0)) == {"undefended", "VIB", "DP-SGD"}


def test_sweep_resumes_without_recomputing(sweep, data_home, monkeypatch):
    out, res = sweep

    def boom(self, setting, split):
        raise AssertionError("recomputed a stored run")

    monkeypatch.setattr(FacesExperiment, "__call__", boom)
    again = run_faces_sweep(out, quick=True, device="cpu", data_home=data_home, config=TINY, progress=False)
    assert again["runs"] == res["runs"]


def test_split_zero_reconstructions_are_saved(sweep):
    out, _ = sweep
    files = sorted(p.name for p in (out / "neural_recon_quick").glob("*.npz"))
    assert files == ["DP-SGD_noise_multiplier=1.npz", "VIB_beta=0.1.npz", "undefended.npz"]
    with np.load(out / "neural_recon_quick" / "undefended.npz") as d:
        assert d["recon"].shape == (TINY.n_show, 1, 16, 16) and d["true"].shape[0] == TINY.n_show


def test_same_seed_same_numbers(data_home):
    cfg = FacesConfig(image_size=16, epochs=1, eval_epochs=1, attack_epochs=1, attack_ngf=4, batch_size=40,
                      n_seeds=1)
    from validation.sweep import Setting

    a = FacesExperiment(cfg, data_home=data_home, device="cpu")(Setting("VIB", "beta", 0.01), 0)
    b = FacesExperiment(cfg, data_home=data_home, device="cpu")(Setting("VIB", "beta", 0.01), 0)
    assert a == b


def test_bad_image_size_is_rejected(data_home):
    with pytest.raises(ValueError, match="image_size"):
        FacesExperiment(FacesConfig(image_size=24), data_home=data_home)
