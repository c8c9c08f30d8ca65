"""Export a categorical tree to scikit-learn: a ``OneHotEncoder`` and a binary ``DecisionTreeClassifier``.

Tools that only accept scikit-learn trees can then use our trees (see :func:`to_sklearn` for what the
export is not for). A multiway test of feature ``A``
with values ``a_1..a_k`` becomes a chain of binary tests on the one-hot columns ``[A = a_1] ≤ 0.5``,
``[A = a_2] ≤ 0.5``, ...: the right branch of the i-th test (``A = a_i``) holds the child subtree for
``a_i``; the left branch of the last test is reached only by a row whose ``A`` is outside the fitted
domain (all-zero block, as ``OneHotEncoder(handle_unknown="ignore")`` encodes it) and is a leaf with the
multiway node's own label — exactly where our ``apply`` stops such a row. Node sample counts and class
distributions are those of the records reaching each binary node, so ``predict`` and ``predict_proba``
agree with ours on every input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import NODE_DTYPE, Tree
from sklearn.utils.validation import check_is_fitted


def to_sklearn(model) -> tuple[OneHotEncoder, DecisionTreeClassifier]:
    """``(encoder, tree)`` with ``tree.predict(encoder.transform(X)) == model.predict(X)`` for every ``X``.

    What it is for: running our tree wherever a scikit-learn ``DecisionTreeClassifier`` on numeric
    features is expected — prediction, ``predict_proba``, ``decision_path``/``apply``, plotting and text
    export with scikit-learn's tools, serving, and tools that read ``tree_`` (counts per node). Every
    feature, the sensitive one included, becomes a block of one-hot columns.

    What it is not for: attribute-inference attacks that substitute candidate values of the attacked
    feature into ONE column — ART's ``AttributeInferenceWhiteBoxDecisionTree`` and
    ``AttributeInferenceWhiteBoxLifestyleDecisionTree``. Pointed at one column of a one-hot block they
    evaluate impossible rows (two values at once, or none) and answer for other records, silently. Use
    :func:`defenses.interop.art.to_art_tree` (the attacked feature as one ordinal column, the tests on it
    rewritten as thresholds) or :class:`defenses.interop.art.ARTWhiteBoxTreeAttack` instead.

    Parameters
    ----------
    model : BaseCategoricalTree
        A fitted :class:`ID3Classifier`, :class:`PriorityID3Classifier` or :class:`DPID3Classifier`.

    Returns
    -------
    encoder : OneHotEncoder
        Fitted with the model's domains (``categories_``), ``handle_unknown="ignore"``, dense output.
    tree : DecisionTreeClassifier
        Fitted-state classifier on the encoder's output with ``classes_`` equal to the model's.
        ``tree_.n_node_samples`` holds training counts (rounded noisy counts for DP-ID3).
    """
    check_is_fitted(model, "tree_")
    t = model.tree_
    cats = [list(c) for c in model.categories_]
    names = getattr(model, "feature_names_in_", None)
    n_rows = max(len(c) for c in cats)
    proto = {j: [c[i % len(c)] for i in range(n_rows)] for j, c in enumerate(cats)}
    frame = pd.DataFrame(proto) if names is None else pd.DataFrame({names[j]: v for j, v in proto.items()})
    encoder = OneHotEncoder(categories=cats, handle_unknown="ignore", sparse_output=False, dtype=np.float64)
    encoder.fit(frame if names is not None else frame.to_numpy(dtype=object))
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in cats])])
    proba = t.proba
    n_classes = len(model.classes_)

    rows: list[tuple] = []  # (left, right, feature, threshold, impurity, n, weighted_n, missing_left)
    values: list[np.ndarray] = []

    def gini(p: np.ndarray) -> float:
        return float(1.0 - np.sum(p ** 2))

    def add(n: float, p: np.ndarray) -> int:
        rows.append([-1, -1, -2, -2.0, gini(p), int(round(n)), float(n), 0])
        values.append(p)
        return len(rows) - 1

    def dist(counts: np.ndarray, fallback: np.ndarray) -> np.ndarray:
        s = counts.sum()
        return counts / s if s > 0 else fallback

    def emit(node: int) -> int:
        if t.feature[node] < 0:
            return add(t.n_samples[node], proba[node])
        f = t.feature[node]
        k = t.n_categories[f]
        children = t.first_child[node] + np.arange(k)
        # Binary chain: the i-th chain node holds the records with value a_i..a_k (or unseen) at f.
        chain_n = np.cumsum(t.n_samples[children][::-1])[::-1]
        chain_counts = np.cumsum(t.class_counts[children][::-1], axis=0)[::-1]
        first = None
        prev = None
        for i in range(k):
            me = add(chain_n[i] if i > 0 else t.n_samples[node],
                     proba[node] if i == 0 else dist(chain_counts[i], proba[node]))
            rows[me][2] = int(offsets[f] + i)
            rows[me][3] = 0.5
            if prev is not None:
                rows[prev][0] = me
            else:
                first = me
            rows[me][1] = emit(int(children[i]))
            prev = me
        rows[prev][0] = add(0.0, proba[node])
        return first

    emit(0)
    nodes = np.array([tuple(r) for r in rows], dtype=NODE_DTYPE)
    value = np.asarray(values, float).reshape(len(rows), 1, n_classes)
    depth = _depths(nodes)
    sk_tree = Tree(int(offsets[-1]), np.array([n_classes], dtype=np.intp), 1)
    sk_tree.__setstate__({"max_depth": int(depth.max()), "node_count": len(rows), "nodes": nodes, "values": value})
    clf = DecisionTreeClassifier(criterion="gini")
    clf.tree_ = sk_tree
    clf.n_features_in_ = int(offsets[-1])
    clf.n_outputs_ = 1
    clf.classes_ = np.asarray(model.classes_)
    clf.n_classes_ = n_classes
    clf.max_features_ = int(offsets[-1])
    return encoder, clf


def _depths(nodes: np.ndarray) -> np.ndarray:
    depth = np.zeros(len(nodes), np.int64)
    for i in range(len(nodes)):  # children always follow their parent in pre-order
        for c in (nodes["left_child"][i], nodes["right_child"][i]):
            if c >= 0:
                depth[c] = depth[i] + 1
    return depth
