"""Tests of mitheory.distributions/mechanisms/adversaries/games: exact values by hand, simulation vs exact,
the extremal mechanism, γ, real-table distributions and the CLI."""

from __future__ import annotations

import csv
import itertools
import json
import math
import subprocess
import sys
from fractions import Fraction as F

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mitheory.adversaries import (
    CallableAdversary,
    PluginAdversary,
    RegionGuessAdversary,
    ThresholdAdversary,
)
from mitheory.bounds import paper_bound, tight_bound
from mitheory.distributions import (
    Event,
    FiniteDistribution,
    UniformDiagonal,
    agreement_event,
    disagreement_event,
    empirical_distribution,
)
from mitheory.games import IndistinguishabilityGame, SemanticMIGame, gamma_exact, gamma_simulate
from mitheory.games_cli import main
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
    extremal_g,
    extremal_ginv,
    extremal_sample,
)

AGREE = CountStatistic(agreement_event())


def bits(rho: F = F(3, 4)) -> FiniteDistribution:
    """Y a uniform bit, X_s = Y with probability rho."""
    return FiniteDistribution({((), 0, 0): rho / 2, ((), 1, 1): rho / 2, ((), 1, 0): (1 - rho) / 2,
                               ((), 0, 1): (1 - rho) / 2})


def copy_y(models, x_ns, y):
    return np.asarray(y)


# ----------------------------------------------------------------------------------------------------
# distributions


def test_decorrelated_product_is_exact_product_of_marginals():
    p = FiniteDistribution({((7,), 0, 0): F(1, 10), ((7,), 1, 1): F(9, 10)})
    q = p.decorrelated()
    law = dict(zip(q.records, q.probs))
    assert law == {((7,), 0, 0): F(1, 100), ((7,), 1, 0): F(9, 100), ((7,), 0, 1): F(9, 100),
                   ((7,), 1, 1): F(81, 100)}
    assert p.marginal_s() == {0: F(1, 10), 1: F(9, 10)}
    assert p.tv_decorrelated() == F(18, 100)  # docs/theory.md §1.4: Δ* = TV(p, q) = 0.18 here


def test_float_probabilities_become_their_decimal_fractions():
    p = FiniteDistribution([((), 0, 0), ((), 1, 1)], [0.1, 0.9])
    assert p.probs == [F(1, 10), F(9, 10)]


@pytest.mark.parametrize(
    "table, probs, match",
    [
        ({((), 0, 0): F(1, 2)}, None, "sum to 1"),
        ({((), 0, 0): F(3, 2), ((), 1, 1): F(-1, 2)}, None, "non-negative"),
        ([((), 0)], [1], "tuple"),
        ([((), 0, 0)], [F(1, 2), F(1, 2)], "entries"),
        ({}, None, "at least one"),
        ({((1,), 0, 0): F(1, 2), ((1, 2), 1, 1): F(1, 2)}, None, "same length"),
    ],
)
def test_finite_distribution_rejects_bad_input(table, probs, match):
    with pytest.raises(ValueError, match=match):
        FiniteDistribution(table, probs)


