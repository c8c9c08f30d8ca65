"""ART's MIFace against the undefended, VIB (MID) and DP-SGD face models, in one grid.

``python -m paper_figs art [--quick] [--device auto] [--out DIR]`` runs (or resumes)
:func:`validation.interop.run_miface`: per seeded per-identity split of the AT&T/Olivetti faces, the three
targets of the faces sweep (:func:`validation.neural.make_target`; VIB β and DP-SGD σ of
:class:`validation.interop.MIFaceConfig`), IBM ART's ``MIFace`` (Fredrikson et al. 2015, gradient ascent on
each identity's logit from a grey image, through :class:`defenses.interop.art.MIFaceAttack`), and the
attack accuracy of the 40 reconstructions by the evaluation classifier (another architecture, trained on
the training and auxiliary images; :func:`defenses.neural.evaluate_reconstruction`). Writes ``art.json``
(docs/figures.md schema) and ``art.png``: a row of training images, then one row of reconstructions per
model (split 0), with attack and test accuracy. Full: 64×64 faces, 300 MIFace steps, 5 splits; ``--quick``:
32×32 faces, 100 steps, one split (about 100 s of one CPU core).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from dataclasses import replace

from paper_figs._common import check_seeds, deviation, pyplot, replication, save, with_scale
from paper_figs.fig2c import knob_label
from validation.engine import Executor
from validation.interop import miface_config, run_miface
from validation.neural import split_ratio
from validation.neural import recon_file_stem
from validation.store import write_json_atomic
from validation.sweep import Setting

NAME = "art"
N_IDENTITIES = 40
N_SHOWN = 10


def figure_document(res: dict[str, Any], quick: bool) -> dict[str, Any]:
    series = []
    for s in res["series"]:
        pts = [{**p, "attack": p["attack_acc"], "attack_ci": p["attack_acc_ci"],
                "attack_ci_method": p["attack_acc_ci_method"]} for p in s["points"]]
        series.append({**s, "points": pts})
    und = res["series"][0]["points"][0]
    return {
        "figure": NAME,
        "title": "ART MIFace against undefended, VIB and DP-SGD face models" + (" (quick)" if quick else ""),
        "dataset": "AT&T/Olivetti faces, 40 identities x 10 images (stand-in for FaceScrub)",
        "settings": {**res["config"], "quick": quick},
        "replication": replication("seeds", res["config"]["n_seeds"], redraws="the per-identity split of the "
                                   "faces, the targets' initialisation and the evaluation classifier",
                                   fixed="the 400 images", test_train_ratio=res["test_train_ratio"]),
        "deviations": [deviation("dataset", "not in the paper (ART's MIFace is our addition)",
                                 "AT&T/Olivetti faces, one reconstruction per identity (40)"),
                       deviation("attacker's knowledge", "MIFace (Fredrikson et al. 2015): white-box gradients of "
                                 "the target's class scores", f"the same through ART; {res['config']['max_iter']} "
                                 f"steps from a {res['config']['init']} image")],
        "series": series,
        "baseline": {"attack_prior": und["evaluator_on_start"],
                     "attack_prior_ci": und["evaluator_on_start_ci"],
                     "attack_prior_ci_method": und["evaluator_on_start_ci_method"],
                     "attack_prior_name": "MIFace's starting image as every reconstruction (no model)",
                     "chance": 1.0 / N_IDENTITIES},
        "metrics": {"attack": "attack accuracy: evaluation-classifier top-1 on one MIFace reconstruction per "
                              "identity (40), mean and 95% t-interval over splits",
                    "utility": "test accuracy on held-out images",
                    "target_confidence": "the attacked model's probability of the identity on its reconstruction "
                                         "(what MIFace maximises)",
                    "pixel_rmse_first": "pixel RMSE to the identity's first training image",
                    "feature_l2_first": "evaluation-classifier feature L2 to that image"},
        "store": res["store"],
    }


def plot(doc: dict[str, Any], recon_dir: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Training images, then each model's reconstructions of the first ``N_SHOWN`` identities (split 0)."""
    plt = pyplot()
    rows: list[tuple[str, np.ndarray, np.ndarray | None]] = []
    for s in doc["series"]:
        p = s["points"][0]
        f = Path(recon_dir) / f"{recon_file_stem(Setting(s['defense'], s['knob'], p['knob']))}.npz"
        with np.load(f) as d:
            if not rows:
                rows.append(("training image", d["true"], None))
            knob = f" {knob_label(s, p)}" if knob_label(s, p) else ""
            label = (f"{s['defense']}{knob}\nattack acc {p['attack_acc']:.2f}\n"
                     f"target's p(identity) {p['target_confidence']:.2f}\ntest acc {p['utility']:.2f}")
            rows.append((label, d["recon"], d["predicted"] == d["labels"]))
    n = min(N_SHOWN, rows[0][1].shape[0])
    fig, axes = plt.subplots(len(rows), n, figsize=(1.05 * n + 1.8, 1.25 * len(rows)), dpi=110, squeeze=False)
    for r, (label, imgs, hit) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(imgs[c, 0] if imgs.ndim == 4 else imgs[c], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if hit is not None:
                for spine in ax.spines.values():
                    spine.set_edgecolor("tab:green" if hit[c] else "tab:red")
                    spine.set_linewidth(2)
        axes[r, 0].set_ylabel(label, fontsize=6.5, rotation=0, ha="right", va="center")
    fig.suptitle(f"{doc['title']} — identities 0–{n - 1} of split 0 (green: the evaluator recognises it)",
                 fontsize=8)
    return save(fig, path)


@with_scale
def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
         executor: Executor | None = None, seeds: int | None = None) -> Path:
    out_dir = Path(out_dir)
    config = miface_config(quick)
    if check_seeds(seeds) is not None:
        config = replace(config, n_seeds=seeds)
    res = run_miface(out_dir, quick=quick, device=device, data_home=data_home, executor=executor, config=config)
    res["test_train_ratio"] = split_ratio(config.faces)
    doc = figure_document(res, quick)
    doc["png"] = plot(doc, res["recon_dir"], out_dir / f"{NAME}.png").name
    return write_json_atomic(out_dir / f"{NAME}.json", doc)
