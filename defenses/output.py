"""Output perturbation: change only what a fitted classifier releases (docs/defenses.md).

The MID paper mentions two output-perturbation defenses and dismisses them without numbers: rounding the
confidence vector (Fredrikson, Jha & Ristenpart 2015) and "injecting uniform noise" into it (Salem et al.
2019). They are implemented here, with ART's post-processing defences (``art.defences.postprocessor``),
as one kind of object: an :class:`OutputPerturbation` maps released confidence vectors (rows of
``predict_proba``) to perturbed ones, and :meth:`OutputPerturbation.wrap` puts it in front of a fitted
estimator as an :class:`OutputPerturbedClassifier`, which trains nothing and releases only perturbed
outputs.

==========================  ======================================================================
``round_confidences(r)``    ``p̃ = r·round(p/r)``, not renormalised (Fredrikson et al. 2015)
``mix_uniform(w, space)``   ``(1−w)·v + w/K`` on probabilities (``"prob"``) or on logits (``"logit"``,
                            what the official MID code does: before the softmax it is only a
                            temperature change, ``softmax((1−w)·z)``)
``add_uniform_noise(a)``    ``u_k ~ U(−a, a)`` i.i.d., clip at 0, renormalise [ours: our reading of
                            "injecting uniform noise"]
:class:`Rounded`            ART's ``Rounded(decimals)``: ``numpy.around(p, decimals)``
:class:`GaussianNoise`      ART's ``GaussianNoise(scale)`` with an explicit random generator
:class:`ReverseSigmoid`     ART's ``ReverseSigmoid(beta, gamma)`` (Lee et al. 2019)
:class:`HighConfidence`     ART's ``HighConfidence(cutoff)``: entries below the cutoff set to 0
==========================  ======================================================================

Random perturbations take ``rng`` (a seed, a ``numpy.random.Generator``, or a legacy ``RandomState``)
and draw only from it — unlike ART's ``GaussianNoise``, which draws from NumPy's global generator — so a
seed reproduces the released outputs; each call draws fresh noise (a new query gets new noise). Their
draw and its use are two steps, :meth:`OutputPerturbation.draw_noise` and
:meth:`OutputPerturbation.apply`, so that a caller releasing many queries at once can take each query's
noise from a generator of its own (the simulated updates of :mod:`defenses.neural.update_leaks`).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from mitheory.rng import as_generator

Rng = int | np.random.SeedSequence | np.random.Generator | np.random.RandomState | None


def _as_rng(rng: Rng) -> np.random.Generator | np.random.RandomState:
    # a RandomState is drawn from as it is: ART's GaussianNoise draws from NumPy's legacy generator
    return as_generator(rng, name="rng", keep_legacy=True)


def _number(name: str, value, low: float, high: float = np.inf, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or \
            value > high or value < low or (open_low and value == low):
        interval = f"{'(' if open_low else '['}{low:g}, {high:g}]" if np.isfinite(high) else \
            f"{'>' if open_low else '>='} {low:g}"
        raise ValueError(f"{name} must be a finite number {'in ' if np.isfinite(high) else ''}{interval}, "
                         f"got {value!r}")
    return float(value)


def _vectors(outputs, name: str = "outputs") -> np.ndarray:
    v = np.asarray(outputs, dtype=float)
    if v.ndim != 2 or v.shape[1] < 1 or not np.isfinite(v).all():
        raise ValueError(f"{name} must be a finite 2-d array (n, n_classes), got shape {v.shape}")
    return v


def _renormalise(v: np.ndarray) -> np.ndarray:
    """Rows divided by their sums; a row summing to 0 becomes uniform [ours: ART would divide by 0]."""
    s = v.sum(axis=1, keepdims=True)
    return np.where(s > 0, v / np.where(s > 0, s, 1.0), 1.0 / v.shape[1])


class OutputPerturbation:
    """A map from released confidence vectors to perturbed ones; subclasses define :meth:`__call__`.

    ``space`` is ``"prob"`` for a perturbation of probabilities and ``"logit"`` for one defined on logits
    (then :meth:`on_logits` maps logits and ``__call__`` the probabilities they give).
    """

    space = "prob"

    def __call__(self, proba) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw_noise(self, shape: tuple[int, ...], rng: Rng) -> np.ndarray | None:
        """The noise a release of confidence vectors of ``shape`` draws from ``rng``; None for a
        deterministic perturbation (the default)."""
        return None

    def apply(self, proba, noise: np.ndarray | None) -> np.ndarray:
        """The perturbed vectors given the ``noise`` :meth:`draw_noise` drew for them:
        ``p(proba) == p.apply(proba, p.draw_noise(shape, p.rng))``. A deterministic perturbation
        ignores ``noise``."""
        return self(proba)

    def wrap(self, estimator) -> OutputPerturbedClassifier:
        """``estimator`` (fitted, or fitted later by ``fit``) releasing only perturbed outputs."""
        return OutputPerturbedClassifier(estimator, self)

    def describe(self) -> dict[str, Any]:
        """Name and parameters as JSON-ready data (a random generator is described by its type only)."""
        params = {k: (type(v).__name__ if k == "rng" else v) for k, v in vars(self).items()}
        return {"perturbation": type(self).__name__, **params}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.describe().items() if k != 'perturbation')})"


class RoundConfidences(OutputPerturbation):
    """Round every confidence to a multiple of ``r``: ``p̃ = r·round(p/r)`` (Fredrikson et al. 2015).

    Not renormalised (faithful); idempotent. Fredrikson et al. swept r ∈ {0.001, 0.005, 0.01, 0.05}
    [unsure, docs/defenses.md]. Ties at ``.5`` round half to even (``numpy.round``).
    """

    def __init__(self, r: float):
        self.r = _number("r", r, 0.0, 1.0, open_low=True)

    def __call__(self, proba) -> np.ndarray:
        return self.r * np.round(_vectors(proba) / self.r)


class MixUniform(OutputPerturbation):
    """Mix the released vector with the uniform one: ``(1−w)·v + w/K``.

    ``space="prob"``: on the probabilities, ``p̃ = (1−w)·p + w/K`` (argmax unchanged for w < 1).
    ``space="logit"``: on the logits, as the official MID code does (``--noise`` mixes into the logits
    before the softmax); the released logits are ``(1−w)·z + w/K`` and their softmax is
    ``softmax((1−w)·z)`` — a temperature ``1/(1−w)``, not noise. On probabilities it is computed as
    ``softmax((1−w)·log p)``, the same vector. Both give the identity at w = 0 and the uniform vector at
    w = 1.
    """

    def __init__(self, w: float, space: str = "prob"):
        self.w = _number("w", w, 0.0, 1.0)
        if space not in ("prob", "logit"):
            raise ValueError(f"space must be 'prob' or 'logit', got {space!r}")
        self.space = space

    def on_logits(self, logits) -> np.ndarray:
        """The mixed logits ``(1−w)·z + w/K`` (the official code's release)."""
        z = _vectors(logits, "logits")
        return (1.0 - self.w) * z + self.w / z.shape[1]

    def __call__(self, proba) -> np.ndarray:
        p = _vectors(proba, "proba")
        if self.space == "prob":
            return (1.0 - self.w) * p + self.w / p.shape[1]
        with np.errstate(divide="ignore"):
            logp = np.log(p)
        if self.w == 1.0:
            return np.full_like(p, 1.0 / p.shape[1])
        return softmax((1.0 - self.w) * logp, axis=1)


class AddUniformNoise(OutputPerturbation):
    """Add i.i.d. ``U(−a, a)`` noise to every confidence, clip at 0 and renormalise [ours, §14(b)].

    A row whose every entry is clipped to 0 is released as the uniform vector [ours].
    """

    def __init__(self, a: float, rng: Rng = None):
        self.a = _number("a", a, 0.0)
        self.rng = _as_rng(rng)

    def __call__(self, proba) -> np.ndarray:
        p = _vectors(proba, "proba")
        return self.apply(p, self.draw_noise(p.shape, self.rng))

    def draw_noise(self, shape: tuple[int, ...], rng: Rng) -> np.ndarray:
        """``U(−a, a)`` draws of ``shape`` from ``rng``."""
        return _as_rng(rng).uniform(-self.a, self.a, size=shape)

    def apply(self, proba, noise: np.ndarray) -> np.ndarray:
        p = _vectors(proba, "proba")
        return _renormalise(np.clip(p + _noise_of(noise, p), 0.0, None))


class Rounded(OutputPerturbation):
    """ART's ``Rounded``: ``numpy.around(p, decimals)`` (decimal digits, ``decimals ≥ 1`` as in ART;
    not renormalised)."""

    def __init__(self, decimals: int = 3):
        if isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral) or decimals < 1:
            raise ValueError(f"decimals must be an integer >= 1, got {decimals!r}")
        self.decimals = int(decimals)

    def __call__(self, proba) -> np.ndarray:
        return np.around(_vectors(proba, "proba"), decimals=self.decimals)


