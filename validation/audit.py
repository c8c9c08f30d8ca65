r"""Adversarial-neighbour privacy audit: an empirical lower bound on the ε of a learner (docs/audit.md).

A learner ``M`` is (ε, δ)-DP when, for every pair of neighbouring training sets ``D, D'`` and every test
``T`` on its released output, ``FPR + e^ε·FNR ≥ 1 − δ`` and ``FNR + e^ε·FPR ≥ 1 − δ`` (Kairouz, Oh &
Viswanath 2015), with FPR = Pr[T(M(D)) says D'] and FNR = Pr[T(M(D')) says D]. The audit follows Jagielski,
Ullman & Oprea (2020) and Nasr et al. (2021):

1. **Worst-case neighbours.** ``D`` is a sample of a real table; ``D'`` adds one record (``insert``),
   replaces one (``replace``) or adds one record of a class ``D`` lacks (``new-class``). The added record
   is a *canary* at the extremes of the public domain: a feature row on the boundary of the declared row
   bound along the direction the fit is least sure of, with the label bound of the other sign (linear
   models); the rarest answer of every survey question and the rarest class (trees); an all-white image
   (CNNs).
2. **Many fits per side.** ``fits`` independent trainings on ``D`` and on ``D'`` (seeds derived from the
   unit's description), each reduced to a few scalar statistics of what the learner *releases* (the
   prediction at the canary, the released counts, the width of ``predict_proba``, ...).
3. **The best scalar test, chosen on a separate part.** On the first ``selection`` share of the fits the
   audit picks the statistic, threshold and direction with the largest bound; on the remaining fits —
   independent of that choice — it counts false positives and false negatives.
4. **An ε lower bound with an exact interval.** One-sided Clopper–Pearson upper limits ``FPR⁺, FNR⁺`` (each
   at ``α/(2K)``, ``K`` the number of neighbour relations audited, so that all hold at once with
   probability ≥ 1 − α) give
   ``ε ≥ max{log((1 − δ − FNR⁺)/FPR⁺), log((1 − δ − FPR⁺)/FNR⁺), 0}``.
   If the learner is (ε, δ)-DP, this lower bound exceeds ε with probability at most α. (The point estimate
   reported beside it uses the add-½ rates ``(k + ½)/(m + 1)`` and carries no guarantee.) With ``m``
   evaluation fits per side no bound above ``log((1 − δ − u)/u)``, ``u = 1 − (α/2K)^{1/m}``, can be shown
   (``eps_max_provable``): a deterministic learner that memorises the canary reaches it.

The bound is compared with the learner's declared guarantee *for the relation audited*: one added record is
one step of add/remove adjacency, a replaced record two (group privacy: ``(2ε, (1 + e^ε)δ)``); for the
reference mechanisms of :mod:`mitheory.mechanisms` (substitution adjacency) a replaced record is one step.
A bound above the declared ε is a privacy bug (or a 1-in-1/α event).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mitheory.stats import clopper_pearson
from validation.engine import Executor, Unit, run_units
from validation.ind import Privacy
from validation.store import ResultStore

__all__ = ["AUDIT_LEARNERS", "AuditReport", "AuditTarget", "NeighbourPair", "NeighbourResult", "build_audit_target",
           "eps_lower_bound", "group_privacy", "run_audit"]

NEIGHBOUR_KINDS = ("insert", "replace", "new-class")
#: A released statistic that is not a finite number (a NaN output, say) is recorded as this value.
NON_FINITE = 1e300
#: Thresholds tried per statistic and direction on the selection part (quantiles when there are more values).
MAX_THRESHOLDS = 512


# --------------------------------------------------------------------------------------------- the bound


def eps_lower_bound(false_pos: Any, negatives: int, false_neg: Any, positives: int, delta: float = 0.0,
                    alpha: float = 0.05) -> tuple[Any, Any, Any]:
    """``(eps_lower, fpr_upper, fnr_upper)`` of a test that erred ``false_pos`` times in ``negatives`` runs on
    ``D`` and ``false_neg`` times in ``positives`` runs on ``D'`` (arrays broadcast).

    ``fpr_upper``/``fnr_upper`` are one-sided Clopper–Pearson upper limits at level ``1 − alpha/2`` each, so
    both hold at once with probability ≥ 1 − alpha; under (ε, δ)-DP every such pair satisfies
    ``FPR + e^ε FNR ≥ 1 − δ`` and ``FNR + e^ε FPR ≥ 1 − δ``, so ``ε ≥ eps_lower`` =
    ``max{log((1 − δ − FNR⁺)/FPR⁺), log((1 − δ − FPR⁺)/FNR⁺), 0}``.
    """
    fpr_hi = clopper_pearson(false_pos, negatives, alpha)[1]
    fnr_hi = clopper_pearson(false_neg, positives, alpha)[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.log(np.maximum(1.0 - delta - fnr_hi, 0.0) / fpr_hi)
        b = np.log(np.maximum(1.0 - delta - fpr_hi, 0.0) / fnr_hi)
    lower = np.maximum(np.maximum(np.nan_to_num(a, nan=0.0, neginf=0.0), np.nan_to_num(b, nan=0.0, neginf=0.0)), 0.0)
    if np.ndim(lower) == 0:
        return float(lower), float(fpr_hi), float(fnr_hi)
    return lower, fpr_hi, fnr_hi


def _eps_estimate(fp: int, negatives: int, fn: int, positives: int, delta: float) -> float:
    """The point estimate ``max{log((1 − δ − FNR)/FPR), log((1 − δ − FPR)/FNR), 0}`` at the add-½ (Jeffreys)
    rates ``(k + ½)/(m + 1)``, finite even when an error count is 0."""
    fpr, fnr = (fp + 0.5) / (negatives + 1), (fn + 0.5) / (positives + 1)

    def one(num, den):
        return math.log(num / den) if num > 0 else 0.0

    return max(one(1.0 - delta - fnr, fpr), one(1.0 - delta - fpr, fnr), 0.0)


def group_privacy(eps: float, delta: float, steps: int) -> tuple[float, float]:
    """The guarantee of an (ε, δ)-DP learner for datasets ``steps`` neighbouring steps apart:
    ``(k ε, δ Σ_{i<k} e^{iε})`` (group privacy)."""
    return steps * eps, delta * sum(math.exp(i * eps) for i in range(steps))


# --------------------------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class NeighbourPair:
    """Two neighbouring training sets: ``datasets[0]`` (D) and ``datasets[1]`` (D').

    ``steps`` is how many neighbouring steps apart they are under the learner's adjacency (1 for one added
    record under add/remove adjacency or one replaced record under substitution adjacency; 2 for a replaced
    record under add/remove adjacency).
    """

    kind: str
    datasets: tuple[Any, Any]
    steps: int
    description: str


@dataclass(frozen=True)
class AuditTarget:
    """A learner to audit: its neighbour pairs and what one training releases.

    ``release(dataset, rng, count)`` trains ``count`` times on ``dataset`` (independent randomness drawn from
    ``rng``) and returns ``{statistic: array of count values}``, scalar statistics of each released output.
    ``block`` is the number of fits per unit of work.
    """

    name: str
    privacy: Privacy | None
    pairs: tuple[NeighbourPair, ...]
    release: Callable[[Any, np.random.Generator, int], dict[str, np.ndarray]]
    block: int = 50
    description: str = ""


@dataclass
class NeighbourResult:
    """The audit of one neighbour relation."""

    kind: str
    description: str
    steps: int
    statistic: str
    threshold: float
    direction: str
    fits_selection: int
    fits_evaluation: int
    false_positives: int
    false_negatives: int
    fpr: float
    fnr: float
    fpr_ci: tuple[float, float]
    fnr_ci: tuple[float, float]
    eps_estimate: float
    eps_lower: float
    eps_max_provable: float
    declared_eps: float | None
    declared_delta: float | None
    verdict: str


@dataclass
class AuditReport:
    """The outcome of :func:`run_audit`: one :class:`NeighbourResult` per relation, and the largest bound."""

    learner: str
    description: str
    eps: float | None
    delta: float | None
    adjacency: str | None
    fits: int
    alpha: float
    seed: int
    results: list[NeighbourResult] = field(default_factory=list)
    ci_method: str = ""

    @property
    def eps_lower(self) -> float:
        """The largest lower bound on the learner's per-step ε over the relations (a replaced record under
        add/remove adjacency bounds 2ε, so its bound counts half)."""
        return max(r.eps_lower / r.steps for r in self.results)

    @property
    def verdict(self) -> str:
        if self.eps is None:
            return "no DP claim"
        return "violates" if any(r.verdict == "violates" for r in self.results) else "consistent"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(eps_lower=self.eps_lower, verdict=self.verdict)
        return out


def _clean(values) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return np.nan_to_num(a, nan=NON_FINITE, posinf=NON_FINITE, neginf=-NON_FINITE)


def _separation(x0: np.ndarray, x1: np.ndarray) -> float:
    """How far apart two samples are, in units of their spread: ``(mean₁ − mean₀)/(sd₀ + sd₁)`` (``inf``
    for two different constants). It breaks ties between tests of equal bound: the most robust one wins."""
    with np.errstate(over="ignore", invalid="ignore"):
        gap = float(np.mean(x1 / 2) - np.mean(x0 / 2))  # halves: no overflow at NON_FINITE
        spread = float(np.std(x0 / 2) + np.std(x1 / 2))
    if spread == 0:
        return math.inf if gap > 0 else (0.0 if gap == 0 else -math.inf)
    return gap / spread


def _best_test(s0: dict[str, np.ndarray], s1: dict[str, np.ndarray], delta: float,
               alpha: float) -> tuple[str, float, int, float]:
    """``(statistic, threshold, sign, bound)`` of the largest bound on these fits (ties: the statistic whose
    two sides are furthest apart, :func:`_separation`); the test says D' when ``sign·statistic > threshold``."""
    best, best_key = ("", 0.0, 1, -1.0), (-1.0, -math.inf)
    for name in sorted(s0):
        a0, a1 = _clean(s0[name]), _clean(s1[name])
        for sign in (1, -1):
            x0, x1 = np.sort(sign * a0), np.sort(sign * a1)
            cand = np.unique(np.concatenate([x0, x1]))
            if len(cand) > MAX_THRESHOLDS:
                cand = np.unique(np.quantile(cand, np.linspace(0, 1, MAX_THRESHOLDS), method="nearest"))
            fp = len(x0) - np.searchsorted(x0, cand, side="right")   # D-runs with score > t
            fn = np.searchsorted(x1, cand, side="right")             # D'-runs with score <= t
            bound = eps_lower_bound(fp, len(x0), fn, len(x1), delta, alpha)[0]
            i = int(np.argmax(bound))
            key = (round(float(bound[i]), 12), _separation(x0, x1))
            if key > best_key:
                best, best_key = (name, float(cand[i]), sign, float(bound[i])), key
    return best


