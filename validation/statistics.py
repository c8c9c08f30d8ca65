"""The statistics behind the toolkit's verdicts: intervals that name their method, paired comparisons of two
privacy-utility trade-off curves, equivalence tests, stratified trend tests and a power estimate.

Pure functions of numbers (numpy and scipy only); :mod:`validation.sweep` and :mod:`paper_figs._claims`
use them. The units of replication are *runs*: independent seeds, or repeated random train/test splits of
one table. Splits overlap, so their variance is corrected (Nadeau & Bengio, 2003): with ``J`` splits and a
test/train size ratio ``r = n_test / n_train`` the variance of a mean over splits is ``(1/J + r)·s²``, with
Student's t on ``J − 1`` degrees of freedom (``r = 0`` gives the ordinary t for independent seeds).
Proportions counted over trials (attacked records, reconstructions) also carry a binomial floor: the
interval of the pooled counts, which never has zero width for finite counts, even when every run ties.

Method names (the ``method`` of every :class:`Estimate`, written beside every interval in figure JSON):

``t`` / ``resampled-t``
    mean over independent seeds / over overlapping splits (the corrected resampled t);
``wilson-pooled``
    Wilson score interval of the counts pooled over runs, at the effective number of trials
    ``Σ n_j / (1 + J·r)`` (all of them for independent seeds);
``max(t, wilson-pooled)``, ``max(resampled-t, wilson-pooled)``
    the wider of the two (a proportion with counted trials; the run-level one intersected with [0, 1]);
``t∩[0,1]``, ``resampled-t∩[0,1]``
    a proportion without counts: the run-level interval intersected with [0, 1];
``paired t`` / ``paired resampled-t``, optionally ``max(…, binomial floor)``
    a contrast (difference, frontier gap) computed per run, then its interval; the floor is the normal
    interval of the contrast's variance under binomial sampling of the pooled counts (Agresti–Coull
    adjusted, so never zero);
``wilson`` (one run), ``clopper-pearson``
    a single proportion's counts.

References
----------
Nadeau, C. & Bengio, Y. (2003). Inference for the generalization error. *Machine Learning* 52, 239–281.
Bouckaert, R. & Frank, E. (2004). Evaluating the replicability of significance tests for comparing learning
algorithms. *PAKDD*.
Schuirmann, D. (1987). A comparison of the two one-sided tests procedure and the power approach for assessing
the equivalence of average bioavailability. *J. Pharmacokinet. Biopharm.* 15, 657–680.
Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scand. J. Statist.* 6, 65–70.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import stats

__all__ = [
    "Estimate", "Frontier", "GapResult", "TrendResult", "clopper_pearson", "contrast", "effective_trials",
    "equivalence", "floor_variance", "frontier_gap", "holm", "mean_estimate", "proportion_estimate",
    "runs_needed", "stratified_spearman", "wilson",
]


# ----------------------------------------------------------------------------------------------- estimates


@dataclass(frozen=True)
class Estimate:
    """A point estimate with the standard error and degrees of freedom its interval uses.

    ``se`` is NaN when no interval exists (one run and no counts); ``df`` None means a normal quantile.
    """

    value: float
    se: float
    df: float | None
    method: str
    n: int = 0  #: the runs (seeds or splits) behind it
    #: the run-level standard deviation of the contrast, before the split correction (for power estimates)
    sd: float = math.nan

    def quantile(self, level: float) -> float:
        """The two-sided ``level`` critical value of this estimate's reference distribution."""
        q = 0.5 + level / 2
        return float(stats.norm.ppf(q) if self.df is None else stats.t.ppf(q, self.df))

    def interval(self, level: float = 0.95) -> tuple[float, float] | None:
        """The two-sided ``level`` interval, or None when there is none (one run, no counts)."""
        if not math.isfinite(self.se):
            return None
        half = self.quantile(level) * self.se
        return self.value - half, self.value + half

    def p_value(self, null: float = 0.0, alternative: str = "two-sided") -> float:
        """p-value of ``H0: value = null`` against ``alternative`` ("two-sided", "less", "greater")."""
        if not math.isfinite(self.se):
            return 1.0
        if self.se == 0:
            return 0.0 if self.value != null else 1.0
        z = (self.value - null) / self.se
        dist = stats.norm if self.df is None else stats.t(self.df)
        if alternative == "two-sided":
            return float(2 * dist.sf(abs(z)))
        if alternative == "less":
            return float(dist.cdf(z))
        if alternative == "greater":
            return float(dist.sf(z))
        raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', got {alternative!r}")


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def _check_ratio(ratio: float) -> float:
    if not (math.isfinite(ratio) and ratio >= 0):
        raise ValueError(f"the test/train ratio must be a finite number >= 0, got {ratio!r}")
    return float(ratio)


