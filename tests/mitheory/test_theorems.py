"""Tests of mitheory.theorems: Theorem 1 as printed (false) and corrected (true), Theorem 2's three bounds,
and the counterexample search — exact arithmetic throughout, hypothesis over random finite games."""

from __future__ import annotations

import itertools
from fractions import Fraction as F

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mitheory.adversaries import BayesAdversary, CallableAdversary
from mitheory.bounds import paper_bound, tight_bound
from mitheory.distributions import Event, FiniteDistribution, UniformDiagonal, agreement_event, disagreement_event
from mitheory.games import IndistinguishabilityGame, SemanticMIGame
from mitheory.mechanisms import (
    Constant,
    CountStatistic,
    ExtremalMechanism,
    GeometricCount,
    HistogramStatistic,
    LaplaceCount,
    Memorizer,
    RandomizedResponse,
    TabularMechanism,
)
from mitheory.theorems import check_theorem1, check_theorem2, find_theorem1_counterexample


def copy_y(models, x_ns, y):
    return np.asarray(y)


def bits(rho: F) -> FiniteDistribution:
    return FiniteDistribution({((), 0, 0): rho / 2, ((), 1, 1): rho / 2, ((), 1, 0): (1 - rho) / 2,
                               ((), 0, 1): (1 - rho) / 2})


# ----------------------------------------------------------------------------------------------------
# Theorem 1: the counterexamples of docs/theory.md §1.1 and §1.4, exactly


def test_printed_theorem1_fails_on_constant_model_counterexample():
    p = FiniteDistribution({((), 0, 0): F(1, 2), ((), 1, 1): F(1, 2)})
    chk = check_theorem1(SemanticMIGame(p, Constant(0), 4), CallableAdversary(copy_y))
    assert chk.printed_lhs == F(1, 2) and chk.printed_rhs == 0  # 1/2 > 0, both sides exact
    assert not chk.printed_holds and chk.violation == F(1, 2)
    assert chk.corrected_holds and chk.sharp_holds and chk.decomposition_holds
    assert chk.exact.corrected_advantage == 0


def test_gp_minus_gq_variant_is_false_but_delta_star_decomposition_holds():
    p = FiniteDistribution({((), 0, 0): F(1, 10), ((), 1, 1): F(9, 10)})  # X_s = Y ~ Bern(0.9)
    chk = check_theorem1(SemanticMIGame(p, Constant(0), 2), CallableAdversary(copy_y))
    assert chk.printed_lhs == F(18, 100)
    assert chk.naive_bound == F(1, 10) and not chk.naive_holds  # 0.18 > 0.10
    assert chk.exact.delta_star == F(18, 100) == p.tv_decorrelated() and chk.decomposition_holds


def _all_table_attackers(models, labels, answers=None):
    """Every deterministic attacker A(f, y) on finite models (no x_ns) answering in ``answers``."""
    cells = [(f, y) for f in models for y in labels]
    for guesses in itertools.product(answers or labels, repeat=len(cells)):
        table = dict(zip(cells, guesses))

        def attack(m, x_ns, y, t=table):
            return np.array([t[(int(a), int(b))] for a, b in zip(m, y)])

        yield CallableAdversary(attack)


def test_bruteforce_over_all_attackers_matches_closed_forms():
    # RR on n = 2 records: two models, two labels -> 16 deterministic attackers with answers in V = {0, 1}
    mech = RandomizedResponse(exp_epsilon=2, statistic=CountStatistic(agreement_event()))
    game = SemanticMIGame(bits(F(3, 4)), mech, 2)
    results = [game.exact(a) for a in _all_table_attackers([0, 1], [0, 1])]
    e0 = results[0]
    assert max(r.gain for r in results) == e0.best_gain == F(3, 4)  # lemma: the model is useless if p is known
    assert max(r.baseline for r in results) == e0.best_baseline
    assert max(r.advantage for r in results) == e0.sup_advantage  # exact sup of Adv^SEM (§1.4)
    assert max(r.corrected_advantage for r in results) == e0.sup_corrected_advantage  # sharp Theorem 1'
    # with a third, impossible answer (always wrong) allowed: 81 attackers
    wide = [game.exact(a) for a in _all_table_attackers([0, 1], [0, 1], [0, 1, 2])]
    assert max(r.advantage for r in wide) == e0.sup_advantage_any >= e0.sup_advantage


