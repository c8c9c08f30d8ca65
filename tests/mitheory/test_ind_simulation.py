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


@pytest.mark.parametrize("n, theta", [(100, 0.75), (3, 0.5), (5000, 0.2), (20_000, 0.01)])
def test_alias_lookup_cells_answer_as_the_alias_coin(n, theta):
    """Every cell of the sampler's lookup table answers what the alias coin answers for each double of the
    cell, or is marked -1 when those answers differ; the coin's thresholds are exact (rationals)."""
    prob, alias = mechanisms._binomial_alias(n, theta)
    cells, shift, scaled_threshold, _ = mechanisms._alias_tables(n, theta)
    grid = 1 << shift
    assert len(cells) == (n + 1) * grid <= mechanisms._ALIAS_CELLS and (n + 1) * grid * 2 > mechanisms._ALIAS_CELLS

    def coin(y: float) -> int:  # the definition: i = floor(y), keep i when y - i < prob[i]
        i = math.floor(y)
        return i if F(y) - i < F(prob[i]) else int(alias[i])

    for i, pr in enumerate(prob.tolist()):
        t = scaled_threshold[i] / grid
        assert F(t) < i + F(pr) <= F(math.nextafter(t, math.inf))
    mixed = np.flatnonzero(cells == -1)
    assert len(mixed) <= n + 1  # at most one threshold per unit
    checked = np.concatenate([mixed, mixed - 1, mixed + 1, np.random.default_rng(0).integers(0, len(cells), 3000)])
    for c in np.unique(checked.clip(0, len(cells) - 1)).tolist():
        first, last = c / grid, math.nextafter((c + 1) / grid, 0)  # the coin is monotone within a unit
        answers = {coin(first), coin(last)}
        assert (len(answers) == 2) == (cells[c] == -1) and (cells[c] == -1 or answers == {cells[c]})


@pytest.mark.parametrize("n, theta", [(100, 0.75), (3, 0.5), (5000, 0.2), (1, 0.5)])
def test_alias_answers_at_the_boundaries_equal_the_one_pass_coin(n, theta):
    """Uniforms placed on and beside every coin threshold and every unit boundary (a random uniform hits
    them with probability ~0): the same draws as the one-pass formula."""
    prob, alias = mechanisms._binomial_alias(n, theta)
    k = n + 1
    targets = [i + float(pr) for i, pr in enumerate(prob.tolist())] + list(range(k))
    u = []
    for y in targets:
        x = y / k
        for _ in range(4):
            x = math.nextafter(x, 0)
        for _ in range(9):
            if 0 <= x < 1:
                u.append(x)
            x = math.nextafter(x, 1)
    u = np.array(u)
    y = u * k
    i = y.astype(np.int32)
    want = np.where(y - i < prob[i], i, alias[i])
    tables = mechanisms._alias_tables(n, theta)
    got = mechanisms._alias_answers(u.copy(), n, tables, np.empty(len(u), np.int32), np.empty(len(u), np.int32))
    assert np.array_equal(got, want)
    _, shift, scaled_threshold, _ = tables
    assert np.any(y * (1 << shift) == scaled_threshold[i])  # some uniform lands exactly on a threshold


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
