"""Attribute-inference attacks on trees: Naive MAP, MAP with counts, and the prior-only baseline.

Threat model (Fredrikson et al. 2014, 2015; docs/attacks.md): for each target the attacker knows every
feature except the sensitive one (``X_known``), the target's true label ``y``, and the prior p(v) of the
sensitive feature. Naive MAP (black box) also knows the model's confusion matrix; MAP with counts
(white box) reads the tree's paths and the training count of every leaf. Every attack is an
:class:`~defenses.base.AttributeInferenceAttack`: ``fit(model, ...)`` binds the model, ``infer(X_known,
y)`` returns an :class:`~defenses.base.AttributeInference` holding the guesses and the per-value scores.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from defenses.base import AttributeInference, AttributeInferenceAttack, PriorBaseline, deprecated_call

from ._base import BaseCategoricalTree
from .id3 import resolve_feature


def estimate_prior(values, domain=None) -> pd.Series:
    """Empirical distribution p(v) of ``values`` over ``domain`` (default: a categorical's categories or
    the values seen), as a Series indexed by value."""
    s = pd.Series(values)
    if domain is None:
        domain = s.cat.categories if isinstance(s.dtype, pd.CategoricalDtype) else np.unique(s.to_numpy())
    values = s.dropna().to_numpy(dtype=object)
    codes = pd.Index(list(domain)).get_indexer(values)
    if (codes < 0).any():
        raise ValueError(f"value {values[codes < 0][0]!r} is outside the given domain")
    if len(codes) == 0:
        raise ValueError("cannot estimate a prior from no values")
    counts = np.bincount(codes, minlength=len(domain))
    return pd.Series(counts / counts.sum(), index=list(domain), name="prior")


def confusion_matrix(model, X, y) -> np.ndarray:
    """Row-normalized confusion matrix C[y, y'] = Pr[f(x) = y' | true label y] in ``model.classes_`` order.

    Rows of labels absent from ``y`` are uniform [ours].
    """
    classes = np.asarray(model.classes_)
    t = _label_codes(classes, y)
    p = _label_codes(classes, model.predict(X))
    counts = np.zeros((len(classes), len(classes)))
    np.add.at(counts, (t, p), 1.0)
    rows = counts.sum(axis=1, keepdims=True)
    return np.where(rows > 0, counts / np.where(rows > 0, rows, 1.0), 1.0 / len(classes))


def _label_codes(classes: np.ndarray, y) -> np.ndarray:
    dtype = getattr(y, "dtype", None)
    if isinstance(y, pd.Series) and isinstance(dtype, pd.CategoricalDtype) and \
            len(dtype.categories) == len(classes) and (np.asarray(dtype.categories) == classes).all():
        codes = y.cat.codes.to_numpy().astype(np.int64)  # already in classes' order
        if (codes >= 0).all():
            return codes
    y = np.asarray(y.to_numpy() if isinstance(y, pd.Series) else y, dtype=object)
    codes = np.asarray(pd.Index(classes).get_indexer(y), np.int64)
    if (codes < 0).any():
        bad = y[codes < 0][0]
        raise ValueError(f"label {bad!r} is not one of the model's classes {list(classes)}")
    return codes


def _prior_vector(prior, domain: np.ndarray) -> np.ndarray:
    if isinstance(prior, (Mapping, pd.Series)):
        items = dict(prior.items())
        unknown = [v for v in items if v not in set(domain.tolist())]
        if unknown:
            raise ValueError(f"prior has value {unknown[0]!r} outside the sensitive feature's domain")
        p = np.array([float(items.get(v, 0.0)) for v in domain.tolist()])
    else:
        p = np.asarray(prior, float)
        if p.shape != (len(domain),):
            raise ValueError(f"prior must have one probability per sensitive value ({len(domain)}), got {p.shape}")
    if not np.all(np.isfinite(p)) or (p < 0).any() or p.sum() <= 0:
        raise ValueError("prior must be non-negative with a positive sum")
    return p / p.sum()


def _check_tree(model) -> None:
    if not isinstance(model, BaseCategoricalTree) or not hasattr(model, "tree_"):
        raise ValueError("model must be a fitted ID3Classifier, PriorityID3Classifier or DPID3Classifier")


class _MAPBase(AttributeInferenceAttack):
    def _check_params(self) -> None:
        if not isinstance(self.sensitive_feature, (str, int, np.integer)) or isinstance(self.sensitive_feature, bool):
            raise ValueError(f"sensitive_feature must be a column name or index, got {self.sensitive_feature!r}")
        if not isinstance(self.prior, (Mapping, pd.Series, np.ndarray, list, tuple)):
            raise ValueError("prior must be a mapping value → probability, a Series, or an array in the order of "
                             "the feature's domain")

    def infer(self, X_known, y=None, *old) -> AttributeInference:
        """Attack every row of ``X_known`` (the model's features as a table or an
        :class:`~defenses.tree.EncodedTable`; the sensitive column is ignored or absent) whose true labels
        are ``y``."""
        if isinstance(X_known, BaseCategoricalTree):  # the old call shape infer(model, known, y)
            return self._old_infer(X_known, y, *old)
        self._check_fitted("model_")
        if y is None:
            raise ValueError("y (the targets' true labels) is required")
        return self._infer(self.model_, *self._setup(self.model_, X_known, y))

    @deprecated_call("infer(model, known, y) of the tree attacks", "attack.fit(model).infer(known, y)")
    def _old_infer(self, model, known, y) -> AttributeInference:
        self.fit(model)
        return self._infer(model, *self._setup(model, known, y))

    def _setup(self, model, known, y):
        _check_tree(model)
        if isinstance(known, pd.DataFrame) and isinstance(self.sensitive_feature, str) and \
                self.sensitive_feature not in known.columns and hasattr(model, "feature_names_in_"):
            names = list(model.feature_names_in_)
            known = known.assign(**{self.sensitive_feature: np.nan})[names]  # placeholder, ignored
        s = resolve_feature(model, self.sensitive_feature)
        codes = model.encode(known)
        y_idx = _label_codes(model.classes_, y)
        if len(y_idx) != len(codes):
            raise ValueError(f"y has {len(y_idx)} labels for {len(codes)} targets")
        domain = np.asarray(model.categories_[s])
        return s, codes, y_idx, domain, _prior_vector(self.prior, domain)

    @staticmethod
    def _decide(scores: np.ndarray, prior: np.ndarray, domain: np.ndarray) -> AttributeInference:
        order = np.argsort(-prior, kind="stable")  # ties go to the larger prior
        best = order[np.argmax(scores[:, order], axis=1)]
        return AttributeInference(guesses=domain[best], scores=scores, values=domain)


class NaiveMAPClassifierAttack(_MAPBase):
    r"""Black-box "Naive MAP" (Fredrikson et al. 2014's A_π applied to a classifier, as in their 2015 paper).

    For each target with known features x_K and true label y, and each candidate value v of the sensitive
    feature, query the model on (x_K, v) and score

    .. math:: \mathrm{score}(v) = p(v)\, C[y, f(x_K, v)],

    with C[y, y'] = Pr[f(x) = y' | true label y] estimated on the training set (row-normalized, the 2015
    definition; see :func:`confusion_matrix`). The guess is argmax_v, ties to the larger prior. A known
    feature outside the model's domain (or missing) is sent to the model as is: the tree answers with the
    label of the node where such a row stops.

    The model is one of the toolkit's trees (queried on its encoded rows), or any fitted scikit-learn
    classifier with ``predict`` and ``classes_`` — then ``prior`` is a mapping (its keys the candidate values),
    ``X_known`` holds the sensitive column (a DataFrame column named ``sensitive_feature``, or the array column
    of that index; its content is ignored) and each candidate is written into it before querying.

    Parameters
    ----------
    sensitive_feature : str or int
        Name or index of the sensitive feature among the model's features.
    prior : mapping value → probability, Series, or array in the order of the feature's domain
        p(v) (e.g. :func:`estimate_prior` on the training records).
    confusion : (n_classes, n_classes) array, optional
        C in the order of ``model.classes_``; None: estimated by :meth:`fit` from the attacker's records.

    Attributes
    ----------
    model_ : the attacked tree
    confusion_ : (n_classes, n_classes) array

    References
    ----------
    M. Fredrikson et al., "Privacy in pharmacogenetics", USENIX Security 2014;
    M. Fredrikson, S. Jha, T. Ristenpart, CCS 2015.
    """

    def __init__(self, sensitive_feature, prior, confusion=None):
        self.sensitive_feature = sensitive_feature
        self.prior = prior
        self.confusion = confusion
        self._check_params()

    def fit(self, model, X=None, y=None) -> NaiveMAPClassifierAttack:
        """Bind the classifier ``model``; with ``confusion=None`` estimate C from the attacker's records ``(X, y)``."""
        self._check_params()
        if isinstance(model, BaseCategoricalTree):
            _check_tree(model)
            _prior_vector(self.prior, np.asarray(model.categories_[resolve_feature(model, self.sensitive_feature)]))
        else:
            if not (hasattr(model, "predict") and hasattr(model, "classes_")):
                raise ValueError(f"model must be a fitted classifier with predict and classes_, got {type(model).__name__}")
            self._candidates()
        if self.confusion is None:
            if X is None or y is None:
                raise ValueError("confusion is None: give the attacker's records X, y to fit to estimate it")
            conf = confusion_matrix(model, X, y)
        else:
            conf = np.asarray(self.confusion, float)
        k = len(model.classes_)
        if conf.shape != (k, k) or (conf < 0).any():
            raise ValueError(f"confusion must be a non-negative ({k}, {k}) matrix in model.classes_ order")
        self.model_, self.confusion_ = model, conf
        return self

    def infer(self, X_known, y=None, *old) -> AttributeInference:
        if isinstance(X_known, BaseCategoricalTree) or not hasattr(self, "model_") or \
                isinstance(self.model_, BaseCategoricalTree):
            return super().infer(X_known, y, *old)
        if y is None:
            raise ValueError("y (the targets' true labels) is required")
        return self._infer_any(X_known, y)

    infer.__doc__ = _MAPBase.infer.__doc__

    def _candidates(self) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(self.prior, (Mapping, pd.Series)):
            raise ValueError("for a model other than the toolkit's trees, prior must be a mapping value → "
                             "probability (its keys are the candidate values)")
        domain = np.empty(len(self.prior), dtype=object)
        domain[:] = list(dict(self.prior.items()))
        return domain, _prior_vector(self.prior, domain)

    def _infer_any(self, X_known, y) -> AttributeInference:
        """Naive MAP against any scikit-learn classifier: each candidate written into the sensitive column."""
        model, conf = self.model_, self.confusion_
        domain, prior = self._candidates()
        y_idx = _label_codes(np.asarray(model.classes_), y)
        if len(y_idx) != len(X_known):
            raise ValueError(f"y has {len(y_idx)} labels for {len(X_known)} targets")
        scores = np.empty((len(y_idx), len(domain)))
        for i, value in enumerate(domain):
            if isinstance(X_known, pd.DataFrame):
                probe = X_known.assign(**{str(self.sensitive_feature): value})
            else:
                probe = np.array(X_known, copy=True)
                probe[:, int(self.sensitive_feature)] = value
            pred = _label_codes(np.asarray(model.classes_), model.predict(probe))
            scores[:, i] = prior[i] * conf[y_idx, pred]
        return self._decide(scores, prior, domain)

    def _infer(self, model, s, codes, y_idx, domain, prior) -> AttributeInference:
        conf = self.confusion_
        scores = np.empty((len(codes), len(domain)))
        probe = codes.copy()
        for i in range(len(domain)):
            probe[:, s] = i
            pred = model.tree_.label[model.tree_.apply(probe)]
            scores[:, i] = prior[i] * conf[y_idx, pred]
        return self._decide(scores, prior, domain)


class MAPWithCountsAttack(_MAPBase):
    r"""White-box "MAP with counts" (Fredrikson, Jha & Ristenpart 2015) [unsure: our reading, §7].

    The attacker sees every leaf i's path φ_i, training count n_i and label w_i. With cons(v, x_K) the
    leaves whose path is satisfied by (s = v, x_K) and Φ(v) = Σ n_j over all leaves whose path does not
    contradict s = v,

    .. math:: \mathrm{score}(v) = p(v) \frac{\sum_{i \in \mathrm{cons}(v, x_K),\, w_i = y} n_i}{\Phi(v)},

    i.e. Bayes' rule with Pr[path i | s = v] ≈ n_i/Φ(v). If every score of a target is 0 (no value
    reproduces y), the filter w_i = y is dropped for that target. A known feature whose value is outside
    the model's domain (or missing) is treated as unknown (it constrains no path). Guess = argmax_v,
    ties to the larger prior.

    Parameters
    ----------
    sensitive_feature : str or int
        Name or index of the sensitive feature.
    prior : mapping value → probability, Series, or array in the order of the feature's domain
        p(v).

    References
    ----------
    M. Fredrikson, S. Jha, T. Ristenpart, "Model inversion attacks that exploit confidence information and
    basic countermeasures", CCS 2015.
    """

    def __init__(self, sensitive_feature, prior, chunk_size: int = 4096):
        self.sensitive_feature = sensitive_feature
        self.prior = prior
        self.chunk_size = chunk_size
        self._check_params()

    def _check_params(self) -> None:
        super()._check_params()
        if isinstance(self.chunk_size, bool) or not isinstance(self.chunk_size, (int, np.integer)) or self.chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {self.chunk_size!r}")

    def fit(self, model, X=None, y=None) -> MAPWithCountsAttack:
        """Bind the tree ``model`` (white box: its paths and leaf counts); ``X``, ``y`` are not needed."""
        self._check_params()
        _check_tree(model)
        _prior_vector(self.prior, np.asarray(model.categories_[resolve_feature(model, self.sensitive_feature)]))
        self.model_ = model
        return self

    def _infer(self, model, s, codes, y_idx, domain, prior) -> AttributeInference:
        t = model.tree_
        leaves = t.leaves
        n_leaf, w_leaf, path = t.n_samples[leaves], t.label[leaves], t.path[leaves]
        n_cat = np.asarray(t.n_categories)
        offsets = np.concatenate([[0], np.cumsum(n_cat)])
        # Leaf constraints as one-hot rows Q (leaves × Σk); a target satisfies leaf j iff its row of
        # "allowed values" hits all of j's constraints: A @ Q.T == number of constraints.
        Q = np.zeros((len(leaves), offsets[-1]))
        jj, ff = np.nonzero(path >= 0)
        Q[jj, offsets[ff] + path[jj, ff]] = 1.0
        n_constraints = Q.sum(axis=1)
        w_onehot = np.eye(len(model.classes_))[w_leaf] * n_leaf[:, None]  # leaves × classes, weighted
        s_free = path[:, s] < 0
        phi = np.array([n_leaf[s_free | (path[:, s] == i)].sum() for i in range(len(domain))])
        inv_phi = np.where(phi > 0, 1.0 / np.where(phi > 0, phi, 1.0), 0.0)
        scores = np.zeros((len(codes), len(domain)))
        fallback = np.zeros_like(scores)
        # Rows with every other feature known reach exactly one leaf per candidate value.
        full = (np.delete(codes, s, axis=1) >= 0).all(axis=1)
        probe = codes[full].copy()
        for i in range(len(domain)):
            probe[:, s] = i
            node = t.apply(probe)
            scores[full, i] = prior[i] * t.n_samples[node] * (t.label[node] == y_idx[full]) * inv_phi[i]
            fallback[full, i] = prior[i] * t.n_samples[node] * inv_phi[i]
        partial = np.flatnonzero(~full)
        for start in range(0, len(partial), self.chunk_size):
            rows_ = partial[start:start + self.chunk_size]
            block = codes[rows_]
            A = np.zeros((len(block), offsets[-1]))
            for f in range(len(n_cat)):
                if f == s:
                    continue
                v = block[:, f]
                unknown = v < 0
                A[np.flatnonzero(~unknown), offsets[f] + v[~unknown]] = 1.0
                A[np.flatnonzero(unknown), offsets[f]:offsets[f + 1]] = 1.0
            for i in range(len(domain)):
                A[:, offsets[s]:offsets[s + 1]] = 0.0
                A[:, offsets[s] + i] = 1.0
                cons = (A @ Q.T) >= n_constraints - 0.5  # (targets, leaves)
                by_label = cons.astype(float) @ w_onehot  # counts of consistent leaves per leaf label
                scores[rows_, i] = prior[i] * by_label[np.arange(len(rows_)), y_idx[rows_]] * inv_phi[i]
                fallback[rows_, i] = prior[i] * by_label.sum(axis=1) * inv_phi[i]
        none = ~(scores > 0).any(axis=1)
        scores[none] = fallback[none]
        return self._decide(scores, prior, domain)


class PriorAttack(PriorBaseline):
    """Deprecated: the old call shape ``infer(model, known, y=None)`` of :class:`~defenses.base.PriorBaseline`
    (the one prior-only adversary of every attack family); it will be removed in the next release."""

    @deprecated_call("defenses.tree.PriorAttack", "defenses.base.PriorBaseline(prior).infer(known)")
    def __init__(self, prior, strategy: str = "mode", random_state=None):
        super().__init__(prior, strategy, random_state)

    def infer(self, model, known=None, y=None) -> AttributeInference:  # type: ignore[override]
        return super().infer(known)


class NaiveMAPAttack(NaiveMAPClassifierAttack):
    """Deprecated: the old name (shared with a regression attack) and call shape ``infer(model, known, y)``
    of :class:`NaiveMAPClassifierAttack`; it will be removed in the next release."""

    @deprecated_call("defenses.tree.NaiveMAPAttack", "NaiveMAPClassifierAttack(...).fit(model).infer(known, y)")
    def __init__(self, sensitive_feature, prior, confusion):
        super().__init__(sensitive_feature, prior, confusion)


# ----------------------------------------------------------------------------------- learned attackers


def _one_hot(table, skip: int) -> np.ndarray:
    """One-hot columns of every feature of an encoded table but ``skip`` (a missing value: all zeros)."""
    blocks = []
    for f, cats in enumerate(table.categories):
        if f == skip:
            continue
        codes = table.codes[:, f]
        block = np.zeros((len(codes), len(cats)))
        ok = codes >= 0
        block[np.flatnonzero(ok), codes[ok]] = 1.0
        blocks.append(block)
    return np.hstack(blocks) if blocks else np.zeros((table.codes.shape[0], 0))


def _f1_threshold(truth: np.ndarray, proba: np.ndarray) -> float:
    """The threshold t maximising the F1 of "positive iff proba ≥ t" on (truth, proba); ties: the larger t."""
    order = np.argsort(-proba, kind="stable")
    p, t = proba[order], truth[order].astype(float)
    tp = np.cumsum(t)
    k = np.arange(1, len(p) + 1)
    last = np.r_[p[1:] != p[:-1], True]  # a threshold admits every row of its value at once
    f1 = np.where(last, 2 * tp / (k + t.sum()), -1.0)
    best = np.flatnonzero(f1 == f1.max())[0]
    return float(p[best])


class NoModelAttack(AttributeInferenceAttack):
    r"""The strongest attacker here that uses no model: a classifier of the sensitive value learned on
    the attacker's own records from the known attributes and the label.

    A logistic regression of the sensitive value on the one-hot known attributes x_K and the one-hot true
    label y, fitted on records the attacker holds with their sensitive values (the training population,
    in the MID experiments). What a released model adds to an attack is measured against this attacker:
    the "no signal" line of every attribute-inference figure (docs/figures.md ``baseline.attack_no_model``).

    Decision rule: with ``positive`` set (a binary attribute scored by the F1 of that value), guess
    ``positive`` where the posterior reaches the threshold that maximises F1 on out-of-fold posteriors of
    the attacker's records (``n_folds``-fold cross-validation) — for F1 this beats the MAP rule, which
    rarely guesses a rare value, and includes "always positive" (F1 2b/(1+b) at base rate b); without
    ``positive``, the MAP guess.

    Parameters
    ----------
    sensitive_feature : str or int
        The sensitive column (name, or index in the table).
    positive : value or None
        The value whose F1 is the attack's metric (None: accuracy, MAP guesses).
    C : float
        Inverse L2 strength of the logistic regression.
    n_folds : int
        Folds of the cross-validation that picks the threshold.
    random_state : int
        Seeds the folds.

    Examples
    --------
    >>> attack = NoModelAttack("marital", positive="yes").fit(None, records, labels)  # doctest: +SKIP
    >>> attack.infer(targets, target_labels).guesses  # doctest: +SKIP
    """

    def __init__(self, sensitive_feature, positive=None, *, C: float = 1.0, n_folds: int = 3, random_state: int = 0):
        self.sensitive_feature = sensitive_feature
        self.positive = positive
        self.C = C
        self.n_folds = n_folds
        self.random_state = random_state
        self._check_params()

    def _check_params(self) -> None:
        if not isinstance(self.sensitive_feature, (str, int, np.integer)) or isinstance(self.sensitive_feature, bool):
            raise ValueError(f"sensitive_feature must be a column name or index, got {self.sensitive_feature!r}")
        if not self.C > 0:
            raise ValueError(f"C must be > 0, got {self.C!r}")
        if isinstance(self.n_folds, bool) or not isinstance(self.n_folds, (int, np.integer)) or self.n_folds < 2:
            raise ValueError(f"n_folds must be an integer >= 2, got {self.n_folds!r}")

    # the inputs -------------------------------------------------------------------------------------
    def _table(self, known):
        from ._base import EncodedTable, encode_table

        table = known if isinstance(known, EncodedTable) else encode_table(known)
        names = list(table.feature_names) if table.feature_names is not None else None
        if isinstance(self.sensitive_feature, str):
            if names is None or self.sensitive_feature not in names:
                raise ValueError(f"sensitive_feature {self.sensitive_feature!r} is not a column of the table")
            return table, names.index(self.sensitive_feature)
        return table, int(self.sensitive_feature)

    def _features(self, table, s: int, y) -> np.ndarray:
        labels = np.eye(len(self.label_classes_))[_label_codes(self.label_classes_, y)]
        return np.hstack([_one_hot(table, s), labels])

    # fit / infer ------------------------------------------------------------------------------------
    def fit(self, model, X, y) -> NoModelAttack:
        """Learn from the attacker's records ``X`` (the sensitive column included: the truth) and their true
        labels ``y``. ``model`` is ignored (pass None): this attacker uses none."""
        from sklearn.model_selection import StratifiedKFold

        self._check_params()
        table, s = self._table(X)
        self.values_ = np.asarray(table.categories[s])
        truth = table.codes[:, s]
        if (truth < 0).any():
            raise ValueError("the attacker's records need their sensitive values (no missing ones)")
        y_arr = y.cat.categories if isinstance(getattr(y, "dtype", None), pd.CategoricalDtype) else np.unique(np.asarray(y))
        self.label_classes_ = np.asarray(y_arr)
        Z = self._features(table, s, y)
        if len(np.unique(truth)) < 2:
            raise ValueError("the attacker's records hold a single sensitive value: nothing to learn")
        self.classifier_ = self._regression().fit(Z, truth)
        self.threshold_ = None
        if self.positive is not None:
            pos = _positive_code(self.values_, self.positive)
            t = (truth == pos).astype(int)
            oof = np.empty(len(t))
            n_folds = min(self.n_folds, int(np.bincount(t).min()))
            if n_folds < 2:
                raise ValueError(f"the attacker's records hold fewer than 2 records of each value: cannot "
                                 f"choose a threshold for {self.positive!r}")
            folds = StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state)
            for fit_idx, out_idx in folds.split(Z, t):
                clf = self._regression().fit(Z[fit_idx], truth[fit_idx])
                oof[out_idx] = _column(clf, Z[out_idx], pos)
            self.threshold_ = _f1_threshold(t, oof)
        return self

    def infer(self, X_known, y=None) -> AttributeInference:
        """Guesses for every row of ``X_known`` (the sensitive column is ignored) with true labels ``y``."""
        self._check_fitted("classifier_")
        if y is None:
            raise ValueError("y (the targets' true labels) is required")
        table, s = self._table(X_known)
        Z = self._features(table, s, y)
        P = np.zeros((len(Z), len(self.values_)))
        P[:, self.classifier_.classes_] = self.classifier_.predict_proba(Z)
        if self.threshold_ is None:
            guesses = self.values_[np.argmax(P, axis=1)]
        else:
            pos = _positive_code(self.values_, self.positive)
            others = P.copy()
            others[:, pos] = -1.0
            guesses = np.where(P[:, pos] >= self.threshold_, self.values_[pos], self.values_[others.argmax(1)])
        return AttributeInference(guesses=guesses, scores=P, values=self.values_)

    def _regression(self):
        """L2 logistic regression (liblinear for a binary attribute: the same model, ten times faster here)."""
        from sklearn.linear_model import LogisticRegression

        binary = len(self.values_) == 2
        return LogisticRegression(C=self.C, solver="liblinear" if binary else "lbfgs", max_iter=2000)


