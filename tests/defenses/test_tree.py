"""ID3 / MID-ID3 / Priority trees: hand-checked examples, invariants, and the scikit-learn export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from defenses.datasets import load_steak_survey
from defenses.tree import DPID3Classifier, ID3Classifier, MissingValueWarning, PriorityID3Classifier


@pytest.fixture(scope="module")
def steak(data_home):
    return load_steak_survey(data_home)


# Quinlan (1986) "play tennis" table: outlook, temperature, humidity, wind -> play.
TENNIS = pd.DataFrame(
    [("Sunny", "Hot", "High", "Weak", "No"), ("Sunny", "Hot", "High", "Strong", "No"),
     ("Overcast", "Hot", "High", "Weak", "Yes"), ("Rain", "Mild", "High", "Weak", "Yes"),
     ("Rain", "Cool", "Normal", "Weak", "Yes"), ("Rain", "Cool", "Normal", "Strong", "No"),
     ("Overcast", "Cool", "Normal", "Strong", "Yes"), ("Sunny", "Mild", "High", "Weak", "No"),
     ("Sunny", "Cool", "Normal", "Weak", "Yes"), ("Rain", "Mild", "Normal", "Weak", "Yes"),
     ("Sunny", "Mild", "Normal", "Strong", "Yes"), ("Overcast", "Mild", "High", "Strong", "Yes"),
     ("Overcast", "Hot", "Normal", "Weak", "Yes"), ("Rain", "Mild", "High", "Strong", "No")],
    columns=["outlook", "temperature", "humidity", "wind", "play"])


def test_play_tennis_reproduces_quinlans_tree():
    X, y = TENNIS.drop(columns="play"), TENNIS["play"]
    m = ID3Classifier().fit(X, y)
    t = m.tree_
    names = list(X.columns)
    # Root: outlook (IG 0.2467 > humidity 0.1518 > wind 0.0481 > temperature 0.0292).
    assert names[t.feature[0]] == "outlook"
    cats = {v: i for i, v in enumerate(m.categories_[0])}
    child = {v: t.first_child[0] + i for v, i in cats.items()}
    assert t.feature[child["Overcast"]] == -1 and m.classes_[t.label[child["Overcast"]]] == "Yes"
    assert names[t.feature[child["Sunny"]]] == "humidity"
    assert names[t.feature[child["Rain"]]] == "wind"
    assert t.node_count == 1 + 3 + 2 + 2 and len(t.leaves) == 5
    assert (m.predict(X) == y).all()
    text = m.export_text()
    assert "outlook = Overcast -> Yes  (n=4; per class 0, 4)" in text
    assert "|   humidity = High -> No" in text


def test_information_gain_and_mid_switch_on_the_hand_example():
    # docs/defenses.md: IG(A) = 0.548795, Ĥ(A) = 1; IG(B) = 0.092359, Ĥ(B) = 0; switch at λ* = 0.456436.
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    X = np.column_stack([[0, 0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 0]])
    root = lambda lam: ID3Classifier(mid_lambda=lam, max_depth=1).fit(X, y).tree_.feature[0]
    assert root(0.0) == 0 and root(0.456) == 0
    assert root(0.457) == 1 and root(0.5) == 1
    assert ID3Classifier(max_depth=1).fit(X, y).train_prediction_entropy_ == pytest.approx(1.0)
    assert ID3Classifier(mid_lambda=0.5, max_depth=1).fit(X, y).train_prediction_entropy_ == 0.0


def _reference_id3(codes, y, n_cat, n_classes, unused, depth, max_depth):
    """Textbook recursive ID3 (pure Python), for comparison: returns nested (feature, label, children)."""
    counts = np.bincount(y, minlength=n_classes)
    label = int(np.argmax(counts))
    if len(set(y.tolist())) <= 1 or len(y) < 2 or not unused or (max_depth is not None and depth >= max_depth):
        return (-1, label, [])

    def H(lab):
        p = np.bincount(lab, minlength=n_classes) / len(lab)
        p = p[p > 0]
        return float(-(p * np.log2(p)).sum())

    gains = []
    for f in sorted(unused):
        g = H(y) - sum((codes[:, f] == v).sum() / len(y) * H(y[codes[:, f] == v])
                       for v in range(n_cat[f]) if (codes[:, f] == v).any())
        gains.append((g, f))
    best = max(g for g, _ in gains)
    f = min(f for g, f in gains if g >= best - 1e-12)
    children = []
    for v in range(n_cat[f]):
        rows = codes[:, f] == v
        if rows.any():
            children.append(_reference_id3(codes[rows], y[rows], n_cat, n_classes, unused - {f}, depth + 1, max_depth))
        else:
            children.append((-1, label, []))
    return (f, label, children)


def _as_nested(tree, node=0):
    if tree.feature[node] < 0:
        return (-1, int(tree.label[node]), [])
    k = tree.n_categories[tree.feature[node]]
    return (int(tree.feature[node]), int(tree.label[node]),
            [_as_nested(tree, tree.first_child[node] + v) for v in range(k)])


def _strip_internal_labels(t):
    f, label, ch = t
    return (f, label if f < 0 else None, [_strip_internal_labels(c) for c in ch])


@pytest.mark.parametrize("max_depth", [1, 3, None])
def test_lambda_zero_equals_reference_id3_on_the_survey(steak, max_depth):
    m = ID3Classifier(mid_lambda=0.0, max_depth=max_depth).fit(steak.data, steak.target)
    codes = m.encode(steak.data)
    y = np.asarray(steak.target.cat.codes)
    ref = _reference_id3(codes, y, [len(c) for c in m.categories_], 5, set(range(codes.shape[1])), 0, max_depth)
    assert _strip_internal_labels(_as_nested(m.tree_)) == _strip_internal_labels(ref)
    # growth order and scope are irrelevant at λ = 0
    for kw in ({"growth": "dfs"}, {"mid_scope": "local"}):
        other = ID3Classifier(max_depth=max_depth, **kw).fit(steak.data, steak.target)
        assert _as_nested(other.tree_) == _as_nested(m.tree_)


def test_mid_lambda_lowers_prediction_entropy_on_the_survey(steak):
    lambdas = [0.0, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0]
    h = [ID3Classifier(mid_lambda=lam, max_depth=5).fit(steak.data, steak.target).train_prediction_entropy_
         for lam in lambdas]
    assert all(b <= a + 1e-12 for a, b in zip(h, h[1:])), h
    assert h[0] > 1.8 and h[-1] < 0.25 * h[0]  # large λ collapses the predictions
    local = [ID3Classifier(mid_lambda=lam, max_depth=5, mid_scope="local").fit(steak.data, steak.target)
             .train_prediction_entropy_ for lam in (0.0, 3.0)]
    assert local[1] < 0.5 * local[0]


def test_huge_lambda_on_a_table_where_a_neutral_split_exists_predicts_one_class():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(200, 4))
    y = (X[:, 0] + (rng.random(200) < 0.2)) % 3
    X[:, 2:] = 0  # two features whose splits never change any label (one per level)
    m = ID3Classifier(mid_lambda=1e6, max_depth=2).fit(X, y)
    assert len(np.unique(m.predict(X))) == 1 and m.train_prediction_entropy_ == 0.0


def test_explicit_public_domains_give_children_for_unobserved_values():
    X = np.array([["a", "x"], ["a", "y"], ["b", "x"], ["b", "y"]], dtype=object)
    y = np.array([0, 0, 1, 1])
    m = ID3Classifier(categories=[["a", "b", "c"], ["x", "y"]]).fit(X, y)
    assert m.tree_.n_categories == (3, 2) and m.tree_.feature[0] == 0
    assert m.tree_.n_samples[m.tree_.first_child[0] + 2] == 0  # the empty child for "c"
    assert m.predict(np.array([["c", "x"]], dtype=object))[0] == 0  # parent's label (tie → lowest class)
    with pytest.raises(ValueError, match="categories"):
        ID3Classifier(categories=[["a"], ["x", "y"]]).fit(X, y)
    with pytest.raises(ValueError, match="one domain per feature"):
        ID3Classifier(categories=[["a", "b"]]).fit(X, y)


def test_gini_criterion_and_stopping_rules(steak):
    m = ID3Classifier(criterion="gini", max_depth=2, min_samples_split=30).fit(steak.data, steak.target)
    t = m.tree_
    assert t.max_depth <= 2
    assert (t.n_samples[t.feature >= 0] >= 30).all()
    # every internal node has one child per value of its feature, empty ones included
    for node in np.flatnonzero(t.feature >= 0):
        kids = t.first_child[node] + np.arange(t.n_categories[t.feature[node]])
        assert (t.parent[kids] == node).all() and t.n_samples[kids].sum() == t.n_samples[node]


def test_prediction_is_the_leaf_label_of_a_per_row_walk_and_unseen_values_stop(steak):
    m = ID3Classifier(max_depth=4).fit(steak.data, steak.target)
    t = m.tree_
    codes = m.encode(steak.data)
    codes[::7, 11] = -1  # unseen census region on some rows
    for row, node in zip(codes, t.apply(codes)):
        walk = 0
        while t.feature[walk] >= 0 and row[t.feature[walk]] >= 0:
            walk = t.first_child[walk] + row[t.feature[walk]]
        assert walk == node
    assert np.allclose(m.predict_proba(steak.data).sum(axis=1), 1.0)
    assert (m.classes_[m.predict_proba(steak.data).argmax(axis=1)] == m.predict(steak.data)).all()


def test_priority_places_the_sensitive_feature_exactly_at_its_depth(steak):
    s = list(steak.data.columns).index("cheated")
    for depth in (0, 1, 2, 3):
        m = PriorityID3Classifier("cheated", depth, max_depth=5).fit(steak.data, steak.target)
        t = m.tree_
        assert set(np.unique(t.depth[t.feature == s])) == {depth}
        # every node deeper than ℓ has exactly one test of s on its path, at depth ℓ
        deep = np.flatnonzero(t.depth > depth)
        assert len(deep) > 0 and (t.path[deep, s] >= 0).all()
        for node in deep[::5]:
            anc = node
            while t.depth[anc] > depth:
                anc = t.parent[anc]
            assert t.feature[anc] == s
        # nodes at depth ℓ that were split at all were split on s
        at = (t.depth == depth) & (t.feature >= 0)
        assert (t.feature[at] == s).all()


def test_priority_none_never_uses_the_feature_and_equals_id3_without_it(steak):
    m = PriorityID3Classifier("cheated", None, max_depth=5).fit(steak.data, steak.target)
    s = list(steak.data.columns).index("cheated")
    assert not (m.tree_.feature == s).any()
    plain = ID3Classifier(max_depth=5).fit(steak.data.drop(columns="cheated"), steak.target)
    assert (plain.predict(steak.data.drop(columns="cheated")) == m.predict(steak.data)).all()


def _with_unseen(df: pd.DataFrame) -> pd.DataFrame:
    out = df.astype(object).copy()
    out.iloc[::5, 11] = "Atlantis"
    out.iloc[1::6, 9] = "$1,000,000+"
    out.iloc[2::9, 6] = None
    return out


@pytest.mark.parametrize("make", [
    lambda: ID3Classifier(),
    lambda: ID3Classifier(mid_lambda=3.0, max_depth=4, criterion="gini"),
    lambda: PriorityID3Classifier("cheated", 1, max_depth=5),
    lambda: DPID3Classifier(epsilon=300.0, max_depth=4, random_state=3),
])
@pytest.mark.filterwarnings("ignore::defenses.tree.MissingValueWarning")  # _with_unseen adds missing values
def test_to_sklearn_predicts_exactly_as_ours_on_the_survey(steak, make):
    m = make().fit(steak.data, steak.target)
    enc, sk = m.to_sklearn()
    for X in (steak.data, _with_unseen(steak.data)):
        Z = enc.transform(X)
        assert (sk.predict(Z) == m.predict(X)).all()
        assert np.allclose(sk.predict_proba(Z), m.predict_proba(X))
    assert sk.tree_.n_node_samples[0] == round(m.tree_.n_samples[0])
    assert list(sk.classes_) == list(m.classes_)


TREE_FIELDS = ("feature", "first_child", "parent", "branch", "depth", "n_samples", "class_counts", "label", "path")


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 4), st.integers(2, 40), st.sampled_from([None, 1, 2]),
       st.floats(0, 5), st.sampled_from(["global", "local"]), st.sampled_from(["entropy", "gini"]))
def test_property_export_matches_levelwise_equals_queue_and_lambda_zero_is_reference(
        seed, n_feat, n, max_depth, lam, scope, criterion):
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 4, size=n_feat)
    X = np.column_stack([rng.integers(0, kj, size=n) for kj in k]).astype(object)
    y = rng.integers(0, 3, size=n)
    m = ID3Classifier(mid_lambda=lam, max_depth=max_depth, mid_scope=scope, criterion=criterion).fit(X, y)
    # the level-at-a-time grower builds exactly the tree of the node-by-node FIFO queue
    queue = m._grow_nodes(m.encode(X), np.searchsorted(m.classes_, y))
    assert all(np.array_equal(getattr(m.tree_, f), getattr(queue, f)) for f in TREE_FIELDS)
    probe = np.column_stack([rng.integers(-1, kj + 1, size=50) for kj in k]).astype(object)  # -1, k unseen
    enc, sk = m.to_sklearn()
    assert (sk.predict(enc.transform(probe)) == m.predict(probe)).all()
    if lam == 0 and criterion == "entropy":
        codes = m.encode(X)
        ref = _reference_id3(codes, np.searchsorted(m.classes_, y), [len(c) for c in m.categories_],
                             len(m.classes_), set(range(n_feat)), 0, max_depth)
        assert _strip_internal_labels(_as_nested(m.tree_)) == _strip_internal_labels(ref)


def test_sklearn_conventions_and_bad_parameters(steak):
    m = ID3Classifier(mid_lambda=0.5, max_depth=3)
    assert clone(m).get_params() == m.get_params()
    assert not hasattr(m, "tree_")
    with pytest.raises(ValueError, match="mid_lambda"):
        ID3Classifier(mid_lambda=-1).fit(steak.data, steak.target)
    with pytest.raises(ValueError, match="max_depth"):
        ID3Classifier(max_depth=-2).fit(steak.data, steak.target)
    with pytest.raises(ValueError, match="criterion"):
        ID3Classifier(criterion="chi2").fit(steak.data, steak.target)
    with pytest.raises(ValueError, match="priority_depth"):
        PriorityID3Classifier("cheated", -1).fit(steak.data, steak.target)
    with pytest.raises(ValueError, match="sensitive_feature"):
        PriorityID3Classifier("shoe size", 1).fit(steak.data, steak.target)
    with pytest.raises(ValueError, match="missing values"):
        ID3Classifier().fit(np.array([["a"], [None]], dtype=object), [0, 1])
    with pytest.raises(ValueError, match="y must be 1-D"):
        ID3Classifier().fit(steak.data, steak.target[:10])
    fitted = ID3Classifier(max_depth=2).fit(steak.data, steak.target)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(steak.data.iloc[:, :3])
    assert str(fitted).startswith("ID3Classifier\n")
    assert fitted.tree_.to_dict()["n_categories"] == [len(c) for c in fitted.categories_]


@pytest.mark.filterwarnings("ignore::defenses.tree.ContinuousFeatureWarning")  # the checks fit random floats
@pytest.mark.parametrize("est", [ID3Classifier(), PriorityID3Classifier(0, 1)], ids=["ID3", "Priority"])
def test_scikit_learn_estimator_checks(est):
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(est, expected_failed_checks={
        "check_estimators_nan_inf": "by design a missing or unseen value at predict time stops the row at "
                                    "the node testing it (its label is predicted), as for an unseen category"})


# ------------------------------------------------------------------ encode once (EncodedTable)
def _same_tree(a, b):
    for key in ("feature", "first_child", "n_samples", "class_counts", "label", "path"):
        np.testing.assert_array_equal(getattr(a.tree_, key), getattr(b.tree_, key))


@pytest.mark.parametrize("make", [
    lambda: ID3Classifier(max_depth=5), lambda: ID3Classifier(mid_lambda=10.0, max_depth=5),
    lambda: ID3Classifier(mid_lambda=3.0, growth="dfs", criterion="gini"),
    lambda: PriorityID3Classifier("cheated", 2, max_depth=5),
    lambda: DPID3Classifier(epsilon=30.0, max_depth=4, random_state=3)], ids=["id3", "mid", "mid-dfs-gini",
                                                                             "priority", "dp-id3"])
def test_models_on_encoded_rows_equal_models_on_the_dataframe(steak, make):
    """Encode the survey once; a model fitted and queried on row subsets of the table is the model
    fitted and queried on the same rows of the DataFrame: same tree, predictions and probabilities."""
    from defenses.tree import encode_table

    X, y = steak.data, steak.target
    table = encode_table(X)
    rng = np.random.default_rng(0)
    train, test = np.sort(rng.permutation(len(X))[:250]), np.arange(0, len(X), 3)
    a = make().fit(X.iloc[train], y.iloc[train])
    b = make().fit(table[train], y.iloc[train])
    _same_tree(a, b)
    assert list(b.feature_names_in_) == list(X.columns)
    assert all(np.array_equal(u, v) for u, v in zip(a.categories_, b.categories_))
    for m in (a, b):  # either model takes either form
        np.testing.assert_array_equal(m.predict(table[test]), a.predict(X.iloc[test]))
        np.testing.assert_array_equal(m.predict_proba(table[test]), a.predict_proba(X.iloc[test]))
        np.testing.assert_array_equal(m.encode(table[test]), a.encode(X.iloc[test]))


def test_attacks_on_encoded_rows_equal_attacks_on_the_dataframe(steak):
    from defenses.tree import MAPWithCountsAttack, NaiveMAPClassifierAttack, confusion_matrix, encode_table, estimate_prior

    X, y = steak.data, steak.target
    table = encode_table(X)
    m = ID3Classifier(max_depth=5).fit(table, y)
    prior = estimate_prior(X["cheated"])
    conf = confusion_matrix(m, table, y)
    np.testing.assert_array_equal(conf, confusion_matrix(m, X, y))
    for attack in (NaiveMAPClassifierAttack("cheated", prior, conf), MAPWithCountsAttack("cheated", prior)):
        on_table, on_frame = attack.fit(m).infer(table, y), attack.infer(X, y)
        np.testing.assert_array_equal(on_table.guesses, on_frame.guesses)
        np.testing.assert_array_equal(on_table.scores, on_frame.scores)
    np.testing.assert_array_equal(table.values("cheated"), X["cheated"].to_numpy(dtype=object))


def test_encoded_table_with_other_domains_is_translated_and_missing_values_behave_as_in_a_dataframe():
    from defenses.tree import EncodedTable, encode_table

    frame = TENNIS.drop(columns="play")
    y = TENNIS["play"]
    m = ID3Classifier().fit(frame, y)
    queries = pd.DataFrame({"outlook": ["Rain", "Snow", None], "temperature": ["Hot", "Mild", "Cool"],
                            "humidity": ["High", "Normal", "High"], "wind": ["Weak", "Strong", None]})
    table = encode_table(queries)  # its own (smaller, different) domains
    assert table.codes[2, 0] == -1 and list(table.categories[0]) == ["Rain", "Snow"]
    np.testing.assert_array_equal(m.encode(table), m.encode(queries))
    with pytest.warns(MissingValueWarning, match="1 of 3 rows have missing values"):
        np.testing.assert_array_equal(m.predict(table), m.predict(queries))
    with pytest.raises(ValueError, match="missing values"):
        ID3Classifier().fit(table, ["Yes", "No", "Yes"])
    explicit = encode_table(frame, categories=[["Sunny", "Overcast"], *m.categories_[1:]])
    assert (explicit.codes[:, 0] == -1).sum() == (frame["outlook"] == "Rain").sum()
    with pytest.raises(ValueError, match="outside its given categories"):
        ID3Classifier(categories=[["Sunny", "Overcast", "Rain"], *m.categories_[1:]]).fit(
            encode_table(queries.fillna("Weak")), ["Yes", "No", "Yes"])
    with pytest.raises(ValueError, match="columns differ"):
        m.predict(EncodedTable(table.codes, table.categories, ("a", "b", "c", "d")))
    with pytest.raises(ValueError, match="codes must lie"):
        EncodedTable(np.array([[5, 0, 0, 0]]), table.categories)