def test_sharp_theorem1_prime_is_attained_by_bayes_antibayes_attacker():
    p = FiniteDistribution({((), 0, 0): F(2, 5), ((), 1, 1): F(1, 5), ((), 1, 0): F(1, 10), ((), 0, 1): F(3, 10)})
    mech = GeometricCount(exp_epsilon=3, statistic=CountStatistic(agreement_event()))
    game = SemanticMIGame(p, mech, 3)
    pp, pq = game.ind.output_laws()
    bayes = {0: 0, 1: 0}  # argmax_v p(x_s = v | y): y=0 -> 0 (2/5 vs 1/10), y=1 -> 0 (3/10 vs 1/5)
    anti = {0: 1, 1: 1}

    def attack(m, x_ns, y):
        return np.array([(bayes if pp.get(int(f), 0) > pq.get(int(f), 0) else anti)[int(b)] for f, b in zip(m, y)])

    e = game.exact(CallableAdversary(attack))
    assert e.corrected_advantage == e.sup_corrected_advantage == (e.best_gain - e.worst_gain) * e.tv_models > 0


# ----------------------------------------------------------------------------------------------------
# hypothesis: random finite games


def _member_event(cells: frozenset) -> Event:
    def pred(x_ns, x_s, y):
        return np.array([(int(a[0]), int(s), int(b)) in cells for a, s, b in zip(x_ns, x_s, y)], dtype=bool)

    return Event(pred, f"member of {sorted(cells)}")


@st.composite
def finite_games(draw, dp_only: bool = False):
    k = draw(st.integers(2, 3))
    n_ns = draw(st.integers(1, 2))
    cells = [(a, s, y) for a in range(n_ns) for s in range(k) for y in range(k)]
    w = draw(st.lists(st.integers(0, 4), min_size=len(cells), max_size=len(cells)).filter(lambda v: sum(v) > 0))
    p = FiniteDistribution({((a,), s, y): F(wi, sum(w)) for (a, s, y), wi in zip(cells, w) if wi})
    n = draw(st.integers(1, 3))
    chosen = frozenset(c for c, keep in zip(cells, draw(st.lists(st.booleans(), min_size=len(cells),
                                                                     max_size=len(cells)))) if keep)
    stat = CountStatistic(_member_event(chosen))
    kinds = ["rr", "geometric", "laplace", "extremal"] if dp_only else ["constant", "tabular", "rr", "geometric",
                                                                        "memorizer"]
    kind = draw(st.sampled_from(kinds))
    ee = draw(st.sampled_from([F(11, 10), F(3, 2), F(2), F(5)]))
    if kind == "constant":
        mech = Constant(0)
    elif kind == "tabular":
        rows = draw(st.lists(st.lists(st.integers(0, 3), min_size=3, max_size=3).filter(lambda r: sum(r) > 0),
                             min_size=n + 1, max_size=n + 1))
        table = {c: {o: F(v, sum(r)) for o, v in enumerate(r)} for c, r in enumerate(rows)}
        mech = TabularMechanism(stat, table)
    elif kind == "rr":
        mech = RandomizedResponse(exp_epsilon=ee, statistic=stat)
    elif kind == "geometric":
        mech = GeometricCount(exp_epsilon=ee, statistic=stat)
    elif kind == "laplace":
        mech = LaplaceCount(draw(st.sampled_from([0.1, 0.5, 1.0, 2.0])), stat)
    elif kind == "extremal":
        mech = ExtremalMechanism(draw(st.sampled_from([0.2, 0.7, 1.5])), draw(st.sampled_from([0, 0.01, 0.1])), stat)
    else:
        mech = Memorizer(stat)
    tau = draw(st.sampled_from([None, "parity"]))
    tau_fn = None if tau is None else (lambda s: np.asarray(s) % 2)
    guesses = draw(st.lists(st.integers(0, k - 1), min_size=5 * n_ns * k, max_size=5 * n_ns * k))

    def attack(m, x_ns, y):
        return np.array([guesses[(int(f) % 5) * n_ns * k + int(a[0]) * k + int(b)] for f, a, b in zip(m, x_ns, y)])

    return SemanticMIGame(p, mech, n, tau_fn), CallableAdversary(attack)


