"""The auditor's number eps_lower: the smallest ε consistent with an observed IND gain."""

from __future__ import annotations

import math

import pytest

from validation.ind import Learner, Privacy, eps_lower_bound, run_ind
from validation.learners import build_learner


def test_eps_lower_inverts_the_tight_bound():
    # Pure DP, even group size: the tight bound is 1 - exp(-k n eps / 2) / 2, so eps = -2 ln(2(1 - g)) / (k n).
    assert eps_lower_bound(0.75, 10, Privacy(1.0)) == pytest.approx(-2 * math.log(0.5) / 10, rel=1e-10)
    assert eps_lower_bound(0.75, 10, Privacy(1.0, adjacency="add/remove")) == pytest.approx(
        -2 * math.log(0.5) / 20, rel=1e-10)
    assert eps_lower_bound(0.75, 10, None) == eps_lower_bound(0.75, 10, Privacy(1.0))  # audited as pure, substitution
    assert eps_lower_bound(0.5, 10, Privacy(1.0)) == 0.0 and eps_lower_bound(0.3, 10, Privacy(1.0)) == 0.0
    # With delta the bound starts at 1/2 + n delta / 2: gains up to there prove nothing about eps.
    assert eps_lower_bound(0.5 + 10 * 1e-3 / 2, 10, Privacy(1.0, 1e-3)) == 0.0
    assert eps_lower_bound(0.6, 10, Privacy(1.0, 1e-3)) < eps_lower_bound(0.6, 10, Privacy(1.0))


def test_dp_learners_stay_below_their_declared_eps(data_home):
    learner, p = build_learner("dp-id3", eps=1.0, data_home=data_home)
    r = run_ind(learner, p, 50, 40, challenges=50, progress=False)
    assert 0 <= r.eps_lower <= 1.0 and not r.eps_flag


def test_ols_registered_with_a_tiny_eps_is_flagged(data_home):
    ols, p = build_learner("ols", data_home=data_home)
    liar = Learner("ols claiming eps=1e-3", ols.fit, Privacy(1e-3), ols.attack, ols.probe)
    r = run_ind(liar, p, 50, 40, challenges=50, progress=False).as_dict()
    assert r["eps_lower"] > 1e-3 and r["eps_flag"] and r["verdict"] == "violates"
