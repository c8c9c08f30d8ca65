"""The IWPC linear-regression privacy-utility sweep (validation.linear)."""

from __future__ import annotations

import numpy as np
import pytest

import validation.linear as vl
from validation.linear import IWPCProblem, run_linear_sweep, within_mse_budget

# Training on 20% of the cohort (1,090 patients) keeps the O(N²) MID fits fast; the protocol is otherwise the paper's.
GRID = dict(n_splits=2, mid_lambdas=(2.0,), epsilons=(0.3, 300.0), test_size=0.8, progress=False)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    store = tmp_path_factory.mktemp("linear") / "runs.json"
    return store, run_linear_sweep(store, **GRID)


def test_sweep_returns_the_figure_schema(sweep):
    _, r = sweep
    assert [s["defense"] for s in r["series"]] == ["undefended", "MID", "AdaSSP"]
    assert [s["knob"] for s in r["series"]] == [None, "mid_lambda", "epsilon"]
    for s in r["series"]:
        for p in s["points"]:
            assert p["runs"] == 2
            for key in ("utility", "utility_train", "attack_train", "attack_test", "auroc_train", "auroc_test"):
                assert np.isfinite(p[key]) and len(p[f"{key}_ci"]) == 2
            assert p["attack_ci"] == p["attack_test_ci"]
            assert 0 <= p["attack_test"] <= 1 and 0 <= p["auroc_test"] <= 1
    b = r["baseline"]
    assert set(b) >= {"attack_prior", "attack_prior_ci", "attack_known_attributes", "attack_ideal", "auroc_prior"}
    assert b["auroc_prior"] == 0.5 and 0.3 < b["attack_prior"] < 0.4
    assert r["settings"]["n_splits"] == 2 and "final 5452" in r["dataset"]


def test_sweep_numbers_tell_the_expected_story(sweep):
    _, r = sweep
    undefended = r["series"][0]["points"][0]
    mid = r["series"][1]["points"][0]
    ada_noisy, ada_weak = r["series"][2]["points"]
    assert undefended["attack_test"] > r["baseline"]["attack_prior"] + 0.1
    assert 0.9 < undefended["utility"] < 1.1  # RMSE ≈ 1 on √dose, as IWPC reported
    assert mid["utility"] > undefended["utility"] and mid["attack_test"] < undefended["attack_test"]
    assert ada_noisy["utility"] > ada_weak["utility"] > undefended["utility"] - 0.05
    assert ada_noisy["attack_test"] < ada_weak["attack_test"]


def test_sweep_resumes_from_its_store_without_recomputing(sweep, monkeypatch):
    store, first = sweep

    def refuse(*args, **kwargs):
        def evaluate(setting, split):
            raise AssertionError("a finished (setting, split) was evaluated again")
        return evaluate

    monkeypatch.setattr(vl, "make_evaluate", refuse)
    assert run_linear_sweep(store, **GRID) == first
    with pytest.raises(ValueError, match="other settings"):
        run_linear_sweep(store, **{**GRID, "epsilons": (1.0,)})


def test_parallel_sweep_gives_the_sequential_numbers(sweep, tmp_path):
    from validation.engine import ProcessExecutor

    _, first = sweep
    with ProcessExecutor(2, threads=1, adaptive=False) as executor:  # on the workers, however small the work
        assert run_linear_sweep(tmp_path / "parallel.json", executor=executor, **GRID) == first


def test_splits_are_reproducible_disjoint_80_20_partitions():
    p = IWPCProblem()
    tr, te = p.split(0, 3, 0.2)
    tr2, te2 = p.split(0, 3, 0.2)
    np.testing.assert_array_equal(tr, tr2)
    assert len(te) == round(0.2 * 5452) and len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 5452
    assert not np.array_equal(te, p.split(0, 4, 0.2)[1])
    assert np.linalg.norm(p.X, axis=1).max() <= p.x_bound and np.abs(p.y).max() <= p.y_bound


@pytest.mark.parametrize("kw, match", [(dict(test_size=1.0), "test_size"), (dict(delta=0.0), "delta"),
                                       (dict(mid_lambdas=(-1.0,)), "mid_lambdas"), (dict(epsilons=(0.0,)), "epsilons"),
                                       (dict(epsilons=()), "epsilons"), (dict(n_splits=0), "n_splits")])
def test_bad_sweep_arguments_raise_naming_the_parameter(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        run_linear_sweep(tmp_path / "s.json", **{**GRID, **kw})


def test_within_mse_budget_picks_the_most_protective_admissible_point():
    series = {"points": [{"utility": 1.00, "attack_test": 0.56}, {"utility": 1.04, "attack_test": 0.55},
                         {"utility": 1.20, "attack_test": 0.50}, {"utility": 2.0, "attack_test": 0.40}]}
    assert within_mse_budget(series, 1.0, 0.05)["attack_test"] == 0.55
    assert within_mse_budget(series, 1.0, 0.25)["attack_test"] == 0.50
    assert within_mse_budget(series, 0.5, 0.25) is None
