"""Figure 2(a): Naive MAP attack accuracy vs test MSE of linear regression on IWPC warfarin — MID vs AdaSSP.

``python -m paper_figs fig2a [--quick] [--out DIR]`` runs :func:`validation.linear.run_linear_sweep`
(100 random 80/20 splits per setting, or 10 splits and a coarse grid with ``--quick``), writes
``fig2a.json`` (docs/figures.md schema, plus a ``summary`` of the attack accuracy of each defense at its
most protective setting whose MSE is within 5% and within 25% of the undefended model's) and
``fig2a.png``. Per-split results are kept in ``fig2a[.quick].runs.json`` so an interrupted run resumes.
Where IBM ART is installed, the figure also draws (``art_series``) the accuracy of ART's
``AttributeInferenceBlackBox`` against the same models (dotted, test patients).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from defenses.registry import LINEAR
from paper_figs._claims import WITHIN_10_PERCENT, claim, compare_tradeoffs, vulnerability_grows_with_utility
from paper_figs._common import check_seeds, deviation, pyplot, replication, save, with_scale
from validation.engine import Executor
from validation.linear import FULL_GRID, QUICK_GRID, run_linear_sweep, within_mse_budget
from validation.store import write_json_atomic

#: Sweep sizes: the paper's 100 splits, or a fast check.
CONFIGS: dict[str, dict[str, Any]] = {
    "full": {"n_splits": 100, **FULL_GRID},
    "quick": {"n_splits": 10, **QUICK_GRID},
}
MSE_TOLERANCES = (0.05, 0.25)


def _style(defense: str) -> tuple[str, str]:
    """Colour and marker of a series (:data:`defenses.registry.LINEAR`)."""
    style = LINEAR.style(defense)
    return style.color, style.marker



def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """Attack accuracy of each defense at its most protective setting within each MSE tolerance."""
    undefended = next(s for s in doc["series"] if s["defense"] == "undefended")["points"][0]
    out: dict[str, Any] = {"undefended_mse": undefended["utility"],
                           "undefended_attack_test": undefended["attack_test"],
                           "undefended_attack_test_ci": undefended["attack_test_ci"],
                           "undefended_attack_test_ci_method": undefended["attack_test_ci_method"]}
    for s in doc["series"]:
        if s["defense"] == "undefended":
            continue
        for tol in MSE_TOLERANCES:
            p = within_mse_budget(s, undefended["utility"], tol)
            out[f"{s['defense']}@mse+{round(tol * 100)}%"] = None if p is None else {
                s["knob"]: p["knob"], "utility": p["utility"], "attack_test": p["attack_test"],
                "attack_test_ci": p["attack_test_ci"], "attack_test_ci_method": p["attack_test_ci_method"],
                "attack_train": p["attack_train"],
                "auroc_test": p["auroc_test"]}
    return out


def plot(doc: dict[str, Any], path: str | os.PathLike) -> Path:
    """Attack accuracy (test: filled, train: hollow) vs test MSE, one curve per defense, with 95% CIs."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7.0, 5.0), dpi=120)
    base = doc["baseline"]
    for key, label, style in (("prior", "prior only (no model)", ":"),
                              ("known_attributes", "prior + known attributes (no model)", "-."),
                              ("no_model", "known attributes + dose ('ideal', the no-model attacker)", "-")):
        ax.axhline(base[f"attack_{key}"], color="tab:purple" if key == "no_model" else "0.4", ls=style, lw=1.2,
                   label=label)
        if base.get(f"attack_{key}_ci"):
            ax.axhspan(*base[f"attack_{key}_ci"], color="0.5", alpha=0.12, lw=0)
    for s in doc["series"]:
        pts = sorted(s["points"], key=lambda p: p["utility"])
        x = [p["utility"] for p in pts]
        xerr = [[p["utility"] - p["utility_ci"][0] for p in pts], [p["utility_ci"][1] - p["utility"] for p in pts]]
        if s["defense"] == "undefended":
            p = pts[0]
            for part, face in (("test", "black"), ("train", "white")):
                ci = p[f"attack_{part}_ci"]
                ax.errorbar(x, [p[f"attack_{part}"]], xerr=xerr, yerr=[[p[f"attack_{part}"] - ci[0]], [ci[1] - p[f"attack_{part}"]]],
                            fmt="*", ms=13, color="black", mfc=face, capsize=3,
                            label=f"undefended OLS ({part})")
            continue
        color, marker = _style(s["defense"])
        for part, ls, face in (("test", "-", color), ("train", "--", "white")):
            y = [p[f"attack_{part}"] for p in pts]
            yerr = [[p[f"attack_{part}"] - p[f"attack_{part}_ci"][0] for p in pts],
                    [p[f"attack_{part}_ci"][1] - p[f"attack_{part}"] for p in pts]]
            ax.errorbar(x, y, xerr=xerr if part == "test" else None, yerr=yerr, fmt=marker, ls=ls, color=color,
                        mfc=face, ms=6, capsize=2, lw=1.3, label=f"{s['defense']} ({part})")
        knob = {"mid_lambda": "λ", "epsilon": "ε"}.get(s["knob"], s["knob"])
        for p in pts:
            ax.annotate(f"{knob}={p['knob']:g}", (p["utility"], p["attack_test"]), textcoords="offset points",
                        xytext=(4, 4), fontsize=7, color=color)
    for s in doc.get("assisted_series") or []:
        pts = sorted(s["points"], key=lambda p: p["utility"])
        color, marker = _style(s["defense"])
        ax.plot([p["utility"] for p in pts], [p["attack_test"] for p in pts], ls=(0, (1, 1)), marker=marker,
                ms=9 if marker == "*" else 5, mfc="white", color=color, lw=1.2,
                label=f"{s['defense']}: model-assisted attacker (test)")
    for s in doc.get("art_series") or []:
        pts = sorted(s["points"], key=lambda p: p["utility"])
        color, marker = _style(s["defense"])
        ax.plot([p["utility"] for p in pts], [p["attack_test"] for p in pts], ls=":", marker=marker,
                ms=9 if marker == "*" else 5, mfc="white", color=color, lw=1.2,
                label=f"{s['defense']}: ART black box (test)")
    settings = doc["settings"]
    ax.set_xlabel("test MSE of √(weekly warfarin dose, mg)  (lower is more useful)")
    ax.set_ylabel("VKORC1 attack accuracy, Naive MAP  (lower is more private)")
    ax.set_title(f"Fig. 2(a): IWPC warfarin, linear regression — mean and 95% CI over {settings['n_splits']} "
                 f"random 80/20 splits\nAdaSSP: δ = {settings['delta']:g}, {settings['calibration']} "
                 "calibration", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.9)
    return save(fig, path)


