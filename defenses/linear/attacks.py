"""Attribute inference against regression models: Fredrikson et al.'s (2014) MAP inversion and the
adversaries that use no model, which measure what a released model adds. See docs/attacks.md.

Every attacker answers ``infer(...) -> guesses`` and ``infer_proba(...) -> posteriors`` (one column per
candidate value, in the order of ``values``) for ``known = (X, y)``: the targets' feature rows (whatever
the sensitive columns hold is ignored) and their true target values (e.g. the stable warfarin dose from
the medical record — not the model's prediction).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def _check_prior(prior: Mapping[Hashable, float]) -> tuple[tuple, np.ndarray]:
    if not isinstance(prior, Mapping) or len(prior) < 2:
        raise ValueError("prior must be a mapping from at least two candidate values to probabilities")
    p = np.array([float(v) for v in prior.values()])
    if not np.all(np.isfinite(p)) or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"prior must hold probabilities >= 0 summing to 1, got {dict(prior)!r}")
    return tuple(prior), p / p.sum()


def _split_known(known: Any) -> tuple[Any, np.ndarray]:
    try:
        X, y = known
    except (TypeError, ValueError):
        raise ValueError("known must be a pair (X, y): the targets' feature rows and true target values") from None
    y = np.asarray(y, dtype=float).ravel()
    if len(X) != len(y) or len(y) == 0:
        raise ValueError(f"known: X has {len(X)} rows but y has {len(y)} values (need equal and > 0)")
    return X, y


def _sensitive_codes(sensitive_values, n: int, values: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's records' sensitive values (object array) and their indices in ``values``, checked."""
    s = np.asarray(sensitive_values, dtype=object)
    if len(s) != n:
        raise ValueError("sensitive_values must have one value per row of X")
    unknown = set(s) - set(values)
    if unknown:
        raise ValueError(f"sensitive_values holds values not in values: {sorted(map(str, unknown))}")
    return s, np.array([values.index(v) for v in s])


def _column_positions(X: Any, columns: Sequence) -> list[int]:
    if isinstance(X, pd.DataFrame):
        return [X.columns.get_loc(c) if not isinstance(c, numbers.Integral) else int(c) for c in columns]
    if any(not isinstance(c, numbers.Integral) for c in columns):
        raise ValueError("sensitive_columns given by name need X as a pandas DataFrame")
    return [int(c) for c in columns]


def empirical_prior(values: Sequence[Hashable], observed: Sequence[Hashable]) -> dict[Hashable, float]:
    """Relative frequencies of each of ``values`` in ``observed`` (the training population's marginal)."""
    observed = np.asarray(observed, dtype=object)
    if observed.size == 0:
        raise ValueError("observed must be non-empty")
    return {v: float(np.mean(observed == v)) for v in values}


