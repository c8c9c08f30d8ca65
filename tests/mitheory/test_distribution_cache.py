"""The decorrelated product and TV(p, q) are computed once per distribution and then reused (issue 24,
item 5); the cached values are exactly what the definitions give."""

from __future__ import annotations

from fractions import Fraction as F

import mpmath
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mitheory.distributions import FiniteDistribution, empirical_distribution


def product_by_definition(p: FiniteDistribution) -> FiniteDistribution:
    """q = p(X_s) × p(X_ns, Y) of Eq. 8 through the public constructor (its checks and normalisation)."""
    ms, mny = p.marginal_s(), p.marginal_ns_y()
    return FiniteDistribution({(ns, s, y): a * b for (ns, y), a in mny.items() for s, b in ms.items()})


def tv_by_definition(a: FiniteDistribution, b: FiniteDistribution):
    la, lb = dict(zip(a.records, a.probs)), dict(zip(b.records, b.probs))
    return sum(abs(la.get(r, 0) - lb.get(r, 0)) for r in set(la) | set(lb)) / 2


def assert_same(q: FiniteDistribution, ref: FiniteDistribution) -> None:
    assert q.records == ref.records and q.probs == ref.probs
    assert [type(v) for v in q.probs] == [type(v) for v in ref.probs]
    for name in ("weights", "_cum", "x_ns", "x_s", "y"):
        got, want = getattr(q, name), getattr(ref, name)
        assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want), name


tables = st.dictionaries(
    st.tuples(st.tuples(st.integers(0, 2)), st.integers(0, 3), st.sampled_from(["a", "b", "c"])),
    st.integers(1, 9), min_size=1, max_size=12)


@given(tables)
def test_decorrelated_product_equals_the_constructor_built_product(counts):
    total = sum(counts.values())
    p = FiniteDistribution({r: F(c, total) for r, c in counts.items()})
    q = p.decorrelated()
    assert_same(q, product_by_definition(p))
    assert p.tv_decorrelated() == tv_by_definition(p, q)


def test_real_table_product_and_tv_equal_their_definitions(data_home):
    import pandas as pd

    frame = pd.read_csv(data_home / "fivethirtyeight" / "steak-risk-survey.csv", skiprows=[1], dtype=str)
    cols = list(frame.columns)
    p = empirical_distribution(frame, sensitive=cols[7], target=cols[9], nonsensitive=[cols[4], cols[10]])
    q = p.decorrelated()
    assert_same(q, product_by_definition(p))
    assert p.tv_decorrelated() == tv_by_definition(p, q) and sum(q.probs) == 1


def test_product_and_tv_are_computed_once_and_reused(monkeypatch):
    p = FiniteDistribution({((), 0, 0): F(3, 8), ((), 1, 1): F(3, 8), ((), 1, 0): F(1, 8), ((), 0, 1): F(1, 8)})
    calls = []
    tv = FiniteDistribution.tv
    monkeypatch.setattr(FiniteDistribution, "tv", lambda self, other: calls.append(1) or tv(self, other))
    q = p.decorrelated()
    assert p.decorrelated() is q
    assert p.tv_decorrelated() == p.tv_decorrelated() == F(1, 4)
    assert len(calls) == 1


def test_mpf_probabilities_are_cached_per_precision():
    with mpmath.workdps(15):
        third = mpmath.mpf(1) / 3
        p = FiniteDistribution({((), 0, 0): third, ((), 1, 1): 1 - third})
        q15, tv15 = p.decorrelated(), p.tv_decorrelated()
        assert p.decorrelated() is q15
    with mpmath.workdps(60):
        q60, tv60 = p.decorrelated(), p.tv_decorrelated()
        assert q60 is not q15
        # the products and the TV are evaluated at 60 digits (of the same stored probabilities)
        assert q60.probs[0] == third * third and tv60 == tv_by_definition(p, product_by_definition(p))
        assert tv60 != tv15
    with mpmath.workdps(15):
        assert p.decorrelated() is q15 and p.tv_decorrelated() == tv15


def test_tv_between_a_rational_and_an_mpf_distribution():
    p = FiniteDistribution({((), 0, 0): F(1, 2), ((), 1, 1): F(1, 2)})
    r = FiniteDistribution({((), 0, 0): mpmath.mpf("0.25"), ((), 1, 0): mpmath.mpf("0.75")})
    assert p.tv(r) == r.tv(p) == mpmath.mpf("0.75")
