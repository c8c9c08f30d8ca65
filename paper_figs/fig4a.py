"""Figure 4(a): GMI reconstructions of the private digits from MID (VIB) and DP-SGD at matched test accuracy.

``python -m paper_figs fig4a [--quick] [--device auto] [--out DIR]`` runs (or resumes) the GMI sweep of
:func:`validation.gmi.run_gmi_sweep` (shared with Fig. 4(b)) and draws one row per private identity
(digits 0–4) with the columns: a real private training image, the GMI reconstruction from the undefended
target, and those from the VIB and DP-SGD settings of most similar mean test accuracy (the pair of the
sweep with the smallest accuracy gap; the accuracies are in the column titles), all from seed 0. Writes
``fig4a.json`` (the chosen settings, their accuracies and attack metrics, the paired difference in attack
accuracy between the two) and ``fig4a.png``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from paper_figs._claims import (EFFECT, claim, directional_rule, directional_word, needed_runs,
                                not_measured, paired, replication, series_by_name, verdict)
from defenses.registry import NEURAL
from paper_figs._common import pyplot, save
from paper_figs.fig2c import knob_label
from paper_figs.fig4b import DP, LARGE_MARGIN, VIB, _fmt_eps, dataset_label, figure_document, gmi_sweep
from validation.configs import UNDEFENDED, quick_scale
from validation.engine import Executor
from validation.gmi import GMIConfig, recon_file_stem
from validation.store import write_json_atomic
from validation.sweep import Setting

NAME = "fig4a"


def columns(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The reconstruction columns: undefended and the closest-accuracy VIB / DP-SGD pair."""
    by = {s["defense"]: s for s in doc["series"]}
    und = by[UNDEFENDED]["points"][0]
    cols = [{"defense": UNDEFENDED, "knob_name": None, "knob": None, "utility": und["utility"],
             "attack_acc_top1": und["attack_acc_top1"], "file": recon_file_stem(Setting(UNDEFENDED, None, None))}]
    pair = doc["summary"]["closest_pair"]
    if pair is not None:
        for name in (VIB, DP):
            p, knob = pair[name], by[name]["knob"]
            col = {"defense": name, "knob_name": knob, "knob": p["knob"], "utility": p["utility"],
                   "attack_acc_top1": p["attack_acc_top1"],
                   "file": recon_file_stem(Setting(name, knob, float(p["knob"])))}
            col.update({k: p[k] for k in ("eps_rdp", "eps_prv") if k in p})
            cols.append(col)
    return cols


def _title(col: dict[str, Any]) -> str:
    d = NEURAL.get(col["defense"])
    head = NEURAL.label(col["defense"])
    if col["knob"] is not None:
        head += f" {knob_label({'defense': col['defense'], 'knob': col['knob_name']}, col)}"
    if d is not None and d.accounted:
        head += f"\n{_fmt_eps(col)}"
    return f"{head}\ntest acc {100 * col['utility']:.1f}%\nattack acc {100 * col['attack_acc_top1']:.0f}% (10-digit judge)"


