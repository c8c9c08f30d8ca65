"""Figure 4(b): GMI (white-box generative inversion) attack accuracy vs test accuracy — VIB (MID) vs DP-SGD.

``python -m paper_figs fig4b [--quick] [--device auto] [--out DIR]`` runs (or resumes)
:func:`validation.gmi.run_gmi_sweep` on MNIST (private digits 0–4, the attacker's WGAN-GP prior trained
on the public digits 5–9; the paper used CelebA) and writes ``fig4b.json`` (docs/figures.md schema) and
``fig4b.png``: (left) top-1 attack accuracy of the judge on the reconstructions against the target's
held-out accuracy, per defense and knob, with 95% CIs over seeds — the headline judge knows all ten digits
(chance 1/10) and has seen the private training images (filled), the held-out judge learned the private
digits from images disjoint from the target's training set (hollow, dashed) — with chance and the GAN-only
baseline (random prior samples, no target); (middle) the headline judge's confidence in the true identity;
(right) the KNN feature distance of the reconstructions to the identity's private training images (filled)
and held-out images (hollow) in the held-out judge's features (a network that never saw the private
training images). ``summary`` holds the
comparison the paper's claim rests on: the most protective VIB and DP-SGD settings within 5 points of
the undefended test accuracy and their paired per-seed difference in attack accuracy. Per-run results
live in ``gmi_sweep[_quick].json`` and are shared with Fig. 4(a).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from dataclasses import replace

from paper_figs._claims import WITHIN_5_POINTS, claim, close_everywhere, compare_tradeoffs, \
    vulnerability_grows_with_utility
from paper_figs._common import check_seeds, deviation, pyplot, replication, save
from validation.engine import Executor
import validation.gmi as vg
from defenses.registry import NEURAL
from paper_figs.fig2c import knob_label
from validation.configs import MATCHED, quick_scale
from validation.gmi import GMIConfig, closest_pair, matched_within, paired_difference, run_gmi_sweep
from validation.store import write_json_atomic
from validation.sweep import Setting

NAME = "fig4b"
N_IDENTITIES = 5
WITHIN = 0.05
#: A "large margin" in attack accuracy (fraction of identities), for the verdict on the paper's claim.
LARGE_MARGIN = 0.10
VIB, DP = MATCHED  # the paper's comparison: MID (VIB) against DP-SGD
_METRICS = ("knob", "utility", "utility_ci", "attack_acc_top1", "attack_acc_top1_ci", "attack_acc_top5",
            "success_any_of_5_restarts", "success_any_of_5_restarts_ci", "confidence_true", "confidence_true_ci",
            "heldout_attack_acc_top1", "heldout_attack_acc_top1_ci", "private5_attack_acc_top1",
            "private5_attack_acc_top1_ci", "knn_dist_train", "knn_dist_test", "heldout_knn_dist_train",
            "heldout_knn_dist_test", "pixel_mse_identity_mean", "eps_rdp", "eps_prv")
#: What each point keeps: the metrics, and the method of every interval.
_KEEP = _METRICS + tuple(f"{k}_method" for k in _METRICS if k.endswith("_ci"))
#: Chance top-1 of the headline and held-out judges (ten digits) and of the earlier five-digit judge.
CHANCE = {"judge10": 0.1, "heldout": 0.1, "private5": 1.0 / N_IDENTITIES}


def _setting(defense: str, knob: str | None, p: dict[str, Any]) -> Setting:
    return Setting(defense, knob, None if knob is None else float(p["knob"]))


def gmi_sweep(out_dir, *, quick: bool, device: str, data_home, executor: Executor | None,
              config: GMIConfig | None, seeds: int | None, scale: str | None = None) -> dict[str, Any]:
    """Run or resume the GMI sweep of Fig. 4(a)/4(b) at ``scale`` (:data:`validation.configs.SCALES`; None:
    the device's default, ``quick=True``: quick); ``seeds`` overrides the configuration's seeds."""
    scale = quick_scale(quick, scale)
    if check_seeds(seeds) is not None:
        config = replace(config or vg.scaled_config(scale, device), n_seeds=seeds)
    return run_gmi_sweep(out_dir, scale=scale, device=device, data_home=data_home, config=config, executor=executor)


def figure_document(res: dict[str, Any], name: str, title: str, quick: bool) -> dict[str, Any]:
    """The docs/figures.md document of the GMI sweep (shared by Fig. 4(a) and 4(b))."""
    series = []
    for s in res["series"]:
        pts = [{**p, "attack": p["attack_acc_top1"], "attack_ci": p["attack_acc_top1_ci"],
                "attack_ci_method": p["attack_acc_top1_ci_method"]} for p in s["points"]]
        series.append({**s, "points": pts})
    base = res["baseline"]
    cfg = res["config"]
    return {
        "figure": name,
        "title": title,
        "dataset": res["data"],
        "settings": {**cfg, "quick": quick},
        "replication": replication(
            "seeds", cfg["n_seeds"], redraws="the target's initialisation and the attack's starting points (the "
            "same for every setting of a seed) and, with settings.artifacts_per_seed, the attacker's GAN prior and "
            "the judges", fixed="the private training and held-out images (and the prior and judges otherwise)"),
        "deviations": [
            deviation("dataset", "CelebA (1,000 identities, 64x64)", res["data"].split(":")[0]
                      + f" [configuration {cfg['name']}]"),
            deviation("attacker's knowledge", "GMI: white-box target, a GAN prior trained on public images of other "
                      "identities", f"the same: the prior is trained on the public digits 5-9 (width "
                      f"{cfg['gan_dim']}, {cfg['gan_epochs']} epochs); {cfg['attack_iterations']} iterations, "
                      f"{cfg['n_restarts']} restarts, {cfg['attacks_per_identity']} attacks per identity"),
            deviation("evaluation", "an evaluation classifier of another architecture", "the same, trained once on "
                      "the private training images (fixed across seeds)"),
        ],
        "artifacts": res["artifacts"],
        "series": series,
        "baseline": {
            "attack_prior": base["attack_acc_top1"], "attack_prior_ci": base["attack_acc_top1_ci"],
            "attack_prior_ci_method": base["attack_acc_top1_ci_method"],
            "values": {"attack_prior": base["values"]["attack_acc_top1"]},
            "attack_prior_name": "GAN-only: random samples of the attacker's prior as reconstructions (no target), "
                                 "scored by the headline (ten-digit) judge",
            "chance": CHANCE["judge10"],
            "chance_name": "top-1 of a judge answering uniformly among its ten digits",
            "chance_heldout": CHANCE["heldout"], "chance_private5": CHANCE["private5"],
            "gan_only": {k: v for k, v in base.items() if k not in ("knob", "runs")},
        },
        "metrics": {
            "utility": "test accuracy of the target on held-out private images (digits 0-4)",
            "attack": "attack_acc_top1: the headline judge's top-1 class is the attacked identity; the judge knows "
                      "all ten digits (private training images and as many public images per digit), so a "
                      "reconstruction that looks like a public digit is not credited to a private identity",
            "heldout_*": "the same metrics under the held-out judge: ten digits, its private digits learned from "
                         "held-out images disjoint from the target's training set (it never saw a private training "
                         "image; its features are the network of heldout_knn_dist_*)",
            "private5_*": "the same metrics under the earlier five-digit judge (private training images only): any "
                          "digit-like image is credited to a private identity (chance 1/5)",
            "confidence_true": "the judge's probability of the attacked identity on the reconstruction (continuous)",
            "attack_acc_top5": "identity among the judge's top 5",
            "success_any_of_5_restarts": "top-1 correct for at least one of the 5 restarts (official GMI 'Acc5')",
            "knn_dist_train / knn_dist_test": "min L2 between the judge's penultimate features of the "
                                              "reconstruction and of the identity's private training / held-out images",
            "feat_dist_train / feat_dist_test": "L2 to the mean feature of those images",
            "pixel_mse_identity_mean": "pixel MSE to the identity's mean private training image (official MID metric)",
            "epsilon": "eps_rdp: Opacus RDP + Balle et al. 2020 conversion; eps_prv: Opacus PRV; both at delta",
            "point.trials": "point['trials'][metric]: reconstructions behind each proportion, one count per seed",
            "ci": "95% interval over seeds: Student t, widened to the Wilson interval of the pooled counts for the "
                  "accuracies (the method is beside every interval)",
        },
        "summary": summarize(series, res["runs"], res["config"]["n_seeds"]),
        "store": res["store"],
    }


def summarize(series: list[dict[str, Any]], runs: dict[str, dict[str, float]], n_seeds: int,
              within: float = WITHIN) -> dict[str, Any]:
    """The comparisons behind the paper's claims (see :data:`CLAIMS`)."""
    by = {s["defense"]: s for s in series}
    out: dict[str, Any] = {"within_test_accuracy_points": within}
    matched = matched_within(series, within)
    for name, p in matched.items():
        out[name] = None if p is None else {k: p[k] for k in _KEEP if k in p}
    if matched.get(VIB) is not None and matched.get(DP) is not None:
        out["margin_dp_minus_vib"] = paired_difference(
            runs, _setting(DP, by[DP]["knob"], matched[DP]), _setting(VIB, by[VIB]["knob"], matched[VIB]), n_seeds)
    else:
        out["margin_dp_minus_vib"] = None
    pair = closest_pair(series)
    if pair is None:
        out["closest_pair"] = None
    else:
        v, d = pair
        out["closest_pair"] = {
            VIB: {k: v[k] for k in _KEEP if k in v}, DP: {k: d[k] for k in _KEEP if k in d},
            "utility_gap": abs(v["utility"] - d["utility"]),
            "difference_dp_minus_vib": paired_difference(runs, _setting(DP, by[DP]["knob"], d),
                                                         _setting(VIB, by[VIB]["knob"], v), n_seeds),
        }
    return out


def dataset_label(res: dict[str, Any]) -> str:
    """"MNIST" or "8x8 digits", with the configuration's name unless it is the full one."""
    cfg = res["config"]
    label = "MNIST" if cfg["dataset"] == "mnist" else "8x8 digits"
    return label if cfg["name"] == "full" else f"{label} ({cfg['name']})"


def _fmt_eps(p: dict[str, Any]) -> str:
    rdp = f"{p['eps_rdp']:.3g}" if "eps_rdp" in p else "∞"
    prv = f"{p['eps_prv']:.3g}" if "eps_prv" in p else "n/a"
    return f"ε={rdp} (RDP) / {prv} (PRV)"


def _point_label(defense: str, p: dict[str, Any] | None) -> str:
    if p is None:
        return f"{defense}: no setting within {WITHIN * 100:.0f} points"
    d = NEURAL.get(defense)
    head = f"{defense} {knob_label({'defense': defense, 'knob': d.knob if d else None}, p)}".rstrip()
    return f"{head}, {_fmt_eps(p)}" if d is not None and d.accounted else head


# --------------------------------------------------------------------------------------------- claims

#: The no-model attacker: random samples of the GAN prior as reconstructions (no target).
NO_MODEL = ("attack_prior",)
#: "Close on training and test": a relative difference of the KNN feature distance within 10%, fixed before looking.
CLOSE = 0.10

CLAIMS: list[dict[str, Any]] = [
    claim("gmi-mid-beats-dp-large-margin", NAME, "We find that MID can outperform DP by a large margin to defend "
          "against whitebox MI attacks.", lambda doc: compare_tradeoffs(
              doc, VIB, DP, attack="attack_acc_top1", relevant=WITHIN_5_POINTS, margin=LARGE_MARGIN,
              no_model=NO_MODEL, chance="chance", attack_label="GMI top-1 attack accuracy",
              utility_label="test accuracy")),
    claim("gmi-utility-vulnerability", NAME, "A phenomenon consistently present in all attacks is that the more "
          "predictive power the model has, the more vulnerable it is to the attacks, regardless of the types of "
          "defenses attached to the model.", lambda doc: vulnerability_grows_with_utility(
              doc, attack="attack_acc_top1", no_model=NO_MODEL, chance="chance")),
    claim("gmi-train-test-close", NAME, "One common observation from all defense results is that the attack "
          "performance is very close on training and test set.", lambda doc: close_everywhere(
              doc, "knn_dist_test", "knn_dist_train", relative=True, margin=CLOSE,
              label="relative difference of the KNN feature distance of GMI reconstructions to held-out vs training "
                    "images")),
]


# --------------------------------------------------------------------------------------------- plot


def _errorbars(pts, key, clip: tuple[float, float] = (0.0, 1.0)):
    """Error-bar half-widths of the 95% CIs, clipped to ``clip`` (proportions to [0, 1], distances to >= 0)."""
    lo_c, hi_c = clip
    return [[p[key] - max(p[f"{key}_ci"][0], lo_c) for p in pts], [min(p[f"{key}_ci"][1], hi_c) - p[key] for p in pts]]


def plot(doc: dict[str, Any], path: str | os.PathLike) -> Path:
    """Top-1 under both ten-digit judges, the judge's confidence, and the held-out judge's KNN distances,
    each against test accuracy."""
    plt = pyplot()
    fig, (ax, cx, bx) = plt.subplots(1, 3, figsize=(17.5, 5.2), dpi=120)
    base = doc["baseline"]
    ax.axhline(base["chance"], color="0.3", ls=":", lw=1.2, label="chance (1/10, ten-digit judges)")
    lo, hi = base["attack_prior_ci"]
    ax.axhspan(max(lo, 0), min(hi, 1), color="0.6", alpha=0.12, lw=0)
    ax.axhline(base["attack_prior"], color="0.45", ls="-.", lw=1.2, label="GAN-only baseline (no target)")
    gan = base["gan_only"]
    cx.axhline(gan["confidence_true"], color="0.45", ls="-.", lw=1.2, label="GAN-only (no target)")
    bx.axhline(gan["heldout_knn_dist_train"], color="0.45", ls="-.", lw=1.2, label="GAN-only (to training images)")
    eps_lines, eps_color = [], "black"
    for s in doc["series"]:
        look = NEURAL.style(s["defense"])
        color, marker = look.color, look.marker
        pts = sorted(s["points"], key=lambda p: p["utility"])
        x = [p["utility"] for p in pts]
        ls = "-" if len(pts) > 1 else "none"
        dashed = "--" if len(pts) > 1 else "none"
        ms = 10 if marker == "*" else 6
        for key, face, style, what in (("attack_acc_top1", color, ls, ""), ("heldout_attack_acc_top1", "white",
                                                                            dashed, " (held-out judge)")):
            ax.errorbar(x, [p[key] for p in pts], xerr=_errorbars(pts, "utility") if not what else None,
                        yerr=_errorbars(pts, key), fmt=marker, ls=style, color=color, mfc=face, ms=ms, capsize=2,
                        lw=1.2, label=s["defense"] + what)
        cx.errorbar(x, [p["confidence_true"] for p in pts], yerr=_errorbars(pts, "confidence_true"), fmt=marker,
                    ls=ls, color=color, ms=ms, capsize=2, lw=1.2, label=s["defense"])
        for part, face, style in (("train", color, ls), ("test", "white", dashed)):
            key = f"heldout_knn_dist_{part}"
            which = "training" if part == "train" else "held-out"
            bx.errorbar(x, [p[key] for p in pts], yerr=_errorbars(pts, key, (0.0, np.inf)), fmt=marker, ls=style,
                        color=color, mfc=face, ms=ms, capsize=2, lw=1.2, label=f"{s['defense']} ({which} images)")
        for p in pts:
            if knob_label(s, p):
                ax.annotate(knob_label(s, p), (p["utility"], p["attack_acc_top1"]), textcoords="offset points",
                            xytext=look.offset, fontsize=7, color=color)
        if NEURAL.get(s["defense"]) is not None and NEURAL[s["defense"]].accounted:
            eps_color = color
            eps_lines += [f"{knob_label(s, p)}: {_fmt_eps(p)}" for p in sorted(pts, key=lambda q: q["knob"])]
    if eps_lines:
        delta = doc["settings"].get("delta")
        ax.text(0.02, 0.98, "\n".join([f"DP-SGD at δ={delta:g}:"] + eps_lines), transform=ax.transAxes, ha="left",
                va="top", fontsize=7, color=eps_color,
                bbox={"facecolor": "white", "edgecolor": "0.8", "alpha": 0.9})
    for axis in (ax, cx, bx):
        axis.set_xlabel("test accuracy (held-out private digits)")
        axis.grid(alpha=0.3)
    ax.set_ylabel("GMI attack accuracy (ten-digit judge, top-1)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(doc["title"], fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    cx.set_ylabel("judge's probability of the attacked identity")
    cx.set_ylim(-0.03, 1.03)
    cx.set_title("confidence of the headline judge", fontsize=10)
    cx.legend(fontsize=7, loc="best")
    bx.set_ylabel("KNN feature distance (held-out judge's features)")
    bx.set_title("distance to the identity's private images", fontsize=10)
    bx.legend(fontsize=7, loc="best")
    return save(fig, path)


def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
         executor: Executor | None = None, config: GMIConfig | None = None, seeds: int | None = None,
         scale: str | None = None) -> Path:
    """Run or resume the GMI sweep and write ``fig4b.json`` and ``fig4b.png``; return the JSON's path.

    ``config`` overrides the configuration (default: that of ``scale``, :func:`validation.gmi.scaled_config`, or
    the device's default), ``seeds`` its number of seeds.
    """
    out_dir = Path(out_dir)
    quick = quick_scale(quick, scale) == "quick"
    res = gmi_sweep(out_dir, quick=quick, device=device, data_home=data_home, executor=executor, config=config,
                    seeds=seeds, scale=scale)
    doc = figure_document(res, NAME, f"Fig. 4(b): GMI on {dataset_label(res)} — attack vs utility", quick)
    doc["png"] = plot(doc, out_dir / f"{NAME}.png").name
    doc["claims"] = [{"id": c["id"], **c["evaluate"](doc)} for c in CLAIMS]
    return write_json_atomic(out_dir / f"{NAME}.json", doc)