class NaiveMAPAttack:
    """MAP inference of a sensitive feature from a regression model (Fredrikson et al. 2014, A_π).

    For each candidate value v of the sensitive attribute the attacker fills the sensitive columns of the
    target's feature row with ``encoding[v]`` and scores

    .. math:: \\mathrm{score}(v) = p(v)\\,\\exp\\big(-(y - f(x_K, v))^2 / (2\\sigma_f^2)\\big),

    guessing ``argmax_v score(v)`` (ties go to the value that comes first in the prior's keys) and reporting the
    posterior ``score(v)/Σ_v' score(v')`` (for AUROC). Computed in log space. What the attacker knows is
    passed explicitly: the model f (black-box ``predict``), the prior p (the training population's
    marginal, or a public one), the model's residual scale σ_f (Fredrikson et al. assume the model is
    published with its error statistics; :meth:`from_training_data` uses the training RMSE) and, per
    target, all other features and the true target value.

    Parameters
    ----------
    sensitive_columns : sequence of int or str
        Columns of X that encode the sensitive attribute (names need X as a DataFrame).
    encoding : mapping value → sequence of float
        Contents of the sensitive columns for each candidate value (e.g. one-hot codes).
    prior : mapping value → float
        p(v) for the same values (keys must match ``encoding``).
    residual_scale : float
        σ_f > 0.

    References
    ----------
    Fredrikson, Lantz, Jha, Lin, Page, Ristenpart (2014), "Privacy in pharmacogenetics: an end-to-end
    case study of personalized warfarin dosing", USENIX Security.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.array([[0., 1.], [1., 3.], [2., 0.], [0., 2.]]); y = X @ [2.0, 0.5]
    >>> f = LinearRegression().fit(X, y)
    >>> attack = NaiveMAPAttack([0], {0: [0.0], 1: [1.0], 2: [2.0]}, {0: .4, 1: .3, 2: .3}, 0.1)
    >>> attack.infer(f, (X, y)).tolist()
    [0, 1, 2, 0]
    """

    def __init__(self, sensitive_columns: Sequence[int | str], encoding: Mapping[Hashable, Sequence[float]],
                 prior: Mapping[Hashable, float], residual_scale: float):
        values, p = _check_prior(prior)
        if not isinstance(encoding, Mapping) or set(encoding) != set(values):
            raise ValueError("encoding must map exactly the prior's values to column contents")
        self.sensitive_columns = list(sensitive_columns)
        if not self.sensitive_columns:
            raise ValueError("sensitive_columns must name at least one column")
        codes = np.array([np.asarray(encoding[v], dtype=float).ravel() for v in values])
        if codes.shape[1] != len(self.sensitive_columns):
            raise ValueError(f"encoding: each value needs {len(self.sensitive_columns)} column contents")
        if isinstance(residual_scale, bool) or not isinstance(residual_scale, numbers.Real) or not (
            math.isfinite(residual_scale) and residual_scale > 0
        ):
            raise ValueError(f"residual_scale must be a finite number > 0, got {residual_scale!r}")
        self.values = values
        self.encoding = {v: tuple(c) for v, c in zip(values, codes)}
        self.prior = dict(zip(values, p))
        self.residual_scale = float(residual_scale)
        self._codes = codes
        with np.errstate(divide="ignore"):
            self._log_prior = np.log(p)  # a value with prior 0 is never guessed

    @classmethod
    def from_training_data(cls, model, X, y, sensitive_values, sensitive_columns, encoding) -> NaiveMAPAttack:
        """The attacker of the MID/Fredrikson experiments: prior = the training population's marginal of
        the sensitive attribute, σ_f = the model's training RMSE (its published error statistic)."""
        X_, y_ = _split_known((X, y))
        prior = empirical_prior(list(encoding), sensitive_values)
        rmse = float(np.sqrt(np.mean((y_ - np.asarray(model.predict(X_), float)) ** 2)))
        return cls(sensitive_columns, encoding, prior, rmse)

    def predictions(self, model, X) -> np.ndarray:
        """f(x_K, v) for every row and candidate value: array of shape (n, len(values))."""
        cols = _column_positions(X, self.sensitive_columns)
        out = []
        for code in self._codes:
            if isinstance(X, pd.DataFrame):
                Xv = X.copy()
                Xv.iloc[:, cols] = np.broadcast_to(code, (len(X), len(cols)))
            else:
                Xv = np.array(X, dtype=float, copy=True)
                Xv[:, cols] = code
            out.append(np.asarray(model.predict(Xv), dtype=float).ravel())
        return np.column_stack(out)

    def infer_proba(self, model, known) -> np.ndarray:
        """Posterior p(v | x_K, y) ∝ p(v)·N(y; f(x_K, v), σ_f²), shape (n, len(values))."""
        X, y = _split_known(known)
        resid = y[:, None] - self.predictions(model, X)
        log_score = self._log_prior - resid**2 / (2.0 * self.residual_scale**2)
        return np.exp(log_score - logsumexp(log_score, axis=1, keepdims=True))

    def infer(self, model, known) -> np.ndarray:
        """MAP guesses (an object array of candidate values)."""
        post = self.infer_proba(model, known)
        return np.array(self.values, dtype=object)[np.argmax(post, axis=1)]


