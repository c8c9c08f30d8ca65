"""Executable checks of Theorems 1 and 2 of the MID paper, as printed and as corrected (docs/theory.md §1, §6).

- :func:`check_theorem1` evaluates, exactly, both sides of Theorem 1 (Eq. 10) as printed,
  ``Adv^SEM(A*) ≤ 2·max_B gain^IND(B) − 1``; the corrected Theorem 1′ ``|Adv′(A*)| ≤ 2·max gain^IND − 1``
  and its sharp form ``Adv′ ≤ (G_p − L_p)(2·max gain^IND − 1)`` (§1.3); the decomposition
  ``Adv^SEM ≤ (2·max gain^IND − 1) + Δ*`` (§1.4); and, for the record, the false variant with
  ``G_p − G_q`` in place of ``Δ*``.
- :func:`check_theorem2` first checks the mechanism's declared ``(ε, δ)`` against its exact privacy
  (:mod:`mitheory.privacy`; a false declaration is reported as such, not as a failure of the theorem), then
  compares the exact ``max_A gain^IND`` with the paper's bound (Theorem 2), the tight f-DP bound ``acc*_n``
  (§3.3) and the distribution-dependent bound ``1/2 + ½·E_{K~Bin(n, TV(p,q))} TV*_K`` (§6).
- :func:`find_theorem1_counterexample` runs a seeded random search over small finite games and returns
  the smallest violation of the printed Theorem 1 that it finds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from mitheory.adversaries import CallableAdversary
from mitheory.bounds import GainBound, paper_bound, refined_bound, tight_bound
from mitheory.distributions import Event, FiniteDistribution
from mitheory.games import DEFAULT_DIGITS, IndistinguishabilityGame, SemanticExact, SemanticMIGame
from mitheory.mechanisms import Constant, CountStatistic, TabularMechanism
from mitheory.privacy import PrivacyCheck, check_declared_privacy

__all__ = [
    "Theorem1Check",
    "Theorem2Check",
    "Counterexample",
    "check_theorem1",
    "check_theorem2",
    "find_theorem1_counterexample",
]


def _le(a: Any, b: Any, digits: int) -> bool:
    """``a ≤ b``: exact for Fractions, up to ``10^{−(digits−10)}`` relative slack for mpmath values."""
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a <= b
    a, b = mpmath.mpf(a) if not isinstance(a, Fraction) else mpmath.mpf(a.numerator) / a.denominator, (
        mpmath.mpf(b) if not isinstance(b, Fraction) else mpmath.mpf(b.numerator) / b.denominator
    )
    tol = mpmath.mpf(10) ** (-(digits - 10)) * max(1, abs(a), abs(b))
    return a <= b + tol


def _f(x: Any) -> float:
    return float(x) if x is not None else math.nan


@dataclass(frozen=True)
class Theorem1Check:
    """Both sides of Theorem 1 as printed, and the corrected statements (docs/theory.md §1).

    Attributes
    ----------
    exact : SemanticExact
        All exact game quantities.
    printed_lhs, printed_rhs : exact numbers
        ``Adv^SEM(A*)`` (Eq. 8) and ``2·max gain^IND − 1`` (Eq. 10).
    printed_holds : bool
        Whether Eq. 10 holds for this game and adversary.
    corrected_holds : bool
        Theorem 1′: ``|Adv′(A*)| ≤ 2·max gain^IND − 1``.
    sharp_bound : exact number
        ``(G_p − L_p)(2·max gain^IND − 1)``; ``sharp_holds``: ``Adv′ ≤ sharp_bound``. For an attacker that
        sometimes answers a value ``τ`` never takes under ``p`` (always wrong), ``L_p`` is replaced by 0.
    decomposition_bound : exact number
        ``(2·max gain^IND − 1) + Δ*``; ``decomposition_holds``: ``Adv^SEM ≤ decomposition_bound``.
    naive_bound : exact number
        ``(2·max gain^IND − 1) + (G_p − G_q)`` — a *false* variant (§1.4), reported for comparison;
        ``naive_holds`` says whether it happens to hold here.
    violation : exact number
        ``max(0, Adv^SEM − (2·max gain^IND − 1))``.
    """

    exact: SemanticExact
    printed_lhs: Any
    printed_rhs: Any
    printed_holds: bool
    corrected_holds: bool
    sharp_bound: Any
    sharp_holds: bool
    decomposition_bound: Any
    decomposition_holds: bool
    naive_bound: Any
    naive_holds: bool
    violation: Any

    def summary(self) -> str:
        """A few human-readable lines."""
        e = self.exact
        return "\n".join([
            f"Theorem 1 (printed): Adv^SEM = {_f(self.printed_lhs):.6g} <= 2 max gain^IND - 1 = "
            f"{_f(self.printed_rhs):.6g}: {'holds' if self.printed_holds else 'FAILS'}",
            f"Theorem 1' (corrected): |Adv'| = {abs(_f(e.corrected_advantage)):.6g} <= {_f(self.printed_rhs):.6g}: "
            f"{'holds' if self.corrected_holds else 'FAILS'}; sharp: Adv' <= (G_p - L_p) TV = "
            f"{_f(self.sharp_bound):.6g}: {'holds' if self.sharp_holds else 'FAILS'}",
            f"Decomposition: Adv^SEM <= TV + Delta* = {_f(self.decomposition_bound):.6g}: "
            f"{'holds' if self.decomposition_holds else 'FAILS'}  (false G_p - G_q variant: "
            f"{_f(self.naive_bound):.6g}, {'holds here' if self.naive_holds else 'fails here'})",
        ])


def check_theorem1(game: SemanticMIGame, adversary: Any, *, digits: int = DEFAULT_DIGITS) -> Theorem1Check:
    """Evaluate Theorem 1 as printed and corrected for one game and one attack strategy ``A*``.

    Parameters
    ----------
    game : SemanticMIGame
        A finite game (or a real-valued mechanism with a ``RegionGuessAdversary``).
    adversary : semantic adversary
        ``A*``; deterministic, or providing ``guess_law``.
    digits : int
        Precision of the mpmath parts; Fractions are compared exactly.
    """
    if not isinstance(game, SemanticMIGame):
        raise ValueError(f"game must be a SemanticMIGame, got {type(game).__name__}")
    if adversary is None:
        raise ValueError("adversary is required (Theorem 1 is a statement about a fixed attack A*)")
    ex = game.exact(adversary, digits=digits)
    with mpmath.workdps(digits):
        rhs = ex.tv_models
        lhs = ex.advantage
        low = ex.worst_gain if ex.answers_in_range else ex.worst_gain * 0
        sharp = (ex.best_gain - low) * rhs
        decomp = rhs + ex.delta_star
        naive = rhs + (ex.best_gain - ex.best_baseline)
        viol = lhs - rhs
        viol = viol if viol > 0 else viol * 0
        return Theorem1Check(
            exact=ex,
            printed_lhs=lhs,
            printed_rhs=rhs,
            printed_holds=_le(lhs, rhs, digits),
            corrected_holds=_le(abs(ex.corrected_advantage), rhs, digits),
            sharp_bound=sharp,
            sharp_holds=_le(ex.corrected_advantage, sharp, digits),
            decomposition_bound=decomp,
            decomposition_holds=_le(lhs, decomp, digits),
            naive_bound=naive,
            naive_holds=_le(lhs, naive, digits),
            violation=viol,
        )


@dataclass(frozen=True)
class Theorem2Check:
    """Exact ``max_A gain^IND`` against the three bounds (docs/theory.md §2, §3.3, §6).

    The declared guarantee is checked first (:func:`mitheory.privacy.check_declared_privacy`). When it is
    false the bounds are evaluated at a guarantee the mechanism *has* — its exact pure ε, or the declared ε
    with its exact δ there, whichever bounds the gain more tightly — so that a false declaration is never
    reported as a failure of Theorem 2.

    Attributes
    ----------
    max_gain : exact number
    tv : exact number
        ``TV(M(p^n), M(q^n)) = 2·max_gain − 1``, evaluated directly (for a small ε it is far below the
        precision at which ``max_gain`` lies next to 1/2).
    eps, delta : the privacy parameters the bounds use (the declared ones unless they are false)
    privacy : PrivacyCheck
        The declared ``(ε, δ)`` against the mechanism's exact privacy.
    declared_holds : bool or None
        ``privacy.holds``: the declaration is true (None: not checkable for this mechanism).
    tv_pq : ``TV(p, q)`` (exact)
    paper, tight, refined : GainBound
    paper_holds, tight_holds, refined_holds : bool
        ``max_gain ≤ bound`` for each.
    holds : bool
        All three hold.
    paper_strictly_loose : bool
        ``paper.gain > tight.gain`` (docs/theory.md §3.4: true for n ≥ 2 unless both are 1).
    """

    max_gain: Any
    tv: Any
    eps: Any
    delta: Any
    privacy: PrivacyCheck
    declared_holds: bool | None
    tv_pq: Any
    paper: GainBound
    tight: GainBound
    refined: GainBound
    paper_holds: bool
    tight_holds: bool
    refined_holds: bool
    holds: bool
    paper_strictly_loose: bool

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [self.privacy.summary()]
        if self.declared_holds is False:
            lines.append(f"  the declared eps is false, not Theorem 2: the bounds below use ({_f(self.eps):.6g}, "
                         f"{_f(self.delta):.6g}), a guarantee the mechanism has")
        elif self.declared_holds is None and not self.holds:
            lines.append("  a bound fails: either the declared (eps, delta) is false (it could not be checked) "
                         "or the theorem is")
        return "\n".join(lines + [
            f"Theorem 2: max gain^IND = {_f(self.max_gain):.12g}",
            f"  paper bound   {_f(self.paper.gain):.12g}  {'holds' if self.paper_holds else 'FAILS'}"
            f"{'  (vacuous)' if self.paper.vacuous else ''}",
            f"  tight bound   {_f(self.tight.gain):.12g}  {'holds' if self.tight_holds else 'FAILS'}",
            f"  refined bound {_f(self.refined.gain):.12g}  {'holds' if self.refined_holds else 'FAILS'}"
            f"  (TV(p,q) = {_f(self.tv_pq):.6g})",
        ])


def _const_bound(value: int) -> GainBound:
    """The bound for ε = 0 (value 1/2: a (0,0)-DP mechanism's output ignores S) or ε = ∞ (value 1)."""
    if value == 0:
        half = mpmath.mpf(1) / 2
        return GainBound(half, half, half, False, mpmath.mpf(0))
    return GainBound(mpmath.mpf(1), mpmath.mpf(0), mpmath.mpf(1), True, mpmath.mpf(1))


def check_theorem2(
    game: IndistinguishabilityGame | SemanticMIGame,
    eps: Any = None,
    delta: Any = None,
    *,
    digits: int = DEFAULT_DIGITS,
) -> Theorem2Check:
    """Check the declared privacy, then compare the exact best IND gain with the three bounds.

    Parameters
    ----------
    game : IndistinguishabilityGame or SemanticMIGame
    eps, delta : optional
        The claimed guarantee; default: the mechanism's declared ``(ε, δ)``. It is checked against the
        mechanism's exact privacy first; a false claim is reported as such (``declared_holds`` False) and
        the bounds then use a guarantee the mechanism has. ``ε = 0`` gives the bound 1/2 and ``ε = ∞`` the
        (vacuous) bound 1 for all three.
    """
    ind = game.ind if isinstance(game, SemanticMIGame) else game
    if not isinstance(ind, IndistinguishabilityGame):
        raise ValueError(f"game must be an IndistinguishabilityGame or SemanticMIGame, got {type(game).__name__}")
    d_eps, d_delta = ind.mechanism.declared_privacy()
    eps = d_eps if eps is None else eps
    delta = d_delta if delta is None else delta
    privacy = check_declared_privacy(ind.mechanism, ind.n, eps, delta, distribution=ind.distribution, digits=digits)
    ex = ind.exact(digits=digits)
    tv_pq = ind.distribution.tv_decorrelated()

    def bounds(e, d):
        fe = float(e)
        if fe == 0:
            return (_const_bound(0),) * 3
        if math.isinf(fe) or float(d) >= 1:
            return (_const_bound(1),) * 3
        return (paper_bound(e, ind.n, d, digits=digits), tight_bound(e, ind.n, d, digits=digits),
                refined_bound(e, ind.n, d, tv_pq, digits=digits))

    if privacy.holds is False:  # the true guarantees: the exact pure eps, or the declared eps at its exact delta
        options = [(eps, privacy.exact_delta)]
        if privacy.exact_eps is not None and not mpmath.isinf(privacy.exact_eps):
            options.append((privacy.exact_eps, 0))
        scored = [(bounds(e, d), e, d) for e, d in options]
        (paper, tight, refined), eps, delta = min(scored, key=lambda t: t[0][1].gain)
    else:
        paper, tight, refined = bounds(eps, delta)
    with mpmath.workdps(digits):
        mg = ex.max_gain
        ph, th, rh = _le(mg, paper.gain, digits), _le(mg, tight.gain, digits), _le(mg, refined.gain, digits)
        return Theorem2Check(
            max_gain=mg,
            tv=ex.tv,
            eps=eps,
            delta=delta,
            privacy=privacy,
            declared_holds=privacy.holds,
            tv_pq=tv_pq,
            paper=paper,
            tight=tight,
            refined=refined,
            paper_holds=ph,
            tight_holds=th,
            refined_holds=rh,
            holds=ph and th and rh,
            paper_strictly_loose=bool(paper.gain > tight.gain),
        )


# ----------------------------------------------------------------------------------------------------
# counterexample search


@dataclass(frozen=True)
class Counterexample:
    """A violation of the printed Theorem 1.

    Attributes
    ----------
    game : SemanticMIGame
    adversary : CallableAdversary
        A deterministic attack ``A*`` given as a table ``(model, y) → guess``.
    check : Theorem1Check
    size : tuple
        ``(n, |support of p|, number of models)`` — what "smallest" orders by (then by larger violation).
    description : str
    """

    game: SemanticMIGame
    adversary: CallableAdversary
    check: Theorem1Check
    size: tuple
    description: str


def _random_probs(rng: np.random.Generator, k: int, denom: int = 12) -> list[Fraction]:
    """A random probability vector with denominator ``denom`` and no zero entry."""
    cuts = sorted(rng.choice(np.arange(1, denom), size=k - 1, replace=False).tolist())
    parts = [b - a for a, b in zip([0] + cuts, cuts + [denom])]
    return [Fraction(p, denom) for p in parts]


def find_theorem1_counterexample(
    *, max_n: int = 2, max_labels: int = 2, trials: int = 300, seed: int = 0
) -> Counterexample | None:
    """Seeded random search for the smallest violation of the printed Theorem 1.

    Each trial draws ``n ≤ max_n``, a joint law of ``(x_s, y)`` on ``{0..k−1}²`` (``k ≤ max_labels``, no
    ``x_ns``) with rational probabilities, a mechanism (constant, or a random rational kernel from the
    count of ``{x_s = y}`` to two models), and a deterministic attack ``A*(f, y)`` (a random table), and
    evaluates :func:`check_theorem1` exactly. Among the violations found it returns the one with the
    smallest ``(n, |supp p|, #models)``, ties broken by the larger violation; None if none is found.
    """
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"max_n must be an integer >= 1, got {max_n!r}")
    if isinstance(max_labels, bool) or not isinstance(max_labels, int) or max_labels < 2:
        raise ValueError(f"max_labels must be an integer >= 2, got {max_labels!r}")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be an integer >= 1, got {trials!r}")
    rng = np.random.default_rng(seed)
    agree = Event(lambda x_ns, x_s, y: x_s == y, "x_s == y")
    best: Counterexample | None = None
    best_key = None
    for _ in range(trials):
        n = int(rng.integers(1, max_n + 1))
        k = int(rng.integers(2, max_labels + 1))
        cells = [(s, y) for s in range(k) for y in range(k)]
        m = int(rng.integers(2, len(cells) + 1))
        chosen = rng.choice(len(cells), size=m, replace=False)
        probs = _random_probs(rng, m)
        p = FiniteDistribution({((), cells[i][0], cells[i][1]): pr for i, pr in zip(chosen, probs)})
        if rng.random() < 0.4:
            mech = Constant(0)
            models = [0]
        else:
            table = {}
            for c in range(n + 1):
                a = Fraction(int(rng.integers(0, 5)), 4)
                table[c] = {0: 1 - a, 1: a}
            mech = TabularMechanism(CountStatistic(agree), lambda c, n_, t=table: t[c])
            models = [0, 1]
        guess = {(f, y): int(rng.integers(0, k)) for f in models for y in range(k)}

        def attack(f, x_ns, y, g=guess):
            return np.array([g.get((int(a), int(b)), 0) for a, b in zip(f, y)])

        adv = CallableAdversary(attack, name="table")
        game = SemanticMIGame(p, mech, n)
        chk = check_theorem1(game, adv)
        if chk.printed_holds:
            continue
        key = (n, len(p), len(models), -chk.violation)
        if best_key is None or key < best_key:
            best_key = key
            desc = (
                f"n={n}, p(x_s, y)={{{', '.join(f'({r[1]},{r[2]}): {pr}' for r, pr in zip(p.records, p.probs))}}}, "
                f"M={mech!r}, A*(f, y)={guess}"
            )
            best = Counterexample(game, adv, chk, key[:3], desc)
    return best
