"""ART's attacks next to ours, MIFace on the face models, and output perturbation against MID and DP-SGD.

``python -m validation.interop survey|iwpc|faces|miface|all [--scale quick|cpu|full] [--quick] [--splits N] [--out DIR] [--json]``
reproduces the measurements of issue 13; every run is stored in a resumable
:class:`~validation.store.ResultStore` under ``--out`` (default ``results/interop``).

* ``survey`` — steak survey, trees of :mod:`validation.tree` (ID3, MID-ID3, DP-ID3) on random 80/20 splits:
  F1 / precision / recall of "cheated = Yes" on training and test respondents for our Naive MAP and MAP
  with counts, ART's ``AttributeInferenceWhiteBoxDecisionTree`` and ``...LifestyleDecisionTree``
  (:class:`defenses.interop.art.ARTWhiteBoxTreeAttack`), and the guesser at the prior's rate; plus the
  fraction of respondents on which ART's white-box rule and MAP with counts agree.
* ``iwpc`` — IWPC warfarin, OLS / MID regression / AdaSSP on random 80/20 splits (the Fig. 2(a) protocol):
  VKORC1 accuracy on training and test patients for our Naive MAP, ART's ``AttributeInferenceBlackBox``
  (attack models ``lr`` and ``rf``), and the model-free adversaries (our "ideal" logistic regression and
  ART's ``AttributeInferenceBaselineTrueLabel``). ART's threat model needs auxiliary records with their
  genotypes: the attacker holds a random half of the training patients; "train" accuracy is measured on
  the other half, "test" on the held-out patients, for every attack alike.
* ``faces`` — output perturbation (:mod:`defenses.output`) on the undefended face CNN next to VIB (MID)
  and DP-SGD, all attacked by Knowledge Alignment through what they release: test accuracy, ECE and attack
  accuracy; the comparison at matched test accuracy and at matched ECE is in the summary.
* ``miface`` — ART's ``MIFace`` against the undefended, VIB and DP-SGD face models (``python -m paper_figs
  art`` draws it).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from defenses.datasets import DataFileError
from defenses.interop import art_available
from defenses.registry import LINEAR, NEURAL
from mitheory.cli import count, terminal_columns
from validation.cli import (
    add_executor_arguments,
    add_scale_arguments,
    check_data_home,
    check_executor_fits,
    check_output_dir,
    check_work,
    executor_from_args,
    path_argument,
    require_neural,
    resolve_scale,
    run_command,
)
from validation.configs import MATCHED, describe, settings_of
from validation.engine import Executor, UnitOutput, UnitsFailed
from validation.store import StoreError, write_json_atomic
from validation.sweep import Setting, aggregate, run_sweep


def _one_split(doc: dict[str, Any]) -> dict[str, Any]:
    """One split gives no interval: every ``*_ci`` of a one-split table becomes None (printed "n/a")."""
    if doc.get("n_splits") != 1:
        return doc
    for s in doc["series"]:
        for p in s["points"]:
            for key in [k for k in p if k.endswith("_ci")]:
                p[key] = None
    return doc


# ------------------------------------------------------------------------------------------ survey
SURVEY_SETTINGS = (Setting("ID3 (no defense)", None, None), Setting("MID", "mid_lambda", 10.0),
                   Setting("DP-ID3", "epsilon", 100.0))
SURVEY_ATTACKS = {
    "naive_map": "Naive MAP (ours, black box)",
    "map_counts": "MAP with counts (ours, white box)",
    "art_whitebox": "ART AttributeInferenceWhiteBoxDecisionTree",
    "art_lifestyle": "ART AttributeInferenceWhiteBoxLifestyleDecisionTree",
    "prior_rate": "no model: guess at the prior's rate",
    "no_model": "no model: NoModelAttack (logistic regression on the known attributes and label, F1-optimal cut)",
}


def survey_evaluate(data, config):
    """``evaluate(setting, split)`` for the survey table (trees and splits of :mod:`validation.tree`)."""
    from defenses.interop.art import ARTWhiteBoxTreeAttack
    from defenses.tree import (
        MAPWithCountsAttack,
        NaiveMAPClassifierAttack,
        NoModelAttack,
        PriorBaseline,
        confusion_matrix,
        estimate_prior,
    )
    from validation.tree import (
        POSITIVE,
        SENSITIVE,
        binary_prf,
        macro_f1,
        make_model,
        split_indices,
    )

    def evaluate(setting: Setting, split: int) -> dict[str, float]:
        X, y = data.data, data.target
        train, test = split_indices(len(X), split, config)
        Xtr, ytr = X.iloc[train], y.iloc[train]
        model = make_model(setting, config, split).fit(Xtr, ytr)
        prior = estimate_prior(Xtr[SENSITIVE])
        seed = int(np.random.SeedSequence([config.seed, split, 2]).generate_state(1)[0])
        attacks = {
            "naive_map": NaiveMAPClassifierAttack(SENSITIVE, prior, confusion_matrix(model, Xtr, ytr)),
            "map_counts": MAPWithCountsAttack(SENSITIVE, prior),
            "art_whitebox": ARTWhiteBoxTreeAttack(SENSITIVE, prior),
            "art_lifestyle": ARTWhiteBoxTreeAttack(SENSITIVE, prior, lifestyle=True),
            "prior_rate": PriorBaseline(prior, strategy="sample", random_state=seed),
        }
        attacks = {name: a.fit(model) for name, a in attacks.items()}
        attacks["no_model"] = NoModelAttack(SENSITIVE, POSITIVE, random_state=split).fit(None, Xtr, ytr)
        out = {"utility": macro_f1(y.iloc[test].to_numpy(), model.predict(X.iloc[test]))}
        for part, idx in (("train", train), ("test", test)):
            Xp, yp = X.iloc[idx], y.iloc[idx]
            truth = Xp[SENSITIVE].to_numpy()
            guesses = {name: a.infer(Xp, yp).guesses for name, a in attacks.items()}
            for name, g in guesses.items():
                p, r, f = binary_prf(truth, g, POSITIVE)
                out.update({f"{name}_{part}_f1": f, f"{name}_{part}_precision": p, f"{name}_{part}_recall": r,
                            f"{name}_{part}_f1_trials": float(len(idx)),  # a floor, as in validation.tree
                            f"{name}_{part}_precision_trials": float(np.sum(np.asarray(g) == POSITIVE)),
                            f"{name}_{part}_recall_trials": float(np.sum(truth == POSITIVE))})
            out[f"agree_art_counts_{part}"] = float(np.mean(guesses["art_whitebox"] == guesses["map_counts"]))
            out[f"agree_art_counts_{part}_trials"] = float(len(idx))
            for name in attacks:  # the gain over the strongest attacker without a model, same split and rows
                if name != "no_model":
                    out[f"gain_{name}_{part}_f1"] = out[f"{name}_{part}_f1"] - out[f"no_model_{part}_f1"]
        return out

    return evaluate


def survey_table(out_dir: str | os.PathLike, *, n_splits: int = 100, data_home=None, progress: bool = True,
                 executor: Executor | None = None) -> dict[str, Any]:
    """Run (or resume) the survey comparison; ``series`` as :func:`validation.sweep.aggregate` gives it."""
    from defenses.datasets import load_steak_survey
    from validation.tree import FULL

    data = load_steak_survey(data_home)
    settings = list(SURVEY_SETTINGS)
    store = Path(out_dir) / f"survey_{n_splits}.json"
    experiment = {"dataset": "steak-survey", "n_rows": len(data.data), "tree_config": asdict(FULL),
                  "attacks": list(SURVEY_ATTACKS), "version": 3}
    runs = run_sweep(settings, n_splits, survey_evaluate(data, FULL), store, experiment, progress=progress,
                     executor=executor, name="survey table")
    series = aggregate(settings, n_splits, runs, proportions=_metric_names(runs) - _gains(runs),  # F1s, rates
                       test_train_ratio=_split_ratio(len(data.data), FULL.test_fraction))
    return _one_split({"table": "survey", "dataset": data.description, "n_splits": n_splits, "store": str(store),
                       "metric": 'F1 (precision, recall) of "cheated = Yes"; mean and 95% interval over splits',
                       "attacks": SURVEY_ATTACKS,
                       "series": _resampled_gains(series, settings, n_splits, runs, FULL.test_fraction),
                       "baseline": _no_model_baseline(settings, n_splits, runs, "no_model_{part}_f1",
                                                      FULL.test_fraction)})


# -------------------------------------------------------------------------------------------- IWPC
IWPC_SETTINGS = (Setting("OLS (no defense)", None, None), Setting("MID", "mid_lambda", 1.0),
                 Setting("AdaSSP", "epsilon", 1.0))
IWPC_ATTACKS = {
    "naive_map": "Naive MAP (ours; true dose, training prior and RMSE)",
    "art_blackbox_lr": "ART AttributeInferenceBlackBox, lr (sees f(x) of the target + dose)",
    "art_blackbox_rf": "ART AttributeInferenceBlackBox, rf (sees f(x) of the target + dose)",
    "ideal": "no model: our logistic regression on (x_K, dose) (\"ideal\")",
    "art_truelabel_lr": "no model: ART AttributeInferenceBaselineTrueLabel, lr",
    "art_truelabel_rf": "no model: ART AttributeInferenceBaselineTrueLabel, rf",
    "prior": "no model: the training prior's mode",
}
_MODEL_FREE = ("ideal", "art_truelabel_lr", "art_truelabel_rf", "prior")


def iwpc_evaluate(problem, *, seed: int = 0, test_size: float = 0.2, delta: float = 1e-6):
    """``evaluate(setting, split)`` for the IWPC table (splits of :class:`validation.linear.IWPCProblem`)."""
    from sklearn.exceptions import ConvergenceWarning

    from defenses.interop.art import ARTBlackBoxAttack, ARTTrueLabelBaseline
    from defenses.linear import (
        NaiveMAPRegressionAttack,
        NoModelBaseline,
        PriorBaseline,
        empirical_prior,
    )

    p = problem

    def model_for(setting: Setting, split: int):
        name = "undefended" if setting == IWPC_SETTINGS[0] else setting.defense  # the table's name of OLS
        return LINEAR.build(name, setting.value, delta=delta, x_bound=p.x_bound, y_bound=p.y_bound,
                            calibration="analytic", random_state=np.random.default_rng([seed, 1, split]))

    def evaluate(setting: Setting, split: int) -> dict[str, float]:
        tr, te = p.split(seed, split, test_size)
        aux = np.sort(np.random.default_rng([seed, 7, split]).permutation(tr)[: len(tr) // 2])
        rest = np.setdiff1d(tr, aux)
        model = model_for(setting, split).fit(p.X[tr], p.y[tr])
        out = {"utility": float(np.mean((model.predict(p.X[te]) - p.y[te]) ** 2))}
        attacks = {"naive_map": NaiveMAPRegressionAttack(p.sensitive_columns, p.encoding).fit(
            model, p.X[tr], p.y[tr], p.genotype[tr])}
        with warnings.catch_warnings():  # ART's default LogisticRegression() stops at 100 iterations
            warnings.simplefilter("ignore", ConvergenceWarning)
            for kind in ("lr", "rf"):
                attacks[f"art_blackbox_{kind}"] = ARTBlackBoxAttack(
                    p.sensitive_columns, p.encoding, attack_model_type=kind, random_state=split).fit(
                    model, p.X[aux], p.y[aux], p.genotype[aux])
            # the strongest adversary without the model, in every setting (the gains are paired by split)
            free = {"ideal": NoModelBaseline(p.sensitive_columns, p.values, use_target=True).fit(
                p.X[aux], p.y[aux], p.genotype[aux])}
            if setting == IWPC_SETTINGS[0]:  # the other model-free adversaries: once per split
                for kind in ("lr", "rf"):
                    free[f"art_truelabel_{kind}"] = ARTTrueLabelBaseline(
                        p.sensitive_columns, p.encoding, attack_model_type=kind, random_state=split).fit(
                        p.X[aux], p.y[aux], p.genotype[aux])
                free["prior"] = PriorBaseline(empirical_prior(p.values, p.genotype[tr]))
            for part, idx in (("train", rest), ("test", te)):
                known = (p.X[idx], p.y[idx])
                truth = p.genotype[idx]
                for name, attack in {**attacks, **free}.items():
                    out[f"{name}_{part}"] = float(np.mean(attack.infer(*known).guesses == truth))
                out.update({f"{name}_{part}_trials": float(len(idx)) for name in (*attacks, *free)})
                for name in attacks:  # the gain over the strongest attacker without the model, paired by split
                    out[f"gain_{name}_{part}"] = out[f"{name}_{part}"] - out[f"ideal_{part}"]
        return out

    return evaluate


def iwpc_table(out_dir: str | os.PathLike, *, n_splits: int = 20, data_home=None, progress: bool = True,
               executor: Executor | None = None) -> dict[str, Any]:
    """Run (or resume) the IWPC comparison; model-free adversaries sit in the first setting's points."""
    from validation.linear import IWPCProblem

    problem = IWPCProblem(data_home)
    settings = list(IWPC_SETTINGS)
    store = Path(out_dir) / f"iwpc_{n_splits}.json"
    experiment = {"dataset": problem.description, "attacks": list(IWPC_ATTACKS), "aux": "half of training",
                  "adassp_calibration": "analytic", "version": 3}
    runs = run_sweep(settings, n_splits, iwpc_evaluate(problem), store, experiment, progress=progress,
                     executor=executor, name="IWPC table")
    proportions = _metric_names(runs) - {"utility"} - _gains(runs)  # every other metric is an accuracy
    series = aggregate(settings, n_splits, runs, proportions=proportions,
                       test_train_ratio=_split_ratio(len(problem.y), 0.2))
    return _one_split({"table": "iwpc", "dataset": problem.description, "n_splits": n_splits, "store": str(store),
                       "metric": "VKORC1 accuracy; train = training patients outside the attacker's half, test = "
                                 "held out",
                       "attacks": IWPC_ATTACKS,
                       "series": _resampled_gains(series, settings, n_splits, runs, 0.2),
                       "baseline": _no_model_baseline(settings, n_splits, runs, "ideal_{part}", 0.2)})


