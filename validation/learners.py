"""The real learners and attacks that the empirical games are played with.

Each entry wraps a model family of :mod:`defenses` as a :class:`validation.ind.Learner` over a real table:

==============  ========  ======  ======================================================================
name            dataset   knob    learner (declared privacy)
==============  ========  ======  ======================================================================
``adassp``      IWPC      eps     AdaSSP (Wang 2018), (ε, δ)-DP for add/remove neighbours
``mid-linear``  IWPC      lam     MID linear regression (no DP claim)
``ols``         IWPC      —       ordinary least squares (undefended)
``dp-id3``      survey    eps     DP-ID3 (Friedman & Schuster 2010), ε-DP for add/remove neighbours
``mid-id3``     survey    lam     ID3 with the MID criterion (no DP claim)
``id3``         survey    —       ID3 (undefended)
``dp-sgd``      digits    eps     DP-SGD CNN on Opacus, (ε, δ)-DP for add/remove neighbours (RDP)
``vib``         digits    lam     VIB (MID for neural networks), ``lam`` = β (no DP claim)
``cnn``         digits    —       the same CNN, undefended
==============  ========  ======  ======================================================================

Attacks (the ``A*`` of the reduction and of the semantic game): on IWPC the Naive MAP inversion of the
VKORC1 genotype (Fredrikson et al. 2014); on the survey ``map-counts`` (white box, the default) or
``naive-map`` (black box) for "Have you ever cheated?" (Fredrikson et al. 2015). The attacker's prior,
residual scale and confusion matrix come from ``aux`` — records it draws from the challenge law itself —
never from the training set. The meta-classifier probe is the model's prediction on a fixed probe set.

On the 8x8 digits the sensitive attribute is the image itself and the label is y, so q pairs images with
random labels; no attribute attack applies and only the meta-classifier (on predicted probabilities of a
probe set) distinguishes. The tables are the ones the sweeps use (``validation.linear.IWPCProblem`` with its public scaling, and
``defenses.datasets.load_steak_survey`` complete cases); ``p`` is their empirical distribution.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from mitheory.distributions import FiniteDistribution, Records, empirical_distribution
from validation.ind import Learner, Privacy


@dataclass(frozen=True)
class LearnerInfo:
    """Registry entry: dataset, the knob the CLI sets, and what the learner is."""

    dataset: str
    knob: str | None
    description: str
    attacks: tuple[str, ...]


LEARNERS: dict[str, LearnerInfo] = {
    "adassp": LearnerInfo("iwpc", "eps", "AdaSSP linear regression, (eps, delta)-DP (add/remove)", ("naive-map",)),
    "mid-linear": LearnerInfo("iwpc", "lam", "MID linear regression (Eq. 3-4), no DP claim", ("naive-map",)),
    "ols": LearnerInfo("iwpc", None, "ordinary least squares, undefended", ("naive-map",)),
    "dp-id3": LearnerInfo("steak", "eps", "DP-ID3 (Friedman & Schuster 2010), eps-DP (add/remove)",
                          ("map-counts", "naive-map")),
    "mid-id3": LearnerInfo("steak", "lam", "ID3 with the MID criterion, no DP claim", ("map-counts", "naive-map")),
    "id3": LearnerInfo("steak", None, "ID3, undefended", ("map-counts", "naive-map")),
    "dp-sgd": LearnerInfo("digits", "eps", "DP-SGD CNN (Opacus, Poisson sampling), eps from the RDP accountant "
                          "(add/remove); --eps is the target", ()),
    "vib": LearnerInfo("digits", "lam", "VIB / MID CNN, --lam is beta; no DP claim", ()),
    "cnn": LearnerInfo("digits", None, "CNN, undefended", ()),
}

#: Batch size of the digits CNNs (DP-SGD samples batches of this expected size, so it needs at least this many
#: training images).
NEURAL_BATCH_SIZE = 32
#: Largest β of the VIB learner: its loss CE + β·KL is computed in float32 (checked: 1e37 trains finitely).
MAX_VIB_BETA = 1e37
#: Lower bounds on one unit's time (one model trained and measured) by dataset, for refusing sizes that
#: could not finish: a tabular fit takes at least a millisecond, a CNN on the digits at least a second.
SECONDS_PER_UNIT = {"iwpc": 1e-3, "steak": 1e-3, "digits": 1.0}

ATTACK_DESCRIPTIONS = {
    "naive-map": "Naive MAP: prior x likelihood of the observed label/target (Fredrikson et al. 2014/2015)",
    "map-counts": "MAP with counts: white-box, training counts on consistent tree paths (Fredrikson et al. 2015)",
}


# ---------------------------------------------------------------------------------------------------
# IWPC (linear models).


@dataclass(frozen=True)
class _IWPC:
    p: FiniteDistribution
    columns: list[str]
    ns_columns: list[str]
    sensitive_columns: list[int]
    encoding: dict
    values: tuple
    x_bound: float
    y_bound: float
    rows: int

    def design(self, records: Records) -> np.ndarray:
        """The model's input matrix: non-sensitive columns plus the one-hot genotype from ``x_s``."""
        X = np.zeros((len(records), len(self.columns)))
        ns_pos = [self.columns.index(c) for c in self.ns_columns]
        X[:, ns_pos] = np.asarray(records.x_ns, float)
        codes = np.array([self.encoding[v] for v in records.x_s], float).reshape(len(records), -1)
        X[:, self.sensitive_columns] = codes
        return X


