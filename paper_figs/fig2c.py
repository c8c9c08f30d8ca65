"""Figure 2(c): Knowledge-Alignment attack accuracy vs test accuracy on faces — VIB (MID) vs DP-SGD.

``python -m paper_figs fig2c [--quick] [--device auto] [--out DIR]`` runs (or resumes)
:func:`validation.neural.run_faces_sweep` — undefended, VIB over a β grid and DP-SGD over a noise grid,
each over several seeded per-identity splits of the AT&T/Olivetti faces (stand-in for the paper's
FaceScrub) — and writes ``fig2c.json`` (docs/figures.md schema; ``summary`` holds the attack accuracy of
each defense at its most protective setting within 5 points of the undefended test accuracy, with ε),
``fig2c.png`` and ``fig2c_reconstructions.png`` (true training images; reconstructions from the
undefended, the matched VIB and the matched DP-SGD model of split 0). Per-run results are kept in
``neural_sweep[_quick].json`` and shared with Fig. 3(a). Two output-perturbation series (the undefended
CNN releasing rounded confidences, knob r, or confidences with uniform noise, knob a; :mod:`defenses.output`)
test the paper's dismissal of these defenses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from dataclasses import replace

from paper_figs._claims import (COMMON_RANGE, WITHIN_5_POINTS, claim, compare_tradeoffs, not_effective,
                                vulnerability_grows_with_utility)
from paper_figs._common import check_seeds, deviation, pyplot, replication, save, with_scale
from validation.engine import Executor
import validation.neural as vn
from defenses.registry import NEURAL
from validation.configs import MATCHED, UNDEFENDED
from validation.neural import SOFTMAX_RELEASE, matched_points, recon_file_stem, run_faces_sweep
from validation.store import write_json_atomic
from validation.sweep import Setting

NAME = "fig2c"
N_IDENTITIES = 40
#: Knob symbol of each registered defense (output perturbation: rounding granularity r, uniform-noise level a).
_SYMBOL = {d.name: d.symbol for d in NEURAL if d.symbol}


def faces_sweep(out_dir, *, quick: bool, device: str, data_home, executor: Executor | None,
                seeds: int | None) -> dict[str, Any]:
    """Run or resume the faces sweep of Fig. 2(c)/3(a); ``seeds`` overrides the configuration's seeds."""
    config = None
    if check_seeds(seeds) is not None:
        config = replace(vn.QUICK if quick else vn.FULL, n_seeds=seeds)
    return run_faces_sweep(out_dir, quick=quick, device=device, data_home=data_home, executor=executor, config=config)


