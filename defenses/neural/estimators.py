"""scikit-learn-style image classifiers: undefended CNN, VIB (MID for neural networks) and DP-SGD.

All three share one architecture family (:mod:`defenses.neural.architectures`, no BatchNorm) and one
training loop: Adam, mini-batches, early stopping on a held-out stratified part of the training data
(the weights of the best validation epoch are restored), a tqdm progress bar on stderr, and every random
draw (initialisation, batches, latent noise, DP noise) from generators seeded by ``random_state`` — the
global torch RNG is never touched, so the same seed gives the same numbers on CPU.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d
from torch import nn

from mitheory.cli import Progress

from ._torch import (
    as_arrays,
    as_images,
    batched,
    build_module,
    make_generator,
    resolve_device,
    seed_from,
    seeded_global_rng,
    torch_threads,
)
from .architectures import Classifier, VIBNet, gaussian_kl, make_backbone

logger = logging.getLogger(__name__)

_EVAL_BATCH = 256
#: Opacus' ways of obtaining per-sample gradient norms that :class:`DPSGDClassifier` accepts.
GRAD_SAMPLE_MODES = ("auto", "ghost", "hooks", "ew")


def _with_threads(method):
    """Run a fitted estimator's method under its ``n_threads`` policy (:func:`~._torch.torch_threads`)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        device = getattr(self, "device_", None)
        if device is None:  # not fitted: the method raises NotFittedError itself
            return method(self, *args, **kwargs)
        with torch_threads(self.n_threads, device):
            return method(self, *args, **kwargs)
    return wrapper


