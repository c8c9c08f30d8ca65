"""The empirical games of validation.ind / validation.semantic: exactness on finite mechanisms, violation
detection, resumability, and the real learners on the real data."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from mitheory.adversaries import CallableAdversary, LikelihoodRatioAdversary
from mitheory.bounds import tight_bound
from mitheory.distributions import FiniteDistribution, Records, agreement_event
from mitheory.games import IndistinguishabilityGame, SemanticMIGame
from mitheory.mechanisms import CountStatistic, GeometricCount
from validation.ind import Learner, Privacy, run_ind
from validation.learners import build_learner
from validation.semantic import run_semantic

F = Fraction


def correlated_bits() -> FiniteDistribution:
    """X_s, Y bits with Pr[X_s = Y] = 4/5, no x_ns."""
    return FiniteDistribution({((), 0, 0): F(2, 5), ((), 1, 1): F(2, 5), ((), 0, 1): F(1, 10), ((), 1, 0): F(1, 10)})


def mechanism_learner(mech, n: int, **kwargs) -> Learner:
    """A mitheory mechanism as a learner: the model is the mechanism's release on the training set."""

    def fit(train: Records, rng: np.random.Generator):
        stat = int(mech.statistic.categorize(train).sum())
        return mech.sample(np.array([stat]), n, rng)[0]

    return Learner("geometric-count", fit, Privacy(float(mech.epsilon), 0.0, "substitution"), **kwargs)


def test_pipeline_recovers_exact_gain_of_finite_mechanism():
    p, n = correlated_bits(), 6
    mech = GeometricCount(exp_epsilon=2, statistic=CountStatistic(agreement_event()))
    lr = LikelihoodRatioAdversary(p, mech, n)
    exact = IndistinguishabilityGame(p, mech, n).exact(lr)
    report = run_ind(mechanism_learner(mech, n), p, n, 3000, seed=1, progress=False,
                     extra_distinguishers={"likelihood-ratio": lambda f, probe: lr.decide(np.array([f]))[0]})
    (est,) = report.estimates
    assert est.ci_low <= float(exact.gain) <= est.ci_high
    assert float(exact.gain) == pytest.approx(float(exact.max_gain))
    assert report.tight_gain == pytest.approx(float(tight_bound(np.log(2), n).gain))
    assert est.verdict == "consistent" and report.verdict == "consistent"


def test_reduction_distinguisher_gain_is_half_plus_half_corrected_advantage():
    """Theorem 1′ reduction: gain^IND(B) = 1/2 + Adv′/2, checked against the exact semantic game."""
    p, n = correlated_bits(), 4
    mech = GeometricCount(exp_epsilon=3, statistic=CountStatistic(agreement_event()))

    def guess(models, x_ns, y):  # trust "x_s = y" only when the released agreement count is high
        return np.where(np.asarray(models) >= n / 2, y, 1 - np.asarray(y))

    exact = SemanticMIGame(p, mech, n).exact(CallableAdversary(guess))
    expected = 0.5 + float(exact.corrected_advantage) / 2

    def attack(model, aux: Records, chal: Records) -> np.ndarray:
        return guess(np.full(len(chal), model), chal.x_ns, chal.y)

    report = run_ind(mechanism_learner(mech, n, attack=attack), p, n, 1000, challenges=400, seed=2,
                     progress=False)
    (est,) = report.estimates
    assert est.distinguisher == "reduction"
    assert est.ci_low <= expected <= est.ci_high
    assert est.ci_high - est.ci_low < 0.04


def test_non_private_learner_registered_as_dp_is_flagged(data_home):
    ols, p = build_learner("ols", data_home=data_home)
    fake = Learner("ols-claiming-dp", ols.fit, Privacy(1e-4, 0.0, "substitution"), ols.attack, ols.probe)
    report = run_ind(fake, p, 150, 40, challenges=50, seed=0, progress=False)
    assert report.tight_gain < 0.51
    assert report.verdict == "violates"
    meta = next(e for e in report.estimates if e.distinguisher == "meta")
    assert meta.verdict == "violates" and meta.margin > 0.1


def test_real_dp_learner_is_consistent_with_the_bounds(data_home):
    learner, p = build_learner("dp-id3", eps=1.0, data_home=data_home)
    report = run_ind(learner, p, 100, 40, challenges=50, seed=0, progress=False)
    assert report.group_size == 200 and report.adjacency == "add/remove"
    assert report.verdict == "consistent"
    assert report.refined_gain <= report.tight_gain <= report.paper_gain