# ------------------------------------------------------------------------------ faces: perturbation
#: The registered release that mixes the undefended CNN's logits with the uniform vector (the official MID
#: code's "noise"); the faces sweep runs every other setting of the comparison.
LOGIT_MIXING = "logit mixing"


@dataclass(frozen=True)
class PerturbationConfig:
    """The faces comparison: the faces sweep (:class:`validation.neural.FacesConfig` ``faces``, with its
    rounding and uniform-noise series and their unperturbed softmax reference) plus ``logit_mixing``: w of
    :func:`~defenses.output.mix_uniform` in logit space, the official MID code's "noise" (Knowledge
    Alignment trains on the mixed logits it releases).
    """

    faces: Any = None
    logit_mixing: tuple[float, ...] = (0.5, 0.9, 0.99)

    def settings(self) -> list[Setting]:
        return self.faces.settings() + settings_of(LOGIT_MIXING, self.logit_mixing)


def perturbation_config(quick: bool) -> PerturbationConfig:
    """The grid of the note (32×32 faces, 40 epochs, 3 β, 3 σ, 4 r, 4 a, 3 w, 5 seeds) or its ``--quick`` check."""
    from validation.neural import QUICK

    if quick:
        return PerturbationConfig(faces=replace(QUICK, betas=(1e-2,), noise_multipliers=(0.2,), roundings=(0.05, 0.2),
                                                uniform_noises=(0.1,)), logit_mixing=(0.9,))
    faces = replace(QUICK, epochs=40, patience=40, eval_epochs=30, attack_epochs=30, betas=(1e-3, 1e-2, 3e-2),
                    noise_multipliers=(0.1, 0.2, 0.5), roundings=(0.01, 0.05, 0.1, 0.2),
                    uniform_noises=(0.01, 0.03, 0.1, 0.3), n_seeds=5)
    return PerturbationConfig(faces=faces)


