"""Figure 2(b): Naive MAP (black box) against decision trees on the FiveThirtyEight steak survey.

Privacy-utility trade-off of MID-ID3 (λ), DP-ID3 (ε) and Priority (depth of the sensitive feature) beside
the undefended ID3 tree: x = utility (macro F1 of the steak preparation on test respondents), y = F1 of
the attacker's "Yes" for "Have you ever cheated?" on training (left) and test (right) respondents, mean
over random 80/20 splits (100; 10 with ``--quick``) with 95% intervals. The sweep is shared with
Figure 4(c) (MAP with counts) through one resumable store in the output directory. Where IBM ART is
installed, both figures also draw (dashed, hollow markers; ``art_series`` in the JSON) ART's
``AttributeInferenceWhiteBoxDecisionTree`` against the same trees, beside our attack.

Whether a released model leaks is measured against the strongest attacker that uses no model
(``baseline.attack_no_model``: a logistic regression on the known attributes and the label, fitted on the
training respondents, :class:`defenses.tree.NoModelAttack`), drawn as a band: every point carries the
attack's gain over it on the same split (``gain_test`` with its corrected resampled-t interval). Beside the
paper's Naive MAP, ``assisted_series`` is a model-using attacker at least as informed as that baseline
(:class:`defenses.tree.ModelAssistedAttack`: the same regression with the model's Naive-MAP evidence as
further inputs; shadow models give it the model's behaviour on records outside the training set), drawn
dotted. The steak survey is the paper's (kept for faithfulness); :mod:`paper_figs.fig2b_affairs` draws
the same figure on Fair's affairs survey, whose target carries signal.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable

from defenses.registry import TREE
from paper_figs._claims import WITHIN_5_POINTS, UtilityRange, claim, compare_tradeoffs, vulnerability_grows_with_utility
from paper_figs._common import check_seeds, deviation, pyplot, replication, with_scale
from validation.engine import Executor
from validation.store import write_json_atomic
from validation.tree import FULL, QUICK, SURVEYS, TreeSweepConfig, TreeSweepResult, run_tree_sweep

NAME = "fig2b"
SPLITS = {True: 10, False: 100}
CONFIGS: dict[bool, TreeSweepConfig] = {True: QUICK, False: FULL}
ATTACK_TITLES = {"naive_map": "Naive MAP (black box)", "map_counts": "MAP with counts (white box)"}
#: The model-using attacker drawn beside each of the paper's attacks (the same evidence, learned).
ASSISTED = {"naive_map": "assisted_black_box", "map_counts": "assisted_white_box"}
COLORS = {d.name: d.style.color for d in TREE}


def tree_figure(name: str, attack: str, title: str, out_dir, *, quick: bool, data_home,
                executor: Executor | None = None, seeds: int | None = None, dataset: str = "steak") -> Path:
    """Run (or resume) the shared tree sweep of ``dataset`` and write ``<name>.json`` and ``<name>.png`` for
    ``attack`` (``seeds``: the number of random splits, default 100, or 10 with ``quick``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = "" if dataset == "steak" else f"_{dataset}"
    store = out_dir / f"tree_sweep{tag}{'_quick' if quick else ''}.jsonl"
    survey = SURVEYS[dataset]
    result: TreeSweepResult = run_tree_sweep(store, data_home=data_home, config=replace(CONFIGS[quick], dataset=dataset),
                                             n_splits=check_seeds(seeds) or SPLITS[quick], executor=executor)
    label = survey["sensitive_label"]
    payload = {
        "figure": name,
        "title": title,
        "dataset": result.dataset,
        "settings": {"n_splits": result.n_splits, "quick": quick, "attack": attack, "model_assisted": ASSISTED[attack],
                     "split": "random 80/20 train/test", "test_train_ratio": result.test_train_ratio,
                     **_config_dict(result.config)},
        "series": result.series(attack),
        "assisted_series": result.series(ASSISTED[attack]),
        "art_series": result.series("art_white_box") if result.art else None,
        "baseline": result.baseline(),
        "metrics": {"utility": f"macro F1 of the {survey['target']} (test respondents)",
                    "attack": f"F1 of the sensitive value '{label}', attack_train / attack_test",
                    "attack_ci": "95% interval of attack_test over splits: the wider of the corrected resampled t "
                                 "(overlapping 80/20 splits) and the Wilson interval of the pooled counts",
                    "gain_test": "attack_test minus the no-model attacker's F1 on the same split (gain_train: "
                                 "training respondents); interval: corrected resampled t over splits",
                    "baseline.attack_no_model": "F1 of the strongest attacker without a model (NoModelAttack: "
                                                "logistic regression on the known attributes and label, fitted on "
                                                "the training respondents, F1-optimal threshold)",
                    "baseline.utility_chance": "macro F1 of always predicting the training majority class",
                    "baseline.attack_prior": "F1 of always guessing the training prior's mode (no model)",
                    "baseline.attack_prior_rate": "F1 of guesses drawn from the training prior (no model)",
                    "baseline.attack_known_attributes": "F1 of naive-Bayes MAP guesses from the known attributes "
                                                        "and the label, fitted on the training split (no model)",
                    "assisted_series": "the same F1 for ModelAssistedAttack: NoModelAttack's regression with the "
                                       "model's evidence of the figure's attack as further inputs (own evidence "
                                       "on training respondents, shadow models' on test respondents)",
                    "art_series": "the same F1 for IBM ART's AttributeInferenceWhiteBoxDecisionTree (training "
                                  "prior; true labels as y) on the same trees and splits; null without ART"},
    }
    payload["replication"] = replication(
        "splits", result.n_splits, redraws="the 80/20 split of the survey, DP-ID3's noise and the prior guesser's "
        "draws", fixed=f"the survey's {result.n_rows} complete answers", test_train_ratio=result.test_train_ratio)
    payload["deviations"] = [
        deviation("utility", "\"F1\" of the steak preparation", "macro F1 over the preparations [ours]"),
        deviation("trees", "ID3 depth not stated", f"every tree, DP-ID3's too, at most {result.config.max_depth} "
                  "deep [ours: unbounded ID3 fits the training answers and MID's term cannot change them]"),
        deviation("split", "ratio not stated", "random 80/20 splits; intervals corrected for their overlap"),
        deviation("attacker's knowledge", "Fredrikson et al. 2015: the tree, the other answers, the label, the "
                  "prior", "the same; prior from the training split" + (
                      "; the white-box attacker also reads the training counts on the tree's paths"
                      if attack == "map_counts" else "")),
    ]
    path = write_json_atomic(out_dir / f"{name}.json", payload)
    _plot(payload, out_dir / f"{name}.png")
    return path


def affairs_twin(module, attack: str, title: str):
    """``(NAME, make, CLAIMS)`` of ``module``'s figure (Fig. 2(b) or 4(c)) on Fair's affairs survey: the same
    sweep, attacks, baselines and claims on a survey whose target carries signal (store
    ``tree_sweep_affairs[_quick].jsonl``, shared by both twins)."""
    name = f"{module.NAME}_affairs"

    @with_scale
    def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
             executor: Executor | None = None, seeds: int | None = None) -> Path:
        """Write ``<name>.json`` and ``<name>.png`` (``device`` is unused: trees run on the CPU; ``seeds``: the
        number of random splits)."""
        return tree_figure(name, attack, title, out_dir, quick=quick, data_home=data_home, executor=executor,
                           seeds=seeds, dataset="affairs")

    return name, make, [{**c, "id": f"{c['id']}-affairs", "figure": name} for c in module.CLAIMS]