class _NeuralClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit/predict machinery; subclasses define the head, the loss and (DP) the loop."""

    #: Whether ``random_state`` seeds DP noise and so must stay out of every exported artifact.
    _seed_is_secret = False

    # ----------------------------------------------------------------- parameter checks
    def _check_params(self) -> None:
        def positive_int(name):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")

        for name in ("epochs", "batch_size", "patience"):
            positive_int(name)
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite positive number, got {self.lr!r}")
        if not (isinstance(self.weight_decay, (int, float)) and math.isfinite(self.weight_decay)
                and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        if self.early_stopping and not (0 < self.validation_fraction < 1):
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        if self.n_threads is not None:
            positive_int("n_threads")
        if self.module is not None and not (isinstance(self.module, nn.Module) or callable(self.module)):
            raise ValueError(f"module must be None, a torch.nn.Module or a callable returning one, got {self.module!r}")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # With the built-in CNN the inputs are images (N, H, W) or (N, C, H, W); a user's module takes
        # whatever it was written for, tables (N, d) included.
        tags.input_tags.two_d_array = self.module is not None
        tags.input_tags.three_d_array = self.module is None
        # A few epochs of a small network (and DP noise) need not reach scikit-learn's accuracy bar.
        tags.classifier_tags.poor_score = True
        tags.non_deterministic = self.stochastic
        return tags

    @property
    def stochastic(self) -> bool:
        """Whether the released outputs are random (a fresh latent draw per query). False here."""
        return False

    # ----------------------------------------------------------------- fit
    def fit(self, X, y):
        """Train on ``X`` with labels ``y``.

        ``X``: images ``(N, H, W)`` or ``(N, C, H, W)``, float in [0, 1], for the built-in CNN; for a
        user's ``module``, any array ``(N, ...)`` that module takes (integer arrays stay integers).
        """
        self._check_params()
        device = resolve_device(self.device)
        with torch_threads(self.n_threads, device):
            return self._fit(X, y, device)

    def _fit(self, X, y, device: torch.device):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        X = self._inputs(X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must be a 1-d array with one label per example, got shape {y.shape} for {len(X)} examples")
        check_classification_targets(y)
        self.classes_, y_idx = self._class_codes(y)
        self.device_ = device
        seed = seed_from(self.random_state)
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        self.input_shape_ = tuple(X.shape[1:])
        self._input_dtype = X.dtype

        if self.early_stopping:
            n_val = max(1, round(self.validation_fraction * len(X)))
            counts = np.bincount(y_idx)
            stratify = y_idx if n_val >= len(self.classes_) and counts[counts > 0].min() >= 2 else None
            tr, va = train_test_split(np.arange(len(X)), test_size=n_val, random_state=seed % 2**32,
                                      stratify=stratify)
        else:
            tr, va = np.arange(len(X)), np.arange(0)
        module = self._network(len(self.classes_), X[:2], seed)
        X = X.astype(self._input_dtype, copy=False)  # integers a module cannot take become float32
        gens = {"data": make_generator(seed + 1), "noise": make_generator(seed + 2, self.device_),
                "val": make_generator(seed + 3, self.device_)}
        self._predict_generator = make_generator(seed + 4, self.device_)
        Xt = torch.from_numpy(X).to(self.device_)
        yt = torch.from_numpy(y_idx.astype(np.int64)).to(self.device_)
        self.history_: list[dict[str, float]] = []
        self._input_scale = float(np.abs(X).max()) if X.size else 0.0
        self.module_ = self._train(module, Xt[tr], yt[tr], Xt[va], yt[va], gens)
        self.module_.eval()
        del self._input_scale
        self.__dict__.pop("_last_terms", None)
        return self

    def _inputs(self, X) -> np.ndarray:
        if self.module is None:
            return as_images(X)
        # scikit-learn's checks (sparse, complex, object, NaN, empty inputs refused with its messages)
        X = check_array(X, accept_sparse=False, dtype="numeric", allow_nd=True, ensure_min_features=1)
        return as_arrays(X)

    # ----------------------------------------------------------------- the network
    def _network(self, n_classes: int, example: np.ndarray, seed: int) -> nn.Module:
        """The untrained network on ``device_``: the built-in CNN, or the user's encoder plus this defense's
        head, initialised from ``seed`` by PyTorch's own initialisers (``reset_parameters``)."""
        if self.module is None:
            return build_module(lambda: self._build_module(n_classes), make_generator(seed), self.device_)
        with seeded_global_rng(seed):
            encoder = self._user_encoder()
            encoder = self._prepare_encoder(encoder)
            try:
                width = _feature_width(encoder, example)
            except ValueError:
                if example.dtype.kind not in "iu":
                    raise
                # integers that are not token ids: the module takes them as numbers
                example = example.astype(np.float32)
                width = _feature_width(encoder, example)
            self._input_dtype = example.dtype
            net = self._head(encoder, width, n_classes)
        return net.to(self.device_)

    def _user_encoder(self) -> nn.Module:
        """A fresh copy of ``module``: the factory's result, or the instance deep-copied and re-initialised
        by every submodule's ``reset_parameters`` (inside the caller's seeded global generator)."""
        if isinstance(self.module, nn.Module):
            encoder = copy.deepcopy(self.module)
            covered: set[int] = set()
            with torch.no_grad():
                for m in encoder.modules():
                    reset = getattr(m, "reset_parameters", None)
                    if callable(reset):
                        reset()
                        covered.update(id(p) for p in m.parameters())
            kept = [name for name, p in encoder.named_parameters() if id(p) not in covered]
            if kept:
                logger.warning("%s: no reset_parameters covers %s of the given module; they keep their values "
                               "(random_state does not re-draw them)", type(self).__name__, ", ".join(kept))
            return encoder.cpu()
        encoder = self.module()
        if not isinstance(encoder, nn.Module):
            raise ValueError(f"module must return a torch.nn.Module when called, got {type(encoder).__name__}")
        return encoder.cpu()

    def _prepare_encoder(self, encoder: nn.Module) -> nn.Module:
        return encoder

    def _head(self, encoder: nn.Module, width: int, n_classes: int) -> nn.Module:
        return Classifier(encoder, n_classes, feature_dim=width)

    def _class_codes(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The class set and each label's index in it (here: the labels seen; DP-SGD takes them as given)."""
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y must contain at least two classes, got one class ({classes[0]!r})")
        return classes, y_idx

    def _optimizer(self, module: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def _progress(self, total: int) -> Progress:
        return Progress(total, desc=type(self).__name__, unit="epoch", disable=self.progress is False, leave=False)

    def _train(self, module, Xtr, ytr, Xva, yva, gens) -> nn.Module:
        opt = self._optimizer(module)
        n = len(Xtr)
        return self._epoch_loop(module, Xva, yva, gens, lambda: self._sgd_epoch(module, opt, Xtr, ytr, n, gens))

    def _sgd_epoch(self, module, opt, Xtr, ytr, n, gens) -> float:
        module.train()
        perm = torch.randperm(n, generator=gens["data"]).to(Xtr.device)
        total = 0.0
        for sl in batched(n, self.batch_size):
            idx = perm[sl]
            loss = self._loss(module, Xtr[idx], ytr[idx], gens["noise"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += self._finite_loss(loss) * len(idx)
        return total / n

    def _finite_loss(self, loss: torch.Tensor) -> float:
        """The loss as a float; a non-finite one stops training with what most likely caused it."""
        value = float(loss.detach())
        if not math.isfinite(value):
            epoch = len(self.history_) + 1
            scale = getattr(self, "_input_scale", 0.0)
            cause = (f"the inputs reach |x| = {scale:.3g}, which overflows float32 inside the network; scale them"
                     if scale > 1e6 else self._divergence_cause())
            raise ValueError(f"{type(self).__name__}: the training loss became {value} in epoch {epoch}: {cause}")
        return value

    def _divergence_cause(self) -> str:
        return f"lr={self.lr!r} is too large for this network (the weights overflowed); lower it"

    def _epoch_loop(self, module, Xva, yva, gens, run_epoch) -> nn.Module:
        """Run epochs, tracking validation accuracy (ties: lower loss); restore the best epoch's weights."""
        best, best_state, bad = None, None, 0
        bar = self._progress(self.epochs)
        for epoch in range(self.epochs):
            start = time.perf_counter()
            train_loss = run_epoch()
            rec = {"epoch": epoch + 1, "train_loss": train_loss, "seconds": time.perf_counter() - start}
            if len(Xva):
                module.eval()
                with torch.no_grad():
                    logits = self._module_logits(self._unwrap(module), Xva, 1, gens["val"])[0]
                    rec["val_loss"] = float(F.cross_entropy(logits, yva))
                    rec["val_accuracy"] = float((logits.argmax(1) == yva).float().mean())
                score = (rec["val_accuracy"], -rec["val_loss"])
                if best is None or score > best:
                    best, bad = score, 0
                    best_state = copy.deepcopy(self._unwrap(module).state_dict())
                    self.best_epoch_ = epoch + 1
                else:
                    bad += 1
                bar.set_postfix(val_acc=f"{rec['val_accuracy']:.3f}")
            self.history_.append(rec)
            bar.update(1)
            if len(Xva) and bad >= self.patience:
                break
        bar.close()
        self.n_epochs_ = len(self.history_)
        inner = self._unwrap(module)
        if best_state is not None:
            inner.load_state_dict(best_state)
        else:
            self.best_epoch_ = self.n_epochs_
        return inner

    @staticmethod
    def _unwrap(module: nn.Module) -> nn.Module:
        return module

    # ----------------------------------------------------------------- subclass hooks
    def _build_module(self, n_classes: int) -> nn.Module:
        return Classifier(make_backbone(self.architecture, self.input_shape_[0], self.input_shape_[1:]), n_classes)

    def _loss(self, module, xb, yb, generator) -> torch.Tensor:
        return F.cross_entropy(module(xb), yb)

    def _module_logits(self, module, x, n_samples, generator) -> torch.Tensor:
        """Logits of shape (n_samples, B, n_classes)."""
        return module(x).unsqueeze(0)

    # ----------------------------------------------------------------- prediction
    def _check_X(self, X) -> torch.Tensor:
        check_is_fitted(self, "module_")
        X = self._inputs(X)
        if tuple(X.shape[1:]) != self.input_shape_:
            if X.ndim == 2 and len(self.input_shape_) == 1:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                                 f"{self.input_shape_[0]} features as input")
            raise ValueError(f"X has examples of shape {X.shape[1:]}, the model was fit on {self.input_shape_}")
        if X.dtype.kind in "iu" and self._input_dtype == np.float32:
            X = X.astype(np.float32)
        if X.dtype != self._input_dtype:
            raise ValueError(f"X holds {X.dtype} values, the model was fit on {self._input_dtype}")
        return torch.from_numpy(X)

    def _generator(self, random_state) -> torch.Generator:
        if random_state is None:
            return self._predict_generator
        return make_generator(seed_from(random_state), self.device_)

    @_with_threads
    @torch.no_grad()
    def _logits(self, X, n_samples: int = 1, random_state=None) -> torch.Tensor:
        Xt = self._check_X(X)
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        gen = self._generator(random_state)
        self.module_.eval()
        out = [self._module_logits(self.module_, Xt[sl].to(self.device_), int(n_samples), gen).cpu()
               for sl in batched(len(Xt), _EVAL_BATCH)]
        out = torch.cat(out, dim=1)
        bad = ~torch.isfinite(out).all(dim=-1).all(dim=0)
        if bad.any():
            row = int(bad.nonzero()[0, 0])
            raise ValueError(f"{type(self).__name__}: the network's outputs are not finite for {int(bad.sum())} of "
                             f"{len(bad)} inputs (first: row {row}, largest |x| there "
                             f"{float(Xt[row].abs().max()):.3g}); inputs this large overflow float32 in the "
                             "network — scale them as the training data was")
        return out

    def logits(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits ``(B, n_classes)`` of a batch ``x`` on ``device_`` as the model releases them, differentiable
        with respect to ``x`` and the weights (the white-box half of the target protocol,
        :mod:`defenses.neural.target`): one latent draw per input for a stochastic model, from ``generator``
        (default: the estimator's own prediction generator)."""
        check_is_fitted(self, "module_")
        return self._module_logits(self.module_, x, 1, self._predict_generator if generator is None else generator)[0]

    def decision_function(self, X, **kw) -> np.ndarray:
        """Logits (pre-softmax outputs), shape (N, n_classes)."""
        return self._logits(X, **kw)[0].numpy()

    def predict_proba(self, X, **kw) -> np.ndarray:
        """Softmax confidence vectors, shape (N, n_classes), columns in the order of ``classes_``."""
        return torch.softmax(self._logits(X, **kw), dim=-1).mean(0).numpy()

    def predict(self, X, **kw) -> np.ndarray:
        """The most likely class of each input (labels from ``classes_``)."""
        proba = self.predict_proba(X, **kw)
        return self.classes_[proba.argmax(axis=1)]

    @_with_threads
    @torch.no_grad()
    def features(self, X) -> np.ndarray:
        """Penultimate-layer features (encoder output, size F) — the feature space of the L2 metric."""
        Xt = self._check_X(X)
        self.module_.eval()
        return torch.cat([self.module_.features(Xt[sl].to(self.device_)).cpu()
                          for sl in batched(len(Xt), _EVAL_BATCH)]).numpy()


    # ----------------------------------------------------------------- persistence
    def export_state(self) -> dict[str, Any]:
        """The fitted model as plain data and tensors, for ``torch.save`` and :meth:`from_state`.

        Holds the constructor parameters (not ``device``/``progress``/``module``), ``classes_``, the input
        shape and the module's ``state_dict`` — nothing that needs pickled code, so ``torch.load(...,
        weights_only=True)`` reads it back. Training records (``history_``, ``epsilon_``, ...) are not
        kept. A model built on a user's ``module`` is read back by passing the same ``module`` to
        :meth:`from_state`. A DP estimator's ``random_state`` is never exported: it seeds the DP noise and the
        batch sampling, and with it anyone holding a candidate dataset could replay training and recognise the
        released weights (``params["random_state"]`` is None in the state).
        """
        check_is_fitted(self, "module_")
        params = {k: v for k, v in self.get_params().items() if k not in ("device", "progress", "module")}
        if self._seed_is_secret or not isinstance(params.get("random_state"), (int, type(None))):
            params["random_state"] = None
        if params.get("classes") is not None:
            params["classes"] = np.asarray(params["classes"]).tolist()
        return {"estimator": type(self).__name__, "params": params, "classes": self.classes_.tolist(),
                "input_shape": list(self.input_shape_), "own_module": self.module is not None,
                "input_dtype": self._input_dtype.name,
                "module": {k: v.detach().cpu() for k, v in self.module_.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict[str, Any], device: str = "auto", module: nn.Module | Callable | None = None):
        """A fitted estimator from :meth:`export_state` output (predict, predict_proba and features work).

        ``module`` is the user's encoder the model was built on (None for the built-in CNN).
        """
        if not isinstance(state, dict) or state.get("estimator") != cls.__name__:
            got = state.get("estimator") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"state holds a {got!r}, not a {cls.__name__}")
        if bool(state.get("own_module")) != (module is not None):
            raise ValueError("the state was exported from a model on a user's module: pass that module= too"
                             if module is None else "the state holds the built-in CNN: leave module=None")
        est = cls(**state["params"], device=device, module=module)
        est.classes_ = np.asarray(state["classes"])
        est.input_shape_ = tuple(int(v) for v in state["input_shape"])
        est.n_features_in_ = int(np.prod(est.input_shape_))
        est.device_ = resolve_device(device)
        est._input_dtype = np.dtype(state.get("input_dtype", "float32"))
        if module is None:
            with torch.device("meta"):
                net = est._build_module(len(est.classes_))
            net = net.to_empty(device="cpu")
        else:
            example = np.zeros((2, *est.input_shape_), dtype=est._input_dtype)  # 2: norms need two values
            net = est._network(len(est.classes_), example, 0)
        net.load_state_dict(state["module"])
        est.module_ = net.to(est.device_).eval()
        est._predict_generator = make_generator(seed_from(est.random_state) + 4, est.device_)
        return est


def _real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _feature_width(encoder: nn.Module, example: np.ndarray) -> int:
    """F, the width of the encoder's output, from one forward pass on ``example`` (eval mode, no gradients)."""
    was = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            out = encoder(torch.from_numpy(example))
    except Exception as exc:  # the user's module: report its own error with what it was given
        raise ValueError(f"module failed on a batch of inputs of shape {tuple(example.shape)} "
                         f"({type(exc).__name__}: {exc})") from exc
    finally:
        encoder.train(was)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[1] < 1:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"module must map a batch (B, ...) to a feature matrix (B, F), got {shape}; "
                         "end it with e.g. nn.Flatten()")
    return int(out.shape[1])


_COMMON_DOC = """
    module : torch.nn.Module, callable returning one, or None
        The user's own *encoder*: it maps a batch of inputs to features ``(B, F)``; its width F is read
        from one forward pass on two training inputs. The estimator adds its defense's head (see above),
        so one encoder is compared across defenses. A factory (a class or a function, the skorch/Opacus
        convention) is called at every fit; an instance is deep-copied (never trained in place). Either
        way its parameters are drawn by its layers' own ``reset_parameters`` seeded from ``random_state``
        (an instance's parameters that no ``reset_parameters`` covers keep their values, with a
        warning). None: the built-in CNN named by ``architecture``.
    architecture : str or dict
        A name in :data:`defenses.neural.ARCHITECTURES` (default ``"cnn-s"``) or ConvNet arguments;
        used when ``module`` is None.
    epochs : int
        Maximum number of passes over the training data.
    batch_size : int
        Mini-batch size (DP-SGD: the *expected* batch size of Poisson sampling).
    lr, weight_decay : float
        Adam learning rate and L2 weight decay.
    early_stopping : bool
        Hold out ``validation_fraction`` of the training data (stratified), stop after ``patience``
        epochs without a better validation accuracy, and restore the best epoch's weights.
    validation_fraction : float
    patience : int
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``; checked by
        making a tensor there.
    n_threads : int or None
        torch intra-op threads while the estimator trains or predicts, restored afterwards (the global
        setting is never changed). None: 1 on the CPU (these networks are fastest on one thread on a
        shared machine), untouched on CUDA.
    random_state : None, int, SeedSequence, numpy Generator or RandomState
        Seeds initialisation, batch order, latent and DP noise, and the validation split
        (:func:`mitheory.rng.integer_seed`).
    progress : bool or None
        Progress on stderr (None or True: a tqdm bar on a terminal, else a line every few seconds; False: none).
"""


class CNNClassifier(_NeuralClassifier):
    __doc__ = """Undefended classifier: encoder → ``Linear(F, n_classes)`` logits, cross-entropy loss.

    Parameters
    ----------""" + _COMMON_DOC + """
    Attributes
    ----------
    module_ : torch.nn.Module
        The trained :class:`~defenses.neural.architectures.Classifier`.
    classes_, n_epochs_, best_epoch_, device_
    history_ : list of dict
        Per epoch: ``train_loss``, ``seconds`` (training pass), ``val_loss``, ``val_accuracy``.
    """

    def __init__(self, *, module=None, architecture="cnn-s", epochs=100, batch_size=32, lr=1e-3, weight_decay=0.0,
                 early_stopping=True, validation_fraction=0.1, patience=15, device="auto", n_threads=None,
                 random_state=None, progress=None):
        self.module = module
        self.architecture = architecture
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.progress = progress


class VIBClassifier(_NeuralClassifier):
    __doc__ = """MID for neural networks: a variational information bottleneck classifier.

    Minimises (MID paper Eq. 5 in Alemi et al.'s variational form, docs/defenses.md)

        L = (1/B) Σ_i [ CE(softmax(W z_i + b), y_i) + β · KL(N(μ_i, σ_i²) ‖ N(0, I)) ],
        z_i = μ_i + σ_i ⊙ ε_i,  ε_i ~ N(0, I),

    where (μ, σ = softplus(raw − 5)) come from ``Linear(F, 2k)`` on the backbone features, k = F // 2,
    KL = −½ Σ_k (1 + 2 log σ_k − μ_k² − σ_k²) summed over the k latent dimensions (official MID code).
    β is the paper's λ; β·E[KL] upper-bounds β·I(X; Z) ≥ β·I(X; Ŷ).

    Prediction samples z as the official code does: ``predict_proba(X, n_samples=1)`` draws one latent
    per image; ``n_samples > 1`` averages the softmax over draws; ``deterministic_eval=True`` uses z = μ
    (both departures from the official code, documented options).

    Parameters
    ----------
    beta : float
        Weight β ≥ 0 of the KL term (official: 1e-3 FaceScrub config, 3e-3 CelebA, 1e-2 CIFAR-10).
    n_eval_samples : int
        Default number of latent draws averaged by ``predict_proba``/``predict`` (1 = official).
    deterministic_eval : bool
        Predict from z = μ(x) instead of sampling.""" + _COMMON_DOC + """
    Attributes
    ----------
    module_ : VIBNet
        Trained network; ``module_.mean_network(x)`` and ``module_.variance_network(x)`` give μ(x), σ²(x).
    classes_, history_, n_epochs_, best_epoch_, device_

    References
    ----------
    Alemi, Fischer, Dillon, Murphy. Deep Variational Information Bottleneck. ICLR 2017.
    Wang, Zhang, Jia. Improving Robustness to Model Inversion Attacks via Mutual Information
    Regularization. AAAI 2021.
    """

    def __init__(self, beta=1e-3, *, n_eval_samples=1, deterministic_eval=False, module=None, architecture="cnn-s",
                 epochs=100, batch_size=32, lr=1e-3, weight_decay=0.0, early_stopping=True,
                 validation_fraction=0.1, patience=15, device="auto", n_threads=None, random_state=None,
                 progress=None):
        self.beta = beta
        self.n_eval_samples = n_eval_samples
        self.deterministic_eval = deterministic_eval
        self.module = module
        self.architecture = architecture
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.progress = progress

    def _check_params(self) -> None:
        super()._check_params()
        if not (isinstance(self.beta, (int, float)) and np.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {self.beta!r}")
        if not isinstance(self.n_eval_samples, (int, np.integer)) or self.n_eval_samples < 1:
            raise ValueError(f"n_eval_samples must be a positive integer, got {self.n_eval_samples!r}")

    @property
    def stochastic(self) -> bool:
        """True unless ``deterministic_eval``: every query draws a fresh latent z."""
        return not self.deterministic_eval

    def _build_module(self, n_classes: int) -> nn.Module:
        return VIBNet(make_backbone(self.architecture, self.input_shape_[0], self.input_shape_[1:]), n_classes)

    def _head(self, encoder: nn.Module, width: int, n_classes: int) -> nn.Module:
        return VIBNet(encoder, n_classes, feature_dim=width)

    def _loss(self, module, xb, yb, generator) -> torch.Tensor:
        logits, mu, sigma = module(xb, 1, generator)
        ce, kl = F.cross_entropy(logits[0], yb), gaussian_kl(mu, sigma).mean()
        self._last_terms = (ce.detach(), kl.detach())  # what _divergence_cause reports
        return ce + self.beta * kl

    def _divergence_cause(self) -> str:
        ce, kl = (float(t.detach()) for t in self._last_terms)
        if math.isfinite(ce) and math.isfinite(kl):
            return (f"beta={self.beta!r} times the KL term ({kl:.3g} nats) overflows; beta is the weight of the "
                    "information bottleneck (MID's lambda), typically 1e-4..1e-1")
        return f"the {'KL term' if math.isfinite(ce) else 'cross-entropy'} diverged; lower lr={self.lr!r} or beta={self.beta!r}"

    def _module_logits(self, module, x, n_samples, generator) -> torch.Tensor:
        if self.deterministic_eval:
            return module.decoder(module.mean_network(x)).unsqueeze(0)
        return module(x, n_samples, generator)[0]

    def predict_proba(self, X, n_samples: int | None = None, random_state=None) -> np.ndarray:
        """Softmax confidences averaged over ``n_samples`` latent draws (default ``n_eval_samples``).

        ``random_state=None`` draws from the estimator's own generator (seeded at fit, advancing between
        calls); pass a seed to make one call reproducible on its own.
        """
        n = self.n_eval_samples if n_samples is None else n_samples
        return super().predict_proba(X, n_samples=n, random_state=random_state)

    def predict(self, X, n_samples: int | None = None, random_state=None) -> np.ndarray:
        """The class with the largest averaged softmax (``n_samples`` latent draws, see predict_proba)."""
        proba = self.predict_proba(X, n_samples, random_state)
        return self.classes_[proba.argmax(axis=1)]

    def decision_function(self, X, random_state=None) -> np.ndarray:
        """One sampled logit vector per image (the official code's output; μ-based if deterministic)."""
        return super().decision_function(X, n_samples=1, random_state=random_state)

    def sample_logits(self, X, n_samples: int, random_state=None) -> np.ndarray:
        """Logits of ``n_samples`` independent latent draws per input, shape (n_samples, N, n_classes)."""
        return self._logits(X, n_samples, random_state).numpy()

    def sample_proba(self, X, n_samples: int, random_state=None) -> np.ndarray:
        """Individual softmax vectors of ``n_samples`` latent draws, shape (n_samples, N, n_classes)."""
        return torch.softmax(self._logits(X, n_samples, random_state), dim=-1).numpy()

    @_with_threads
    @torch.no_grad()
    def encode(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(μ(x), σ(x)) of the encoder p(z | x), each (N, k)."""
        Xt = self._check_X(X)
        self.module_.eval()
        parts = [self.module_.encode(Xt[sl].to(self.device_)) for sl in batched(len(Xt), _EVAL_BATCH)]
        return (torch.cat([m.cpu() for m, _ in parts]).numpy(), torch.cat([s.cpu() for _, s in parts]).numpy())

    def kl_divergence(self, X) -> float:
        """Mean KL(p(z|x) ‖ N(0, I)) over ``X`` in nats — the variational upper bound on I(X; Z)."""
        mu, sigma = self.encode(X)
        return float(gaussian_kl(torch.from_numpy(mu), torch.from_numpy(sigma)).mean())


class DPSGDClassifier(_NeuralClassifier):
    __doc__ = """Differentially private CNN trained with DP-SGD (Abadi et al. 2016) on Opacus.

    Opacus' ``PrivacyEngine.make_private`` with **Poisson sampling** (each example enters a step's batch
    independently with rate q = 1 / ⌈N / batch_size⌉, Opacus' rate: 1 / the loader's length), flat per-sample clipping to ``max_grad_norm`` C and
    Gaussian noise N(0, σ²C²) on the summed gradient, then Adam (docs/defenses.md). Give exactly one of
    ``noise_multiplier`` σ or ``target_epsilon`` (σ then calibrated by Opacus for ``epochs`` epochs with
    the ``accountant`` named). After fit the spent budget is reported by **two** accountants replaying the
    same (σ, q, steps) history:

    * ``epsilon_["rdp"]`` — Opacus ``RDPAccountant`` (Mironov et al. 2019 subsampled-Gaussian RDP, orders
      1.1..10.9 ∪ 12..63), converted with Balle et al. 2020 Thm 21;
    * ``epsilon_["prv"]`` — Opacus ``PRVAccountant`` (Gopi et al. 2021), upper bound with eps_error
      max(0.01, 0.001·ε_rdp); ``inf`` where its numerical domain cannot cover the loss (tiny σ).

    Early stopping uses a held-out part of the training data that is *not* trained on; the ε reported
    is for the steps actually taken (stopping early only spends less). The guarantee covers the images
    trained on; the held-out validation images only choose the epoch and are *not* covered — pass
    ``early_stopping=False`` for a guarantee over every image given to ``fit``. The official MID DP-SGD (fixed
    shuffled batches, BatchNorm, no accounting) has no valid ε; this implementation departs from it.

    The class set is public: give it as ``classes``. It is never read from the (private) labels — one
    record of a class the others lack would otherwise add an output column, which no noise hides. Every
    other shape of the released model (input shape, architecture) comes from the parameters and the
    public image format; the training-set size sets q and the number of steps, as in Opacus, and is
    treated as public. A fitted model's ``export_state()`` leaves out ``random_state``.

    Parameters
    ----------
    noise_multiplier : float or None
        σ ≥ 0 (σ = 0: clipping only, ε = ∞).
    classes : array-like
        The public class set (every label ``y`` may take); ``predict_proba`` has one column per class,
        in sorted order, whether or not a class occurs in the training labels. Required.
    target_epsilon : float or None
        Target ε at ``delta`` after ``epochs`` epochs.
    max_grad_norm : float
        Clipping norm C.
    delta : float
        δ of the reported (ε, δ); should be below 1/N.
    accountant : {"rdp", "prv"}
        Accountant used to calibrate σ from ``target_epsilon``.
    grad_sample_mode : {"auto", "ghost", "hooks", "ew"}
        How Opacus obtains the per-sample gradient norms for clipping: ``"ghost"`` (ghost / fast gradient
        clipping: norms without materialising per-sample gradients, a second backward pass on the
        reweighted loss), ``"hooks"`` (per-sample gradients from module hooks), ``"ew"`` (torch's expanded
        weights). All three clip the same per-sample gradients, so the update — and the privacy
        accounting, which depends only on (σ, q, steps) — is the same up to float round-off; they differ
        in speed and memory. ``"auto"`` (default) is ``"ghost"``, the fastest on this architecture family
        (``benchmarks/neural.py`` measures all three).""" + _COMMON_DOC + """
    Attributes
    ----------
    epsilon_ : dict
        ``{"rdp": ε, "prv": ε}`` at ``delta``.
    privacy_ : dict
        σ, q, steps, δ and a description of each accountant.
    noise_multiplier_ : float
        The σ used.
    module_fixes_ : list of str
        What Opacus' ``ModuleValidator.fix`` replaced in a user's ``module`` (``"layer: Old -> New"``), also
        logged as warnings on the ``defenses.neural.estimators`` logger; empty when nothing was changed.
    """

    _seed_is_secret = True

    def __init__(self, noise_multiplier=None, *, classes=None, target_epsilon=None, max_grad_norm=1.0,
                 delta=1e-5, accountant="rdp", grad_sample_mode="auto", module=None, architecture="cnn-s",
                 epochs=100, batch_size=32, lr=1e-3, weight_decay=0.0, early_stopping=True,
                 validation_fraction=0.1, patience=15, device="auto", n_threads=None, random_state=None,
                 progress=None):
        self.noise_multiplier = noise_multiplier
        self.classes = classes
        self.target_epsilon = target_epsilon
        self.max_grad_norm = max_grad_norm
        self.delta = delta
        self.accountant = accountant
        self.grad_sample_mode = grad_sample_mode
        self.module = module
        self.architecture = architecture
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.progress = progress

    def _check_params(self) -> None:
        super()._check_params()
        if (self.noise_multiplier is None) == (self.target_epsilon is None):
            raise ValueError("give exactly one of noise_multiplier and target_epsilon")
        if self.noise_multiplier is not None and not (
                _real(self.noise_multiplier) and math.isfinite(self.noise_multiplier) and self.noise_multiplier >= 0):
            raise ValueError(f"noise_multiplier must be a finite number >= 0, got {self.noise_multiplier!r}")
        if self.target_epsilon is not None and not (
                _real(self.target_epsilon) and math.isfinite(self.target_epsilon) and self.target_epsilon > 0):
            raise ValueError(f"target_epsilon must be a finite number > 0, got {self.target_epsilon!r}")
        if not (_real(self.max_grad_norm) and math.isfinite(self.max_grad_norm) and self.max_grad_norm > 0):
            raise ValueError(f"max_grad_norm must be a finite number > 0, got {self.max_grad_norm!r}")
        if not (isinstance(self.delta, float) and 0 < self.delta < 1):
            raise ValueError(f"delta must be a float in (0, 1), got {self.delta!r}")
        if self.accountant not in ("rdp", "prv"):
            raise ValueError(f"accountant must be 'rdp' or 'prv', got {self.accountant!r}")
        if self.grad_sample_mode not in GRAD_SAMPLE_MODES:
            raise ValueError(f"grad_sample_mode must be one of {', '.join(GRAD_SAMPLE_MODES)}, "
                             f"got {self.grad_sample_mode!r}")

    def _class_codes(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The public ``classes`` and each label's index in them; never the set of labels seen."""
        if self.classes is None:
            raise ValueError("classes is required: DP-SGD takes the class set as a public parameter "
                             "(classes=[...]); reading it from the private labels is not covered by the DP guarantee")
        classes = np.asarray(self.classes)
        if classes.ndim != 1 or len(classes) < 2 or len(np.unique(classes)) != len(classes):
            raise ValueError(f"classes must list at least two distinct labels, got {self.classes!r}")
        classes = np.unique(classes)
        y_idx = pd.Index(classes).get_indexer(y)
        if (y_idx < 0).any():
            raise ValueError(f"y has {int((y_idx < 0).sum())} labels outside classes")
        return classes, y_idx

    @staticmethod
    def _unwrap(module: nn.Module) -> nn.Module:
        return getattr(module, "_module", module)

    def _prepare_encoder(self, encoder: nn.Module) -> nn.Module:
        """Opacus' ``ModuleValidator`` checks the user's encoder for per-sample clipping and fixes what it
        can (BatchNorm → GroupNorm, LSTM → DPLSTM, ...); every change is logged and kept in
        ``module_fixes_``; what cannot be fixed is refused."""
        from opacus.validators import ModuleValidator

        self.module_fixes_: list[str] = []
        errors = ModuleValidator.validate(encoder, strict=False)
        if not errors:
            return encoder
        before = {name: type(m).__name__ for name, m in encoder.named_modules()}
        fixed = ModuleValidator.fix(encoder)
        after = {name: type(m).__name__ for name, m in fixed.named_modules()}
        self.module_fixes_ = [f"{name or '(root)'}: {before[name]} -> {after[name]}"
                              for name in before if name in after and before[name] != after[name]]
        for err in errors:  # Opacus' messages run on for a paragraph: the first sentence says it
            logger.warning("DPSGDClassifier: Opacus ModuleValidator: %s", str(err).strip().split(". ")[0])
        logger.warning("DPSGDClassifier: Opacus ModuleValidator.fix changed the module: %s",
                       "; ".join(self.module_fixes_) or "(no layer replaced)")
        left = ModuleValidator.validate(fixed, strict=False)
        if left:
            raise ValueError("module cannot be trained with DP-SGD even after Opacus' fixes: "
                             + "; ".join(str(e).strip() for e in left))
        return fixed

    def _divergence_cause(self) -> str:
        return (f"lr={self.lr!r} is too large for steps carrying DP noise of scale noise_multiplier * max_grad_norm "
                f"= {self.noise_multiplier_:.3g} * {self.max_grad_norm!r} (the weights overflowed); lower lr")

    def _check_budget(self, n: int) -> None:
        """Refuse a ``target_epsilon`` that no noise multiplier reaches, before Opacus' search runs.

        Opacus doubles σ from 20 until ε(σ) ≤ target or σ exceeds 10⁶; ε(σ) falls to a floor (RDP: its
        order range and conversion; PRV: its discretisation error), so a target below the floor is
        refused — here after one accountant call at the largest σ that search tries.
        """
        from opacus.accountants import create_accountant

        if self.target_epsilon is None:
            return
        q = 1.0 / math.ceil(n / self.batch_size)
        steps = int(self.epochs / q)
        sigma = 20.0 * 2 ** math.ceil(math.log2(1e6 / 20.0))
        accountant = create_accountant(mechanism=self.accountant)
        accountant.history = [(sigma, q, steps)]
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.filterwarnings("ignore", message=".*Optimal order is the.*")
            floor = float(accountant.get_epsilon(delta=self.delta))
        if not floor <= self.target_epsilon:
            raise ValueError(f"target_epsilon={self.target_epsilon!r} cannot be reached at delta={self.delta!r}: "
                             f"the {self.accountant} accountant gives epsilon >= {floor:.3g} for {steps} steps at "
                             f"sampling rate {q:.3g} even with noise_multiplier={sigma:.3g}")

    def _train(self, module, Xtr, ytr, Xva, yva, gens) -> nn.Module:
        from opacus import PrivacyEngine
        from torch.utils.data import DataLoader, TensorDataset

        if self.module is None:
            self.module_fixes_ = []
        n = len(Xtr)
        if self.batch_size > n:
            raise ValueError(f"batch_size={self.batch_size} exceeds the {n} training images")
        if self.delta >= 1.0 / n:
            warnings.warn(f"delta={self.delta} is not below 1/N = {1.0 / n:.3g}", stacklevel=3)
        self._check_budget(n)
        loader = DataLoader(TensorDataset(Xtr, ytr), batch_size=self.batch_size, shuffle=True,
                            generator=gens["data"])
        opt = self._optimizer(module)
        mode = "ghost" if self.grad_sample_mode == "auto" else self.grad_sample_mode
        common = {"module": module, "optimizer": opt, "data_loader": loader, "max_grad_norm": float(self.max_grad_norm),
                  "poisson_sampling": True, "noise_generator": gens["noise"], "grad_sample_mode": mode,
                  "criterion": nn.CrossEntropyLoss()}
        with warnings.catch_warnings():  # the engine's own construction warns about the secure RNG too
            warnings.filterwarnings("ignore", message=".*[Ss]ecure RNG.*")
            warnings.filterwarnings("ignore", message=".*Optimal order is the.*")
            engine = PrivacyEngine(accountant=self.accountant)
            if self.target_epsilon is not None:
                made = engine.make_private_with_epsilon(
                    **common, target_epsilon=float(self.target_epsilon), target_delta=self.delta,
                    epochs=self.epochs)
            else:
                made = engine.make_private(**common, noise_multiplier=float(self.noise_multiplier))
        if mode == "ghost":  # the criterion wrapper runs the two backward passes of ghost clipping
            dp_module, dp_opt, criterion, dp_loader = made
        else:
            (dp_module, dp_opt, dp_loader), criterion = made, F.cross_entropy
        self.grad_sample_mode_ = mode
        self.noise_multiplier_ = float(dp_opt.noise_multiplier)

        def run_epoch() -> float:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*Full backward hook is firing.*")
                return dp_epoch()

        def dp_epoch() -> float:
            dp_module.train()
            total, seen = 0.0, 0
            for xb, yb in dp_loader:
                dp_opt.zero_grad(set_to_none=True)
                loss = criterion(dp_module(xb), yb) if len(xb) else (dp_module(xb).sum() * 0.0)
                loss.backward()
                dp_opt.step()
                total += self._finite_loss(loss) * len(xb)
                seen += len(xb)
            return total / max(seen, 1)

        inner = self._epoch_loop(dp_module, Xva, yva, gens, run_epoch)
        dp_module.remove_hooks()
        for p in inner.parameters():
            for attr in ("grad_sample", "summed_grad", "_forward_counter"):
                if hasattr(p, attr):
                    delattr(p, attr)
        self._account(engine.accountant.history, n)
        return inner

    def _account(self, history, n: int) -> None:
        from opacus.accountants import PRVAccountant, RDPAccountant

        steps = int(sum(h[2] for h in history))
        eps: dict[str, float] = {}
        if self.noise_multiplier_ == 0 or steps == 0:
            eps = {"rdp": float("inf") if steps else 0.0, "prv": float("inf") if steps else 0.0}
        else:
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                warnings.filterwarnings("ignore", message=".*Optimal order is the.*")
                rdp = RDPAccountant()
                rdp.history = [tuple(h) for h in history]
                eps["rdp"] = float(rdp.get_epsilon(self.delta))
                prv = PRVAccountant()
                prv.history = [tuple(h) for h in history]
                try:
                    eps["prv"] = float(prv.get_epsilon(self.delta, eps_error=self._prv_eps_error(eps["rdp"])))
                except MemoryError:
                    eps["prv"] = float("inf")
        self.epsilon_ = eps
        self.privacy_: dict[str, Any] = {
            "delta": self.delta,
            "noise_multiplier": self.noise_multiplier_,
            "sample_rate": float(history[0][1]) if history else self.batch_size / n,
            "steps": steps,
            "max_grad_norm": float(self.max_grad_norm),
            "sampling": "Poisson",
            "epsilon_rdp": eps["rdp"],
            "epsilon_prv": eps["prv"],
            "accountants": {
                "rdp": "opacus RDPAccountant: subsampled-Gaussian RDP (Mironov, Talwar, Zhang 2019), "
                       "orders 1.1..10.9 and 12..63, conversion Balle et al. 2020 Thm 21",
                "prv": "opacus PRVAccountant (Gopi, Lee, Wutschitz 2021), upper bound with eps_error = "
                       f"{self._prv_eps_error(eps['rdp']):.3g}; inf = its numerical domain could not "
                       "cover this privacy loss (small noise), the RDP bound still holds",
            },
        }

    @staticmethod
    def _prv_eps_error(eps_rdp: float) -> float:
        """PRV discretisation error: 0.01 (Opacus' default), relaxed to 0.1 % of the RDP ε for large ε.

        The PRV grid grows like ε/eps_error; with the default at ε in the hundreds it needs gigabytes.
        """
        return max(0.01, 1e-3 * eps_rdp) if np.isfinite(eps_rdp) else 0.01
