"""Figure 3(a): calibration (ECE) vs Knowledge-Alignment attack accuracy — VIB (MID) vs DP-SGD on faces.

``python -m paper_figs fig3a [--quick]`` reuses the faces sweep of Fig. 2(c)
(``neural_sweep[_quick].json`` in the output directory; it is run first if absent) and plots, for every
setting, the target's expected calibration error on held-out images (15 bins, ``predict_proba`` as
released) against the attack accuracy on training images, with 95% CIs over seeds. The paper's claim:
for a given robustness level MID has a lower ECE than DP. The output-perturbation series of Fig. 2(c)
(rounding r, uniform noise a) are drawn too (ECE of the confidences as released). Writes ``fig3a.json`` and
``fig3a.png``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from paper_figs._common import with_scale
from paper_figs._claims import claim
from paper_figs.fig2c import _ECE, ece_claim, faces_sweep, figure_document, plot_ece_vs_attack
from validation.engine import Executor
from validation.store import write_json_atomic

NAME = "fig3a"


def plot(doc: dict[str, Any], path: str | os.PathLike) -> Path:
    return plot_ece_vs_attack(doc, path, "attack_train", "attack accuracy on training images", doc["metrics"]["ece"])


@with_scale
def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
         executor: Executor | None = None, seeds: int | None = None) -> Path:
    out_dir = Path(out_dir)
    res = faces_sweep(out_dir, quick=quick, device=device, data_home=data_home, executor=executor, seeds=seeds)
    doc = figure_document(res, NAME, "Fig. 3(a): calibration vs attack accuracy on faces"
                          + (" (quick)" if quick else ""), quick)
    doc["plot"] = {"x": "attack_train", "y": "ece"}
    doc["png"] = plot(doc, out_dir / f"{NAME}.png").name
    return write_json_atomic(out_dir / f"{NAME}.json", doc)


CLAIMS = [
    claim("fig3a-ece", NAME, _ECE, ece_claim("attack_train", "attack accuracy (training faces)")),
]
