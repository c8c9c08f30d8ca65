"""Naive MAP, MAP with counts and the prior baseline: hand-built tree (docs/attacks.md) and the survey."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion

from defenses.datasets import load_steak_survey
from defenses.tree import (ID3Classifier, MAPWithCountsAttack, NaiveMAPAttack, NaiveMAPClassifierAttack, PriorAttack,
                           PriorBaseline, PriorityID3Classifier, confusion_matrix, estimate_prior)
from validation.tree import binary_prf


@pytest.fixture(scope="module")
def hand_tree():
    """x1 = a → leaf Medium (n=40); x1 = b → s: Yes → Rare (n=5), No → Medium (n=55)."""
    rows = [("a", "Yes", "Medium")] * 15 + [("a", "No", "Medium")] * 25 + \
           [("b", "Yes", "Rare")] * 5 + [("b", "No", "Medium")] * 55
    df = pd.DataFrame(rows, columns=["x1", "s", "y"])
    X = df[["x1", "s"]]
    m = PriorityID3Classifier("s", 1).fit(X, df["y"])  # s excluded at the root, forced at depth 1
    return m


def test_hand_tree_has_the_documented_shape(hand_tree):
    t = hand_tree.tree_
    assert t.feature[0] == 0 and t.feature[1] == -1 and t.feature[2] == 1
    assert list(t.n_samples[t.leaves]) == [40, 55, 5]  # s's domain is sorted: No, Yes


def test_map_with_counts_on_the_hand_tree(hand_tree):
    attack = MAPWithCountsAttack("s", {"Yes": 0.2, "No": 0.8})
    known = pd.DataFrame({"x1": ["b", "b", "a"], "s": ["?", "?", "?"]})
    res = attack.fit(hand_tree).infer(known, ["Medium", "Rare", "Medium"])
    by = {v: i for i, v in enumerate(res.values)}
    assert res.scores[0, by["Yes"]] == 0 and res.scores[0, by["No"]] == pytest.approx(0.8 * 55 / 95)
    assert res.scores[1, by["Yes"]] == pytest.approx(0.2 * 5 / 45) and res.scores[1, by["No"]] == 0
    assert res.scores[2, by["Yes"]] == pytest.approx(0.2 * 40 / 45)
    assert res.scores[2, by["No"]] == pytest.approx(0.8 * 40 / 95)
    assert list(res.guesses) == ["No", "Yes", "No"]
    assert np.allclose(res.posterior().sum(axis=1), 1.0)
    # the sensitive column may be absent from what the attacker passes
    res2 = attack.fit(hand_tree).infer(known[["x1"]], ["Medium", "Rare", "Medium"])
    assert np.array_equal(res.scores, res2.scores)


def test_map_with_counts_with_an_unknown_feature_sums_consistent_leaves(hand_tree):
    attack = MAPWithCountsAttack("s", {"Yes": 0.2, "No": 0.8})
    known = pd.DataFrame({"x1": [None, None], "s": [None, None]}, dtype=object)
    res = attack.fit(hand_tree).infer(known, ["Rare", "Medium"])
    by = {v: i for i, v in enumerate(res.values)}
    # y = Rare: Yes ← L2 (5/45), No ← nothing; y = Medium: Yes ← L1 (40/45), No ← L1 + L3 (95/95)
    assert res.scores[0, by["Yes"]] == pytest.approx(0.2 * 5 / 45) and res.scores[0, by["No"]] == 0
    assert res.scores[1, by["Yes"]] == pytest.approx(0.2 * 40 / 45)
    assert res.scores[1, by["No"]] == pytest.approx(0.8)
    assert list(res.guesses) == ["Yes", "No"]


def test_map_with_counts_drops_the_label_filter_when_no_value_reproduces_y(hand_tree):
    attack = MAPWithCountsAttack("s", {"Yes": 0.2, "No": 0.8})
    res = attack.fit(hand_tree).infer(pd.DataFrame({"x1": ["a"], "s": ["?"]}), ["Rare"])
    by = {v: i for i, v in enumerate(res.values)}
    assert res.scores[0, by["Yes"]] == pytest.approx(0.2 * 40 / 45)
    assert res.scores[0, by["No"]] == pytest.approx(0.8 * 40 / 95)


def test_naive_map_on_the_hand_tree(hand_tree):
    classes = list(hand_tree.classes_)
    assert classes == ["Medium", "Rare"]
    conf = np.array([[0.9, 0.05], [0.1, 0.9]])  # C[Medium, Medium] = 0.9, C[Medium, Rare] = 0.05
    attack = NaiveMAPClassifierAttack("s", {"Yes": 0.2, "No": 0.8}, conf)
    res = attack.fit(hand_tree).infer(pd.DataFrame({"x1": ["b", "b"], "s": ["?", "?"]}), ["Medium", "Rare"])
    by = {v: i for i, v in enumerate(res.values)}
    assert res.scores[0, by["Yes"]] == pytest.approx(0.01) and res.scores[0, by["No"]] == pytest.approx(0.72)
    assert res.scores[1, by["Yes"]] == pytest.approx(0.2 * 0.9) and res.scores[1, by["No"]] == pytest.approx(0.8 * 0.1)
    assert list(res.guesses) == ["No", "Yes"]
    # ties go to the larger prior: both values give the same prediction at x1 = a
    flat = NaiveMAPClassifierAttack("s", {"Yes": 0.6, "No": 0.4}, conf)
    assert flat.fit(hand_tree).infer(pd.DataFrame({"x1": ["a"], "s": ["?"]}), ["Medium"]).guesses[0] == "Yes"
    skewed = NaiveMAPClassifierAttack("s", {"Yes": 0.4, "No": 0.6}, conf)
    assert skewed.fit(hand_tree).infer(pd.DataFrame({"x1": ["a"], "s": ["?"]}), ["Medium"]).guesses[0] == "No"


def test_confusion_prior_and_bad_inputs(hand_tree):
    X = pd.DataFrame({"x1": ["a", "b", "b"], "s": ["No", "Yes", "No"]})
    y = ["Medium", "Medium", "Rare"]
    C = confusion_matrix(hand_tree, X, y)
    ref = sk_confusion(y, hand_tree.predict(X), labels=hand_tree.classes_).astype(float)
    assert np.allclose(C, ref / ref.sum(axis=1, keepdims=True))
    p = estimate_prior(pd.Categorical(["Yes", "No", "No", "No"], categories=["No", "Yes"]))
    assert p.to_dict() == {"No": 0.75, "Yes": 0.25}
    with pytest.raises(ValueError, match="outside"):
        estimate_prior(["Maybe"], domain=["No", "Yes"])
    with pytest.raises(ValueError, match="prior"):
        MAPWithCountsAttack("s", {"Perhaps": 1.0}).fit(hand_tree)
    with pytest.raises(ValueError, match="label"):
        MAPWithCountsAttack("s", {"Yes": 0.5, "No": 0.5}).fit(hand_tree).infer(X, ["Raw", "Rare", "Rare"])
    with pytest.raises(ValueError, match="confusion"):
        NaiveMAPClassifierAttack("s", {"Yes": 0.5, "No": 0.5}, np.eye(3)).fit(hand_tree)
    with pytest.raises(ValueError, match="strategy"):
        PriorBaseline({"Yes": 0.5, "No": 0.5}, strategy="best")
    mode = PriorBaseline({"Yes": 0.2, "No": 0.8}).infer(X)
    assert list(mode.guesses) == ["No"] * 3
    sampled = PriorBaseline({"Yes": 0.2, "No": 0.8}, "sample", random_state=0).infer(np.zeros((5000, 1)))
    assert abs(np.mean(sampled.guesses == "Yes") - 0.2) < 0.02


def test_attacks_on_the_undefended_survey_tree(data_home):
    """Training respondents of a tree fitted on the whole survey: white box ≥ black box ≥ prior."""
    d = load_steak_survey(data_home)
    X, y = d.data, d.target
    m = ID3Classifier(max_depth=5).fit(X, y)
    prior = estimate_prior(X["cheated"])
    truth = X["cheated"].to_numpy()
    wc = MAPWithCountsAttack("cheated", prior).fit(m).infer(X, y)
    nm = NaiveMAPClassifierAttack("cheated", prior).fit(m, X, y).infer(X, y)  # C estimated on (X, y)
    mode = PriorBaseline(prior).infer(X)
    f = {name: binary_prf(truth, r.guesses) for name, r in (("wc", wc), ("nm", nm), ("mode", mode))}
    assert f["wc"][2] >= f["nm"][2] > f["mode"][2] == 0.0
    # both attacks are far more precise than the base rate of "Yes" (57/331 = 0.17)
    assert f["wc"][0] > 0.5 and f["nm"][0] > 0.5


def test_map_with_counts_fast_path_equals_the_leaf_matching_path(data_home):
    """Rows with an unknown feature go through the general leaf-matching code; a feature the tree never
    tests carries no information, so marking it unknown must not change any score."""
    d = load_steak_survey(data_home)
    X, y = d.data, d.target
    m = PriorityID3Classifier("cheated", 1, max_depth=3).fit(X, y)
    unused = [c for j, c in enumerate(X.columns) if not (m.tree_.feature == j).any()]
    assert unused
    prior = estimate_prior(X["cheated"])
    attack = MAPWithCountsAttack("cheated", prior, chunk_size=50)
    full = attack.fit(m).infer(X, y)
    blind = X.astype(object).copy()
    blind[unused[0]] = None
    partial = attack.infer(blind, y)
    assert np.allclose(full.scores, partial.scores) and (full.guesses == partial.guesses).all()


def test_old_names_and_call_shapes_still_give_the_same_answers_with_a_warning(hand_tree):
    known = pd.DataFrame({"x1": ["b", "b", "a"], "s": ["?", "?", "?"]})
    y = ["Medium", "Rare", "Medium"]
    prior = {"Yes": 0.2, "No": 0.8}
    conf = np.array([[0.9, 0.05], [0.1, 0.9]])
    new = NaiveMAPClassifierAttack("s", prior, conf).fit(hand_tree).infer(known, y)
    with pytest.warns(DeprecationWarning, match="NaiveMAPAttack"):
        old = NaiveMAPAttack("s", prior, conf)
    with pytest.warns(DeprecationWarning, match=r"infer\(model, known, y\)"):
        assert np.array_equal(old.infer(hand_tree, known, y).scores, new.scores)
    with pytest.warns(DeprecationWarning, match=r"infer\(model, known, y\)"):
        counted = MAPWithCountsAttack("s", prior).infer(hand_tree, known, y)
    assert np.array_equal(counted.scores, MAPWithCountsAttack("s", prior).fit(hand_tree).infer(known, y).scores)
    with pytest.warns(DeprecationWarning, match="PriorAttack"):
        assert list(PriorAttack(prior).infer(hand_tree, known, y).guesses) == ["No"] * 3


def test_tree_attacks_need_fit_and_check_their_parameters_when_made(hand_tree):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MAPWithCountsAttack("s", {"Yes": 0.2, "No": 0.8}).infer(pd.DataFrame({"x1": ["a"]}), ["Rare"])
    with pytest.raises(ValueError, match="chunk_size"):
        MAPWithCountsAttack("s", {"Yes": 0.2, "No": 0.8}, chunk_size=0)
    with pytest.raises(ValueError, match="confusion is None"):
        NaiveMAPClassifierAttack("s", {"Yes": 0.2, "No": 0.8}).fit(hand_tree)
    attack = MAPWithCountsAttack("s", {"Yes": 0.2, "No": 0.8}, chunk_size=7).fit(hand_tree)
    copy = clone(attack)
    assert copy.get_params() == attack.get_params() and not hasattr(copy, "model_")


def test_naive_map_against_any_scikit_learn_classifier():
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"s": rng.integers(0, 2, 400), "x1": rng.integers(0, 2, 400)})
    y = np.where(X["s"] ^ X["x1"], "odd", "even")  # the label reveals s once x1 is known
    model = DecisionTreeClassifier(random_state=0).fit(X, y)
    attack = NaiveMAPClassifierAttack("s", {0: 0.5, 1: 0.5}).fit(model, X, y)  # C estimated: the identity here
    np.testing.assert_allclose(attack.confusion_, np.eye(2))
    res = attack.infer(X.assign(s=-1), y)  # whatever the sensitive column holds is ignored
    assert res.accuracy(X["s"]) == 1.0 and list(res.values) == [0, 1]
    blind = DecisionTreeClassifier(random_state=0).fit(X.assign(s=0), y)
    res_blind = NaiveMAPClassifierAttack("s", {0: 0.6, 1: 0.4}).fit(blind, X, y).infer(X, y)
    assert set(res_blind.guesses) == {0}  # a model that ignores s gives every value the same score: the prior wins
    on_array = NaiveMAPClassifierAttack(0, {0: 0.5, 1: 0.5}).fit(
        DecisionTreeClassifier(random_state=0).fit(X.to_numpy(), y), X.to_numpy(), y)
    assert on_array.infer(X.to_numpy(), y).accuracy(X["s"]) == 1.0
    with pytest.raises(ValueError, match="mapping"):
        NaiveMAPClassifierAttack("s", [0.5, 0.5]).fit(model, X, y)


# ------------------------------------------------------------------------- learned attackers (no model / model)


def test_f1_threshold_is_the_f1_optimal_cut_and_can_be_always_positive():
    from defenses.tree.attacks import _f1_threshold

    truth = np.array([1, 1, 0, 1, 0, 0])
    proba = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.1])
    # cut at 0.6: TP 3, FP 1, FN 0 → F1 6/7, the best of every cut (0.9: 2/4, 0.8: 4/5, 0.7: 4/6, 0.2: 6/8)
    assert _f1_threshold(truth, proba) == 0.6
    # with a rare, unpredictable positive the best rule guesses it for everyone (F1 = 2b/(1+b))
    assert _f1_threshold(np.array([0, 0, 0, 1]), np.array([0.3, 0.2, 0.25, 0.1])) == 0.1


def _survey_split(seed=0):
    from defenses.tree import encode_table

    d = load_steak_survey()
    perm = np.random.default_rng(seed).permutation(len(d.data))
    te, tr = np.sort(perm[:66]), np.sort(perm[66:])
    return d, encode_table(d.data), tr, te


class _Oracle:
    """Evidence that knows the truth (reads the sensitive column of the table): the plumbing test double."""

    prior = {"No": 0.5, "Yes": 0.5}

    def __init__(self, informative=True):
        self.informative = informative

    def infer(self, table, y):
        from defenses.tree import AttributeInference

        s = table.codes[:, list(table.feature_names).index("cheated")]
        scores = np.eye(2)[s] * 0.5 if self.informative else np.full((len(s), 2), 0.25)
        return AttributeInference(guesses=np.array(["No", "Yes"])[s], scores=scores, values=np.array(["No", "Yes"]))


def test_no_model_attacker_learns_from_the_attackers_records_and_ignores_the_model():
    from defenses.tree import NoModelAttack

    d, T, tr, te = _survey_split()
    y = d.target
    attack = NoModelAttack("cheated", "Yes").fit(None, T[tr], y.iloc[tr])
    res = attack.infer(T[te], y.iloc[te])
    ignored = NoModelAttack("cheated", "Yes").fit("any model", T[tr], y.iloc[tr])
    np.testing.assert_array_equal(res.guesses, ignored.infer(T[te], y.iloc[te]).guesses)
    assert set(res.guesses) <= {"No", "Yes"} and np.allclose(res.scores.sum(1), 1.0)
    truth = d.data["cheated"].to_numpy()
    # its F1-optimal rule is never worse, on the attacker's own records, than always answering "Yes"
    f1_rule = binary_prf(truth[tr], attack.infer(T[tr], y.iloc[tr]).guesses)[2]
    assert f1_rule >= binary_prf(truth[tr], np.full(len(tr), "Yes"))[2] - 1e-12
    with pytest.raises(ValueError, match="not fitted"):
        NoModelAttack("cheated", "Yes").infer(T[te], y.iloc[te])
    with pytest.raises(ValueError, match="positive value"):
        NoModelAttack("cheated", "Maybe").fit(None, T[tr], y.iloc[tr])
    with pytest.raises(ValueError, match="n_folds"):
        NoModelAttack("cheated", "Yes", n_folds=1)


def test_model_assisted_attacker_uses_the_evidence_when_it_informs_and_falls_back_when_it_does_not():
    from defenses.tree import ModelAssistedAttack, NoModelAttack, shadow_folds

    d, T, tr, te = _survey_split()
    y, truth = d.target, d.data["cheated"].to_numpy()[te]
    model = ID3Classifier(max_depth=3).fit(T[tr], y.iloc[tr])
    free = binary_prf(truth, NoModelAttack("cheated", "Yes").fit(None, T[tr], y.iloc[tr]).infer(T[te], y.iloc[te])
                      .guesses)[2]
    oracle = ModelAssistedAttack("cheated", lambda m, t, yy: _Oracle(), "Yes").fit(model, T[tr], y.iloc[tr])
    assert binary_prf(truth, oracle.infer(T[te], y.iloc[te]).guesses)[2] == 1.0 > free
    blank = ModelAssistedAttack("cheated", lambda m, t, yy: _Oracle(False), "Yes").fit(model, T[tr], y.iloc[tr])
    assert binary_prf(truth, blank.infer(T[te], y.iloc[te]).guesses)[2] == pytest.approx(free, abs=0.05)
    # with shadows, the evidence it learns from is that of models that did not train on the record
    seen = []

    def evidence(m, t, yy):
        seen.append(m)
        prior = estimate_prior(d.data["cheated"].iloc[tr])
        return NaiveMAPClassifierAttack("cheated", prior, confusion_matrix(m, t, yy)).fit(m)

    shadows = shadow_folds(ID3Classifier(max_depth=3), T[tr], y.iloc[tr], 3)
    assert sorted(np.concatenate([h for _, h in shadows]).tolist()) == list(range(len(tr)))
    ModelAssistedAttack("cheated", evidence, "Yes").fit(model, T[tr], y.iloc[tr], shadows=shadows)
    assert seen[0] is model and [m for m in seen[1:]] == [s for s, _ in shadows]
    with pytest.raises(ValueError, match="needs the model"):
        ModelAssistedAttack("cheated", evidence, "Yes").fit(None, T[tr], y.iloc[tr])