@functools.lru_cache(maxsize=4)
def _iwpc(data_home: str | None) -> _IWPC:
    from validation.linear import IWPCProblem

    prob = IWPCProblem(data_home)
    ns = [c for i, c in enumerate(prob.columns) if i not in prob.sensitive_columns]
    frame = pd.DataFrame(prob.X[:, [prob.columns.index(c) for c in ns]], columns=ns)
    frame["vkorc1"] = np.asarray(prob.genotype, dtype=object)
    frame["y"] = prob.y
    p = empirical_distribution(frame, sensitive="vkorc1", target="y", nonsensitive=ns)
    return _IWPC(p, prob.columns, ns, prob.sensitive_columns, dict(prob.encoding), prob.values,
                 prob.x_bound, prob.y_bound, len(frame))


def _iwpc_learner(name: str, make_model: Callable[[np.random.Generator], Any], privacy: Privacy | None,
                  data_home: str | None) -> tuple[Learner, FiniteDistribution]:
    from defenses.linear import NaiveMAPRegressionAttack

    task = _iwpc(data_home)

    def fit(train: Records, rng: np.random.Generator):
        return make_model(rng).fit(task.design(train), np.asarray(train.y, float))

    def attack(model, aux: Records, challenges: Records) -> np.ndarray:
        adversary = NaiveMAPRegressionAttack(task.sensitive_columns, task.encoding).fit(
            model, task.design(aux), np.asarray(aux.y, float), list(aux.x_s))
        return adversary.infer(task.design(challenges), np.asarray(challenges.y, float)).guesses

    def probe(model, records: Records) -> np.ndarray:
        return np.asarray(model.predict(task.design(records)), float)

    return Learner(name, fit, privacy, attack, probe, LEARNERS[name].description), task.p


# ---------------------------------------------------------------------------------------------------
# FiveThirtyEight steak survey (trees).


@dataclass(frozen=True)
class _Steak:
    p: FiniteDistribution
    ns_columns: list[str]
    categories: dict[str, list]
    sensitive: str
    target_categories: list
    rows: int

    def frame(self, records: Records) -> tuple[pd.DataFrame, pd.Series]:
        """The tree's input: every survey answer as a categorical with the full (public) domain."""
        cols = {c: pd.Categorical(np.asarray(records.x_ns, dtype=object)[:, j], categories=self.categories[c])
                for j, c in enumerate(self.ns_columns)}
        cols[self.sensitive] = pd.Categorical(np.asarray(records.x_s, dtype=object),
                                              categories=self.categories[self.sensitive])
        X = pd.DataFrame(cols)
        y = pd.Series(pd.Categorical(np.asarray(records.y, dtype=object), categories=self.target_categories))
        return X, y


@functools.lru_cache(maxsize=4)
def _steak(data_home: str | None) -> _Steak:
    from defenses.datasets import load_steak_survey

    ds = load_steak_survey(data_home)
    sensitive = ds.sensitive[0]
    frame = ds.data.astype(object).copy()
    frame["__target__"] = np.asarray(ds.target, dtype=object)
    ns = [c for c in ds.data.columns if c != sensitive]
    p = empirical_distribution(frame, sensitive=sensitive, target="__target__", nonsensitive=ns)
    categories = {c: list(ds.data[c].cat.categories) if hasattr(ds.data[c], "cat") else sorted(ds.data[c].unique())
                  for c in ds.data.columns}
    target_categories = list(ds.target.cat.categories) if hasattr(ds.target, "cat") else sorted(set(ds.target))
    return _Steak(p, ns, categories, sensitive, target_categories, len(frame))