def figure_document(res: dict[str, Any], name: str, title: str, quick: bool) -> dict[str, Any]:
    """The docs/figures.md document of the faces sweep (shared by Fig. 2(c) and 3(a))."""
    series = []
    for s in res["series"]:
        pts = []
        for p in s["points"]:
            q = dict(p)
            q["attack_ci"], q["attack_ci_method"] = p["attack_train_ci"], p["attack_train_ci_method"]
            pts.append(q)
        series.append({**s, "points": pts})
    und = next(s for s in series if s["defense"] == UNDEFENDED)["points"][0]
    cfg = res["config"]
    size = cfg["image_size"]
    return {
        "figure": name,
        "title": title,
        "dataset": f"AT&T/Olivetti faces, 40 identities x 10 images, {size}x{size} (stand-in for FaceScrub)",
        "settings": {**cfg, "quick": quick},
        "replication": replication(
            "seeds", cfg["n_seeds"], redraws="the per-identity split of the faces (training, held-out and "
            "attacker's images), the target's initialisation, the evaluation classifier and the attack's "
            "initialisation", fixed="the 400 images", test_train_ratio=res["test_train_ratio"]),
        "deviations": [
            deviation("dataset", "FaceScrub (530 identities)", f"AT&T/Olivetti faces: 40 identities x 10 images, "
                      f"{size}x{size}; per identity {cfg['n_train']} training, {cfg['n_test']} held-out and "
                      f"{cfg['n_aux']} attacker's images"),
            deviation("attacker's knowledge", "Knowledge Alignment: the target's released vectors and auxiliary "
                      "images of the same identities", "the same: the inversion network is trained on the "
                      f"attacker's {cfg['n_aux']} images per identity through the released "
                      f"{cfg['input_transform']}; output perturbations release softmax vectors"),
            deviation("scale", "inversion network width 128, 50 epochs", f"width {cfg['attack_ngf']}, "
                      f"{cfg['attack_epochs']} epochs; targets {cfg['epochs']} epochs [CPU-sized]"),
            deviation("evaluation", "an evaluation classifier judges reconstructions", "another architecture, "
                      "trained per seed on the training and attacker's images; ECE with "
                      f"{cfg['ece_bins']} equal-width bins on the held-out images"),
        ],
        "series": series,
        "baseline": {
            "attack_prior": und["mean_face_acc_train"], "attack_prior_ci": und["mean_face_acc_train_ci"],
            "attack_prior_ci_method": und["mean_face_acc_train_ci_method"],
            "values": {"attack_prior": und["values"]["mean_face_acc_train"]},
            "attack_prior_name": "the mean of the attacker's images as every reconstruction (no model)",
            "mean_face_rmse_train": und["mean_face_rmse_train"],
            "mean_face_feature_l2_train": und["mean_face_feature_l2_train"],
            "chance": 1.0 / N_IDENTITIES,
        },
        "metrics": {
            "utility": "test accuracy on held-out images of the 40 identities",
            "attack": "attack accuracy: evaluation-classifier top-1 on reconstructions of the target's training "
                      "images (attack_train; with auxiliary roles also of held-out images, attack_test)",
            "roles": "official (default): the attacker trains its inversion network on the target's test images "
                     "and is evaluated on its training images; auxiliary: on further images of the identities",
            "attack_input": "the strongest released form, whichever reconstructs the attacker's own held-out images "
                            "best: for the trained defenses (a logit release) the logits, their softmax or its log; "
                            "for output perturbations the released probabilities or their log "
                            "(attack_input_<form>: share of runs that chose that form)",
            "ece": f"ECE, {res['config']['ece_bins']} equal-width bins (Guo et al.), test images; ece_100: the "
                   "official 100 bins",
            "brier": "Brier score of the released vectors (a proper score of the whole vector; unlike ECE it does "
                     "not reward a label-only release)",
            "nll": "negative log-likelihood of the true label under the released vector (entry floored at 1e-12)",
            "rmse": "pixel RMSE sqrt(mean((x_hat - x)^2)), pixels in [0, 1]",
            "feature_l2": "L2 between evaluation-classifier penultimate features",
            "epsilon": "eps_rdp: Opacus RDP + Balle et al. 2020 conversion; eps_prv: Opacus PRV; both at delta",
        },
        "summary": summarize(series),
        "store": res["store"],
    }


def summarize(series: list[dict[str, Any]], within: float = 0.05) -> dict[str, Any]:
    """Undefended, VIB and DP-SGD points used in the "done when" comparison (attack on training images)."""
    out: dict[str, Any] = {"within_test_accuracy_points": within}
    for name, p in matched_points(series, within).items():
        if p is None:
            out[name] = None
            continue
        keep = ("knob", "utility", "utility_ci", "utility_ci_method", "attack_train", "attack_train_ci",
                "attack_train_ci_method", "attack_test", "attack_test_ci", "attack_test_ci_method", "ece", "eps_rdp",
                "eps_prv", "mean_face_acc_train")
        out[name] = {k: p[k] for k in keep if k in p}
    return out


def _errorbars(pts, key):
    """Error-bar half-widths of the 95% CIs, clipped to [0, 1] (all plotted quantities are proportions)."""
    return [[p[key] - max(p[f"{key}_ci"][0], 0.0) for p in pts], [min(p[f"{key}_ci"][1], 1.0) - p[key] for p in pts]]


def series_style(s: dict[str, Any]) -> tuple[str, str, str]:
    """Colour, marker and legend label of a series in every neural figure (:data:`defenses.registry.NEURAL`;
    the undefended model a black star)."""
    style = NEURAL.style(s["defense"])
    return style.color, style.marker, NEURAL.label(s["defense"])


def knob_label(s: dict[str, Any], p: dict[str, Any]) -> str:
    """``symbol=value`` of a point's knob (the registered symbol, else the knob's name); "" without a knob."""
    if s["knob"] is None or p["knob"] is None:
        return ""
    return f"{NEURAL.symbol(s['defense']) or s['knob']}={p['knob']:g}"


def eps_box(s: dict[str, Any], pts: list[dict[str, Any]], delta: float) -> str | None:
    """The text listing ε (RDP / PRV) of every point of an accounted defense's series (DP-SGD), else None."""
    defense = NEURAL.get(s["defense"])
    if defense is None or not defense.accounted:
        return None
    return "\n".join([f"{defense.label} ε at δ={delta:g} (RDP / PRV):"] + [
        f"{knob_label(s, p)}: {_eps_label(p)}" for p in sorted(pts, key=lambda q: q["knob"])])