def wilson(successes: float, trials: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion; ``successes`` and ``trials`` may be effective (non-integer)."""
    if not trials > 0:
        raise ValueError(f"trials must be > 0, got {trials!r}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in [0, trials], got {successes!r} of {trials!r}")
    z = _z(level)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends where rounding would leave a speck
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return lo, hi


def clopper_pearson(successes: float, trials: float, level: float = 0.95) -> tuple[float, float]:
    """Clopper–Pearson ("exact") interval of a proportion (beta quantiles; real counts allowed)."""
    if not trials > 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes!r} of {trials!r}")
    a = 1 - level
    lo = 0.0 if successes == 0 else float(stats.beta.ppf(a / 2, successes, trials - successes + 1))
    hi = 1.0 if successes == trials else float(stats.beta.ppf(1 - a / 2, successes + 1, trials - successes))
    return lo, hi


def effective_trials(total_trials: float, runs: int, ratio: float = 0.0) -> float:
    """Trials pooled over ``runs`` counted as independent: ``total / (1 + runs·ratio)``.

    With the split correction the variance of a mean over ``J`` splits is ``(1/J + r)`` times one split's,
    so ``J`` splits of ``n`` trials count as ``J·n / (1 + J·r)`` independent trials (``J·n`` for seeds).
    """
    return float(total_trials) / (1.0 + runs * _check_ratio(ratio))


def floor_variance(p: float, trials: float, level: float = 0.95) -> float:
    """Binomial variance of a proportion estimated from ``trials`` (effective) trials, Agresti–Coull adjusted
    (``p̃ = (p·n + z²/2)/(n + z²)``, ``ñ = n + z²``) so that it is never 0 for finite ``trials``."""
    z2 = _z(level) ** 2
    n = trials + z2
    pt = (p * trials + z2 / 2) / n
    return pt * (1 - pt) / n


def mean_estimate(values: Sequence[float], ratio: float = 0.0) -> Estimate:
    """Mean of per-run ``values``: Student t over independent seeds (``ratio = 0``), or the corrected
    resampled t over overlapping splits (``ratio = n_test / n_train``)."""
    v = np.asarray(values, float)
    if v.size == 0:
        raise ValueError("no values")
    ratio = _check_ratio(ratio)
    name = "t" if ratio == 0 else "resampled-t"
    if v.size < 2:
        return Estimate(float(v.mean()), math.nan, None, f"n/a ({name} needs two runs)", 1)
    s = float(v.std(ddof=1))
    return Estimate(float(v.mean()), s * math.sqrt(1 / v.size + ratio), v.size - 1, name, v.size, s)


def proportion_estimate(values: Sequence[float], trials: Sequence[float], ratio: float = 0.0,
                        level: float = 0.95) -> tuple[Estimate, tuple[float, float]]:
    """A mean of per-run proportions, each counted over ``trials``: the wider of the run-level interval
    (intersected with [0, 1]) and the Wilson interval of the pooled counts (at the effective number of trials).

    Returns the run-level :class:`Estimate` (for paired contrasts) and the reported ``level`` interval.
    """
    v, n = np.asarray(values, float), np.asarray(trials, float)
    if v.shape != n.shape:
        raise ValueError(f"{v.size} values but {n.size} trial counts")
    run = mean_estimate(v, ratio)
    total = float(n.sum())
    if total <= 0:
        raise ValueError("a proportion needs trials > 0")
    pooled = float(np.dot(v, n) / total)
    n_eff = effective_trials(total, v.size, ratio)
    floor = wilson(min(max(pooled, 0.0), 1.0) * n_eff, n_eff, level)
    iv = run.interval(level)
    if iv is None:
        return Estimate(run.value, math.nan, None, "wilson (one run)", 1), floor
    name = f"max({run.method}, wilson-pooled)"
    iv = (max(iv[0], 0.0), min(iv[1], 1.0))  # a proportion: the run-level interval within [0, 1]
    chosen = iv if iv[1] - iv[0] >= floor[1] - floor[0] else floor
    return Estimate(run.value, run.se, run.df, name, run.n, run.sd), chosen


def contrast(per_run: Sequence[float], *, ratio: float = 0.0, floor_var: float = 0.0,
             level: float = 0.95) -> Estimate:
    """A contrast computed run by run (a paired difference, a frontier gap), with its standard error.

    The run-level standard error is the t (seeds) or corrected resampled-t (splits) one; ``floor_var`` is the
    contrast's variance under binomial sampling of the counts alone (:func:`floor_variance` of each
    proportion, times the square of its weight). Whichever gives the wider ``level`` interval is kept, so a
    contrast of proportions never has a zero-width interval when every run ties.
    """
    run = mean_estimate(per_run, ratio)
    name = "paired t" if _check_ratio(ratio) == 0 else "paired resampled-t"
    if floor_var <= 0:
        return Estimate(run.value, run.se, run.df, name if run.n >= 2 else run.method, run.n, run.sd)
    floor_se = math.sqrt(floor_var)
    label = f"max({name}, binomial floor)"
    if run.n < 2 or run.quantile(level) * run.se < _z(level) * floor_se:
        return Estimate(run.value, floor_se, None, label, run.n, run.sd)
    return Estimate(run.value, run.se, run.df, label, run.n, run.sd)


def runs_needed(sd: float, effect: float, ratio: float = 0.0, alpha: float = 0.05, power: float = 0.8) -> float:
    """Seeds (or splits) a paired comparison needs to detect ``effect`` with ``power`` at two-sided ``alpha``:
    ``n ≈ ((z_{1−α/2} + z_power)·sd / effect)²``; with overlapping splits ``(1/n + r)·sd² ≤ (effect/(z+z))²``,
    which no number of splits satisfies once ``r·sd²`` alone is too large (then ``inf``)."""
    if not effect > 0:
        raise ValueError(f"effect must be > 0, got {effect!r}")
    if not math.isfinite(sd):
        return math.nan
    if sd == 0:
        return 2.0
    zsum = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    target = (effect / (zsum * sd)) ** 2 - _check_ratio(ratio)
    return math.inf if target <= 0 else max(2.0, float(math.ceil(1 / target)))


def holm(p_values: Sequence[float], alpha: float = 0.05) -> list[bool]:
    """Holm–Bonferroni: which hypotheses are rejected at family-wise error ``alpha``."""
    p = np.asarray(p_values, float)
    order = np.argsort(p, kind="stable")
    rejected = np.zeros(p.size, bool)
    for rank, i in enumerate(order):
        if p[i] > alpha / (p.size - rank):
            break
        rejected[i] = True
    return rejected.tolist()


def equivalence(est: Estimate, lower: float, upper: float, alpha: float = 0.05) -> tuple[str, tuple[float, float] | None]:
    """Two one-sided tests (TOST) of ``lower < effect < upper`` at level ``alpha`` each.

    Returns ``("equivalent" | "beyond" | "undecided", interval)`` with the ``1 − 2α`` interval: equivalent when
    it lies inside (``lower``, ``upper``), beyond when it lies wholly above ``upper`` or below ``lower`` (the
    effect is significantly outside the margin), undecided otherwise. ``lower = -inf`` tests one side only.
    """
    iv = est.interval(1 - 2 * alpha)
    if iv is None:
        return "undecided", None
    lo, hi = iv
    if lower < lo and hi < upper:
        return "equivalent", iv
    if lo > upper or hi < lower:
        return "beyond", iv
    return "undecided", iv


# ------------------------------------------------------------------------------------------------ frontiers


class Frontier:
    """The monotone privacy-utility frontier of one defense's settings (their means over runs).

    Utilities are oriented so that larger is more useful (``x = u``, or ``x = −u`` for an MSE). A setting
    is on the frontier when no other is at least as useful and strictly more private (or strictly more
    useful and as private). The frontier ``f(x)`` is the linear interpolation of the frontier settings'
    attacks (a random choice between two released models achieves every such mixture), flat below the
    least useful one (a more useful model is as good), and undefined above the most useful one (never
    extrapolated). ``f(x) = Σ_k w_k(x)·a_k`` with weights depending on the utilities only, so the
    same weights applied to each run's attacks give that run's frontier.
    """

    def __init__(self, utility: Sequence[float], attack: Sequence[float], higher_is_better: bool = True):
        self.sign = 1.0 if higher_is_better else -1.0
        self.x = self.sign * np.asarray(utility, float)
        a = np.asarray(attack, float)
        if self.x.shape != a.shape or self.x.size == 0:
            raise ValueError("a frontier needs one attack per utility, at least one point")
        keep = [i for i in range(a.size)
                if not any((self.x[j] >= self.x[i] and a[j] < a[i]) or (self.x[j] > self.x[i] and a[j] <= a[i])
                           for j in range(a.size))]
        # equal (utility, attack) duplicates: keep the first
        uniq: dict[tuple[float, float], int] = {}
        for i in keep:
            uniq.setdefault((self.x[i], a[i]), i)
        self.points = sorted(uniq.values(), key=lambda i: self.x[i])  #: indices of the frontier settings
        self.reach = float(self.x[self.points[-1]])  #: the most useful frontier utility (oriented)

    def weights(self, x: float) -> np.ndarray:
        """Weights ``w(x)`` over all settings (zero off the frontier); ``x`` oriented, ``≤ reach``."""
        if x > self.reach + 1e-12:
            raise ValueError(f"utility {self.sign * x:g} lies beyond the frontier's reach {self.sign * self.reach:g}")
        w = np.zeros(self.x.size)
        xs = [self.x[i] for i in self.points]
        if x <= xs[0]:
            w[self.points[0]] = 1.0
            return w
        k = int(np.searchsorted(xs, x, side="left"))
        k = min(max(k, 1), len(xs) - 1)
        x0, x1 = xs[k - 1], xs[k]
        t = 1.0 if x1 == x0 else (x - x0) / (x1 - x0)
        w[self.points[k - 1]] += 1 - t
        w[self.points[k]] += t
        return w

    def mean_weights(self, lo: float, hi: float) -> np.ndarray:
        """``(1/(hi − lo)) ∫_lo^hi w(x) dx`` (oriented ``lo ≤ hi ≤ reach``), exact: ``w`` is piecewise linear
        between the frontier utilities, so the trapezoid rule on them is exact; ``w(lo)`` when ``lo = hi``."""
        if hi < lo:
            raise ValueError(f"empty range [{lo}, {hi}]")
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):  # a point (or a range too narrow to integrate over)
            return self.weights(lo)
        nodes = sorted({lo, hi, *(float(self.x[i]) for i in self.points if lo < self.x[i] < hi)})
        ws = [self.weights(x) for x in nodes]
        total = sum((b - a) * (wa + wb) / 2 for a, b, wa, wb in zip(nodes, nodes[1:], ws, ws[1:]))
        return total / (hi - lo)


@dataclass
class GapResult:
    """The frontier gap ``ours − theirs`` over a utility range, with its per-level tests."""

    estimate: Estimate
    lo: float  #: the range actually compared, in utility units
    hi: float
    per_run: list[float]
    #: per comparison level: utility, gap estimate, two-sided p-value
    levels: list[tuple[float, Estimate, float]] = field(default_factory=list)
    weights_ours: list[float] = field(default_factory=list)
    weights_theirs: list[float] = field(default_factory=list)


def frontier_gap(ours_utility: Sequence[float], ours_attack: np.ndarray, theirs_utility: Sequence[float],
                 theirs_attack: np.ndarray, lo: float, hi: float, *, higher_is_better: bool = True,
                 ratio: float = 0.0, ours_trials: np.ndarray | None = None, theirs_trials: np.ndarray | None = None,
                 level: float = 0.95) -> GapResult:
    """Mean vertical gap between two defenses' frontiers over the utility range ``[lo, hi]`` (utility units;
    ``lo`` is the less useful end for either orientation), paired by run.

    ``*_attack`` are ``(settings, runs)`` arrays of per-run attack values with the same run index meaning the
    same seed or split in both; ``*_utility`` the settings' mean utilities (they fix the frontiers and the
    weights). The gap of run ``j`` is ``Σ W^ours_k a^ours_kj − Σ W^theirs_k a^theirs_kj`` with the mean
    weights of :meth:`Frontier.mean_weights`; its interval is :func:`contrast` (binomial floor from
    ``*_trials``, per-run trial counts of the same shape, when given). The range must lie within both
    frontiers' reach. Each frontier utility inside the range (and both ends) is also a comparison level.
    """
    A, B = np.atleast_2d(np.asarray(ours_attack, float)), np.atleast_2d(np.asarray(theirs_attack, float))
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"the two defenses have {A.shape[1]} and {B.shape[1]} runs: a paired gap needs the same runs")
    fa = Frontier(ours_utility, A.mean(1), higher_is_better)
    fb = Frontier(theirs_utility, B.mean(1), higher_is_better)
    s = fa.sign
    x_lo, x_hi = sorted((s * lo, s * hi))
    if x_hi > min(fa.reach, fb.reach) + 1e-12:
        raise ValueError("the range reaches beyond a frontier")

    def floor(weights_a, weights_b) -> float:
        total = 0.0
        for w, M, T in ((weights_a, A, ours_trials), (weights_b, B, theirs_trials)):
            if T is None:
                return 0.0
            T = np.asarray(T, float)
            for k in np.flatnonzero(w):
                n = T[k].sum()
                if n <= 0:
                    return 0.0
                p = float(np.dot(M[k], T[k]) / n)
                total += w[k] ** 2 * floor_variance(min(max(p, 0.0), 1.0), effective_trials(n, A.shape[1], ratio), level)
        return total

    def gap(wa, wb) -> tuple[np.ndarray, Estimate]:
        per_run = wa @ A - wb @ B
        return per_run, contrast(per_run, ratio=ratio, floor_var=floor(wa, wb), level=level)

    Wa, Wb = fa.mean_weights(x_lo, x_hi), fb.mean_weights(x_lo, x_hi)
    per_run, est = gap(Wa, Wb)
    nodes = sorted({x_lo, x_hi, *(float(f.x[i]) for f in (fa, fb) for i in f.points if x_lo < f.x[i] < x_hi)})
    levels = []
    for x in nodes:
        _, e = gap(fa.weights(x), fb.weights(x))
        levels.append((s * x, e, e.p_value()))
    return GapResult(est, lo, hi, per_run.tolist(), levels, Wa.tolist(), Wb.tolist())


# -------------------------------------------------------------------------------------------------- trends


@dataclass
class TrendResult:
    """Spearman's ρ per stratum and their weighted mean, with a stratified permutation p-value."""

    rho: list[float]  #: per stratum (NaN where a stratum has constant values)
    sizes: list[int]
    combined: float
    p_value: float
    min_p_value: float  #: the smallest two-sided p-value these stratum sizes can give
    method: str


