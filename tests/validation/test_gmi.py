"""The GMI sweep: data roles, the two engine stages (artifacts shipped as bytes), resuming, comparisons."""

from __future__ import annotations

from dataclasses import replace
from hashlib import sha256
from pathlib import Path

import numpy as np
import pytest

import validation.gmi as vg
from defenses.datasets import load_mnist
from validation.engine import _pickle
from validation.gmi import GMIConfig, closest_pair, load_gmi_data, matched_within, paired_difference, run_gmi_sweep
from validation.sweep import Setting

#: A complete but tiny sweep on the 8×8 digits: every stage, two seeds, seconds of training.
TINY = GMIConfig(name="tiny", dataset="digits", private_per_class=20, public_limit=64, gan_dim=4, gan_epochs=1,
                 gan_batch_size=32, epochs=1, batch_size=32, patience=1, dp_batch_size=32, eval_epochs=1,
                 attack_iterations=2, attacks_per_identity=1, betas=(0.1,), noise_multipliers=(1.0,), n_seeds=2)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, data_home):
    out = tmp_path_factory.mktemp("gmi")
    return out, run_gmi_sweep(out, quick=True, device="cpu", data_home=data_home, config=TINY, progress=False)


def test_mnist_roles_private_0_to_4_public_5_to_9_padded_to_32(data_home):
    d = load_gmi_data(GMIConfig(private_per_class=20, test_per_class=10, public_limit=50), data_home)
    assert d.X_train.shape == (100, 32, 32) and d.X_test.shape == (50, 32, 32) and d.X_public.shape == (50, 32, 32)
    assert np.array_equal(np.bincount(d.y_train), [20] * 5) and np.array_equal(np.bincount(d.y_test), [10] * 5)
    assert d.X_train[:, :2].max() == 0 and d.X_train[:, :, -2:].max() == 0  # zero padding
    m = load_mnist(data_home)
    public = m.data[m.target >= 5][:50]
    np.testing.assert_array_equal(d.X_public[:, 2:-2, 2:-2], public)
    np.testing.assert_array_equal(d.y_public, m.target[m.target >= 5][:50])
    first_zero = m.data[np.flatnonzero(m.target == 0)[0]]
    np.testing.assert_array_equal(d.X_train[np.flatnonzero(d.y_train == 0)[0], 2:-2, 2:-2], first_zero)
    # the held-out judge's private digits: the first half of the test file's digits 0-4, per digit
    t = load_mnist(data_home, train=False)
    n0 = int(np.sum(t.target == 0))
    assert int(np.sum(d.y_heldout_judge == 0)) == (n0 + 1) // 2
    np.testing.assert_array_equal(d.X_heldout_judge[0, 2:-2, 2:-2], t.data[np.flatnonzero(t.target < 5)[0]])


@pytest.mark.parametrize("config", [GMIConfig(private_per_class=50, test_per_class=20, public_limit=500), vg.QUICK],
                         ids=["mnist", "digits"])
def test_the_heldout_judge_never_sees_the_targets_training_images(config, data_home):
    d = load_gmi_data(config, data_home)
    train, test, held = (set(d.ids[k].tolist()) for k in ("train", "test", "heldout_judge"))
    assert not train & test and not train & held and not test & held
    X, y, ids = d.judge_training_set("heldout")
    assert not set(ids.tolist()) & train, "the held-out judge is trained on a private training image"
    assert not {x.tobytes() for x in X} & {x.tobytes() for x in d.X_train}
    assert set(np.unique(y)) == set(range(10))
    # the headline judge: the target's training images and as many public images per digit
    X10, y10, ids10 = d.judge_training_set("judge10")
    assert train <= set(ids10.tolist()) and set(np.unique(y10)) == set(range(10))
    counts = np.bincount(y10)
    assert counts[5:].max() <= counts[:5].max()
    _, y5, ids5 = d.judge_training_set("private5")
    assert set(np.unique(y5)) == set(range(5)) and set(ids5.tolist()) == train