class GaussianNoise(OutputPerturbation):
    """ART's ``GaussianNoise``: add N(0, scale²) to every entry; if every input row was a probability
    vector (ART's test: entries in [0, 1], sum 1 within relative 1e-3), clip negatives to 0 and renormalise.

    Draws from ``rng`` instead of NumPy's global generator: with ``rng=numpy.random.RandomState(s)`` the
    output equals ART's after ``numpy.random.seed(s)``. A row clipped to all zeros becomes uniform
    [ours; ART returns NaN there]. A single-column input is clipped at 0 without renormalising (ART).
    """

    def __init__(self, scale: float = 0.2, rng: Rng = None):
        self.scale = _number("scale", scale, 0.0)
        self.rng = _as_rng(rng)

    def __call__(self, proba) -> np.ndarray:
        p = _vectors(proba, "proba")
        return self.apply(p, self.draw_noise(p.shape, self.rng))

    def draw_noise(self, shape: tuple[int, ...], rng: Rng) -> np.ndarray:
        """``N(0, scale²)`` draws of ``shape`` from ``rng``."""
        return _as_rng(rng).normal(loc=0.0, scale=self.scale, size=shape)

    def apply(self, proba, noise: np.ndarray) -> np.ndarray:
        p = _vectors(proba, "proba")
        out = p + _noise_of(noise, p)
        if p.shape[1] == 1:
            return np.clip(out, 0.0, None)
        if _are_probabilities(p):
            return _renormalise(np.clip(out, 0.0, None))
        return out


