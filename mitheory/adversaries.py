"""Reference adversaries for the semantic MI game (Experiment 1) and the IND game (Experiment 2).

Two small protocols, both vectorized over rounds:

- IND adversaries: ``decide(models, rng) -> b′`` (0 = “trained on p”, 1 = “trained on q”).
- Semantic adversaries: ``guess(models, x_ns, y, rng) -> guesses of τ(x_s)``.

What an adversary knows is passed to its constructor explicitly: the Bayes adversary of Eq. 7 gets
``p`` and ``τ``; the likelihood-ratio adversary gets ``p``, the mechanism and ``n``; the model-only
(plug-in) adversary gets only the public record domain and ``τ``.

For exact evaluation a deterministic adversary is enough (the game tabulates its answers); a randomized
user callable can only be simulated unless it supplies its exact answer law.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import numpy as np

from mitheory.distributions import FiniteDistribution, unify_exact
from mitheory.mechanisms import (
    HistogramStatistic,
    Mechanism,
    RegionSolution,
    guard_digits,
    resolution_digits,
    output_law,
    statistic_law,
)

__all__ = [
    "RegionAdversary",
    "ThresholdAdversary",
    "LookupAdversary",
    "LikelihoodRatioAdversary",
    "CallableAdversary",
    "BayesAdversary",
    "PluginAdversary",
    "RegionGuessAdversary",
    "row_keys",
    "model_key",
]


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def model_key(model: Any) -> Any:
    """A hashable key for one released model (scalars stay scalars, arrays become tuples)."""
    if isinstance(model, np.ndarray):
        return tuple(_py(v) for v in model.tolist()) if model.ndim else _py(model[()])
    if isinstance(model, (list, tuple)):
        return tuple(_py(v) for v in model)
    return _py(model)


def row_keys(x_ns: np.ndarray, y: np.ndarray) -> tuple[list[tuple], np.ndarray]:
    """Distinct ``(x_ns, y)`` keys of a batch and, for each row, the index of its key.

    Numeric batches use ``np.unique`` (fast for millions of rows); object batches fall back to a dict.
    """
    x_ns = np.asarray(x_ns)
    y = np.asarray(y)
    if x_ns.ndim == 1:
        x_ns = x_ns[:, None]
    if x_ns.dtype != object and y.dtype != object and y.dtype.kind in "biuf" and x_ns.dtype.kind in "biuf":
        ycol = y.astype(np.float64)[:, None]
        mat = np.column_stack([x_ns.astype(np.float64), ycol]) if x_ns.shape[1] else ycol
        uniq, inv = np.unique(mat, axis=0, return_inverse=True)
        d = x_ns.shape[1]
        keys = []
        for row in uniq:
            ns = tuple(_cast(v, x_ns.dtype) for v in row[:d])
            keys.append((ns, _cast(row[d], y.dtype)))
        return keys, inv.reshape(-1)
    # object columns (strings, mixed): encode each column to integer codes, then reuse the numeric path
    try:
        cols = [x_ns[:, j] for j in range(x_ns.shape[1])] + [y]
        levels, codes = [], []
        for col in cols:
            lv, cd = np.unique(np.asarray(col, dtype=object), return_inverse=True)
            levels.append(lv)
            codes.append(cd.reshape(-1))
    except TypeError:  # values that do not sort: a dict, one row at a time
        index: dict = {}
        inv = np.empty(len(y), dtype=np.int64)
        for i in range(len(y)):
            key = (tuple(_py(v) for v in x_ns[i].tolist()), _py(y[i]))
            inv[i] = index.setdefault(key, len(index))
        return list(index), inv
    uniq, inv = np.unique(np.column_stack(codes), axis=0, return_inverse=True)
    d = x_ns.shape[1]
    keys = [(tuple(_py(levels[j][r[j]]) for j in range(d)), _py(levels[d][r[d]])) for r in uniq]
    return keys, inv.reshape(-1)


def _cast(v: float, dtype: np.dtype) -> Any:
    return int(v) if dtype.kind in "biu" else float(v)


# ----------------------------------------------------------------------------------------------------
# IND adversaries


class RegionAdversary:
    """IND adversary on real-valued models: answer ``decisions[i]`` on region ``(b_{i−1}, b_i]``.

    Parameters
    ----------
    breaks : array of float, increasing
    decisions : array of {0, 1}, length ``len(breaks) + 1``
    """

    def __init__(self, breaks: Sequence[float], decisions: Sequence[int]):
        self.breaks = np.asarray(breaks, dtype=np.float64).reshape(-1)
        self.decisions = np.asarray(decisions, dtype=np.int64).reshape(-1)
        if len(self.decisions) != len(self.breaks) + 1:
            raise ValueError("decisions must have one more entry than breaks")
        if np.any(np.diff(self.breaks) <= 0):
            raise ValueError("breaks must be strictly increasing")
        if not np.all(np.isin(self.decisions, (0, 1))):
            raise ValueError("decisions must be 0 or 1")

    def decide(self, models: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = np.asarray(models, dtype=np.float64)
        if len(self.breaks) == 1:  # one comparison is ~10x cheaper than searchsorted
            return self.decisions[(x > self.breaks[0]).view(np.int8)]
        return self.decisions[np.searchsorted(self.breaks, x, side="left")]

    def __repr__(self) -> str:
        return f"RegionAdversary({len(self.breaks)} breaks)"


class ThresholdAdversary(RegionAdversary):
    """Say ``b′ = 1`` iff the (real) model exceeds ``threshold`` (or iff it is ``≤ threshold`` when
    ``above=False``)."""

    def __init__(self, threshold: float, above: bool = True):
        t = float(threshold)
        if not np.isfinite(t):
            raise ValueError(f"threshold must be finite, got {threshold!r}")
        super().__init__([t], [0, 1] if above else [1, 0])
        self.threshold = t
        self.above = bool(above)

    def __repr__(self) -> str:
        return f"ThresholdAdversary({self.threshold:g}, above={self.above})"


class LookupAdversary:
    """IND adversary on a finite model space: ``b′ = table[model]`` (``default`` for unseen models)."""

    def __init__(self, table: dict, default: int = 0):
        self.table = {model_key(k): int(v) for k, v in table.items()}
        self.default = int(default)

    def decide(self, models: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        models = np.asarray(models)
        if models.ndim == 1 and models.dtype != object:
            uniq, inv = np.unique(models, return_inverse=True)
            vals = np.array([self.table.get(model_key(u), self.default) for u in uniq], dtype=np.int64)
            return vals[inv.reshape(-1)]
        if models.ndim == 2 and models.dtype != object:
            uniq, inv = np.unique(models, axis=0, return_inverse=True)
            vals = np.array([self.table.get(model_key(u), self.default) for u in uniq], dtype=np.int64)
            return vals[inv.reshape(-1)]
        return np.array([self.table.get(model_key(m), self.default) for m in models], dtype=np.int64)


class LikelihoodRatioAdversary:
    """The optimal IND adversary: ``b′ = 1`` iff ``P_q(f) > P_p(f)`` (Neyman–Pearson at equal priors).

    Its gain is ``(1 + TV(M(p^n), M(q^n)))/2 = max_A gain^IND``. It knows ``p``, the mechanism and ``n``
    (passed explicitly) and tabulates the exact output laws once.

    Parameters
    ----------
    distribution : FiniteDistribution or UniformDiagonal
    mechanism : Mechanism
    n : int
    digits : int
        Working precision for the exact laws.
    arithmetic : "fraction" or "mpmath"
        How the statistic's law is built (:func:`mitheory.mechanisms.statistic_law`); with ``"mpmath"``
        the precision is ``digits`` plus :func:`~mitheory.mechanisms.guard_digits` ``(n)``.
    game : IndistinguishabilityGame, optional
        The game over the same ``(p, M, n)``, whose cached exact laws are then reused.
    """

    def __init__(self, distribution: Any, mechanism: Mechanism, n: int, *, digits: int = 30,
                 arithmetic: str = "fraction", game: Any = None):
        self.n = int(n)
        dps = digits + (guard_digits(self.n) if arithmetic == "mpmath" else 0) + resolution_digits(mechanism)
        with mpmath.workdps(dps):
            if game is not None and mechanism.finite_output:
                pp, pq = game.output_laws(arithmetic)
                zero = next(iter(pp.values())) * 0
                table = {o: int(pq.get(o, zero) > pp.get(o, zero)) for o in set(pp) | set(pq)}
                self._impl: Any = LookupAdversary(table)
                self.solution = None
                return
            if game is not None:
                self.solution: RegionSolution | None = game.ind_solution(arithmetic)
                self._impl = RegionAdversary(self.solution.breaks, self.solution.decisions)
                return
            law_p = statistic_law(mechanism.statistic, distribution, self.n, arithmetic=arithmetic)
            law_q = statistic_law(mechanism.statistic, distribution.decorrelated(), self.n, arithmetic=arithmetic)
            if mechanism.finite_output:
                pp = output_law(mechanism, law_p, self.n)
                pq = output_law(mechanism, law_q, self.n)
                vals = unify_exact(list(pp.values()) + list(pq.values()))
                pp = dict(zip(pp, vals[: len(pp)]))
                pq = dict(zip(pq, vals[len(pp):]))
                zero = vals[0] * 0
                table = {o: int(pq.get(o, zero) > pp.get(o, zero)) for o in set(pp) | set(pq)}
                self._impl = LookupAdversary(table)
                self.solution = None
            else:
                w_p, w_q = _count_weights(law_p, self.n), _count_weights(law_q, self.n)
                self.solution = mechanism.ind_solution(w_p, w_q, self.n)
                self._impl = RegionAdversary(self.solution.breaks, self.solution.decisions)

    def decide(self, models: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return self._impl.decide(models, rng)

    def __repr__(self) -> str:
        return "LikelihoodRatioAdversary()"


def _count_weights(law: list[tuple], n: int) -> list:
    w: list = [0] * (n + 1)
    for c, pr in law:
        w[c] = pr
    return w


# ----------------------------------------------------------------------------------------------------
# user callables (both games)


class CallableAdversary:
    """Wrap a user function as an adversary for either game.

    Parameters
    ----------
    fn : callable
        IND game: ``fn(models) -> b′`` (or ``fn(models, rng)`` when ``randomized``).
        Semantic game: ``fn(models, x_ns, y) -> guesses`` (or ``fn(models, x_ns, y, rng)``).
        All arguments are arrays over rounds; ``fn`` must be vectorized.
    randomized : bool
        Whether ``fn`` uses randomness (then it receives ``rng`` and can only be simulated).
    name : str, optional
    """

    def __init__(self, fn: Callable, randomized: bool = False, name: str | None = None):
        if not callable(fn):
            raise ValueError("fn must be callable")
        self.fn = fn
        self.randomized = bool(randomized)
        self.name = name or getattr(fn, "__name__", "callable")

    def decide(self, models: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        out = self.fn(models, rng) if self.randomized else self.fn(models)
        return np.asarray(out).astype(np.int64).reshape(-1)

    def guess(self, models, x_ns, y, rng=None) -> np.ndarray:
        out = self.fn(models, x_ns, y, rng) if self.randomized else self.fn(models, x_ns, y)
        return np.asarray(out).reshape(-1)

    def __repr__(self) -> str:
        return f"CallableAdversary({self.name})"


# ----------------------------------------------------------------------------------------------------
# semantic adversaries


def _tau_values(tau: Callable | None, x_s: np.ndarray) -> np.ndarray:
    return np.asarray(x_s) if tau is None else np.asarray(tau(np.asarray(x_s)))


class BayesAdversary:
    """The Bayes-optimal semantic adversary of Eq. 7: ``argmax_v p(τ(X_s) = v | x_ns, y)``.

    It knows ``p`` and ``τ`` and ignores the model; by the lemma of docs/theory.md §1.2 no adversary does
    better, so its gain is the paper's best possible gain ``G_p`` (Eq. 7) for every mechanism. Ties are
    broken towards the smallest value (in sorted order); unseen ``(x_ns, y)`` get the mode of ``τ``.

    Parameters
    ----------
    distribution : FiniteDistribution
    tau : callable, optional
        Vectorized property ``τ`` of ``x_s`` (default: identity).
    """

    def __init__(self, distribution: FiniteDistribution, tau: Callable | None = None):
        if not isinstance(distribution, FiniteDistribution):
            raise ValueError("BayesAdversary needs a FiniteDistribution")
        self.tau = tau
        tv = _tau_values(tau, distribution.x_s)
        table: dict = {}
        marg: dict = {}
        for (ns, _, y), v, pr in zip(distribution.records, tv.tolist(), distribution.probs):
            row = table.setdefault((ns, y), {})
            row[v] = row.get(v, 0) + pr
            marg[v] = marg.get(v, 0) + pr
        self.default = _argmax(marg)
        self.table = {k: _argmax(row) for k, row in table.items()}

    def guess(self, models, x_ns, y, rng=None) -> np.ndarray:
        keys, inv = row_keys(x_ns, y)
        vals = [self.table.get(k, self.default) for k in keys]
        arr = np.empty(len(vals), dtype=object)
        arr[:] = vals
        try:
            arr = arr.astype(np.asarray(vals).dtype)
        except (TypeError, ValueError):
            pass
        return arr[inv]

    def __repr__(self) -> str:
        return "BayesAdversary()"


def _argmax(row: dict) -> Any:
    best = max(row.values())
    return sorted(v for v, pr in row.items() if pr == best)[0]


class PluginAdversary:
    """A model-only semantic adversary: Bayes with respect to the released histogram, not ``p``.

    Made for models that are histograms over a public record domain (a :class:`~mitheory.mechanisms.
    Memorizer` of a :class:`~mitheory.mechanisms.HistogramStatistic`, i.e. a model that memorizes its
    training set). Given ``(x_ns, y)`` it guesses the ``τ`` value most frequent among training records with
    that ``(x_ns, y)``; when there are none, the most frequent ``τ`` overall; ties go to the smallest value.
    It knows the domain and ``τ`` (public) but not ``p``.

    Parameters
    ----------
    statistic : HistogramStatistic
        The histogram the model releases (its domain fixes the meaning of each count).
    tau : callable, optional
    """

    def __init__(self, statistic: HistogramStatistic, tau: Callable | None = None):
        if not isinstance(statistic, HistogramStatistic):
            raise ValueError("PluginAdversary needs the HistogramStatistic its models release")
        self.statistic = statistic
        self.tau = tau
        dom = statistic.domain
        tv = _tau_values(tau, np.array([r[1] for r in dom], dtype=object)).tolist()
        self.values = sorted(set(tv))
        vidx = {v: i for i, v in enumerate(self.values)}
        self.keys = sorted({(r[0], r[2]) for r in dom}, key=repr)
        kidx = {k: i for i, k in enumerate(self.keys)}
        # one-hot maps: record j -> (key, value)
        self._rec_key = np.array([kidx[(r[0], r[2])] for r in dom])
        self._rec_val = np.array([vidx[v] for v in tv])

    def guess(self, models, x_ns, y, rng=None) -> np.ndarray:
        models = np.asarray(models, dtype=np.float64)
        if models.ndim != 2 or models.shape[1] != self.statistic.k:
            raise ValueError(f"PluginAdversary expects histogram models of shape (rounds, {self.statistic.k})")
        keys, inv = row_keys(x_ns, y)
        kidx = {k: i for i, k in enumerate(self.keys)}
        rk = np.array([kidx.get(k, -1) for k in keys])[inv]
        nv = len(self.values)
        overall = np.zeros((len(models), nv))
        np.add.at(overall.T, self._rec_val, models.T)
        local = np.zeros((len(models), nv))
        for j in range(self.statistic.k):
            hit = self._rec_key[j] == rk
            local[hit, self._rec_val[j]] += models[hit, j]
        score = np.where(local.sum(axis=1, keepdims=True) > 0, local, overall)
        choice = np.argmax(score, axis=1)  # first maximum = smallest value
        vals = np.empty(nv, dtype=object)
        vals[:] = self.values
        out = vals[choice]
        try:
            return out.astype(np.asarray(self.values).dtype)
        except (TypeError, ValueError):
            return out

    def __repr__(self) -> str:
        return "PluginAdversary()"


class RegionGuessAdversary:
    """A semantic adversary that reads a real-valued model only through a partition of the line.

    On region ``i`` (``(b_{i−1}, b_i]``) it plays ``rules[i]``, a model-independent rule
    ``rule(x_ns, y) -> guesses`` (a callable, or any semantic adversary whose answer ignores the model,
    such as :class:`BayesAdversary`). Because its use of the model is finite, the semantic game can be
    evaluated exactly even for mechanisms with real-valued output (Laplace, extremal).

    Parameters
    ----------
    breaks : array of float, increasing
    rules : sequence of callables or adversaries, length ``len(breaks) + 1``
    """

    def __init__(self, breaks: Sequence[float], rules: Sequence[Any]):
        self.breaks = np.asarray(breaks, dtype=np.float64).reshape(-1)
        if np.any(np.diff(self.breaks) <= 0):
            raise ValueError("breaks must be strictly increasing")
        if len(rules) != len(self.breaks) + 1:
            raise ValueError("rules must have one more entry than breaks")
        self.rules = list(rules)
        for r in self.rules:
            if not (callable(r) or hasattr(r, "guess")):
                raise ValueError("each rule must be a callable rule(x_ns, y) or a semantic adversary")

    def rule_guess(self, i: int, x_ns, y, rng=None) -> np.ndarray:
        """Guesses of rule ``i`` (model-independent)."""
        r = self.rules[i]
        if hasattr(r, "guess"):
            return np.asarray(r.guess(np.zeros(len(y)), x_ns, y, rng)).reshape(-1)
        return np.asarray(r(x_ns, y)).reshape(-1)

    def guess(self, models, x_ns, y, rng=None) -> np.ndarray:
        region = np.searchsorted(self.breaks, np.asarray(models, dtype=np.float64), side="left")
        out = None
        for i in np.unique(region):
            sel = region == i
            g = self.rule_guess(int(i), np.asarray(x_ns)[sel], np.asarray(y)[sel], rng)
            if out is None:
                out = np.empty(len(region), dtype=g.dtype if g.dtype != object else object)
            out[sel] = g
        return out if out is not None else np.zeros(0)

    def __repr__(self) -> str:
        return f"RegionGuessAdversary({len(self.breaks)} breaks)"
