"""Shared machinery of the categorical trees: encoding, the fitted tree as plain data, prediction, text.

A fitted tree is a :class:`CategoricalTree`: flat arrays indexed by node id (root = 0). An internal node
that tests feature ``f`` has one child per value of ``f``'s domain, stored contiguously from
``first_child``, so the child for value code ``v`` is ``first_child + v``. Prediction walks all rows down
the tree one level at a time (a loop over depth, vectorized over rows). A row whose value at a tested
feature is outside the domain seen at fit time (or missing) stops at that internal node and gets that
node's label — the label the node would have as a leaf; missing values at predict time do so with a
:class:`MissingValueWarning`, and a float column with many distinct values at fit time (a continuous feature
that would become a many-way split) with a :class:`ContinuousFeatureWarning`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d


@dataclass(frozen=True)
class CategoricalTree:
    """A fitted multiway tree on integer-coded categorical features, as plain arrays.

    Attributes
    ----------
    feature : (n_nodes,) int
        Feature tested at the node, ``-1`` at a leaf.
    first_child : (n_nodes,) int
        Node id of the child for value code 0 (children for codes ``0..k−1`` follow), ``-1`` at a leaf.
    parent, branch : (n_nodes,) int
        Parent node id and the value code of the parent's feature leading here (``-1`` at the root).
    depth : (n_nodes,) int
        Root depth 0.
    n_samples : (n_nodes,) float
        Training records reaching the node (for DP-ID3: the released noisy count, clipped at 0).
    class_counts : (n_nodes, n_classes) float
        Training records per class at the node (DP-ID3: noisy counts at leaves, clipped at 0, summed
        upward for internal nodes).
    label : (n_nodes,) int
        Class index predicted at the node (the leaf label; at an internal node, the label used for rows
        that stop there).
    path : (n_nodes, n_features) int
        Value code each feature must take on the root-to-node path, ``-1`` where unconstrained.
    n_categories : tuple of int
        Domain size of every feature.
    """

    feature: np.ndarray
    first_child: np.ndarray
    parent: np.ndarray
    branch: np.ndarray
    depth: np.ndarray
    n_samples: np.ndarray
    class_counts: np.ndarray
    label: np.ndarray
    path: np.ndarray
    n_categories: tuple[int, ...]

    @property
    def node_count(self) -> int:
        return len(self.feature)

    @property
    def is_leaf(self) -> np.ndarray:
        return self.feature < 0

    @property
    def leaves(self) -> np.ndarray:
        """Node ids of the leaves."""
        return np.flatnonzero(self.feature < 0)

    @property
    def max_depth(self) -> int:
        return int(self.depth.max())

    @property
    def proba(self) -> np.ndarray:
        """Per-node class distribution: normalized ``class_counts``, one-hot of ``label`` where empty."""
        total = self.class_counts.sum(axis=1, keepdims=True)
        onehot = np.eye(self.class_counts.shape[1])[self.label]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, self.class_counts / np.where(total > 0, total, 1.0), onehot)

    def apply(self, codes: np.ndarray) -> np.ndarray:
        """Node id where each row of integer ``codes`` ends (a leaf, or the node of an unseen value)."""
        codes = np.asarray(codes)
        node = np.zeros(len(codes), dtype=np.int64)
        active = np.arange(len(codes))
        while active.size:
            f = self.feature[node[active]]
            inner = f >= 0
            active, f = active[inner], f[inner]
            v = codes[active, f]
            seen = v >= 0
            active = active[seen]
            node[active] = self.first_child[node[active]] + v[seen]
        return node

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of lists."""
        out = {k: getattr(self, k).tolist() for k in
               ("feature", "first_child", "parent", "branch", "depth", "n_samples", "class_counts", "label")}
        out["n_categories"] = list(self.n_categories)
        return out


