"""Privacy-utility sweeps of the tree defenses on the FiveThirtyEight steak survey (MID paper Fig. 2b, 4c).

For each setting — the undefended ID3 tree, MID-ID3 over a λ grid, DP-ID3 over an ε grid, Priority at
every depth — and each of ``n_splits`` random 80/20 train/test splits [ours, the paper does not give the
ratio], one tree is trained on the training respondents and attacked on the training and on the test
respondents by Naive MAP (black box), MAP with counts (white box) and the model-free adversaries (prior
mode, guessing at the prior's rate, naive Bayes on the known attributes). Metrics per split: utility =
macro F1 of the steak preparation on the test split [ours: the paper says "F1"] (also accuracy); for each
attack, F1 / precision / recall of the sensitive value "Yes" ("cheated"). The attacker's prior and Naive
MAP's confusion matrix are estimated on the training split. Where IBM ART is installed (the ``interop`` extra)
ART's ``AttributeInferenceWhiteBoxDecisionTree`` attacks the same trees too (``art_white_box``, through
:class:`defenses.interop.art.ARTWhiteBoxTreeAttack`); the store records whether it ran. Runs are stored in a resumable
:class:`~validation.store.ResultStore` and aggregated with :func:`validation.sweep.aggregate` (mean and
95% interval over splits: the corrected resampled t, splits of one table overlap; with a binomial floor).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.naive_bayes import CategoricalNB

from defenses.datasets import load_affairs, load_steak_survey
from defenses.interop import art_available
from defenses.registry import TREE
from defenses.tree import (EncodedTable, MAPWithCountsAttack, ModelAssistedAttack, NaiveMAPClassifierAttack,
                           NoModelAttack, PriorBaseline, confusion_matrix, encode_table, estimate_prior, shadow_folds)
from validation.engine import Executor
from validation.sweep import RESAMPLED_T, Setting, aggregate, corrected_resampled_t, run_sweep

#: The steak survey's sensitive column and its positive value (the defaults of the functions below).
SENSITIVE = "cheated"
POSITIVE = "Yes"
#: The surveys of the tree figures: loader, sensitive column, positive value, and what the target is.
SURVEYS: dict[str, dict[str, Any]] = {
    "steak": {"load": load_steak_survey, "sensitive": "cheated", "positive": "Yes",
              "name": "FiveThirtyEight steak survey", "target": "steak preparation",
              "sensitive_label": "cheated = Yes"},
    "affairs": {"load": lambda data_home=None, complete_cases=True: load_affairs(data_home), "sensitive": "affair",
                "positive": "Yes", "name": "Fair's affairs survey", "target": "marriage rating",
                "sensitive_label": "had an affair"},
}
#: Attack name → metric prefix. ``assisted_black_box`` / ``assisted_white_box``: :class:`ModelAssistedAttack`
#: with the evidence of Naive MAP / MAP with counts; ``no_model``: :class:`NoModelAttack` (no model).
#: The interval method named where a per-split quantity never varies: no interval, rather than a zero-width one.
NO_VARIATION = "n/a (no variation across splits)"
ATTACKS = {"naive_map": "nm", "map_counts": "wc", "prior": "prior", "art_white_box": "art",
           "assisted_black_box": "abb", "assisted_white_box": "awb", "no_model": "free"}


@dataclass(frozen=True)
class TreeSweepConfig:
    """Everything that determines the sweep's numbers (stored with the results).

    ``max_depth`` bounds every tree [ours: the paper does not give one; unbounded ID3 trees fit the
    training set almost perfectly and the MID term, which never changes the stopping rule, then cannot
    change the predictions]. DP-ID3 uses the same depth (ε spread over ``max_depth + 1`` levels).
    """

    max_depth: int = 5
    dataset: str = "steak"
    lambdas: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
    epsilons: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)
    priority_depths: tuple[int | None, ...] = (0, 1, 2, 3, 4, None)
    dp_quality: str = "max"
    test_fraction: float = 0.2
    seed: int = 0
    complete_cases: bool = True

    def settings(self) -> list[Setting]:
        """The undefended tree first (its runs also carry the model-free baselines), then the grids."""
        out = [Setting("ID3 (no defense)", None, None)]
        out += [Setting("MID", TREE["MID"].knob, float(v)) for v in self.lambdas]
        out += [Setting("DP-ID3", TREE["DP-ID3"].knob, float(v)) for v in self.epsilons]
        out += [Setting("Priority", TREE["Priority"].knob, v) for v in self.priority_depths]  # None: no bound
        return out


FULL = TreeSweepConfig()
QUICK = TreeSweepConfig(lambdas=(1.0, 10.0, 100.0, 1000.0), epsilons=(10.0, 100.0, 1000.0),
                        priority_depths=(0, 2, 4, None))


def split_indices(n: int, split: int, config: TreeSweepConfig) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices of random split number ``split`` (seeded by ``(config.seed, split)``)."""
    perm = np.random.default_rng([config.seed, split]).permutation(n)
    n_test = int(round(config.test_fraction * n))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def make_model(setting: Setting, config: TreeSweepConfig, split: int):
    """The (unfitted) tree learner of ``setting`` (:data:`defenses.registry.TREE`); DP-ID3's noise is seeded
    by ``(seed, split)``."""
    seed = int(np.random.SeedSequence([config.seed, split, 1]).generate_state(1)[0])
    return TREE.build(setting.defense, setting.value, max_depth=config.max_depth, quality=config.dp_quality,
                      seed=seed, sensitive=SURVEYS[config.dataset]["sensitive"])