class PerturbationExperiment:
    """``(setting, split) -> metrics``: :class:`validation.neural.FacesExperiment` for every setting of the
    faces sweep; for logit mixing, the split's undefended CNN (trained once per process) wrapped by it."""

    def __init__(self, config: PerturbationConfig, *, data_home=None, device: str = "auto"):
        from validation.neural import FacesExperiment

        self.config = config
        self.faces = FacesExperiment(config.faces, data_home=data_home, device=device)
        self._undefended: dict[int, Any] = {}

    def __getstate__(self):
        # a worker trains its own undefended models (seeded by the split: the same ones)
        return {**self.__dict__, "_undefended": {}}

    def __call__(self, setting: Setting, split: int) -> UnitOutput | dict[str, float]:
        from defenses import output
        from defenses.neural import KnowledgeAlignmentAttack, evaluate_reconstruction
        from validation.configs import make_release, make_target

        if setting.defense != LOGIT_MIXING:
            return self.faces(setting, split)
        c, ex = self.config.faces, self.faces
        X, y = ex.data.data, ex.data.target
        sp = ex.split(split)
        if split not in self._undefended:
            self._undefended[split] = make_target(setting, c, seed=split,
                                                  device=ex.device).fit(X[sp.train], y[sp.train])
        model = make_release(setting, split).wrap(self._undefended[split])
        proba = model.predict_proba(X[sp.test])
        out = {"utility": float(np.mean(model.predict(X[sp.test]) == y[sp.test])),
               "train_accuracy": float(np.mean(model.predict(X[sp.train]) == y[sp.train])),
               "ece": output.released_ece(np.searchsorted(model.classes_, y[sp.test]), proba, c.ece_bins)}
        attack = KnowledgeAlignmentAttack(input_transform="logits", ngf=c.attack_ngf, epochs=c.attack_epochs,
                                          device=ex.device, random_state=100 + split,
                                          progress=False).fit(model, X[ex.attacker_rows(sp)])
        evaluator = ex.evaluator(split)
        for part, idx in ex.attacked_parts(sp).items():
            m = evaluate_reconstruction(attack.invert(attack.release(X[idx])).images, X[idx], y[idx], evaluator)
            out[f"attack_{part}"] = m["attack_acc"]
            out[f"rmse_{part}"] = m["pixel_rmse"]
            out[f"feature_l2_{part}"] = m["feature_l2"]
        return out


