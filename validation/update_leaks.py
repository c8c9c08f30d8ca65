"""The Update-Leaks sweep: undefended, VIB (β grid) and DP-SGD (σ grid) targets × seeds (MID Fig. 2(d), 3(b)).

The paper attacks CIFAR-10 models; CIFAR-10 cannot be fetched here, so the full run uses **MNIST** (the
IDX files of the data directory, 28×28) as the documented stand-in, with the official split roles
(docs/attacks.md: CIFAR-10 train indices [0,10k) target, [10k,20k) shadow, [20k,30k) shadow updates,
[30k,31k) target updates, [40k,50k) probe pool) drawn from a seeded permutation of the MNIST training
file: target 10,000, shadow 10,000, shadow updates 10,000, target updates 1,000, and a probe set of
10 images per class (100) from the disjoint rest; test accuracy and ECE on the 10,000 MNIST test images.
The ``--quick`` configuration uses scikit-learn's 8×8 digits (1,797 images, every role including the
test set carved from one seeded permutation). All sizes are parameters of :class:`UpdateLeaksConfig`.

One run = one seed k: the roles (from ``split_seed`` and k, shared by every setting of that seed, so
the defenses are compared on the same records), a target and a shadow model of the setting's defense
(the same estimator, trained on the target and the shadow set with different seeds), an
:class:`~defenses.neural.UpdateLeaksAttack` trained on the shadow updates and applied to the target
updates. Metrics of a run:

* ``utility`` — test accuracy of the target; ``train_accuracy``; ``ece`` (``ece_bins`` equal-width
  bins — 10 as in the official Update-Leaks code — test images, ``predict_proba`` as released: one latent
  draw for VIB), ``ece_15`` and ``ece_100`` (15 bins as Guo et al., 100 as the official Knowledge-Alignment
  code); ``brier`` (Brier score of the released vectors: a proper score, which unlike ECE does not reward
  a label-only release) and ``nll`` (negative log-likelihood, the true label's entry floored at 1e-12);
  ``shadow_utility``;
* ``attack`` — label-inference accuracy of the attack (the network after its last round) on the target
  updates, with the first query budget of ``queries`` (1: the official protocol); ``attack_round_mean`` —
  the official metric, the accuracy averaged over the rounds' snapshots; ``attack_shadow_accuracy`` — its
  accuracy on the shadow updates it was trained on; ``attack_q<k>`` — the accuracy of an attacker that
  queries every probe k times before and after the update and averages (it simulates its shadow updates
  with the same budget). Where every query gets the same answer (a deterministic model behind a
  deterministic release) k changes nothing, so ``attack_q<k>`` is ``attack`` (``queries_identical`` in
  the figure's points); ``attack_trials`` — the number of target updates behind each accuracy;
* ``prior`` — the no-model baseline (always the most frequent shadow-update label) on the target updates;
* ``delta_rms`` — root mean square of the target's Δ (the size of the signal the attack reads);
* DP-SGD: ``noise_multiplier``, ``eps_rdp`` (Opacus RDP, Balle et al. 2020 conversion) and ``eps_prv``
  (Opacus PRV), both at ``delta``; an infinite ε is left out rather than stored.

Output perturbation (``roundings`` r, ``uniform_noises`` a; :mod:`defenses.output`, docs/defenses.md):
the undefended CNN of the seed (the same target and shadow model as the ``undefended`` setting) releasing
only rounded / noised probability vectors. The attacker then reads Δ of the released vectors on the
probes and simulates its shadow updates through the same release (it knows the defense); the reference
is the same CNN releasing its softmax vectors unperturbed (:data:`SOFTMAX_RELEASE`), since an attack on
probabilities is not the attack on logits. ``utility`` and ``train_accuracy`` are then the accuracy of
the argmax of the released vectors (first index on ties, as :class:`defenses.output.OutputPerturbedClassifier`),
``ece`` that of the released confidences (:func:`defenses.output.released_ece`; rounded vectors need not
sum to 1). The noise of the released test vectors is seeded by the run, that of every simulated update
by the update (:func:`defenses.neural.simulate_updates`).

Two further defenses (issue: what each defense protects). ``VIB (mean latent)``: the VIB networks of the
seed released with z = μ (``deterministic_eval``) — a defender's option beside the official sampled
latent, whose per-query noise an attacker with a query budget averages away. ``DP update step``: the
undefended CNN whose update step is private (:class:`~defenses.neural.PrivateUpdate`: clipped gradient
plus Gaussian noise, at ``update_epsilons`` ε, replace-one adjacency, ``delta``) — it protects the update
record, which DP-SGD on the initial training does not; its ``utility`` is the mean test accuracy of the
model served after a private update (``n_utility_updates`` of them), ``utility_before_update`` that of
the model before.

:func:`run_update_leaks_sweep` runs the grid through :func:`validation.sweep.run_sweep` (resumable
store ``update_leaks_sweep[_quick].json``) and is shared by ``paper_figs.fig2d`` and ``paper_figs.fig3b``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from defenses import output
from defenses.datasets import load_digits, load_mnist
from defenses.metrics import ece
from defenses.neural import (
    PrivateUpdate,
    UpdateLeaksAttack,
    label_prior_baseline,
    updated_model,
)
from defenses.registry import NEURAL, TrainingConfig
from validation import configs
from validation.configs import (
    MATCHED,
    UNDEFENDED,
    choose_scale,
    describe,
    grid_settings,
    make_target,
    quick_scale,
    scale_line,
    settings_of,
)
from validation.engine import Executor
from validation.neural import SOFTMAX_RELEASE, accounting
from validation.sweep import Setting, aggregate, run_sweep

logger = logging.getLogger(__name__)

_DATASETS = ("mnist", "digits")
#: The VIB networks of the ``VIB`` series released with z = μ instead of a sampled latent.
VIB_MEAN = "VIB (mean latent)"
#: The undefended CNN whose update step is private (:class:`~defenses.neural.PrivateUpdate`).
DP_UPDATE = "DP update step"
#: Which record each series' defense protects (drawn in the legends of Fig. 2(d), 3(b)), from the registry.
PROTECTS = {d.name: d.protects for d in NEURAL}
_ROLES = ("target", "shadow", "shadow_updates", "target_updates", "test")


@dataclass(frozen=True)
class UpdateLeaksConfig(TrainingConfig):
    """Everything that determines the numbers of an Update-Leaks sweep (stored with the results).

    The targets' training fields are those of the shared :class:`~defenses.registry.TrainingConfig`, with
    the Update-Leaks defaults (architecture ``"cnn-strided"``, 20 epochs, DP-SGD learning rate 2e-3).

    ``n_test = None`` (MNIST) evaluates on the whole MNIST test file; a number carves that many test
    images from the pool instead (the 8×8 digits have no separate test set).
    """

    #: Where the training fields stand in the stored description (:func:`validation.configs.describe`).
    TRAINING_AFTER: ClassVar[str] = "split_seed"

    name: str = "full"
    dataset: str = "mnist"
    n_target: int = 10_000
    n_shadow: int = 10_000
    n_shadow_updates: int = 10_000
    n_target_updates: int = 1_000
    n_test: int | None = None
    probes_per_class: int = 10
    split_seed: int = 0
    architecture: str = "cnn-strided"
    epochs: int = 20
    dp_lr: float = 2e-3
    update_lr: float = 1e-2
    update_batch_size: int = 64
    attack_rounds: int = 10
    attack_epochs_per_round: int = 30
    attack_lr: float = 1e-3
    attack_batch_size: int = 64
    ece_bins: int = 10
    betas: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)
    noise_multipliers: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
    n_seeds: int = 5
    #: The attacker's query budgets k (:class:`~defenses.neural.UpdateLeaksAttack` ``queries``): every setting
    #: is attacked with each; the first is the headline ``attack`` (1: the official protocol).
    queries: tuple[int, ...] = (1, 10, 100)
    #: VIB released with z = μ (``deterministic_eval``), the same trained networks as the ``VIB`` series.
    vib_mean_latent: bool = True
    #: A private update step (:class:`~defenses.neural.PrivateUpdate`) of the undefended CNN at these ε
    #: (replace-one adjacency, at ``delta``, clip norm ``max_grad_norm``): it protects the update record.
    update_epsilons: tuple[float, ...] = (1.0, 10.0, 100.0, 1000.0)
    #: Target updates whose updated model's test accuracy is the utility of a private update.
    n_utility_updates: int = 10
    #: Output perturbation of the undefended CNN (:mod:`defenses.output`): rounding granularities r and
    #: uniform-noise levels a of the released probability vectors.
    roundings: tuple[float, ...] = ()
    uniform_noises: tuple[float, ...] = ()
    #: Further registered defenses (:data:`defenses.registry.NEURAL`) and their knob grids, e.g.
    #: ``(("label smoothing", (0.1, 0.3)),)``: each becomes a series after the built-in ones.
    defenses: tuple[tuple[str, tuple[float, ...]], ...] = field(default=(), metadata={"described": "if set"})

    def settings(self) -> list[Setting]:
        return (settings_of(UNDEFENDED) + settings_of("VIB", self.betas)
                + (settings_of(VIB_MEAN, self.betas) if self.vib_mean_latent else [])
                + settings_of("DP-SGD", self.noise_multipliers) + settings_of(DP_UPDATE, self.update_epsilons)
                + (settings_of(SOFTMAX_RELEASE) if self.roundings or self.uniform_noises else [])
                + settings_of("rounding", self.roundings) + settings_of("uniform noise", self.uniform_noises)
                + grid_settings(self.defenses))

    def check(self) -> None:
        """Refuse an inconsistent configuration with one clear message (before any training)."""
        self.settings()  # an unknown defense, or one without its knob values
        if self.dataset not in _DATASETS:
            raise ValueError(f"dataset must be one of {_DATASETS}, got {self.dataset!r}")
        for name in ("n_target", "n_shadow", "n_shadow_updates", "n_target_updates", "probes_per_class",
                     "epochs", "n_seeds", "attack_rounds", "attack_epochs_per_round", "ece_bins", "n_utility_updates"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.n_test is not None and (isinstance(self.n_test, bool) or not isinstance(self.n_test, int)
                                        or self.n_test < 1):
            raise ValueError(f"n_test must be None or a positive integer, got {self.n_test!r}")
        if self.dataset == "digits" and self.n_test is None:
            raise ValueError("the 8x8 digits have no test file: give n_test (images carved from the pool)")
        for r in self.roundings:
            output.round_confidences(r)  # refuses r outside (0, 1]
        for a in self.uniform_noises:
            output.add_uniform_noise(a)  # refuses a < 0
        if not self.queries or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in self.queries):
            raise ValueError(f"queries must be a non-empty tuple of positive integers, got {self.queries!r}")
        for e in self.update_epsilons:
            PrivateUpdate.for_epsilon(e, max_grad_norm=self.max_grad_norm, delta=self.delta)  # refuses ε <= 0
        if self.n_utility_updates > self.n_target_updates:
            raise ValueError(f"n_utility_updates ({self.n_utility_updates}) exceeds n_target_updates "
                             f"({self.n_target_updates})")


#: The full figure (MNIST stand-in for CIFAR-10, the official role sizes, 5 seeds); rounding up to r = 1
#: (only entries above 1/2 survive, as 1: the released vector is at most the one-hot label).
FULL = UpdateLeaksConfig(roundings=(0.01, 0.1, 0.3, 1.0), uniform_noises=(0.01, 0.03, 0.1, 0.3))
#: The configuration run on two shared CPU cores (no CUDA): MNIST with every role at 3,000 images (target
#: updates 500), 15 epochs, three points per defense, query budgets 1, 10, 100, 5 seeds and the same attack;
#: the full role sizes and grids need about 2 CPU-hours per seed on this architecture.
CPU = UpdateLeaksConfig(name="cpu", n_target=3_000, n_shadow=3_000, n_shadow_updates=3_000, n_target_updates=500,
                        epochs=15, betas=(1e-3, 1e-2, 1e-1), noise_multipliers=(0.5, 1.0, 2.0),
                        roundings=(0.01, 0.1, 1.0), uniform_noises=(0.03, 0.1), update_epsilons=(1.0, 10.0, 100.0, 1000.0))
#: The ``--quick`` check: 8×8 digits, small roles, three VIB (sampled and mean-latent) and three DP-SGD
#: settings, private updates at two ε, one rounding and one noise level, query budgets 1 and 10, 3 seeds,
#: short attack.
QUICK = UpdateLeaksConfig(name="quick", dataset="digits", n_target=300, n_shadow=300, n_shadow_updates=500, n_target_updates=200,
                          n_test=200, epochs=15, patience=15, batch_size=32, dp_batch_size=32, dp_lr=3e-3,
                          attack_rounds=3, attack_epochs_per_round=10, betas=(3e-3, 1e-2, 3e-2),
                          noise_multipliers=(0.5, 1.0, 2.0), n_seeds=3, roundings=(1.0,), uniform_noises=(0.1,),
                          queries=(1, 10), update_epsilons=(10.0, 1000.0))


def default_config(device: str = "auto") -> UpdateLeaksConfig:
    """The configuration of a non-quick run on ``device``: :data:`FULL` on CUDA, :data:`CPU` otherwise
    (:func:`validation.configs.choose_scale`; said on stderr and recorded as ``settings.name``)."""
    return _of_scale(choose_scale(None, device)[0])


def scaled_config(scale: str | None, device: str = "auto") -> UpdateLeaksConfig:
    """The configuration of ``scale`` (None: the device's default, said on stderr through the logger)."""
    chosen, why = choose_scale(scale, device)
    if scale is None:
        logger.warning(scale_line("Update-Leaks", chosen, why, device=device,
                                  what=f"validation.update_leaks.{chosen.upper()}"))
    return _of_scale(chosen)


def _of_scale(scale: str):
    """The configuration of ``scale`` (:data:`validation.configs.SCALES`): :data:`QUICK`, :data:`CPU` or
    :data:`FULL`, read when called."""
    return {"quick": QUICK, "cpu": CPU, "full": FULL}[scale]


def load_pool(config: UpdateLeaksConfig, data_home=None):
    """``(X_pool, y_pool, X_test, y_test, description)``; the test arrays are None when carved from the pool."""
    if config.dataset == "mnist":
        train, test = load_mnist(data_home, train=True), load_mnist(data_home, train=False)
        return train.data, train.target, test.data, test.target, train.description + " " + test.description
    d = load_digits(data_home)
    return d.data, d.target, None, None, d.description


def split_roles(y: np.ndarray, config: UpdateLeaksConfig, seed: int) -> dict[str, np.ndarray]:
    """Disjoint index sets of the pool for every role of run ``seed``, plus ``"probes"``.

    A permutation of the pool seeded by (``split_seed``, ``seed``) is cut into target, shadow, shadow
    updates, target updates and (when ``n_test`` is set) test, in that order; the probes are the first
    ``probes_per_class`` images of every class among the rest, in permutation order (docs/attacks.md).
    """
    y = np.asarray(y)
    sizes = {"target": config.n_target, "shadow": config.n_shadow, "shadow_updates": config.n_shadow_updates,
             "target_updates": config.n_target_updates, "test": config.n_test or 0}
    need = sum(sizes.values())
    if need >= len(y):
        raise ValueError(f"the roles need {need} images but the {config.dataset} pool has {len(y)}; "
                         "nothing would be left for the probes")
    perm = np.random.default_rng([config.split_seed, seed]).permutation(len(y))
    roles, start = {}, 0
    for role in _ROLES:
        roles[role] = perm[start:start + sizes[role]]
        start += sizes[role]
    rest = perm[start:]
    probes = []
    for c in np.unique(y):
        of_c = rest[y[rest] == c][: config.probes_per_class]
        if len(of_c) < config.probes_per_class:
            raise ValueError(f"the probe pool holds only {len(of_c)} images of class {c}, "
                             f"fewer than probes_per_class={config.probes_per_class}")
        probes.append(of_c)
    roles["probes"] = np.concatenate(probes)
    return roles


def make_release(setting: Setting, seed: int) -> output.OutputPerturbation | None:
    """What the target of ``setting`` releases: None for logits (the models' own settings), else the
    output perturbation of its probability vectors (the identity for :data:`SOFTMAX_RELEASE`); ``seed``
    seeds the noise of its released test vectors (:func:`validation.configs.make_release`)."""
    return configs.make_release(setting, seed)


def make_private_update(setting: Setting, config: UpdateLeaksConfig) -> PrivateUpdate | None:
    """The service's update step of ``setting``: private at the setting's ε for :data:`DP_UPDATE`, else
    None (the official plain SGD step)."""
    return configs.make_update(setting, config)


def _query_invariant(setting: Setting) -> bool:
    """Whether every query of a probe gets the same answer: a deterministic model behind a deterministic
    release (then a budget k > 1 gives the Δ of k = 1 exactly, :func:`~defenses.neural.simulate_updates`)."""
    return not NEURAL[setting.defense].stochastic


class UpdateLeaksExperiment:
    """Callable ``(setting, seed) -> metrics`` for :func:`validation.sweep.run_sweep`.

    Loads the data lazily, once per process; every random draw derives from the setting's seed. The
    output perturbations and the private update share the undefended setting's target and shadow model of
    a seed, the mean-latent VIB the VIB setting's, trained once per process (training is seeded, so a
    worker that trains them again gets the same models).
    """

    def __init__(self, config: UpdateLeaksConfig, *, data_home=None, device: str = "auto"):
        config.check()
        self.config = config
        self.data_home = data_home
        self.device = device
        self._data = None
        self._models: dict[tuple[str, int], tuple[Any, Any]] = {}

    def __getstate__(self):
        return {**self.__dict__, "_data": None, "_models": {}}  # workers read the data themselves

    @property
    def data(self):
        if self._data is None:
            self._data = load_pool(self.config, self.data_home)
        return self._data

    def __call__(self, setting: Setting, seed: int) -> dict[str, float]:
        c = self.config
        X, y, X_test, y_test, _ = self.data
        roles = split_roles(y, c, seed)
        if X_test is None:
            X_test, y_test = X[roles["test"]], y[roles["test"]]
        tr = roles["target"]
        target, shadow = self._trained(setting, seed, X, y, roles)
        release = make_release(setting, 1000 * seed + 5)
        private = make_private_update(setting, c)
        su, tu, probes = roles["shadow_updates"], roles["target_updates"], X[roles["probes"]]
        if release is None:
            proba = target.predict_proba(X_test)
            calibration = ece(y_test, proba, n_bins=c.ece_bins, n_boot=1).value
            train_pred = target.predict(X[tr])
        else:  # what the service releases: accuracy of its argmax, ECE of its confidences
            proba = release(target.predict_proba(X_test))
            calibration = output.released_ece(np.searchsorted(target.classes_, y_test), proba, c.ece_bins)
            train_pred = target.classes_[release(target.predict_proba(X[tr])).argmax(1)]
        y_idx = np.searchsorted(target.classes_, y_test)
        out: dict[str, float] = {
            "utility": float(np.mean(target.classes_[proba.argmax(1)] == y_test)),
            "train_accuracy": float(np.mean(train_pred == y[tr])),
            "ece": calibration,
            **{f"ece_{m}": output.released_ece(y_idx, proba, m) for m in (15, 100)},
            "brier": output.released_brier(y_idx, proba),
            "nll": output.released_nll(y_idx, proba),
            "shadow_utility": float(np.mean(shadow.predict(X_test) == y_test)),
            "epochs_run": float(target.n_epochs_),
            "utility_trials": float(len(y_test)), "train_accuracy_trials": float(len(tr)),
            "shadow_utility_trials": float(len(y_test)),
        }
        if private is not None:  # the model served after a private update: what the defense costs in accuracy
            out["utility_before_update"] = out["utility"]
            out["utility"] = float(np.mean([
                np.mean(updated_model(target, X[tu[i:i + 1]], y[tu[i:i + 1]], lr=c.update_lr, private_update=private,
                                      random_state=1000 * seed + 4, index=i).predict(X_test) == y_test)
                for i in range(c.n_utility_updates)]))
            out["noise_multiplier"] = private.noise_multiplier
            out["eps_add_remove"] = private.epsilon("add_remove")
        first: dict[str, float] = {}
        for k in c.queries:
            if k != c.queries[0] and _query_invariant(setting):
                metrics = {m: v for m, v in first.items() if m != "delta_rms"}  # identical by construction
            else:
                metrics = self._attack(setting, k, release, private, target, shadow, probes, X, y, su, tu, seed)
            if k == c.queries[0]:
                first = metrics
                out.update(metrics)
            out[f"attack_q{k}"] = metrics["attack"]
            out[f"attack_q{k}_trials"] = float(len(tu))
        out["prior"] = label_prior_baseline(y[su], y[tu])[1]
        # trials: the target updates whose labels are inferred (the round mean re-scores the same ones)
        out.update({f"{m}_trials": float(len(tu)) for m in ("attack", "attack_round_mean", "prior")})
        if hasattr(target, "kl_divergence"):  # a stochastic encoder: the information its latent carries
            out["kl_nats"] = target.kl_divergence(X_test)
        out.update(accounting(target))
        return out

    def _attack(self, setting, queries, release, private, target, shadow, probes, X, y, su, tu, seed):
        """Train the attack on the shadow's simulated updates with a budget of ``queries``; its metrics on
        the target's updates."""
        c = self.config
        attack = UpdateLeaksAttack(
            update_lr=c.update_lr, update_batch_size=c.update_batch_size, release=release, queries=queries,
            private_update=private, lr=c.attack_lr, batch_size=c.attack_batch_size, rounds=c.attack_rounds,
            epochs_per_round=c.attack_epochs_per_round, device=self.device, random_state=1000 * seed + 3,
            progress=False,
        )
        attack.fit(shadow, probes, X[su], y[su])
        deltas = attack.observe(target, X[tu], y[tu], random_state=1000 * seed + 4)
        return {"attack": float(np.mean(attack.infer(deltas).guesses == y[tu])),
                "attack_round_mean": float(np.mean(attack.infer_rounds(deltas) == y[tu][None])),
                "attack_shadow_accuracy": attack.history_[-1]["train_accuracy"],
                "delta_rms": float(np.sqrt(np.mean(deltas.astype(np.float64) ** 2)))}

    def _trained(self, setting: Setting, seed: int, X, y, roles):
        """The fitted target and shadow model of ``setting`` and ``seed`` (as the service releases them).

        A release or an update step uses the models of its base (trained once per process and seed, and
        kept for the other settings of the seed); a model defense's are trained for its own setting."""
        defense = NEURAL[setting.defense]
        base = setting if defense.kind == "model" else Setting(defense.base, setting.knob, setting.value)
        if NEURAL[base.defense].knob is None:
            base = Setting(base.defense, None, None)
        key = (base.key, seed)
        if key not in self._models:
            c, tr, sh = self.config, roles["target"], roles["shadow"]
            classes = np.unique(y)  # public: the label set of the task, never read off a private sample
            target = make_target(base, c, seed=1000 * seed + 1, device=self.device, classes=classes).fit(X[tr], y[tr])
            shadow = make_target(base, c, seed=1000 * seed + 2, device=self.device, classes=classes).fit(X[sh], y[sh])
            if not any(d.base == base.defense for d in NEURAL):  # nothing else of the seed uses them
                return _viewed(setting, target, shadow)
            self._models[key] = (target, shadow)
        return _viewed(setting, *self._models[key])


def _viewed(setting: Setting, target, shadow):
    """The fitted models as ``setting`` releases them (its registered view, e.g. VIB with z = μ)."""
    view = configs.make_view(setting)
    return (target, shadow) if view is None else (view(target), view(shadow))


#: Metrics whose per-seed values are kept in each figure point (paired comparisons across settings).
PER_SEED = ("utility", "attack", "ece", "prior")


def run_update_leaks_sweep(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
                           config: UpdateLeaksConfig | None = None, progress: bool = True,
                           executor: Executor | None = None, scale: str | None = None) -> dict[str, Any]:
    """Run (or resume) the sweep; return ``{"config", "series", "runs", "store"}``.

    The store is ``<out_dir>/update_leaks_sweep[_quick].json``, shared by Fig. 2(d) and 3(b). Each
    aggregated point carries, beside means and 95% Student-t intervals over seeds, the per-seed values of
    :data:`PER_SEED` under ``"per_seed"`` (seed order), for paired comparisons. Without ``config``: the
    configuration of ``scale`` (``quick=True`` is ``scale="quick"``), else the device's default
    (:data:`FULL` on CUDA, :data:`CPU` otherwise), said on stderr.
    """
    scale = quick_scale(quick, scale)
    quick = scale == "quick"
    if config is None:
        config = scaled_config(scale, device)
    config.check()
    out_dir = Path(out_dir)
    settings = config.settings()
    experiment = UpdateLeaksExperiment(config, data_home=data_home, device=device)
    experiment.data  # noqa: B018 — fail on missing data here, before any worker starts
    described = {**describe(config), "quick": quick}
    tag = "_quick" if quick else ("" if config.name == "full" else f"_{config.name}")
    store = out_dir / f"update_leaks_sweep{tag}.json"
    runs = run_sweep(settings, config.n_seeds, experiment, store, described, progress=progress,
                     executor=executor, name="update-leaks sweep")
    common = _common_keys(settings, config.n_seeds, runs)
    ratio = split_ratio(config, len(experiment.data[1]))
    series = aggregate(settings, config.n_seeds, common, proportions=("utility", "utility_before_update"),
                       test_train_ratio=ratio)
    per_seed = PER_SEED + tuple(f"attack_q{k}" for k in config.queries)
    for group, s in zip(_by_defense(settings), series):
        s["protects"] = PROTECTS.get(s["defense"], "")
        for setting, p in zip(group, s["points"]):
            rows = [common[f"{setting.key}|split={k}"] for k in range(config.n_seeds)]
            p["per_seed"] = {m: [r[m] for r in rows] for m in per_seed if m in rows[0]}
            p["queries_identical"] = _query_invariant(setting)
    return {"config": described, "series": series, "runs": runs, "store": str(store), "test_train_ratio": ratio}


def split_ratio(config: UpdateLeaksConfig, pool_size: int) -> float:
    """The test/train ratio of the corrected resampled t (:mod:`validation.statistics`): when the test images
    are carved from the pool with the roles (the 8×8 digits), the seeds are overlapping random splits of one
    set, and the ratio is ``n_test / (pool − n_test)`` (Nadeau & Bengio's ``n_test / n_train`` when a set is
    split into training and test images only); else 0 (MNIST: the test set is the fixed test file, and the
    roles are small draws from 60,000 images)."""
    return config.n_test / (pool_size - config.n_test) if config.n_test else 0.0


def _by_defense(settings: list[Setting]) -> list[list[Setting]]:
    groups: dict[str, list[Setting]] = {}
    for s in settings:
        groups.setdefault(s.defense, []).append(s)
    return list(groups.values())


def _common_keys(settings, n_splits, runs):
    """Keep, per setting, only metrics present in every seed (an infinite ε is not stored: JSON has no ∞)."""
    out = {}
    for s in settings:
        keys = [f"{s.key}|split={k}" for k in range(n_splits)]
        common = set.intersection(*(set(runs[k]) for k in keys))
        out.update({k: {m: v for m, v in runs[k].items() if m in common} for k in keys})
    return out


def matched_points(series: list[dict[str, Any]], within: float = 0.05) -> dict[str, dict[str, Any] | None]:
    """For VIB and DP-SGD (and the output perturbations, where the sweep has them), the most protective
    point (lowest attack accuracy) among those whose mean test accuracy is within ``within`` of the
    undefended model's; None where no setting is. The softmax release is returned as it is."""
    by = {s["defense"]: s for s in series}
    ref = by[UNDEFENDED]["points"][0]
    out: dict[str, dict[str, Any] | None] = {UNDEFENDED: ref}
    if SOFTMAX_RELEASE in by:
        out[SOFTMAX_RELEASE] = by[SOFTMAX_RELEASE]["points"][0]
    for name in (*MATCHED, *(n for n in by if n not in (*MATCHED, UNDEFENDED, SOFTMAX_RELEASE))):
        pts = [p for p in by.get(name, {"points": []})["points"] if p["utility"] >= ref["utility"] - within]
        out[name] = min(pts, key=lambda p: p["attack"]) if pts else None
    return out


__all__ = ["CPU", "DP_UPDATE", "FULL", "PER_SEED", "PROTECTS", "QUICK", "VIB_MEAN", "UpdateLeaksConfig",
           "UpdateLeaksExperiment", "default_config", "load_pool", "make_private_update", "make_release", "make_target",
           "matched_points", "run_update_leaks_sweep", "split_ratio", "split_roles"]
