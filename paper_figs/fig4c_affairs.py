"""Figure 4(c) on Fair's affairs survey: MAP with counts (white box) against decision trees.

The figure of :mod:`paper_figs.fig4c` — MID-ID3, DP-ID3 and Priority beside the undefended ID3 tree, the
paper's attack, the model-assisted attacker and the no-model baseline — on a second survey whose target
carries signal (:func:`defenses.datasets.load_affairs`: 6,366 women, target the marriage rating,
sensitive "had an affair"; bundled with statsmodels). The steak survey stays in :mod:`paper_figs.fig4c`
for faithfulness to the paper. The affairs sweep has its own resumable store
(``tree_sweep_affairs[_quick].jsonl``), shared by this figure and its twin.
"""

from __future__ import annotations

import os
from pathlib import Path

from paper_figs import fig4c
from paper_figs.fig2b import tree_figure
from validation.engine import Executor

NAME = "fig4c_affairs"


def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
         executor: Executor | None = None) -> Path:
    """Write ``fig4c_affairs.json`` and ``fig4c_affairs.png`` (``device`` is unused: trees run on the CPU)."""
    return tree_figure(NAME, "map_counts", "MAP with counts on decision trees (affairs survey)", out_dir, quick=quick, data_home=data_home,
                       executor=executor, dataset="affairs")


#: The claims of :mod:`paper_figs.fig4c`, tested on this survey too.
CLAIMS = [{**c, "id": f"{c['id']}-affairs", "figure": NAME} for c in fig4c.CLAIMS]
