"""What every attack of the toolkit has in common: two kinds, one verb each, one result type each.

Attacks follow the shape of IBM ART's (docs/attacks.md):

* an **attribute-inference** attack (:class:`AttributeInferenceAttack`) guesses a hidden value of each
  target record — a sensitive feature, or the label of the record a model was updated on — with
  ``infer(X_known, y) -> AttributeInference``;
* a **reconstruction** attack (:class:`ReconstructionAttack`) draws inputs — faces — behind what a model
  releases or what it was trained to recognise, with ``invert(targets) -> Reconstruction``.

The attacked model is bound once, by ``fit(model, ...)``, which also learns whatever the attack learns
from the attacker's own data (a prior, a confusion matrix, an inversion network); the model-free
baselines fit on the attacker's data alone. Hyperparameters are constructor arguments stored unchanged and
checked in one place (``_check_params``, run by the constructor, ``set_params``, ``fit`` and the verb),
so a bad value fails early with a message naming it; ``get_params``, ``set_params`` and
``sklearn.base.clone`` work as for scikit-learn estimators. What an attacker *holds* rather than
chooses — a fitted GAN prior, a release function — is a constructor argument too, shared by reference
when an attack is cloned (``_shared_params``). Anything used before ``fit`` raises scikit-learn's
``NotFittedError``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from mitheory.rng import as_generator

__all__ = ["Attack", "AttributeInference", "AttributeInferenceAttack", "PriorBaseline", "Reconstruction",
           "ReconstructionAttack", "deprecated_call"]


@dataclass(frozen=True)
class AttributeInference:
    """Guesses of a hidden value and the score of every candidate value, per target.

    Attributes
    ----------
    guesses : (n,) array
        Guessed values (elements of ``values``).
    scores : (n, V) float array
        Score of each candidate value per target, columns in the order of ``values`` (a posterior, an
        unnormalised MAP score, or the one-hot of the guess for attacks that give no scores).
    values : (V,) array
        The candidate values.
    """

    guesses: np.ndarray
    scores: np.ndarray
    values: np.ndarray

    def posterior(self) -> np.ndarray:
        """Scores normalized per row (uniform where every score is 0)."""
        s = self.scores.sum(axis=1, keepdims=True)
        return np.where(s > 0, self.scores / np.where(s > 0, s, 1.0), 1.0 / self.scores.shape[1])

    def accuracy(self, truth) -> float:
        """Fraction of guesses equal to the true values ``truth``."""
        truth = np.asarray(truth, dtype=object).ravel()
        if len(truth) != len(self.guesses):
            raise ValueError(f"truth has {len(truth)} values for {len(self.guesses)} guesses")
        return float(np.mean(np.asarray(self.guesses, dtype=object) == truth))


@dataclass
class Reconstruction:
    """Inputs an attack reconstructed, one per target.

    Attributes
    ----------
    images : (N, C, H, W) float array in [0, 1]
    identities : (N,) array or None
        The label each image is meant to show, where the attack knows it (an inversion of a class), None
        where it does not (an inversion of released vectors).
    """

    images: np.ndarray
    identities: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)


class Attack(BaseEstimator):
    """Base class of every attack: parameter checks in one place, scikit-learn's parameter protocol."""

    #: Constructor arguments that are the attacker's fitted knowledge, shared (not copied) by ``clone``.
    _shared_params: tuple[str, ...] = ()

    def _check_params(self) -> None:
        """Check every hyperparameter; raise ``ValueError`` naming the first bad one."""

    def set_params(self, **params):
        super().set_params(**params)
        self._check_params()
        return self

    def __sklearn_clone__(self):
        params = self.get_params(deep=False)
        return type(self)(**{k: v if k in self._shared_params else clone(v, safe=False) for k, v in params.items()})

    def _check_fitted(self, *attributes: str) -> None:
        check_is_fitted(self, list(attributes) or None)


class AttributeInferenceAttack(Attack):
    """An attack that guesses one hidden value per target record: ``infer(X_known, y)``."""

    def infer(self, X_known, y=None) -> AttributeInference:
        """Guess the hidden value of every row of ``X_known`` (what the attacker knows about each target)
        given ``y`` (the targets' labels or target values, where the attack uses them)."""
        raise NotImplementedError


