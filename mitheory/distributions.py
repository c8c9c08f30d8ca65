"""Record distributions for the paper's security games (Experiments 1 and 2).

A record is ``z = (x_ns, x_s, y)``: the non-sensitive features ``x_ns`` (a tuple, possibly empty), the
sensitive feature ``x_s`` and the label ``y``. The games need the target distribution ``p`` and its
*decorrelated* version ``q = p(X_s) × p(X_ns, Y)`` of Eq. 8, in which ``x_s`` is drawn independently of
``(x_ns, y)`` from its marginal.

- :class:`FiniteDistribution` holds exact probabilities (``fractions.Fraction`` when every input is
  rational, otherwise ``mpmath.mpf``) and gives exact marginals, the exact decorrelated product and exact
  event probabilities, so the games can be evaluated exactly.
- :func:`empirical_distribution` turns a real table (pandas DataFrame or numpy array) into the uniform
  distribution over its rows; its decorrelated product samples ``x_s`` from the column's marginal.
- :class:`UniformDiagonal` is the continuous law ``Y ~ U(0, 1), X_s = Y`` of docs/theory.md §3.5, for which
  ``p ⊥ q``; it is what lets the extremal mechanism attain the tight bound exactly.
- :class:`Event` is a named, vectorized predicate on records; a count of records in an event is the
  statistic most reference mechanisms release.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from numbers import Rational
from typing import Any

import mpmath
import numpy as np

__all__ = [
    "Records",
    "Event",
    "FiniteDistribution",
    "UniformDiagonal",
    "empirical_distribution",
    "to_exact",
    "unify_exact",
    "agreement_event",
    "disagreement_event",
]


# ----------------------------------------------------------------------------------------------------
# exact numbers


def to_exact(value: Any) -> Fraction | mpmath.mpf:
    """Convert a probability-like number to an exact value.

    Integers, ``Fraction`` and strings such as ``"1/3"`` or ``"0.25"`` become ``Fraction``; Python and
    numpy floats become the ``Fraction`` of their shortest decimal representation (``0.9 -> 9/10``, what
    the user typed); ``mpmath.mpf`` is kept as is.
    """
    if isinstance(value, mpmath.mpf):
        return value
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"probability must be a number, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    if isinstance(value, Rational):
        return Fraction(value.numerator, value.denominator)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise ValueError(f"probability must be finite, got {value!r}")
        return Fraction(repr(float(value)))
    if isinstance(value, str):
        return Fraction(value)
    raise ValueError(f"cannot use {value!r} ({type(value).__name__}) as a probability")


def unify_exact(values: Iterable[Any]) -> list:
    """Return ``values`` as exact numbers of one type: all ``Fraction`` if possible, else all ``mpf``.

    Mixing ``Fraction`` with ``mpf`` is unsafe (they do not compare), so exact code calls this before
    arithmetic. Conversion to ``mpf`` uses the current ``mpmath.mp`` precision.
    """
    vals = [to_exact(v) for v in values]
    if any(isinstance(v, mpmath.mpf) for v in vals):
        return [v if isinstance(v, mpmath.mpf) else mpmath.mpf(v.numerator) / v.denominator for v in vals]
    return vals


def _as_mpf(v: Any) -> mpmath.mpf:
    if isinstance(v, Fraction):
        return mpmath.mpf(v.numerator) / v.denominator
    return mpmath.mpf(v)


# ----------------------------------------------------------------------------------------------------
# records and events


@dataclass(frozen=True)
class Records:
    """A batch of records as parallel arrays.

    Attributes
    ----------
    x_ns : ndarray, shape (m, d)
        Non-sensitive features (``d`` may be 0).
    x_s : ndarray, shape (m,)
        Sensitive feature.
    y : ndarray, shape (m,)
        Label.
    """

    x_ns: np.ndarray
    x_s: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x_s)

    def take(self, idx: np.ndarray) -> "Records":
        """The records at positions ``idx``."""
        return Records(self.x_ns[idx], self.x_s[idx], self.y[idx])


class Event:
    """A named, vectorized predicate on records, ``B ⊆ 𝒳``.

    Parameters
    ----------
    predicate : callable
        ``predicate(x_ns, x_s, y) -> bool array`` on the parallel arrays of a :class:`Records` batch.
    name : str
        Shown in reports; also identifies the event for distributions that know its probability in
        closed form (see :class:`UniformDiagonal`).
    """

    def __init__(self, predicate: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray], name: str):
        if not callable(predicate):
            raise ValueError("predicate must be callable")
        self.predicate = predicate
        self.name = str(name)

    def __call__(self, records: Records) -> np.ndarray:
        out = np.asarray(self.predicate(records.x_ns, records.x_s, records.y), dtype=bool)
        if out.shape != (len(records),):
            raise ValueError(f"event {self.name!r} must return one bool per record, got shape {out.shape}")
        return out

    def __repr__(self) -> str:
        return f"Event({self.name!r})"


class _DiagonalEvent(Event):
    """``{x_s = y}`` (``on=True``) or ``{x_s ≠ y}``; its probability under :class:`UniformDiagonal` is known."""

    def __init__(self, on: bool):
        if on:
            super().__init__(lambda x_ns, x_s, y: x_s == y, "x_s == y")
        else:
            super().__init__(lambda x_ns, x_s, y: x_s != y, "x_s != y")
        self.on_diagonal = bool(on)


def agreement_event() -> Event:
    """The event ``{x_s = y}`` (the sensitive feature equals the label)."""
    return _DiagonalEvent(on=True)


def disagreement_event() -> Event:
    """The event ``B = {x_s ≠ y}``; under :class:`UniformDiagonal`, ``p(B) = 0`` and ``q(B) = 1``."""
    return _DiagonalEvent(on=False)


# ----------------------------------------------------------------------------------------------------
# finite distributions


def _norm_ns(x_ns: Any) -> tuple:
    if isinstance(x_ns, tuple):
        return x_ns
    if x_ns is None:
        return ()
    if isinstance(x_ns, (list, np.ndarray)):
        return tuple(np.asarray(x_ns).tolist())
    return (x_ns,)


def _column(values: Sequence[Any]) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return arr
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


class FiniteDistribution:
    """A distribution over finitely many records ``(x_ns, x_s, y)`` with exact probabilities.

    Parameters
    ----------
    table : mapping or sequence
        Either ``{(x_ns, x_s, y): probability}`` or a sequence of ``(x_ns, x_s, y)`` records paired with
        ``probs``. ``x_ns`` is a tuple of non-sensitive values (``()`` when there are none; a scalar is
        taken as a 1-tuple). Duplicate records are merged; zero-probability records are dropped.
    probs : sequence, optional
        Probabilities when ``table`` is a sequence of records. Integers, ``Fraction``, strings and floats
        become ``Fraction`` (floats via their decimal representation), ``mpmath.mpf`` stays ``mpf``.
        They must be non-negative and sum to 1 (exactly for rationals, within 1e-12 for ``mpf``).

    Attributes
    ----------
    records : list of tuple
        The support, in first-seen order.
    probs : list
        Exact probabilities (all ``Fraction`` or all ``mpf``).
    weights : ndarray
        The probabilities as float64 (for sampling).
    x_ns, x_s, y : ndarray
        Parallel columns of the support (``x_ns`` has shape ``(m, d)``).

    A distribution is immutable: never change these attributes after construction. Its decorrelated
    product and ``TV(p, q)`` are computed on first use and kept (for ``mpf`` probabilities, per mpmath
    precision).
    """

    def __init__(self, table: Mapping | Sequence, probs: Sequence | None = None):
        if isinstance(table, Mapping):
            if probs is not None:
                raise ValueError("probs must be omitted when table is a mapping")
            items = list(table.items())
        else:
            if probs is None:
                raise ValueError("probs is required when table is a sequence of records")
            table = list(table)
            probs = list(probs)
            if len(table) != len(probs):
                raise ValueError(f"table has {len(table)} records but probs has {len(probs)} entries")
            items = list(zip(table, probs))
        if not items:
            raise ValueError("table must contain at least one record")
        merged: dict[tuple, Any] = {}
        exact = unify_exact([p for _, p in items])
        for (rec, _), pr in zip(items, exact):
            if not isinstance(rec, tuple) or len(rec) != 3:
                raise ValueError(f"each record must be a tuple (x_ns, x_s, y), got {rec!r}")
            if pr < 0:
                raise ValueError(f"probabilities must be non-negative, got {pr} for record {rec!r}")
            key = (_norm_ns(rec[0]), rec[1], rec[2])
            merged[key] = merged[key] + pr if key in merged else pr
        total = sum(merged.values())
        if isinstance(total, Fraction):
            if total != 1:
                raise ValueError(f"probabilities must sum to 1, got {total}")
        elif abs(total - 1) > 1e-12:
            raise ValueError(f"probabilities must sum to 1, got {total}")
        records = [r for r, pr in merged.items() if pr != 0]
        dims = {len(r[0]) for r in records}
        if len(dims) != 1:
            raise ValueError(f"all x_ns must have the same length, got lengths {sorted(dims)}")
        self._set_support(records, [merged[r] for r in records])

    @classmethod
    def _from_exact(cls, records: list[tuple], probs: list) -> "FiniteDistribution":
        """A distribution from a support already in canonical form: distinct records ``(x_ns tuple, x_s, y)``
        of one ``x_ns`` length, and positive exact probabilities of one type summing to 1 (what the
        methods below produce). Skips the constructor's normalisation and checks, not its results."""
        self = cls.__new__(cls)
        self._set_support(records, probs)
        return self

    def _set_support(self, records: list[tuple], probs: list) -> None:
        self.records = records
        self.probs = probs
        self._memo: dict = {}  # derived exact quantities (decorrelated product, TV), see _memoised
        d = len(records[0][0])
        self.weights = np.array([float(pr) for pr in self.probs])
        self.weights /= self.weights.sum()
        self._cum = np.cumsum(self.weights)
        self._cum[-1] = 1.0
        if d:
            cols = [_column([r[0][j] for r in self.records]) for j in range(d)]
            numeric = all(c.dtype != object for c in cols)
            self.x_ns = np.column_stack(cols) if numeric else np.array([list(r[0]) for r in self.records], dtype=object)
        else:
            self.x_ns = np.zeros((len(self.records), 0))
        self.x_s = _column([r[1] for r in self.records])
        self.y = _column([r[2] for r in self.records])

    # -- basic views ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"FiniteDistribution({len(self)} records)"

    @property
    def support(self) -> Records:
        """The support as a :class:`Records` batch (row ``i`` has probability ``probs[i]``)."""
        return Records(self.x_ns, self.x_s, self.y)

    @property
    def is_exact_rational(self) -> bool:
        """Whether the probabilities are ``Fraction`` (rather than ``mpf``)."""
        return isinstance(self.probs[0], Fraction)

    def marginal_s(self) -> dict:
        """``p(X_s)`` as ``{x_s: probability}``."""
        out: dict = {}
        for (_, s, _), pr in zip(self.records, self.probs):
            out[s] = out[s] + pr if s in out else pr
        return out

    def marginal_ns_y(self) -> dict:
        """``p(X_ns, Y)`` as ``{(x_ns, y): probability}``."""
        out: dict = {}
        for (ns, _, y), pr in zip(self.records, self.probs):
            key = (ns, y)
            out[key] = out[key] + pr if key in out else pr
        return out

    def _memoised(self, what: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per distribution (and mpmath precision, for ``mpf`` probabilities).

        A distribution is immutable — its attributes are never changed after construction — so what is
        derived from it exactly can be kept: the games, the bounds figure and every ``run_ind`` on one
        table ask for the same decorrelated product and TV many times. Rational results do not depend on
        the working precision; ``mpf`` ones are kept per precision.
        """
        key = (what, None if self.is_exact_rational else mpmath.mp.prec)
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def decorrelated(self) -> "FiniteDistribution":
        """The product ``q = p(X_s) × p(X_ns, Y)`` of Eq. 8 (exact; computed once, then reused)."""

        def product() -> FiniteDistribution:
            ms = self.marginal_s()
            # Records of p have positive probabilities, so every product is positive; the pairs
            # ((x_ns, y), x_s) are distinct, and the products sum to 1 exactly for rationals.
            items = [((ns, s, y), a * b) for (ns, y), a in self.marginal_ns_y().items() for s, b in ms.items()]
            return FiniteDistribution._from_exact([r for r, _ in items], [pr for _, pr in items])

        return self._memoised("decorrelated", product)

    def event_probability(self, event: Event) -> Fraction | mpmath.mpf:
        """Exact ``p(B)`` for an :class:`Event` ``B``."""
        mask = event(self.support)
        vals = [pr for pr, m in zip(self.probs, mask) if m]
        zero = self.probs[0] * 0
        return sum(vals, zero)

    def category_probabilities(self, categorize: Callable[[Records], np.ndarray], k: int) -> list:
        """Exact law of a record map ``φ: 𝒳 → {0, …, k−1}`` under this distribution."""
        cats = np.asarray(categorize(self.support))
        if cats.shape != (len(self),) or np.any(cats < 0) or np.any(cats >= k):
            raise ValueError(f"categories must be integers in [0, {k}) for every record")
        zero = self.probs[0] * 0
        out = [zero] * k
        for c, pr in zip(cats.tolist(), self.probs):
            out[c] = out[c] + pr
        return out

    def tv(self, other: "FiniteDistribution") -> Fraction | mpmath.mpf:
        """Exact total variation distance to another finite distribution over the same record space."""
        a = dict(zip(self.records, self.probs))
        b = dict(zip(other.records, other.probs))
        if not (self.is_exact_rational and other.is_exact_rational):  # rationals are exact already
            vals = unify_exact(list(a.values()) + list(b.values()))
            a = dict(zip(a.keys(), vals[: len(a)]))
            b = dict(zip(b.keys(), vals[len(a):]))
        zero = next(iter(a.values())) * 0
        return sum((abs(a.get(r, zero) - b.get(r, zero)) for r in set(a) | set(b)), zero) / 2

    def tv_decorrelated(self) -> Fraction | mpmath.mpf:
        """``TV(p, q)`` with ``q`` the decorrelated product (docs/theory.md §6; computed once, then reused)."""
        return self._memoised("tv_decorrelated", lambda: self.tv(self.decorrelated()))

    # -- sampling ---------------------------------------------------------------------------------------
    def sample_indices(self, size: int | tuple, rng: np.random.Generator) -> np.ndarray:
        """Indices into :attr:`records` of ``size`` i.i.d. draws."""
        return np.searchsorted(self._cum, rng.random(size), side="right").clip(max=len(self) - 1)

    def sample(self, size: int, rng: np.random.Generator) -> Records:
        """``size`` i.i.d. records as a :class:`Records` batch."""
        return self.support.take(self.sample_indices(int(size), rng))


def empirical_distribution(
    data: Any,
    sensitive: str | int,
    target: str | int,
    nonsensitive: Sequence[str | int] | None = None,
) -> FiniteDistribution:
    """The empirical distribution (uniform over rows) of a real table.

    Parameters
    ----------
    data : pandas.DataFrame or array-like of shape (N, columns)
        The table. Rows with a missing value (None, NaN or an empty string) in a used column are dropped.
    sensitive, target : str or int
        Column names (DataFrame) or indices (array) of ``x_s`` and ``y``.
    nonsensitive : sequence of str or int, optional
        Columns of ``x_ns``; default: every other column.

    Returns
    -------
    FiniteDistribution
        ``p(z) = (#rows equal to z) / N`` with ``Fraction`` probabilities. Its :meth:`decorrelated`
        product draws ``x_s`` from the column's empirical marginal independently of ``(x_ns, y)``.
    """
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):
        names = list(data.columns)
        lookup = {name: i for i, name in enumerate(names)}
        arr = data.to_numpy(dtype=object)

        def col(c: str | int) -> int:
            if c not in lookup:
                raise ValueError(f"column {c!r} not found in data (columns: {names})")
            return lookup[c]
    else:
        arr = np.asarray(data, dtype=object)
        if arr.ndim != 2:
            raise ValueError(f"data must be 2-D (rows × columns), got shape {arr.shape}")

        def col(c: str | int) -> int:
            if not isinstance(c, (int, np.integer)) or not 0 <= int(c) < arr.shape[1]:
                raise ValueError(f"column {c!r} must be an integer index in [0, {arr.shape[1]})")
            return int(c)

    i_s, i_y = col(sensitive), col(target)
    if i_s == i_y:
        raise ValueError("sensitive and target must be different columns")
    if nonsensitive is None:
        i_ns = [j for j in range(arr.shape[1]) if j not in (i_s, i_y)]
    else:
        i_ns = [col(c) for c in nonsensitive]
        if i_s in i_ns or i_y in i_ns:
            raise ValueError("nonsensitive must not contain the sensitive or target column")
    used = [i_s, i_y, *i_ns]

    def missing(v: Any) -> bool:
        return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())

    counts: dict[tuple, int] = {}
    for row in arr:
        if any(missing(row[j]) for j in used):
            continue
        rec = (tuple(_py(row[j]) for j in i_ns), _py(row[i_s]), _py(row[i_y]))
        counts[rec] = counts.get(rec, 0) + 1
    total = sum(counts.values())
    if total == 0:
        raise ValueError("data has no complete rows in the chosen columns")
    return FiniteDistribution({r: Fraction(c, total) for r, c in counts.items()})


def _py(v: Any) -> Any:
    """numpy scalars → Python scalars (hashable, comparable)."""
    return v.item() if isinstance(v, np.generic) else v


# ----------------------------------------------------------------------------------------------------
# a continuous law with p ⊥ q


class UniformDiagonal:
    """``Y ~ U(0, 1)``, ``X_s = Y``, no ``x_ns`` (docs/theory.md §3.5); ``decorrelated=True`` gives ``q``.

    Under ``p`` every record lies on the diagonal; under ``q = U(0,1)²`` almost none does, so ``p ⊥ q``
    and the event ``B = {x_s ≠ y}`` (:func:`disagreement_event`) has ``p(B) = 0``, ``q(B) = 1``. Exact
    probabilities are known only for the diagonal events of :func:`agreement_event` and
    :func:`disagreement_event`; other statistics are evaluated by simulation.
    """

    def __init__(self, decorrelated: bool = False):
        self.is_decorrelated = bool(decorrelated)

    def __repr__(self) -> str:
        return f"UniformDiagonal(decorrelated={self.is_decorrelated})"

    def decorrelated(self) -> "UniformDiagonal":
        """``q = U(0, 1) × U(0, 1)``."""
        return UniformDiagonal(decorrelated=True)

    def sample(self, size: int, rng: np.random.Generator) -> Records:
        """``size`` i.i.d. records."""
        y = rng.random(int(size))
        x_s = rng.random(int(size)) if self.is_decorrelated else y.copy()
        return Records(np.zeros((int(size), 0)), x_s, y)

    def event_probability(self, event: Event) -> Fraction:
        """Exact probability of the diagonal events; ``ValueError`` for any other event."""
        if not isinstance(event, _DiagonalEvent):
            raise ValueError(
                f"the exact probability of event {event.name!r} under UniformDiagonal is unknown; "
                "use simulate()"
            )
        diag = Fraction(0) if self.is_decorrelated else Fraction(1)
        return diag if event.on_diagonal else 1 - diag

    def tv_decorrelated(self) -> Fraction:
        """``TV(p, q) = 1`` (``p`` lives on a null set of ``q``)."""
        return Fraction(1)