def matched_comparison(series: list[dict[str, Any]], key: str, tolerance: float) -> list[dict[str, Any]]:
    """For every output-perturbation point, the VIB and DP-SGD points whose mean ``key`` (``"utility"``
    or ``"ece"``) is within ``tolerance`` of it, each with its attack accuracy on training images."""
    trained = {s["defense"]: s["points"] for s in series if NEURAL[s["defense"]].kind == "model"}
    rows = []
    for s in series:
        if s["defense"] in trained:
            continue
        for p in s["points"]:
            row = {"defense": s["defense"], "knob": p["knob"], key: p[key], "attack_train": p["attack_train"],
                   "attack_train_ci": p["attack_train_ci"]}
            for name, pts in trained.items():
                near = [q for q in pts if abs(q[key] - p[key]) <= tolerance]
                best = min(near, key=lambda q: q["attack_train"]) if near else None
                row[name] = None if best is None else {"knob": best["knob"], key: best[key],
                                                       "attack_train": best["attack_train"],
                                                       "attack_train_ci": best["attack_train_ci"]}
            rows.append(row)
    return rows


def faces_table(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
                progress: bool = True, accuracy_tolerance: float = 0.05, ece_tolerance: float = 0.03,
                executor: Executor | None = None) -> dict[str, Any]:
    """Run (or resume) the faces comparison of output perturbation with MID (VIB) and DP-SGD."""
    config = perturbation_config(quick)
    settings = config.settings()
    store = Path(out_dir) / f"faces_perturbation{'_quick' if quick else ''}.json"
    described = {"faces": describe(config.faces), "logit_mixing": list(config.logit_mixing), "version": 3}
    runs = run_sweep(settings, config.faces.n_seeds, PerturbationExperiment(config, data_home=data_home, device=device),
                     store, described, progress=progress, executor=executor, name="faces perturbation")
    keys = {"utility", "train_accuracy", "ece", "attack_train", "attack_test", "rmse_train", "rmse_test",
            "feature_l2_train", "feature_l2_test", "eps_rdp", "eps_prv"}
    runs = {k: {m: v for m, v in r.items() if m in keys} for k, r in runs.items()}
    series = aggregate(settings, config.faces.n_seeds, _common(settings, config.faces.n_seeds, runs),
                       proportions=("utility",))
    return {"table": "faces", "settings": described, "store": str(store), "series": series,
            "metric": "test accuracy; ECE (15 bins, held-out); Knowledge-Alignment attack accuracy (evaluation "
                      "classifier top-1) on training / held-out images",
            "matched_accuracy": matched_comparison(series, "utility", accuracy_tolerance),
            "matched_ece": matched_comparison(series, "ece", ece_tolerance),
            "tolerances": {"utility": accuracy_tolerance, "ece": ece_tolerance}}


