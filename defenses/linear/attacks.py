"""Attribute inference against regression models: Fredrikson et al.'s (2014) MAP inversion and the
adversaries that use no model, which measure what a released model adds. See docs/attacks.md.

Every attack is an :class:`~defenses.base.AttributeInferenceAttack`: bound to the model by ``fit``
(the baselines fit without one) and asked ``infer(X, y) -> AttributeInference`` for the targets' feature
rows ``X`` (whatever the sensitive columns hold is ignored) and their true target values ``y`` (e.g. the
stable warfarin dose from the medical record — not the model's prediction). Any fitted scikit-learn
regressor (anything with ``predict``) can be attacked.
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

from defenses.base import AttributeInference, AttributeInferenceAttack, deprecated_call
from defenses.base import PriorBaseline as _PriorBaseline


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
    """Positions of ``columns`` in ``X``; a name X lacks or an index outside its columns is a ValueError."""
    width = X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else None
    if isinstance(X, pd.DataFrame):
        missing = [c for c in columns if not isinstance(c, numbers.Integral) and c not in X.columns]
        if missing:
            raise ValueError(f"sensitive_columns: {missing[0]!r} is not a column of X")
        positions = [X.columns.get_loc(c) if not isinstance(c, numbers.Integral) else int(c) for c in columns]
    elif any(not isinstance(c, numbers.Integral) for c in columns):
        raise ValueError("sensitive_columns given by name need X as a pandas DataFrame")
    else:
        positions = [int(c) for c in columns]
    bad = [c for c in positions if width is not None and not 0 <= c < width]
    if bad:
        raise ValueError(f"sensitive_columns: column {bad[0]} is out of range for X with {width} columns")
    return positions


def empirical_prior(values: Sequence[Hashable], observed: Sequence[Hashable]) -> dict[Hashable, float]:
    """Relative frequencies of each of ``values`` in ``observed`` (the training population's marginal)."""
    observed = np.asarray(observed, dtype=object).ravel()
    if observed.size == 0:
        raise ValueError("observed must be non-empty")
    unknown = sorted({str(v) for v in observed if not any(v == k for k in values)})
    if unknown:
        raise ValueError(f"sensitive_values holds {', '.join(map(repr, unknown[:3]))}"
                         f"{' and more' if len(unknown) > 3 else ''}, not in the encoding (its values: "
                         f"{', '.join(repr(str(v)) for v in values)})")
    return {v: float(np.mean(observed == v)) for v in values}


def _rows_and_targets(X, y) -> tuple[Any, np.ndarray]:
    if X is None or y is None:
        raise ValueError("X and y are needed: the targets' feature rows and their true target values")
    y = np.asarray(y, dtype=float).ravel()
    if len(X) != len(y) or len(y) == 0:
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} values (need equal and > 0)")
    return X, y


def _old_known(X_known, y) -> bool:
    """Whether ``infer`` got the old single argument ``known = (X, y)`` (deprecated)."""
    return y is None and isinstance(X_known, tuple) and len(X_known) == 2


