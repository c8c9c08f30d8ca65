"""Figure 4(c) on Fair's affairs survey: MAP with counts (white box) against decision trees.

The figure of :mod:`paper_figs.fig4c` — its learners, attacks, baselines and claims — on a second survey
whose target carries signal (:func:`defenses.datasets.load_affairs`, :func:`paper_figs.fig2b.affairs_twin`).
"""

from __future__ import annotations

from paper_figs import fig4c
from paper_figs.fig2b import affairs_twin

NAME, make, CLAIMS = affairs_twin(fig4c, "map_counts", "MAP with counts on decision trees (affairs survey)")
