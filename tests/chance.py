"""False-failure chances of statistical assertions on seeded training (issue 23).

Seeded training gives other numbers on other machines (CPU kernels change the order of float sums, and
training amplifies the difference), so a test of a trained model asserts what holds with high probability
over that variation, and states the chance that it fails on a correct implementation — below
:data:`FALSE_FAILURE`. The rates plugged in come from many seeds (a seed stands for a machine: both change
the trajectory of training), taken at the pessimistic end of their 95% intervals; each test names them.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom

#: The largest chance of a false failure a test may carry.
FALSE_FAILURE = 1e-4


def below(n: int, k: int, p: float) -> float:
    """P(Binomial(n, p) < k): the chance that fewer than ``k`` of ``n`` trials succeed at rate ``p``."""
    return float(binom.cdf(k - 1, n, p))


def difference_above(n: int, p_a: float, p_b: float, t: int) -> float:
    """P(A − B > t) for independent A ~ Binomial(n, p_a), B ~ Binomial(n, p_b)."""
    k = np.arange(n + 1)
    a, b = binom.pmf(k, n, p_a), binom.pmf(k, n, p_b)
    return float(sum(a[i] * b[: max(0, min(n + 1, i - t))].sum() for i in k))


def hoeffding_below(n: int, mean: float, threshold: float) -> float:
    """Hoeffding's bound on P(mean of n independent [0, 1] values < threshold) when their expectation is at
    least ``mean`` (> threshold)."""
    return math.exp(-2 * n * (mean - threshold) ** 2)