class ReconstructionAttack(Attack):
    """An attack that reconstructs inputs: ``invert(targets)``."""

    def invert(self, targets) -> Reconstruction:
        """Reconstruct one input per entry of ``targets`` (released vectors, or the classes to draw)."""
        raise NotImplementedError


def deprecated_call(old: str, new: str):
    """Decorator: the wrapped old call shape warns once per call that ``old`` will go, pointing at ``new``."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            warnings.warn(f"{old} is deprecated and will be removed in the next release; use {new}",
                          DeprecationWarning, stacklevel=2)
            return fn(*args, **kwargs)
        return inner
    return wrap


def _prior_items(prior) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(prior, (Mapping, pd.Series)) or len(prior) < 2:
        raise ValueError("prior must be a mapping (or pandas Series) from at least two candidate values to "
                         "probabilities")
    items = dict(prior.items())
    p = np.array([float(v) for v in items.values()])
    if not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError(f"prior must hold finite probabilities >= 0 with a positive sum, got {items!r}")
    values = np.empty(len(items), dtype=object)
    values[:] = list(items)
    return values, p / p.sum()


class PriorBaseline(AttributeInferenceAttack):
    """The adversary without a model: guesses from the prior p(v) alone (the baseline of every figure).

    Its scores are p(v) for every target, so its AUROC is 0.5 by construction.

    Parameters
    ----------
    prior : mapping value → probability, or pandas Series
        p(v); its keys are the candidate values, in order.
    strategy : {"mode", "sample"}, default "mode"
        ``"mode"``: always the most likely value (the first of the most likely, in the prior's order) —
        the MAP guess without a model; ``"sample"``: each guess drawn from p(v) independently (a guesser
        matching the base rate; its expected F1 for a value v is 2·p(v)·b/(p(v) + b) with b that value's
        rate among the targets).
    random_state : None, int, SeedSequence, Generator or RandomState
        Source of the draws for ``strategy="sample"``.

    Examples
    --------
    >>> PriorBaseline({"yes": 0.2, "no": 0.8}).infer([[1], [2], [3]]).guesses.tolist()
    ['no', 'no', 'no']
    """

    def __init__(self, prior: Mapping[Hashable, float] | pd.Series, strategy: str = "mode", random_state=None):
        self.prior = prior
        self.strategy = strategy
        self.random_state = random_state
        self._check_params()

    def _check_params(self) -> None:
        _prior_items(self.prior)
        if self.strategy not in ("mode", "sample"):
            raise ValueError(f"strategy must be 'mode' or 'sample', got {self.strategy!r}")

    def fit(self, model=None, *args, **kwargs) -> PriorBaseline:
        """Nothing to learn (the prior is given; ``model`` and any data are ignored: the attacker uses
        none). Kept so every attribute-inference attack can be driven alike; :meth:`infer` works without it."""
        self._check_params()
        return self

    def infer(self, X_known, y=None) -> AttributeInference:
        """Guess for every row of ``X_known`` (only its length is used)."""
        if y is None and isinstance(X_known, tuple) and len(X_known) == 2:
            return self._old_infer(X_known)
        self._check_params()
        values, p = _prior_items(self.prior)
        n = len(X_known)
        scores = np.tile(p, (n, 1))
        if self.strategy == "mode":
            guesses = np.repeat(values[np.argmax(p)], n)
        else:
            guesses = values[as_generator(self.random_state).choice(len(values), size=n, p=p)]
        return AttributeInference(guesses=guesses, scores=scores, values=values)

    @deprecated_call("PriorBaseline.infer((X, y))", "PriorBaseline(prior).infer(X).guesses")
    def _old_infer(self, known) -> np.ndarray:
        return self.infer(known[0]).guesses

    @deprecated_call("PriorBaseline.infer_proba((X, y))", "PriorBaseline(prior).infer(X).scores")
    def infer_proba(self, known) -> np.ndarray:
        return self.infer(known[0]).scores
