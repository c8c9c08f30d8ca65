"""Privacy-utility sweeps on the faces: undefended, VIB (β grid) and DP-SGD (noise grid) × seeds.

One run = one seeded per-identity split of the 40 AT&T/Olivetti identities
(:func:`defenses.datasets.faces.split_faces`), one target model, one Knowledge-Alignment attack trained on
the attacker's images, and the metrics of MID paper Table 1 / Fig. 2(c), 3(a).

**Roles** (``roles``). ``"official"`` (default), as the official MID Knowledge-Alignment code: 5 training
and 5 test images per identity; the attacker trains its inversion network on the target's *test* images
and is evaluated on reconstructions of the target's *training* images. ``"auxiliary"``: the attacker
holds ``n_aux`` further images per identity, disjoint from the held-out test images, and is evaluated on
training and held-out images (e.g. ``n_test=2, n_aux=3``; a leak measured on images nobody trained on).

Faces are 64×64 (``image_size=64``); the ``--quick`` configuration averages them to 32×32 so that it fits
a few minutes on two CPU cores.

* ``utility`` — test accuracy on the test images; ``train_accuracy``; ``ece`` (``ece_bins`` = 15 bins as
  Guo et al., test images, ``predict_proba`` as released — one latent draw for VIB) and ``ece_100`` (the
  official code's 100 bins); ``brier`` (Brier score of the released vectors) and ``nll`` (negative
  log-likelihood, the true label's entry floored at 1e-12) — proper scores of the whole confidence vector,
  which unlike ECE do not reward a label-only release;
* ``attack_train`` (and, with auxiliary roles, ``attack_test``) — attack accuracy (evaluation classifier
  top-1) on reconstructions of training (held-out) images, ``attack_*_trials`` the number of
  reconstructions; ``rmse_*`` pixel RMSE and ``feature_l2_*`` (evaluation classifier features) on each;
* ``mean_face_*`` — the same metrics for the model-free mean-face reconstruction (undefended runs);
* the attacker uses the strongest form of what each service releases: the trained defenses release
  logits (official), which the attacker inverts as they are, through their softmax or through its logarithm,
  whichever reconstructs its own held-out images best (``strongest_form``; ``attack_input_<form>`` = 1 for
  the form chosen); an output perturbation (``roundings`` r, ``uniform_noises`` a; :mod:`defenses.output`:
  the undefended CNN of the seed releasing rounded / noised confidence vectors) releases probability
  vectors, and the attacker inverts them or their logarithm, whichever reconstructs its own held-out
  images better; their reference is the same CNN
  releasing its softmax vectors unperturbed (:data:`SOFTMAX_RELEASE`); ECE of the released confidences
  (rounded vectors need not sum to 1: :func:`defenses.output.released_ece`);
* ``eps_rdp`` / ``eps_prv`` and ``noise_multiplier`` for DP-SGD (δ = ``delta``); an ε that is infinite
  (PRV's numerical domain fails at tiny σ) is left out rather than stored.

The evaluation classifier (architecture ``"eval"``: 4 blocks, average pooling — not the
target's) is trained per split on all 40 identities' training images and the attacker's images.

:func:`run_faces_sweep` runs a grid through :func:`validation.sweep.run_sweep` (resumable store) and
returns the aggregated figure ``series``; it is shared by ``paper_figs.fig2c`` and ``paper_figs.fig3a``.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from defenses import output
from defenses.datasets import load_faces
from defenses.datasets.faces import split_faces
from defenses.metrics import ece
from defenses.neural import (
    CNNClassifier,
    KnowledgeAlignmentAttack,
    evaluate_reconstruction,
    mean_face_baseline,
)
from defenses.registry import TrainingConfig
from validation import configs
from validation.configs import MATCHED, UNDEFENDED, describe, grid_settings, settings_of
from validation.engine import Executor, UnitOutput
from validation.sweep import Setting, aggregate, run_sweep


@dataclass(frozen=True)
class FacesConfig(TrainingConfig):
    """Everything that determines the numbers of a faces sweep (stored with the results).

    The targets' training fields (architecture, epochs, batch sizes, learning rates, DP-SGD's clipping and δ)
    are those of the shared :class:`~defenses.registry.TrainingConfig`, with the faces' defaults.
    """

    #: Where the training fields stand in the stored description (:func:`validation.configs.describe`).
    TRAINING_AFTER: ClassVar[str] = "image_size"

    n_train: int = 5
    n_test: int = 5
    n_aux: int = 0
    #: ``"official"``: the attacker trains on the target's test images and is evaluated on its training
    #: images (the official MID Knowledge-Alignment code); ``"auxiliary"``: it trains on ``n_aux`` further
    #: images per identity and is evaluated on training and held-out test images (e.g. n_test=2, n_aux=3).
    roles: str = "official"
    image_size: int = 64
    epochs: int = 60
    batch_size: int = 32
    patience: int = 20
    dp_batch_size: int = 16
    eval_epochs: int = 40
    attack_epochs: int = 40
    attack_ngf: int = 16
    input_transform: str = "logits"
    #: Against a logit release the attacker also tries what it can compute from the logits — the softmax and
    #: its logarithm — and keeps the form that reconstructs its own held-out images best (a logit release
    #: holds every probability release; attacking it through ``input_transform`` alone was weaker than
    #: attacking the same CNN's softmax release). False: ``input_transform`` only (the official attack).
    strongest_form: bool = True
    truncate_k: int | None = None
    ece_bins: int = 15
    betas: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)
    noise_multipliers: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5)
    n_seeds: int = 5
    n_show: int = 8
    #: Output perturbation of the undefended CNN (:mod:`defenses.output`): rounding granularities r and
    #: uniform-noise levels a; Knowledge Alignment then trains on the perturbed softmax vectors it releases.
    roundings: tuple[float, ...] = ()
    uniform_noises: tuple[float, ...] = ()
    #: Further registered defenses (:data:`defenses.registry.NEURAL`) and their knob grids, e.g.
    #: ``(("label smoothing", (0.1, 0.3)),)``: each becomes a series after the built-in ones.
    defenses: tuple[tuple[str, tuple[float, ...]], ...] = field(default=(), metadata={"described": "if set"})

    def settings(self) -> list[Setting]:
        return (settings_of(UNDEFENDED) + settings_of("VIB", self.betas)
                + settings_of("DP-SGD", self.noise_multipliers)
                + (settings_of(SOFTMAX_RELEASE) if self.roundings or self.uniform_noises else [])
                + settings_of("rounding", self.roundings) + settings_of("uniform noise", self.uniform_noises)
                + grid_settings(self.defenses))


#: The undefended CNN releasing its softmax vectors unperturbed: the reference of the output perturbations
#: (they perturb softmax vectors, and Knowledge Alignment on softmax vectors is not the attack on logits).
SOFTMAX_RELEASE = "undefended (softmax release)"
#: Settings that perturb what the undefended model releases instead of training another model.
OUTPUT_PERTURBATIONS = (SOFTMAX_RELEASE, "rounding", "uniform noise")
#: Who attacks with which images (:class:`FacesConfig` ``roles``).
ROLES = ("official", "auxiliary")


#: The full figure: 64×64 faces, 5 seeds, β and σ grids spanning the undefended accuracy down to ~40%.
#: CPU-sized: inversion network width ngf = 16 (official 128), 40 attack epochs (official 50).
FULL = FacesConfig(roundings=(0.01, 0.05, 0.1, 0.2), uniform_noises=(0.01, 0.03, 0.1))
#: The ``--quick`` check: faces averaged to 32×32, short training, three β and three σ (a trade-off, not a
#: point), 2 seeds.
QUICK = FacesConfig(image_size=32, epochs=20, patience=20, eval_epochs=20, attack_epochs=15, attack_ngf=16,
                    betas=(3e-3, 1e-2, 3e-2), noise_multipliers=(0.05, 0.2, 0.5), n_seeds=2,
                    roundings=(0.05, 0.2), uniform_noises=(0.1,))


def make_target(setting: Setting, config: FacesConfig, seed: int, device: str = "auto", classes=None):
    """The (unfitted) target estimator of a sweep setting, as the service releases it (an output perturbation
    wraps the undefended CNN of the seed): :func:`validation.configs.make_target` with ``released=True``."""
    return configs.make_target(setting, config, seed, device, classes, released=True)


class FacesExperiment:
    """Callable ``(setting, split) -> metrics`` for :func:`validation.sweep.run_sweep`.

    Loads the data and trains the per-split evaluation classifiers lazily, once per process (each is
    seeded by its split, so every worker trains the same one). For split 0 it returns, beside the metrics,
    the reconstructions of the first ``n_show`` identities' first training image as a file
    ``<recon_dir>/<setting>.npz`` for the engine's driver to write (:class:`validation.engine.UnitOutput`).
    """

    def __init__(self, config: FacesConfig, *, data_home=None, device: str = "auto",
                 recon_dir: str | None = None):
        if config.roles not in ROLES:
            raise ValueError(f"roles must be one of {ROLES}, got {config.roles!r}")
        if config.roles == "auxiliary" and config.n_aux < 1:
            raise ValueError("roles='auxiliary' needs n_aux >= 1 attacker images per identity")
        if config.image_size != 64:
            f = 64 // config.image_size
            if f * config.image_size != 64 or config.image_size < 8:
                raise ValueError(f"image_size must be 64 or a power-of-two divisor of it >= 8, got {config.image_size}")
        self.config = config
        self.device = device
        self.data_home = data_home
        self.recon_dir = recon_dir
        self._data = None
        self._evaluators: dict[int, CNNClassifier] = {}

    def __getstate__(self):
        # Workers load the faces and train their evaluation classifiers themselves (seeded by the split).
        return {**self.__dict__, "_data": None, "_evaluators": {}}

    @property
    def data(self):
        if self._data is None:
            data, size = load_faces(self.data_home), self.config.image_size
            if size != 64:
                f = 64 // size
                images = data.data.reshape(-1, size, f, size, f).mean(axis=(2, 4))
                data = replace(data, data=images.astype(np.float32),
                               description=data.description + f" Averaged over {f}x{f} blocks to {size}x{size}.")
            self._data = data
        return self._data

    def split(self, split: int):
        c = self.config
        return split_faces(self.data.target, c.n_train, c.n_test, c.n_aux, random_state=split)

    def attacker_rows(self, sp) -> np.ndarray:
        """The attacker's images: the target's test images (official roles) or the auxiliary ones."""
        return sp.test if self.config.roles == "official" else sp.aux

    def attacked_parts(self, sp) -> dict[str, np.ndarray]:
        """The images whose released vectors are inverted: the training images, and with auxiliary roles
        the held-out test images too (under the official roles those are the attacker's own data)."""
        return {"train": sp.train} if self.config.roles == "official" else {"train": sp.train, "test": sp.test}

    def evaluator(self, split: int) -> CNNClassifier:
        if split not in self._evaluators:
            sp = self.split(split)
            idx = np.concatenate([sp.train, self.attacker_rows(sp)])
            self._evaluators[split] = CNNClassifier(
                architecture="eval", epochs=self.config.eval_epochs, patience=self.config.eval_epochs,
                device=self.device, random_state=10_000 + split, progress=False,
            ).fit(self.data.data[idx], self.data.target[idx])
        return self._evaluators[split]

    def __call__(self, setting: Setting, split: int) -> UnitOutput:
        c = self.config
        X, y = self.data.data, self.data.target
        sp = self.split(split)
        evaluator = self.evaluator(split)
        model = make_target(setting, c, seed=split, device=self.device, classes=np.unique(y)).fit(X[sp.train], y[sp.train])
        perturbed = configs.make_release(setting, split) is not None  # it releases probability vectors
        proba = model.predict_proba(X[sp.test])
        y_idx = np.searchsorted(model.classes_, y[sp.test])
        if perturbed:  # rounded vectors need not sum to 1: ECE of the confidences as released
            from defenses.output import released_ece

            calibration = released_ece(y_idx, proba, c.ece_bins)
        else:
            calibration = ece(y[sp.test], proba, n_bins=c.ece_bins, n_boot=1, classes=model.classes_).value
        out: dict[str, float] = {
            "utility": float(np.mean(model.predict(X[sp.test]) == y[sp.test])),
            "train_accuracy": float(np.mean(model.predict(X[sp.train]) == y[sp.train])),
            "ece": calibration,
            "ece_100": output.released_ece(y_idx, proba, 100),
            "brier": output.released_brier(y_idx, proba),
            "nll": output.released_nll(y_idx, proba),
            "evaluator_test_accuracy": float(np.mean(evaluator.predict(X[sp.test]) == y[sp.test])),
            "epochs_run": float(getattr(model, "estimator_", model).n_epochs_),
            "utility_trials": float(len(sp.test)), "train_accuracy_trials": float(len(sp.train)),
            "evaluator_test_accuracy_trials": float(len(sp.test)),
        }
        attack, chosen = self._attack(model, X[self.attacker_rows(sp)], perturbed, split)
        out.update({f"attack_input_{form}": float(chosen == form) for form in ("logits", "softmax", "log_softmax")})
        recons = {}
        for part, idx in self.attacked_parts(sp).items():
            recons[part] = attack.invert(attack.release(X[idx])).images
            m = evaluate_reconstruction(recons[part], X[idx], y[idx], evaluator)
            out[f"attack_{part}"] = m["attack_acc"]
            out[f"attack_{part}_trials"] = float(len(idx))  # one reconstruction per image
            out[f"rmse_{part}"] = m["pixel_rmse"]
            out[f"feature_l2_{part}"] = m["feature_l2"]
            if setting.defense == UNDEFENDED:
                mf = evaluate_reconstruction(mean_face_baseline(X[self.attacker_rows(sp)], len(idx)), X[idx], y[idx],
                                             evaluator)
                out[f"mean_face_acc_{part}"] = mf["attack_acc"]
                out[f"mean_face_acc_{part}_trials"] = float(len(idx))
                out[f"mean_face_rmse_{part}"] = mf["pixel_rmse"]
                out[f"mean_face_feature_l2_{part}"] = mf["feature_l2"]
        out.update(accounting(model))
        files = {}
        if self.recon_dir is not None and split == 0:
            files[f"{self.recon_dir}/{recon_file_stem(setting)}.npz"] = self._recon_npz(sp, recons["train"])
        return UnitOutput(out, files)

    def _attack(self, model, X_attacker, perturbed: bool, split: int):
        """Knowledge Alignment trained on the attacker's images with the strongest form of what the target
        releases, chosen on the attacker's own held-out images (validation MSE on its own data): a logit
        release (the trained defenses, as the official code) is inverted through the logits, their softmax or
        its logarithm (``strongest_form``; else ``input_transform`` only); a service that releases only
        (perturbed) probability vectors through the vectors or their logarithm."""
        c = self.config
        if perturbed:
            forms: tuple[str, ...] = ("softmax", "log_softmax")
        elif c.strongest_form:
            forms = (c.input_transform, *(f for f in ("logits", "softmax", "log_softmax") if f != c.input_transform))
        else:
            forms = (c.input_transform,)
        best = None
        for form in forms:
            attack = KnowledgeAlignmentAttack(
                input_transform=form, truncate_k=c.truncate_k, ngf=c.attack_ngf, epochs=c.attack_epochs,
                device=self.device, random_state=100 + split, progress=False,
            ).fit(model, X_attacker)
            score = min((h["val_mse"] for h in attack.history_ if "val_mse" in h), default=np.inf)
            if best is None or score < best[0]:
                best = (score, attack, form)
        return best[1], best[2]

    def _recon_npz(self, sp, recon_train: np.ndarray) -> bytes:
        y = self.data.target[sp.train]
        first = np.array([np.flatnonzero(y == i)[0] for i in np.unique(y)[: self.config.n_show]])
        buf = io.BytesIO()
        np.savez_compressed(buf, recon=recon_train[first], true=self.data.data[sp.train][first], labels=y[first])
        return buf.getvalue()


def accounting(model) -> dict[str, float]:
    """A privately trained model's noise multiplier and ε (``eps_<accountant>``) as metrics; nothing for a
    model without privacy accounting (an infinite ε is left out: JSON has no ∞)."""
    model = getattr(model, "estimator_", model)
    if not hasattr(model, "epsilon_"):
        return {}
    return {"noise_multiplier": model.noise_multiplier_,
            **{f"eps_{k}": v for k, v in model.epsilon_.items() if np.isfinite(v)}}


def split_ratio(config: FacesConfig) -> float:
    """The test/train ratio of the corrected resampled t (:mod:`validation.statistics`) for the faces: every
    seed partitions each identity's images anew, so the runs are overlapping random splits of one set; with
    the attacker's images in the partition too, the ratio is ``n_test / (n − n_test)`` (Nadeau & Bengio's
    ``n_test / n_train`` when the set is split into training and test images only)."""
    return config.n_test / (config.n_train + config.n_aux)


def recon_file_stem(setting: Setting) -> str:
    return setting.defense if setting.knob is None else f"{setting.defense}_{setting.knob}={setting.value:g}"


def run_faces_sweep(out_dir: str | os.PathLike, *, quick: bool, device: str = "auto", data_home=None,
                    config: FacesConfig | None = None, progress: bool = True,
                    executor: Executor | None = None) -> dict[str, Any]:
    """Run (or resume) the faces sweep; return ``{"config", "series", "runs", "store", "recon_dir"}``.

    The store is ``<out_dir>/neural_sweep[_quick].json`` (shared by Fig. 2(c) and 3(a), so the second
    figure reuses the first's runs); reconstructions of split 0 go to ``<out_dir>/neural_recon[_quick]/``.
    """
    config = config or (QUICK if quick else FULL)
    out_dir = Path(out_dir)
    tag = "_quick" if quick else ""
    settings = config.settings()
    experiment = FacesExperiment(config, data_home=data_home, device=device, recon_dir=f"neural_recon{tag}")
    described = {"dataset": "olivetti", **describe(config)}
    store = out_dir / f"neural_sweep{tag}.json"
    runs = run_sweep(settings, config.n_seeds, experiment, store, described, progress=progress,
                     executor=executor, name="faces sweep")
    # each seed re-partitions every identity's images: overlapping splits, the corrected resampled t
    return {"config": described, "series": aggregate(settings, config.n_seeds, _common_keys(settings, config.n_seeds, runs),
                                                         proportions=("utility",), test_train_ratio=split_ratio(config)),
            "test_train_ratio": split_ratio(config),
            "runs": runs,
            "store": str(store), "recon_dir": str(out_dir / experiment.recon_dir)}


def _common_keys(settings, n_splits, runs):
    """Keep, per setting, only metrics present in every split (an infinite ε is not stored: JSON has no ∞)."""
    out = {}
    for s in settings:
        keys = [f"{s.key}|split={k}" for k in range(n_splits)]
        common = set.intersection(*(set(runs[k]) for k in keys))
        out.update({k: {m: v for m, v in runs[k].items() if m in common} for k in keys})
    return out


def matched_points(series: list[dict[str, Any]], within: float = 0.05) -> dict[str, dict[str, Any] | None]:
    """For VIB and DP-SGD, the point of strongest protection (lowest attack accuracy on training images)
    among those whose mean test accuracy is within ``within`` of the undefended model's."""
    by = {s["defense"]: s for s in series}
    ref = by[UNDEFENDED]["points"][0]["utility"]
    out: dict[str, dict[str, Any] | None] = {UNDEFENDED: by[UNDEFENDED]["points"][0]}
    for name in MATCHED:
        pts = [p for p in by.get(name, {"points": []})["points"] if p["utility"] >= ref - within]
        out[name] = min(pts, key=lambda p: p["attack_train"]) if pts else None
    return out


__all__ = ["FULL", "QUICK", "FacesConfig", "FacesExperiment", "make_target", "matched_points",
           "recon_file_stem", "run_faces_sweep", "split_ratio"]

