"""Privacy-utility sweeps: a defense's knob × many random splits, resumable, aggregated with CIs.

A sweep is a list of :class:`Setting` (defense name, knob name, knob value) and a function
``evaluate(setting, split) -> dict[str, float]`` that trains on one random split and returns named
metrics (e.g. ``{"utility": mse, "attack_train": acc, "attack_test": acc}``). :func:`run_sweep` runs every
(setting, split) pair once — recording each in a :class:`~validation.store.ResultStore`, so an interrupted
sweep resumes where it stopped — and :func:`aggregate` turns the runs into the figure schema of
DESIGN.md §2 with a normal-approximation 95% interval of the mean over splits.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
from scipy.stats import t as student_t
from tqdm.auto import tqdm

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


def run_sweep(
    settings: Sequence[Setting],
    n_splits: int,
    evaluate: Callable[[Setting, int], dict[str, float]],
    store_path: str | os.PathLike,
    experiment: dict[str, Any],
    progress: bool = True,
) -> dict[str, dict[str, float]]:
    """Evaluate every (setting, split) pair, resuming from ``store_path``; return key → metrics.

    ``experiment`` describes everything else that determines the numbers (dataset, grid, seed); a
    store written under another description is refused instead of being mixed in.
    """
    if n_splits < 1:
        raise ValueError(f"n_splits must be >= 1, got {n_splits}")
    store = ResultStore(store_path, {"experiment": experiment, "n_splits": n_splits,
                                     "settings": [asdict(s) for s in settings]})
    jobs = [(s, k) for s in settings for k in range(n_splits)]
    todo = [(s, k) for s, k in jobs if f"{s.key}|split={k}" not in store]
    for s, k in tqdm(todo, desc="sweep", disable=not progress or not todo, file=None):
        store.put(f"{s.key}|split={k}", {name: float(v) for name, v in evaluate(s, k).items()})
    return {f"{s.key}|split={k}": store.results[f"{s.key}|split={k}"] for s, k in jobs}


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
