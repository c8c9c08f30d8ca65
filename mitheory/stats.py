"""Exact confidence intervals for Bernoulli proportions (used by the game simulators and validation)."""

from __future__ import annotations

import numpy as np


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
    # The Beta quantile is the inverse regularized incomplete beta function (the same Boost routine
    # behind scipy.stats.beta.ppf); scipy.special is imported here, not at module load, so that the
    # command lines that import this module start fast.
    from scipy.special import betaincinv

    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    k = np.asarray(successes)
    n = np.asarray(trials)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError("need 0 <= successes <= trials and trials >= 1")
    k = k.astype(float)
    n = n.astype(float)
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, betaincinv(k, n - k + 1, alpha / 2), 0.0)
        high = np.where(k < n, betaincinv(k + 1, n - k, 1 - alpha / 2), 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high
