"""Privacy-utility sweeps: a defense's knob × many random splits, resumable, aggregated with CIs.

A sweep is a list of :class:`Setting` (defense name, knob name, knob value) and a picklable function
``evaluate(setting, split) -> dict[str, float]`` that trains on one random split and returns named
metrics (e.g. ``{"utility": mse, "attack_train": acc, "attack_test": acc}``). :func:`run_sweep` runs every
(setting, split) pair once as a unit of the sweep engine (:mod:`validation.engine`: serially, in local
processes or on a Dask cluster) — recording each in a :class:`~validation.store.ResultStore`, so an
interrupted sweep resumes where it stopped — and :func:`aggregate` turns the runs into the figure schema
of docs/figures.md: per point the mean of every metric over the runs, its 95% interval and the interval's
method (:mod:`validation.statistics`), the per-run values (for paired comparisons) and the trials behind
each proportion. An evaluate function reports the trials of a proportion ``m`` as a further float
``m + "_trials"`` (attacked records, reconstructions); such a proportion gets the wider of the run-level
interval and the Wilson interval of the pooled counts, so it never has zero width. Repeated random splits
of one table overlap: give ``test_train_ratio`` and the run-level intervals are the corrected resampled t
(Nadeau & Bengio, 2003). A metric confined to [0, 1] by its definition (:func:`in_unit_interval`) without
counts has its run-level interval intersected with [0, 1] (still a valid interval: the mean lies in [0, 1]).

The number of splits is not part of a sweep's identity in its store: split ``k`` gives the same numbers
however many splits run, so a rerun with more splits (``--seeds N``) extends the store instead of starting
over, and one with fewer reads the first ones.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from collections.abc import Collection
from typing import Any, Callable, Sequence

import numpy as np
from scipy.stats import t as student_t

from validation.engine import Executor, Unit, UnitOutput, run_units
from validation.statistics import mean_estimate, proportion_estimate
from validation.store import ResultStore

#: Suffix of the per-run trial count that an evaluate function reports beside a proportion metric.
TRIALS = "_trials"


@dataclass(frozen=True)
class Setting:
    """One point of a sweep: ``defense`` (e.g. "MID") with its ``knob`` (e.g. "mid_lambda") at ``value``."""

    defense: str
    knob: str | None
    value: float | int | None

    @property
    def key(self) -> str:
        return f"{self.defense}|{self.knob}={self.value!r}"


class _SweepUnit:
    """``fn(unit)`` of the engine for a sweep's ``evaluate(setting, split)``: metrics as floats.

    ``evaluate`` may also return a :class:`~validation.engine.UnitOutput` whose value is the metrics dict
    (to send files back to the driver).
    """

    def __init__(self, evaluate: Callable[[Setting, int], Any]):
        self.evaluate = evaluate

    def __call__(self, unit: Unit) -> UnitOutput:
        out = self.evaluate(unit.setting, unit.index)
        if not isinstance(out, UnitOutput):
            out = UnitOutput(out)
        out.value = {name: float(v) for name, v in out.value.items()}
        return out


def run_sweep(
    settings: Sequence[Setting],
    n_splits: int,
    evaluate: Callable[[Setting, int], dict[str, float] | UnitOutput],
    store_path: str | os.PathLike,
    experiment: dict[str, Any],
    progress: bool = True,
    *,
    executor: Executor | None = None,
    name: str = "sweep",
) -> dict[str, dict[str, float]]:
    """Evaluate every (setting, split) pair on ``executor``, resuming from ``store_path``; return key → metrics.

    ``experiment`` describes everything else that determines the numbers (dataset, grid, seed); a
    store written under another description is refused instead of being mixed in. Its ``n_seeds`` entry, if
    any, is left out of the store's identity, as ``n_splits`` is: more splits extend a store. ``evaluate`` must be
    picklable for the process and Dask executors and derive every random draw from its arguments. Units
    that fail are reported and the others recorded; then :class:`~validation.engine.UnitsFailed` is raised.
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 1:
        raise ValueError(f"n_splits must be an integer >= 1, got {n_splits!r}")
    identity = {k: v for k, v in experiment.items() if k != "n_seeds"}
    store = ResultStore(store_path, {"experiment": identity, "settings": [asdict(s) for s in settings]})
    units = [Unit(name, s, k) for s in settings for k in range(n_splits)]
    report = run_units(units, _SweepUnit(evaluate), store, executor=executor, progress=progress, desc=name)
    return report.results