class NaiveMAPRegressionAttack(AttributeInferenceAttack):
    """MAP inference of a sensitive feature from a regression model (Fredrikson et al. 2014, A_π).

    For each candidate value v of the sensitive attribute the attacker fills the sensitive columns of the
    target's feature row with ``encoding[v]`` and scores

    .. math:: \\mathrm{score}(v) = p(v)\\,\\exp\\big(-(y - f(x_K, v))^2 / (2\\sigma_f^2)\\big),

    guessing ``argmax_v score(v)`` (ties go to the value that comes first in the prior's keys) and reporting the
    posterior ``score(v)/Σ_v' score(v')`` as the scores (for AUROC). Computed in log space. What the
    attacker knows is explicit: the model f (black-box ``predict``, bound by :meth:`fit`), the prior p, the
    model's residual scale σ_f (Fredrikson et al. assume the model is published with its error
    statistics) and, per target, all other features and the true target value. ``fit`` estimates what is
    not given from the attacker's records: p as their marginal, σ_f as the model's RMSE on them.

    Parameters
    ----------
    sensitive_columns : sequence of int or str
        Columns of X that encode the sensitive attribute (names need X as a DataFrame).
    encoding : mapping value → sequence of float
        Contents of the sensitive columns for each candidate value (e.g. one-hot codes).
    prior : mapping value → float, optional
        p(v) for the same values (keys must match ``encoding``; probabilities summing to 1). None: the
        marginal of ``sensitive_values`` given to :meth:`fit`.
    residual_scale : float, optional
        σ_f > 0. None: the model's RMSE on the ``(X, y)`` given to :meth:`fit`.

    Attributes
    ----------
    model_ : fitted regressor
    values_ : tuple
        Candidate values, the column order of the scores (the prior's key order).
    prior_ : dict
        p(v) used.
    residual_scale_ : float
        σ_f used.

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
    >>> attack = NaiveMAPRegressionAttack([0], {0: [0.0], 1: [1.0], 2: [2.0]}, {0: .4, 1: .3, 2: .3}, 0.1)
    >>> attack.fit(f).infer(X, y).guesses.tolist()
    [0, 1, 2, 0]
    """

    def __init__(self, sensitive_columns: Sequence[int | str], encoding: Mapping[Hashable, Sequence[float]],
                 prior: Mapping[Hashable, float] | None = None, residual_scale: float | None = None):
        self.sensitive_columns = sensitive_columns
        self.encoding = encoding
        self.prior = prior
        self.residual_scale = residual_scale
        self._check_params()

    def _check_params(self) -> None:
        if isinstance(self.sensitive_columns, (str, bytes)) or not list(self.sensitive_columns):
            raise ValueError("sensitive_columns must name at least one column")
        if not isinstance(self.encoding, Mapping) or len(self.encoding) < 2:
            raise ValueError("encoding must map at least two candidate values to column contents")
        codes = [np.asarray(c, dtype=float).ravel() for c in self.encoding.values()]
        if any(len(c) != len(list(self.sensitive_columns)) for c in codes):
            raise ValueError(f"encoding: each value needs {len(list(self.sensitive_columns))} column contents")
        if self.prior is not None:
            values, _ = _check_prior(self.prior)
            if set(values) != set(self.encoding):
                raise ValueError("encoding must map exactly the prior's values to column contents")
        if self.residual_scale is not None and (
                isinstance(self.residual_scale, bool) or not isinstance(self.residual_scale, numbers.Real)
                or not (math.isfinite(self.residual_scale) and self.residual_scale > 0)):
            raise ValueError(f"residual_scale must be a finite number > 0, got {self.residual_scale!r}")

    def fit(self, model, X=None, y=None, sensitive_values=None) -> NaiveMAPRegressionAttack:
        """Bind the attacked ``model`` and estimate the knowledge not given.

        Parameters
        ----------
        model : fitted regressor with ``predict``
        X, y : the attacker's records (feature rows and true target values), optional
            Needed when ``residual_scale`` is None (σ_f = RMSE of ``model`` on them).
        sensitive_values : sequence, optional
            Their sensitive values; needed when ``prior`` is None (p = their marginal).
        """
        self._check_params()
        if not hasattr(model, "predict"):
            raise ValueError(f"model must be a fitted regressor with predict, got {type(model).__name__}")
        if self.prior is None:
            if sensitive_values is None:
                raise ValueError("prior is None: give sensitive_values to fit to estimate it")
            prior = empirical_prior(list(self.encoding), sensitive_values)
        else:
            prior = self.prior
        values, p = _check_prior(prior)
        if X is not None:
            _column_positions(X, list(self.sensitive_columns))
        if self.residual_scale is None:
            X_, y_ = _rows_and_targets(X, y)
            scale = float(np.sqrt(np.mean((y_ - np.asarray(model.predict(X_), float)) ** 2)))
            if not (math.isfinite(scale) and scale > 0):
                raise ValueError(f"the model's RMSE on (X, y) is {scale!r}; give residual_scale")
        else:
            scale = float(self.residual_scale)
        self.model_ = model
        self.values_ = values
        self.prior_ = dict(zip(values, p))
        self.residual_scale_ = scale
        self._codes = np.array([np.asarray(self.encoding[v], dtype=float).ravel() for v in values])
        with np.errstate(divide="ignore"):
            self._log_prior = np.log(p)  # a value with prior 0 is never guessed
        return self

    def predictions(self, X) -> np.ndarray:
        """f(x_K, v) for every row and candidate value: array of shape ``(n, len(values_))``."""
        self._check_fitted("model_")
        cols = _column_positions(X, list(self.sensitive_columns))
        out = []
        for code in self._codes:
            if isinstance(X, pd.DataFrame):
                Xv = X.copy()
                Xv.iloc[:, cols] = np.broadcast_to(code, (len(X), len(cols)))
            else:
                Xv = np.array(X, dtype=float, copy=True)
                Xv[:, cols] = code
            out.append(np.asarray(self.model_.predict(Xv), dtype=float).ravel())
        return np.column_stack(out)

    def infer(self, X_known, y=None) -> AttributeInference:
        """MAP guesses for the targets' rows ``X_known`` with true target values ``y``; ``scores`` are the
        posteriors p(v | x_K, y) ∝ p(v)·N(y; f(x_K, v), σ_f²)."""
        self._check_fitted("model_")
        X, y = _rows_and_targets(X_known, y)
        resid = y[:, None] - self.predictions(X)
        log_score = self._log_prior - resid**2 / (2.0 * self.residual_scale_**2)
        post = np.exp(log_score - logsumexp(log_score, axis=1, keepdims=True))
        values = np.empty(len(self.values_), dtype=object)
        values[:] = list(self.values_)
        return AttributeInference(guesses=values[np.argmax(post, axis=1)], scores=post, values=values)