class _Block:
    """The description of a unit: which neighbour relation and which side (0: D, 1: D')."""

    def __init__(self, kind: str, side: int):
        self.kind, self.side = kind, side

    @property
    def key(self) -> str:
        return f"{self.kind}|side={self.side}"


class _AuditUnit:
    """``fn(unit)`` of the engine: ``count`` fits on one side of one pair, seeded by the unit's description."""

    def __init__(self, target: AuditTarget, fits: int):
        self.target, self.fits = target, fits
        self.pairs = {p.kind: p for p in target.pairs}

    def __call__(self, unit: Unit) -> dict[str, list[float]]:
        block = unit.setting
        count = min(self.target.block, self.fits - unit.index * self.target.block)
        rng = np.random.default_rng(unit.seed())
        stats = self.target.release(self.pairs[block.kind].datasets[block.side], rng, count)
        return {k: _clean(v).tolist() for k, v in stats.items()}


def run_audit(
    target: AuditTarget,
    fits: int,
    *,
    alpha: float = 0.05,
    selection: float = 0.25,
    seed: int = 0,
    store_path: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> AuditReport:
    """Audit ``target``: ``fits`` trainings on each side of every neighbour pair, the best threshold test
    chosen on the first ``selection`` share of them and its ε lower bound measured on the rest.

    Parameters
    ----------
    target : AuditTarget
    fits : int
        Trainings per side and pair (at least 4; both parts get at least 2).
    alpha : float
        The bounds of all pairs hold together with probability ≥ 1 − alpha.
    selection : float in (0, 1)
        Share of the fits that chooses the statistic and threshold (never used to measure them).
    seed : int
        Part of every unit's description, hence of every fit's randomness.
    store_path : path, optional
        Resumable store of the fits' statistics (:class:`~validation.store.ResultStore`).
    executor : validation.engine.Executor, optional
        Where the fits run; the numbers do not depend on it.
    """
    if isinstance(fits, bool) or not isinstance(fits, (int, np.integer)) or fits < 4:
        raise ValueError(f"fits must be an integer >= 4, got {fits!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    n_sel = int(round(selection * fits)) if 0 < selection < 1 else -1
    if not 2 <= n_sel <= fits - 2:
        raise ValueError(f"selection={selection!r} leaves fewer than 2 of the {fits} fits to one of its two parts")
    experiment = f"audit {target.name} seed={seed}"
    blocks = math.ceil(fits / target.block)
    units = [Unit(experiment, _Block(p.kind, side), b, "block")
             for p in target.pairs for side in (0, 1) for b in range(blocks)]
    settings = {"audit": target.name, "privacy": asdict(target.privacy) if target.privacy else None,
                "pairs": [[p.kind, p.description] for p in target.pairs], "fits": int(fits), "seed": int(seed),
                "block": target.block}
    store = ResultStore(store_path, settings) if store_path is not None else None
    results = run_units(units, _AuditUnit(target, int(fits)), store, executor=executor, progress=progress,
                        desc=f"audit {target.name}").results

    k = len(target.pairs)
    alpha_each = alpha / k
    privacy = target.privacy
    report = AuditReport(target.name, target.description, privacy.eps if privacy else None,
                         privacy.delta if privacy else None, privacy.adjacency if privacy else None, int(fits),
                         float(alpha), int(seed),
                         ci_method=f"Clopper-Pearson (exact); one-sided limits on FPR and FNR at {alpha_each / 2:.3g} "
                                   f"each ({k} neighbour relation{'s' if k > 1 else ''}, joint level {1 - alpha:g})")
    for pair in target.pairs:
        sides = []
        for side in (0, 1):
            parts = [results[f"{pair.kind}|side={side}|block={b}"] for b in range(blocks)]
            sides.append({name: np.concatenate([np.asarray(p[name], float) for p in parts]) for name in parts[0]})
        declared = group_privacy(privacy.eps, privacy.delta, pair.steps) if privacy else None
        delta = declared[1] if declared else 0.0
        sel = [{k_: v[:n_sel] for k_, v in s.items()} for s in sides]
        name, threshold, sign, _ = _best_test(sel[0], sel[1], min(delta, 1.0), alpha_each)
        e0, e1 = sign * sides[0][name][n_sel:], sign * sides[1][name][n_sel:]
        m0, m1 = len(e0), len(e1)
        fp, fn = int(np.sum(e0 > threshold)), int(np.sum(e1 <= threshold))
        lower, _, _ = eps_lower_bound(fp, m0, fn, m1, min(delta, 1.0), alpha_each)
        provable, _, _ = eps_lower_bound(0, m0, 0, m1, min(delta, 1.0), alpha_each)
        estimate = _eps_estimate(fp, m0, fn, m1, min(delta, 1.0))
        verdict = "no DP claim" if declared is None else ("violates" if lower > declared[0] else "consistent")
        report.results.append(NeighbourResult(
            kind=pair.kind, description=pair.description, steps=pair.steps, statistic=name,
            threshold=sign * threshold, direction="above" if sign > 0 else "below",
            fits_selection=n_sel, fits_evaluation=m0, false_positives=fp, false_negatives=fn,
            fpr=fp / m0, fnr=fn / m1, fpr_ci=clopper_pearson(fp, m0, alpha_each),
            fnr_ci=clopper_pearson(fn, m1, alpha_each), eps_estimate=estimate,
            eps_lower=lower, eps_max_provable=provable, declared_eps=declared[0] if declared else None,
            declared_delta=declared[1] if declared else None, verdict=verdict))
    return report


# --------------------------------------------------------------------------------------------- learners


@dataclass(frozen=True)
class AuditLearner:
    """Registry entry of a learner the command line audits."""

    dataset: str
    knob: str | None
    kinds: tuple[str, ...]
    n: int
    fits: int
    description: str


_TREE_KINDS = ("insert", "new-class")
AUDIT_LEARNERS: dict[str, AuditLearner] = {
    "ols": AuditLearner("iwpc", None, ("insert",), 200, 400, "ordinary least squares, undefended"),
    "memorizer": AuditLearner("iwpc", None, ("insert",), 200, 400,
                              "1-nearest-neighbour regression: releases its training rows"),
    "adassp": AuditLearner("iwpc", "eps", ("insert",), 200, 400, "AdaSSP, (eps, delta)-DP (add/remove)"),
    "id3": AuditLearner("steak", None, _TREE_KINDS, 200, 400, "ID3 (depth 3), undefended"),
    "dp-id3": AuditLearner("steak", "eps", _TREE_KINDS, 200, 400, "DP-ID3 (depth 2), eps-DP (add/remove)"),
    "dp-sgd": AuditLearner("digits", "eps", _TREE_KINDS, 45, 200,
                           "DP-SGD CNN on 8x8 digits, 2 epochs; --eps is the RDP target (add/remove)"),
    "laplace": AuditLearner("count", "eps", ("replace",), 10, 20000, "Laplace count, eps-DP (substitution)"),
    "geometric": AuditLearner("count", "eps", ("replace",), 10, 20000,
                              "two-sided geometric count, eps-DP (substitution)"),
    "randomized-response": AuditLearner("count", "eps", ("replace",), 10, 20000,
                                        "randomized response on a majority bit, eps-DP (substitution)"),
    "extremal": AuditLearner("count", "eps", ("replace",), 10, 20000,
                             "the extremal mechanism g^-c(U), (eps, delta)-DP (substitution)"),
}
#: Learners whose released output is a classifier (they have the ``new-class`` relation).
CLASSIFIERS = ("id3", "dp-id3", "dp-sgd")


def _fits_of(fit_one: Callable[[Any, int], dict[str, float]]):
    """``release`` from a one-fit function ``(dataset, seed) -> {statistic: value}``."""
    def release(dataset, rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
        rows = [fit_one(dataset, int(s)) for s in rng.integers(0, 2**31 - 1, size=count)]
        return {k: np.array([r[k] for r in rows], float) for k in rows[0]}

    return release


def _pairs(kinds, variants: dict, privacy: Privacy | None, canary: str, absent: str = "") -> tuple[NeighbourPair, ...]:
    """The neighbour pairs ``variants[kind] = (D, D')`` of ``kinds``, described, with their number of
    neighbouring steps under the learner's adjacency (no claim: add/remove)."""
    substitution = privacy is not None and privacy.adjacency == "substitution"
    steps = {"insert": 1, "new-class": 1, "replace": 1 if substitution else 2}
    text = {"insert": f"D plus {canary}", "replace": f"D with its first record replaced by {canary}",
            "new-class": f"D without {absent}, and D' that plus {canary}"}
    return tuple(NeighbourPair(k, variants[k], steps[k], text[k]) for k in kinds)


def _iwpc_target(name, privacy, kinds, n, seed, data_home, estimator) -> AuditTarget:
    from sklearn.linear_model import LinearRegression
    from sklearn.neighbors import KNeighborsRegressor

    from defenses.linear import AdaSSPRegression
    from validation.linear import IWPCProblem

    prob = IWPCProblem(data_home)
    if n > len(prob.y) - 1:
        raise ValueError(f"--n {n} exceeds the {len(prob.y)} rows of the IWPC table less one (the replaced record)")
    idx = np.random.default_rng([seed, 0]).permutation(len(prob.y))[:n]
    X, y = prob.X[idx], prob.y[idx]
    # The canary: the feature row on the public row bound of largest leverage (the top eigenvector of the
    # inverse Gram matrix, intercept included), with the label bound of the sign opposite to D's fit there.
    design = np.column_stack([X, np.ones(n)])
    inv = np.linalg.pinv(design.T @ design)
    u = np.linalg.eigh(inv[:-1, :-1])[1][:, -1]
    lev = [np.r_[s * prob.x_bound * u, 1.0] @ inv @ np.r_[s * prob.x_bound * u, 1.0] for s in (1, -1)]
    x_star = (1 if lev[0] >= lev[1] else -1) * prob.x_bound * u
    fitted = LinearRegression().fit(X, y).predict(x_star[None])[0]
    y_star = -prob.y_bound if fitted > 0 else prob.y_bound
    variants = {"insert": ((X, y), (np.vstack([X, x_star]), np.append(y, y_star))),
                "replace": ((X, y), (np.vstack([x_star, X[1:]]), np.r_[y_star, y[1:]]))}

    def make(seed_):
        if name == "ols":
            return LinearRegression()
        if name == "memorizer":
            return KNeighborsRegressor(n_neighbors=1)
        return AdaSSPRegression(epsilon=privacy.eps, delta=privacy.delta, x_bound=prob.x_bound,
                                y_bound=prob.y_bound, random_state=seed_)

    make = estimator or make

    def fit_one(dataset, seed_):
        model = make(seed_).fit(*dataset)
        out = {"prediction_at_canary": float(model.predict(x_star[None])[0])}
        if hasattr(model, "coef_"):
            out.update(coef_along_canary=float(model.coef_ @ u), intercept=float(model.intercept_))
        return out

    pairs = _pairs(kinds, variants, privacy, f"a canary on the public row bound (|x| = {prob.x_bound:.4g}, largest "
                                             f"leverage) with y = {y_star:+.4g} (the label bound)")
    block = 50 if name == "adassp" else 100
    return AuditTarget(name, privacy, pairs, _fits_of(fit_one), block, AUDIT_LEARNERS[name].description)


def _steak_target(name, privacy, kinds, n, seed, data_home, estimator) -> AuditTarget:
    from defenses.datasets import load_steak_survey
    from defenses.tree import DPID3Classifier, ID3Classifier, encode_table

    ds = load_steak_survey(data_home)
    if n > len(ds.target) - 1:
        raise ValueError(f"--n {n} exceeds the {len(ds.target)} rows of the steak survey less one "
                         f"(the replaced record)")
    table = encode_table(ds.data)
    classes = list(ds.target.cat.categories)
    codes = ds.target.cat.codes.to_numpy()
    idx = np.random.default_rng([seed, 0]).permutation(len(codes))[:n]
    base_codes, base_y = table.codes[idx], codes[idx]
    # The canary: the rarest answer of every question in D (a value D may not hold at all) and the rarest
    # class of D; for new-class, D loses every record of that class and the canary brings one back.
    rare = np.array([int(np.argmin(np.bincount(base_codes[:, j], minlength=len(c))))
                     for j, c in enumerate(table.categories)])
    rare_class = int(np.argmin(np.bincount(base_y, minlength=len(classes))))
    canary_table = table.__class__(rare[None], table.categories, table.feature_names)

    labels = np.asarray(classes, dtype=object)

    def dataset(rows_codes, y_codes):  # plain label arrays: the class set must come from the learner's classes=
        return table.__class__(rows_codes, table.categories, table.feature_names), labels[y_codes]

    without = base_y != rare_class
    variants = {
        "insert": (dataset(base_codes, base_y),
                   dataset(np.vstack([base_codes, rare]), np.append(base_y, rare_class))),
        "replace": (dataset(base_codes, base_y),
                    dataset(np.vstack([rare, base_codes[1:]]), np.r_[rare_class, base_y[1:]])),
        "new-class": (dataset(base_codes[without], base_y[without]),
                      dataset(np.vstack([base_codes[without], rare]), np.append(base_y[without], rare_class))),
    }

    def make(seed_):
        if name == "id3":
            return ID3Classifier(max_depth=3)
        return DPID3Classifier(epsilon=privacy.eps, max_depth=2, classes=classes, random_state=seed_)

    make = estimator or make

    def fit_one(data, seed_):
        model = make(seed_).fit(*data)
        t = model.tree_
        leaf = int(model.apply(canary_table)[0])
        c = list(model.classes_).index(classes[rare_class]) if classes[rare_class] in list(model.classes_) else -1
        return {"root_count": float(t.n_samples[0]), "canary_node_count": float(t.n_samples[leaf]),
                "canary_class_count": float(t.class_counts[leaf, c]) if c >= 0 else 0.0,
                "canary_proba": float(model.predict_proba(canary_table)[0, c]) if c >= 0 else 0.0,
                "n_classes": float(len(model.classes_))}

    pairs = _pairs(kinds, variants, privacy, f"a canary of the rarest answers of D with its rarest class "
                                             f"({classes[rare_class]!r})", f"class {classes[rare_class]!r}")
    return AuditTarget(name, privacy, pairs, _fits_of(fit_one), 50, AUDIT_LEARNERS[name].description)


#: A small CNN for the DP-SGD audit (8x8 digits): one 3x3 convolution with 8 channels, 32 features.
DIGITS_ARCHITECTURE = {"channels": (8,), "kernel_size": 3, "pool": "max", "feature_dim": 32}
DIGITS_BATCH = 10
DIGITS_EPOCHS = 2
def _digits_target(name, privacy, kinds, n, seed, estimator) -> AuditTarget:
    from opacus.accountants.utils import get_noise_multiplier

    from defenses.datasets import load_digits

    d = load_digits()
    X, y = d.data, d.target
    if n > len(y) // 2:
        raise ValueError(f"--n {n} exceeds {len(y) // 2} (half the 8x8 digits)")
    if n % DIGITS_BATCH == 0:  # D and D' then need the same number of batches per epoch (q and steps public)
        raise ValueError(f"--n must not be a multiple of the batch size {DIGITS_BATCH} for dp-sgd (the sample "
                         f"rate 1/ceil(N/{DIGITS_BATCH}) would differ between D and D + 1 record)")
    rng = np.random.default_rng([seed, 0])
    idx = rng.permutation(len(y))
    base = idx[:n]
    no_nine = idx[y[idx] != 9][:n]
    canary = np.ones((1,) + X.shape[1:], X.dtype)  # the all-white image: the corner of the public domain
    rare_class = int(np.argmin(np.bincount(y[base], minlength=10)))
    label = {"insert": rare_class, "replace": rare_class, "new-class": 9}
    variants = {
        "insert": ((X[base], y[base]), (np.concatenate([X[base], canary]), np.append(y[base], rare_class))),
        "replace": ((X[base], y[base]), (np.concatenate([canary, X[base[1:]]]), np.r_[rare_class, y[base[1:]]])),
        "new-class": ((X[no_nine], y[no_nine]), (np.concatenate([X[no_nine], canary]), np.append(y[no_nine], 9))),
    }

    # σ for the target ε, as DPSGDClassifier(target_epsilon=...) calibrates it (Opacus, RDP), once: D and D'
    # have the same sample rate and number of steps.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Optimal order is the.*")
        sigma = get_noise_multiplier(target_epsilon=privacy.eps, target_delta=privacy.delta,
                                     sample_rate=1 / math.ceil(n / DIGITS_BATCH), epochs=DIGITS_EPOCHS,
                                     accountant="rdp")
    from defenses.neural import DPSGDClassifier

    def make(seed_):  # every fit of the audit shares (σ, q, steps, δ): its accounting is memoised once
        return DPSGDClassifier(noise_multiplier=sigma, delta=privacy.delta, classes=np.arange(10),
                               epochs=DIGITS_EPOCHS, batch_size=DIGITS_BATCH, lr=1e-2, early_stopping=False,
                               architecture=DIGITS_ARCHITECTURE, device="cpu", random_state=seed_, progress=False)

    make = estimator or make

    def fit_one(data, seed_):
        model = make(seed_).fit(*data)
        logits = model.decision_function(canary)[0]
        out = {"n_classes": float(len(model.classes_))}
        for kind_label in sorted(set(label.values())):
            cols = list(model.classes_)
            if kind_label in cols:
                j = cols.index(kind_label)
                others = np.delete(logits, j)
                out[f"canary_margin_{kind_label}"] = float(logits[j] - others.max())
            else:
                out[f"canary_margin_{kind_label}"] = -NON_FINITE
        return out

    pairs = (_pairs([k for k in kinds if k != "new-class"], variants, privacy,
                    f"an all-white image labelled {rare_class} (the rarest class of D)")
             + _pairs([k for k in kinds if k == "new-class"], variants, privacy, "an all-white image labelled 9",
                      "the digit 9"))
    return AuditTarget(name, privacy, pairs, _fits_of(fit_one), 10, AUDIT_LEARNERS[name].description)


def _count_target(name, privacy, n) -> AuditTarget:
    from mitheory.distributions import agreement_event
    from mitheory.mechanisms import CountStatistic, ExtremalMechanism, GeometricCount, LaplaceCount, RandomizedResponse

    stat = CountStatistic(agreement_event())
    mech = {"laplace": lambda: LaplaceCount(privacy.eps, stat),
            "geometric": lambda: GeometricCount(privacy.eps, stat),
            "randomized-response": lambda: RandomizedResponse(privacy.eps, stat),
            "extremal": lambda: ExtremalMechanism(privacy.eps, privacy.delta, stat)}[name]()
    c = n // 2

    def release(count_in_b, rng, count):
        return {"output": np.asarray(mech.sample(np.full(count, count_in_b), n, rng), float)}

    pair = NeighbourPair("replace", (c, c + 1), 1,
                         f"a training set of {n} records with {c} in the counted event, and one of them replaced "
                         f"by a record outside it")
    return AuditTarget(name, privacy, (pair,), release, 100_000, AUDIT_LEARNERS[name].description)


def build_audit_target(name: str, *, eps: float | None = None, delta: float | None = None, n: int | None = None,
                       kinds: tuple[str, ...] | None = None, seed: int = 0, data_home: str | Path | None = None,
                       estimator: Callable[[int], Any] | None = None) -> AuditTarget:
    """The registered learner ``name`` (:data:`AUDIT_LEARNERS`) with its neighbour pairs.

    ``eps`` (and ``delta``: AdaSSP 1e-6, DP-SGD 1e-5, the extremal mechanism 0) for the DP learners; ``n`` the
    size of D (default: the registry's); ``kinds`` the neighbour relations (default: the learner's);
    ``seed`` picks D from the table. ``estimator(seed)`` replaces the registered model by another unfitted
    estimator audited on the same neighbours against the same declared guarantee (not for the reference
    mechanisms): IWPC rows ``(X, y)``, survey rows as an :class:`~defenses.tree.EncodedTable` with plain label
    arrays, 8x8 digit images with integer labels.
    """
    if name not in AUDIT_LEARNERS:
        raise ValueError(f"unknown learner {name!r}; choose from {', '.join(AUDIT_LEARNERS)}")
    info = AUDIT_LEARNERS[name]
    if (eps is None) == (info.knob == "eps"):
        raise ValueError(f"learner {name!r} {'needs' if info.knob == 'eps' else 'takes no'} --eps")
    if eps is not None and not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be finite and > 0, got {eps!r}")
    kinds = tuple(kinds or info.kinds)
    for k in kinds:
        if k not in NEIGHBOUR_KINDS or (k == "new-class" and name not in CLASSIFIERS) or (
                info.dataset == "count" and k != "replace"):
            raise ValueError(f"neighbour {k!r} does not apply to learner {name!r}")
    n = info.n if n is None else int(n)
    if n < 10:
        raise ValueError(f"n must be at least 10, got {n}")
    privacy = None
    if info.knob == "eps":
        default_delta = {"adassp": 1e-6, "dp-sgd": 1e-5}.get(name, 0.0)
        d = default_delta if delta is None else float(delta)
        adjacency = "substitution" if info.dataset == "count" else "add/remove"
        privacy = Privacy(float(eps), d, adjacency)
    if info.dataset == "iwpc":
        return _iwpc_target(name, privacy, kinds, n, seed, data_home, estimator)
    if info.dataset == "steak":
        return _steak_target(name, privacy, kinds, n, seed, data_home, estimator)
    if info.dataset == "digits":
        return _digits_target(name, privacy, kinds, n, seed, estimator)
    if estimator is not None:
        raise ValueError(f"learner {name!r} is a reference mechanism; it takes no estimator")
    return _count_target(name, privacy, n)


# --------------------------------------------------------------------------------------------- command line


def add_arguments(p) -> None:
    """The options of ``python -m validation audit``."""
    from validation.cli import add_executor_arguments, path_argument

    p.add_argument("--learner", required=True, choices=list(AUDIT_LEARNERS))
    p.add_argument("--eps", type=float, help="declared epsilon of a DP learner (DP-SGD: its target)")
    p.add_argument("--delta", type=float, help="declared delta (AdaSSP 1e-6, DP-SGD 1e-5, extremal 0)")
    p.add_argument("--n", type=int, help="size of the training set D (default: the learner's, see list)")
    p.add_argument("--fits", type=int, help="trainings per side of each neighbour pair (default: the learner's)")
    p.add_argument("--neighbour", choices=[*NEIGHBOUR_KINDS, "all"],
                   help="neighbour relation: insert or replace one record, or add one of a new class (default: "
                        "the learner's; all: every one that applies)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="the bounds hold together with probability >= 1 - alpha (default 0.05)")
    p.add_argument("--selection", type=float, default=0.25,
                   help="share of the fits that chooses the test (default 0.25; the rest measure it)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--store", type=path_argument, help="resumable result file (default under results/validation/)")
    p.add_argument("--data-home", type=path_argument,
                   help="data directory searched first (then $MID_DATA, then ~/.cache/mid-toolkit)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_executor_arguments(p)


def _kinds(args) -> tuple[str, ...]:
    info = AUDIT_LEARNERS[args.learner]
    if args.neighbour is None:
        return info.kinds
    if args.neighbour != "all":
        return (args.neighbour,)
    if info.dataset == "count":
        return ("replace",)
    return tuple(k for k in NEIGHBOUR_KINDS if k != "new-class" or args.learner in CLASSIFIERS)


def check_arguments(parser, args) -> None:
    """Every check that needs no data (exit 2, one line), before anything is loaded or trained."""
    from validation.cli import (
        STORED_FLOAT_BYTES,
        check_data_home,
        check_executor_fits,
        check_fits,
        check_output_file,
        require_neural,
    )

    info = AUDIT_LEARNERS[args.learner]
    dp = [k for k, v in AUDIT_LEARNERS.items() if v.knob == "eps"]
    if info.knob == "eps" and args.eps is None:
        parser.error(f"learner {args.learner!r} needs --eps > 0 (its declared epsilon)")
    if info.knob != "eps" and args.eps is not None:
        parser.error(f"--eps applies to the DP learners {', '.join(dp)}, not {args.learner} (no DP claim)")
    if args.eps is not None and not (math.isfinite(args.eps) and args.eps > 0):
        parser.error(f"--eps must be finite and > 0, got {args.eps}")
    with_delta = ("adassp", "dp-sgd", "extremal")
    if args.delta is not None:
        if args.learner not in with_delta:
            parser.error(f"--delta applies to the (eps, delta)-DP learners {', '.join(with_delta)}, not {args.learner}")
        if not 0 <= args.delta < 1 or (args.delta == 0 and args.learner != "extremal"):
            interval = "[0, 1)" if args.learner == "extremal" else "(0, 1)"
            parser.error(f"--delta must lie in {interval}, got {args.delta}")
    if args.neighbour == "new-class" and args.learner not in CLASSIFIERS:
        parser.error(f"--neighbour new-class applies to the classifiers {', '.join(CLASSIFIERS)}, not {args.learner}")
    if args.neighbour in ("insert", "new-class") and info.dataset == "count":
        parser.error(f"--neighbour {args.neighbour}: the reference mechanism {args.learner} releases a function of a "
                     "count under substitution adjacency; its neighbours replace a record (--neighbour replace)")
    if args.n is not None and args.n < 10:
        parser.error(f"--n must be an integer >= 10, got {args.n}")
    if args.n is not None and info.dataset == "digits" and args.n % DIGITS_BATCH == 0:
        parser.error(f"--n must not be a multiple of the batch size {DIGITS_BATCH} for dp-sgd (D and D + 1 record "
                     f"would then have different sample rates)")
    fits = args.fits if args.fits is not None else info.fits
    if fits < 4:
        parser.error(f"--fits must be an integer >= 4, got {fits}")
    if not 0 < args.alpha < 1:
        parser.error(f"--alpha must lie in (0, 1), got {args.alpha}")
    n_sel = round(args.selection * fits) if 0 < args.selection < 1 else -1
    if not 2 <= n_sel <= fits - 2:
        parser.error(f"--selection {args.selection} leaves fewer than 2 of the {fits} fits to choosing or to "
                     f"measuring the test (give a share in (0, 1), or more --fits)")
    if args.seed < 0:
        parser.error(f"--seed must be an integer >= 0, got {args.seed}")
    check_fits(parser, "--fits", STORED_FLOAT_BYTES * 2 * 6 * fits * len(_kinds(args)),
               f"the statistics of {2 * fits * len(_kinds(args))} fits")
    check_executor_fits(parser, args)
    if args.data_home is not None and info.dataset in ("digits", "count"):
        parser.error(f"--data-home does not apply to learner {args.learner}: "
                     + ("its data ships with scikit-learn" if info.dataset == "digits" else "it reads no data"))
    check_data_home(parser, args.data_home)
    if args.store is not None:
        check_output_file(parser, "--store", args.store)
    if info.dataset == "digits":
        require_neural(parser, f"learner {args.learner}")


def main(parser, args) -> int:
    """``python -m validation audit``: checks, the audit, and a table (or ``--json``)."""
    import json

    from validation.cli import check_output_file, executor_from_args
    from validation.engine import UnitsFailed
    from validation.store import StoreError, check_store_file

    check_arguments(parser, args)
    info = AUDIT_LEARNERS[args.learner]
    fits = args.fits if args.fits is not None else info.fits
    n = args.n if args.n is not None else info.n
    knob = f"-{args.eps:g}" if args.eps is not None else ""
    store = args.store or Path("results/validation") / f"audit-{args.learner}{knob}-n{n}-f{fits}-s{args.seed}.json"
    try:
        check_output_file(parser, "--store", store)
        check_store_file(store)
        target = build_audit_target(args.learner, eps=args.eps, delta=args.delta, n=n, kinds=_kinds(args),
                                    seed=args.seed, data_home=args.data_home)
    except (ValueError, FileNotFoundError) as exc:  # n beyond the table, missing or damaged data, a bad store
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    executor = executor_from_args(parser, args)
    try:
        report = run_audit(target, fits, alpha=args.alpha, selection=args.selection, seed=args.seed,
                           store_path=store, executor=executor)
    except (StoreError, FileNotFoundError) as exc:
        executor.close()
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    except UnitsFailed as exc:
        executor.close()
        parser.exit(1, f"{parser.prog}: {exc}\n")
    out = report.as_dict()
    out.update(n=n, store=str(store), executor=executor.describe())
    executor.close()
    if args.json:
        print(json.dumps(out))
        return 0
    claim = ("no DP claim" if report.eps is None else
             f"declared eps = {report.eps:g}, delta = {report.delta:g} ({report.adjacency})")
    print(f"privacy audit with adversarial neighbours: {args.learner} ({info.description}); {claim}")
    print(f"D: {n} records; {fits} fits per side ({report.results[0].fits_selection} choose the test, "
          f"{report.results[0].fits_evaluation} measure it); alpha = {args.alpha:g}")
    for r in report.results:
        print(f"  {r.kind}: {r.description}")
        print(f"    test: {r.statistic} {r.direction} {r.threshold:.6g} says D'   FPR {r.fpr:.4f} "
              f"[{r.fpr_ci[0]:.4f}, {r.fpr_ci[1]:.4f}]   FNR {r.fnr:.4f} [{r.fnr_ci[0]:.4f}, {r.fnr_ci[1]:.4f}]")
        declared = "" if r.declared_eps is None else f"   declared for this relation: eps = {r.declared_eps:g}"
        print(f"    eps estimate {r.eps_estimate:.3f} (add-1/2 rates)   eps >= {r.eps_lower:.3f} (at most "
              f"{r.eps_max_provable:.3f} provable with these fits){declared}   {r.verdict}")
    flag = "   PRIVACY BUG: the declared eps is false" if report.verdict == "violates" else ""
    print(f"empirical lower bound on eps: {report.eps_lower:.3f} ({report.ci_method}){flag}")
    print(f"verdict: {report.verdict}   (results: {store})")
    return 0