def _config_dict(config: TreeSweepConfig) -> dict:
    from dataclasses import asdict

    return asdict(config)


def _plot(payload: dict, path: Path) -> None:
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    for ax, part in zip(axes, ("train", "test")):
        for s in payload["series"]:
            pts = s["points"]
            x = [p["utility"] for p in pts]
            y = [p[f"attack_{part}"] for p in pts]
            xerr = [[p["utility"] - p["utility_ci"][0] for p in pts], [p["utility_ci"][1] - p["utility"] for p in pts]]
            yerr = [[p[f"attack_{part}"] - p[f"attack_{part}_ci"][0] for p in pts],
                    [p[f"attack_{part}_ci"][1] - p[f"attack_{part}"] for p in pts]]
            label = s["defense"] if s["knob"] is None else f"{s['defense']} ({s['knob']})"
            ax.errorbar(x, y, xerr=xerr, yerr=yerr, marker="o" if len(pts) > 1 else "*",
                        ms=5 if len(pts) > 1 else 12, lw=1.2, capsize=2, color=COLORS.get(s["defense"]),
                        label=label)
        for s in payload.get("art_series") or []:
            pts = s["points"]
            ax.plot([p["utility"] for p in pts], [p[f"attack_{part}"] for p in pts], ls="--", lw=1,
                    marker="o" if len(pts) > 1 else "*", ms=5 if len(pts) > 1 else 10, mfc="white",
                    color=COLORS.get(s["defense"]), alpha=0.8, label=f"{s['defense']}: ART white box")
        for s in payload.get("assisted_series") or []:
            pts = s["points"]
            ax.plot([p["utility"] for p in pts], [p[f"attack_{part}"] for p in pts], ls=":", lw=1.2,
                    marker="o" if len(pts) > 1 else "*", ms=4 if len(pts) > 1 else 9, mfc="white",
                    color=COLORS.get(s["defense"]), alpha=0.9, label=f"{s['defense']}: model-assisted attacker")
        base = payload["baseline"]
        key = "attack_no_model" + ("_train" if part == "train" else "")
        ax.axhline(base[key], color="tab:purple", ls="-", lw=1.6, label="no-model attacker (learned, no model)")
        if base.get(f"{key}_ci"):
            ax.axhspan(*base[f"{key}_ci"], color="tab:purple", alpha=0.12, lw=0)
        suffix = "" if part == "train" else "_test"
        ax.axhline(base[f"attack_prior_rate{suffix}"], color="gray", ls="--", lw=1,
                   label="guess at the prior's rate (no model)")
        ax.axhline(base[f"attack_prior{suffix}"], color="gray", ls=":", lw=1, label="prior's mode (no model)")
        ax.axhline(base[f"attack_known_attributes{suffix}"], color="tab:pink", ls="-.", lw=1,
                   label="naive Bayes on known attributes (no model)")
        ax.axvline(base["utility_chance"], color="0.5", ls=":", lw=1, label="majority class (utility)")
        ax.set_title(f"{payload['title']}: {part} respondents", fontsize=9)
        ax.set_xlabel(f"utility: {payload['metrics']['utility']}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(payload["metrics"]["attack"].split(",")[0])
    axes[1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@with_scale
def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
         executor: Executor | None = None, seeds: int | None = None) -> Path:
    """Write ``fig2b.json`` and ``fig2b.png`` (``device`` is unused: trees run on the CPU)."""
    return tree_figure(NAME, "naive_map", "Naive MAP on decision trees (steak survey)", out_dir,
                       quick=quick, data_home=data_home, executor=executor, seeds=seeds)


_PRIORITY = ("Figure 2 (b) shows that MID is more robust than Priority in most cases except when model has a very "
             "high performance (i.e., F1 score > 0.57).")


#: No-model attackers of the test respondents (``baseline.attack_no_model`` is read first).
NO_MODEL = ("attack_known_attributes_test", "attack_prior_rate_test", "attack_prior_test")
REFERENCE = "ID3 (no defense)"


def tree_comparison(ours: str, theirs: str, attack_label: str, **kw) -> Callable[[dict], dict]:
    """``compare_tradeoffs`` of the tree figures: test attack F1 against macro F1, from the undefended tree."""
    return lambda doc: compare_tradeoffs(doc, ours, theirs, attack="attack_test", reference=REFERENCE,
                                         no_model=NO_MODEL, attack_label=attack_label, utility_label="macro F1", **kw)


CLAIMS = [
    claim("fig2b-mid-vs-dp", NAME, "Figure 2 shows that MID can consistently achieve a better utility-privacy "
          "tradeoff than DP for protecting against all the attacks.",
          tree_comparison("MID", "DP-ID3", "Naive MAP F1 of 'Yes' (test)", relevant=WITHIN_5_POINTS)),
    # The paper's own range: F1 up to 0.57 (its exception is above).
    claim("fig2b-mid-vs-priority", NAME, _PRIORITY,
          tree_comparison("MID", "Priority", "Naive MAP F1 of 'Yes' (test)", relevant=UtilityRange(paper=(None, 0.57)))),
    claim("fig2b-vulnerability", NAME, "A phenomenon consistently present in all attacks is that the more predictive "
          "power the model has, the more vulnerable it is to the attacks, regardless of the types of defenses "
          "attached to the model.", lambda doc: vulnerability_grows_with_utility(doc, reference=REFERENCE,
                                                                                 no_model=NO_MODEL)),
]