@settings(max_examples=250)
@given(finite_games())
def test_corrected_theorem1_sharp_form_and_decomposition_always_hold(game_attack):
    game, attack = game_attack
    chk = check_theorem1(game, attack)
    e = chk.exact
    assert chk.corrected_holds and chk.sharp_holds and chk.decomposition_holds
    assert e.advantage == e.corrected_advantage + e.delta
    assert e.gain <= e.best_gain and e.baseline <= e.best_baseline
    assert e.advantage <= e.best_gain - e.baseline  # Adv^SEM ≤ best gain − baseline
    assert e.advantage <= (e.sup_advantage if e.answers_in_range else e.sup_advantage_any)
    assert e.delta_star <= game.distribution.tv_decorrelated()
    assert e.best_gain - e.best_baseline <= e.delta_star
    bayes = BayesAdversary(game.distribution, game.tau)
    assert game.exact(bayes).gain == e.best_gain  # Eq. 7 is attained, whatever the mechanism


@settings(max_examples=120)
@given(finite_games(dp_only=True))
def test_theorem2_paper_tight_and_refined_bounds_always_hold_for_dp_mechanisms(game_attack):
    game, _ = game_attack
    chk = check_theorem2(game, digits=30)
    assert chk.paper_holds and chk.tight_holds and chk.refined_holds and chk.holds
    with mpmath.workdps(40):
        assert chk.refined.gain <= chk.tight.gain + mpmath.mpf(10) ** -25
        assert chk.tight.gain <= chk.paper.gain + mpmath.mpf(10) ** -25


@settings(max_examples=120)
@given(st.floats(0.05, 3.0), st.sampled_from([0.0, 1e-4, 0.01, 0.05, 0.2]), st.integers(1, 14))
def test_extremal_mechanism_max_gain_equals_tight_bound(eps, delta, n):
    ind = IndistinguishabilityGame(UniformDiagonal(), ExtremalMechanism(eps, delta, CountStatistic(
        disagreement_event())), n)
    mg = ind.exact(digits=30).max_gain
    tb = tight_bound(eps, n, delta, digits=30)
    assert abs(mg - tb.gain) < 1e-12
    pb = paper_bound(eps, n, delta, digits=30)
    if n >= 2 and tb.gain < 1:
        assert pb.gain > mg  # the paper's bound is strictly loose (docs/theory.md §3.4)


# ----------------------------------------------------------------------------------------------------
# Theorem 2 edge cases and the counterexample search


def test_theorem2_constant_and_memorizer_edges():
    p = bits(F(3, 4))
    const = check_theorem2(IndistinguishabilityGame(p, Constant(0), 5))
    assert const.max_gain == F(1, 2) and const.holds and const.paper.gain == F(1, 2)
    memo = check_theorem2(IndistinguishabilityGame(p, Memorizer(CountStatistic(agreement_event())), 5))
    assert memo.paper.vacuous and memo.holds and memo.max_gain < 1


def test_theorem2_refined_bound_is_distribution_dependent_and_below_tight():
    game = IndistinguishabilityGame(bits(F(13, 20)), GeometricCount(0.1, CountStatistic(agreement_event())), 50)
    chk = check_theorem2(game)
    assert chk.tv_pq == F(3, 20)
    assert chk.max_gain < chk.refined.gain < chk.tight.gain < chk.paper.gain
    assert chk.paper_strictly_loose


def test_theorem2_rejects_wrong_game_type():
    with pytest.raises(ValueError, match="game"):
        check_theorem2("not a game")
    with pytest.raises(ValueError, match="SemanticMIGame"):
        check_theorem1(IndistinguishabilityGame(bits(F(1, 2)), Constant(0), 2), CallableAdversary(copy_y))


def test_counterexample_search_finds_a_smallest_exact_violation():
    found = find_theorem1_counterexample(max_n=2, trials=120, seed=0)
    assert found is not None
    assert not found.check.printed_holds and found.check.violation > 0
    assert found.check.corrected_holds and found.check.decomposition_holds
    assert found.size[0] == 1  # one training record suffices
    again = find_theorem1_counterexample(max_n=2, trials=120, seed=0)
    assert again.description == found.description  # seeded, reproducible
    with pytest.raises(ValueError, match="max_n"):
        find_theorem1_counterexample(max_n=0)


