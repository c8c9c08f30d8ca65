"""Figure 4(c): MAP with counts (white box) against decision trees on the FiveThirtyEight steak survey.

Same sweep and layout as Figure 2(b) (:mod:`paper_figs.fig2b`, whose resumable store in the output
directory both figures share), with the white-box attacker that reads the training counts on the tree's
paths (Fredrikson, Jha & Ristenpart 2015).
"""

from __future__ import annotations

import os
from pathlib import Path

from paper_figs._common import with_scale
from paper_figs._claims import WITHIN_5_POINTS, claim
from paper_figs.fig2b import tree_comparison, tree_figure
from validation.engine import Executor

NAME = "fig4c"


@with_scale
def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
         executor: Executor | None = None, seeds: int | None = None) -> Path:
    """Write ``fig4c.json`` and ``fig4c.png`` (``device`` is unused: trees run on the CPU)."""
    return tree_figure(NAME, "map_counts", "MAP with counts on decision trees (steak survey)", out_dir,
                       quick=quick, data_home=data_home, executor=executor, seeds=seeds)


#: "A large margin": a gap of at least 0.10 in F1, fixed before looking.
LARGE_MARGIN = 0.10
_LABEL = "MAP-with-counts F1 of 'Yes' (test)"

CLAIMS = [
    claim("fig4c-mid-vs-dp", NAME, "We find that MID can outperform DP by a large margin to defend against whitebox "
          "MI attacks.", tree_comparison("MID", "DP-ID3", _LABEL, relevant=WITHIN_5_POINTS, margin=LARGE_MARGIN)),
    # "occasionally": Priority significantly more private than MID at one utility level at least (Holm)
    claim("fig4c-priority", NAME, "Similar to the observation in blackbox experiment, model-specific defense "
          "strategies could achieve better robustness than MID occasionally",
          tree_comparison("Priority", "MID", _LABEL, relevant=WITHIN_5_POINTS, existence=True)),
]
