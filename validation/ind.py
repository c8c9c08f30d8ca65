r"""Empirical security games for real learners, checked against the bounds (docs/theory.md §1, §3, §6).

The indistinguishability game (Experiment 2 of the MID paper) for a real learner M on a real table:
the challenger draws b ∈ {0, 1}, a training set S ~ p^n (b = 0) or S ~ q^n (b = 1) — p the table's
empirical distribution, q = p(X_s) × p(X_ns, Y) its decorrelated product — and releases f = M(S); the
adversary guesses b from f. ``gain^IND = Pr[b' = b]`` and every adversary satisfies
``gain^IND ≤ max_A gain^IND ≤ tight_bound(ε, n, δ) ≤ paper_bound(ε, n, δ)`` when M is (ε, δ)-DP under
substitution adjacency (for add/remove adjacency a substitution is two steps, so the group size is 2n).

:func:`run_ind` trains ``models`` learners (b alternating, so the two worlds are balanced), and scores each
trained model once for every distinguisher:

* ``reduction`` — the distinguisher of docs/theory.md §1.3 built from a real attack A*: draw a fresh record
  z ~ p, run A*(f, x_ns, y), answer b' = 0 iff the guess equals x_s. Its gain is ``1/2 + Adv′/2``. Each
  model is scored on ``challenges`` fresh records (its success rate h estimates the attack's accuracy
  given f); the two worlds are averaged separately and combined with a Welch t-interval
  (Clopper–Pearson when one challenge per model).
* ``meta`` — a shadow-model meta-classifier: the model's outputs on a fixed probe set drawn from p are
  the features of a ridge classifier trained on the first half of the model draws and evaluated on
  the second half (exact Clopper–Pearson interval, as the test draws are independent of the classifier).
* any callable ``(model, probe) -> b'`` given in ``extra_distinguishers``.

Each estimate is compared with the bounds at the learner's declared privacy: ``verdict`` is
``"violates"`` when the interval lies entirely above the tight bound (``margin = ci_low − bound > 0``) —
which means a bug in the learner's privacy or in the bound and must be investigated — and
``"consistent"`` otherwise. Results are stored per model in a :class:`~validation.store.ResultStore`, so
an interrupted run resumes and gives the same final numbers.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Literal

import numpy as np
from mitheory.bounds import paper_bound, refined_bound, required_epsilon, tight_bound
from mitheory.distributions import FiniteDistribution, Records
from mitheory.stats import clopper_pearson, effective_wilson
from validation.engine import Executor, Unit, run_units
from validation.store import ResultStore


@dataclass(frozen=True)
class Privacy:
    """A learner's declared guarantee: (ε, δ)-DP under ``adjacency`` ("substitution" or "add/remove")."""

    eps: float
    delta: float = 0.0
    adjacency: Literal["substitution", "add/remove"] = "substitution"

    def __post_init__(self):
        if not (np.isfinite(self.eps) and self.eps > 0):
            raise ValueError(f"eps must be a finite number > 0, got {self.eps!r}")
        if not 0 <= self.delta < 1:
            raise ValueError(f"delta must lie in [0, 1), got {self.delta!r}")
        if self.adjacency not in ("substitution", "add/remove"):
            raise ValueError(f"adjacency must be 'substitution' or 'add/remove', got {self.adjacency!r}")

    @property
    def steps_per_record(self) -> int:
        """Neighbouring steps one substituted record costs: 1 (substitution) or 2 (remove + add)."""
        return 1 if self.adjacency == "substitution" else 2


@dataclass(frozen=True)
class Learner:
    """A learning algorithm M with the attacker-side functions the games need.

    Attributes
    ----------
    name : str
    fit : callable (train: Records, rng) -> model
        Trains M on a training set drawn by the game.
    privacy : Privacy or None
        The declared guarantee (None for learners that claim none, e.g. MID).
    attack : callable (model, aux: Records, challenges: Records) -> guesses, optional
        A real attribute-inference attack A*: guesses of ``x_s`` for each challenge from its
        ``(x_ns, y)``. ``aux`` is a sample from the challenge law that the attacker draws itself (for
        priors and calibration) — never the training set.
    probe : callable (model, probe: Records) -> 1-D float array, optional
        The model's outputs on a fixed probe set (features of the meta-classifier).
    description : str
    """

    name: str
    fit: Callable[[Records, np.random.Generator], Any]
    privacy: Privacy | None = None
    attack: Callable[[Any, Records, Records], np.ndarray] | None = None
    probe: Callable[[Any, Records], np.ndarray] | None = None
    description: str = ""