def plot(doc: dict[str, Any], recon_dir: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Rows: private identities; columns: a real private image, then one reconstruction per target."""
    plt = pyplot()
    recon_dir = Path(recon_dir)
    cols = doc["columns"]
    data = {}
    for col in cols:
        with np.load(recon_dir / f"{col['file']}.npz") as d:
            data[col["file"]] = {k: d[k] for k in d.files}
    first = data[cols[0]["file"]]
    labels = first["real_labels"]
    fig, axes = plt.subplots(len(labels), len(cols) + 1, figsize=(1.9 * (len(cols) + 1), 1.75 * len(labels) + 0.9),
                             dpi=120, squeeze=False)
    for r, label in enumerate(labels):
        cells = [first["real"][r]]
        for col in cols:
            d = data[col["file"]]
            cells.append(d["recon"][np.flatnonzero(d["identities"] == label)[0]])
        for c, img in enumerate(cells):
            ax = axes[r, c]
            ax.imshow(img[0] if img.ndim == 3 else img, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title("private image" if c == 0 else _title(cols[c - 1]), fontsize=7)
        axes[r, 0].set_ylabel(f"digit {label}", fontsize=8)
    fig.suptitle(doc["title"], fontsize=9)
    return save(fig, path)


#: The closest VIB / DP-SGD pair must be within this many points of test accuracy of each other to be "matched".
MATCHED = 0.05


def _claim_blocks_better(doc: dict[str, Any]) -> dict[str, Any]:
    """DP-SGD minus VIB in GMI top-1 accuracy at the closest test accuracies, paired by seed: "much better"
    asks for a difference beyond :data:`paper_figs.fig4b.LARGE_MARGIN`."""
    pair = doc["summary"]["closest_pair"]
    if pair is None:
        return not_measured("no VIB / DP-SGD pair")
    by, r = series_by_name(doc), replication(doc)
    v = next(p for p in by[VIB]["points"] if p["knob"] == pair[VIB]["knob"])
    d = next(p for p in by[DP]["points"] if p["knob"] == pair[DP]["knob"])
    if abs(v["utility"] - d["utility"]) > MATCHED:
        return not_measured(f"the closest VIB and DP-SGD test accuracies ({v['utility']:.3f}, {d['utility']:.3f}) "
                            f"differ by more than {MATCHED:g}: no matched pair", "add settings to the grids")
    est = paired(d, v, "attack_acc_top1", r)
    iv = est.interval()
    word = directional_word(iv, +1, LARGE_MARGIN, EFFECT)
    needed = needed_runs(est.sd, LARGE_MARGIN, r) if word == "inconclusive" else None
    return verdict(
        f"at the closest test accuracies (VIB β={v['knob']:g}: {100 * v['utility']:.1f}%, DP-SGD σ={d['knob']:g}, "
        f"{_fmt_eps(d)}: {100 * d['utility']:.1f}%; paper: 80.8 vs 81.4 on CelebA), GMI top-1 attack accuracy VIB "
        f"{v['attack_acc_top1']:.3f} vs DP-SGD {d['attack_acc_top1']:.3f}; DP-SGD minus VIB = {est.value:+.3f}",
        word, ci=iv, ci_of="DP-SGD − VIB in GMI top-1 accuracy, paired by seed", ci_method=est.method,
        rule="'much better' read as a difference beyond " + f"{LARGE_MARGIN:g}: "
             + directional_rule("DP-SGD − VIB", LARGE_MARGIN, EFFECT),
        detail="the images are seed 0's reconstructions", needed=needed,
        runs=r.n, unit=r.unit, redraws=r.redraws,
        test={"type": "directional", "sign": 1, "threshold": LARGE_MARGIN, "effect": EFFECT})


CLAIMS: list[dict[str, Any]] = [
    claim("gmi-fig4a-mid-blocks-better", NAME, "We can see that MID can block the attack much better than DP.",
          _claim_blocks_better),
]


def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
         executor: Executor | None = None, config: GMIConfig | None = None, seeds: int | None = None,
         scale: str | None = None) -> Path:
    """Run or resume the GMI sweep and write ``fig4a.json`` and ``fig4a.png``; return the JSON's path."""
    out_dir = Path(out_dir)
    quick = quick_scale(quick, scale) == "quick"
    res = gmi_sweep(out_dir, quick=quick, device=device, data_home=data_home, executor=executor, config=config,
                    seeds=seeds, scale=scale)
    title = f"Fig. 4(a): GMI reconstructions at matched test accuracy — {dataset_label(res)}, seed 0"
    doc = figure_document(res, NAME, title, quick)
    doc["columns"] = columns(doc)
    doc["png"] = plot(doc, res["recon_dir"], out_dir / f"{NAME}.png").name
    doc["claims"] = [{"id": c["id"], **c["evaluate"](doc)} for c in CLAIMS]
    return write_json_atomic(out_dir / f"{NAME}.json", doc)
