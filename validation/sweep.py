"""Privacy-utility sweeps: a defense's knob × many random splits, resumable, aggregated with CIs.

A sweep is a list of :class:`Setting` (defense name, knob name, knob value) and a picklable function
``evaluate(setting, split) -> dict[str, float]`` that trains on one random split and returns named
metrics (e.g. ``{"utility": mse, "attack_train": acc, "attack_test": acc}``). :func:`run_sweep` runs every
(setting, split) pair once as a unit of the sweep engine (:mod:`validation.engine`: serially, in local
processes or on a Dask cluster) — recording each in a :class:`~validation.store.ResultStore`, so an
interrupted sweep resumes where it stopped — and :func:`aggregate` turns the runs into the figure schema
of DESIGN.md §2 with a Student-t 95% interval of the mean over splits.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
from scipy.stats import t as student_t

from validation.engine import Executor, Unit, UnitOutput, run_units
from validation.store import ResultStore


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
    store written under another description is refused instead of being mixed in. ``evaluate`` must be
    picklable for the process and Dask executors and derive every random draw from its arguments. Units
    that fail are reported and the others recorded; then :class:`~validation.engine.UnitsFailed` is raised.
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 1:
        raise ValueError(f"n_splits must be an integer >= 1, got {n_splits!r}")
    store = ResultStore(store_path, {"experiment": experiment, "n_splits": n_splits,
                                     "settings": [asdict(s) for s in settings]})
    units = [Unit(name, s, k) for s in settings for k in range(n_splits)]
    report = run_units(units, _SweepUnit(evaluate), store, executor=executor, progress=progress, desc=name)
    return report.results


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` and its Student-t ``level`` interval (the interval collapses for one value)."""
    v = np.asarray(values, float)
    m = float(v.mean())
    if len(v) < 2:
        return m, m, m
    half = float(student_t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return m, m - half, m + half


def aggregate(
    settings: Sequence[Setting], n_splits: int, runs: dict[str, dict[str, float]]
) -> list[dict[str, Any]]:
    """Group runs into DESIGN.md §2 ``series``: one per defense, one point per knob value.

    Every metric ``name`` becomes ``point[name]`` (mean over splits) and ``point[name + "_ci"]``.
    """
    series: dict[str, dict[str, Any]] = {}
    for s in settings:
        rows = [runs[f"{s.key}|split={k}"] for k in range(n_splits)]
        point: dict[str, Any] = {"knob": s.value, "runs": n_splits}
        for name in rows[0]:
            m, lo, hi = mean_ci([r[name] for r in rows])
            point[name], point[f"{name}_ci"] = m, [lo, hi]
        series.setdefault(s.defense, {"defense": s.defense, "knob": s.knob, "points": []})["points"].append(point)
    return list(series.values())