@dataclass
class Estimate:
    """An estimated gain with its interval and its comparison with the bounds."""

    distinguisher: str
    estimate: float
    ci_low: float
    ci_high: float
    rounds: int
    verdict: str = "no DP claim"
    margin: float | None = None
    verdict_refined: str | None = None
    eps_lower: float | None = None


@dataclass
class INDReport:
    """The outcome of :func:`run_ind`: one :class:`Estimate` per distinguisher plus the bounds."""

    learner: str
    n: int
    models: int
    eps: float | None
    delta: float | None
    adjacency: str | None
    group_size: int | None
    tv_pq: float
    paper_gain: float | None
    tight_gain: float | None
    refined_gain: float | None
    estimates: list[Estimate] = field(default_factory=list)

    @property
    def best(self) -> Estimate:
        """The estimate with the highest lower confidence limit (the strongest evidence of leakage)."""
        return max(self.estimates, key=lambda e: e.ci_low)

    @property
    def verdict(self) -> str:
        if self.tight_gain is None:
            return "no DP claim"
        return "violates" if any(e.verdict == "violates" for e in self.estimates) else "consistent"

    @property
    def eps_lower(self) -> float:
        """The largest empirical lower bound on ε over the distinguishers (:func:`eps_lower_bound`)."""
        return max(e.eps_lower for e in self.estimates)

    @property
    def eps_flag(self) -> bool:
        """True when the observations prove the declared ε false (``eps_lower > eps``): a privacy bug."""
        return self.eps is not None and self.eps_lower > self.eps

    def as_dict(self) -> dict[str, Any]:
        best = self.best
        out = {k: v for k, v in asdict(self).items() if k != "estimates"}
        out.update(estimate=best.estimate, ci_low=best.ci_low, ci_high=best.ci_high,
                   distinguisher=best.distinguisher, verdict=self.verdict, eps_lower=self.eps_lower,
                   eps_flag=self.eps_flag, distinguishers={e.distinguisher: asdict(e) for e in self.estimates})
        return out


def bounds_for(privacy: Privacy | None, n: int,
               tv_pq: float | None = None) -> tuple[float | None, float | None, float | None]:
    """(paper, tight, refined) gains at the learner's privacy and training-set size.

    All three are None without a DP claim; ``refined`` (which needs TV(p, q)) is None without ``tv_pq``.
    """
    if privacy is None:
        return None, None, None
    k = privacy.steps_per_record
    paper = float(paper_bound(privacy.eps, k * n, privacy.delta, digits=20).gain)
    tight = float(tight_bound(privacy.eps, k * n, privacy.delta, digits=20).gain)
    refined = None if tv_pq is None else float(
        refined_bound(privacy.eps, n, privacy.delta, tv_pq, steps=k, digits=20).gain)
    return paper, tight, refined


def eps_lower_bound(gain_low: float, n: int, privacy: Privacy | None) -> float:
    """The auditor's number: the smallest ε consistent with observing ``gain^IND ≥ gain_low``.

    Every (ε, δ)-DP learner has ``max gain^IND ≤ tight_bound(ε, k·n, δ)`` (k = 1 for substitution, 2 for
    add/remove adjacency), and the bound increases with ε, so an adversary whose gain is at least
    ``gain_low`` (the lower end of its confidence interval) proves the learner is *not* (ε, δ)-DP for any ε
    below the root of ``tight_bound(ε) = gain_low`` — :func:`mitheory.bounds.required_epsilon` inverted. It
    is 0 when ``gain_low`` does not exceed the bound's limit ``1/2 + min(1, k·n·δ)/2`` at ε → 0. A learner
    without a DP claim is audited as a pure-ε, substitution-adjacency learner. A learner whose
    ``eps_lower`` exceeds its declared ε is broken (or the interval missed, at the 5% rate of a 95% CI).
    """
    delta = privacy.delta if privacy is not None else 0.0
    k = privacy.steps_per_record if privacy is not None else 1
    if gain_low <= 0.5 + min(1.0, k * n * delta) / 2:
        return 0.0
    return float(required_epsilon(gain_low, k * n, delta, bound="tight", digits=12))


