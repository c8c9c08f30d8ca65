"""Confidence intervals for Bernoulli proportions (used by the game simulators and validation): exact
(Clopper–Pearson) for one set of independent trials, and Wilson at an effective sample size for proportions
measured on several models (clusters of trials), which stays inside [0, 1] without clipping."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import beta, norm
from scipy.stats import t as student_t


def clopper_pearson(successes: int | np.ndarray, trials: int | np.ndarray, alpha: float = 0.05):
    """Exact (Clopper–Pearson) two-sided ``1 − alpha`` interval for a binomial proportion.

    The interval is ``[B(α/2; k, n−k+1), B(1−α/2; k+1, n−k)]`` with ``B`` the Beta quantile, with the
    conventions lower = 0 at ``k = 0`` and upper = 1 at ``k = n``. It is conservative: its coverage is at
    least ``1 − alpha`` for every true proportion.

    Parameters
    ----------
    successes, trials : int or array of int
        ``0 ≤ successes ≤ trials``, ``trials ≥ 1``. Arrays broadcast.
    alpha : float
        One minus the confidence level, in (0, 1).

    Returns
    -------
    (low, high) : floats, or arrays when the inputs are arrays.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    k = np.asarray(successes)
    n = np.asarray(trials)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError("need 0 <= successes <= trials and trials >= 1")
    k = k.astype(float)
    n = n.astype(float)
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def wilson(p: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a proportion ``p`` observed in ``n`` trials (``n`` may be an effective,
    non-integer count); always inside [0, 1] and of positive width for finite ``n``."""
    if not 0.0 <= p <= 1.0 or not n > 0 or not 0.0 < level < 1.0:
        raise ValueError(f"need 0 <= p <= 1, n > 0 and 0 < level < 1, got p={p!r}, n={n!r}, level={level!r}")
    z = float(norm.ppf(0.5 + level / 2))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def effective_wilson(p: float, variance: float, trials: float, df: float, level: float = 0.95) -> tuple[float, float]:
    """Interval for a proportion estimated from clusters of trials (models, splits, seeds): Wilson's interval
    at the effective sample size ``p(1 − p)/variance`` (Korn & Graubard 1998), capped at the pooled ``trials``
    and multiplied by ``(z/t_df)²`` for the ``df`` degrees of freedom of the variance estimate.

    The interval respects [0, 1] by construction (no clipping), is never zero-width (a between-cluster
    variance of 0 leaves the binomial floor of the pooled trials), and widens with the spread across
    clusters. ``variance`` is the estimated variance of ``p`` (e.g. ``s²/J`` over ``J`` clusters).

    References
    ----------
    E. L. Korn, B. I. Graubard, "Confidence intervals for proportions with small expected number of positive
    counts estimated from survey data", Survey Methodology 24 (1998) 193–201.
    """
    if not trials >= 1 or not df > 0 or not variance >= 0:
        raise ValueError(f"need trials >= 1, df > 0 and variance >= 0, got {trials!r}, {df!r}, {variance!r}")
    n = trials if variance == 0 or p * (1 - p) == 0 else min(trials, p * (1 - p) / variance)
    z = float(norm.ppf(0.5 + level / 2))
    if math.isfinite(df):
        n *= (z / float(student_t.ppf(0.5 + level / 2, df))) ** 2
    return wilson(p, n, level)


def clustered_mean_ci(values, trials_each: int, *, low: float = 0.0, high: float = 1.0,
                      level: float = 0.95) -> tuple[float, float, float] | None:
    """Mean of per-cluster values on ``[low, high]`` (proportions, or differences of proportions with
    ``low = -1``), each measured on ``trials_each`` trials, and its :func:`effective_wilson` interval (mapped
    to the unit interval and back). None for fewer than two clusters: one cluster gives no interval."""
    v = np.asarray(values, float)
    if v.size < 2:
        return None
    width = high - low
    u = (v - low) / width
    if u.min() < -1e-12 or u.max() > 1 + 1e-12:
        raise ValueError(f"values must lie in [{low:g}, {high:g}]")
    m = float(np.clip(u.mean(), 0.0, 1.0))
    lo, hi = effective_wilson(m, float(u.var(ddof=1)) / v.size, v.size * trials_each, v.size - 1, level)
    return float(v.mean()), low + width * lo, low + width * hi