def _ranks(v: np.ndarray) -> np.ndarray:
    return stats.rankdata(v)


def _rho_of_ranks(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``rx`` with each row of ``ry`` (ranks)."""
    cx = rx - rx.mean()
    cy = ry - ry.mean(axis=-1, keepdims=True)
    return (cy @ cx) / np.sqrt((cx @ cx) * np.sum(cy * cy, axis=-1))


def stratified_spearman(strata: Sequence[tuple[Sequence[float], Sequence[float]]], *, exact_limit: int = 40_320,
                        n_resamples: int = 100_000, seed: int = 0) -> TrendResult:
    """Is ``y`` monotone in ``x`` within strata? Spearman's ρ per stratum, combined as their mean weighted by
    ``n_s − 1``, tested against within-stratum permutations of ``y`` (strata independent).

    A stratum's permutation distribution is enumerated when it has at most ``exact_limit`` orderings, else
    sampled; the combined distribution is convolved exactly when small enough, else sampled
    (``n_resamples``, seeded). Strata with fewer than 3 points or a constant ``x`` or ``y`` carry no ranks
    and are left out (ρ NaN). The p-value is two-sided.
    """
    rng = np.random.default_rng(seed)
    rhos, sizes, dists, weights = [], [], [], []
    exact = True
    for x, y in strata:
        x, y = np.asarray(x, float), np.asarray(y, float)
        sizes.append(x.size)
        if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
            rhos.append(math.nan)
            continue
        rx, ry = _ranks(x), _ranks(y)
        rhos.append(float(_rho_of_ranks(rx, ry[None])[0]))
        if math.factorial(x.size) <= exact_limit:
            perms = np.array(list(itertools.permutations(ry)))
        else:
            exact = False
            perms = np.array([rng.permutation(ry) for _ in range(20_000)])
        dists.append(np.round(_rho_of_ranks(rx, perms), 12))
        weights.append(x.size - 1)
    if not dists:
        return TrendResult(rhos, sizes, math.nan, 1.0, 1.0, "no stratum with ranks")
    w = np.asarray(weights, float) / sum(weights)
    observed = float(np.dot(w, [r for r in rhos if not math.isnan(r)]))
    best = float(np.dot(w, [d.max() for d in dists]))
    worst = float(np.dot(w, [d.min() for d in dists]))
    values = [np.unique(d, return_counts=True) for d in dists]
    if exact and math.prod(len(v[0]) for v in values) <= 2_000_000:
        total_v, total_p = np.zeros(1), np.ones(1)
        for wi, (vals, counts) in zip(w, values):
            total_v = (total_v[:, None] + wi * vals[None]).ravel()
            total_p = (total_p[:, None] * (counts / counts.sum())[None]).ravel()
        method = "stratified permutation test (exact)"
        tail = lambda t: float(total_p[np.abs(total_v) >= t - 1e-9].sum())  # noqa: E731
    else:
        draws = sum(wi * d[rng.integers(0, d.size, n_resamples)] for wi, d in zip(w, dists))
        method = f"stratified permutation test ({n_resamples} random permutations)"
        tail = lambda t: float((1 + np.sum(np.abs(draws) >= t - 1e-9)) / (1 + n_resamples))  # noqa: E731
    return TrendResult(rhos, sizes, observed, min(1.0, tail(abs(observed))), tail(max(abs(best), abs(worst))),
                       method)
