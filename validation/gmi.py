"""The GMI sweep on MNIST: undefended, VIB (β grid) and DP-SGD (σ grid) targets × seeds, attacked by GMI.

The GMI paper's MNIST setting (docs/attacks.md): the target classifies the *private* digits 0–4,
the attacker's WGAN-GP prior is trained on the *public* digits 5–9 (no private class among them), and
judges — evaluation classifiers of another architecture — score the reconstructions. MNIST images are
zero-padded from 28×28 to 32×32; held-out private images come from the test set's digits 0–4. The
``--quick`` setting plays the same roles on scikit-learn's 8×8 digits (pixel-repeated to 16×16, private
digits split 2/3 training, 1/3 held-out with a fixed seed).

**Judges** (:data:`JUDGES`). A judge that knows only the five private digits credits any digit-like
reconstruction — a public-looking "7" included — to a private identity, and random samples of the prior
(which learned the *public* digits) then score well above zero. The headline judge ``judge10`` knows all
ten digits: the private training images and as many public images per digit; its chance level is 1/10.
As in the GMI literature it has seen the private training images; ``heldout`` knows all ten digits too
but learned the private ones from held-out images disjoint from the target's training set (half of the
test set's digits 0–4; the other half is the held-out set of the target's accuracy), so a reader sees
whether a conclusion rests on the judge having seen the training images. ``private5`` is the earlier
5-way judge, kept to compare. Metrics of ``judge10`` carry no prefix, the others ``heldout_`` and
``private5_``.

Two stages run on the sweep engine (:mod:`validation.engine`):

1. **artifacts** — per seed, the prior (:class:`~defenses.neural.gmi.WGANGPPrior`) and the three judges
   (architecture ``eval_architecture``), each trained and returned as ``torch.save`` bytes that the driver
   writes to ``gmi_artifacts/<kind>-<id>.pt`` (store ``gmi_artifacts.json``, shared by every
   configuration; ``<id>`` hashes the settings and seed the artifact depends on, so a configuration that
   changes only the targets, or only the judges, reuses the priors already trained). Seed k's artifacts
   are seeded ``artifact_seed + k`` (``artifacts_per_seed``; the quick check trains one set for all);
2. **sweep** — one unit per (setting, seed) (:func:`validation.sweep.run_sweep`, store
   ``gmi_sweep[_<name>].json``): train the target on the private training images, attack every private
   identity ``attacks_per_identity`` times (:class:`~defenses.neural.gmi.GMIAttack`, all attacks and
   restarts in one batch) and score the result with every judge
   (:class:`~defenses.neural.gmi.InversionEvaluation`). The priors and judges travel *inside* the unit
   function as bytes (reloaded with ``weights_only=True``), so remote Dask workers need no shared file
   system; their SHA-256 is part of the sweep's identity, so a sweep is never mixed with results against
   another prior. The setting ``GAN-only`` scores random prior samples (no target) the same way: the
   attacker's baseline.

Randomness: the target of seed k is seeded k, its attack (z₀ and VIB noise) 1000 + k for every setting —
the defenses at one seed face the same starting points and the same prior and judges (paired comparisons).

Per unit: ``utility`` (held-out accuracy), ``train_accuracy``, ``epochs_run``, the attack metrics of
:class:`~defenses.neural.gmi.InversionEvaluation` under each judge — top-1 (``attack_acc_top1``), the
judge's confidence in the true identity (``confidence_true``), KNN and centroid feature distances in the
judge's feature space (``heldout_knn_dist_train``: in a network that never saw the private training
images), with ``<metric>_trials`` the number of reconstructions behind each proportion — and, for DP-SGD,
``noise_multiplier``, ``eps_rdp`` and ``eps_prv`` at ``delta`` (an infinite ε is not stored). Seed 0 of
every setting also ships its reconstructions (``gmi_recon[_<name>]/<setting>.npz``) for Figure 4(a).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from defenses.datasets import load_digits, load_mnist
from defenses.neural import CNNClassifier
from defenses.neural.gmi import (
    GMIAttack,
    InversionEvaluation,
    WGANGPPrior,
    gan_only_baseline,
)
from defenses.registry import TrainingConfig
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
from validation.engine import Executor, Unit, UnitOutput, run_units
from validation.neural import accounting
from validation.store import ResultStore
from validation.sweep import Setting, aggregate, mean_ci, run_sweep

logger = logging.getLogger(__name__)

__all__ = ["CPU", "FULL", "JUDGES", "QUICK", "GMIConfig", "GMIData", "GMIExperiment", "closest_pair", "default_config",
           "load_gmi_data", "make_target", "matched_within", "paired_difference", "recon_file_stem", "run_gmi_sweep"]

PRIVATE_DIGITS = (0, 1, 2, 3, 4)
PUBLIC_DIGITS = (5, 6, 7, 8, 9)
GAN_ONLY = Setting("GAN-only", None, None)
#: The judges (evaluation classifiers, architecture ``eval_architecture``) and what each is trained on:
#: ``judge10`` — the headline judge, every digit: the private training images (0–4) and as many public
#: images per digit (5–9); ``heldout`` — every digit, but its private digits are held-out images disjoint
#: from the target's training set (it never saw a private training image); ``private5`` — the earlier
#: judge, the five private digits only (any digit-like image is credited to a private identity). Metric
#: prefixes: ``""``, ``"heldout_"``, ``"private5_"``.
JUDGES = {"judge10": "", "heldout": "heldout_", "private5": "private5_"}


@dataclass(frozen=True)
class GMIConfig(TrainingConfig):
    """Everything that determines the numbers of a GMI sweep (stored with the results).

    The targets' training fields are those of the shared :class:`~defenses.registry.TrainingConfig` (its
    defaults are GMI's). ``private_per_class`` / ``test_per_class`` / ``public_limit`` cap the private training images per
    digit, the held-out images per digit and the public images (None: all; first ones in file order).
    """

    #: Where the training fields stand in the stored description (:func:`validation.configs.describe`).
    TRAINING_AFTER: ClassVar[str] = "gan_batch_size"

    name: str = "full"
    dataset: str = "mnist"
    private_per_class: int | None = None
    test_per_class: int | None = None
    public_limit: int | None = None
    gan_dim: int = 64
    gan_epochs: int = 50
    gan_batch_size: int = 64
    eval_architecture: str = "eval"
    eval_epochs: int = 20
    lam: float = 100.0
    attack_lr: float = 1e-2
    attack_iterations: int = 1500
    n_restarts: int = 5
    attacks_per_identity: int = 10
    betas: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3)
    noise_multipliers: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    n_seeds: int = 5
    artifact_seed: int = 0
    #: Re-draw the prior and the judges for every seed (seed k: artifact seed ``artifact_seed + k``), so the
    #: seeds are independent replications; False trains them once (seed 0's) for all seeds.
    artifacts_per_seed: bool = True
    #: Further registered defenses (:data:`defenses.registry.NEURAL`) and their knob grids, e.g.
    #: ``(("label smoothing", (0.1, 0.3)),)``: each becomes a series after the built-in ones.
    defenses: tuple[tuple[str, tuple[float, ...]], ...] = field(default=(), metadata={"described": "if set"})

    def settings(self) -> list[Setting]:
        return (settings_of(UNDEFENDED) + settings_of("VIB", self.betas) + settings_of("DP-SGD", self.noise_multipliers)
                + grid_settings(self.defenses) + [GAN_ONLY])

    def artifact_description(self, kind: str, seed: int = 0) -> dict[str, Any]:
        """The fields an artifact of seed ``seed`` depends on: the prior (``kind="prior"``) or a judge
        (:data:`JUDGES`)."""
        if kind not in ("prior", *JUDGES):
            raise ValueError(f"unknown artifact {kind!r}")
        keys = (("dataset", "public_limit", "gan_dim", "gan_epochs", "gan_batch_size") if kind == "prior" else
                ("dataset", "private_per_class", "test_per_class", "public_limit", "eval_architecture", "eval_epochs",
                 "batch_size"))
        return {"artifact": kind, **{k: getattr(self, k) for k in keys}, "seed": self.artifact_seed_of(seed)}

    def artifact_seed_of(self, seed: int) -> int:
        """The seed of the prior and the judges used by sweep seed ``seed``."""
        return self.artifact_seed + (seed if self.artifacts_per_seed else 0)

    def artifact_seeds(self) -> list[int]:
        """The sweep seeds whose artifacts are trained (one per seed, or seed 0's for all)."""
        return list(range(self.n_seeds)) if self.artifacts_per_seed else [0]


#: The GMI paper's MNIST setting: every private (0–4) and public (5–9) image, the official generator
#: width (dim 64), 1,500 iterations × 5 restarts, 10 attacks per digit (50 reconstructions per seed), 5 seeds,
#: prior and judges re-drawn per seed. A GPU run.
FULL = GMIConfig()
#: The configuration run on two shared CPU cores for the figures in the report: 500 private training
#: images per digit, all held-out images, 10,000 public images for a narrower prior (dim 16, 15 epochs), at
#: most 15 target epochs, 10 attacks per digit (50 reconstructions per seed), three points per defense,
#: 5 seeds, prior and judges re-drawn per seed, the official attack (λ = 100, lr 1e-2, momentum 0.9, 5
#: restarts) for 600 iterations instead of 1,500: on the quick setting the ten-digit judge's top-1 at 600
#: iterations is within sampling noise of 1,500 (undefended 0.40 vs 0.42, VIB β = 0.1 0.44 vs 0.40, 50
#: reconstructions each; the KNN feature distance still falls slowly, 5.6 → 5.3), and 1,500 would make the
#: 5-seed run several CPU-days on two shared cores.
CPU = GMIConfig(name="cpu", private_per_class=500, public_limit=10_000, gan_dim=16, gan_epochs=15, epochs=15,
                patience=4, eval_epochs=15, attacks_per_identity=10, attack_iterations=600, betas=(0.01, 0.03, 0.1),
                noise_multipliers=(0.5, 1.0, 2.0))
#: ``--quick``: the 8×8 digits (16×16), a small prior, 200 attack iterations, 10 attacks per digit, three
#: VIB and three DP-SGD points (a trade-off, not a single point), 2 seeds with one prior and judge set.
QUICK = GMIConfig(name="quick", dataset="digits", gan_dim=16, gan_epochs=15, gan_batch_size=32, epochs=12,
                  batch_size=32, patience=6, dp_batch_size=32, eval_epochs=12, attack_iterations=200,
                  attacks_per_identity=10, betas=(0.03, 0.1, 0.3), noise_multipliers=(0.5, 1.0, 2.0), n_seeds=2,
                  artifacts_per_seed=False)


def default_config(device: str = "auto") -> GMIConfig:
    """The configuration of a non-quick run on ``device``: :data:`FULL` on CUDA, :data:`CPU` otherwise.

    FULL trains a width-64 prior for 50 epochs on 29,404 public digits (``python benchmarks/neural.py
    --gmi`` measures 198 s per epoch at width 32 on two shared cores: the prior alone would take many
    hours), so the default on a machine without a GPU is the CPU configuration
    (:func:`validation.configs.choose_scale`); the choice is recorded in the figure's ``settings.name`` and
    its title.
    """
    return _of_scale(choose_scale(None, device)[0])


def scaled_config(scale: str | None, device: str = "auto") -> GMIConfig:
    """The configuration of ``scale`` (None: the device's default, said on stderr through the logger)."""
    chosen, why = choose_scale(scale, device)
    if scale is None:
        logger.warning(scale_line("GMI", chosen, why, device=device, what=f"validation.gmi.{chosen.upper()}"))
    return _of_scale(chosen)


def _of_scale(scale: str):
    """The configuration of ``scale`` (:data:`validation.configs.SCALES`): :data:`QUICK`, :data:`CPU` or
    :data:`FULL`, read when called."""
    return {"quick": QUICK, "cpu": CPU, "full": FULL}[scale]


# --------------------------------------------------------------------------------------------- data


@dataclass
class GMIData:
    """The roles of the GMI setting, with the global ids of their images (:attr:`ids`).

    Private digits 0–4: ``X_train`` (the target's training images), ``X_test`` (held-out images: the
    target's test accuracy and the distances to held-out images) and ``X_heldout_judge`` (further held-out
    images, disjoint from both: what the held-out judge learns the private digits from). Public digits 5–9:
    ``X_public`` (the attacker's prior). ``ids[role]`` are global image ids (MNIST: training-file index, or
    60,000 + test-file index; 8×8 digits: the index in scikit-learn's array), so disjointness is checkable.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_public: np.ndarray
    description: str
    y_public: np.ndarray | None = None
    X_heldout_judge: np.ndarray | None = None
    y_heldout_judge: np.ndarray | None = None
    ids: dict[str, np.ndarray] | None = None

    def judge_training_set(self, judge: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Images, labels and global ids a judge of :data:`JUDGES` is trained on.

        The 10-digit judges add, to their private images, the first public images of every public digit,
        as many per digit as they have private images per digit (balanced classes).
        """
        if judge == "private5":
            return self.X_train, self.y_train, self.ids["train"]
        if judge not in JUDGES:
            raise ValueError(f"unknown judge {judge!r}")
        X, y, ids = ((self.X_train, self.y_train, self.ids["train"]) if judge == "judge10" else
                     (self.X_heldout_judge, self.y_heldout_judge, self.ids["heldout_judge"]))
        per = int(np.bincount(y).max())
        pub = _first_per_class(self.y_public, PUBLIC_DIGITS, per)
        return (np.concatenate([X, self.X_public[pub]]), np.concatenate([y, self.y_public[pub]]),
                np.concatenate([ids, self.ids["public"][pub]]))


def _first_per_class(y: np.ndarray, classes, cap: int | None) -> np.ndarray:
    idx = [np.flatnonzero(y == c)[:cap] for c in classes]
    return np.sort(np.concatenate(idx))


def _halves(idx: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split the sorted ids ``idx`` per class in order: the first half of each class (rounded up), the rest."""
    first = []
    for c in np.unique(y[idx]):
        of_c = idx[y[idx] == c]
        first.append(of_c[: (len(of_c) + 1) // 2])
    first = np.sort(np.concatenate(first))
    return first, np.setdiff1d(idx, first)


def load_gmi_data(config: GMIConfig, data_home=None) -> GMIData:
    """The private / public split of docs/attacks.md for ``config.dataset`` ("mnist" or "digits").

    MNIST: private training images from the training file (the first ``private_per_class`` per digit);
    the test file's private digits are halved per digit in file order — the first half trains the held-out
    judge, the second (the first ``test_per_class`` of it) is the held-out set. 8×8 digits: the private
    digits split 2/3 training, 1/3 held-out (seeded, stratified), the held-out part halved the same way.
    """
    if config.dataset == "mnist":
        tr, te = load_mnist(data_home, train=True), load_mnist(data_home, train=False)
        pad = ((0, 0), (2, 2), (2, 2))
        i_tr = _first_per_class(tr.target, PRIVATE_DIGITS, config.private_per_class)
        i_judge, i_te = _halves(np.flatnonzero(te.target < 5), te.target)
        i_te = i_te[_first_per_class(te.target[i_te], PRIVATE_DIGITS, config.test_per_class)]
        i_pub = np.flatnonzero(tr.target >= 5)[:config.public_limit]
        n_train = len(tr.target)
        return GMIData(np.pad(tr.data[i_tr], pad), tr.target[i_tr], np.pad(te.data[i_te], pad), te.target[i_te],
                       np.pad(tr.data[i_pub], pad),
                       f"MNIST zero-padded to 32x32: private digits 0-4 ({len(i_tr)} training images from the "
                       f"training set; from the test set, {len(i_te)} held-out images and {len(i_judge)} more for "
                       f"the held-out judge), public digits 5-9 ({len(i_pub)} training-set images) for the "
                       "attacker's prior and the 10-digit judges",
                       y_public=tr.target[i_pub], X_heldout_judge=np.pad(te.data[i_judge], pad),
                       y_heldout_judge=te.target[i_judge],
                       ids={"train": i_tr, "test": n_train + i_te, "heldout_judge": n_train + i_judge,
                            "public": i_pub})
    if config.dataset == "digits":
        from sklearn.model_selection import train_test_split

        d = load_digits(data_home)
        X = np.repeat(np.repeat(d.data, 2, axis=1), 2, axis=2)  # 8x8 -> 16x16 by pixel repetition
        priv = np.flatnonzero(d.target < 5)
        i_tr, i_held = train_test_split(priv, test_size=1 / 3, random_state=0, stratify=d.target[priv])
        i_tr = np.sort(i_tr)
        i_judge, i_te = _halves(np.sort(i_held), d.target)
        i_te = i_te[_first_per_class(d.target[i_te], PRIVATE_DIGITS, config.test_per_class)]
        i_tr = i_tr[_first_per_class(d.target[i_tr], PRIVATE_DIGITS, config.private_per_class)]
        i_pub = np.flatnonzero(d.target >= 5)[:config.public_limit]
        return GMIData(X[i_tr], d.target[i_tr], X[i_te], d.target[i_te], X[i_pub],
                       f"scikit-learn 8x8 digits repeated to 16x16: private digits 0-4 ({len(i_tr)} training, "
                       f"{len(i_te)} held-out images and {len(i_judge)} more for the held-out judge), public "
                       f"digits 5-9 ({len(i_pub)} images) for the prior and the 10-digit judges",
                       y_public=d.target[i_pub], X_heldout_judge=X[i_judge], y_heldout_judge=d.target[i_judge],
                       ids={"train": i_tr, "test": i_te, "heldout_judge": i_judge, "public": i_pub})
    raise ValueError(f"dataset must be 'mnist' or 'digits', got {config.dataset!r}")


# --------------------------------------------------------------------------------------------- stage 1


def _evaluator(config: GMIConfig, device: str, seed: int) -> CNNClassifier:
    return CNNClassifier(architecture=config.eval_architecture, epochs=config.eval_epochs,
                         patience=config.eval_epochs, batch_size=config.batch_size, device=device,
                         random_state=config.artifact_seed_of(seed) + 1, progress=False)


def _prior(config: GMIConfig, device: str, seed: int) -> WGANGPPrior:
    return WGANGPPrior(dim=config.gan_dim, epochs=config.gan_epochs, batch_size=config.gan_batch_size,
                       device=device, random_state=config.artifact_seed_of(seed), progress=False)


def _torch_bytes(obj) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _load_evaluator(data: bytes, device: str) -> CNNClassifier:
    import torch

    return CNNClassifier.from_state(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True), device)


class _ArtifactUnit:
    """Stage 1: train the prior (public images) or a judge (:data:`JUDGES`) of one seed."""

    def __init__(self, config: GMIConfig, data_home, device: str, art_dir: str):
        self.config, self.data_home, self.device, self.art_dir = config, data_home, device, art_dir

    def __call__(self, unit: Unit) -> UnitOutput:
        data = load_gmi_data(self.config, self.data_home)
        kind, seed = unit.setting.defense, unit.index
        if kind == "prior":
            prior = _prior(self.config, self.device, seed).fit(data.X_public)
            blob = prior.to_bytes()
            last = prior.history_[-1]
            value = {"wasserstein_estimate_last_epoch": last["wasserstein_estimate"],
                     "gradient_penalty_last_epoch": last["gradient_penalty"], "n_public": len(data.X_public)}
        else:
            X, y, _ = data.judge_training_set(kind)
            ev = _evaluator(self.config, self.device, seed).fit(X, y)
            blob = _torch_bytes(ev.export_state())
            pub = np.isin(y, PUBLIC_DIGITS)
            value = {"test_accuracy": float(np.mean(ev.predict(data.X_test) == data.y_test)),
                     "n_train": len(X), "n_train_public": int(pub.sum()), "epochs_run": ev.n_epochs_}
        value.update(description=self.config.artifact_description(kind, seed),
                     sha256=hashlib.sha256(blob).hexdigest())
        return UnitOutput(value, {_artifact_file(self.art_dir, unit): blob})


def _artifact_units(config: GMIConfig) -> list[Unit]:
    """One unit per artifact and seed, keyed by a hash of what it depends on: a change to the judges'
    settings retrains the judges only, and the priors are reused."""
    units = []
    for seed in config.artifact_seeds():
        for kind in ("prior", *JUDGES):
            text = json.dumps(config.artifact_description(kind, seed), sort_keys=True)
            units.append(Unit("gmi artifacts", Setting(kind, "id", hashlib.sha256(text.encode()).hexdigest()[:12]),
                              seed, "seed"))
    return units


def _artifact_file(art_dir: str, unit: Unit) -> str:
    return f"{art_dir}/{unit.setting.defense}-{unit.setting.value}.pt"


def _train_artifacts(out_dir: Path, config: GMIConfig, data_home, device: str, executor,
                     progress: bool) -> tuple[dict[int, dict[str, bytes]], dict[str, Any]]:
    """Train (or reuse) every artifact; ``({seed: {kind: bytes}}, {"<kind>-<seed>": record})``."""
    art_dir = "gmi_artifacts"
    store = ResultStore(out_dir / f"{art_dir}.json", {"experiment": "GMI priors and judges"})
    units = _artifact_units(config)
    report = run_units(units, _ArtifactUnit(config, data_home, device, art_dir), store, executor=executor,
                       files_dir=out_dir, progress=progress, desc="GMI priors + judges")
    blobs: dict[int, dict[str, bytes]] = {}
    info = {}
    for unit in units:
        kind = unit.setting.defense
        path = out_dir / _artifact_file(art_dir, unit)
        rec = report.results[unit.key]
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != rec["sha256"]:
            raise FileNotFoundError(f"{path} is missing or differs from the one recorded in {store.path}; "
                                    f"remove {store.path} to train the GMI {kind} again (with every other "
                                    "prior and judge recorded there)")
        blobs.setdefault(unit.index, {})[kind] = path.read_bytes()
        info[f"{kind}-{unit.index}"] = {**rec, "file": str(path)}
    return blobs, info


# --------------------------------------------------------------------------------------------- stage 2


def recon_file_stem(setting: Setting) -> str:
    return setting.defense if setting.knob is None else f"{setting.defense}_{setting.knob}={setting.value:g}"


class GMIExperiment:
    """Callable ``(setting, seed) -> UnitOutput`` for :func:`validation.sweep.run_sweep` (stage 2).

    Holds every seed's prior and judges as ``torch.save`` bytes (``artifacts[seed][kind]``, seed 0's for
    every seed when they are not re-drawn per seed); each process loads the data, and a seed's artifacts
    and the judges' reference features, once, lazily (they are not pickled with the object).
    """

    def __init__(self, config: GMIConfig, artifacts: dict[int, dict[str, bytes]], *, data_home=None,
                 device: str = "auto", recon_dir: str | None = None):
        self.config = config
        self.artifacts = artifacts
        self.data_home = data_home
        self.device = device
        self.recon_dir = recon_dir
        self._cache: dict[Any, Any] = {}

    def __getstate__(self):
        return {**self.__dict__, "_cache": {}}

    def _loaded(self, seed: int) -> dict[str, Any]:
        if "data" not in self._cache:
            self._cache["data"] = load_gmi_data(self.config, self.data_home)
        key = seed if self.config.artifacts_per_seed else 0
        if key not in self._cache:
            data, blobs = self._cache["data"], self.artifacts[key]
            self._cache[key] = {
                "prior": WGANGPPrior.from_bytes(blobs["prior"], self.device),
                "evaluations": {
                    judge: InversionEvaluation(_load_evaluator(blobs[judge], self.device), data.X_train,
                                               data.y_train, data.X_test, data.y_test)
                    for judge in JUDGES}}
        return {"data": self._cache["data"], **self._cache[key]}

    def identities(self) -> np.ndarray:
        """Every private digit ``attacks_per_identity`` times: 0, 1, 2, 3, 4, 0, 1, ..."""
        return np.tile(np.asarray(PRIVATE_DIGITS), self.config.attacks_per_identity)

    def __call__(self, setting: Setting, split: int) -> UnitOutput:
        c, loaded = self.config, self._loaded(split)
        data, prior = loaded["data"], loaded["prior"]
        identities = self.identities()
        attack_seed = 1000 + split
        out: dict[str, float] = {}
        if setting == GAN_ONLY:
            result = gan_only_baseline(prior, identities, c.n_restarts, random_state=attack_seed)
        else:
            model = make_target(setting, c, seed=split, device=self.device, classes=PRIVATE_DIGITS).fit(
                data.X_train, data.y_train)
            out.update(utility=float(np.mean(model.predict(data.X_test) == data.y_test)),
                       train_accuracy=float(np.mean(model.predict(data.X_train) == data.y_train)),
                       epochs_run=float(model.n_epochs_))
            attack = GMIAttack(prior, lam=c.lam, lr=c.attack_lr, iterations=c.attack_iterations,
                               n_restarts=c.n_restarts, random_state=attack_seed, progress=False)
            result = attack.fit(model).invert(identities)
            out.update(accounting(model))
        for judge, prefix in JUDGES.items():
            scores = loaded["evaluations"][judge].score(result)
            out.update({f"{prefix}{k}": v for k, v in scores.items()})
            for k in scores:  # every proportion counts the reconstructions behind it
                if k.startswith(("attack_acc", "success")):
                    out[f"{prefix}{k}_trials"] = float(len(identities))
        if setting != GAN_ONLY:
            out.update(utility_trials=float(len(data.y_test)), train_accuracy_trials=float(len(data.y_train)))
        files = {}
        if self.recon_dir is not None and split == 0:
            firsts = np.array([np.flatnonzero(data.y_train == d)[0] for d in PRIVATE_DIGITS])
            buf = io.BytesIO()
            np.savez_compressed(buf, recon=result.images, identities=result.identities,
                                real=data.X_train[firsts], real_labels=data.y_train[firsts])
            files[f"{self.recon_dir}/{recon_file_stem(setting)}.npz"] = buf.getvalue()
        return UnitOutput(out, files)


def run_gmi_sweep(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
                  config: GMIConfig | None = None, progress: bool = True,
                  executor: Executor | None = None, scale: str | None = None) -> dict[str, Any]:
    """Run (or resume) both stages; return ``{"config", "series", "baseline", "runs", "artifacts", "store",
    "recon_dir"}`` (``series``: undefended, VIB, DP-SGD in the docs/figures.md form; ``baseline``: GAN-only).

    Shared by Figures 4(a) and 4(b): the second figure made reuses the first one's stores. Without
    ``config``: the configuration of ``scale`` (``"quick"``, ``"cpu"``, ``"full"``; ``quick=True`` is
    ``scale="quick"``), else of the device (FULL on a GPU, CPU on a CPU — announced on stderr and recorded
    in the result's ``config``).
    """
    if config is None:
        config = scaled_config(quick_scale(quick, scale), device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = "" if config.name == "full" else f"_{config.name}"
    blobs, artifacts = _train_artifacts(out_dir, config, data_home, device, executor, progress)
    settings = config.settings()
    recon_dir = f"gmi_recon{tag}"
    experiment = GMIExperiment(config, blobs, data_home=data_home, device=device, recon_dir=recon_dir)
    described = {**describe(config),
                 "artifact_sha256": {k: v["sha256"] for k, v in sorted(artifacts.items())}}
    store = out_dir / f"gmi_sweep{tag}.json"
    runs = run_sweep(settings, config.n_seeds, experiment, store, described, progress=progress,
                     executor=executor, name="GMI sweep")
    series = aggregate(settings, config.n_seeds, _common_keys(settings, config.n_seeds, runs),
                                    proportions=("utility",))
    baseline = next(s for s in series if s["defense"] == GAN_ONLY.defense)["points"][0]
    return {"config": described, "series": [s for s in series if s["defense"] != GAN_ONLY.defense],
            "baseline": baseline, "runs": runs, "artifacts": artifacts, "store": str(store),
            "recon_dir": str(out_dir / recon_dir), "data": load_gmi_data(config, data_home).description}


def _common_keys(settings, n_splits, runs):
    """Keep, per setting, only metrics present in every seed (an infinite ε is not stored: JSON has no ∞)."""
    out = {}
    for s in settings:
        keys = [f"{s.key}|split={k}" for k in range(n_splits)]
        common = set.intersection(*(set(runs[k]) for k in keys))
        out.update({k: {m: v for m, v in runs[k].items() if m in common} for k in keys})
    return out


# --------------------------------------------------------------------------------------------- comparisons


def matched_within(series: list[dict[str, Any]], within: float = 0.05,
                   metric: str = "attack_acc_top1") -> dict[str, dict[str, Any] | None]:
    """For VIB and DP-SGD, the most protective point (lowest ``metric``) among those whose mean test
    accuracy is within ``within`` of the undefended model's; None where no point qualifies."""
    by = {s["defense"]: s for s in series}
    ref = by[UNDEFENDED]["points"][0]
    out: dict[str, dict[str, Any] | None] = {UNDEFENDED: ref}
    for name in MATCHED:
        pts = [p for p in by.get(name, {"points": []})["points"] if p["utility"] >= ref["utility"] - within]
        out[name] = min(pts, key=lambda p: p[metric]) if pts else None
    return out


def closest_pair(series: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The (VIB, DP-SGD) points of most similar mean test accuracy (ties: the less accurate pair)."""
    by = {s["defense"]: s for s in series}
    vib, dp = MATCHED
    if vib not in by or dp not in by:
        return None
    pairs = [(abs(a["utility"] - b["utility"]), a["utility"] + b["utility"], i, j)
             for i, a in enumerate(by[vib]["points"]) for j, b in enumerate(by[dp]["points"])]
    _, _, i, j = min(pairs)
    return by[vib]["points"][i], by[dp]["points"][j]


def paired_difference(runs: dict[str, dict[str, float]], a: Setting, b: Setting, n_seeds: int,
                      metric: str = "attack_acc_top1") -> dict[str, Any]:
    """``metric`` of ``a`` minus that of ``b`` per seed (both faced the same attack seeds), mean and 95% CI."""
    diffs = [runs[f"{a.key}|split={k}"][metric] - runs[f"{b.key}|split={k}"][metric] for k in range(n_seeds)]
    m, lo, hi = mean_ci(diffs, support=(-1.0, 1.0))
    return {"metric": metric, "a": a.key, "b": b.key, "mean": m, "ci": [lo, hi], "ci_method": "t∩[-1,1]",
            "per_seed": diffs}