class NaiveMAPAttack:
    """Deprecated: the old call shape of :class:`NaiveMAPRegressionAttack` (``infer(model, (X, y))``).

    It will be removed in the next release; ``NaiveMAPRegressionAttack(...).fit(model).infer(X, y)``
    returns an :class:`~defenses.base.AttributeInference` whose ``guesses`` and ``scores`` are this
    class's ``infer`` and ``infer_proba``.
    """

    @deprecated_call("defenses.linear.NaiveMAPAttack", "NaiveMAPRegressionAttack(...).fit(model).infer(X, y)")
    def __init__(self, sensitive_columns, encoding, prior, residual_scale):
        self._attack = NaiveMAPRegressionAttack(list(sensitive_columns), encoding, prior, residual_scale)
        values, p = _check_prior(prior)
        self.sensitive_columns = list(sensitive_columns)
        self.values = values
        self.encoding = {v: tuple(np.asarray(encoding[v], dtype=float).ravel()) for v in values}
        self.prior = dict(zip(values, p))
        self.residual_scale = float(residual_scale)

    @classmethod
    def from_training_data(cls, model, X, y, sensitive_values, sensitive_columns, encoding) -> NaiveMAPAttack:
        """The prior from ``sensitive_values``, σ_f the model's RMSE on ``(X, y)``."""
        X_, y_ = _rows_and_targets(X, y)
        prior = empirical_prior(list(encoding), sensitive_values)
        rmse = float(np.sqrt(np.mean((y_ - np.asarray(model.predict(X_), float)) ** 2)))
        return cls(sensitive_columns, encoding, prior, rmse)

    def _bound(self, model) -> NaiveMAPRegressionAttack:
        return self._attack.fit(model)

    def predictions(self, model, X) -> np.ndarray:
        return self._bound(model).predictions(X)

    def infer_proba(self, model, known) -> np.ndarray:
        X, y = _split_known(known)
        return self._bound(model).infer(X, y).scores

    def infer(self, model, known) -> np.ndarray:
        X, y = _split_known(known)
        return self._bound(model).infer(X, y).guesses


#: The prior-only adversary (one class for every attack family, :class:`defenses.base.PriorBaseline`).
PriorBaseline = _PriorBaseline


