"""The IND simulator walks each block piece by piece in reused buffers (issue 24, item 6): the same
random draws, in the same order, give the same numbers as the one-pass block it replaced."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

import mitheory.mechanisms as mechanisms
from mitheory.adversaries import CallableAdversary, RegionAdversary, ThresholdAdversary
from mitheory.distributions import FiniteDistribution, UniformDiagonal, agreement_event, disagreement_event
from mitheory.games import IndistinguishabilityGame
from mitheory.mechanisms import (
    Constant,
    CountStatistic,
    ExtremalMechanism,
    GeometricCount,
    LaplaceCount,
    Memorizer,
    RandomizedResponse,
    Scratch,
    sample_statistic,
)

AGREE = CountStatistic(agreement_event())
P = FiniteDistribution({((), 0, 0): F(3, 8), ((), 1, 1): F(3, 8), ((), 1, 0): F(1, 8), ((), 0, 1): F(1, 8)})


def one_pass_count(statistic, dist, n, rounds, rng):
    """The count's draws as one vectorized pass: one uniform u per draw, i = int(u·(n+1)), the alias coin
    u·(n+1) − i against prob[i] (the definition the pieces must reproduce)."""
    theta = float(dist.event_probability(statistic.event))
    if n > mechanisms._ALIAS_MAX_N or theta in (0.0, 1.0):
        return rng.binomial(n, theta, size=rounds)
    prob, alias = mechanisms._binomial_alias(n, theta)
    u = rng.random(rounds)
    u *= n + 1
    i = u.astype(np.int32)
    u -= i
    return np.where(u < prob[i], i, alias[i])


def one_pass_block(game, adversary, m, rng) -> int:
    """A block of the IND game in one pass: world sizes, statistics of p's then q's rounds, the mechanism's
    release of all of them, the adversary's decisions on all of them."""
    st = game.mechanism.statistic
    m1 = int(rng.binomial(m, 0.5))
    m0 = m - m1
    draw = one_pass_count if isinstance(st, CountStatistic) else sample_statistic
    stats = np.concatenate([draw(st, game.distribution, game.n, m0, rng), draw(st, game.q, game.n, m1, rng)])
    d = np.asarray(adversary.decide(game.mechanism.sample(stats, game.n, rng), rng)).reshape(-1)
    return int(np.count_nonzero(d[:m0] == 0)) + int(np.count_nonzero(d[m0:] == 1))


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of 1000 rounds: every block below crosses many piece boundaries and the p/q boundary."""
    monkeypatch.setattr(mechanisms, "PIECE", 1000)


@pytest.mark.parametrize("n, theta", [(100, 0.75), (100, 0.5), (7, 0.3), (1, 0.5), (20_000, 0.01), (1000, 0.999)])
def test_alias_draws_by_pieces_equal_the_one_pass_draws(n, theta, small_pieces):
    for seed, rounds in ((0, 1), (1, 999), (2, 1000), (3, 12_345)):
        want = one_pass_count(CountStatistic(agreement_event()), _law(theta), n, rounds, np.random.default_rng(seed))
        law = _law(theta)
        got = sample_statistic(CountStatistic(agreement_event()), law, n, rounds, np.random.default_rng(seed))
        assert np.array_equal(got, want) and got.dtype == want.dtype
        pieces = list(mechanisms.alias_pieces(n, float(law.event_probability(agreement_event())),
                                              np.random.default_rng(seed), rounds, Scratch(), out=np.empty(rounds, np.int32)))
        assert np.array_equal(np.concatenate(pieces), want) and max(map(len, pieces)) <= 1000


def _law(theta: float) -> FiniteDistribution:
    t = F(theta)
    return FiniteDistribution({((), 1, 1): t, ((), 0, 1): 1 - t})


@pytest.mark.parametrize("n, theta", [(100, 0.75), (3, 0.5), (5000, 0.2)])
def test_alias_thresholds_are_the_exact_coin_boundaries(n, theta):
    """y ≤ threshold[i] ⟺ y − i < prob[i] for every double y in [i, i+1): threshold[i] passes, the next
    double does not (exact rationals)."""
    prob, _ = mechanisms._binomial_alias(n, theta)
    threshold, outcome = mechanisms._alias_tables(n, theta)
    for i, (pr, t) in enumerate(zip(prob.tolist(), threshold.tolist())):
        bound = i + F(pr)
        assert F(t) < bound <= F(math.nextafter(t, math.inf))
    assert outcome.dtype == np.int32 and np.array_equal(outcome[1::2], np.arange(n + 1))


MECHANISMS = [LaplaceCount(1.0, AGREE), LaplaceCount(0.05, AGREE), GeometricCount(0.5, AGREE),
              RandomizedResponse(1.0, AGREE), Memorizer(AGREE), Constant(2)]


#: PCG64 (numpy's default) and PCG64DXSM skip the uniforms and read them from a copy; the others draw the
#: block's statistics whole first.
GENERATORS = {"pcg64": np.random.PCG64, "pcg64dxsm": np.random.PCG64DXSM, "mt19937": np.random.MT19937,
              "sfc64": np.random.SFC64}


@pytest.mark.parametrize("mechanism", MECHANISMS, ids=repr)
@pytest.mark.parametrize("n", [10, 30_000])
@pytest.mark.parametrize("bit_generator", GENERATORS.values(), ids=GENERATORS.keys())
def test_blocks_by_pieces_equal_the_one_pass_block(mechanism, n, bit_generator, small_pieces):
    game = IndistinguishabilityGame(P, mechanism, n)
    coin = CallableAdversary(lambda models, rng: rng.random(len(models)) < 0.4, randomized=True, name="coin")
    adversaries = [game.optimal_adversary(), coin]
    if isinstance(mechanism, LaplaceCount):
        adversaries.append(ThresholdAdversary(0.6 * n, above=False))
    for adversary in adversaries:
        for m, seed in ((1, 0), (2, 1), (5_000, 2), (20_001, 3)):
            reference, rng = np.random.Generator(bit_generator(seed)), np.random.Generator(bit_generator(seed))
            want = one_pass_block(game, adversary, m, reference)
            assert game._block(adversary, m, rng, Scratch()) == want, (adversary, m)
            # and the generator is left where the one pass leaves it
            assert np.array_equal(rng.integers(2**63, size=3), reference.integers(2**63, size=3))


def test_extremal_mechanism_blocks_equal_the_one_pass_block(small_pieces):
    game = IndistinguishabilityGame(UniformDiagonal(), ExtremalMechanism(0.5, 1e-3, CountStatistic(
        disagreement_event())), 40)
    adversary = game.optimal_adversary()
    for seed in range(3):
        want = one_pass_block(game, adversary, 7_777, np.random.default_rng(seed))
        assert game._block(adversary, 7_777, np.random.default_rng(seed), Scratch()) == want


def test_simulate_is_the_same_for_any_number_of_threads_and_reused_buffers(small_pieces, monkeypatch):
    monkeypatch.setattr("mitheory.games._BLOCK", 4096)  # 13 blocks, each thread reusing its buffers
    game = IndistinguishabilityGame(P, LaplaceCount(1.0, AGREE), 100)
    adversary = game.optimal_adversary()
    rounds = 13 * 4096 - 5
    gens = np.random.default_rng(9).spawn(13)
    want = sum(one_pass_block(game, adversary, min(4096, rounds - 4096 * b), g) for b, g in enumerate(gens))
    for workers in (1, 2, 3):
        assert game.simulate(adversary, rounds, np.random.default_rng(9), workers=workers).wins == want


@pytest.mark.parametrize("breaks, decisions", [([0.5], [0, 1]), ([0.5], [1, 0]), ([0.5], [1, 1]), ([0.5], [0, 0]),
                                               ([-1.0, 0.0, 2.5], [1, 0, 1, 0])])
def test_region_decisions_are_the_regions_answers(breaks, decisions):
    x = np.array([-np.inf, -1.0, -0.5, 0.0, 0.25, 0.5, np.nextafter(0.5, 1), 2.5, 3.0, np.inf, np.nan])
    d = RegionAdversary(breaks, decisions).decide(x)
    region = np.searchsorted(np.array(breaks), x, side="left")  # NaN sorts last: the last region
    want = np.array(decisions)[region]
    if len(breaks) == 1:
        want[-1] = decisions[0]  # a single comparison puts NaN below the break, as before
    assert d.tolist() == want.tolist() and set(d.tolist()) <= {0, 1}