def test_interrupted_run_resumes_to_the_same_numbers(tmp_path, data_home):
    learner, p = build_learner("adassp", eps=10.0, data_home=data_home)
    kwargs = dict(challenges=30, seed=3, progress=False)
    whole = run_ind(learner, p, 120, 12, store_path=tmp_path / "whole.json", **kwargs).as_dict()

    calls = {"n": 0}

    def flaky_fit(train, rng):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return learner.fit(train, rng)

    flaky = Learner(learner.name, flaky_fit, learner.privacy, learner.attack, learner.probe)
    with pytest.raises(KeyboardInterrupt):
        run_ind(flaky, p, 120, 12, store_path=tmp_path / "part.json", **kwargs)
    assert len((tmp_path / "part.json").read_text().splitlines()) == 1 + 4  # header + 4 finished models
    resumed = run_ind(learner, p, 120, 12, store_path=tmp_path / "part.json", **kwargs).as_dict()
    assert resumed == whole


def test_store_refuses_other_settings(tmp_path, data_home):
    learner, p = build_learner("dp-id3", eps=1.0, data_home=data_home)
    run_ind(learner, p, 50, 4, challenges=5, store_path=tmp_path / "s.json", progress=False)
    with pytest.raises(ValueError, match="other settings"):
        run_ind(learner, p, 60, 4, challenges=5, store_path=tmp_path / "s.json", progress=False)


def test_semantic_game_on_real_learner(data_home):
    learner, p = build_learner("ols", data_home=data_home)
    report = run_semantic(learner, p, 400, 4, challenges=300, seed=0, progress=False)
    pp, qq, qp = report.gain_pp[0], report.gain_qq[0], report.gain_qp[0]
    assert report.adv_sem[0] == pytest.approx(pp - qq)
    assert report.adv_corrected[0] == pytest.approx(pp - qp)
    # The undefended model helps the Naive MAP attack: trained on p it beats the decorrelated baseline.
    assert report.adv_corrected[1] > 0
    assert report.verdict == "no DP claim"


@pytest.mark.parametrize("kwargs,match", [
    ({"name": "nope"}, "unknown learner"),
    ({"name": "adassp"}, "needs --eps"),
    ({"name": "mid-id3"}, "needs --lam"),
    ({"name": "dp-id3", "eps": 1.0, "attack": "gmi"}, "supports the attacks"),
])
def test_build_learner_bad_input(kwargs, match, data_home):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        build_learner(name, data_home=data_home, **kwargs)


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "validation", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_cli_ind_json_and_list(tmp_path, data_home):
    res = run_cli("ind", "--learner", "dp-id3", "--eps", "1", "--n", "60", "--models", "8", "--challenges", "20",
                  "--json", "--data-home", str(data_home), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    for key in ("learner", "eps", "delta", "n", "models", "estimate", "ci_low", "ci_high", "paper_gain",
                "tight_gain", "verdict"):
        assert key in out
    assert out["verdict"] in ("consistent", "violates")
    assert (tmp_path / out["store"]).exists()
    listing = run_cli("list", cwd=tmp_path)
    assert listing.returncode == 0 and "dp-id3" in listing.stdout and "map-counts" in listing.stdout


@pytest.mark.parametrize("args,match", [
    (["ind", "--learner", "nope", "--n", "5"], "invalid choice"),
    (["ind", "--learner", "dp-id3", "--n", "5"], "needs --eps"),
    (["ind", "--learner", "dp-id3", "--eps", "nan", "--n", "5"], "must be finite"),
    (["ind", "--learner", "dp-id3", "--eps", "1", "--n", "5", "--models", "7"], "models must be an even"),
    (["ind", "--learner", "dp-id3", "--eps", "1"], "ind needs --n"),
    (["sem", "--learner", "id3", "--splits", "1"], "--splits: must be an integer >= 2"),
])
def test_cli_bad_input_exits_2_with_one_line(args, match, tmp_path, data_home, capsys, monkeypatch):
    from validation.__main__ import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--data-home", str(data_home)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and match in lines[0] and "Traceback" not in err


def test_cli_bad_input_in_a_real_process(tmp_path, data_home):
    res = run_cli("sem", "--learner", "mid-linear", "--splits", "3", "--data-home", str(data_home), cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == "python -m validation: error: learner 'mid-linear' needs --lam >= 0"


def test_neural_learners_on_digits():
    """The image itself is the sensitive attribute: q pairs images with random labels."""
    dp, p = build_learner("dp-sgd", eps=2.0)
    assert dp.privacy == Privacy(2.0, 1e-5, "add/remove") and dp.attack is None
    assert len(p) == 1797 and float(p.tv_decorrelated()) == pytest.approx(0.9, abs=0.01)
    cnn, p = build_learner("cnn", neural_epochs=2)
    report = run_ind(cnn, p, 40, 4, probe_size=8, seed=0, progress=False)
    (meta,) = report.estimates
    assert meta.distinguisher == "meta" and meta.rounds == 2 and report.verdict == "no DP claim"