class NoModelBaseline(AttributeInferenceAttack):
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
        Candidate values; the column order of the scores.
    use_target : bool, default=False
    C : float, default=1.0
        Inverse L2 strength of the logistic regression.

    Attributes
    ----------
    model_ : sklearn Pipeline
        The fitted scaler and logistic regression.
    """

    def __init__(self, sensitive_columns: Sequence[int | str], values: Sequence[Hashable],
                 use_target: bool = False, C: float = 1.0):
        self.sensitive_columns = sensitive_columns
        self.values = values
        self.use_target = use_target
        self.C = C
        self._check_params()

    def _check_params(self) -> None:
        if len(self.values) < 2:
            raise ValueError("values must hold at least two candidate values")
        if not isinstance(self.use_target, (bool, np.bool_)):
            raise ValueError(f"use_target must be a bool, got {self.use_target!r}")
        if isinstance(self.C, bool) or not isinstance(self.C, numbers.Real) or not (math.isfinite(self.C) and self.C > 0):
            raise ValueError(f"C must be a finite number > 0, got {self.C!r}")

    def _inputs(self, X, y) -> np.ndarray:
        cols = set(_column_positions(X, list(self.sensitive_columns)))
        A = np.asarray(X, dtype=float)
        A = A[:, [k for k in range(A.shape[1]) if k not in cols]]
        return np.column_stack([A, y]) if self.use_target else A

    def fit(self, X, y, sensitive_values) -> NoModelBaseline:
        """Learn p(v | ·) from auxiliary records (X, y) with their sensitive values."""
        self._check_params()
        X, y = _rows_and_targets(X, y)
        s, codes = _sensitive_codes(sensitive_values, len(y), tuple(self.values))
        self.model_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=1000))
        self.model_.fit(self._inputs(X, y), codes)
        return self

    def infer(self, X_known, y=None) -> AttributeInference:
        """Guesses and posteriors for the targets' rows ``X_known`` (and true target values ``y``, used
        when ``use_target``)."""
        if _old_known(X_known, y):
            return self._old_infer(X_known)
        self._check_fitted("model_")
        if y is None:
            if self.use_target:
                raise ValueError("use_target=True: give y, the targets' true target values")
            y = np.zeros(len(X_known))
        X, y = _rows_and_targets(X_known, y)
        proba = self.model_.predict_proba(self._inputs(X, y))
        post = np.zeros((len(y), len(self.values)))
        post[:, self.model_.classes_] = proba
        values = np.empty(len(self.values), dtype=object)
        values[:] = list(self.values)
        return AttributeInference(guesses=values[np.argmax(post, axis=1)], scores=post, values=values)

    @deprecated_call("NoModelBaseline.infer((X, y))", "NoModelBaseline.infer(X, y).guesses")
    def _old_infer(self, known) -> np.ndarray:
        return self.infer(*_split_known(known)).guesses

    @deprecated_call("NoModelBaseline.infer_proba((X, y))", "NoModelBaseline.infer(X, y).scores")
    def infer_proba(self, known) -> np.ndarray:
        return self.infer(*_split_known(known)).scores


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


class ModelAssistedAttack(AttributeInferenceAttack):
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

    Attributes
    ----------
    model_ : the released regressor, bound by :meth:`fit`
    classifier_ : sklearn Pipeline, the fitted scaler and logistic regression
    """

    def __init__(self, sensitive_columns: Sequence[int | str], encoding: Mapping[Hashable, Sequence[float]],
                 C: float = 1.0):
        self.sensitive_columns = sensitive_columns
        self.encoding = encoding
        self.C = C
        self._check_params()

    def _check_params(self) -> None:
        NaiveMAPRegressionAttack(self.sensitive_columns, self.encoding)  # the same columns and encoding checks
        if isinstance(self.C, bool) or not isinstance(self.C, numbers.Real) or not (math.isfinite(self.C) and self.C > 0):
            raise ValueError(f"C must be a finite number > 0, got {self.C!r}")

    def _evidence(self, model, X, y, X_fit, y_fit, s_fit) -> np.ndarray:
        attack = NaiveMAPRegressionAttack(list(self.sensitive_columns), self.encoding).fit(model, X_fit, y_fit, s_fit)
        resid = np.asarray(y, float)[:, None] - attack.predictions(X)
        return -resid ** 2 / (2.0 * attack.residual_scale_ ** 2)

    def _inputs(self, X, y, evidence) -> np.ndarray:
        cols = set(_column_positions(X, list(self.sensitive_columns)))
        A = np.asarray(X, dtype=float)
        A = A[:, [k for k in range(A.shape[1]) if k not in cols]]
        return np.column_stack([A, np.asarray(y, float), evidence])

    def fit(self, model, X, y, sensitive_values, shadows: list[tuple[Any, np.ndarray]] | None = None
            ) -> ModelAssistedAttack:
        """Bind the released ``model`` and learn from the attacker's records (X, y) with their sensitive
        values; to attack non-members, give ``shadows``."""
        self._check_params()
        if not hasattr(model, "predict"):
            raise ValueError(f"model must be a fitted regressor with predict, got {type(model).__name__}")
        X, y = _rows_and_targets(X, y)
        self.values_ = tuple(self.encoding)
        s, codes = _sensitive_codes(sensitive_values, len(y), self.values_)
        self.model_, self._fit_data = model, (X, y, s)
        if shadows is None:
            ev = self._evidence(model, X, y, X, y, s)
        else:
            ev = np.zeros((len(y), len(self.values_)))
            for shadow, held in shadows:
                held = np.asarray(held)
                rest = np.setdiff1d(np.arange(len(y)), held)
                ev[held] = self._evidence(shadow, _rows(X, held), y[held], _rows(X, rest), y[rest], s[rest])
        self.classifier_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000))
        self.classifier_.fit(self._inputs(X, y, ev), codes)
        return self

    def infer(self, X_known, y=None) -> AttributeInference:
        """Guesses and posteriors over the candidate values for the targets' rows ``X_known`` with true
        target values ``y``."""
        self._check_fitted("classifier_")
        X, y = _rows_and_targets(X_known, y)
        Xf, yf, sf = self._fit_data
        proba = self.classifier_.predict_proba(self._inputs(X, y, self._evidence(self.model_, X, y, Xf, yf, sf)))
        post = np.zeros((len(y), len(self.values_)))
        post[:, self.classifier_.classes_] = proba
        values = np.empty(len(self.values_), dtype=object)
        values[:] = list(self.values_)
        return AttributeInference(guesses=values[np.argmax(post, axis=1)], scores=post, values=values)


def _rows(X, idx):
    return X.iloc[idx] if isinstance(X, pd.DataFrame) else np.asarray(X)[idx]