class PriorBaseline:
    """The adversary without a model or features: always guesses the prior's mode; its posterior is p.

    ``infer(known)`` / ``infer_proba(known)`` only use the number of rows of ``known = (X, y)``.
    Its AUROC is 0.5 by construction.
    """

    def __init__(self, prior: Mapping[Hashable, float]):
        self.values, self._p = _check_prior(prior)
        self.prior = dict(zip(self.values, self._p))

    def infer_proba(self, known) -> np.ndarray:
        X, _ = _split_known(known)
        return np.tile(self._p, (len(X), 1))

    def infer(self, known) -> np.ndarray:
        X, _ = _split_known(known)
        return np.array([self.values[int(np.argmax(self._p))]] * len(X), dtype=object)


class NoModelBaseline:
    """The adversary that uses no released model: p(v | known attributes [, y]) learned from auxiliary data.

    A multinomial logistic regression (on standardized inputs) of the sensitive value on the target's
    other features — and, with ``use_target=True``, its true target value too. Fitted on the training
    population it is Fredrikson et al.'s "ideal" adversary when ``use_target=True``; with
    ``use_target=False`` it is the prior-plus-known-attributes baseline, i.e. what an attacker learns
    from the population without the model (the docs/figures.md ``baseline.attack_prior``).

    Parameters
    ----------
    sensitive_columns : sequence of int or str
        Columns excluded from the inputs (they encode the attribute being inferred).
    values : sequence
        Candidate values; the column order of :meth:`infer_proba`.
    use_target : bool, default=False
    C : float, default=1.0
        Inverse L2 strength of the logistic regression.
    """

    def __init__(self, sensitive_columns: Sequence[int | str], values: Sequence[Hashable],
                 use_target: bool = False, C: float = 1.0):
        if len(values) < 2:
            raise ValueError("values must hold at least two candidate values")
        self.sensitive_columns = list(sensitive_columns)
        self.values = tuple(values)
        self.use_target = bool(use_target)
        self.C = C

    def _inputs(self, X, y) -> np.ndarray:
        cols = set(_column_positions(X, self.sensitive_columns))
        A = np.asarray(X, dtype=float)
        A = A[:, [k for k in range(A.shape[1]) if k not in cols]]
        return np.column_stack([A, y]) if self.use_target else A

    def fit(self, X, y, sensitive_values) -> NoModelBaseline:
        """Learn p(v | ·) from auxiliary records (X, y) with their sensitive values."""
        X, y = _split_known((X, y))
        s, codes = _sensitive_codes(sensitive_values, len(y), self.values)
        self.model_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=1000))
        self.model_.fit(self._inputs(X, y), codes)
        return self

    def infer_proba(self, known) -> np.ndarray:
        X, y = _split_known(known)
        proba = self.model_.predict_proba(self._inputs(X, y))
        out = np.zeros((len(y), len(self.values)))
        out[:, self.model_.classes_] = proba
        return out

    def infer(self, known) -> np.ndarray:
        return np.array(self.values, dtype=object)[np.argmax(self.infer_proba(known), axis=1)]


def shadow_fits(learner, X, y, n_folds: int = 3, random_state: int = 0) -> list[tuple[Any, np.ndarray]]:
    """Shadow models of ``learner`` on the attacker's records (X, y): fold k's is a clone fitted on the
    other folds (its ``random_state``, where it has one, offset by k + 1). Returns ``[(shadow, held_out_rows)]``;
    on its held-out rows a shadow behaves as the released model on records it did not train on."""
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    X_ = np.asarray(X, dtype=float)
    y_ = np.asarray(y, dtype=float).ravel()
    out = []
    for k, (fit_rows, held) in enumerate(KFold(n_folds, shuffle=True, random_state=random_state).split(X_)):
        shadow = clone(learner)
        params = shadow.get_params()
        if "random_state" in params:
            base = params["random_state"]
            seed = [int(base), k + 1] if isinstance(base, numbers.Integral) else [random_state, k + 1]
            shadow.set_params(random_state=np.random.default_rng(seed))
        out.append((shadow.fit(X_[fit_rows], y_[fit_rows]), held))
    return out


