"""DP-ID3 (Friedman & Schuster 2010): budget accounting, mechanisms, limits, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import pandas as pd
from scipy.stats import chisquare

from defenses.datasets import load_steak_survey
from defenses.tree import DPID3Classifier
from defenses.tree._base import contingency
from defenses.tree.dp import exponential_mechanism, quality, quality_sensitivity


@pytest.fixture(scope="module")
def steak(data_home):
    return load_steak_survey(data_home)


@pytest.mark.parametrize("eps,depth", [(1.0, 4), (0.3, 0), (10.0, 7)])
def test_budget_per_query_and_ledger_add_up_to_epsilon(steak, eps, depth):
    m = DPID3Classifier(eps, max_depth=depth, random_state=0).fit(steak.data, steak.target)
    assert m.epsilon_per_query_ == pytest.approx(eps / (2 * (depth + 1)))
    assert len(m.privacy_ledger_) == 2 * (depth + 1)
    assert {c.level for c in m.privacy_ledger_} == set(range(depth + 1))
    assert m.epsilon_spent_ == pytest.approx(eps)
    assert 1 <= m.levels_used_ <= depth + 1
    if (eps, depth) == (1.0, 4):
        assert m.epsilon_per_query_ == pytest.approx(0.1)


def test_small_budget_on_the_survey_stops_at_the_root(steak):
    # docs/defenses.md: B = 1, d = 4 ⇒ ε' = 0.1, threshold √2·9·5/0.1 ≈ 636 > 331 records.
    for seed in range(5):
        m = DPID3Classifier(1.0, max_depth=4, random_state=seed).fit(steak.data, steak.target)
        assert m.tree_.node_count == 1


def test_quality_functions_and_sensitivities():
    # one attribute, values {0, 1}; classes {0, 1}: τ = [[3, 1], [0, 4]]
    tab = np.array([[[3, 1], [0, 4]]])
    p = np.array([3, 1]) / 4
    assert quality(tab, "max")[0] == 7
    assert quality(tab, "gini")[0] == pytest.approx(-(4 * (1 - np.sum(p ** 2)) + 0))
    assert quality(tab, "ig")[0] == pytest.approx(3 * np.log2(3 / 4) + 1 * np.log2(1 / 4))
    assert quality_sensitivity("max", 100) == 1.0
    assert quality_sensitivity("gini", 100) == 2.0
    assert quality_sensitivity("ig", 100) == pytest.approx(np.log2(101) + 1 / np.log(2))


def test_exponential_mechanism_frequencies_match_the_softmax():
    rng = np.random.default_rng(0)
    q, eps, sens = np.array([3.0, 1.0, 0.0, 2.5]), 0.8, 1.0
    draws = np.bincount([exponential_mechanism(q, eps, sens, rng) for _ in range(10_000)], minlength=4)
    w = np.exp(eps * q / (2 * sens))
    expected = 10_000 * w / w.sum()
    assert chisquare(draws, expected).pvalue > 0.01


def test_huge_budget_picks_the_max_quality_attribute_and_fits_full_cells(steak):
    X, y = steak.data, steak.target
    m = DPID3Classifier(1e9, max_depth=1, random_state=0).fit(X, y)
    codes = m.encode(X)
    yc = np.asarray(y.cat.codes)
    q = quality(contingency(codes, yc, np.arange(codes.shape[1]), 9, 5), "max")
    best = set(np.flatnonzero(q == q.max()).tolist())  # income and region tie at 136 on the survey
    roots = {int(DPID3Classifier(1e9, max_depth=1, random_state=s).fit(X, y).tree_.feature[0]) for s in range(12)}
    assert roots == best
    # with every feature used, each training row is labelled by the majority of its full cell
    rng = np.random.default_rng(1)
    Xs = rng.integers(0, 2, size=(60, 3))
    ys = (Xs.sum(axis=1) >= 2).astype(int)
    dm = DPID3Classifier(1e9, max_depth=3, categories=[[0, 1]] * 3, classes=[0, 1], random_state=2).fit(Xs, ys)
    assert (dm.predict(Xs) == ys).all()


def test_children_for_every_value_noisy_counts_and_seeding(steak):
    a = DPID3Classifier(300.0, max_depth=4, random_state=5).fit(steak.data, steak.target)
    b = DPID3Classifier(300.0, max_depth=4, random_state=5).fit(steak.data, steak.target)
    c = DPID3Classifier(300.0, max_depth=4, random_state=6).fit(steak.data, steak.target)
    t = a.tree_
    assert np.array_equal(t.feature, b.tree_.feature) and np.array_equal(t.n_samples, b.tree_.n_samples)
    assert not (np.array_equal(t.n_samples, c.tree_.n_samples) and np.array_equal(t.feature, c.tree_.feature))
    assert (t.n_samples >= 0).all() and (t.class_counts >= 0).all()
    assert not np.allclose(t.n_samples, np.round(t.n_samples))  # released counts are noisy
    for node in np.flatnonzero(t.feature >= 0):
        k = t.n_categories[t.feature[node]]
        assert np.allclose(t.class_counts[node], t.class_counts[t.first_child[node]:t.first_child[node] + k].sum(0))


@pytest.mark.parametrize("kind", ["ig", "gini"])
def test_other_qualities_fit_and_predict(steak, kind):
    m = DPID3Classifier(300.0, max_depth=3, quality=kind, n_bound=1000, random_state=0).fit(steak.data, steak.target)
    assert m.tree_.node_count > 1 and m.epsilon_spent_ == pytest.approx(300.0)
    assert set(m.predict(steak.data)) <= set(m.classes_)


def test_bad_parameters(steak):
    for kw, name in (({"epsilon": 0}, "epsilon"), ({"epsilon": float("inf")}, "epsilon"),
                     ({"max_depth": None}, "max_depth"), ({"quality": "gain_ratio"}, "quality"),
                     ({"n_bound": 0}, "n_bound"), ({"quality": "ig"}, "n_bound"), ({"n_bound": 100}, "n_bound"),
                     ({"classes": ["Rare", "Rare"]}, "classes")):
        with pytest.raises(ValueError, match=name):
            DPID3Classifier(**kw).fit(steak.data, steak.target)


# ------------------------------------------------------------------ public metadata (issue: what is released)
def test_class_set_and_feature_domains_are_never_read_from_private_arrays():
    X = np.array([[0, 1], [1, 0], [1, 1]])
    y = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="class set as a public parameter"):
        DPID3Classifier(1.0, categories=[[0, 1], [0, 1]]).fit(X, y)
    with pytest.raises(ValueError, match="feature 0: .*feature domains as public parameters"):
        DPID3Classifier(1.0, classes=[0, 1]).fit(X, y)
    with pytest.raises(ValueError, match="labels outside classes"):
        DPID3Classifier(1.0, categories=[[0, 1], [0, 1]], classes=[0, 2]).fit(X, y)
    m = DPID3Classifier(1.0, categories=[[0, 1], [0, 1]], classes=[0, 1, 2], random_state=0).fit(X, y)
    assert list(m.classes_) == [0, 1, 2] and m.predict_proba(X).shape == (3, 3)


def test_a_record_of_a_new_class_leaves_every_output_shape_unchanged(steak):
    # Neighbours D and D + one record whose class D lacks: every released shape is the same (classes are
    # public), for array labels with classes= and for a categorical target alike.
    X = steak.data.reset_index(drop=True)
    y = np.asarray(steak.target, dtype=object)
    rare = y != "Rare"
    D, yD = X[rare].reset_index(drop=True), y[rare]
    D1 = pd.concat([D, X[~rare].iloc[:1]], ignore_index=True)
    yD1 = np.append(yD, "Rare")
    classes = list(steak.target.cat.categories)
    shapes = []
    for XX, yy in ((D, yD), (D1, yD1)):
        for target in (yy, pd.Categorical(yy, categories=classes)):
            m = DPID3Classifier(1.0, max_depth=2, classes=classes if isinstance(target, np.ndarray) else None,
                                random_state=0).fit(XX, target)
            shapes.append((list(m.classes_), m.predict_proba(X).shape, m.tree_.class_counts.shape[1],
                           m.tree_.n_categories))
    assert all(s == shapes[0] for s in shapes) and len(shapes[0][0]) == 5