def plot_ece_vs_attack(doc: dict[str, Any], path: str | os.PathLike, attack: str, xlabel: str, ylabel: str,
                       chance: float | None = None) -> Path:
    """ECE against the attack metric ``attack`` of every series, 95% CIs over seeds (Fig. 3(a), 3(b))."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.8, 4.8), dpi=120)
    for s in doc["series"]:
        pts = sorted(s["points"], key=lambda p: p[attack])
        color, marker, label = series_style(s)
        ax.errorbar([p[attack] for p in pts], [p["ece"] for p in pts], xerr=_errorbars(pts, attack),
                    yerr=_errorbars(pts, "ece"), fmt=marker, ls="-" if len(pts) > 1 else "none", color=color,
                    ms=9 if marker == "*" else 6, capsize=2, lw=1.2, label=label)
        for p in pts:
            if s["knob"] is not None:
                ax.annotate(knob_label(s, p), (p[attack], p["ece"]), textcoords="offset points",
                            xytext=(4, 4), fontsize=7, color=color)
    if chance is not None:
        ax.axvline(chance, color="0.3", ls=":", lw=1.0, label="chance")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(doc["title"], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # beside the points
    return save(fig, path)


def _eps_label(p: dict[str, Any]) -> str:
    rdp = f"{p['eps_rdp']:.3g}" if "eps_rdp" in p else "∞"
    prv = f"{p['eps_prv']:.3g}" if "eps_prv" in p else "n/a"
    return f"ε={rdp} / {prv}"


def plot(doc: dict[str, Any], path: str | os.PathLike) -> Path:
    """Attack accuracy (train: filled, held-out: hollow) vs test accuracy with 95% CIs over seeds."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(9.5, 5.2), dpi=120)
    base = doc["baseline"]
    ax.axhline(base["chance"], color="0.3", ls=":", lw=1.2, label="chance (1/40)")
    ax.axhline(base["attack_prior"], color="0.5", ls="-.", lw=1.2, label="mean-face baseline (no model)")
    for s in doc["series"]:
        pts = sorted(s["points"], key=lambda p: p["utility"])
        x = [p["utility"] for p in pts]
        color, marker, label = series_style(s)
        for part, face, ls in (("train", color, "-"), ("test", "white", "--")):
            if f"attack_{part}" not in pts[0]:  # official roles: the held-out images are the attacker's own
                continue
            ax.errorbar(x, [p[f"attack_{part}"] for p in pts], xerr=_errorbars(pts, "utility"),
                        yerr=_errorbars(pts, f"attack_{part}"), fmt=marker, ls=ls if len(pts) > 1 else "none",
                        color=color, mfc=face, ms=9 if marker == "*" else 6, capsize=2, lw=1.2,
                        label=f"{label} ({'train' if part == 'train' else 'held-out'})")
        for p in pts:
            if knob_label(s, p):
                ax.annotate(knob_label(s, p), (p["utility"], p["attack_train"]), textcoords="offset points",
                            xytext=NEURAL.style(s["defense"]).offset, fontsize=7, color=color)
        box = eps_box(s, pts, doc["settings"].get("delta"))
        if box is not None:
            ax.text(0.98, 0.02, box, transform=ax.transAxes, ha="right", va="bottom", fontsize=7,
                    color=color, bbox={"facecolor": "white", "edgecolor": "0.8", "alpha": 0.9})
    ax.set_xlabel("test accuracy (test faces)")
    ax.set_ylabel("attack accuracy (evaluation classifier)")
    ax.set_title(doc["title"], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # beside the points
    return save(fig, path)


def plot_reconstructions(doc: dict[str, Any], recon_dir: str | os.PathLike, path: str | os.PathLike) -> Path | None:
    """Grid: true training images, then reconstructions from the undefended model and from the VIB and
    DP-SGD settings of the summary (within 5 test-accuracy points; else each defense's most accurate)."""
    plt = pyplot()

    recon_dir = Path(recon_dir)
    rows: list[tuple[str, np.ndarray]] = []
    summ = doc["summary"]
    und = recon_dir / f"{recon_file_stem(Setting(UNDEFENDED, None, None))}.npz"
    if not und.is_file():
        return None
    with np.load(und) as d:
        rows.append(("true", d["true"]))
        rows.append((f"undefended (acc {summ[UNDEFENDED]['utility']:.2f})", d["recon"]))
    for s in doc["series"]:
        if s["defense"] == UNDEFENDED:
            continue
        p, tag = summ.get(s["defense"]), "matched"
        if p is None:  # nothing within 5 points: show the most accurate setting instead
            p, tag = max(s["points"], key=lambda q: q["utility"]), "most accurate"
        f = recon_dir / f"{recon_file_stem(Setting(s['defense'], s['knob'], p['knob']))}.npz"
        if f.is_file():
            with np.load(f) as d:
                knob = f" {knob_label(s, p)}" if knob_label(s, p) else ""
                rows.append((f"{s['defense']}{knob}\n({tag}, acc {p['utility']:.2f})", d["recon"]))
    n = rows[0][1].shape[0]
    fig, axes = plt.subplots(len(rows), n, figsize=(1.1 * n + 1.6, 1.2 * len(rows)), dpi=110, squeeze=False)
    for r, (label, imgs) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(imgs[c, 0] if imgs.ndim == 4 else imgs[c], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, fontsize=6.5, rotation=0, ha="right", va="center")
    fig.suptitle("Knowledge Alignment reconstructions of training images (split 0)", fontsize=9)
    return save(fig, path)


@with_scale
def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
         executor: Executor | None = None, seeds: int | None = None) -> Path:
    out_dir = Path(out_dir)
    res = faces_sweep(out_dir, quick=quick, device=device, data_home=data_home, executor=executor, seeds=seeds)
    doc = figure_document(res, NAME, "Fig. 2(c): Knowledge Alignment on faces — attack vs utility"
                          + (" (quick)" if quick else ""), quick)
    png = plot(doc, out_dir / f"{NAME}.png")
    grid = plot_reconstructions(doc, res["recon_dir"], out_dir / f"{NAME}_reconstructions.png")
    doc["png"] = png.name
    doc["reconstructions_png"] = None if grid is None else grid.name
    return write_json_atomic(out_dir / f"{NAME}.json", doc)