# ----------------------------------------------------------------------------------------- MIFace
@dataclass(frozen=True)
class MIFaceConfig:
    """MIFace against the three face models of one split each (``n_seeds`` splits).

    The targets are trained with the faces sweep's settings (``faces``: a
    :class:`validation.neural.FacesConfig`) at one VIB β and one DP-SGD σ; MIFace (ART) starts from the
    uniform grey image (one of the starts of ART's MIFace notebook) and runs ``max_iter`` logit-gradient
    steps of size ``learning_rate`` per identity. [ours] ART's default zero start is not used: from 0 the
    first steps clip every pixel with a negative gradient to 0. On the quick configuration (undefended
    model, split 0, 40 identities) zeros gave evaluator accuracy 0.10 (step 0.1, 100 steps, pixels driven to
    0 or 1) and 0.025 = chance at steps 0.01, 0.001 (100 steps) and 0.003 (300 steps); grey gave
    0.15 (step 0.1, 100 steps) and 0.10 (step 0.01, 300 steps) with no saturated pixels.
    """

    faces: Any = None
    beta: float = 1e-2
    noise_multiplier: float = 0.2
    max_iter: int = 500
    learning_rate: float = 0.1
    init: str = "grey"
    n_seeds: int = 5

    def settings(self) -> list[Setting]:
        return settings_of("undefended") + settings_of("VIB", (self.beta,)) + settings_of("DP-SGD", (self.noise_multiplier,))


def miface_config(quick: bool) -> MIFaceConfig:
    """Full: 64×64 faces of the faces sweep, 300 steps, 5 seeds; quick: 32×32, 100 steps, one seed."""
    from validation.neural import FULL, QUICK

    if quick:
        return MIFaceConfig(faces=QUICK, max_iter=100, n_seeds=1)
    return MIFaceConfig(faces=FULL, max_iter=300, n_seeds=5)


