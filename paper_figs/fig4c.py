"""Figure 4(c): MAP with counts (white box) against decision trees on the FiveThirtyEight steak survey.

Same sweep and layout as Figure 2(b) (:mod:`paper_figs.fig2b`, whose resumable store in the output
directory both figures share), with the white-box attacker that reads the training counts on the tree's
paths (Fredrikson, Jha & Ristenpart 2015).
"""

from __future__ import annotations

import os
from pathlib import Path

from paper_figs.fig2b import tree_figure
from validation.engine import Executor

NAME = "fig4c"


def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
         executor: Executor | None = None) -> Path:
    """Write ``fig4c.json`` and ``fig4c.png`` (``device`` is unused: trees run on the CPU)."""
    return tree_figure(NAME, "map_counts", "MAP with counts on decision trees (steak survey)", out_dir,
                       quick=quick, data_home=data_home, executor=executor)