def _noise_of(noise, p: np.ndarray) -> np.ndarray:
    noise = np.asarray(noise, dtype=float)
    if noise.shape != p.shape:
        raise ValueError(f"noise must have the shape of the outputs {p.shape}, got {noise.shape}")
    return noise


def _are_probabilities(p: np.ndarray) -> bool:
    """ART's ``is_probability`` on every row: entries in [0, 1] and ``isclose(sum, 1, rel_tol=1e-3)``."""
    s = p.sum(axis=1)
    return bool(np.all((p >= 0) & (p <= 1)) and np.all(np.abs(s - 1.0) <= 1e-3 * np.maximum(np.abs(s), 1.0)))


class ReverseSigmoid(OutputPerturbation):
    """ART's ``ReverseSigmoid`` (Lee, Edwards, Molloy, Srivastava 2019).

    ``p_c = clip(p, 1e-9, 1 − 1e-9)``, ``r = β·(sigmoid(−γ·log((1 − p_c)/p_c)) − 0.5)``,
    ``p̃ = clip(p − r, 0, 1)`` renormalised. A single-column input holds the positive class's
    probability ``p``; both ``p`` and ``1 − p`` are perturbed and the positive one renormalised (ART).
    A row clipped to all zeros becomes uniform [ours; ART divides by 0 there].
    """

    def __init__(self, beta: float = 1.0, gamma: float = 0.1):
        self.beta = _number("beta", beta, 0.0)
        self.gamma = _number("gamma", gamma, 0.0)

    def _shift(self, pc: np.ndarray) -> np.ndarray:
        return self.beta * (1.0 / (1.0 + np.exp(self.gamma * np.log((1.0 - pc) / pc))) - 0.5)

    def __call__(self, proba) -> np.ndarray:
        p = _vectors(proba, "proba")
        pc = np.clip(p, 1e-9, 1.0 - 1e-9)
        if p.shape[1] == 1:
            pos = np.clip(p - self._shift(pc), 0.0, 1.0)
            neg = np.clip((1.0 - p) - self._shift(1.0 - pc), 0.0, 1.0)
            total = pos + neg
            return np.where(total > 0, pos * (1.0 / np.where(total > 0, total, 1.0)), 0.5)
        q = np.clip(p - self._shift(pc), 0.0, 1.0)
        total = q.sum(axis=1, keepdims=True)
        return np.where(total > 0, q * (1.0 / np.where(total > 0, total, 1.0)), 1.0 / p.shape[1])


