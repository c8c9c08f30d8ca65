"""Attribute-inference attacks on trees: Naive MAP, MAP with counts, and the prior-only baseline.

Threat model (Fredrikson et al. 2014, 2015; docs/attacks.md): for each target the attacker knows every
feature except the sensitive one (``known``), the target's true label ``y``, and the prior p(v) of the
sensitive feature. Naive MAP (black box) also knows the model's confusion matrix; MAP with counts
(white box) reads the tree's paths and the training count of every leaf. Each attack's ``infer`` returns
an :class:`AttributeInference` holding the guesses and the per-value scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ._base import BaseCategoricalTree
from .id3 import resolve_feature


@dataclass(frozen=True)
class AttributeInference:
    """Guesses of the sensitive value and the unnormalized MAP score of every candidate value.

    Attributes
    ----------
    guesses : (n,) array
        Guessed values (elements of ``values``).
    scores : (n, V) float array
        Score of each candidate value per target (columns in the order of ``values``).
    values : (V,) array
        Candidate values of the sensitive feature.
    """

    guesses: np.ndarray
    scores: np.ndarray
    values: np.ndarray

    def posterior(self) -> np.ndarray:
        """Scores normalized per row (uniform where every score is 0)."""
        s = self.scores.sum(axis=1, keepdims=True)
        return np.where(s > 0, self.scores / np.where(s > 0, s, 1.0), 1.0 / self.scores.shape[1])


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


class _MAPBase:
    def __init__(self, sensitive_feature, prior):
        self.sensitive_feature = sensitive_feature
        self.prior = prior

    def _setup(self, model, known, y):
        if not isinstance(model, BaseCategoricalTree) or not hasattr(model, "tree_"):
            raise ValueError("model must be a fitted ID3Classifier, PriorityID3Classifier or DPID3Classifier")
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


class NaiveMAPAttack(_MAPBase):
    r"""Black-box "Naive MAP" (Fredrikson et al. 2014's A_π applied to a classifier, as in their 2015 paper).

    For each target with known features x_K and true label y, and each candidate value v of the sensitive
    feature, query the model on (x_K, v) and score

    .. math:: \mathrm{score}(v) = p(v)\, C[y, f(x_K, v)],

    with C[y, y'] = Pr[f(x) = y' | true label y] estimated on the training set (row-normalized, the 2015
    definition; see :func:`confusion_matrix`). The guess is argmax_v, ties to the larger prior. A known
    feature outside the model's domain (or missing) is sent to the model as is: the tree answers with the
    label of the node where such a row stops.

    Parameters
    ----------
    sensitive_feature : str or int
        Name or index of the sensitive feature among the model's features.
    prior : mapping value → probability, Series, or array in the order of the feature's domain
        p(v) (e.g. :func:`estimate_prior` on the training records).
    confusion : (n_classes, n_classes) array
        C in the order of ``model.classes_``.

    References
    ----------
    M. Fredrikson et al., "Privacy in pharmacogenetics", USENIX Security 2014;
    M. Fredrikson, S. Jha, T. Ristenpart, CCS 2015.
    """

    def __init__(self, sensitive_feature, prior, confusion):
        super().__init__(sensitive_feature, prior)
        self.confusion = confusion

    def infer(self, model, known, y) -> AttributeInference:
        """Attack every row of ``known`` (the model's features as a table or an
        :class:`~defenses.tree.EncodedTable`; the sensitive column is ignored or absent) whose true labels
        are ``y``."""
        s, codes, y_idx, domain, prior = self._setup(model, known, y)
        conf = np.asarray(self.confusion, float)
        k = len(model.classes_)
        if conf.shape != (k, k) or (conf < 0).any():
            raise ValueError(f"confusion must be a non-negative ({k}, {k}) matrix in model.classes_ order")
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
        super().__init__(sensitive_feature, prior)
        self.chunk_size = chunk_size

    def infer(self, model, known, y) -> AttributeInference:
        """Attack every row of ``known`` whose true labels are ``y`` using the tree's leaf counts."""
        s, codes, y_idx, domain, prior = self._setup(model, known, y)
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


class PriorAttack:
    """The adversary without a model: guesses from the prior p(v) alone (the baseline of every figure).

    Parameters
    ----------
    prior : mapping value → probability or Series
        p(v); its keys are the candidate values.
    strategy : {"mode", "sample"}, default "mode"
        "mode": always the most likely value (the MAP guess without a model); "sample": draw each guess
        from p(v) independently (a guesser matching the base rate; its expected F1 for a value v is
        2·p(v)·b/(p(v) + b) with b that value's rate among the targets).
    random_state : int, Generator or None
        Source of the draws for ``strategy="sample"``.
    """

    def __init__(self, prior, strategy: str = "mode", random_state=None):
        self.prior = prior
        self.strategy = strategy
        self.random_state = random_state

    def infer(self, model, known, y=None) -> AttributeInference:
        """Guess for every row of ``known`` (``model`` and ``y`` are ignored: the attacker uses neither)."""
        if self.strategy not in ("mode", "sample"):
            raise ValueError(f"strategy must be 'mode' or 'sample', got {self.strategy!r}")
        if not isinstance(self.prior, (Mapping, pd.Series)):
            raise ValueError("prior must be a mapping value → probability or a pandas Series")
        domain = np.asarray(list(dict(self.prior.items())))
        p = _prior_vector(self.prior, domain)
        n = len(known)
        scores = np.tile(p, (n, 1))
        if self.strategy == "mode":
            guesses = np.repeat(domain[np.argmax(p)], n)
        else:
            guesses = domain[np.random.default_rng(self.random_state).choice(len(domain), size=n, p=p)]
        return AttributeInference(guesses=guesses, scores=scores, values=domain)


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


class NoModelAttack:
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
    """

    def __init__(self, sensitive_feature, positive=None, *, C: float = 1.0, n_folds: int = 3, random_state: int = 0):
        self.sensitive_feature = sensitive_feature
        self.positive = positive
        self.C = C
        self.n_folds = n_folds
        self.random_state = random_state

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

    def _label_codes(self, y) -> np.ndarray:
        return _label_codes(self.label_classes_, y)

    def _features(self, model, table, s: int, y) -> np.ndarray:
        labels = np.eye(len(self.label_classes_))[self._label_codes(y)]
        return np.hstack([_one_hot(table, s), labels])

    # fit / infer ------------------------------------------------------------------------------------
    def fit(self, known, y, model=None) -> NoModelAttack:
        """Learn from the attacker's records: their table (the sensitive column included: the truth),
        their true labels ``y``, and — for :class:`ModelAssistedAttack` — the model."""
        from sklearn.model_selection import StratifiedKFold

        table, s = self._table(known)
        self.values_ = np.asarray(table.categories[s])
        truth = table.codes[:, s]
        if (truth < 0).any():
            raise ValueError("the attacker's records need their sensitive values (no missing ones)")
        y_arr = y.cat.categories if isinstance(getattr(y, "dtype", None), pd.CategoricalDtype) else np.unique(np.asarray(y))
        self.label_classes_ = np.asarray(y_arr)
        self.model_ = model
        Z = self._features(model, table, s, y)
        present = np.unique(truth)
        if len(present) < 2:
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

    def infer(self, model, known, y) -> AttributeInference:
        """Guesses for every row of ``known`` with true labels ``y`` (``model`` is ignored: the attacker
        uses none; :class:`ModelAssistedAttack` queries it)."""
        if not hasattr(self, "classifier_"):
            raise ValueError(f"this {type(self).__name__} is not fitted; call fit on the attacker's records first")
        table, s = self._table(known)
        Z = self._features(self._model_for(model), table, s, y)
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

    def _model_for(self, model):
        return None

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
    candidate v: C[y, f(x_K, v)] for :class:`NaiveMAPAttack` (black box), the training counts Σ n_i / Φ(v)
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
    evidence : callable (model, table, y) -> NaiveMAPAttack or MAPWithCountsAttack
        Builds the MAP attack of a model from the records it was trained on (e.g. Naive MAP's confusion
        matrix); its scores divided by its prior are the model's evidence.
    """

    def __init__(self, sensitive_feature, evidence, positive=None, *, C: float = 1.0, n_folds: int = 3,
                 random_state: int = 0):
        super().__init__(sensitive_feature, positive, C=C, n_folds=n_folds, random_state=random_state)
        self.evidence = evidence

    def fit(self, known, y, model=None, shadows: list[tuple[Any, np.ndarray]] | None = None) -> ModelAssistedAttack:
        """Learn from the attacker's records (``known`` with the sensitive column, true labels ``y``) and the
        released ``model``; with ``shadows`` the evidence on each record comes from a shadow that did not
        train on it."""
        if model is None:
            raise ValueError("ModelAssistedAttack.fit needs the model (its evidence is an input)")
        table, _ = self._table(known)
        self.attack_ = self.evidence(model, table, y)
        self._shadow_evidence = None
        if shadows is not None:
            ev = None
            for shadow, held in shadows:
                rows = np.asarray(held)
                fit_rows = np.setdiff1d(np.arange(len(table.codes)), rows)
                y_fit = y.iloc[fit_rows] if isinstance(y, pd.Series) else np.asarray(y)[fit_rows]
                y_held = y.iloc[rows] if isinstance(y, pd.Series) else np.asarray(y)[rows]
                part = self._evidence(self.evidence(shadow, table[fit_rows], y_fit), shadow, table[rows], y_held)
                ev = np.zeros((len(table.codes), part.shape[1])) if ev is None else ev
                ev[rows] = part
            self._shadow_evidence = ev
        super().fit(table, y, model)
        self._shadow_evidence = None
        return self

    def _model_for(self, model):
        if model is None:
            raise ValueError("ModelAssistedAttack.infer needs the model")
        return model

    @staticmethod
    def _evidence(attack, model, table, y) -> np.ndarray:
        result = attack.infer(model, table, y)
        prior = _prior_vector(attack.prior, np.asarray(result.values))
        term = result.scores / np.where(prior > 0, prior, 1.0)
        return np.log(np.maximum(term, 1e-4))

    def _features(self, model, table, s: int, y) -> np.ndarray:
        base = super()._features(model, table, s, y)
        ev = self._shadow_evidence
        if ev is None:
            ev = self._evidence(self.attack_, model, table, y)
        return np.hstack([base, ev])
