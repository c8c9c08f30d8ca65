"""ART against our models (ALGORITHMS.md §15): the tree export, the regressor view, the neural wrappers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from art.attacks.inference.attribute_inference import AttributeInferenceWhiteBoxDecisionTree

from defenses.datasets import load_steak_survey
from defenses.interop._ordinal import ordinal_tree
from defenses.interop.art import (ARTBlackBoxAttack, ARTTrueLabelBaseline, ARTWhiteBoxTreeAttack, to_art_regressor,
                                  to_art_tree)
from defenses.tree import (DPID3Classifier, ID3Classifier, MAPWithCountsAttack, PriorityID3Classifier,
                           estimate_prior)

SENSITIVE = "cheated"


@pytest.fixture(scope="module")
def steak(data_home):
    return load_steak_survey(data_home)


@pytest.fixture(scope="module")
def steak3(data_home):
    """The survey with unanswered questions as their own category: "cheated" has three values."""
    return load_steak_survey(data_home, complete_cases=False)


def _with_unseen(df: pd.DataFrame) -> pd.DataFrame:
    out = df.astype(object).copy()
    out.iloc[::5, 11] = "Atlantis"
    out.iloc[1::6, 9] = "$1,000,000+"
    out.iloc[2::9, 6] = None
    out.iloc[3::7, 8] = None
    return out


def _split(n: int, seed: int = 0):
    perm = np.random.default_rng(seed).permutation(n)
    k = int(round(0.2 * n))
    return np.sort(perm[k:]), np.sort(perm[:k])


TREES = {
    "id3": lambda: ID3Classifier(max_depth=5),
    "id3-full": lambda: ID3Classifier(),
    "mid": lambda: ID3Classifier(mid_lambda=10.0, max_depth=5),
    "priority": lambda: PriorityID3Classifier(SENSITIVE, 2, max_depth=5),
    "dp": lambda: DPID3Classifier(epsilon=300.0, max_depth=4, random_state=3),
}


def test_importing_without_art_fails_with_one_line_naming_the_extra():
    code = ("import sys; sys.modules['art'] = None\n"
            "try:\n    import defenses.interop.art\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().count("\n") == 0 and "mid-toolkit[interop]" in out


@pytest.mark.parametrize("name", sorted(TREES))
def test_ordinal_export_predicts_exactly_as_our_tree(steak, steak3, name):
    for d in (steak, steak3):
        m = TREES[name]().fit(d.data, d.target)
        sk = ordinal_tree(m)
        for X in (d.data, _with_unseen(d.data)):
            Z = m.encode(X)
            assert (Z == -1).any() or X is d.data
            assert (sk.predict(Z) == m.predict(X)).all()
            assert np.allclose(sk.predict_proba(Z), m.predict_proba(X))
        # every leaf of ours sits at a leaf of the export with its training count
        leaves = sk.apply(m.encode(d.data))
        ours = m.apply(d.data)
        assert np.array_equal(sk.tree_.weighted_n_node_samples[leaves], m.tree_.n_samples[ours])


def test_ordinal_export_on_random_trees_with_many_valued_features():
    rng = np.random.default_rng(11)
    for _ in range(20):
        k = rng.integers(1, 7, size=4)
        X = np.column_stack([rng.integers(0, kj, size=80) for kj in k]).astype(object)
        y = rng.integers(0, 3, size=80)
        m = ID3Classifier(max_depth=int(rng.integers(1, 5))).fit(X, y)
        probe = np.column_stack([rng.integers(-1, kj + 2, size=200) for kj in k]).astype(object)
        assert (ordinal_tree(m).predict(m.encode(probe)) == m.predict(probe)).all()


def _substitute(codes: np.ndarray, s: int, v: int) -> np.ndarray:
    out = codes.copy()
    out[:, s] = v
    return out


def _art_reference(model, s, X, y_idx, prior, lifestyle):
    """ART's two white-box rules evaluated directly on OUR tree (its leaves, labels and counts): the leaf a
    row reaches with value v holds n(x_K, v) training records (0 where a known value is unseen)."""
    t = model.tree_
    codes = model.encode(X)
    n_rows, n_values = len(codes), len(model.categories_[s])
    count = np.empty((n_rows, n_values))
    label = np.empty((n_rows, n_values), np.int64)
    node = np.empty((n_rows, n_values), np.int64)
    for v in range(n_values):
        node[:, v] = t.apply(_substitute(codes, s, v))
        count[:, v] = np.where(t.feature[node[:, v]] >= 0, 0.0, np.round(t.n_samples[node[:, v]]))
        label[:, v] = t.label[node[:, v]]
    prob = count / n_rows * prior
    if lifestyle:
        phi = np.array([sum(count[np.flatnonzero(node[:, v] == u)[0], v] for u in np.unique(node[:, v])) / n_rows
                        for v in range(n_values)])
        return np.argmax(prob / phi, axis=1)
    match = label == y_idx[:, None]
    return np.where(match.sum(axis=1) == 1, np.argmax(match, axis=1), np.argmax(prob, axis=1))


@pytest.mark.parametrize("name, values", [("id3", 3), ("mid", 2), ("priority", 2), ("dp", 3)])
def test_art_white_box_attacks_follow_their_definitions_row_by_row(steak, steak3, name, values):
    d = steak if values == 2 else steak3
    tr, te = _split(len(d.data))
    m = TREES[name]().fit(d.data.iloc[tr], d.target.iloc[tr])
    prior = estimate_prior(d.data[SENSITIVE].iloc[tr])
    s = list(d.data.columns).index(SENSITIVE)
    assert len(m.categories_[s]) == values
    p = prior.reindex(m.categories_[s]).to_numpy()
    batches = ((d.data.iloc[tr[:80]], d.target.iloc[tr[:80]]), (d.data.iloc[te], d.target.iloc[te]),
               (_with_unseen(d.data).iloc[:60], d.target.iloc[:60]))
    for lifestyle in (False, True):
        attack = ARTWhiteBoxTreeAttack(SENSITIVE, prior, lifestyle=lifestyle)
        for X, y in batches:
            res = attack.infer(m, X, y)
            ref = _art_reference(m, s, X, pd.Index(m.classes_).get_indexer(y), p, lifestyle)
            assert np.array_equal(res.guesses, m.categories_[s][ref])
            assert np.array_equal(res.scores.argmax(axis=1), ref)
    # the attacker may leave the sensitive column out
    X, y = batches[1]
    assert np.array_equal(attack.infer(m, X.drop(columns=SENSITIVE), y).guesses, attack.infer(m, X, y).guesses)


@pytest.mark.parametrize("name", ["id3", "id3-full", "mid", "priority"])
def test_art_white_box_with_phi_priors_gives_our_map_with_counts(steak, name):
    """With priors p(v)/Φ(v) and values in decreasing-prior order, ART's rule is MAP with counts on a binary
    sensitive feature — except on a row where exactly one value reproduces y and its leaf is EMPTY: ART
    takes that value; MAP with counts scores every value 0 there and falls back to p(v)·n/Φ(v)."""
    n_special = 0
    for seed in range(2):
        tr, te = _split(len(steak.data), seed)
        m = TREES[name]().fit(steak.data.iloc[tr], steak.target.iloc[tr])
        prior = estimate_prior(steak.data[SENSITIVE].iloc[tr])
        view = to_art_tree(m, SENSITIVE)
        t, s = m.tree_, view.attack_feature
        path, n_leaf = t.path[t.leaves], t.n_samples[t.leaves]
        p = np.array(view.priors(prior))
        phi = np.array([n_leaf[(path[:, s] < 0) | (path[:, s] == v)].sum() for v in range(len(p))])
        order = np.argsort(-p, kind="stable")
        art = AttributeInferenceWhiteBoxDecisionTree(view.classifier, s)
        for idx in (tr, te):
            X, y = steak.data.iloc[idx], steak.target.iloc[idx]
            ours = MAPWithCountsAttack(SENSITIVE, prior).infer(m, X, y).guesses
            codes = art.infer(view.known(X), view.labels(y), values=[view.values[i] for i in order],
                              priors=list((p / phi)[order]))
            guesses = view.decode(codes)
            nodes = np.column_stack([t.apply(_substitute(m.encode(X), s, v)) for v in range(len(p))])
            reproduces = t.label[nodes] == view.labels(y)[:, None]
            single = reproduces.sum(axis=1) == 1
            special = single & (t.n_samples[nodes][np.arange(len(X)), reproduces.argmax(axis=1)] == 0)
            assert np.array_equal(guesses[~special], ours[~special])
            assert (guesses[special] == view.sensitive_values[reproduces.argmax(axis=1)[special]]).all()
            n_special += int(special.sum())
    assert n_special <= 10


def test_one_hot_export_misleads_arts_attack(steak):
    """Why the ordinal export exists: on to_sklearn()'s one-hot columns ART substitutes 0/1 into ONE column
    of the sensitive block and answers for other records."""
    from art.estimators.classification.scikitlearn import ScikitlearnDecisionTreeClassifier

    m = ID3Classifier().fit(steak.data, steak.target)
    prior = estimate_prior(steak.data[SENSITIVE])
    right = ARTWhiteBoxTreeAttack(SENSITIVE, prior).infer(m, steak.data, steak.target).guesses
    enc, sk = m.to_sklearn()
    Z = enc.transform(steak.data)
    col = int(np.flatnonzero([n.startswith(SENSITIVE) for n in enc.get_feature_names_out()])[1])  # "cheated_Yes"
    art = AttributeInferenceWhiteBoxDecisionTree(ScikitlearnDecisionTreeClassifier(sk), col)
    codes = art.infer(np.delete(Z, col, axis=1), pd.Index(m.classes_).get_indexer(steak.target), values=[0.0, 1.0],
                      priors=[prior["No"], prior["Yes"]])
    wrong = np.where(codes == 1.0, "Yes", "No")
    assert (wrong != right).any()


def test_tree_attack_bad_input(steak):
    m = ID3Classifier(max_depth=3).fit(steak.data, steak.target)
    with pytest.raises(ValueError, match="y"):
        ARTWhiteBoxTreeAttack(SENSITIVE, estimate_prior(steak.data[SENSITIVE])).infer(m, steak.data)
    with pytest.raises(ValueError, match="outside"):
        ARTWhiteBoxTreeAttack(SENSITIVE, {"Maybe": 1.0}).infer(m, steak.data, steak.target)
    with pytest.raises(ValueError, match="not a column"):
        to_art_tree(m, "favourite colour")
    with pytest.raises(ValueError, match="ID3Classifier"):
        to_art_tree(object(), SENSITIVE)