class _Builder:
    """Accumulates nodes while a tree grows; children of a split are allocated contiguously."""

    def __init__(self, n_features: int, n_classes: int):
        self.n_features, self.n_classes = n_features, n_classes
        self.feature: list[int] = []
        self.first_child: list[int] = []
        self.parent: list[int] = []
        self.branch: list[int] = []
        self.depth: list[int] = []
        self.n_samples: list[float] = []
        self.class_counts: list[np.ndarray] = []
        self.label: list[int] = []

    def add(self, parent: int, branch: int, depth: int, n: float, counts: np.ndarray, label: int) -> int:
        self.feature.append(-1)
        self.first_child.append(-1)
        self.parent.append(parent)
        self.branch.append(branch)
        self.depth.append(depth)
        self.n_samples.append(float(n))
        self.class_counts.append(np.asarray(counts, float))
        self.label.append(int(label))
        return len(self.feature) - 1

    def split(self, node: int, feature: int, n: np.ndarray, counts: np.ndarray, labels: np.ndarray) -> int:
        """Make ``node`` test ``feature``; add one child per value; return the first child's id."""
        first = len(self.feature)
        self.feature[node] = feature
        self.first_child[node] = first
        d = self.depth[node] + 1
        for v in range(len(n)):
            self.add(node, v, d, n[v], counts[v], labels[v])
        return first

    def finish(self, n_categories: Sequence[int]) -> CategoricalTree:
        feature = np.asarray(self.feature, np.int64)
        first_child = np.asarray(self.first_child, np.int64)
        path = np.full((len(feature), self.n_features), -1, np.int64)
        for t in np.flatnonzero(feature >= 0):  # parents precede their children
            k = n_categories[feature[t]]
            block = slice(first_child[t], first_child[t] + k)
            path[block] = path[t]
            path[block, feature[t]] = np.arange(k)
        return CategoricalTree(
            feature=feature, first_child=first_child,
            parent=np.asarray(self.parent, np.int64), branch=np.asarray(self.branch, np.int64),
            depth=np.asarray(self.depth, np.int64), n_samples=np.asarray(self.n_samples, float),
            class_counts=np.asarray(self.class_counts, float).reshape(len(feature), self.n_classes),
            label=np.asarray(self.label, np.int64), path=path, n_categories=tuple(int(k) for k in n_categories),
        )


def contingency(codes: np.ndarray, y: np.ndarray, features: np.ndarray, kmax: int, n_classes: int) -> np.ndarray:
    """Counts ``τ[j, a, c]`` of rows with ``features[j] = a`` and class ``c`` (padded to ``kmax`` values)."""
    pos = (np.arange(len(features)) * kmax + codes[:, features]) * n_classes + y[:, None]
    return np.bincount(pos.ravel(), minlength=len(features) * kmax * n_classes).reshape(
        len(features), kmax, n_classes)


def xlog2x(a: np.ndarray) -> np.ndarray:
    """Elementwise ``a·log2(a)`` with ``0·log 0 = 0``."""
    a = np.asarray(a, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, a * np.log2(np.where(a > 0, a, 1.0)), 0.0)


