"""Figure 2(d): Update-Leaks label-inference accuracy vs test accuracy — VIB (MID) vs DP-SGD.

``python -m paper_figs fig2d [--quick] [--device auto] [--out DIR]`` runs (or resumes)
:func:`validation.update_leaks.run_update_leaks_sweep` — undefended, VIB over a β grid and DP-SGD over a
noise grid, 5 seeds (``--quick``: 3), on MNIST (the documented stand-in for the paper's CIFAR-10; ``--quick``: 8×8 digits)
— and writes ``fig2d.json`` (docs/figures.md schema; ``summary`` holds each defense's most protective
setting within 5 points of the undefended test accuracy, with ε and ECE) and ``fig2d.png``: attack
accuracy vs test accuracy with 95% intervals over seeds, the chance level (1/classes) and the no-model
baseline (always the most frequent label of the shadow updates). Per-run results are kept in
``update_leaks_sweep[_quick].json`` and shared with Fig. 3(b). Two output-perturbation series — the
undefended CNN releasing only rounded probability vectors (knob r) or vectors with uniform noise (knob a;
:mod:`defenses.output`), attacked through Δ of what it releases — and their reference, the same CNN
releasing unperturbed softmax vectors, test the paper's dismissal of these defenses.

Each series says which record its defense protects (``protects``, in the legend): DP-SGD protects the
*training* set, while the attacked record enters through the update step — so the ``DP update step``
series (the update itself (ε, δ)-DP for the update record, :class:`defenses.neural.PrivateUpdate`; knob
ε) is the DP baseline for this attack. ``VIB (mean latent)`` is the same VIB released with z = μ. A second
panel draws the attack accuracy against the attacker's query budget k (each probe queried k times before
and after the update, Δ averaged; k = 1 is the official protocol): a defense whose protection is per-query
noise loses it as k grows; a deterministic release is flat by construction.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dataclasses import replace

from paper_figs._common import check_seeds, deviation, pyplot, replication, save
from defenses.registry import NEURAL
from paper_figs.fig2c import _errorbars, eps_box, knob_label, neural_claims, series_style
from validation.engine import Executor
from validation.store import write_json_atomic
import validation.update_leaks as vu
from validation.configs import MATCHED, UNDEFENDED, quick_scale
from validation.update_leaks import matched_points, run_update_leaks_sweep

NAME = "fig2d"
N_CLASSES = 10

_DATASET = {
    "mnist": "MNIST (stand-in for CIFAR-10, which cannot be fetched here): roles from the 60,000 training "
             "images, test accuracy and ECE on the 10,000 test images",
    "digits": "scikit-learn 8x8 digits (quick check; stand-in for CIFAR-10): every role, the test set included, from "
              "the 1,797 images",
}


def dataset_label(res: dict[str, Any], quick: bool) -> str:
    """The title's data part: the quick digits, or MNIST with the configuration's name unless it is the full one."""
    if quick:
        return " (quick, 8x8 digits)"
    name = res["config"].get("name", "full")
    return " (MNIST)" if name == "full" else f" (MNIST, {name} configuration)"


def update_leaks_sweep(out_dir, *, quick: bool, device: str, data_home, executor: Executor | None,
                       seeds: int | None, scale: str | None = None) -> dict[str, Any]:
    """Run or resume the Update-Leaks sweep of Fig. 2(d)/3(b) at ``scale`` (:data:`validation.configs.SCALES`;
    None: the device's default, ``quick=True``: quick); ``seeds`` overrides the configuration's seeds."""
    scale = quick_scale(quick, scale)
    config = None
    if check_seeds(seeds) is not None:
        config = replace(vu.scaled_config(scale, device), n_seeds=seeds)
    return run_update_leaks_sweep(out_dir, scale=scale, device=device, data_home=data_home, executor=executor,
                                  config=config)


def figure_document(res: dict[str, Any], name: str, title: str) -> dict[str, Any]:
    """The docs/figures.md document of the Update-Leaks sweep (shared by Fig. 2(d) and 3(b))."""
    cfg = res["config"]
    series = [{**s, "points": [{**p} for p in s["points"]]} for s in res["series"]]
    for s in series:
        defense = NEURAL.get(s["defense"])
        for p in s["points"]:  # a private update step's ε is its knob; DP-SGD's comes from its accountants
            if defense is not None and defense.kind == "update" and defense.knob == "epsilon":
                p["eps_update_replace"] = p["knob"]
    und = next(s for s in series if s["defense"] == UNDEFENDED)["points"][0]
    roles = (f"target {cfg['n_target']}, shadow {cfg['n_shadow']}, shadow updates {cfg['n_shadow_updates']}, "
             f"target updates {cfg['n_target_updates']}, probes {cfg['probes_per_class']} per class"
             + (f", test {cfg['n_test']}" if cfg["n_test"] else ""))
    test = (f"{cfg['n_test']} test images carved from the pool" if cfg["n_test"] else "the MNIST test file")
    return {
        "figure": name,
        "title": title,
        "dataset": f"{_DATASET[cfg['dataset']]}; {roles}",
        "settings": cfg,
        "replication": replication(
            "seeds", cfg["n_seeds"], redraws="the roles drawn from the pool (target, shadow, updates, probes), "
            "every model's initialisation and the attack", fixed=test,
            test_train_ratio=res["test_train_ratio"]),
        "deviations": [
            deviation("dataset", "CIFAR-10", _DATASET[cfg["dataset"]].split(":")[0].split(" (")[0]
                      + f" [configuration {cfg.get('name', 'full')}]"),
            deviation("roles", "the official code's role sizes", roles),
            deviation("attacker's knowledge and queries", "a shadow model of the same kind, its own updates, the "
                      "target's output on a probe set before and after each update", f"the same: "
                      f"{cfg['probes_per_class']} probes per class queried twice per update; the attacker sees "
                      "logits, or the released vectors of an output perturbation"),
            deviation("calibration", "ECE (bins not stated)", f"{cfg['ece_bins']} equal-width bins on the test "
                      "images, predict_proba as released"),
        ],
        "series": series,
        "baseline": {
            "attack_prior": und["prior"], "attack_prior_ci": und["prior_ci"],
            "attack_prior_ci_method": und["prior_ci_method"], "values": {"attack_prior": und["values"]["prior"]},
            "attack_prior_name": "no model: always the most frequent label of the shadow updates",
            "chance": 1.0 / N_CLASSES,
        },
        "metrics": {
            "utility": "test accuracy of the target",
            "attack": "label-inference accuracy on the target updates (attack network after its last round)",
            "attack_round_mean": "the official metric: accuracy averaged over the snapshots after each round",
            "ece": f"ECE, {cfg['ece_bins']} equal-width bins, test images, predict_proba as released (output "
                   "perturbation: the released vectors' largest entry as confidence)",
            "delta_rms": "root mean square of the observed change on the probes (of the logits; of the released "
                         "vectors for the output perturbations)",
            "epsilon": "eps_rdp: Opacus RDP + Balle et al. 2020 conversion; eps_prv: Opacus PRV; both at delta",
            "attack_q<k>": "label-inference accuracy of an attacker that queries every probe k times before and after "
                           "the update and averages (shadow updates simulated with the same budget); queries_identical: "
                           "every query gets the same answer (deterministic model and release), so k changes nothing",
            "protects": "which record the series' defense protects (DP-SGD: the training set; DP update step: the "
                        "update record, the one the attack infers)",
            "DP update step": "the undefended CNN whose update step is (ε, δ)-DP for the update record (clipped gradient "
                              "+ Gaussian noise; knob: ε at delta, replace-one adjacency, exact Gaussian profile; "
                              "eps_add_remove beside it); utility: test accuracy of the model served after the update",
            "VIB (mean latent)": "the VIB networks of the VIB series released with z = mu (no per-query noise)",
            "ece_15 / ece_100": "ECE with 15 (Guo et al.) and 100 (official Knowledge Alignment) bins",
            "brier": "Brier score of the released vectors (proper; unlike ECE it does not reward a label-only release)",
            "nll": "negative log-likelihood of the true label (released entry floored at 1e-12)",
            "point.trials": "point['trials'][metric]: target updates behind each accuracy, one count per seed",
        },
        "queries": list(cfg.get("queries", [1])),
        "summary": summarize(series, ratio=res.get("test_train_ratio", 0.0)),
        "store": res["store"],
    }


def summarize(series: list[dict[str, Any]], within: float = 0.05, ratio: float = 0.0) -> dict[str, Any]:
    """Undefended, VIB and DP-SGD points of the "done when" comparison (and the output perturbations' with
    their softmax reference, the mean-latent VIB and the private update, where the sweep has them), and
    whether VIB's ECE is below DP's: the paired difference over seeds (``ratio``: the seeds' test/train
    ratio, for the corrected resampled t), one-sided at 5 %; None when no interval exists."""
    out: dict[str, Any] = {"within_test_accuracy_points": within}
    keep = ("knob", "utility", "utility_ci", "utility_ci_method", "attack", "attack_ci", "attack_ci_method",
            "attack_round_mean", "ece", "ece_ci", "ece_ci_method", "eps_rdp", "eps_prv", "eps_update_replace",
            "eps_add_remove", "per_seed", "queries_identical",
            *(k for k in (series[0]["points"][0] if series else {}) if k.startswith("attack_q")))
    matched = matched_points(series, within)
    for name, p in matched.items():
        out[name] = None if p is None else {k: p[k] for k in keep if k in p}
    vib, dp = (matched[name] for name in MATCHED)
    out["vib_ece_below_dp"] = None if vib is None or dp is None else bool(vib["ece"] < dp["ece"])
    out["vib_ece_below_dp_test"] = None if vib is None or dp is None else _paired_ece(vib, dp, ratio)
    test = out["vib_ece_below_dp_test"]
    out["vib_ece_significantly_below_dp"] = None if test is None or test["ci"] is None else test["p_less"] < 0.05
    out["protects"] = {s["defense"]: s.get("protects", "") for s in series}
    return out


def _paired_ece(vib: dict[str, Any], dp: dict[str, Any], ratio: float) -> dict[str, Any]:
    """VIB's ECE minus DP-SGD's, seed by seed (the same seeds draw the same roles): mean, 95 % interval, its
    method and the one-sided p-value of "below 0" (an interval that does not exist, or a difference that
    never varies, gives no p-value: nothing is claimed from it)."""
    from validation.statistics import contrast

    diffs = [a - b for a, b in zip(vib["per_seed"]["ece"], dp["per_seed"]["ece"])]
    est = contrast(diffs, ratio=ratio)
    ci = est.interval() if est.se > 0 else None
    return {"mean_difference": est.value, "ci": None if ci is None else list(ci),
            "ci_method": est.method if ci is not None else "n/a (fewer than two seeds or no variation)",
            "p_less": est.p_value(0.0, "less") if ci is not None else None, "seeds": len(diffs)}


def _style(s: dict[str, Any]) -> tuple[str, str, str]:
    color, marker, label = series_style(s)
    protects = s.get("protects")
    return color, marker, f"{label} (protects {protects})" if protects else label


def plot(doc: dict[str, Any], path: str | os.PathLike) -> Path:
    """Left: attack accuracy vs test accuracy with 95% CIs over seeds, chance and the label-prior baseline;
    right: attack accuracy against the attacker's query budget k, every setting."""
    plt = pyplot()
    queries = doc.get("queries") or [1]
    fig, (ax, qx) = plt.subplots(1, 2, figsize=(16.5, 5.6), dpi=120, gridspec_kw={"width_ratios": [1.25, 1]})
    base = doc["baseline"]
    for a in (ax, qx):
        a.axhline(base["chance"], color="0.3", ls=":", lw=1.2, label=f"chance (1/{N_CLASSES})")
        a.axhline(base["attack_prior"], color="0.5", ls="-.", lw=1.2, label="label-prior baseline (no model)")
    for s in doc["series"]:
        pts = sorted(s["points"], key=lambda p: p["utility"])
        color, marker, label = _style(s)
        ax.errorbar([p["utility"] for p in pts], [p["attack"] for p in pts], xerr=_errorbars(pts, "utility"),
                    yerr=_errorbars(pts, "attack"), fmt=marker, ls="-" if len(pts) > 1 else "none", color=color,
                    ms=9 if marker == "*" else 6, capsize=2, lw=1.2, label=label)
        for p in pts:
            if s["knob"] is not None:
                ax.annotate(knob_label(s, p), (p["utility"], p["attack"]), textcoords="offset points",
                            xytext=NEURAL.style(s["defense"]).offset, fontsize=7, color=color)
            ys = [p.get(f"attack_q{k}", p["attack"] if k == 1 else None) for k in queries]
            if None not in ys and len(queries) > 1:
                qx.plot(queries, ys, marker=marker, color=color, lw=1.1, ms=5, alpha=0.9,
                        ls="--" if p.get("queries_identical") else "-")
                tag = "" if s["knob"] is None else f" {knob_label(s, p)}"
                qx.annotate(f"{s['defense']}{tag}", (queries[-1], ys[-1]), textcoords="offset points",
                            xytext=(4, 0), fontsize=6, color=color, va="center")
        box = eps_box(s, pts, doc["settings"]["delta"])
        if box is not None:
            ax.text(0.02, 0.98, box, transform=ax.transAxes, ha="left", va="top", fontsize=7,
                    color=color, bbox={"facecolor": "white", "edgecolor": "0.8", "alpha": 0.9})
    ax.set_xlabel("test accuracy")
    ax.set_ylabel("label-inference accuracy (target updates)")
    ax.set_ylim(0, 1.02)
    ax.set_title(doc["title"], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.12), borderaxespad=0, ncol=2)
    qx.set_xscale("log")
    qx.set_xticks(queries, [str(k) for k in queries])
    qx.set_xlim(queries[0] * 0.8, queries[-1] * 3.5)
    qx.set_ylim(0, 1.02)
    qx.set_xlabel("queries per probe and pass, k (k = 1: official; dashed: every query answered alike)")
    qx.set_ylabel("label-inference accuracy (target updates)")
    qx.set_title("the attacker's query budget", fontsize=10)
    qx.grid(alpha=0.3)
    return save(fig, path)


def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
         executor: Executor | None = None, seeds: int | None = None, scale: str | None = None) -> Path:
    out_dir = Path(out_dir)
    quick = quick_scale(quick, scale) == "quick"
    res = update_leaks_sweep(out_dir, quick=quick, device=device, data_home=data_home, executor=executor,
                             seeds=seeds, scale=scale)
    doc = figure_document(res, NAME, "Fig. 2(d): Update-Leaks label inference vs utility" + dataset_label(res, quick))
    doc["png"] = plot(doc, out_dir / f"{NAME}.png").name
    return write_json_atomic(out_dir / f"{NAME}.json", doc)


#: The no-model attacker of Update-Leaks (``NO_MODEL`` of Fig. 2(c) names the same key, ``attack_prior``): always
#: the most frequent label of the shadow updates.
CLAIMS = neural_claims(NAME, "attack", "Update-Leaks label-inference accuracy")