def binary_prf(truth: np.ndarray, guess: np.ndarray, positive=POSITIVE) -> tuple[float, float, float]:
    """Precision, recall and F1 of ``positive`` (0/0 := 0, as scikit-learn's ``zero_division=0``).

    Raises ValueError when the labels are of another kind than ``positive`` (codes or booleans instead of
    "Yes") — they would otherwise score a silent 0.
    """
    t, g = np.asarray(truth) == positive, np.asarray(guess) == positive
    if not (t.any() or g.any()):
        seen = set(np.asarray(truth, dtype=object).tolist()) | set(np.asarray(guess, dtype=object).tolist())
        if seen and not any(isinstance(v, type(positive)) for v in seen):
            raise ValueError(f"the labels ({sorted(map(repr, seen))[:4]}) are not of the kind of the positive "
                             f"label {positive!r}")
    tp = float(np.sum(t & g))
    p = tp / g.sum() if g.any() else 0.0
    r = tp / t.sum() if t.any() else 0.0
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)


def macro_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``truth`` or ``pred``."""
    truth, pred = np.asarray(truth, dtype=object), np.asarray(pred, dtype=object)
    labels = pd.unique(np.concatenate([truth, pred]))
    return float(np.mean([binary_prf(truth, pred, c)[2] for c in labels]))


def evaluate_split(data, setting: Setting, split: int, config: TreeSweepConfig,
                   table: EncodedTable | None = None, art: bool = False,
                   free: dict[str, float] | None = None) -> dict[str, float]:
    """Train the setting's tree on split ``split`` and return utility and attack metrics.

    ``table`` is ``data.data`` encoded once (:func:`defenses.tree.encode_table`; made here if not given):
    the trees and attacks work on its row subsets, which gives the numbers of the DataFrame rows. With
    ``art``, ART's white-box decision-tree attack runs too (metrics ``art_*``). ``free``: the split's
    model-free metrics (:func:`model_free_metrics`), computed here when not given. ``gain_<attack>_<part>``
    is the attack's F1 minus the no-model attacker's on the same split and records.
    """
    X, y = data.data, data.target
    survey = SURVEYS[config.dataset]
    sensitive, positive = survey["sensitive"], survey["positive"]
    table = encode_table(X) if table is None else table
    train, test = split_indices(len(X), split, config)
    Xtr, ytr, Xte, yte = X.iloc[train], y.iloc[train], X.iloc[test], y.iloc[test]
    Ttr, Tte = table[train], table[test]
    learner = make_model(setting, config, split)
    model = make_model(setting, config, split).fit(Ttr, ytr)
    pred = model.predict(Tte)
    out = {"utility": macro_f1(yte.to_numpy(), pred), "accuracy": float(np.mean(pred == yte.to_numpy())),
           "n_leaves": float(len(model.tree_.leaves)), "utility_trials": float(len(test)),
           "accuracy_trials": float(len(test))}
    prior = estimate_prior(Xtr[sensitive])
    prior_seed = int(np.random.SeedSequence([config.seed, split, 2]).generate_state(1)[0])
    attacks = {
        "nm": NaiveMAPClassifierAttack(sensitive, prior, confusion_matrix(model, Ttr, ytr)).fit(model),
        "wc": MAPWithCountsAttack(sensitive, prior).fit(model),
        "prior": PriorBaseline(prior, strategy="sample", random_state=prior_seed),
        "mode": PriorBaseline(prior, strategy="mode"),
    }
    # The learned model-using attackers: fitted on the attacker's records (the training respondents) with
    # the model's own evidence to attack members, with shadow models' evidence to attack non-members.
    evidence = {"abb": lambda m, T, yy: NaiveMAPClassifierAttack(sensitive, prior, confusion_matrix(m, T, yy)).fit(m),
                "awb": lambda m, T, yy: MAPWithCountsAttack(sensitive, prior).fit(m)}
    shadows = shadow_folds(learner, Ttr, ytr, 3, random_state=prior_seed % 2**31)
    assisted = {part: {name: ModelAssistedAttack(sensitive, ev, positive, random_state=split).fit(
                    model, Ttr, ytr, shadows=None if part == "train" else shadows)
                       for name, ev in evidence.items()} for part in ("train", "test")}
    for part, (Xp, Tp, yp) in {"train": (Xtr, Ttr, ytr), "test": (Xte, Tte, yte)}.items():
        truth = Xp[sensitive].to_numpy()
        guesses = {name: attack.infer(Tp, yp).guesses for name, attack in attacks.items()}
        guesses.update({name: a.infer(Tp, yp).guesses for name, a in assisted[part].items()})
        if art:
            from defenses.interop.art import ARTWhiteBoxTreeAttack

            guesses["art"] = ARTWhiteBoxTreeAttack(sensitive, prior).fit(model).infer(Xp, yp).guesses
        if setting.defense == "ID3 (no defense)":  # model-free, so computed once per split
            guesses["known"] = known_attributes_guesses(Xtr, ytr, Xp, yp, sensitive)
        for name, guess in guesses.items():
            p, r, f = binary_prf(truth, guess, positive)
            out.update({f"{name}_{part}_precision": p, f"{name}_{part}_recall": r, f"{name}_{part}_f1": f})
            # trials: the guesses of the positive value (precision), the respondents who hold it (recall),
            # every respondent attacked (F1: a binomial floor on its uncertainty, not its exact variance)
            out.update({f"{name}_{part}_precision_trials": float(np.sum(np.asarray(guess) == positive)),
                        f"{name}_{part}_recall_trials": float(np.sum(truth == positive)),
                        f"{name}_{part}_f1_trials": float(len(truth))})
    free = model_free_metrics(data, split, config, table) if free is None else free
    out.update(free)
    for name in ("nm", "wc", "abb", "awb", "prior", *(("art",) if art else ())):
        for part in ("train", "test"):
            out[f"gain_{name}_{part}"] = out[f"{name}_{part}_f1"] - free[f"free_{part}_f1"]
    return out


def model_free_metrics(data, split: int, config: TreeSweepConfig, table: EncodedTable | None = None) -> dict[str, float]:
    """What split ``split`` gives without any model: the no-model attacker (:class:`NoModelAttack`, fitted
    on the training respondents) on training and test respondents (``free_*``), and the utility of the
    majority class (``utility_chance``: its macro F1 on the test respondents; ``accuracy_chance``)."""
    X, y = data.data, data.target
    survey = SURVEYS[config.dataset]
    table = encode_table(X) if table is None else table
    train, test = split_indices(len(X), split, config)
    attack = NoModelAttack(survey["sensitive"], survey["positive"], random_state=split).fit(None, table[train],
                                                                                       y.iloc[train])
    out: dict[str, float] = {}
    for part, rows in (("train", train), ("test", test)):
        truth = X.iloc[rows][survey["sensitive"]].to_numpy()
        guess = attack.infer(table[rows], y.iloc[rows]).guesses
        p, r, f = binary_prf(truth, guess, survey["positive"])
        out.update({f"free_{part}_precision": p, f"free_{part}_recall": r, f"free_{part}_f1": f,
                    f"free_{part}_f1_trials": float(len(rows))})
    majority = y.iloc[train].value_counts().idxmax()
    yte = y.iloc[test].to_numpy()
    out["utility_chance"] = macro_f1(yte, np.full(len(yte), majority, dtype=object))
    out["accuracy_chance"] = float(np.mean(yte == majority))
    return out


def known_attributes_guesses(X_train: pd.DataFrame, y_train: pd.Series, X: pd.DataFrame, y: pd.Series,
                             sensitive: str = SENSITIVE) -> np.ndarray:
    """MAP guesses of the sensitive value without any model: a categorical naive Bayes
    p(s | x_K, y) ∝ p(s) Π_j p(x_j | s) · p(y | s) (Laplace smoothing, α = 1) fitted on the training
    respondents' answers — what an attacker holding the training data's joint distribution infers from
    the known attributes and the label alone [ours, the "known attributes" baseline of Figure 2(a)]."""
    cols = [c for c in X_train.columns if c != sensitive]

    def design(Xp, yp):
        return np.column_stack([Xp[c].cat.codes.to_numpy() for c in cols] + [yp.cat.codes.to_numpy()])

    sizes = [len(X_train[c].cat.categories) for c in cols] + [len(y_train.cat.categories)]
    nb = CategoricalNB(alpha=1.0, min_categories=np.array(sizes))
    nb.fit(design(X_train, y_train), X_train[sensitive].astype(str).to_numpy())
    return nb.predict(design(X, y))


@dataclass
class TreeSweepResult:
    """Runs of a finished sweep (``key → metrics``) with the settings that produced them."""

    config: TreeSweepConfig
    settings: list[Setting]
    n_splits: int
    runs: dict[str, dict[str, float]]
    dataset: str
    art: bool = False
    n_rows: int = 0

    def _rows(self, setting: Setting) -> list[dict[str, float]]:
        return [self.runs[f"{setting.key}|split={k}"] for k in range(self.n_splits)]

    def _interval(self, values: list[float]) -> list[float] | None:
        _, lo, hi = corrected_resampled_t(values, self.config.test_fraction)
        return None if np.isnan(lo) else [lo, hi]

    def series(self, attack: str) -> list[dict[str, Any]]:
        """docs/figures.md ``series`` for ``attack`` (a key of :data:`ATTACKS` but ``no_model``).

        ``attack_train``/``attack_test`` are F1 of the positive value on training/test respondents;
        ``attack_ci`` is ``attack_test``'s interval (as in Figure 2(a)). Precision and recall come along
        with their intervals. ``gain_test`` / ``gain_train``: the attack's F1 minus the no-model
        attacker's (:class:`~defenses.tree.NoModelAttack`) on the same split, with the corrected
        resampled-t interval over splits (``gain_test_ci``, named in ``ci_methods``); ``values`` holds the
        per-split values (split order) of the utility, the attack's F1 and its gain.
        """
        if attack == "art_white_box" and not self.art:
            raise ValueError("the sweep ran without IBM ART (pip install 'mid-toolkit[interop]'): no ART series")
        if attack not in ATTACKS or attack == "no_model":
            raise ValueError(f"attack must be one of {sorted(set(ATTACKS) - {'no_model'})}, got {attack!r}")
        prefix = ATTACKS[attack]
        out = []
        for s in self.aggregate():
            points = []
            for p in s["points"]:
                rename = {"utility": "utility", "accuracy": "accuracy", "n_leaves": "n_leaves"}
                for part in ("train", "test"):
                    rename[f"{prefix}_{part}_f1"] = f"attack_{part}"
                    for m in ("precision", "recall"):
                        rename[f"{prefix}_{part}_{m}"] = f"{m}_{part}"
                    rename[f"gain_{prefix}_{part}"] = f"gain_{part}"
                q: dict[str, Any] = {"knob": p["knob"]}
                for old, new in rename.items():
                    for suffix in ("", "_ci", "_ci_method"):
                        q[new + suffix] = p[old + suffix]
                for part in ("train", "test"):  # a gain that never varies has no interval (not a zero-width one)
                    q[f"gain_{part}_ci"] = self._interval(p["values"][f"gain_{prefix}_{part}"])
                    q[f"gain_{part}_ci_method"] = RESAMPLED_T if q[f"gain_{part}_ci"] else NO_VARIATION
                q["attack_ci"], q["attack_ci_method"] = q["attack_test_ci"], q["attack_test_ci_method"]
                q["runs"] = p["runs"]
                q["values"] = {new: p["values"][old] for old, new in rename.items()}
                q["trials"] = {new: p["trials"][old] for old, new in rename.items() if old in p["trials"]}
                points.append(q)
            out.append({"defense": s["defense"], "knob": s["knob"], "points": points})
        return out

    @property
    def test_train_ratio(self) -> float:
        """``n_test / n_train`` of the splits (the resampled-t correction of overlapping splits)."""
        if self.n_rows < 2:
            raise ValueError("the sweep's table size is unknown (n_rows)")
        n_test = int(round(self.config.test_fraction * self.n_rows))
        return n_test / (self.n_rows - n_test)

    def aggregate(self) -> list[dict[str, Any]]:
        """:func:`validation.sweep.aggregate` of every metric, with the split correction."""
        return aggregate(self.settings, self.n_splits, self.runs, proportions=("utility",),
                         test_train_ratio=self.test_train_ratio)

    def baseline(self) -> dict[str, Any]:
        """The adversaries without a model: F1 of the positive value on training (no suffix) and test
        (``_test``) rows, mean over splits.

        ``attack_no_model`` (test rows; ``attack_no_model_train``): the strongest attacker here without a
        model (:class:`~defenses.tree.NoModelAttack`: a logistic regression on the known attributes and the
        label, fitted on the training respondents, F1-optimal threshold), with the corrected resampled-t
        interval (``ci_methods``) and its per-split ``values``; ``utility_chance``: the macro F1 of always
        predicting the training majority class (test respondents). ``attack_prior``: the MAP rule without a
        model — always the training prior's mode (F1 0 whenever the positive value is the minority);
        ``attack_prior_rate``: each guess drawn from the training prior (a guesser at the base rate, F1 ≈
        the rate of the positive value); ``attack_known_attributes``: MAP guesses of a naive Bayes fitted
        on the training respondents (:func:`known_attributes_guesses`).
        """
        undefended = self.aggregate()[0]["points"][0]  # its runs carry the model-free adversaries
        out: dict[str, Any] = {"values": {}}
        for name, prefix in (("attack_prior", "mode"), ("attack_prior_rate", "prior"),
                             ("attack_known_attributes", "known")):
            for part in ("train", "test"):
                metric = f"{prefix}_{part}_f1"
                key = name if part == "train" else f"{name}_test"
                out[key], out[f"{key}_ci"] = undefended[metric], undefended[f"{metric}_ci"]
                out[f"{key}_ci_method"] = undefended[f"{metric}_ci_method"]
                out["values"][key] = undefended["values"][metric]
        for key, metric in (("attack_no_model", "free_test_f1"), ("attack_no_model_train", "free_train_f1"),
                            ("utility_chance", "utility_chance"), ("accuracy_chance", "accuracy_chance")):
            v = undefended["values"][metric]
            out["values"][key] = v
            out[key], out[f"{key}_ci"] = float(np.mean(v)), self._interval(v)
            out[f"{key}_ci_method"] = RESAMPLED_T if out[f"{key}_ci"] else NO_VARIATION
        out["trials"] = {"attack_no_model": undefended["trials"]["free_test_f1"],
                         "attack_no_model_train": undefended["trials"]["free_train_f1"]}
        out["attack_no_model_name"] = ("no model: logistic regression of the sensitive value on the one-hot known "
                                       "attributes and label, fitted on the training respondents, positive where "
                                       "its posterior reaches the F1-optimal threshold (cross-validated)")
        out["utility_chance_name"] = "macro F1 of always predicting the training majority class"
        return out


class TreeEvaluate:
    """``evaluate(setting, split)`` of the tree sweep for the engine; loads the survey once per process and
    computes each split's model-free metrics once."""

    def __init__(self, config: TreeSweepConfig, data_home: str | os.PathLike | None = None, art: bool = False):
        if config.dataset not in SURVEYS:
            raise ValueError(f"dataset must be one of {sorted(SURVEYS)}, got {config.dataset!r}")
        self.config = config
        self.data_home = data_home
        self.art = art
        self._data = self._table = None
        self._free: dict[int, dict[str, float]] = {}

    @property
    def data(self):
        if self._data is None:
            self._data = SURVEYS[self.config.dataset]["load"](self.data_home,
                                                              complete_cases=self.config.complete_cases)
            self._table = encode_table(self._data.data)  # encoded once per process, sliced per unit
        return self._data

    def __getstate__(self):
        return {**self.__dict__, "_data": None, "_table": None, "_free": {}}  # workers load the table themselves

    def __call__(self, setting: Setting, split: int) -> dict[str, float]:
        data = self.data
        if split not in self._free:
            self._free[split] = model_free_metrics(data, split, self.config, self._table)
        return evaluate_split(data, setting, split, self.config, self._table, art=self.art, free=self._free[split])


def run_tree_sweep(store_path: str | os.PathLike, *, data_home=None, config: TreeSweepConfig = FULL,
                   n_splits: int = 100, progress: bool = True, executor: Executor | None = None) -> TreeSweepResult:
    """Run (or resume) the sweep, recording every (setting, split) in the store file ``store_path``.

    ``executor`` (:mod:`validation.engine`) decides where the units run; the numbers do not depend on it.
    """
    art = art_available()
    evaluate = TreeEvaluate(config, data_home, art=art)
    data = evaluate.data
    settings = config.settings()
    experiment = {"dataset": f"{config.dataset}-survey" if config.dataset != "steak" else "steak-survey",
                  "n_rows": len(data.data), "config": asdict(config), "art_white_box": art, "version": 2}
    runs = run_sweep(settings, n_splits, evaluate, store_path, experiment, progress=progress, executor=executor,
                     name="tree sweep")
    return TreeSweepResult(config, settings, n_splits, runs, data.description, art, len(data.data))