_OUTPUT = ("However, our experiments found that these two defenses are not effective to protect against the attacks "
           "considered in this paper regardless of the rounding precision or the noise magnitude, respectively.")
_CONSISTENT = ("Figure 2 shows that MID can consistently achieve a better utility-privacy tradeoff than DP for "
               "protecting against all the attacks.")
_VULNERABLE = ("A phenomenon consistently present in all attacks is that the more predictive power the model has, the "
               "more vulnerable it is to the attacks, regardless of the types of defenses attached to the model.")
_ECE = "We find that MID mostly achieves significantly lower ECE error than DP for a given robustness level."
#: The no-model attacker of the faces: the mean auxiliary face as every reconstruction.
NO_MODEL = ("attack_prior",)
#: The smallest difference in ECE worth detecting, fixed before looking.
ECE_EFFECT = 0.02


def perturbation_claim(attack: str, attack_label: str, **kw) -> Any:
    """"Output perturbation is not effective": :func:`paper_figs._claims.not_effective` of rounding and
    uniform noise against the same model releasing its softmax vectors unperturbed."""
    return lambda doc: not_effective(doc, reference=SOFTMAX_RELEASE, perturbations=("rounding", "uniform noise"),
                                     attack=attack, symbols=_SYMBOL, no_model=NO_MODEL, undefended=SOFTMAX_RELEASE,
                                     attack_label=attack_label, **kw)


def ece_claim(attack: str, attack_label: str) -> Any:
    """"Lower ECE at a given robustness level": the ECE frontiers of VIB and DP-SGD over every attack level
    both reach (robustness plays the utility's part; lower attack is more robust)."""
    return lambda doc: compare_tradeoffs(
        doc, *MATCHED, attack="ece", utility=attack, higher_is_better=False, relevant=COMMON_RANGE,
        effect=ECE_EFFECT, no_model=NO_MODEL, chance="chance", signal_on=(attack, "utility", True),
        attack_label="ECE", utility_label=attack_label)


def neural_claims(name: str, attack: str, attack_label: str) -> list[dict[str, Any]]:
    """The claims of Fig. 2(c) and 2(d): MID vs DP-SGD over the relevant range, the vulnerability trend
    per defense, and the dismissal of output perturbation; ``attack`` against test accuracy."""
    return [
        claim(f"{name}-mid-vs-dp", name, _CONSISTENT, lambda doc: compare_tradeoffs(
            doc, *MATCHED, attack=attack, relevant=WITHIN_5_POINTS, no_model=NO_MODEL, chance="chance",
            attack_label=attack_label, utility_label="test accuracy")),
        claim(f"{name}-vulnerability", name, _VULNERABLE, lambda doc: vulnerability_grows_with_utility(
            doc, attack=attack, exclude=(SOFTMAX_RELEASE,), no_model=NO_MODEL, chance="chance")),
        claim(f"{name}-output-perturbation", name, _OUTPUT,
              perturbation_claim(attack, attack_label, utility_label="test accuracy")),
    ]


CLAIMS = neural_claims(NAME, "attack_train", "Knowledge-Alignment attack accuracy (training faces)")
