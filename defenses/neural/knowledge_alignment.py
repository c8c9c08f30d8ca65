"""The Knowledge-Alignment inversion attack (Yang, Chang, Liang 2019) and its evaluation.

A black-box attacker holds auxiliary images D_aux from the target's distribution. It queries the target
on them, and trains an inversion network G on (released vector, image) pairs by minimising
E_{x ∈ D_aux} ‖G(t(F(x))) − x‖² (docs/attacks.md), where F(x) is the released vector and t an input
transform with optional top-m truncation. ``invert`` then redraws the face behind any released vector.

Evaluation (MID paper Table 1 "Acc, L2"): attack accuracy = fraction of reconstructions that a separate
evaluation classifier (another architecture, trained on all identities) assigns to the true identity;
pixel RMSE √mean((x̂ − x)²) and feature-space L2 ‖φ(x̂) − φ(x)‖ with φ the evaluation classifier's
penultimate layer — each computed on the target's training images and on held-out images.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mitheory.cli import Progress

from defenses.base import Reconstruction, ReconstructionAttack, deprecated_call

from ._torch import (
    as_images,
    batched,
    build_module,
    make_generator,
    resolve_device,
    seed_from,
)
from .architectures import InversionNet
from .target import as_target

_TRANSFORMS = ("logits", "softmax", "log_softmax", "log_shift")
#: Floor of a released probability before its logarithm (``"log_softmax"``): a rounded or cut-off vector
#: holds zeros.
LOG_FLOOR = 1e-12


def truncate_top_k(v: np.ndarray, k: int | None) -> np.ndarray:
    """Keep the ``k`` largest entries of each row, set the others to 0 (``k=None``: unchanged)."""
    v = np.asarray(v, dtype=np.float32)
    if k is None or k >= v.shape[1]:
        return v.copy()
    idx = np.argpartition(-v, k - 1, axis=1)[:, :k]
    out = np.zeros_like(v)
    np.put_along_axis(out, idx, np.take_along_axis(v, idx, axis=1), axis=1)
    return out


def log_shift(p: np.ndarray, k: int | None, floor: float = -1000.0, offset: float = 50.0) -> np.ndarray:
    """Yang et al.'s truncation in log space: keep the top-``k`` of log p (floored at −1000) + 50,
    shift the kept values so their minimum is 0 when negative, and scatter them into zeros."""
    p = np.asarray(p, dtype=np.float64)
    k = p.shape[1] if k is None else min(k, p.shape[1])
    with np.errstate(divide="ignore"):
        lv = np.maximum(np.log(p), floor) + offset
    idx = np.argpartition(-lv, k - 1, axis=1)[:, :k]
    kept = np.take_along_axis(lv, idx, axis=1)
    kept = kept - np.minimum(kept.min(axis=1, keepdims=True), 0.0)
    out = np.zeros_like(lv)
    np.put_along_axis(out, idx, kept, axis=1)
    return out.astype(np.float32)


class KnowledgeAlignmentAttack(ReconstructionAttack):
    """Black-box model inversion by an inversion network trained on auxiliary data.

    ``fit(model, X_aux)`` binds the target (anything :func:`~defenses.neural.target.as_target` accepts),
    queries it on the auxiliary images and trains G; ``release(X)`` is what the target releases for
    images ``X``; ``invert(vectors)`` redraws the images behind released vectors.

    Parameters
    ----------
    input_transform : {"logits", "softmax", "log_softmax", "log_shift"}
        What the target releases and how it is fed to G: ``"logits"`` raw logits (official MID code;
        a VIB target releases one sampled logit vector), ``"softmax"`` confidence vectors,
        ``"log_softmax"`` their logarithm (floored at :data:`LOG_FLOOR`: the logits up to a constant when
        the service releases probabilities), ``"log_shift"`` softmax mapped by :func:`log_shift` (Yang et al.).
    truncate_k : int or None
        Keep only the top-k entries of every vector (None = full vector, official MID).
    ngf : int
        Width of G (channels 8·ngf → ngf). Official: 128; default 32 for CPU.
    epochs, batch_size, lr, betas, amsgrad
        Adam training of G (official: lr 2e-3, betas (0.5, 0.999), amsgrad, 50 epochs).
    validation_fraction, patience : float, int
        Early stopping on a held-out part of D_aux — the official script picks the epoch with the best
        accuracy on the *evaluation* set, which snoops on the targets; we select on D_aux only.
    device, random_state, progress
        As for the estimators.

    Attributes
    ----------
    target_ : Target
        The bound target.
    generator_ : InversionNet
    n_inputs_ : int
    history_ : list of dict
    """

    def __init__(self, *, input_transform: str = "logits", truncate_k: int | None = None, ngf: int = 32,
                 epochs: int = 50, batch_size: int = 32, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.5, 0.999), amsgrad: bool = True,
                 validation_fraction: float = 0.1, patience: int = 10, device: str = "auto",
                 random_state: int | np.random.Generator | None = None, progress: bool | None = None):
        self.input_transform = input_transform
        self.truncate_k = truncate_k
        self.ngf = ngf
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.betas = betas
        self.amsgrad = amsgrad
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.progress = progress
        self._check_params()

    def _check_params(self) -> None:
        if self.input_transform not in _TRANSFORMS:
            raise ValueError(f"input_transform must be one of {_TRANSFORMS}, got {self.input_transform!r}")
        if self.truncate_k is not None and (not isinstance(self.truncate_k, (int, np.integer)) or self.truncate_k < 1):
            raise ValueError(f"truncate_k must be None or a positive integer, got {self.truncate_k!r}")
        for name in ("ngf", "epochs", "batch_size", "patience"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if not (isinstance(self.validation_fraction, (int, float)) and 0 <= self.validation_fraction < 1):
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")

    # ------------------------------------------------------------------ queries
    def release(self, X, *old) -> np.ndarray:
        """The vectors the bound target releases for images ``X`` (logits or softmax)."""
        if old:  # the old call shape release(model, X)
            return self._old_release(X, *old)
        self._check_fitted("target_")
        return self._release(self.target_, X)

    def _release(self, target, X) -> np.ndarray:
        self._check_params()
        if self.input_transform == "logits":
            return np.asarray(target.decision_function(X), dtype=np.float32)
        return np.asarray(target.predict_proba(X), dtype=np.float32)

    @deprecated_call("KnowledgeAlignmentAttack.release(model, X)", "KnowledgeAlignmentAttack.release(X)")
    def _old_release(self, model, X) -> np.ndarray:
        return self._release(as_target(model), X)

    def _inputs(self, vectors: np.ndarray) -> np.ndarray:
        v = np.asarray(vectors, dtype=np.float32)
        if v.ndim != 2 or not np.isfinite(v).all():
            raise ValueError(f"prediction vectors must be a finite 2-d array (N, K), got shape {v.shape}")
        if self.input_transform == "log_shift":
            return log_shift(v, self.truncate_k)
        if self.input_transform == "log_softmax":
            lv = np.log(np.maximum(v, LOG_FLOOR))
            if self.truncate_k is None or self.truncate_k >= v.shape[1]:
                return lv.astype(np.float32)
            idx = np.argpartition(-v, self.truncate_k - 1, axis=1)[:, :self.truncate_k]  # the top-k entries
            out = np.zeros_like(lv)
            np.put_along_axis(out, idx, np.take_along_axis(lv, idx, axis=1), axis=1)
            return out.astype(np.float32)
        return truncate_top_k(v, self.truncate_k)

    # ------------------------------------------------------------------ training
    def fit(self, model, X_aux) -> KnowledgeAlignmentAttack:
        """Bind ``model``, query it on the auxiliary images and train the inversion network G on the pairs."""
        self._check_params()
        target = as_target(model)
        X_aux = as_images(X_aux, "X_aux")
        h, w = X_aux.shape[2:]
        if h != w or h < 8 or h & (h - 1):
            raise ValueError(f"X_aux must hold square images whose side is a power of two >= 8, got {h}x{w}")
        vectors = self._inputs(self._release(target, X_aux))
        self.n_inputs_ = vectors.shape[1]
        self.target_, self.model_ = target, model
        self.device_ = resolve_device(self.device)
        seed = seed_from(self.random_state)
        g_init, g_data = make_generator(seed), make_generator(seed + 1)
        net = build_module(lambda: InversionNet(self.n_inputs_, X_aux.shape[1], self.ngf, h), g_init, self.device_)
        V = torch.from_numpy(vectors).to(self.device_)
        T = torch.from_numpy(X_aux).to(self.device_)
        n_val = round(self.validation_fraction * len(V))
        perm = torch.randperm(len(V), generator=g_data).to(self.device_)
        va, tr = perm[:n_val], perm[n_val:]
        if len(tr) == 0:
            raise ValueError("X_aux is too small to train on after holding out validation_fraction")
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, betas=tuple(self.betas), amsgrad=self.amsgrad)
        self.history_: list[dict[str, float]] = []
        best, best_state, bad = np.inf, None, 0
        for epoch in Progress.iterate(range(self.epochs), desc="KnowledgeAlignment", unit="epoch",
                                      disable=self.progress is False, leave=False):
            net.train()
            order = tr[torch.randperm(len(tr), generator=g_data).to(self.device_)]
            total = 0.0
            for sl in batched(len(order), self.batch_size):
                idx = order[sl]
                if len(idx) < 2:  # BatchNorm needs two samples
                    continue
                loss = F.mse_loss(net(V[idx]), T[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            rec = {"epoch": epoch + 1, "train_mse": total / len(tr)}
            if n_val:
                net.eval()
                with torch.no_grad():
                    rec["val_mse"] = float(F.mse_loss(net(V[va]), T[va]))
                if rec["val_mse"] < best:
                    best, bad, best_state = rec["val_mse"], 0, copy.deepcopy(net.state_dict())
                else:
                    bad += 1
            self.history_.append(rec)
            if n_val and bad >= self.patience:
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        self.generator_ = net
        return self

    # ------------------------------------------------------------------ the verb
    def invert(self, targets, *old) -> Reconstruction:
        """Reconstruct images (N, C, S, S) in [0, 1] (S: the auxiliary images' side) from released vectors.

        ``targets`` are vectors as :meth:`release` returns them.
        """
        if old:  # the old call shape invert(model, targets)
            return self._old_invert(targets, *old)
        self._check_fitted("generator_")
        return Reconstruction(images=self._invert(targets))

    @deprecated_call("KnowledgeAlignmentAttack.invert(model, targets)", "KnowledgeAlignmentAttack.invert(targets).images")
    def _old_invert(self, model, targets) -> np.ndarray:
        self._check_fitted("generator_")
        if model is not self.model_:
            raise ValueError("invert got a different model than the one the attack was fit against")
        return self._invert(targets)

    @torch.no_grad()
    def _invert(self, targets) -> np.ndarray:
        v = self._inputs(targets)
        if v.shape[1] != self.n_inputs_:
            raise ValueError(f"targets have {v.shape[1]} entries, the attack was trained on {self.n_inputs_}")
        V = torch.from_numpy(v)
        return torch.cat([self.generator_(V[sl].to(self.device_)).cpu()
                          for sl in batched(len(V), 256)]).numpy()


def evaluate_reconstruction(reconstructions, images, labels, evaluator) -> dict[str, float]:
    """Attack metrics of reconstructions against the true images (docs/attacks.md).

    Parameters
    ----------
    reconstructions, images : arrays of images of the same shape
    labels : array (N,)
        True identities.
    evaluator : fitted classifier with ``predict`` and ``features``
        The evaluation classifier (a different architecture trained on all identities).

    Returns
    -------
    dict
        ``attack_acc`` (top-1 of the evaluator on the reconstructions), ``pixel_rmse`` (mean over images of
        √mean((x̂ − x)²), pixels in [0, 1]), ``feature_l2`` (mean ‖φ(x̂) − φ(x)‖₂, φ = evaluator features).
    """
    R, X = as_images(reconstructions, "reconstructions"), as_images(images, "images")
    labels = np.asarray(labels)
    if R.shape != X.shape or len(labels) != len(X):
        raise ValueError(f"reconstructions {R.shape}, images {X.shape} and labels {labels.shape} must match")
    pred = evaluator.predict(R)
    rmse = np.sqrt(np.mean((R - X) ** 2, axis=(1, 2, 3)))
    fl2 = np.linalg.norm(evaluator.features(R) - evaluator.features(X), axis=1)
    return {"attack_acc": float(np.mean(pred == labels)), "pixel_rmse": float(rmse.mean()),
            "feature_l2": float(fl2.mean())}


def mean_face_baseline(X_aux, n: int) -> np.ndarray:
    """The model-free reconstruction: the mean auxiliary image, repeated ``n`` times."""
    X_aux = as_images(X_aux, "X_aux")
    return np.repeat(X_aux.mean(axis=0, keepdims=True), n, axis=0)


def describe(attack: KnowledgeAlignmentAttack) -> dict[str, Any]:
    """The attack's settings as JSON-ready data (for figure ``settings``)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(attack).items()
            if not k.endswith("_") and not k.startswith("_") and k != "random_state"}