def test_a_false_declaration_is_reported_as_such_not_as_a_failure_of_theorem2():
    # the extremal mechanism attains acc*_n at its true (eps, delta): the claim (eps/2, delta) is false
    ind = IndistinguishabilityGame(UniformDiagonal(), ExtremalMechanism(F(1, 2), F(1, 100), CountStatistic(
        disagreement_event())), 6)
    honest = check_theorem2(ind, digits=30)
    assert honest.holds is True and honest.tight_holds is True and honest.declared_holds is True
    assert abs(honest.max_gain - honest.tight.gain) < 1e-25  # attained at the true guarantee
    chk = check_theorem2(ind, eps=F(1, 4), delta=F(1, 100), digits=30)
    assert chk.declared_holds is False and chk.holds is True
    # delta(1/4) of f_{1/2, 1/100}: 1 - 0.99 (1 + e^{1/4}) / (1 + e^{1/2})
    with mpmath.workdps(40):
        expected = 1 - mpmath.mpf(99) / 100 * (1 + mpmath.exp(mpmath.mpf(1) / 4)) / (1 + mpmath.exp(mpmath.mpf(1) / 2))
        assert abs(chk.privacy.exact_delta - expected) < 1e-25 and chk.delta == chk.privacy.exact_delta
    # a memorizer declared (0.1, 0)-DP: "declared eps is false", and Theorem 2 is not blamed
    lying = TabularMechanism(CountStatistic(agreement_event()), lambda c, n: {c: F(1)}, epsilon=0.1)
    chk = check_theorem2(IndistinguishabilityGame(bits(F(9, 10)), lying, 8), digits=30)
    assert chk.declared_holds is False and chk.holds is True
    assert chk.privacy.exact_eps == mpmath.inf and chk.privacy.exact_delta == 1
    text = chk.summary()
    assert "is FALSE" in text and "not Theorem 2" in text and "FAILS" not in text
    # an understated tabular mechanism: the bounds then use its exact eps (log 2), and hold
    flip = TabularMechanism(CountStatistic(agreement_event()),
                            lambda c, n: {0: F(2, 3), 1: F(1, 3)} if c % 2 else {0: F(1, 3), 1: F(2, 3)}, epsilon=0.5)
    chk = check_theorem2(IndistinguishabilityGame(bits(F(9, 10)), flip, 5), digits=30)
    with mpmath.workdps(40):
        assert chk.declared_holds is False and abs(chk.eps - mpmath.log(2)) < 1e-25 and chk.delta == 0 and chk.holds


def test_the_reference_mechanisms_have_exactly_their_declared_privacy():
    stat = CountStatistic(agreement_event())
    p = bits(F(3, 4))
    for mech in (RandomizedResponse(exp_epsilon=F(3), statistic=stat), GeometricCount(exp_epsilon=F(3), statistic=stat),
                 GeometricCount(0.7, stat), LaplaceCount(0.7, stat), RandomizedResponse(0.7, stat)):
        game = IndistinguishabilityGame(p, mech, 6)
        chk = game.check_privacy(digits=40)
        with mpmath.workdps(40):
            assert chk.holds is True and abs(chk.exact_eps - mech.epsilon_exact()) < 1e-30, mech
        assert game.check_privacy(eps=mech.epsilon * 0.99, delta=0, digits=40).holds is False  # tight
    assert IndistinguishabilityGame(p, Constant(0), 4).check_privacy().exact_eps == 0
    memo = IndistinguishabilityGame(p, Memorizer(stat), 4).check_privacy(eps=5, delta=F(1, 2))
    assert memo.holds is False and memo.exact_delta == 1
    # a histogram mechanism: releasing only whether the histogram is "all in one record" (not DP for n >= 1)
    q = p.decorrelated()
    hist = HistogramStatistic(q.records)
    lump = TabularMechanism(hist, lambda h, n: {int(max(h) == n): F(1)}, epsilon=1.0)
    chk = IndistinguishabilityGame(p, lump, 3).check_privacy()
    assert chk.holds is False and chk.exact_eps == mpmath.inf and "histogram" in chk.witness


def test_a_count_the_domain_cannot_move_makes_any_kernel_private():
    # every record of the domain lies in the event: c(S) = n always, so no two neighbours differ in c
    p = bits(F(3, 4))
    everything = Event(lambda x_ns, x_s, y: np.ones(len(x_s), bool), "all")
    memo = Memorizer(CountStatistic(everything))
    assert IndistinguishabilityGame(p, memo, 4).check_privacy(eps=0.01, delta=0).holds is True