class MIFaceExperiment:
    """``(setting, split) -> metrics`` for :func:`run_miface`; for split 0 it also returns the
    reconstructions as the file ``<recon_dir>/<setting>.npz`` (written by the engine's driver)."""

    def __init__(self, config: MIFaceConfig, *, data_home=None, device: str = "auto", recon_dir: str | None = None):
        from validation.neural import FacesExperiment

        self.config = config
        self.faces = FacesExperiment(config.faces, data_home=data_home, device=device)
        self.recon_dir = recon_dir

    def __call__(self, setting: Setting, split: int) -> UnitOutput:
        from defenses.interop.art import MIFaceAttack
        from defenses.neural import evaluate_reconstruction
        from validation.neural import accounting, make_target

        c, ex = self.config, self.faces
        X, y = ex.data.data, ex.data.target
        sp = ex.split(split)
        model = make_target(setting, c.faces, seed=split, device=ex.device, classes=np.unique(y)).fit(
            X[sp.train], y[sp.train])
        identities = np.unique(y[sp.train])
        recon = MIFaceAttack(max_iter=c.max_iter, learning_rate=c.learning_rate, init=c.init,
                             random_state=1000 + split).fit(model).invert(identities).images
        first = np.array([sp.train[np.flatnonzero(y[sp.train] == i)[0]] for i in identities])
        m = evaluate_reconstruction(recon, X[first], identities, ex.evaluator(split))
        released = model.predict_proba(recon)[np.arange(len(identities)), np.searchsorted(model.classes_, identities)]
        out = {"utility": float(np.mean(model.predict(X[sp.test]) == y[sp.test])), "attack_acc": m["attack_acc"],
               "utility_trials": float(len(sp.test)), "attack_acc_trials": float(len(identities)),
               "evaluator_on_start_trials": float(len(identities)),
               "target_confidence": float(np.mean(released)),
               "pixel_rmse_first": m["pixel_rmse"], "feature_l2_first": m["feature_l2"],
               "evaluator_on_start": float(np.mean(ex.evaluator(split).predict(
                   MIFaceAttack(max_iter=0, init=c.init, random_state=1000 + split).fit(model).invert(identities).images)
                   == identities))}
        out.update({k: v for k, v in accounting(model).items() if k.startswith("eps_")})
        files = {}
        if self.recon_dir is not None and split == 0:
            from validation.neural import recon_file_stem

            buf = io.BytesIO()
            np.savez_compressed(buf, recon=recon, true=X[first], labels=identities,
                                predicted=ex.evaluator(split).predict(recon))
            files[f"{self.recon_dir}/{recon_file_stem(setting)}.npz"] = buf.getvalue()
        return UnitOutput(out, files)


def run_miface(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
               config: MIFaceConfig | None = None, progress: bool = True,
               executor: Executor | None = None) -> dict[str, Any]:
    """Run (or resume) MIFace against the undefended, VIB and DP-SGD face models.

    Returns ``{"config", "series", "store", "recon_dir"}``: per setting the mean over splits (95% t-interval)
    of ``attack_acc`` (evaluation-classifier top-1 on the 40 reconstructions), ``target_confidence`` (the
    attacked model's own probability of the target identity on its reconstruction — what MIFace maximises),
    ``utility`` (test accuracy) and the pixel RMSE / feature L2 to each identity's first training image.
    """
    config = config or miface_config(quick)
    out_dir = Path(out_dir)
    tag = "_quick" if quick else ""
    settings = config.settings()
    experiment = MIFaceExperiment(config, data_home=data_home, device=device, recon_dir=f"miface_recon{tag}")
    described = {"dataset": "olivetti", **describe(config), "version": 4}
    store = out_dir / f"miface{tag}.json"
    runs = run_sweep(settings, config.n_seeds, experiment, store, described, progress=progress, executor=executor,
                     name="MIFace")
    from validation.neural import split_ratio

    return {"config": described, "series": aggregate(settings, config.n_seeds, _common(settings, config.n_seeds, runs),
                                                       proportions=("utility",),
                                                       test_train_ratio=split_ratio(config.faces)),
            "store": str(store), "recon_dir": str(out_dir / experiment.recon_dir)}