def _steak_learner(name: str, make_model: Callable[[np.random.Generator], Any], privacy: Privacy | None,
                   attack_name: str, data_home: str | None) -> tuple[Learner, FiniteDistribution]:
    from defenses.tree import MAPWithCountsAttack, NaiveMAPClassifierAttack, confusion_matrix, estimate_prior

    task = _steak(data_home)

    def fit(train: Records, rng: np.random.Generator):
        X, y = task.frame(train)
        return make_model(rng).fit(X, y)

    def attack(model, aux: Records, challenges: Records) -> np.ndarray:
        Xa, ya = task.frame(aux)
        prior = estimate_prior(Xa[task.sensitive], task.categories[task.sensitive])
        if attack_name == "map-counts":
            adversary = MAPWithCountsAttack(task.sensitive, prior)
        else:
            adversary = NaiveMAPClassifierAttack(task.sensitive, prior, confusion_matrix(model, Xa, ya))
        Xc, yc = task.frame(challenges)
        Xc[task.sensitive] = pd.Categorical([None] * len(Xc), categories=task.categories[task.sensitive])
        return np.asarray(adversary.fit(model).infer(Xc, yc).guesses, dtype=object)

    def probe(model, records: Records) -> np.ndarray:
        X, _ = task.frame(records)
        return np.asarray(model.predict_proba(X), float).ravel()

    return Learner(name, fit, privacy, attack, probe, LEARNERS[name].description), task.p


# ---------------------------------------------------------------------------------------------------
# 8x8 digits (neural networks): the sensitive "attribute" is the image itself.


@dataclass(frozen=True)
class _Digits:
    p: FiniteDistribution
    images: np.ndarray
    classes: np.ndarray
    rows: int


@functools.lru_cache(maxsize=1)
def _digits() -> _Digits:
    from defenses.datasets import load_digits

    ds = load_digits()
    # x_s = the image (as its row index into the table), y = the digit; q pairs images with random labels.
    frame = pd.DataFrame({"image": np.arange(len(ds.target)), "label": ds.target})
    return _Digits(empirical_distribution(frame, sensitive="image", target="label", nonsensitive=[]),
                   ds.data, np.unique(ds.target), len(ds.target))


def _digits_learner(name: str, make_model: Callable[[np.random.Generator], Any],
                    privacy: Privacy | None) -> tuple[Learner, FiniteDistribution]:
    task = _digits()

    def fit(train: Records, rng: np.random.Generator):
        return make_model(rng).fit(task.images[np.asarray(train.x_s, int)], np.asarray(train.y, int))

    def probe(model, records: Records) -> np.ndarray:
        """Predicted probabilities of every digit, by label: a model trained on a set that lacked some digits
        (a small n) gives 0 in their columns, so every model's probe vector has the same layout."""
        proba = np.asarray(model.predict_proba(task.images[np.asarray(records.x_s, int)]), float)
        full = np.zeros((len(proba), len(task.classes)))
        full[:, np.searchsorted(task.classes, model.classes_)] = proba
        return full.ravel()

    return Learner(name, fit, privacy, None, probe, LEARNERS[name].description), task.p


# ---------------------------------------------------------------------------------------------------


def table_rows(name: str, data_home: str | os.PathLike | None = None) -> int:
    """Number of rows of the real table behind learner ``name`` (the empirical distribution's sample size)."""
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; choose from {', '.join(LEARNERS)}")
    home = None if data_home is None else str(data_home)
    dataset = LEARNERS[name].dataset
    return (_iwpc(home) if dataset == "iwpc" else _steak(home) if dataset == "steak" else _digits()).rows


def knob_limits(name: str, max_depth: int = 5) -> dict[str, tuple[float | None, float | None, str]]:
    """What learner ``name`` computes with: ``{option: (low, high, why)}`` (bounds inclusive, None: none
    beyond the option's own), from the limits its model declares, so that a command refuses a value before
    any unit runs instead of failing in every unit."""
    if name == "adassp":
        from defenses.linear.adassp import MAX_EPSILON

        return {"eps": (None, MAX_EPSILON, "AdaSSP's analytic calibration resolves the Gaussian privacy curve "
                                           "only that far")}
    if name == "dp-id3":
        from defenses.tree.dp import MIN_EPSILON_PER_QUERY

        queries = 2 * (max_depth + 1)
        return {"eps": (queries * MIN_EPSILON_PER_QUERY, None, f"DP-ID3 splits eps over {queries} queries, and each "
                        f"query's Laplace noise must stay a finite double")}
    if name == "mid-linear":
        from defenses.linear.mid import MAX_LAMBDA

        return {"lam": (None, MAX_LAMBDA, "the MID regression's gradient overflows a double beyond")}
    if name == "mid-id3":
        from defenses.tree.id3 import MAX_LAMBDA

        return {"lam": (None, MAX_LAMBDA, "lambda * H(Y_hat) overflows a double beyond")}
    if name == "vib":
        return {"lam": (None, MAX_VIB_BETA, "the VIB loss CE + beta * KL is computed in float32")}
    if name == "dp-sgd":
        return {"n": (NEURAL_BATCH_SIZE, None, f"DP-SGD samples batches of {NEURAL_BATCH_SIZE} expected images")}
    return {}