def entropy_bits(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    """Entropy in bits of the distribution proportional to ``counts`` along ``axis`` (0 when empty)."""
    counts = np.asarray(counts, float)
    n = counts.sum(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (xlog2x(n) - xlog2x(counts).sum(axis=axis)) / n
    return np.where(n > 0, h, 0.0)


#: A float column with more distinct values than this is taken for a continuous feature (a warning at fit time).
CONTINUOUS_DISTINCT = 32


class ContinuousFeatureWarning(UserWarning):
    """A float column with many distinct values was fitted as categories (one branch per value)."""


class MissingValueWarning(UserWarning):
    """Rows with missing values were predicted: each stops at the first test of a feature it lacks."""


def _warn_continuous(cols, names, categories) -> None:
    found = [(names[j] if names else j, len(cats)) for j, (col, cats) in enumerate(zip(cols, categories))
             if np.asarray(col).dtype.kind == "f" and not isinstance(getattr(col, "dtype", None), pd.CategoricalDtype)
             and cats is not None and len(cats) > CONTINUOUS_DISTINCT]
    if found:
        listed = ", ".join(f"{name!r} ({k} values)" for name, k in found[:3]) + (" and more" if len(found) > 3 else "")
        warnings.warn(f"float feature(s) {listed} become one branch per distinct value: the trees are for categorical "
                      "data; bin continuous features (e.g. pandas.cut), or pass a pandas Categorical to say the values "
                      "are categories", ContinuousFeatureWarning, stacklevel=4)


def _warn_missing(X) -> None:
    if isinstance(X, EncodedTable):
        return
    cols, names = _columns(X, fitting=False)
    missing = np.zeros(len(cols[0]), bool)
    first = None
    for j, col in enumerate(cols):
        m = _is_missing(col)
        if first is None and m.any():
            first = names[j] if names else j
        missing |= m
    if missing.any():
        warnings.warn(f"{int(missing.sum())} of {len(missing)} rows have missing values (first in feature {first!r}): "
                      "a row stops at the first test of a feature it lacks and gets that node's prediction, as for an "
                      "unseen value; fill them, or code missing as a category of its own", MissingValueWarning,
                      stacklevel=4)


def _columns(X, fitting: bool) -> tuple[list[np.ndarray] | list[pd.Series], list[str] | None]:
    """Columns of a DataFrame, or of an array validated by scikit-learn's ``check_array`` (any dtype;
    missing values refused at fit time, where every category must be a real value)."""
    if isinstance(X, pd.DataFrame):
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"Found array with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
                             f"(shape={X.shape}) while a minimum of 1 is required.")
        return [col for _, col in X.items()], [str(c) for c in X.columns]
    arr = check_array(X, dtype=None, accept_sparse=False, ensure_all_finite=fitting)
    if arr.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    return [arr[:, j] for j in range(arr.shape[1])], None


def _is_missing(values) -> np.ndarray:
    if isinstance(values, pd.Series):
        return values.isna().to_numpy()
    return np.asarray(pd.isna(np.asarray(values, dtype=object)))


@dataclass(frozen=True, eq=False)
class EncodedTable:
    """A categorical table encoded once: integer codes in fixed domains, sliced without re-encoding.

    Make one with :func:`encode_table` and pass it (or a row subset, ``table[rows]``) wherever the trees
    and their attacks take ``X`` — ``fit``, ``predict``, ``predict_proba``, ``apply``, ``encode`` and every
    attack's ``infer``. A model fitted on a table with ``categories="auto"`` takes the table's domains,
    so predicting on rows of the same table uses the codes as they are; a table with other domains is
    translated by one lookup per column. The results are those of the same calls on the DataFrame the
    table was encoded from (and its row subsets), when the domains are the same.

    Attributes
    ----------
    codes : (n, d) int64 array
        Code of each value in its feature's domain, ``-1`` where missing or outside the domain.
    categories : tuple of d arrays
        The domain of each feature (``codes`` index into them).
    feature_names : tuple of str or None
        Column names (None for an array without names).
    """

    codes: np.ndarray
    categories: tuple[np.ndarray, ...]
    feature_names: tuple[str, ...] | None = None

    def __post_init__(self):
        codes = np.asarray(self.codes)
        if codes.ndim != 2 or codes.dtype.kind not in "iu" or codes.shape[1] != len(self.categories):
            raise ValueError(f"codes must be an (n, {len(self.categories)}) integer array, got {codes.shape}")
        codes = np.array(codes, dtype=np.int64)  # the table's own read-only copy: users share it freely
        codes.setflags(write=False)
        object.__setattr__(self, "codes", codes)
        if self.feature_names is not None and len(self.feature_names) != len(self.categories):
            raise ValueError("feature_names must name every feature")
        bad = (codes < -1) | (codes >= np.array([len(c) for c in self.categories]))
        if bad.any():
            raise ValueError("codes must lie in -1 .. len(domain) - 1")

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape

    def __getitem__(self, rows) -> "EncodedTable":
        """The rows ``rows`` (indices, a boolean mask or a slice) with the same domains."""
        return _trusted_table(self.codes[rows], self.categories, self.feature_names)

    def values(self, feature) -> np.ndarray:
        """The values of one feature (name or index), ``None`` where missing or outside the domain."""
        j = feature if isinstance(feature, (int, np.integer)) else list(self.feature_names or ()).index(feature)
        cats = np.asarray(self.categories[j], dtype=object)
        c = self.codes[:, j]
        return np.where(c >= 0, cats[np.maximum(c, 0)], None)

    def recoded(self, categories: Sequence[np.ndarray]) -> np.ndarray:
        """The codes in other domains (one lookup per feature; ``-1`` for values outside them). In the
        table's own domains this is :attr:`codes` itself (read-only), with no copy."""
        same = [mine is theirs or (len(mine) == len(theirs) and np.array_equal(mine, theirs))
                for mine, theirs in zip(self.categories, categories)]
        if all(same):
            return self.codes
        out = self.codes.copy()
        for j in np.flatnonzero(~np.asarray(same)):
            lookup = np.append(pd.Index(categories[j]).get_indexer(np.asarray(self.categories[j], dtype=object)), -1)
            out[:, j] = lookup[self.codes[:, j]]  # code -1 reads the appended -1
        return out


def encode_table(X, categories="auto") -> EncodedTable:
    """Encode a categorical table once (see :class:`EncodedTable`).

    Parameters
    ----------
    X : DataFrame or 2-D array
        The table. Missing values get code ``-1`` (the trees refuse them at fit time).
    categories : "auto" or list of array-like
        Domains: ``"auto"`` takes a pandas categorical column's categories, or else the sorted distinct
        values of the column in the whole of ``X``; a list gives one domain per feature (values outside it
        get code ``-1``). As for the trees, the domains must be public for a DP guarantee.
    """
    cols, names = _columns(X, fitting=False)
    if not (isinstance(categories, str) and categories == "auto") and len(categories) != len(cols):
        raise ValueError(f"categories must list one domain per feature ({len(cols)}), got {len(categories)}")
    domains = []
    for j, col in enumerate(cols):
        if not isinstance(categories, str):
            domains.append(np.asarray(categories[j]))
        elif isinstance(getattr(col, "dtype", None), pd.CategoricalDtype):
            domains.append(np.asarray(col.cat.categories))
        else:
            present = np.asarray(col, dtype=object)[~_is_missing(col)]
            try:
                domains.append(np.unique(np.asarray(present.tolist())))
            except TypeError as exc:
                raise TypeError(f"argument must be a string or a number (feature {names[j] if names else j}: "
                                f"values of one sortable kind; {exc})") from None
    return _trusted_table(_codes(cols, domains), tuple(domains), None if names is None else tuple(names))


def _trusted_table(codes: np.ndarray, categories: tuple, names: tuple | None) -> EncodedTable:
    """An :class:`EncodedTable` of int64 codes valid by construction (row subsets, encode_table's own):
    no checks and no copy."""
    table = object.__new__(EncodedTable)
    codes.setflags(write=False)
    for field, value in (("codes", codes), ("categories", categories), ("feature_names", names)):
        object.__setattr__(table, field, value)
    return table


def _codes(cols, domains) -> np.ndarray:
    """Integer codes of columns in domains, ``-1`` for missing values and values outside them."""
    out = np.empty((len(cols[0]), len(cols)), np.int64)
    for j, (col, cats) in enumerate(zip(cols, domains)):
        dtype = getattr(col, "dtype", None)
        if isinstance(dtype, pd.CategoricalDtype) and len(dtype.categories) == len(cats) and \
                (np.asarray(dtype.categories) == cats).all():
            out[:, j] = col.cat.codes.to_numpy()
        else:
            out[:, j] = pd.Index(cats).get_indexer(np.asarray(col, dtype=object))
    return out


class BaseCategoricalTree(ClassifierMixin, BaseEstimator):
    """Common fit-time encoding, prediction, text export and scikit-learn export of the trees.

    Subclasses implement ``_grow(codes, y) -> CategoricalTree``.
    """

    #: Refuse to read the class set or a feature domain from the training data (DP learners: they must be
    #: public parameters, a categorical dtype's categories or an :class:`EncodedTable`'s domains).
    _public_domains_only = False

    # --- encoding -------------------------------------------------------------------------------
    def _fit_encoding(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        table = X if isinstance(X, EncodedTable) else None
        if table is not None:
            cols, names, n = None, (None if table.feature_names is None else list(table.feature_names)), len(table)
            n_features = table.shape[1]
            if n < 1 or n_features < 1:
                raise ValueError(f"Found array with {n} sample(s) and {n_features} feature(s) "
                                 f"(shape={table.shape}) while a minimum of 1 is required.")
        else:
            cols, names = _columns(X, fitting=True)
            n, n_features = len(cols[0]), len(cols)
        categorical_y = isinstance(getattr(y, "dtype", None), pd.CategoricalDtype)
        y_arr = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = column_or_1d(y_arr, warn=True)
        if y_arr.ndim != 1 or len(y_arr) != n:
            raise ValueError(f"y must be 1-D with one label per row of X ({n}), got shape {np.shape(y)}")
        if _is_missing(y_arr).any():
            raise ValueError("y contains missing labels")
        given = getattr(self, "classes", None)
        if given is not None:
            classes = np.asarray(given)
            if classes.ndim != 1 or len(classes) < 1 or len(pd.unique(classes)) != len(classes):
                raise ValueError(f"classes must list distinct labels, got {given!r}")
        elif categorical_y:
            classes = np.asarray(y.dtype.categories if hasattr(y, "cat") else y.categories)
        elif self._public_domains_only:
            raise ValueError(f"{type(self).__name__} takes the class set as a public parameter: pass classes=[...] "
                             "or a categorical y (reading it from the private labels is not covered by the DP guarantee)")
        else:
            check_classification_targets(y_arr)
            classes = np.unique(y_arr)
        cats = self.categories
        if not (isinstance(cats, str) and cats == "auto"):
            if len(cats) != n_features:
                raise ValueError(f"categories must list one domain per feature ({n_features}), got {len(cats)}")
        if table is not None:
            categories = list(table.categories) if isinstance(cats, str) else [np.asarray(c) for c in cats]
            missing = (table.codes < 0).any(axis=0)
        else:
            categories = []
            missing = np.zeros(n_features, bool)
            for j, col in enumerate(cols):
                missing[j] = _is_missing(col).any()
                if missing[j] or not isinstance(cats, str):
                    categories.append(None if missing[j] else np.asarray(cats[j]))
                elif isinstance(col.dtype, pd.CategoricalDtype):
                    categories.append(np.asarray(col.cat.categories))
                elif self._public_domains_only:
                    raise ValueError(f"feature {names[j] if names else j}: {type(self).__name__} takes feature domains "
                                     "as public parameters: pass categories=[...] or categorical columns (reading "
                                     "them from the private data is not covered by the DP guarantee)")
                else:
                    try:
                        categories.append(np.unique(np.asarray(col)))
                    except TypeError as exc:
                        name = names[j] if names else j
                        raise TypeError(f"argument must be a string or a number (feature {name}: values "
                                        f"of one sortable kind; {exc})") from None
        if missing.any():
            j = int(np.flatnonzero(missing)[0])
            raise ValueError(f"feature {names[j] if names else j} has missing values; code them as "
                             "a category of their own")
        if cols is not None and isinstance(cats, str):
            _warn_continuous(cols, names, categories)
        self.categories_ = categories
        self.n_features_in_ = n_features
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.classes_ = classes
        codes = self._encode(X)
        if (codes < 0).any():
            j = int(np.flatnonzero((codes < 0).any(axis=0))[0])
            raise ValueError(f"feature {names[j] if names else j} has values outside its given categories")
        if isinstance(y, pd.Series) and categorical_y and given is None:
            y_codes = y.cat.codes.to_numpy().astype(np.int64)
        else:
            y_codes = np.asarray(pd.Index(classes).get_indexer(np.asarray(y_arr, dtype=object)), np.int64)
        if (y_codes < 0).any():
            raise ValueError("y has labels outside classes" if given is not None
                             else "y has labels outside the categories of its categorical dtype")
        return codes, y_codes

    def encode(self, X) -> np.ndarray:
        """Integer codes of ``X`` (a table, or an :class:`EncodedTable`) in the fitted domains, ``-1`` for
        unseen or missing values."""
        check_is_fitted(self, "tree_")
        return self._encode(X)

    def _encode(self, X) -> np.ndarray:
        if isinstance(X, EncodedTable):
            n_features, names = X.shape[1], X.feature_names
        else:
            cols, names = _columns(X, fitting=False)
            n_features = len(cols)
        if n_features != self.n_features_in_:
            raise ValueError(f"X has {n_features} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        fitted_names = getattr(self, "feature_names_in_", None)
        if names is not None and fitted_names is not None and list(names) != list(fitted_names):
            raise ValueError("X's columns differ from the columns seen in fit")
        if isinstance(X, EncodedTable):
            return X.recoded(self.categories_)
        return _codes(cols, self.categories_)

    # --- prediction -----------------------------------------------------------------------------
    def apply(self, X) -> np.ndarray:
        """Node id where each row ends (a leaf, or the internal node whose test value is unseen)."""
        check_is_fitted(self, "tree_")
        codes = self._encode(X)
        _warn_missing(X)
        return self.tree_.apply(codes)

    def predict(self, X) -> np.ndarray:
        """Predicted class of every row: the label of the node it ends in (vectorized)."""
        node = self.apply(X)
        return self.classes_[self.tree_.label[node]]

    def predict_proba(self, X) -> np.ndarray:
        """Class frequencies of the training records at the node each row ends in (columns: ``classes_``)."""
        node = self.apply(X)
        return self.tree_.proba[node]

    # --- presentation and export ---------------------------------------------------------------
    def _feature_name(self, j: int) -> str:
        names = getattr(self, "feature_names_in_", None)
        return str(names[j]) if names is not None else f"x{j}"

    def export_text(self, max_depth: int | None = None, show_counts: bool = True) -> str:
        """The tree as indented text: one line per branch, ``-> label`` with training counts at leaves."""
        check_is_fitted(self, "tree_")
        t = self.tree_
        lines: list[str] = []

        def leaf_text(node: int) -> str:
            s = f"-> {self.classes_[t.label[node]]}"
            if show_counts:
                counts = ", ".join(f"{c:g}" for c in np.round(t.class_counts[node], 2))
                s += f"  (n={t.n_samples[node]:g}; per class {counts})"
            return s

        def walk(node: int, indent: str) -> None:
            f = t.feature[node]
            if max_depth is not None and t.depth[node] >= max_depth:
                lines.append(f"{indent}... {leaf_text(node)}")
                return
            for v in range(t.n_categories[f]):
                child = t.first_child[node] + v
                head = f"{indent}{self._feature_name(f)} = {self.categories_[f][v]}"
                if t.feature[child] < 0:
                    lines.append(f"{head} {leaf_text(child)}")
                else:
                    lines.append(head)
                    walk(child, indent + "|   ")

        if t.feature[0] < 0:
            return leaf_text(0)
        walk(0, "")
        return "\n".join(lines)

    def __str__(self) -> str:  # printing a fitted tree shows it
        if hasattr(self, "tree_"):
            return f"{type(self).__name__}\n{self.export_text()}"
        return repr(self)

    def to_sklearn(self):
        """Export as ``(OneHotEncoder, DecisionTreeClassifier)`` predicting exactly as this tree.

        See :func:`defenses.tree.export.to_sklearn`.
        """
        from .export import to_sklearn

        return to_sklearn(self)