def _positive_code(values: np.ndarray, positive) -> int:
    hits = np.flatnonzero(values == positive)
    if len(hits) != 1:
        raise ValueError(f"positive value {positive!r} is not in the sensitive feature's domain {list(values)}")
    return int(hits[0])


def _column(clf, Z: np.ndarray, code: int) -> np.ndarray:
    cols = list(clf.classes_)
    return clf.predict_proba(Z)[:, cols.index(code)] if code in cols else np.zeros(len(Z))


def shadow_folds(learner, known, y, n_folds: int = 3, random_state: int = 0) -> list[tuple[Any, np.ndarray]]:
    """Shadow models of ``learner`` on the attacker's records, for evidence on records *not* trained on.

    The records are cut into ``n_folds`` stratified folds (by label); fold k's shadow is a clone of
    ``learner`` (its ``random_state``, where it has one, set to ``random_state + k``) fitted on the other
    folds. Returns ``[(shadow, held_out_rows), ...]``: on its held-out rows a shadow's outputs behave as
    the released model's outputs on non-members.
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    from ._base import EncodedTable, encode_table

    table = known if isinstance(known, EncodedTable) else encode_table(known)
    labels = _label_codes(np.asarray(y.cat.categories if isinstance(getattr(y, "dtype", None), pd.CategoricalDtype)
                                     else np.unique(np.asarray(y))), y)
    n_folds = max(2, min(n_folds, int(np.bincount(labels)[np.bincount(labels) > 0].min())))
    out = []
    for k, (fit_idx, held) in enumerate(StratifiedKFold(n_folds, shuffle=True, random_state=random_state)
                                        .split(labels, labels)):
        shadow = clone(learner)
        if "random_state" in shadow.get_params():
            base = shadow.get_params()["random_state"]
            shadow.set_params(random_state=(0 if base is None else int(base)) + random_state + k + 1)
        y_fit = y.iloc[fit_idx] if isinstance(y, pd.Series) else np.asarray(y)[fit_idx]
        out.append((shadow.fit(table[fit_idx], y_fit), held))
    return out


class ModelAssistedAttack(NoModelAttack):
    r"""A model-using attacker at least as informed as :class:`NoModelAttack`: the same learned posterior,
    with the model's evidence for every candidate value as further inputs.

    The evidence is the model term of a MAP attack, the model's likelihood of the observed output under each
    candidate v: C[y, f(x_K, v)] for :class:`NaiveMAPClassifierAttack` (black box), the training counts Σ n_i / Φ(v)
    of the leaves that reproduce y for :class:`MAPWithCountsAttack` (white box). Its logarithm (floored at
    1e-4) enters a logistic regression beside the one-hot x_K and y, fitted on the attacker's records.
    Where the evidence carries nothing the regression learns to ignore it and the attack falls back to the
    no-model posterior; the Naive MAP rule is the special case that weighs the evidence by 1 and the known
    attributes by 0.

    A model answers differently on the records it was trained on: its evidence on the attacker's records —
    the training population — is that of *members*. To attack records outside the training set, fit with
    ``shadows`` (:func:`shadow_folds`: models of the same learner trained on part of the attacker's records)
    so that the regression learns from evidence on records its shadow did not see; to attack training
    records, fit without (the released model's own evidence on its training records).

    Parameters
    ----------
    sensitive_feature, positive, C, n_folds, random_state
        As :class:`NoModelAttack`.
    evidence : callable (model, table, y) -> fitted NaiveMAPClassifierAttack or MAPWithCountsAttack
        Builds the MAP attack bound to a model from the records it was trained on (e.g. Naive MAP with the
        confusion matrix on them); its scores divided by its prior are the model's evidence.

    Attributes
    ----------
    model_ : the released model, bound by :meth:`fit`
    attack_ : the MAP attack of ``model_`` whose evidence enters :meth:`infer`
    """

    def __init__(self, sensitive_feature, evidence, positive=None, *, C: float = 1.0, n_folds: int = 3,
                 random_state: int = 0):
        self.evidence = evidence
        super().__init__(sensitive_feature, positive, C=C, n_folds=n_folds, random_state=random_state)

    def _check_params(self) -> None:
        super()._check_params()
        if not callable(self.evidence):
            raise ValueError(f"evidence must be a callable (model, table, y) -> fitted MAP attack, got {self.evidence!r}")

    def fit(self, model, X, y, shadows: list[tuple[Any, np.ndarray]] | None = None) -> ModelAssistedAttack:
        """Bind the released ``model`` and learn from the attacker's records ``X`` (with the sensitive column)
        and their true labels ``y``; with ``shadows`` the evidence on each record comes from a shadow that
        did not train on it."""
        if model is None:
            raise ValueError("ModelAssistedAttack.fit needs the model (its evidence is an input)")
        table, _ = self._table(X)
        self.model_ = model
        self.attack_ = self.evidence(model, table, y)
        self._shadow_evidence = None
        if shadows is not None:
            ev = None
            for shadow, held in shadows:
                rows = np.asarray(held)
                fit_rows = np.setdiff1d(np.arange(len(table.codes)), rows)
                y_fit = y.iloc[fit_rows] if isinstance(y, pd.Series) else np.asarray(y)[fit_rows]
                y_held = y.iloc[rows] if isinstance(y, pd.Series) else np.asarray(y)[rows]
                part = self._evidence(self.evidence(shadow, table[fit_rows], y_fit), table[rows], y_held)
                ev = np.zeros((len(table.codes), part.shape[1])) if ev is None else ev
                ev[rows] = part
            self._shadow_evidence = ev
        try:
            super().fit(model, table, y)
        finally:
            self._shadow_evidence = None
        return self

    @staticmethod
    def _evidence(attack, table, y) -> np.ndarray:
        result = attack.infer(table, y)
        prior = _prior_vector(attack.prior, np.asarray(result.values))
        term = result.scores / np.where(prior > 0, prior, 1.0)
        return np.log(np.maximum(term, 1e-4))

    def _features(self, table, s: int, y) -> np.ndarray:
        base = super()._features(table, s, y)
        ev = self._shadow_evidence
        if ev is None:
            ev = self._evidence(self.attack_, table, y)
        return np.hstack([base, ev])
