"""The adversarial-neighbour audit (``python -m validation audit``): a valid bound, with power.

Every DP assertion runs at alpha = 5e-5: if the learner is DP, its bound exceeds the declared epsilon with
probability at most alpha, so each such test fails falsely with chance < 1e-4. Each of them also checks that
the fits could have shown a larger epsilon than the declared one (``eps_max_provable``), so a learner that
leaked would be caught. The known-bad learners are deterministic: their bound is the same number every run.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import binom

from defenses.neural import DPSGDClassifier
from defenses.neural.estimators import _NeuralClassifier
from defenses.tree import DPID3Classifier
from validation.__main__ import main
from validation.audit import AuditTarget, NeighbourPair, build_audit_target, eps_lower_bound, group_privacy, run_audit
from validation.engine import SerialExecutor

ALPHA = 5e-5  # per DP test: false failure < 1e-4


def _audit(name, fits, *, alpha=ALPHA, **kw):
    # one thread per fit, as the engine's workers run torch (small CNNs on shared cores)
    return run_audit(build_audit_target(name, **kw), fits, alpha=alpha, progress=False,
                     executor=SerialExecutor(threads=1))


# ------------------------------------------------------------------------------------------ the bound


@pytest.mark.parametrize("eps, delta, m", [(0.5, 0.0, 30), (1.0, 0.0, 60), (2.0, 0.05, 40), (0.2, 0.0, 200)])
def test_the_bound_exceeds_a_true_eps_with_probability_at_most_alpha(eps, delta, m):
    # The worst (eps, delta)-DP pair for a threshold test: FPR = FNR = (1 - delta)/(1 + e^eps). Summing
    # over every outcome (FP, FN) exactly, the chance that the bound exceeds eps is at most alpha.
    rate = (1 - delta) / (1 + math.exp(eps))
    k = np.arange(m + 1)
    fp, fn = np.meshgrid(k, k, indexing="ij")
    for alpha in (0.05, 0.2):
        lower = eps_lower_bound(fp, m, fn, m, delta, alpha)[0]
        weight = binom.pmf(fp, m, rate) * binom.pmf(fn, m, rate)
        assert weight[lower > eps].sum() <= alpha
        assert weight[lower > eps].sum() > 0 or m * rate < 5  # the bound is not vacuous either


def test_the_bound_at_perfect_separation_and_its_limits():
    m, alpha = 100, 0.05
    u = 1 - (alpha / 2) ** (1 / m)
    assert eps_lower_bound(0, m, 0, m, 0.0, alpha)[0] == pytest.approx(math.log((1 - u) / u))
    assert eps_lower_bound(50, 100, 50, 100, 0.0, alpha)[0] == 0.0
    assert eps_lower_bound(0, m, 0, m, 0.1, alpha)[0] < eps_lower_bound(0, m, 0, m, 0.0, alpha)[0]
    assert group_privacy(1.0, 1e-5, 2) == pytest.approx((2.0, 1e-5 * (1 + math.e)))


# ------------------------------------------------------------------------------------------ power


@pytest.mark.parametrize("name", ["ols", "memorizer", "id3"])
def test_known_bad_learners_reach_a_large_lower_bound(name):
    report = _audit(name, 200, alpha=0.05)
    assert report.eps_lower > 3 and report.verdict == "no DP claim"
    k = len(report.results)  # id3: insert and new-class, each at alpha / 2
    for r in report.results:
        assert r.false_positives == r.false_negatives == 0 and r.fits_evaluation == 150
        assert r.eps_lower == pytest.approx(eps_lower_bound(0, 150, 0, 150, 0.0, 0.05 / k)[0])


def test_the_test_is_measured_only_on_fits_that_did_not_choose_it():
    # A release whose first quarter of fits (the selection part) separates D from D' perfectly and whose
    # other fits are pure noise: the audit must find no evidence (a bound measured on the choosing fits
    # would be large).
    def release(dataset, rng, count):
        values = rng.normal(size=count)
        values[:count // 4] = dataset
        return {"stat": values}

    target = AuditTarget("toy", None, (NeighbourPair("insert", (0.0, 1.0), 1, "toy"),), release, block=400)
    report = run_audit(target, 400, alpha=0.05, progress=False)
    (r,) = report.results
    assert r.fits_selection == 100 and r.statistic == "stat"
    assert report.eps_lower < 0.5


@pytest.mark.parametrize("name, kw", [("laplace", {"eps": 1.0}), ("geometric", {"eps": 1.0}),
                                      ("randomized-response", {"eps": 1.0}),
                                      ("extremal", {"eps": 1.0, "delta": 0.01})])
def test_reference_mechanisms_are_audited_tightly_and_never_above_their_eps(name, kw):
    # Their exact eps is the declared one; the audit gets within 0.2 of it (typically 0.92-0.97 here,
    # spread 0.02 over seeds) and never above.
    report = _audit(name, 100_000, **kw)
    assert 0.8 < report.eps_lower <= 1.0 and report.verdict == "consistent"


@pytest.mark.parametrize("name, kw, fits", [
    ("adassp", {"eps": 2.0}, 400),
    ("dp-id3", {"eps": 1.0}, 400),
])
def test_dp_learners_stay_below_their_declared_eps(name, kw, fits):
    report = _audit(name, fits, **kw)
    assert report.verdict == "consistent" and report.eps_lower <= kw["eps"]
    assert all(r.eps_max_provable > r.declared_eps for r in report.results)  # a leak would have shown


def test_adassp_at_a_huge_eps_is_audited_near_the_limit_of_the_fits():
    report = _audit("adassp", 400, eps=1e4)
    assert report.eps_lower > 3 and report.verdict == "consistent"


def test_dp_sgd_at_small_size_stays_below_its_declared_eps():
    report = _audit("dp-sgd", 32, eps=0.5, kinds=("new-class",))
    (r,) = report.results
    assert r.eps_max_provable > 0.5 and report.verdict == "consistent" and report.eps_lower <= 0.5


# ------------------------------------------------------------------------------------------ the bugs it catches


def test_the_audit_catches_learners_whose_noise_is_missing():
    # The declared guarantee is kept; the learner adds (almost) no noise: the audit must object.
    from defenses.datasets import load_steak_survey
    from defenses.linear import AdaSSPRegression
    from validation.linear import IWPCProblem

    p = IWPCProblem()
    quiet = run_audit(build_audit_target("adassp", eps=2.0, estimator=lambda s: AdaSSPRegression(
        epsilon=1e7, delta=1e-6, x_bound=p.x_bound, y_bound=p.y_bound, random_state=s)), 400, alpha=ALPHA,
        progress=False)
    assert quiet.verdict == "violates" and quiet.eps_lower > 2
    classes = list(load_steak_survey().target.cat.categories)
    quiet = run_audit(build_audit_target("dp-id3", eps=1.0, kinds=("insert",), estimator=lambda s: DPID3Classifier(
        1e6, max_depth=2, classes=classes, random_state=s)), 400, alpha=ALPHA, progress=False)
    assert quiet.verdict == "violates" and quiet.eps_lower > 1


class LeakyDPID3(DPID3Classifier):
    """DP-ID3 as it was: the class set of plain label arrays read from the labels."""

    _public_domains_only = False


def test_the_audit_catches_a_class_set_read_from_private_labels():
    fixed = _audit("dp-id3", 200, alpha=0.05, eps=1.0, kinds=("new-class",))
    leaky = run_audit(build_audit_target("dp-id3", eps=1.0, kinds=("new-class",),
                                         estimator=lambda s: LeakyDPID3(1.0, max_depth=2, random_state=s)),
                      200, alpha=0.05, progress=False)
    assert fixed.verdict == "consistent"
    assert leaky.verdict == "violates" and leaky.eps_lower > 3 and leaky.results[0].statistic == "n_classes"


def test_the_audit_catches_dp_sgd_reading_its_classes_from_the_labels(monkeypatch):
    monkeypatch.setattr(DPSGDClassifier, "_class_codes", _NeuralClassifier._class_codes)
    report = _audit("dp-sgd", 12, alpha=0.05, eps=0.5, kinds=("new-class",))
    (r,) = report.results
    assert r.statistic == "n_classes" and r.false_positives == r.false_negatives == 0
    assert report.verdict == "violates"


# ------------------------------------------------------------------------------------------ command line


def _cli(capsys, *args) -> tuple[int, str, str]:
    try:
        code = main(["audit", *args])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_command_line_reports_the_bound_as_json(tmp_path, capsys):
    args = ("--learner", "laplace", "--eps", "1", "--fits", "4000", "--json", "--store", str(tmp_path / "s.json"))
    code, out, err = _cli(capsys, *args)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["verdict"] == "consistent" and 0 < doc["eps_lower"] <= 1
    assert "Clopper-Pearson" in doc["ci_method"] and doc["results"][0]["fits_evaluation"] == 3000
    code, again, _ = _cli(capsys, *args)
    assert json.loads(again)["eps_lower"] == doc["eps_lower"]  # resumed from the store: the same numbers
    code, table, _ = _cli(capsys, *args[:-3], "--store", str(tmp_path / "s.json"))
    assert "empirical lower bound on eps" in table and "verdict: consistent" in table


@pytest.mark.parametrize("args, message", [
    (["--learner", "ols", "--eps", "1"], "--eps applies to the DP learners"),
    (["--learner", "dp-id3"], "needs --eps"),
    (["--learner", "adassp", "--eps", "1", "--delta", "0"], "--delta must lie in"),
    (["--learner", "dp-id3", "--eps", "1", "--delta", "0.1"], "--delta applies to"),
    (["--learner", "ols", "--neighbour", "new-class"], "new-class applies to the classifiers"),
    (["--learner", "laplace", "--eps", "1", "--neighbour", "insert"], "replace a record"),
    (["--learner", "ols", "--fits", "3"], "--fits must be"),
    (["--learner", "ols", "--alpha", "1"], "--alpha must lie"),
    (["--learner", "ols", "--selection", "0.999"], "--selection"),
    (["--learner", "ols", "--n", "5"], "--n must be"),
    (["--learner", "ols", "--n", "100000"], "exceeds"),
    (["--learner", "dp-sgd", "--eps", "1", "--n", "40"], "multiple of the batch size"),
    (["--learner", "laplace", "--eps", "nan"], "--eps must be finite"),
    (["--learner", "ols", "--data-home", "/nonexistent/dir"], "not a directory"),
    (["--learner", "laplace", "--eps", "1", "--data-home", "/tmp"], "reads no data"),
])
def test_bad_input_exits_2_with_one_line_before_any_work(tmp_path, capsys, args, message):
    code, out, err = _cli(capsys, *args, "--store", str(tmp_path / "s.json"))
    assert code == 2 and message in err and not out
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "s.json").exists()