def test_prior_samples_score_at_or_below_chance_under_the_ten_digit_judge():
    from scipy.stats import binomtest

    from defenses.neural.gmi import InversionEvaluation, WGANGPPrior, gan_only_baseline

    d = load_gmi_data(vg.QUICK)
    prior = WGANGPPrior(dim=16, epochs=10, batch_size=32, random_state=0, progress=False, device="cpu").fit(d.X_public)
    ids = np.tile(np.arange(5), 200)  # 1,000 samples of the prior, balanced identities
    result = gan_only_baseline(prior, ids, 1, random_state=1)
    scores = {}
    for judge in ("judge10", "private5"):
        X, y, _ = d.judge_training_set(judge)
        ev = InversionEvaluation(vg._evaluator(vg.QUICK, "cpu", 0).fit(X, y), d.X_train, d.y_train, d.X_test, d.y_test)
        hits = int(round(ev.score(result)["attack_acc_top1"] * len(ids)))
        scores[judge] = (hits, ev.chance_top1)
    hits, chance = scores["judge10"]
    assert chance == 0.1
    # H0: the rate is at most chance; a false failure has probability < 1e-4 when it holds (one-sided
    # exact binomial test). The 5-way judge credits every sample to a private digit: 1/5 in expectation.
    assert binomtest(hits, len(ids), chance, alternative="greater").pvalue > 1e-4, hits
    hits5, chance5 = scores["private5"]
    assert chance5 == 0.2 and binomtest(hits5, len(ids), 0.1, alternative="greater").pvalue < 1e-4, hits5


def test_digits_roles_are_disjoint_and_upsampled():
    d = load_gmi_data(vg.QUICK)
    assert d.X_train.shape[1:] == (16, 16) and set(np.unique(d.y_train)) == set(range(5)) == set(np.unique(d.y_test))
    np.testing.assert_array_equal(d.X_train[:, ::2, ::2], d.X_train[:, 1::2, 1::2])  # 2×2 pixel blocks
    flat = {x.tobytes() for x in d.X_train} & {x.tobytes() for x in d.X_test}
    assert not flat, "a private image is both in training and held out"
    assert len(d.X_public) == 1797 - len(d.X_train) - len(d.X_test) - len(d.X_heldout_judge)
    capped = load_gmi_data(TINY)
    assert np.array_equal(np.bincount(capped.y_train), [20] * 5) and len(capped.X_public) == 64


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="dataset must be"):
        load_gmi_data(GMIConfig(dataset="cifar"))


def test_every_run_has_the_metrics_of_its_setting(sweep):
    _, res = sweep
    assert len(res["runs"]) == len(TINY.settings()) * TINY.n_seeds
    for key, m in res["runs"].items():
        for prefix in vg.JUDGES.values():
            for name in ("attack_acc_top1", "attack_acc_top5", "success_any_of_5_restarts", "confidence_true"):
                assert 0.0 <= m[prefix + name] <= 1.0, (key, prefix + name)
            assert m[f"{prefix}attack_acc_top1_trials"] == 5 * TINY.attacks_per_identity
            assert m[f"{prefix}knn_dist_train"] >= 0
        assert m["knn_dist_train"] >= 0 and m["knn_dist_test"] >= 0 and m["pixel_mse_identity_mean"] > 0
        assert m["success_any_of_5_restarts"] >= m["attack_acc_top1"] or key.startswith("GAN-only")
        if key.startswith("GAN-only"):
            assert "utility" not in m
        else:
            assert 0.0 <= m["utility"] <= 1.0
        if key.startswith("DP-SGD"):
            assert m["eps_rdp"] > 0 and m["noise_multiplier"] == 1.0
    assert [s["defense"] for s in res["series"]] == ["undefended", "VIB", "DP-SGD"]
    assert res["baseline"]["runs"] == TINY.n_seeds and "attack_acc_top1_ci" in res["baseline"]


def test_artifacts_are_written_once_per_seed_and_travel_inside_the_unit_function(sweep, data_home):
    out, res = sweep
    for kind in ("prior", *vg.JUDGES):
        paths = sorted((out / "gmi_artifacts").glob(f"{kind}-*.pt"))
        assert len(paths) == TINY.n_seeds  # re-drawn per seed
        digests = {sha256(p.read_bytes()).hexdigest() for p in paths}
        assert digests == {res["artifacts"][f"{kind}-{k}"]["sha256"] for k in range(TINY.n_seeds)}
        assert digests == {res["config"]["artifact_sha256"][f"{kind}-{k}"] for k in range(TINY.n_seeds)}
        assert len(digests) == TINY.n_seeds  # different seeds, different networks
    assert sorted(p.name for p in (out / "gmi_recon_tiny").iterdir()) == [
        "DP-SGD_noise_multiplier=1.npz", "GAN-only.npz", "VIB_beta=0.1.npz", "undefended.npz"]
    blob = Path(res["artifacts"]["prior-0"]["file"]).read_bytes()
    exp = vg.GMIExperiment(TINY, {0: {"prior": blob}}, data_home=data_home, device="cpu")
    exp._cache["data"] = "loaded"
    again = _pickle().loads(_pickle().dumps(exp))
    assert again.artifacts[0]["prior"] == blob and again._cache == {}


