"""The faces sweep: one seeded run per (setting, split), resumable, aggregated into the figure schema."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from validation.neural import (
    FacesConfig,
    FacesExperiment,
    make_target,
    matched_points,
    run_faces_sweep,
)
from validation.sweep import Setting

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
        for name in ("utility", "train_accuracy", "ece", "ece_100", "attack_train"):
            assert 0.0 <= m[name] <= 1.0, (key, name)
        assert 0.0 <= m["brier"] <= 2.0 and m["nll"] >= 0.0
        # official roles: the attacker learns from the test images and inverts the training images only
        assert "attack_test" not in m and m["attack_train_trials"] == 40 * TINY.n_train
        assert m["rmse_train"] > 0 and m["feature_l2_train"] >= 0
        # one released form chosen per run (the logits, their softmax or its log)
        assert sum(m[f"attack_input_{form}"] for form in ("logits", "softmax", "log_softmax")) == 1.0
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
    a = FacesExperiment(cfg, data_home=data_home, device="cpu")(Setting("VIB", "beta", 0.01), 0)
    b = FacesExperiment(cfg, data_home=data_home, device="cpu")(Setting("VIB", "beta", 0.01), 0)
    assert a == b


def test_bad_image_size_is_rejected(data_home):
    with pytest.raises(ValueError, match="image_size"):
        FacesExperiment(FacesConfig(image_size=24), data_home=data_home)


def test_roles_official_attacker_learns_from_the_test_images_auxiliary_from_its_own(data_home):
    official = FacesExperiment(TINY, data_home=data_home, device="cpu")
    sp = official.split(0)
    np.testing.assert_array_equal(official.attacker_rows(sp), sp.test)
    assert list(official.attacked_parts(sp)) == ["train"] and len(sp.aux) == 0
    aux_cfg = FacesConfig(**{**TINY.__dict__, "roles": "auxiliary", "n_test": 2, "n_aux": 3})
    aux = FacesExperiment(aux_cfg, data_home=data_home, device="cpu")
    sp = aux.split(0)
    np.testing.assert_array_equal(aux.attacker_rows(sp), sp.aux)
    assert not set(sp.aux) & set(sp.test) and not set(sp.aux) & set(sp.train)
    assert list(aux.attacked_parts(sp)) == ["train", "test"]
    m = aux(Setting("undefended", None, None), 0).value
    assert 0 <= m["attack_test"] <= 1 and m["attack_test_trials"] == 80
    with pytest.raises(ValueError, match="roles"):
        FacesExperiment(FacesConfig(roles="aux"), data_home=data_home)
    with pytest.raises(ValueError, match="n_aux"):
        FacesExperiment(FacesConfig(roles="auxiliary", n_aux=0), data_home=data_home)


def test_a_probability_release_is_attacked_through_its_better_form(data_home, monkeypatch):
    from defenses import output
    from defenses.neural import KnowledgeAlignmentAttack

    ex = FacesExperiment(TINY, data_home=data_home, device="cpu")
    sp = ex.split(0)
    X, y = ex.data.data, ex.data.target
    model = output.round_confidences(0.1).wrap(make_target(Setting("undefended", None, None), TINY, 0, "cpu"))
    model.fit(X[sp.train], y[sp.train])
    scores = {}
    fit = KnowledgeAlignmentAttack.fit

    def recording(self, *a, **k):
        out = fit(self, *a, **k)
        scores[self.input_transform] = min(h["val_mse"] for h in self.history_)
        return out

    monkeypatch.setattr(KnowledgeAlignmentAttack, "fit", recording)
    attack, form = ex._attack(model, X[ex.attacker_rows(sp)], perturbed=True, split=0)
    assert set(scores) == {"softmax", "log_softmax"} and form == min(scores, key=scores.get)
    assert attack.input_transform == form
    # a trained defense releases its logits: everything computed from them is open to the attacker
    scores.clear()
    attack, form = ex._attack(model.estimator_, X[ex.attacker_rows(sp)], perturbed=False, split=0)
    assert set(scores) == {"logits", "softmax", "log_softmax"} and form == min(scores, key=scores.get)
    assert attack.input_transform == form
    scores.clear()
    official = FacesExperiment(replace(TINY, strongest_form=False), data_home=data_home, device="cpu")
    _, form = official._attack(model.estimator_, X[ex.attacker_rows(sp)], perturbed=False, split=0)
    assert form == "logits" and set(scores) == {"logits"}  # the official attack: the logits only