class ModelAssistedAttack:
    """A model-using attacker at least as informed as the best one without the model.

    A multinomial logistic regression (standardised inputs) of the sensitive value on the inputs of
    :class:`NoModelBaseline` with ``use_target=True`` — the known attributes x_K and the true target value y
    ("ideal", Fredrikson et al.) — plus the model's log-likelihood of the observed y under every candidate
    v, the evidence Naive MAP uses: −(y − f(x_K, v))² / (2σ_f²), σ_f the model's training RMSE. Fitted on
    the attacker's records with their sensitive values. Where the model adds nothing the regression falls
    back to the no-model posterior; Naive MAP is the special case with weight 1 on the evidence and the
    prior in place of the learned part.

    A model fits its training records more closely: to attack records outside the training set, fit with
    ``shadows`` (:func:`shadow_fits`) so that the evidence on each attacker record comes from a model that
    did not train on it; to attack training records, fit without.

    Parameters
    ----------
    sensitive_columns : sequence of int or str
        Columns of X that encode the sensitive attribute.
    encoding : mapping value → sequence of float
        Contents of the sensitive columns for each candidate value.
    C : float
        Inverse L2 strength of the logistic regression.
    """

    def __init__(self, sensitive_columns: Sequence[int | str], encoding: Mapping[Hashable, Sequence[float]],
                 C: float = 1.0):
        if not isinstance(encoding, Mapping) or len(encoding) < 2:
            raise ValueError("encoding must map at least two candidate values to column contents")
        self.sensitive_columns = list(sensitive_columns)
        self.encoding = dict(encoding)
        self.values = tuple(encoding)
        self.C = C

    def _evidence(self, model, X, y, X_fit, y_fit, s_fit) -> np.ndarray:
        attack = NaiveMAPAttack.from_training_data(model, X_fit, y_fit, s_fit, self.sensitive_columns, self.encoding)
        resid = np.asarray(y, float)[:, None] - attack.predictions(model, X)
        return -resid ** 2 / (2.0 * attack.residual_scale ** 2)

    def _inputs(self, X, y, evidence) -> np.ndarray:
        cols = set(_column_positions(X, self.sensitive_columns))
        A = np.asarray(X, dtype=float)
        A = A[:, [k for k in range(A.shape[1]) if k not in cols]]
        return np.column_stack([A, np.asarray(y, float), evidence])

    def fit(self, model, X, y, sensitive_values, shadows: list[tuple[Any, np.ndarray]] | None = None
            ) -> ModelAssistedAttack:
        """Learn from the attacker's records (X, y) with their sensitive values, the released ``model`` and,
        to attack non-members, ``shadows``."""
        X, y = _split_known((X, y))
        s, codes = _sensitive_codes(sensitive_values, len(y), self.values)
        self.model_, self._fit_data = model, (X, y, s)
        if shadows is None:
            ev = self._evidence(model, X, y, X, y, s)
        else:
            ev = np.zeros((len(y), len(self.values)))
            for shadow, held in shadows:
                held = np.asarray(held)
                rest = np.setdiff1d(np.arange(len(y)), held)
                ev[held] = self._evidence(shadow, _rows(X, held), y[held], _rows(X, rest), y[rest], s[rest])
        self.classifier_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000))
        self.classifier_.fit(self._inputs(X, y, ev), codes)
        return self

    def infer_proba(self, model, known) -> np.ndarray:
        """Posterior over the candidate values, shape (n, len(values))."""
        if not hasattr(self, "classifier_"):
            raise ValueError("this ModelAssistedAttack is not fitted; call fit on the attacker's records first")
        X, y = _split_known(known)
        Xf, yf, sf = self._fit_data
        proba = self.classifier_.predict_proba(self._inputs(X, y, self._evidence(model, X, y, Xf, yf, sf)))
        out = np.zeros((len(y), len(self.values)))
        out[:, self.classifier_.classes_] = proba
        return out

    def infer(self, model, known) -> np.ndarray:
        return np.array(self.values, dtype=object)[np.argmax(self.infer_proba(model, known), axis=1)]


def _rows(X, idx):
    return X.iloc[idx] if isinstance(X, pd.DataFrame) else np.asarray(X)[idx]
