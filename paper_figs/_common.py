"""Shared plumbing of the figure modules: headless matplotlib and the JSON + PNG output pair."""

from __future__ import annotations

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
