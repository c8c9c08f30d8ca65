"""The Update-Leaks sweep: data roles, one seeded run per (setting, seed), resumable, figure schema."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from validation.engine import SerialExecutor, Unit
from validation.neural import SOFTMAX_RELEASE
from validation.sweep import Setting
from validation.update_leaks import (
    DP_UPDATE,
    QUICK,
    VIB_MEAN,
    UpdateLeaksConfig,
    UpdateLeaksExperiment,
    matched_points,
    run_update_leaks_sweep,
    split_roles,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: A tiny but complete sweep on the 8×8 digits: two epochs everywhere, one round of two attack epochs; the
#: VIB with its mean latent, one private update step, one rounding and one noise level of the undefended CNN's
#: released probabilities; query budgets 1 and 3.
TINY = UpdateLeaksConfig(dataset="digits", n_target=150, n_shadow=150, n_shadow_updates=120, n_target_updates=60,
                         n_test=100, epochs=2, patience=2, batch_size=50, dp_batch_size=10, attack_rounds=1,
                         attack_epochs_per_round=2, betas=(0.1,), noise_multipliers=(1.0,), n_seeds=2,
                         roundings=(0.3,), uniform_noises=(0.1,), queries=(1, 3), update_epsilons=(10.0,),
                         n_utility_updates=2)
DEFENSES = ["undefended", "VIB", VIB_MEAN, "DP-SGD", DP_UPDATE, SOFTMAX_RELEASE, "rounding", "uniform noise"]


def test_roles_are_disjoint_seeded_and_sized():
    y = np.repeat(np.arange(10), 180)
    roles = split_roles(y, QUICK, seed=0)
    sizes = {"target": 300, "shadow": 300, "shadow_updates": 500, "target_updates": 200, "test": 200, "probes": 100}
    assert {k: len(v) for k, v in roles.items()} == sizes
    everything = np.concatenate(list(roles.values()))
    assert len(np.unique(everything)) == len(everything)
    np.testing.assert_array_equal(np.bincount(y[roles["probes"]]), np.full(10, 10))
    again, other = split_roles(y, QUICK, seed=0), split_roles(y, QUICK, seed=1)
    assert all(np.array_equal(roles[k], again[k]) for k in roles)
    assert not np.array_equal(roles["target"], other["target"])


def test_roles_that_do_not_fit_are_refused():
    y = np.repeat(np.arange(10), 30)
    with pytest.raises(ValueError, match="nothing would be left"):
        split_roles(y, QUICK, seed=0)
    with pytest.raises(ValueError, match="probe pool holds only"):
        split_roles(y, UpdateLeaksConfig(dataset="digits", n_target=100, n_shadow=100, n_shadow_updates=50,
                                         n_target_updates=10, n_test=10), seed=0)
    with pytest.raises(ValueError, match="n_test"):
        UpdateLeaksConfig(dataset="digits").check()
    with pytest.raises(ValueError, match="dataset"):
        UpdateLeaksConfig(dataset="cifar10").check()
    with pytest.raises(ValueError, match="r must"):
        UpdateLeaksConfig(roundings=(0.0,)).check()
    with pytest.raises(ValueError, match="a must"):
        UpdateLeaksConfig(uniform_noises=(-0.1,)).check()


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("ul")
    # one thread: torch at two threads on two shared cores is many times slower for these tiny networks
    return out, run_update_leaks_sweep(out, quick=True, device="cpu", config=TINY, progress=False,
                                       executor=SerialExecutor(threads=1))


def test_every_run_has_the_metrics_of_its_defense(sweep):
    _, res = sweep
    assert len(res["runs"]) == len(DEFENSES) * TINY.n_seeds
    for key, m in res["runs"].items():
        for name in ("utility", "train_accuracy", "ece", "attack", "attack_round_mean", "prior", "attack_q1",
                     "attack_q3"):
            assert 0.0 <= m[name] <= 1.0, (key, name)
        assert m["delta_rms"] > 0 and m["attack_q1"] == m["attack"]
        if key.startswith("VIB"):
            assert m["kl_nats"] > 0
        if key.startswith(DP_UPDATE):  # the model served after the private update, and the update's ε
            assert 0.0 <= m["utility_before_update"] <= 1.0 and m["noise_multiplier"] > 0
            assert 0 < m["eps_add_remove"] < 10.0
        if key.startswith("DP-SGD"):
            assert m["eps_rdp"] > 0 and m["eps_prv"] <= m["eps_rdp"] and m["noise_multiplier"] == 1.0
    # the label prior depends on the seed's roles only, not on the defense
    priors = {k.split("|split=")[1]: set() for k in res["runs"]}
    for k, m in res["runs"].items():
        priors[k.split("|split=")[1]].add(m["prior"])
    assert all(len(v) == 1 for v in priors.values())


def test_series_follow_the_figure_schema(sweep):
    _, res = sweep
    assert [s["defense"] for s in res["series"]] == DEFENSES
    p = res["series"][3]["points"][0]
    assert p["knob"] == 1.0 and p["runs"] == 2 and len(p["attack_ci"]) == 2 and "eps_rdp_ci" in p
    assert p["attack_ci"][0] <= p["attack"] <= p["attack_ci"][1]
    assert {k: len(v) for k, v in p["per_seed"].items()} == {"utility": 2, "attack": 2, "ece": 2, "prior": 2,
                                                             "attack_q1": 2, "attack_q3": 2}
    assert np.isclose(np.mean(p["per_seed"]["attack"]), p["attack"])
    assert set(matched_points(res["series"], within=1.0)) == set(DEFENSES)
    assert matched_points(res["series"], within=-1.0)["VIB"] is None


def test_sweep_resumes_without_recomputing(sweep, monkeypatch):
    out, res = sweep

    def boom(self, setting, seed):
        raise AssertionError("recomputed a stored run")

    monkeypatch.setattr(UpdateLeaksExperiment, "__call__", boom)
    again = run_update_leaks_sweep(out, quick=True, device="cpu", config=TINY, progress=False)
    assert again["runs"] == res["runs"]


def test_output_perturbations_release_the_undefended_cnn_of_the_seed(sweep):
    _, res = sweep
    runs = res["runs"]
    for k in range(TINY.n_seeds):
        und, soft = runs[f"undefended|None=None|split={k}"], runs[f"{SOFTMAX_RELEASE}|None=None|split={k}"]
        rnd, noise = runs[f"rounding|r=0.3|split={k}"], runs[f"uniform noise|a=0.1|split={k}"]
        # the same model: the argmax of its softmax is its prediction, the ECE of the softmax is its ECE
        assert soft["utility"] == und["utility"] and soft["shadow_utility"] == und["shadow_utility"]
        assert soft["ece"] == pytest.approx(und["ece"], abs=1e-12)
        for m in (soft, rnd, noise):
            assert m["prior"] == und["prior"] and 0 <= m["attack"] <= 1 and m["epochs_run"] == und["epochs_run"]
        # Δ of probabilities, not of logits
        assert 0 < soft["delta_rms"] < 1 and soft["delta_rms"] != und["delta_rms"]
        assert noise["delta_rms"] != soft["delta_rms"] and noise["ece"] != soft["ece"]
    # a run whose undefended models were trained for it (a fresh process) equals the sweep's, which reused them;
    # it runs as the sweep's units did, at one thread (float sums, hence the digits, depend on the thread count)
    experiment = UpdateLeaksExperiment(TINY, device="cpu")
    ((_, ok, fresh, _),) = SerialExecutor(threads=1).imap(
        lambda unit: experiment(Setting("uniform noise", "a", 0.1), 1), [Unit("fresh", None, 0)])
    assert ok and fresh.value == runs["uniform noise|a=0.1|split=1"]


def test_same_seed_same_numbers_whatever_else_the_sweep_holds():
    setting = Setting("undefended", None, None)
    first = UpdateLeaksExperiment(TINY, device="cpu")(setting, 1)
    plain = replace(TINY, roundings=(), uniform_noises=())
    assert UpdateLeaksExperiment(plain, device="cpu")(setting, 1) == first


def test_a_non_quick_run_on_cpu_takes_the_cpu_configuration_and_names_it():
    import validation.update_leaks as vu

    assert vu.default_config("cpu") is vu.CPU and vu.CPU.name == "cpu" and vu.FULL.name == "full"
    assert vu.CPU.dataset == "mnist" and vu.CPU.n_shadow_updates < vu.FULL.n_shadow_updates
    for config in (vu.QUICK, vu.CPU):  # the figures show a trade-off, not one point per defense
        assert len(config.betas) >= 3 and len(config.noise_multipliers) >= 3