def _steak_rows(data_home):
    with open(data_home / "fivethirtyeight" / "steak-risk-survey.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[2:]  # header, respondents (row 1 is a sub-header)


def test_empirical_distribution_from_real_table_array_and_dataframe_agree(data_home):
    header, rows = _steak_rows(data_home)
    arr = np.array(rows, dtype=object)
    # x_s: infidelity (col 7), y: steak preparation (col 9), x_ns: gambling (col 4)
    p = empirical_distribution(arr, sensitive=7, target=9, nonsensitive=[4])
    complete = [r for r in rows if r[7] and r[9] and r[4]]
    assert sum(p.probs) == 1 and all(pr.denominator == len(complete) or len(complete) % pr.denominator == 0
                                     for pr in p.probs)
    assert p.marginal_s() == {v: F(sum(r[7] == v for r in complete), len(complete)) for v in ("Yes", "No")}
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(rows, columns=header)
    p2 = empirical_distribution(df, sensitive=header[7], target=header[9], nonsensitive=[header[4]])
    assert dict(zip(p2.records, p2.probs)) == dict(zip(p.records, p.probs))
    with pytest.raises(ValueError, match="not found"):
        empirical_distribution(df, sensitive="nope", target=header[9])


def test_games_over_a_real_table_exact_and_simulated_agree(data_home):
    _, rows = _steak_rows(data_home)
    p = empirical_distribution(np.array(rows, dtype=object), sensitive=7, target=9, nonsensitive=[10])
    q = p.decorrelated()
    assert sum(q.probs) == 1 and q.marginal_s() == p.marginal_s()
    cheat_rare = Event(lambda x_ns, x_s, y: (x_s == "Yes") & (y == "Rare"), "cheated & rare")
    mech = GeometricCount(exp_epsilon=3, statistic=CountStatistic(cheat_rare))
    ind = IndistinguishabilityGame(p, mech, 40)
    ex = ind.exact()
    assert isinstance(ex.max_gain, F)  # everything rational: exact fractions
    sim = ind.simulate(rounds=200_000, rng=np.random.default_rng(3))
    assert sim.contains(ex.max_gain)
    game = SemanticMIGame(p, mech, 40)
    bayes = game.bayes_adversary()
    sem = game.exact(bayes)
    assert sem.gain == sem.best_gain == sem.gain_q_train  # Eq. 7, independent of the model
    assert game.simulate(bayes, 200_000, np.random.default_rng(4)).contains(sem.gain)


# ----------------------------------------------------------------------------------------------------
# exact values computed by hand


def test_counterexample_exact_values():
    p = FiniteDistribution({((), 0, 0): F(1, 2), ((), 1, 1): F(1, 2)})
    e = SemanticMIGame(p, Constant(0), 3).exact(CallableAdversary(copy_y))
    assert (e.gain, e.baseline, e.advantage) == (1, F(1, 2), F(1, 2))
    assert (e.gain_q_train, e.corrected_advantage, e.delta) == (1, 0, F(1, 2))
    assert (e.best_gain, e.best_baseline, e.worst_gain, e.delta_star, e.tv_models) == (1, F(1, 2), 0, F(1, 2), 0)
    assert e.sup_advantage == F(1, 2)


def test_randomized_response_by_hand():
    # n = 1: the bit is c; keep w.p. 3/4 (e^eps = 3). P_p(1) = 3/4·3/4 + 1/4·1/4 = 5/8, P_q(1) = 1/2.
    ind = IndistinguishabilityGame(bits(), RandomizedResponse(exp_epsilon=3, statistic=AGREE), 1)
    pp, pq = ind.output_laws()
    assert pp == {1: F(5, 8), 0: F(3, 8)} and pq == {1: F(1, 2), 0: F(1, 2)}
    ex = ind.exact(CallableAdversary(lambda f: 1 - np.asarray(f)))
    assert ex.max_gain == F(9, 16) and ex.tv == F(1, 8)
    assert ex.gain == F(9, 16)  # "b' = 1 iff bit = 0" is the likelihood-ratio test here


def test_memorizer_count_by_hand():
    # c ~ Bin(2, 3/4) = (1, 6, 9)/16 versus Bin(2, 1/2) = (4, 8, 4)/16: TV = 10/32
    ex = IndistinguishabilityGame(bits(), Memorizer(AGREE), 2).exact()
    assert ex.tv == F(5, 16) and ex.max_gain == F(21, 32)


def test_geometric_count_by_hand():
    # n = 1, a = e^-eps = 1/2: K(x=1 | c=0) = 1/3, K(x=1 | c=1) = 2/3 -> P_p(1) = 7/12, P_q(1) = 1/2
    ind = IndistinguishabilityGame(bits(), GeometricCount(exp_epsilon=2, statistic=AGREE), 1)
    pp, _ = ind.output_laws()
    assert pp == {0: F(5, 12), 1: F(7, 12)}
    assert ind.exact().max_gain == F(13, 24)


def test_semantic_game_randomized_response_by_hand():
    # A(f, y) = y if f = 1 else 1 - y;  n = 1, keep prob 3/4, X_s = Y w.p. 3/4
    def attack(models, x_ns, y):
        return np.where(np.asarray(models) == 1, y, 1 - np.asarray(y))

    game = SemanticMIGame(bits(), RandomizedResponse(exp_epsilon=3, statistic=AGREE), 1)
    e = game.exact(CallableAdversary(attack))
    # under p: P(f=1) = 5/8 -> gain = 5/8·3/4 + 3/8·1/4 = 18/32; under q the guess is right w.p. 1/2
    assert e.gain == F(9, 16) and e.baseline == F(1, 2) and e.gain_q_train == F(1, 2)
    assert e.advantage == e.corrected_advantage == F(1, 16)
    assert e.best_gain == F(3, 4) and e.delta_star == F(1, 4)


# ----------------------------------------------------------------------------------------------------
# simulation agrees with exact


DP_MECHANISMS = [
    RandomizedResponse(0.8, AGREE),
    GeometricCount(0.7, AGREE),
    LaplaceCount(0.5, AGREE),
    ExtremalMechanism(0.6, 0.02, AGREE),
    Memorizer(AGREE),
]


@pytest.mark.parametrize("mech", DP_MECHANISMS, ids=lambda m: type(m).__name__)
def test_ind_simulation_contains_exact_optimum(mech):
    ind = IndistinguishabilityGame(bits(F(2, 3)), mech, 7)
    adv = ind.optimal_adversary()
    ex = ind.exact(adv)
    assert abs(float(ex.gain) - float(ex.max_gain)) < 1e-12  # the LR adversary attains max gain^IND
    sim = ind.simulate(adv, 300_000, np.random.default_rng(11), alpha=0.001)
    assert sim.contains(ex.max_gain), (sim, float(ex.max_gain))


def test_threshold_adversary_exact_and_simulated_on_laplace():
    ind = IndistinguishabilityGame(bits(), LaplaceCount(1.0, AGREE), 20)
    adv = ThresholdAdversary(14.0, above=False)  # say "q" when the count looks small
    ex = ind.exact(adv)
    assert 0.5 < ex.gain < ex.max_gain
    assert ind.simulate(adv, 300_000, np.random.default_rng(5), alpha=0.001).contains(ex.gain)


def test_simulation_is_reproducible_and_independent_of_workers():
    ind = IndistinguishabilityGame(bits(), LaplaceCount(1.0, AGREE), 30)
    adv = ind.optimal_adversary()
    a = ind.simulate(adv, 5_000_000, np.random.default_rng(9))
    b = ind.simulate(adv, 5_000_000, np.random.default_rng(9), workers=2)
    assert a == b


@pytest.mark.parametrize("train, challenge", [("p", "p"), ("q", "q"), ("q", "p")])
def test_semantic_simulation_contains_exact(train, challenge):
    def attack(models, x_ns, y):
        return np.where(np.asarray(models) > 3, y, 1 - np.asarray(y))

    game = SemanticMIGame(bits(F(4, 5)), GeometricCount(0.9, AGREE), 6)
    adv = CallableAdversary(attack)
    e = game.exact(adv)
    want = {("p", "p"): e.gain, ("q", "q"): e.baseline, ("q", "p"): e.gain_q_train}[(train, challenge)]
    sim = game.simulate(adv, 300_000, np.random.default_rng(2), train=train, challenge=challenge, alpha=0.001)
    assert sim.contains(want)


def test_plugin_adversary_on_memorizer_exact_and_simulated():
    p = bits()
    stat = HistogramStatistic(p.decorrelated().records)
    game = SemanticMIGame(p, Memorizer(stat), 5)
    adv = PluginAdversary(stat)
    e = game.exact(adv)
    assert e.baseline == F(1, 2)  # under q, τ is a fair coin independent of everything
    assert F(1, 2) < e.gain < e.best_gain == F(3, 4)
    assert game.simulate(adv, 200_000, np.random.default_rng(8), alpha=0.001).contains(e.gain)
    assert IndistinguishabilityGame(p, Memorizer(stat), 5).simulate(
        rounds=200_000, rng=np.random.default_rng(1), alpha=0.001).contains(game.ind.exact().max_gain)


def test_region_guess_adversary_makes_laplace_semantic_game_exact():
    n = 12
    adv = RegionGuessAdversary([n / 2], [lambda x_ns, y: 1 - np.asarray(y), lambda x_ns, y: np.asarray(y)])
    game = SemanticMIGame(bits(), LaplaceCount(0.8, AGREE), n)
    e = game.exact(adv)
    assert game.simulate(adv, 300_000, np.random.default_rng(6), alpha=0.001).contains(e.gain)
    assert abs(float(e.baseline) - 0.5) < 1e-40
    with pytest.raises(ValueError, match="RegionGuessAdversary"):
        game.exact(CallableAdversary(copy_y))


# ----------------------------------------------------------------------------------------------------
# continuous mechanisms: exact solutions against independent computations


def test_laplace_exact_tv_matches_numerical_integration():
    n, eps = 5, 0.7
    mech = LaplaceCount(eps, AGREE)
    wp = [math.comb(n, c) * F(3, 10) ** c * F(7, 10) ** (n - c) for c in range(n + 1)]
    wq = [math.comb(n, c) * F(3, 5) ** c * F(2, 5) ** (n - c) for c in range(n + 1)]
    with mpmath.workdps(30):
        sol = mech.ind_solution(wp, wq, n)

        def dens(w, x):
            return sum(mpmath.mpf(wc.numerator) / wc.denominator * eps / 2 * mpmath.exp(-eps * abs(x - c))
                       for c, wc in enumerate(w))

        pts = [-mpmath.inf, *range(n + 1), *[mpmath.mpf(b) for b in sol.breaks], mpmath.inf]
        num = mpmath.quad(lambda x: abs(dens(wp, x) - dens(wq, x)), sorted(set(pts))) / 2
        assert abs(sol.tv - num) < mpmath.mpf(10) ** -20


@pytest.mark.parametrize("eps, delta, n", [(1, 0, 10), (1, F(1, 20), 5), (F(1, 2), F(1, 100), 4), (2, 0, 1),
                                           (F(3, 10), F(1, 1000), 9)])
def test_extremal_attains_tight_bound_and_beats_paper(eps, delta, n):
    ind = IndistinguishabilityGame(UniformDiagonal(), ExtremalMechanism(eps, delta, CountStatistic(
        disagreement_event())), n)
    ex = ind.exact(digits=60)
    tb = tight_bound(eps, n, delta, digits=60)
    assert abs(ex.max_gain - tb.gain) < mpmath.mpf(10) ** -50
    if n >= 2:
        assert paper_bound(eps, n, delta).gain > ex.max_gain + 1e-6


def test_geometric_count_attains_pure_dp_tight_bound_when_p_perp_q():
    # docs/theory.md §3.5: two-sided geometric count with p ⊥ q has TV = τ_n(ε); exact at n in the hundreds
    for n in (1, 2, 7, 300):
        ind = IndistinguishabilityGame(UniformDiagonal(), GeometricCount(0.1, CountStatistic(disagreement_event())), n)
        ex = ind.exact(digits=40)
        assert abs(ex.max_gain - tight_bound(0.1, n, digits=40).gain) < mpmath.mpf(10) ** -35


def test_extremal_sampler_matches_iterated_inverse_and_cdf():
    eps, delta = 0.7, 0.03
    rng = np.random.default_rng(0)
    k = rng.integers(0, 9, 300)
    u = rng.random(300)
    fast = extremal_sample(k, u, eps, delta)
    for kk, uu, x in zip(k, u, fast):
        v = mpmath.mpf(uu)
        for _ in range(int(kk)):
            v = extremal_ginv(v, eps, delta)
        assert abs(float(v) - x) < 1e-9
    # CDF of g^{-5}(U) is g^5
    x = extremal_sample(np.full(200_000, 5), rng.random(200_000), eps, delta)
    for t in (0.0, 0.05, 0.2, 0.5):
        v = mpmath.mpf(t)
        for _ in range(5):
            v = extremal_g(v, eps, delta)
        assert abs((x <= t).mean() - float(v)) < 4e-3


def test_exact_scales_to_hundreds_of_records():
    ind = IndistinguishabilityGame(bits(F(11, 20)), LaplaceCount(0.05, AGREE), 400)
    ex = ind.exact(digits=30)
    assert 0.5 < ex.max_gain < 1
    sim = ind.simulate(rounds=200_000, rng=np.random.default_rng(0), alpha=0.001)
    assert sim.contains(ex.max_gain)


# ----------------------------------------------------------------------------------------------------
# γ of Eq. 11


def _gamma_bruteforce(p: FiniteDistribution, n: int) -> F:
    """Σ_{T⊆X} [Σ_{U⊆T} (−1)^{|T∖U|} p(U)^n]·(1 − q(T))^n  (docs/theory.md §6 cross-check)."""
    q = p.decorrelated()
    pl, ql = dict(zip(p.records, p.probs)), dict(zip(q.records, q.probs))
    recs = list(ql)
    total = F(0)
    for r in range(len(recs) + 1):
        for t in itertools.combinations(recs, r):
            inner = sum((-1) ** (len(t) - len(u)) * sum((pl.get(x, F(0)) for x in u), F(0)) ** n
                        for s in range(len(t) + 1) for u in itertools.combinations(t, s))
            total += inner * (1 - sum((ql[x] for x in t), F(0))) ** n
    return 1 - total


@settings(max_examples=25)
@given(st.lists(st.integers(1, 6), min_size=3, max_size=3), st.integers(1, 4))
def test_gamma_dp_equals_inclusion_exclusion(weights, n):
    tot = sum(weights)
    cells = [((), 0, 0), ((), 1, 1), ((), 1, 0)]
    p = FiniteDistribution({c: F(w, tot) for c, w in zip(cells, weights)})
    assert gamma_exact(p, n) == _gamma_bruteforce(p, n)


def _gamma_rational_dp(p: FiniteDistribution, n: int) -> F:
    """The dynamic program over the product of exponential generating functions, in Fractions."""
    q = p.decorrelated()
    pl = dict(zip(p.records, p.probs))
    fact = [math.factorial(i) for i in range(n + 1)]
    table = [[F(0)] * (n + 1) for _ in range(n + 1)]
    table[0][0] = F(1)
    for r, qx in zip(q.records, q.probs):
        px = pl.get(r, F(0))
        pa = [px**i / fact[i] for i in range(n + 1)]
        qb = [qx**i / fact[i] for i in range(n + 1)]
        table = [[sum((table[i - k][j] * pa[k] for k in range(i + 1)), F(0))
                  + sum((table[i][j - k] * qb[k] for k in range(1, j + 1)), F(0)) for j in range(n + 1)]
                 for i in range(n + 1)]
    return 1 - table[n][n] * fact[n] ** 2


@settings(max_examples=40)
@given(st.dictionaries(st.tuples(st.just(()), st.integers(0, 3), st.integers(0, 2)), st.integers(1, 9), min_size=1,
                       max_size=6), st.integers(1, 12))
def test_gamma_in_integers_equals_the_rational_dynamic_program(counts, n):
    total = sum(counts.values())
    p = FiniteDistribution({r: F(c, total) for r, c in counts.items()})
    assert gamma_exact(p, n) == _gamma_rational_dp(p, n)


def test_gamma_reference_values_and_simulation():
    for labels, n, want in [(10, 3, 0.0790506), (20, 5, 0.0552676)]:
        p = FiniteDistribution({((), v, v): F(1, labels) for v in range(labels)})
        g = gamma_exact(p, n)
        assert abs(float(g) - want) < 1e-7
    p = FiniteDistribution({((), v, v): F(1, 10) for v in range(10)})
    assert gamma_simulate(p, 3, 100_000, np.random.default_rng(0), alpha=0.001).contains(gamma_exact(p, 3))
    assert gamma_exact(UniformDiagonal(), 5) == 0


# ----------------------------------------------------------------------------------------------------
# bad input


def test_bad_inputs_raise_one_line_value_errors():
    p = bits()
    with pytest.raises(ValueError, match="n must be"):
        IndistinguishabilityGame(p, Constant(0), 0)
    with pytest.raises(ValueError, match="mechanism"):
        IndistinguishabilityGame(p, "laplace", 3)
    with pytest.raises(ValueError, match="rounds"):
        IndistinguishabilityGame(p, Constant(0), 3).simulate(rounds=0)
    with pytest.raises(ValueError, match="epsilon"):
        LaplaceCount(-1.0, AGREE)
    with pytest.raises(ValueError, match="delta"):
        ExtremalMechanism(1.0, 1.0, AGREE)
    with pytest.raises(ValueError, match="exp_epsilon"):
        GeometricCount(exp_epsilon=F(1, 2), statistic=AGREE)
    with pytest.raises(ValueError, match="FiniteDistribution"):
        SemanticMIGame(UniformDiagonal(), Constant(0), 2).exact(CallableAdversary(copy_y))
    with pytest.raises(ValueError, match="randomized"):
        SemanticMIGame(p, Constant(0), 2).exact(CallableAdversary(lambda f, a, y, r: y, randomized=True))
    with pytest.raises(ValueError, match="not in the histogram"):
        HistogramStatistic([((), 0, 0)]).categorize(p.support)
    with pytest.raises(ValueError, match="unknown"):
        UniformDiagonal().event_probability(Event(lambda a, s, y: s > 0.5, "x_s > 1/2"))
    with pytest.raises(ValueError, match="kernel"):
        TabularMechanism(AGREE, {0: {0: F(1, 2)}}).kernel(0, 1)


# ----------------------------------------------------------------------------------------------------
# CLI


def test_cli_list_and_counterexample(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("theorem1-counterexample", "randomized-response", "laplace-count", "extremal", "memorizer"):
        assert name in out
    assert main(["run", "theorem1-counterexample", "--rounds", "20000", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["theorem1_printed_holds"] is False and res["theorem1_corrected_holds"] is True
    assert res["semantic"]["adv_sem"] == 0.5 and res["semantic"]["rhs_2maxgain_minus_1"] == 0.0
    assert res["exact"] == 0.5 and res["theorem2_holds"] is True


def test_cli_extremal_json_keys(capsys):
    assert main(["run", "extremal", "--n", "10", "--eps", "1", "--rounds", "50000", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("scenario", "n", "eps", "delta", "exact", "estimate", "ci_low", "ci_high", "rounds",
                "paper_gain", "tight_gain", "theorem1_printed_holds", "theorem1_corrected_holds",
                "theorem2_holds"):
        assert key in res
    assert abs(res["exact"] - float(tight_bound(1, 10).gain)) < 1e-15 and res["exact"] < res["paper_gain"]
    assert res["ci_low"] <= res["exact"] <= res["ci_high"]


def test_module_entry_point_runs_and_mitheory_imports_no_torch_sklearn_pandas():
    # runs `python -m mitheory.games list` via runpy (the __main__ guard) and then inspects sys.modules
    code = (
        "import runpy, sys\n"
        "sys.argv = ['mitheory.games', 'list']\n"
        "try:\n"
        "    runpy.run_module('mitheory.games', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "import mitheory.theorems\n"
        "print('BAD', [m for m in ('torch', 'sklearn', 'pandas') if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "theorem1-counterexample" in proc.stdout
    assert "BAD []" in proc.stdout


# ----------------------------------------------------------------------------------------------------
# exact games at large n: the mpmath recurrence against the fraction law, and THEORY's equalities


@pytest.mark.parametrize("n", [1, 7, 60, 250])
def test_mpmath_law_equals_fraction_law_to_the_printed_digits(n):
    from mitheory.mechanisms import binomial_law, statistic_law

    p = bits(F(2, 3))
    exact = dict(statistic_law(AGREE, p, n))
    with mpmath.workdps(40 + 10):
        fast = binomial_law(F(2, 3), n)
        assert all(abs(fast[c] - mpmath.mpf(exact.get(c, 0).numerator) / exact.get(c, F(1)).denominator)
                   < mpmath.mpf(10) ** -45 for c in range(n + 1))
    for mech in (GeometricCount(exp_epsilon=F(3, 2), statistic=AGREE), LaplaceCount(0.3, AGREE),
                 RandomizedResponse(exp_epsilon=3, statistic=AGREE), GeometricCount(0.05, AGREE)):
        ind = IndistinguishabilityGame(p, mech, n)
        a = ind.exact(digits=40, arithmetic="fraction").max_gain
        b = ind.exact(digits=40, arithmetic="mpmath").max_gain
        with mpmath.workdps(60):
            a = mpmath.mpf(a.numerator) / a.denominator if isinstance(a, F) else a
            assert mpmath.nstr(a, 38) == mpmath.nstr(b, 38), (mech, n)
    game = SemanticMIGame(p, GeometricCount(0.2, AGREE), n)
    adv = CallableAdversary(lambda m, x_ns, y: np.where(np.asarray(m) > n / 2, y, 1 - np.asarray(y)))
    ea, eb = game.exact(adv, digits=30, arithmetic="fraction"), game.exact(adv, digits=30, arithmetic="mpmath")
    with mpmath.workdps(40):
        for field in ("gain", "baseline", "gain_q_train", "sup_advantage", "tv_models"):
            exact = getattr(ea, field)
            exact = mpmath.mpf(exact.numerator) / exact.denominator if isinstance(exact, F) else exact
            assert abs(exact - getattr(eb, field)) < mpmath.mpf(10) ** -28, field


def test_exact_games_at_n_ten_thousand_equal_the_tight_bound_where_theory_says():
    n = 10_000
    # geometric count with p ⊥ q: TV = τ_n(ε) exactly (docs/theory.md §3.5), here at n = 10^4
    ind = IndistinguishabilityGame(UniformDiagonal(), GeometricCount(0.0003, CountStatistic(disagreement_event())), n)
    assert abs(ind.exact(digits=40).max_gain - tight_bound(0.0003, n, digits=40).gain) < mpmath.mpf(10) ** -38
    # the Laplace count has TV = 1 − e^{−nε/2}: the tight value for even n, strictly below it for odd n
    for size in (n, n + 1):
        lap = IndistinguishabilityGame(UniformDiagonal(), LaplaceCount(0.0003, CountStatistic(disagreement_event())),
                                       size)
        tight, laplace = tight_bound(0.0003, size, digits=30).gain, lap.exact(digits=30).max_gain
        with mpmath.workdps(40):  # odd n: (TV* − TV_Lap)/2 = e^{−(n−1)ε/2}(e^{−ε/2} − 2/(1 + e^ε))/2 > 0
            gap, e = tight - laplace, mpmath.mpf(0.0003)
            want = 0 if size % 2 == 0 else mpmath.exp(-(size - 1) * e / 2) * (
                mpmath.exp(-e / 2) - 2 / (1 + mpmath.exp(e))) / 2
            assert abs(gap - want) < mpmath.mpf(10) ** -28
    # the extremal mechanism attains acc*_n with delta > 0
    ext = IndistinguishabilityGame(UniformDiagonal(), ExtremalMechanism(F(1, 1000), F(1, 10**6),
                                                                          CountStatistic(disagreement_event())), 2001)
    assert abs(ext.exact(digits=40).max_gain - tight_bound(F(1, 1000), 2001, F(1, 10**6), digits=40).gain) \
        < mpmath.mpf(10) ** -35


def test_exact_laplace_and_geometric_at_large_n_agree_with_simulation():
    n = 20_000
    for mech in (LaplaceCount(0.004, AGREE), GeometricCount(0.004, AGREE)):
        ind = IndistinguishabilityGame(bits(F(501, 1000)), mech, n)
        ex = ind.exact(digits=30)
        assert isinstance(ex.max_gain, mpmath.mpf) and 0.5 < ex.max_gain < 1
        sim = ind.simulate(rounds=400_000, rng=np.random.default_rng(7), alpha=0.001)
        assert sim.contains(ex.max_gain), (mech, sim, float(ex.max_gain))


def test_cli_help_is_plain_text_and_lists_scenarios_with_their_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ("theorem1-counterexample", "randomized-response", "geometric-count", "laplace-count", "extremal",
                 "memorizer"):
        assert name in out
    assert "extremal                 --n N --eps E --delta D" in out and "--n N (<= 40)" in out
    for markup in ("``", ":class:", ":func:", ".. math"):
        assert markup not in out


def test_imports_run_one_way_games_never_imports_scenarios_theorems_or_the_cli():
    code = ("import sys, mitheory.games, mitheory.bounds, mitheory.mechanisms, mitheory.adversaries; "
            "print(sorted(m for m in sys.modules if m in ('mitheory.theorems', 'mitheory.scenarios', "
            "'mitheory.games_cli', 'torch', 'sklearn', 'defenses', 'validation', 'paper_figs')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