@with_scale
def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto",
         data_home: str | os.PathLike | None = None, executor: Executor | None = None,
         seeds: int | None = None) -> Path:
    """Compute Figure 2(a) and write ``fig2a.json`` and ``fig2a.png`` into ``out_dir``.

    ``device`` is unused (the linear models run on CPU with numpy/scipy); ``executor`` runs the
    (setting, split) units (:mod:`validation.engine`; default serially) and does not change the numbers;
    ``seeds`` overrides the number of random splits (the store is shared: more splits extend it).
    """
    del device
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = CONFIGS["quick" if quick else "full"]
    if check_seeds(seeds) is not None:
        config = {**config, "n_splits": seeds}
    store = out_dir / ("fig2a.quick.runs.json" if quick else "fig2a.runs.json")
    result = run_linear_sweep(store, data_home=data_home, executor=executor, **config)
    doc = {
        "figure": "fig2a",
        "title": "Naive MAP attack on VKORC1 vs MSE: MID regression vs AdaSSP on IWPC warfarin",
        "dataset": result["dataset"],
        "settings": {**result["settings"], "quick": quick},
        "series": result["series"],
        "assisted_series": result["assisted_series"],
        "art_series": result["art_series"],
        "baseline": result["baseline"],
        "metrics": {"utility": "MSE of sqrt(weekly dose, mg), test split",
                    "utility_train": "MSE, training split",
                    "attack": "accuracy of the Naive MAP guess of the VKORC1 genotype (3 values)",
                    "attack_ci": "95% interval of attack_test over splits: the wider of the corrected resampled t "
                                 "(overlapping 80/20 splits) and the Wilson interval of the pooled counts",
                    "auroc": "macro one-vs-rest AUROC of the attack posteriors",
                    "baseline.attack_prior": "accuracy of always guessing the training mode (no model)",
                    "baseline.attack_known_attributes": "logistic regression on the other features (no model)",
                    "baseline.attack_ideal": "logistic regression on the other features and the dose (no model)",
                    "baseline.attack_no_model": "the strongest attacker without the model: the 'ideal' one (per-split "
                                                "values, corrected resampled-t interval)",
                    "baseline.utility_chance": "test MSE of predicting the training patients' mean dose",
                    "gain_test": "attack_test minus the no-model attacker's accuracy on the same split (gain_train: "
                                 "training patients); interval: corrected resampled t over splits",
                    "assisted_series": "accuracy of ModelAssistedAttack: a logistic regression on the no-model "
                                       "attacker's inputs plus the model's Naive-MAP log-likelihoods (own on training "
                                       "patients, shadow models' on held-out ones), with its gains",
                    "art_series": "accuracy of IBM ART's AttributeInferenceBlackBox (attack model lr, fit on half the "
                                  "training patients; train = the other half); null without ART"},
    }
    doc["summary"] = summarize(doc)
    doc["replication"] = replication("splits", config["n_splits"], redraws="the 80/20 split of the cohort and "
                                     "AdaSSP's noise", fixed="the IWPC cohort",
                                     test_train_ratio=result["settings"]["test_train_ratio"])
    doc["deviations"] = [
        deviation("split", "100 random splits, ratio not stated", "random 80/20 splits (the ratio of Fredrikson et "
                  "al.'s reproduction); intervals corrected for their overlap (Nadeau & Bengio)"),
        deviation("attacker's knowledge", "Naive MAP: the model, the known attributes, the true dose, the "
                  "genotype prior", "the same; prior and residual scale from the training split"),
        deviation("AdaSSP", "ε-DP (δ not stated)", f"(ε, δ = {doc['settings']['delta']:g})-DP, "
                  f"{doc['settings']['calibration']} calibration"),
    ]
    path = write_json_atomic(out_dir / "fig2a.json", doc)
    plot(doc, out_dir / "fig2a.png")
    return path


_CONSISTENT = ("Figure 2 shows that MID can consistently achieve a better utility-privacy tradeoff than DP for "
               "protecting against all the attacks.")
_VULNERABLE = ("A phenomenon consistently present in all attacks is that the more predictive power the model has, "
               "the more vulnerable it is to the attacks, regardless of the types of defenses attached to the model.")

#: No-model attackers of the test patients, strongest first (``baseline.attack_no_model`` is read first).
NO_MODEL = ("attack_ideal", "attack_known_attributes", "attack_prior")

CLAIMS = [
    claim("fig2a-mid-vs-dp", "fig2a", _CONSISTENT, lambda doc: compare_tradeoffs(
        doc, "MID", "AdaSSP", attack="attack_test", higher_is_better=False, relevant=WITHIN_10_PERCENT,
        utility_is_proportion=False, no_model=NO_MODEL, attack_label="Naive MAP accuracy (test)",
        utility_label="test MSE")),
    claim("fig2a-vulnerability", "fig2a", _VULNERABLE,
          lambda doc: vulnerability_grows_with_utility(doc, higher_is_better=False, no_model=NO_MODEL)),
]