class HighConfidence(OutputPerturbation):
    """ART's ``HighConfidence``: entries below ``cutoff`` set to 0 (not renormalised)."""

    def __init__(self, cutoff: float = 0.25):
        self.cutoff = _number("cutoff", cutoff, 0.0, 1.0)

    def __call__(self, proba) -> np.ndarray:
        p = _vectors(proba, "proba").copy()
        p[p < self.cutoff] = 0.0
        return p


def round_confidences(r: float) -> RoundConfidences:
    """Rounding to multiples of ``r`` (:class:`RoundConfidences`)."""
    return RoundConfidences(r)


def mix_uniform(w: float, space: str = "prob") -> MixUniform:
    """Mixing with the uniform vector in probability or logit space (:class:`MixUniform`)."""
    return MixUniform(w, space)


def add_uniform_noise(a: float, rng: Rng = None) -> AddUniformNoise:
    """Uniform ``U(−a, a)`` noise, clipped and renormalised (:class:`AddUniformNoise`)."""
    return AddUniformNoise(a, rng)


def _has_logit_release(self) -> bool:
    return self.perturbation.space == "logit" and hasattr(self._fitted(), "decision_function")


class OutputPerturbedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier that releases ``perturbation(estimator.predict_proba(X))`` and nothing else.

    Training is untouched: the wrapped ``estimator`` is used as it is when already fitted, or fitted by
    :meth:`fit` (a clone, into ``estimator_``). ``predict`` is the argmax of the released vector (first
    index on ties, e.g. after coarse rounding). For a logit-space perturbation over an estimator with
    ``decision_function`` the released logits are ``perturbation.on_logits(decision_function(X))`` and
    the released probabilities their softmax.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``
        The model whose outputs are perturbed.
    perturbation : OutputPerturbation
        What is done to every released vector.
    """

    def __init__(self, estimator, perturbation: OutputPerturbation):
        self.estimator = estimator
        self.perturbation = perturbation

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags  # it takes what the wrapped estimator takes
        # a random perturbation releases different vectors for the same query
        random = isinstance(self.perturbation, OutputPerturbation) and \
            self.perturbation.draw_noise((1, 2), np.random.default_rng(0)) is not None
        tags.non_deterministic = inner.non_deterministic or random
        return tags

    @property
    def n_features_in_(self) -> int:
        """Number of features the wrapped estimator was fit on."""
        return self._fitted().n_features_in_

    def fit(self, X, y, **fit_params) -> OutputPerturbedClassifier:
        """Fit a clone of ``estimator`` on ``(X, y)``; the perturbation applies to its outputs."""
        self._check_perturbation()
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        return self

    def _check_perturbation(self) -> None:
        if not isinstance(self.perturbation, OutputPerturbation):
            raise ValueError(f"perturbation must be an OutputPerturbation, got {self.perturbation!r}")  # noqa: TRY004 (project rule)

    def _fitted(self):
        if hasattr(self, "estimator_"):
            return self.estimator_
        check_is_fitted(self.estimator)
        return self.estimator

    @property
    def classes_(self) -> np.ndarray:
        return self._fitted().classes_

    def predict_proba(self, X) -> np.ndarray:
        """The released (perturbed) confidence vectors, columns in the order of ``classes_``."""
        self._check_perturbation()
        inner = self._fitted()
        if self.perturbation.space == "logit" and hasattr(inner, "decision_function"):
            z = np.asarray(inner.decision_function(X), dtype=float)
            if z.ndim == 2:
                return softmax(self.perturbation.on_logits(z), axis=1)
        return self.perturbation(inner.predict_proba(X))

    @available_if(_has_logit_release)
    def decision_function(self, X) -> np.ndarray:
        """The released logits (logit-space perturbations only)."""
        return self.perturbation.on_logits(self._fitted().decision_function(X))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def released_ece(y_idx, released, n_bins: int = 15) -> float:
    """ECE (docs/attacks.md) of released confidence vectors, which need not sum to 1 (rounded, cut off).

    Confidence = the largest released entry, clipped to [0, 1] (what a client reads); correct = its
    argmax is the label ``y_idx`` (column indices). Equal-width bins ``(lo, hi]`` over [0, 1] (a confidence
    of 0 counts in the first), empty bins skipped; ``ECE = Σ_m |B_m|/N · |acc(B_m) − conf(B_m)|``. On
    probability vectors it equals :func:`defenses.metrics.ece` (same bins).
    """
    v = _vectors(released, "released")
    y_idx = np.asarray(y_idx)
    if y_idx.shape != (len(v),):
        raise ValueError(f"y_idx must hold one column index per row ({len(v)}), got shape {y_idx.shape}")
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    conf = np.clip(v.max(axis=1), 0.0, 1.0)
    correct = (v.argmax(axis=1) == y_idx).astype(float)
    bins = np.clip(np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1), conf, side="left") - 1, 0, n_bins - 1)
    gap = np.abs(np.bincount(bins, correct, n_bins) - np.bincount(bins, conf, n_bins))
    return float(gap.sum() / len(v))


def _released_rows(y_idx, released) -> tuple[np.ndarray, np.ndarray]:
    v = _vectors(released, "released")
    y_idx = np.asarray(y_idx)
    if y_idx.shape != (len(v),) or y_idx.dtype.kind not in "iu" or (y_idx < 0).any() or (y_idx >= v.shape[1]).any():
        raise ValueError(f"y_idx must hold one column index in 0..{v.shape[1] - 1} per row ({len(v)})")
    return y_idx, v


def released_brier(y_idx, released) -> float:
    """Brier score of released confidence vectors: mean over rows of Σ_k (v_k − 1[k = y])² (Brier 1950).

    A strictly proper score of the whole vector, defined for vectors that need not sum to 1 (rounded, cut
    off); lower is better, 0 for the one-hot truth. Unlike ECE it does not reward withholding confidence:
    a label-only release pays for every wrong label in full.
    """
    y_idx, v = _released_rows(y_idx, released)
    target = np.zeros_like(v)
    target[np.arange(len(v)), y_idx] = 1.0
    return float(np.mean(np.sum((v - target) ** 2, axis=1)))


def released_nll(y_idx, released, floor: float = 1e-12) -> float:
    """Negative log-likelihood −mean log max(v_y, ``floor``) of released vectors (nats).

    The released entry of the true label, floored so that a vector that gives the true label 0 (a
    rounded or label-only release) costs −log(``floor``) instead of ∞; name the floor with the number.
    """
    y_idx, v = _released_rows(y_idx, released)
    if not (0 < floor < 1):
        raise ValueError(f"floor must be in (0, 1), got {floor!r}")
    return float(-np.mean(np.log(np.clip(v[np.arange(len(v)), y_idx], floor, None))))


__all__ = [
    "AddUniformNoise", "GaussianNoise", "HighConfidence", "MixUniform", "OutputPerturbation",
    "OutputPerturbedClassifier", "ReverseSigmoid", "RoundConfidences", "Rounded", "add_uniform_noise",
    "mix_uniform", "released_brier", "released_ece", "released_nll", "round_confidences",
]
