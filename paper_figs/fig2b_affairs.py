"""Figure 2(b) on Fair's affairs survey: Naive MAP (black box) against decision trees.

The figure of :mod:`paper_figs.fig2b` — its learners, attacks, baselines and claims — on a second survey
whose target carries signal (:func:`defenses.datasets.load_affairs`, :func:`paper_figs.fig2b.affairs_twin`).
"""

from __future__ import annotations

from paper_figs import fig2b
from paper_figs.fig2b import affairs_twin

NAME, make, CLAIMS = affairs_twin(fig2b, "naive_map", "Naive MAP on decision trees (affairs survey)")