def _common(settings, n_splits: int, runs: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Keep, per setting, the metrics every split has (an infinite ε is not stored)."""
    out = {}
    for s in settings:
        keys = [f"{s.key}|split={k}" for k in range(n_splits)]
        shared = set.intersection(*(set(runs[k]) for k in keys))
        out.update({k: {m: v for m, v in runs[k].items() if m in shared} for k in keys})
    return out


# -------------------------------------------------------------------------------------------- CLI
#: Lower bounds on one split's time per table (a tabular split fits three trees or regressions and runs the
#: attacks; a face split trains CNNs), for refusing --splits that could not finish.
SECONDS_PER_SPLIT = {"survey": 1e-2, "iwpc": 1e-2}


def _cell(value: float, ci, digits: int = 3) -> str:
    """``value [low, high]``, or ``value [n/a (1 split)]`` where there is no interval."""
    if ci is None:
        return f"{value:.{digits}f} [n/a (1 split)]"
    return f"{value:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _format_survey(doc: dict[str, Any]) -> str:
    lines = [f"Steak survey: {doc['metric']} ({doc['n_splits']} splits)"]
    for s in doc["series"]:
        p = s["points"][0]
        knob = f" {s['knob']}={p['knob']:g}" if s["knob"] else ""
        lines.append(f"\n{s['defense']}{knob}: macro F1 of the steak target {p['utility']:.3f}")
        lines.append(f"  {'attack':<55} {'train F1 [95% CI]':<24} {'test F1 [95% CI]':<24}")
        for name, label in doc["attacks"].items():
            cells = [_cell(p[f"{name}_{part}_f1"], p[f"{name}_{part}_f1_ci"]) for part in ("train", "test")]
            lines.append(f"  {label:<55} {cells[0]:<24} {cells[1]:<24}")
        lines.append(f"  ART white box = MAP with counts on {p['agree_art_counts_train']:.1%} of training and "
                     f"{p['agree_art_counts_test']:.1%} of test respondents")
    return "\n".join(lines)


def _format_iwpc(doc: dict[str, Any]) -> str:
    lines = [f"IWPC: {doc['metric']} ({doc['n_splits']} splits); columns: train [95% CI], test [95% CI]"]
    for s in doc["series"]:
        p = s["points"][0]
        knob = f" {s['knob']}={p['knob']:g}" if s["knob"] else ""
        lines.append(f"\n{s['defense']}{knob}: test MSE {p['utility']:.4f}")
        for name, label in doc["attacks"].items():
            if f"{name}_train" not in p:
                continue
            cells = [_cell(p[f"{name}_{part}"], p[f"{name}_{part}_ci"]) for part in ("train", "test")]
            lines.append(f"  {label:<70} {cells[0]:<22} {cells[1]:<22}")
    return "\n".join(lines)


def _format_faces(doc: dict[str, Any]) -> str:
    lines = [f"Faces: {doc['metric']}",
             f"  {'defense':<30} {'knob':>8} {'test acc':>9} {'ECE':>7} {'attack train':>13} {'attack test':>12}"]
    for s in doc["series"]:
        for p in s["points"]:
            knob = "" if p["knob"] is None else f"{p['knob']:g}"
            test = f"{p['attack_test']:>12.3f}" if "attack_test" in p else f"{'—':>12}"  # official roles: none
            lines.append(f"  {s['defense']:<30} {knob:>8} {p['utility']:>9.3f} {p['ece']:>7.3f} "
                         f"{p['attack_train']:>13.3f} {test}")
    for key, title in (("matched_accuracy", "test accuracy"), ("matched_ece", "ECE")):
        tol = doc["tolerances"]["utility" if key == "matched_accuracy" else "ece"]
        lines.append(f"\nAt matched {title} (within {tol:g}): output perturbation vs the most protective "
                     f"VIB / DP-SGD point (attack accuracy on training images)")
        for r in doc[key]:
            knob = "" if r["knob"] is None else f" {r['knob']:g}"
            other = "  ".join(f"{n}: " + ("—" if r[n] is None else f"{r[n]['attack_train']:.3f} (knob {r[n]['knob']})")
                              for n in MATCHED)
            lines.append(f"  {r['defense']}{knob}: {r['attack_train']:.3f}   {other}")
    return "\n".join(lines)


def _format_miface(doc: dict[str, Any]) -> str:
    lines = ["MIFace (ART) on faces: evaluation-classifier top-1 of the reconstructions"]
    for s in doc["series"]:
        p = s["points"][0]
        knob = f" {s['knob']}={p['knob']:g}" if s["knob"] else ""
        lines.append(f"  {s['defense'] + knob:<28} attack acc {p['attack_acc']:.3f} [{p['attack_acc_ci'][0]:.3f}, "
                     f"{p['attack_acc_ci'][1]:.3f}]  target's own confidence {p['target_confidence']:.3f}  "
                     f"test acc {p['utility']:.3f}")
    return "\n".join(lines)


def _split_ratio(n_rows: int, test_fraction: float) -> float:
    """``n_test / n_train`` of a random split (overlapping splits: the corrected resampled t)."""
    n_test = int(round(test_fraction * n_rows))
    return n_test / (n_rows - n_test)


def _metric_names(runs: dict[str, dict[str, float]]) -> set[str]:
    """The metric names of a sweep's runs (every run has the same)."""
    return set(next(iter(runs.values()))) if runs else set()


def _gains(runs: dict[str, dict[str, float]]) -> set[str]:
    return {m for m in _metric_names(runs) if m.startswith("gain_")}


def _resampled_gains(series, settings, n_splits: int, runs, test_fraction: float):
    """Replace the intervals of the ``gain_*`` metrics (attack minus the no-model attacker, paired by split)
    by the corrected resampled t (repeated splits overlap) and name every method in ``ci_methods``."""
    from validation.sweep import RESAMPLED_T, corrected_resampled_t

    groups: dict[str, list[Setting]] = {}
    for setting in settings:
        groups.setdefault(setting.defense, []).append(setting)
    for s in series:
        for setting, p in zip(groups[s["defense"]], s["points"]):
            for m in [k for k in p if k.startswith("gain_") and not k.endswith(("_ci", "_ci_method"))]:
                values = [runs[f"{setting.key}|split={k}"][m] for k in range(n_splits)]
                _, lo, hi = corrected_resampled_t(values, test_fraction)
                p[f"{m}_ci"] = None if np.isnan(lo) else [lo, hi]
                p[f"{m}_ci_method"] = RESAMPLED_T if p[f"{m}_ci"] is not None else "n/a (no variation across splits)"
            p["ci_methods"] = {"gain_*_ci": RESAMPLED_T, "other": "each metric's <metric>_ci_method"}
    return series


def _no_model_baseline(settings, n_splits: int, runs, metric: str, test_fraction: float) -> dict[str, Any]:
    """``attack_no_model`` (test rows) and ``attack_no_model_train`` with per-split values and intervals."""
    from validation.sweep import RESAMPLED_T, corrected_resampled_t

    out: dict[str, Any] = {"values": {}, "ci_methods": {}}
    for part, key in (("test", "attack_no_model"), ("train", "attack_no_model_train")):
        values = [runs[f"{settings[0].key}|split={k}"][metric.format(part=part)] for k in range(n_splits)]
        m, lo, hi = corrected_resampled_t(values, test_fraction)
        out[key], out[f"{key}_ci"], out["values"][key] = m, (None if np.isnan(lo) else [lo, hi]), values
        out["ci_methods"][f"{key}_ci"] = RESAMPLED_T
    return out


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2
        self.exit(2, f"{self.prog}: error: {message}\n")


@run_command("python -m validation.interop")
def main(argv: list[str] | None = None) -> int:
    from mitheory.cli_common import add_version

    parser = _Parser(prog="python -m validation.interop", description=__doc__.split("\n\n")[0],
                     formatter_class=lambda prog: argparse.HelpFormatter(prog, width=terminal_columns()))
    add_version(parser)
    parser.add_argument("tables", nargs="+", choices=["survey", "iwpc", "faces", "miface", "all"])
    add_scale_arguments(parser, what="the tables (quick: few splits, small grids; cpu and full: the full tables)")
    parser.add_argument("--splits", type=count(minimum=1),
                        help="random splits (survey default 100, iwpc 20; quick 3; one split gives no interval)")
    parser.add_argument("--out", type=path_argument, default=Path("results/interop"),
                        help="output directory of the stores and tables (default: results/interop)")
    parser.add_argument("--device", default=None,
                        help="torch device of the faces and miface tables: auto (default), cpu, cuda, cuda:N")
    parser.add_argument("--data-home", type=path_argument,
                        help="data directory searched first (then $MID_DATA, then ~/.cache/mid-toolkit)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per table")
    add_executor_arguments(parser)
    args = parser.parse_args(argv)
    tables = ["survey", "iwpc", "faces", "miface"] if "all" in args.tables else list(dict.fromkeys(args.tables))
    if args.splits is not None:
        for table in (t for t in tables if t in SECONDS_PER_SPLIT):
            check_work(parser, "--splits", args.splits, SECONDS_PER_SPLIT[table], f"{args.splits} splits of the "
                       f"{table} table", args.jobs)
    check_output_dir(parser, "--out", args.out, longest_name="survey_quick_table.json")
    check_data_home(parser, args.data_home)
    check_executor_fits(parser, args)
    neural = [t for t in tables if t in ("faces", "miface")]
    if neural:
        require_neural(parser, f"table {', '.join(neural)}")
    if not art_available() and any(t != "faces" for t in tables):
        parser.error(f"table {', '.join(t for t in tables if t != 'faces')} runs IBM ART, which is not installed: "
                     "pip install 'mid-toolkit[interop]'")
    if args.device is not None:
        if not neural:
            parser.error("--device applies to the tables faces and miface only")
        from defenses.neural import resolve_device

        try:
            resolve_device(args.device)
        except ValueError as exc:
            parser.error(str(exc))
    device = args.device or "auto"
    quick = args.scale == "quick"  # said once the input is checked
    if neural:  # the face tables' units load the faces: a missing or damaged file is refused here, once
        from defenses.datasets import load_faces

        try:
            load_faces(args.data_home)
        except (FileNotFoundError, DataFileError) as exc:
            parser.error(str(exc))
    resolve_scale(parser, args, device, has_cpu=False)  # no table has a CPU configuration
    splits = args.splits or (3 if quick else None)
    executor = executor_from_args(parser, args)
    common = {"data_home": args.data_home, "executor": executor}
    run = {
        "survey": lambda: survey_table(args.out, n_splits=splits or 100, **common),
        "iwpc": lambda: iwpc_table(args.out, n_splits=splits or 20, **common),
        "faces": lambda: faces_table(args.out, quick=args.quick, device=device, **common),
        "miface": lambda: run_miface(args.out, quick=args.quick, device=device, **common),
    }
    fmt = {"survey": _format_survey, "iwpc": _format_iwpc, "faces": _format_faces, "miface": _format_miface}
    with executor:
        for name in tables:
            try:
                doc = run[name]()
            except (FileNotFoundError, DataFileError, StoreError) as exc:  # missing or damaged data or store
                print(f"python -m validation.interop: error: {exc}", file=sys.stderr)
                return 2
            except UnitsFailed as exc:
                print(f"python -m validation.interop: {name} failed: {exc}", file=sys.stderr)
                return 1
            write_json_atomic(args.out / f"{name}{'_quick' if args.quick else ''}_table.json", doc)
            print(json.dumps(doc, allow_nan=False) if args.json else fmt[name](doc))
    return 0


if __name__ == "__main__":
    from mitheory.cli import run_main

    run_main(main)