def test_a_rerun_resumes_without_training_anything(sweep, data_home, monkeypatch):
    out, res = sweep

    def refuse(*a, **k):
        raise AssertionError("a stored unit was computed again")

    monkeypatch.setattr(vg._ArtifactUnit, "__call__", refuse)
    monkeypatch.setattr(vg.GMIExperiment, "__call__", refuse)
    again = run_gmi_sweep(out, quick=True, device="cpu", data_home=data_home, config=TINY, progress=False)
    assert again["runs"] == res["runs"]


def test_a_missing_artifact_is_reported_not_silently_retrained(sweep, data_home, tmp_path):
    out, _ = sweep
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    next((copy / "gmi_artifacts").glob("prior-*.pt")).unlink()
    with pytest.raises(FileNotFoundError, match="remove .*gmi_artifacts.json"):
        run_gmi_sweep(copy, quick=True, device="cpu", data_home=data_home, config=TINY, progress=False)


def test_each_artifact_is_keyed_by_what_it_depends_on():
    units = vg._artifact_units(TINY)
    assert len(units) == 4 * TINY.n_seeds and len({u.key for u in units}) == len(units)
    prior, judge = units[0], units[1]
    again = vg._artifact_units(replace(TINY, eval_epochs=2, betas=(1.0,)))
    assert prior.key == again[0].key and judge.key != again[1].key
    assert vg._artifact_units(replace(TINY, gan_dim=8))[0].key != prior.key
    once = vg._artifact_units(replace(TINY, artifacts_per_seed=False))
    assert len(once) == 4 and once[0].key == prior.key  # seed 0's artifacts serve every seed


def _series():
    def pt(knob, u, a):
        return {"knob": knob, "utility": u, "attack_acc_top1": a}

    return [{"defense": "undefended", "knob": None, "points": [pt(None, 0.99, 0.9)]},
            {"defense": "VIB", "knob": "beta", "points": [pt(0.01, 0.98, 0.7), pt(0.1, 0.95, 0.3), pt(1.0, 0.5, 0.2)]},
            {"defense": "DP-SGD", "knob": "noise_multiplier", "points": [pt(1.0, 0.97, 0.8), pt(4.0, 0.90, 0.6)]}]


def test_matched_points_are_the_most_protective_within_the_accuracy_window():
    m = matched_within(_series(), 0.05)
    assert m["VIB"]["knob"] == 0.1 and m["DP-SGD"]["knob"] == 1.0
    assert matched_within(_series(), 0.001)["VIB"] is None


def test_closest_pair_minimises_the_accuracy_gap():
    v, d = closest_pair(_series())
    assert (v["knob"], d["knob"]) == (0.01, 1.0)


def test_paired_difference_is_per_seed():
    a, b = Setting("DP-SGD", "noise_multiplier", 1.0), Setting("VIB", "beta", 0.1)
    runs = {f"{a.key}|split={k}": {"attack_acc_top1": x} for k, x in enumerate((0.8, 0.6, 0.7))}
    runs.update({f"{b.key}|split={k}": {"attack_acc_top1": x} for k, x in enumerate((0.5, 0.4, 0.3))})
    diff = paired_difference(runs, a, b, 3)
    np.testing.assert_allclose(diff["per_seed"], [0.3, 0.2, 0.4])
    assert diff["mean"] == pytest.approx(0.3)
    half = 4.302652729911275 * 0.1 / np.sqrt(3)  # t(0.975, 2) · sd / √3
    np.testing.assert_allclose(diff["ci"], [0.3 - half, 0.3 + half], rtol=1e-9)


def test_a_non_quick_run_on_cpu_takes_the_cpu_configuration_and_names_it():
    assert vg.default_config("cpu") is vg.CPU and vg.CPU.name == "cpu"
    assert vg.FULL.name == "full" and vg.FULL.gan_epochs > vg.CPU.gan_epochs
    assert len(vg.QUICK.betas) >= 3 and len(vg.QUICK.noise_multipliers) >= 3  # the quick figure shows a trade-off
