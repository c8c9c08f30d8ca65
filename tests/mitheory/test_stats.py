"""Clopper–Pearson intervals: the quantile routine changed (scipy.special.betaincinv instead of
scipy.stats.beta.ppf, for start-up time); the intervals must not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import beta

from mitheory.stats import clopper_pearson


def _reference(k, n, alpha):
    """The interval as scipy.stats writes it: Beta quantiles, 0 at k = 0 and 1 at k = n."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    return low, high


@given(n=st.integers(1, 10**9), frac=st.floats(0, 1), alpha=st.sampled_from([0.05, 0.01, 0.1, 1e-4, 0.5]))
def test_interval_equals_the_scipy_stats_beta_quantiles_exactly(n, frac, alpha):
    k = min(n, int(frac * (n + 1)))
    low, high = clopper_pearson(k, n, alpha)
    ref_low, ref_high = _reference(k, n, alpha)
    assert (low, high) == (float(ref_low), float(ref_high))


def test_arrays_broadcast_and_equal_the_reference_at_the_ends():
    n = np.array([1, 1, 2, 10, 10, 10, 1000, 10**6])
    k = np.array([0, 1, 1, 0, 5, 10, 999, 3])
    low, high = clopper_pearson(k, n)
    ref_low, ref_high = _reference(k, n, 0.05)
    assert np.array_equal(low, ref_low) and np.array_equal(high, ref_high)
    assert low[0] == 0.0 and high[1] == 1.0 and high[5] == 1.0
    assert np.all((low <= k / n) & (k / n <= high))


@pytest.mark.parametrize("k, n, alpha", [(-1, 5, 0.05), (6, 5, 0.05), (0, 0, 0.05), (1, 5, 0.0), (1, 5, 1.0)])
def test_bad_input_is_refused(k, n, alpha):
    with pytest.raises(ValueError):
        clopper_pearson(k, n, alpha)
