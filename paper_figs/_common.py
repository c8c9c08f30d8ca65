"""Shared plumbing of the figure modules: headless matplotlib and the JSON + PNG output pair."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable

from validation.store import write_json_atomic


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (figures are files, never windows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: str | os.PathLike) -> Path:
    """Lay out, save and close ``fig``."""
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")  # legends placed beside the axes stay in the image
    pyplot().close(fig)
    return Path(path)


def write_figure(out_dir: str | os.PathLike, name: str, doc: dict[str, Any],
                 plot: Callable[[dict[str, Any], Path], Path]) -> Path:
    """Write ``<name>.json`` atomically and draw ``<name>.png`` from it; return the PNG's path."""
    out = Path(out_dir)
    write_json_atomic(out / f"{name}.json", doc)
    return plot(doc, out / f"{name}.png")


def replication(unit: str, n: int, *, redraws: str, fixed: str = "", test_train_ratio: float = 0.0) -> dict[str, Any]:
    """``doc["replication"]``: the figure's ``n`` seeds or splits (``unit``), what each re-draws, what stays
    fixed for the whole figure (the conclusions are conditional on it) and, for repeated random splits of
    one table, ``test_train_ratio`` = n_test / n_train (the corrected resampled t; 0 for independent seeds)."""
    if unit not in ("seeds", "splits"):
        raise ValueError(f"unit must be 'seeds' or 'splits', got {unit!r}")
    return {"unit": unit, "n": int(n), "redraws": redraws, "fixed": fixed, "test_train_ratio": float(test_train_ratio)}


def deviation(aspect: str, paper: str, here: str) -> dict[str, str]:
    """One entry of ``doc["deviations"]``: where this figure departs from the paper, or what its threat
    model assumes (the report's "Deviations from the paper and limits of the threat model")."""
    return {"aspect": aspect, "paper": paper, "here": here}


def check_seeds(seeds: int | None) -> int | None:
    """``seeds`` of a figure's ``make``: None (the configuration's own) or an integer >= 2 (an interval over
    seeds needs two)."""
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2):
        raise ValueError(f"seeds must be None or an integer >= 2 (an interval over seeds needs two), got {seeds!r}")
    return seeds


def with_scale(make: Callable[..., Path]) -> Callable[..., Path]:
    """Give the ``make`` of a figure without a CPU configuration the ``scale=`` argument: ``"quick"`` is
    ``quick=True``; ``"cpu"`` and ``"full"`` run its one full configuration. ``quick=True`` with another
    scale raises ValueError."""
    from validation.configs import quick_scale

    @functools.wraps(make)
    def scaled(out_dir, *, quick: bool = False, scale: str | None = None, **kw) -> Path:
        return make(out_dir, quick=quick_scale(quick, scale) == "quick", **kw)

    return scaled
