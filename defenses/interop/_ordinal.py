"""A categorical tree as a scikit-learn tree on ordinal codes: one column per feature, thresholds.

ART's white-box decision-tree attacks substitute each candidate value of the attacked feature into ONE
column and read the leaf each substituted row reaches (docs/attacks.md). Here every feature is one
column holding its integer code in the model's domain (``model.encode``: ``0..k−1``, ``−1`` for a value
outside the domain or missing), and a multiway test of feature ``f`` with ``k`` values becomes the chain of
``k`` threshold tests ``x_f ≤ −0.5, x_f ≤ 0.5, …, x_f ≤ k − 1.5``: the left branch of the first test is a
leaf with the multiway node's own label and no training records (where our ``apply`` stops a row with an
unseen value), the left branch of the test ``x_f ≤ i − 0.5`` (``i ≥ 1``) holds the child subtree of value
``i − 1``, and the right branch of the last test the subtree of value ``k − 1``. Leaves keep their training
counts, so ``n_node_samples`` at the leaf a row reaches is the count our tree has there.
"""

from __future__ import annotations

import numpy as np
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import NODE_DTYPE, Tree
from sklearn.utils.validation import check_is_fitted


def ordinal_tree(model) -> DecisionTreeClassifier:
    """A fitted ``DecisionTreeClassifier`` on ``model.encode(X)`` that predicts exactly as ``model``.

    ``tree.predict(model.encode(X)) == model.predict(X)`` and the probabilities agree for every ``X``
    (unseen and missing values included). ``tree_.n_node_samples`` holds the training counts (rounded
    noisy counts for DP-ID3), ``weighted_n_node_samples`` the unrounded ones.
    """
    check_is_fitted(model, "tree_")
    t = model.tree_
    proba = t.proba
    n_classes = len(model.classes_)
    n_features = len(t.n_categories)
    rows: list[list] = []  # left, right, feature, threshold, impurity, n, weighted n, missing_go_to_left
    values: list[np.ndarray] = []
    depth: list[int] = []

    def add(n: float, p: np.ndarray, d: int) -> int:
        rows.append([-1, -1, -2, -2.0, float(1.0 - np.sum(p ** 2)), round(float(n)), float(n), 0])
        values.append(p)
        depth.append(d)
        return len(rows) - 1

    def emit(node: int, d: int) -> int:
        if t.feature[node] < 0:
            return add(t.n_samples[node], proba[node], d)
        f, k = int(t.feature[node]), int(t.n_categories[t.feature[node]])
        children = t.first_child[node] + np.arange(k)
        # Chain node i (threshold i − 0.5) holds the records whose code is at least i − 1.
        tail_n = np.cumsum(t.n_samples[children][::-1])[::-1]
        tail_counts = np.cumsum(t.class_counts[children][::-1], axis=0)[::-1]
        first = prev = -1
        for i in range(k):
            if i == 0:
                me = add(t.n_samples[node], proba[node], d)
            else:
                s = tail_counts[i - 1].sum()
                me = add(tail_n[i - 1], tail_counts[i - 1] / s if s > 0 else proba[node], d)
            rows[me][2], rows[me][3] = f, i - 0.5
            if prev < 0:
                first = me
            else:
                rows[prev][1] = me
            rows[me][0] = add(0.0, proba[node], d + 1) if i == 0 else emit(int(children[i - 1]), d + 1)
            d += 1
            prev = me
        rows[prev][1] = emit(int(children[k - 1]), d)
        return first

    emit(0, 0)
    nodes = np.array([tuple(r) for r in rows], dtype=NODE_DTYPE)
    value = np.asarray(values, float).reshape(len(rows), 1, n_classes)
    tree = Tree(n_features, np.array([n_classes], dtype=np.intp), 1)
    tree.__setstate__({"max_depth": int(max(depth)), "node_count": len(rows), "nodes": nodes, "values": value})
    clf = DecisionTreeClassifier()
    clf.tree_ = tree
    clf.n_features_in_ = n_features
    clf.n_outputs_ = 1
    clf.classes_ = np.asarray(model.classes_)
    clf.n_classes_ = n_classes
    clf.max_features_ = n_features
    return clf