def mean_ci(values: Sequence[float], level: float = 0.95,
            support: tuple[float, float] | None = None) -> tuple[float, float, float]:
    """Mean of ``values`` and its Student-t ``level`` interval (the interval collapses for one value).

    ``support``: the range the quantity cannot leave (e.g. ``(0, 1)`` for an accuracy); the interval is
    intersected with it.
    """
    v = np.asarray(values, float)
    m = float(v.mean())
    if len(v) < 2:
        return m, m, m
    half = float(student_t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    lo, hi = m - half, m + half
    if support is not None:
        lo, hi = max(lo, support[0]), min(hi, support[1])
    return m, lo, hi


#: Words that make a metric name a quantity in [0, 1] by definition (``attack_test``, ``attack_acc_top1``,
#: ``ece``, ``auroc_train``, ``success_any_of_5_restarts``, ``target_confidence``, ...). ``attack`` alone is
#: an attack's accuracy or F1 in every sweep of the toolkit; ``utility`` is not here (an MSE for the linear
#: models): a sweep whose utility is an accuracy names it in ``aggregate(..., proportions=)``.
UNIT_INTERVAL_WORDS = frozenset({"acc", "accuracy", "attack", "auroc", "ece", "f1", "precision", "recall", "success",
                                 "confidence", "prior"})


def in_unit_interval(name: str, proportions: Collection[str] = ()) -> bool:
    """Whether the metric ``name`` lies in [0, 1] by definition (its words, or listed in ``proportions``); a
    ``gain`` (an attack's metric minus another's, e.g. ``gain_naive_map_test_f1``) is a difference in [−1, 1]."""
    words = name.split("_")
    return name in proportions or ("gain" not in words and not UNIT_INTERVAL_WORDS.isdisjoint(words))


def aggregate(
    settings: Sequence[Setting], n_splits: int, runs: dict[str, dict[str, float]], *,
    proportions: Collection[str] = (), test_train_ratio: float = 0.0, level: float = 0.95,
) -> list[dict[str, Any]]:
    """Group runs into docs/figures.md ``series``: one per defense, one point per knob value.

    Every metric ``m`` present in every run of a setting becomes ``point[m]`` (mean over runs),
    ``point[m + "_ci"]`` (the ``level`` interval, None where none exists: one run and no counts) and
    ``point[m + "_ci_method"]``; ``point["values"][m]`` lists the per-run values in split order (two
    settings' lists pair by index) and ``point["trials"][m]`` the per-run trials of a proportion whose
    evaluate function reported ``m + "_trials"`` (never a metric itself). Intervals: the wider of the
    run-level one and the pooled-count Wilson one for counted proportions; else the run-level one,
    intersected with [0, 1] for the metrics :func:`in_unit_interval` names (``proportions``: the sweep's
    further metrics in [0, 1], e.g. ``("utility",)`` when utility is a test accuracy). The run-level
    interval is Student t over independent seeds (``test_train_ratio = 0``) or the corrected resampled t
    over overlapping random splits (``test_train_ratio = n_test / n_train``).
    """
    series: dict[str, dict[str, Any]] = {}
    for s in settings:
        rows = [runs[f"{s.key}|split={k}"] for k in range(n_splits)]
        names = [m for m in rows[0] if not m.endswith(TRIALS) and all(m in r for r in rows)]
        point: dict[str, Any] = {"knob": s.value, "runs": n_splits}
        values: dict[str, list[float]] = {}
        trials: dict[str, list[float]] = {}
        for name in names:
            v = [float(r[name]) for r in rows]
            values[name] = v
            counted = all(name + TRIALS in r for r in rows) and sum(r[name + TRIALS] for r in rows) > 0
            if counted:
                trials[name] = [float(r[name + TRIALS]) for r in rows]
                est, ci = proportion_estimate(v, trials[name], test_train_ratio, level)
                point[name], point[f"{name}_ci"], point[f"{name}_ci_method"] = est.value, list(ci), est.method
                continue
            est = mean_estimate(v, test_train_ratio)
            ci = est.interval(level)
            method = est.method
            if ci is not None and in_unit_interval(name, proportions):
                ci, method = (max(ci[0], 0.0), min(ci[1], 1.0)), f"{method}∩[0,1]"
            point[name], point[f"{name}_ci"], point[f"{name}_ci_method"] = est.value, \
                None if ci is None else list(ci), method
        point["values"], point["trials"] = values, trials
        series.setdefault(s.defense, {"defense": s.defense, "knob": s.knob, "points": []})["points"].append(point)
    return list(series.values())


def corrected_resampled_t(values: Sequence[float], test_fraction: float, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of per-split ``values`` and its corrected resampled-t interval (Nadeau & Bengio 2003).

    Repeated random train/test splits of one table overlap, so their results are correlated and the
    plain t-interval is too narrow (about 5× at 100 splits of 80/20). The correction inflates the variance
    of the mean to ``(1/J + n_test/n_train) · s²`` over J splits, with t on J − 1 degrees of freedom.
    With one split, or values that are all equal (e.g. a paired difference of two attacks that guessed alike
    on every record of every split), there is no interval: (m, nan, nan) — a zero-width interval from finite
    trials would claim a certainty the data do not give.

    References
    ----------
    C. Nadeau, Y. Bengio, "Inference for the Generalization Error", Machine Learning 52:239-281, 2003.
    """
    v = np.asarray(values, float)
    if v.ndim != 1 or len(v) == 0 or not np.all(np.isfinite(v)):
        raise ValueError("values must be a non-empty 1-d sequence of finite numbers")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    if len(v) < 2 or np.all(v == v[0]):
        return float(v.mean()), math.nan, math.nan
    est = mean_estimate(v, test_fraction / (1.0 - test_fraction))
    iv = est.interval(level)
    return (est.value, math.nan, math.nan) if iv is None else (est.value, *iv)


#: The name of :func:`corrected_resampled_t`'s interval in figure documents.
RESAMPLED_T = "corrected resampled t over splits (Nadeau & Bengio 2003), 95%"