def _judge(est: Estimate, privacy: Privacy | None, n: int, tight: float | None,
           refined: float | None) -> Estimate:
    est.eps_lower = eps_lower_bound(est.ci_low, n, privacy)
    if tight is None:
        return est
    est.margin = est.ci_low - tight
    est.verdict = "violates" if est.margin > 0 else "consistent"
    est.verdict_refined = "violates" if est.ci_low > refined else "consistent"
    return est


def _draw_training_set(p: FiniteDistribution, q: FiniteDistribution, b: int, n: int,
                       rng: np.random.Generator) -> Records:
    return (p if b == 0 else q).sample(n, rng)


def run_ind(
    learner: Learner,
    p: FiniteDistribution,
    n: int,
    models: int,
    *,
    challenges: int = 200,
    probe_size: int = 64,
    seed: int = 0,
    extra_distinguishers: dict[str, Callable[[Any, Records], int]] | None = None,
    store_path: str | os.PathLike | None = None,
    progress: bool = True,
    executor: Executor | None = None,
) -> INDReport:
    """Play the IND game ``models`` times with a real learner and estimate each distinguisher's gain.

    Parameters
    ----------
    learner : Learner
    p : FiniteDistribution
        The data distribution (e.g. ``mitheory.distributions.empirical_distribution`` of a real table).
    n : int
        Training-set size.
    models : int
        Number of trained models (rounds); even, at least 4 when the meta-classifier is used.
    challenges : int
        Fresh records per model for the reduction distinguisher.
    probe_size : int
        Size of the fixed probe set of the meta-classifier.
    seed : int
        Model ``i`` uses ``numpy.random.default_rng([seed, i])``; the probe set ``default_rng([seed, -1])``.
    extra_distinguishers : dict name → callable(model, probe) -> b'
        More adversaries, each scored on every model (exact Clopper–Pearson interval).
    store_path : path, optional
        Where per-model results are stored; a rerun with the same arguments resumes from it.
    executor : validation.engine.Executor, optional
        Where the model rounds run (default: serially). The numbers do not depend on it.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(models, bool) or not isinstance(models, (int, np.integer)) or models < 2 or models % 2:
        raise ValueError(f"models must be an even integer >= 2, got {models!r}")
    if challenges < 1:
        raise ValueError(f"challenges must be >= 1, got {challenges!r}")
    extra = dict(extra_distinguishers or {})
    use_meta = learner.probe is not None and models >= 4
    if learner.attack is None and not use_meta and not extra:
        raise ValueError(f"learner {learner.name!r} has neither an attack nor a probe: nothing to distinguish with")
    q = p.decorrelated()
    tv_pq = float(p.tv_decorrelated())
    probe = p.sample(probe_size, np.random.default_rng([seed, 2**31 - 1]))
    settings = {"learner": learner.name, "privacy": asdict(learner.privacy) if learner.privacy else None,
                "n": int(n), "models": int(models), "challenges": challenges, "probe_size": probe_size,
                "seed": seed, "extra": sorted(extra), "support": len(p)}
    play = _INDRound(learner, p, q, int(n), challenges, probe, use_meta, seed, extra)
    units = [Unit(f"ind {learner.name}", None, i, "model") for i in range(models)]
    store = ResultStore(store_path, settings) if store_path is not None else None
    results = run_units(units, play, store, executor=executor, progress=progress, desc=f"ind {learner.name}").results

    rows = [results[f"model={i}"] for i in range(models)]
    paper, tight, refined = bounds_for(learner.privacy, int(n), tv_pq)
    report = INDReport(learner=learner.name, n=int(n), models=int(models),
                       eps=learner.privacy.eps if learner.privacy else None,
                       delta=learner.privacy.delta if learner.privacy else None,
                       adjacency=learner.privacy.adjacency if learner.privacy else None,
                       group_size=learner.privacy.steps_per_record * int(n) if learner.privacy else None,
                       tv_pq=tv_pq, paper_gain=paper, tight_gain=tight, refined_gain=refined)
    if learner.attack is not None:
        report.estimates.append(_judge(_reduction_estimate(rows, challenges), learner.privacy, int(n), tight, refined))
    if use_meta:
        report.estimates.append(_judge(_meta_estimate(rows), learner.privacy, int(n), tight, refined))
    for name in extra:
        wins = sum(int(r[name] == r["b"]) for r in rows)
        low, high = clopper_pearson(wins, len(rows))
        report.estimates.append(_judge(Estimate(name, wins / len(rows), low, high, len(rows)), learner.privacy, int(n), tight, refined))
    return report


class _INDRound:
    """One round of the IND game (a unit of the engine): train on a world-``b`` training set, score it.

    Round ``i`` plays world ``b = i mod 2`` with ``numpy.random.default_rng([seed, i])``, whatever executes it.
    """

    def __init__(self, learner: Learner, p: FiniteDistribution, q: FiniteDistribution, n: int, challenges: int,
                 probe: Records, meta: bool, seed: int, extra: dict[str, Callable[[Any, Records], int]]):
        self.learner, self.p, self.q, self.n = learner, p, q, n
        self.challenges, self.probe, self.meta, self.seed, self.extra = challenges, probe, meta, seed, extra

    def __call__(self, unit: Unit) -> dict[str, Any]:
        i, learner = unit.index, self.learner
        b = i % 2
        rng = np.random.default_rng([self.seed, i])
        model = learner.fit(_draw_training_set(self.p, self.q, b, self.n, rng), rng)
        row: dict[str, Any] = {"b": b}
        if learner.attack is not None:
            aux = self.p.sample(max(self.challenges, 500), rng)
            chal = self.p.sample(self.challenges, rng)
            hits = np.asarray(learner.attack(model, aux, chal)) == chal.x_s
            row["reduction_hits"] = int(hits.sum())
        if self.meta:
            row["probe"] = np.asarray(learner.probe(model, self.probe), float).ravel().tolist()
        for name, adversary in self.extra.items():
            row[name] = int(adversary(model, self.probe))
        return row


def _reduction_estimate(rows: list[dict], challenges: int) -> Estimate:
    """gain of the reduction distinguisher, ``1/2 + (E[h | b=0] − E[h | b=1])/2`` (Theorem 1′ reduction).

    ``h`` is the attack's success rate on a model's fresh challenges. With one challenge per model the
    outcomes are Bernoulli and the interval is Clopper–Pearson; otherwise the two worlds are estimated
    separately (stratified by the balanced b), and the interval is Wilson's at the effective sample size of
    their combined (Welch) variance (:func:`mitheory.stats.effective_wilson`): inside [0, 1], never
    zero-width.
    """
    b = np.array([r["b"] for r in rows])
    h = np.array([r["reduction_hits"] for r in rows], float) / challenges
    if challenges == 1:
        wins = int(np.sum(np.where(b == 0, h, 1 - h)))
        low, high = clopper_pearson(wins, len(rows))
        return Estimate("reduction", wins / len(rows), low, high, len(rows))
    h0, h1 = h[b == 0], h[b == 1]
    gain = 0.5 + (h0.mean() - h1.mean()) / 2
    v0, v1 = h0.var(ddof=1) / len(h0), h1.var(ddof=1) / len(h1)
    df = (v0 + v1) ** 2 / (v0**2 / (len(h0) - 1) + v1**2 / (len(h1) - 1)) if v0 + v1 > 0 else math.inf
    low, high = effective_wilson(float(gain), (v0 + v1) / 4, len(rows) * challenges, df)
    return Estimate("reduction", float(gain), low, high, len(rows) * challenges)


def _meta_estimate(rows: list[dict]) -> Estimate:
    """Accuracy of a linear (ridge) meta-classifier on held-out model draws (shadow-model attack)."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    lengths = sorted({len(r["probe"]) for r in rows})
    if len(lengths) > 1:
        raise ValueError(f"the models' probe outputs differ in length ({', '.join(map(str, lengths))}): a learner's "
                         "probe must give the same outputs, in the same order, for every model (e.g. one "
                         "probability per class of the whole label set)")
    X = np.array([r["probe"] for r in rows], float)
    b = np.array([r["b"] for r in rows])
    half = len(rows) // 2
    train, test = slice(0, half), slice(half, None)
    if len(np.unique(b[train])) < 2:
        raise ValueError("meta-classifier needs both worlds among the training model draws")
    # A linear classifier whose regularization is chosen by efficient leave-one-out cross-validation on
    # the training draws (there are often more probe features than model draws).
    clf = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-3, 4, 15)))
    clf.fit(X[train], b[train])
    wins = int(np.sum(clf.predict(X[test]) == b[test]))
    m = len(b[test])
    low, high = clopper_pearson(wins, m)
    return Estimate("meta", wins / m, low, high, m)