def check_knob(name: str, values: dict[str, float | None], max_depth: int = 5) -> None:
    """Raise ValueError (``--option value: ...``) when a given value lies outside :func:`knob_limits`."""
    for option, (low, high, why) in knob_limits(name, max_depth).items():
        value = values.get(option)
        if value is None:
            continue
        if low is not None and value < low:
            raise ValueError(f"--{option} {value:g}: learner {name} takes --{option} >= {low:g} ({why})")
        if high is not None and value > high:
            raise ValueError(f"--{option} {value:g}: learner {name} takes --{option} <= {high:g} ({why})")


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def build_learner(
    name: str,
    *,
    eps: float | None = None,
    delta: float | None = None,
    lam: float | None = None,
    attack: str | None = None,
    max_depth: int = 5,
    neural_epochs: int = 10,
    data_home: str | os.PathLike | None = None,
) -> tuple[Learner, FiniteDistribution]:
    """The registered learner ``name`` at the given knob, and the empirical distribution p of its data.

    ``eps`` (and ``delta`` for AdaSSP, default 1e-6) for the DP learners, ``lam`` for the MID learners;
    ``attack`` chooses the survey attack (``map-counts`` or ``naive-map``); ``max_depth`` bounds every
    tree (as in the Figure 2(b) sweep); ``neural_epochs`` is the training length of the digits CNNs
    (DP-SGD's σ is calibrated by Opacus so that its RDP accountant reaches ``eps`` at ``delta``, default
    1e-5, after that many epochs of Poisson-sampled batches).
    """
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; choose from {', '.join(LEARNERS)}")
    info = LEARNERS[name]
    if info.knob == "eps" and (eps is None or not np.isfinite(eps) or eps <= 0):
        raise ValueError(f"learner {name!r} needs --eps > 0")
    if info.knob == "lam" and (lam is None or not np.isfinite(lam) or lam < 0):
        raise ValueError(f"learner {name!r} needs --lam >= 0")
    attack = attack or (info.attacks[0] if info.attacks else None)
    if attack is not None and attack not in info.attacks:
        raise ValueError(f"learner {name!r} supports the attacks {', '.join(info.attacks)}, not {attack!r}")
    home = None if data_home is None else str(data_home)

    if info.dataset == "iwpc":
        from sklearn.linear_model import LinearRegression

        from defenses.linear import AdaSSPRegression, MIDLinearRegression

        if name == "adassp":
            d = 1e-6 if delta is None else float(delta)
            task = _iwpc(home)
            privacy = Privacy(float(eps), d, "add/remove")
            return _iwpc_learner(name, lambda rng: AdaSSPRegression(
                epsilon=float(eps), delta=d, x_bound=task.x_bound, y_bound=task.y_bound,
                random_state=_seed(rng)), privacy, home)
        if name == "mid-linear":
            return _iwpc_learner(name, lambda rng: MIDLinearRegression(mid_lambda=float(lam)), None, home)
        return _iwpc_learner(name, lambda rng: LinearRegression(), None, home)

    if info.dataset == "digits":
        from defenses.neural import CNNClassifier, DPSGDClassifier, VIBClassifier

        # Small, fixed training budgets (CPU friendly); no early stopping, whose held-out split would be
        # chosen from the private training set outside the DP-SGD accounting.
        common = dict(epochs=neural_epochs, batch_size=NEURAL_BATCH_SIZE, early_stopping=False, progress=False)
        if name == "dp-sgd":
            d = 1e-5 if delta is None else float(delta)
            return _digits_learner(name, lambda rng: DPSGDClassifier(
                target_epsilon=float(eps), classes=np.arange(10), delta=d, random_state=_seed(rng), **common),
                Privacy(float(eps), d, "add/remove"))
        if name == "vib":
            return _digits_learner(name, lambda rng: VIBClassifier(beta=float(lam), random_state=_seed(rng),
                                                                   **common), None)
        return _digits_learner(name, lambda rng: CNNClassifier(random_state=_seed(rng), **common), None)

    from defenses.tree import DPID3Classifier, ID3Classifier

    if name == "dp-id3":
        if delta not in (None, 0, 0.0):
            raise ValueError("dp-id3 is pure eps-DP: delta must be 0")
        return _steak_learner(name, lambda rng: DPID3Classifier(epsilon=float(eps), max_depth=max_depth,
                                                                random_state=_seed(rng)),
                              Privacy(float(eps), 0.0, "add/remove"), attack, home)
    if name == "mid-id3":
        return _steak_learner(name, lambda rng: ID3Classifier(mid_lambda=float(lam), max_depth=max_depth),
                              None, attack, home)
    return _steak_learner(name, lambda rng: ID3Classifier(max_depth=max_depth), None, attack, home)
