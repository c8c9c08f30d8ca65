r"""Empirical semantic MI game (Experiment 1) for real learners and real attacks (docs/theory.md §1).

For an attack A* and property τ = identity on the sensitive attribute, with p the table's empirical
distribution and q = p(X_s) × p(X_ns, Y):

* ``gain(A; r, s)`` — train M on S ~ r^n, draw a challenge z ~ s, A* guesses x_s from (f, x_ns, y);
* the printed advantage of Eq. 8, ``Adv^SEM = gain(A; p, p) − gain(A; q, q)`` — the decorrelated
  baseline gain(A; q, q) is what the attack scores when x_s carries no information about (x_ns, y);
* the corrected advantage of Theorem 1′, ``Adv′ = gain(A; p, p) − gain(A; q, p)`` — only the training
  distribution changes — which every (ε, δ)-DP learner bounds by ``2·max gain^IND − 1``; the printed
  Adv^SEM is *not* bounded by it (Theorem 1 as printed is false, docs/theory.md §1.1).

Each split trains one model on p and one on q (``numpy.random.default_rng([seed, split])``) and scores
``challenges`` fresh records of each law; the intervals are Student-t over splits. Results are stored per
split, so an interrupted run resumes with the same final numbers.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from mitheory.distributions import FiniteDistribution, Records
from mitheory.stats import clustered_mean_ci
from validation.engine import Executor, Unit, run_units
from validation.ind import Learner, bounds_for
from validation.store import ResultStore

#: How the intervals over splits are made: every gain is a proportion of challenges and every advantage a
#: difference of two, so a t-interval can leave [0, 1] (or [-1, 1]); Wilson's interval at the effective
#: sample size (Korn & Graubard 1998) cannot, and still widens with the spread across splits.
CI_METHOD = "wilson-effective-n (Korn-Graubard) over splits"


@dataclass
class SemanticReport:
    """Gains and advantages of a real attack, each as ``[mean, ci_low, ci_high]`` over splits (intervals by
    :data:`CI_METHOD`)."""

    learner: str
    n: int
    splits: int
    eps: float | None
    delta: float | None
    gain_pp: list[float]
    gain_qq: list[float]
    gain_qp: list[float]
    adv_sem: list[float]
    adv_corrected: list[float]
    advantage_bound_paper: float | None
    advantage_bound_tight: float | None
    verdict: str
    #: per-split values of ``pp``, ``qq`` and ``qp`` in split order (split ``j`` draws from the same generator
    #: at every ε, so two reports' lists pair by index)
    per_split: dict[str, list[float]] = field(default_factory=dict)
    ci_method: str = CI_METHOD

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(estimate=self.adv_corrected[0], ci_low=self.adv_corrected[1], ci_high=self.adv_corrected[2])
        return out


def _accuracy(learner: Learner, model: Any, law: FiniteDistribution, m: int, rng: np.random.Generator) -> float:
    aux: Records = law.sample(max(m, 500), rng)
    chal: Records = law.sample(m, rng)
    return float(np.mean(np.asarray(learner.attack(model, aux, chal)) == chal.x_s))


class _SemanticSplit:
    """One split of the semantic game (a unit of the engine): a model on p and one on q, three gains.

    Split ``j`` draws everything from ``numpy.random.default_rng([seed, j])``, whatever executes it.
    """

    def __init__(self, learner: Learner, p: FiniteDistribution, q: FiniteDistribution, n: int, challenges: int,
                 seed: int):
        self.learner, self.p, self.q, self.n, self.challenges, self.seed = learner, p, q, n, challenges, seed

    def __call__(self, unit: Unit) -> dict[str, float]:
        rng = np.random.default_rng([self.seed, unit.index])
        learner, p, q, m = self.learner, self.p, self.q, self.challenges
        f_p = learner.fit(p.sample(self.n, rng), rng)
        f_q = learner.fit(q.sample(self.n, rng), rng)
        return {"pp": _accuracy(learner, f_p, p, m, rng), "qq": _accuracy(learner, f_q, q, m, rng),
                "qp": _accuracy(learner, f_q, p, m, rng)}


def run_semantic(
    learner: Learner,
    p: FiniteDistribution,
    n: int,
    splits: int,
    *,
    challenges: int = 500,
    seed: int = 0,
    store_path: str | os.PathLike | None = None,
    progress: bool = True,
    executor: Executor | None = None,
) -> SemanticReport:
    """Estimate ``gain(A; p, p)``, ``gain(A; q, q)``, ``gain(A; q, p)``, Adv^SEM and Adv′ over ``splits``.

    The verdict compares the corrected advantage with ``2·tight_bound − 1`` at the learner's privacy
    ("violates" when the whole interval lies above it; "no DP claim" for learners without one).
    """
    if learner.attack is None:
        raise ValueError(f"learner {learner.name!r} has no attack")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(splits, bool) or not isinstance(splits, (int, np.integer)) or splits < 2:
        raise ValueError(f"splits must be an integer >= 2, got {splits!r}")
    if challenges < 1:
        raise ValueError(f"challenges must be >= 1, got {challenges!r}")
    q = p.decorrelated()
    settings = {"learner": learner.name, "privacy": asdict(learner.privacy) if learner.privacy else None,
                "n": int(n), "challenges": challenges, "seed": seed, "support": len(p)}
    play = _SemanticSplit(learner, p, q, int(n), challenges, seed)
    units = [Unit(f"sem {learner.name}", None, j) for j in range(splits)]
    store = ResultStore(store_path, settings) if store_path is not None else None
    results = run_units(units, play, store, executor=executor, progress=progress, desc=f"sem {learner.name}").results
    rows = [results[f"split={j}"] for j in range(splits)]
    pp, qq, qp = (np.array([r[k] for r in rows]) for k in ("pp", "qq", "qp"))
    paper, tight, _ = bounds_for(learner.privacy, int(n))
    adv_paper = None if paper is None else 2 * paper - 1
    adv_tight = None if tight is None else 2 * tight - 1
    gain = lambda v: list(clustered_mean_ci(v, challenges))  # noqa: E731
    diff = lambda v: list(clustered_mean_ci(v, challenges, low=-1.0))  # noqa: E731
    corrected = diff(pp - qp)
    if adv_tight is None:
        verdict = "no DP claim"
    else:
        verdict = "violates" if corrected[1] > adv_tight else "consistent"
    return SemanticReport(
        learner=learner.name, n=int(n), splits=int(splits),
        eps=learner.privacy.eps if learner.privacy else None,
        delta=learner.privacy.delta if learner.privacy else None,
        gain_pp=gain(pp), gain_qq=gain(qq), gain_qp=gain(qp), adv_sem=diff(pp - qq), adv_corrected=corrected,
        advantage_bound_paper=adv_paper, advantage_bound_tight=adv_tight, verdict=verdict,
        per_split={"pp": pp.tolist(), "qq": qq.tolist(), "qp": qp.tolist()})
