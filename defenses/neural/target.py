"""The target protocol: how every neural attack talks to the model it attacks.

An attack never reaches into a model. It sees a :class:`Target`, made by :func:`as_target` from

* a fitted :class:`~defenses.neural.CNNClassifier`, :class:`~defenses.neural.VIBClassifier` or
  :class:`~defenses.neural.DPSGDClassifier` (the toolkit's own models, a user's ``module=`` included),
* a :class:`~defenses.output.OutputPerturbedClassifier` around one of them (its black-box outputs are
  perturbed, its network is not),
* any plain ``torch.nn.Module`` that returns logits: ``as_target(module, classes)``,
* an object that already implements the protocol (a :class:`Target` subclass of the user's own).

What a target offers
--------------------
Black box (what a service answers):

``classes_``
    The labels of the output columns, in order.
``predict_proba(X, random_state=None)``
    The released confidence vectors, ``(N, K)`` NumPy (perturbed, for an output-perturbed model);
    ``random_state`` seeds a stochastic target's latent draws for this call.
``decision_function(X, random_state=None)``
    The released logits, ``(N, K)`` NumPy (one latent draw per input for a stochastic model).
``perturbation``
    The :class:`~defenses.output.OutputPerturbation` applied to released vectors, or None.

White box (what GMI, MIFace and Update-Leaks also use):

``logits(x, generator=None)``
    Logits ``(B, K)`` of a torch batch on ``device``, differentiable in the input and in the weights;
    a stochastic target draws its latent noise from ``generator`` (default: the target's own).
``stochastic``
    Whether the outputs are random (VIB samples z = μ + σ·ε per query).
``device``
    The ``torch.device`` of the weights; inputs must be moved there.
``input_shape``
    The shape of one input, ``(C, H, W)`` for images, or None where unknown.
``network()``
    A :class:`TargetNetwork`: the same weights as an ``nn.Module`` whose latent noise is an explicit
    argument, ``forward(x, eps)`` — so an attacker can differentiate, copy or functionally update the
    model and replay its noise (Update-Leaks simulates one SGD step per record this way).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ._torch import batched, make_generator, seed_from
from .architectures import VIBNet

__all__ = ["Target", "TargetNetwork", "as_target"]

_BATCH = 256


class TargetNetwork(nn.Module):
    """A classifier's logits with its latent noise as an explicit argument (the white-box view).

    ``encode(x)`` is the deterministic part and ``head(h, eps)`` the rest: for a plain classifier
    ``encode`` gives the logits and ``head`` returns them; for a VIB ``encode`` gives (μ, σ) and ``head``
    decodes z = μ + σ ⊙ ε (z = μ when the model is not stochastic). The parameters are the model's own.

    Parameters
    ----------
    net : nn.Module
        The model: a :class:`~defenses.neural.architectures.VIBNet` or any module returning logits.
    stochastic : bool
        Whether ``eps`` is used (a VIB that samples at prediction time).
    n_outputs : int
        Number of logits K.

    Attributes
    ----------
    noise_dim : int
        Size of one input's latent noise ε (k for a sampling VIB, 0 otherwise: ``eps`` is ignored).
    """

    def __init__(self, net: nn.Module, stochastic: bool, n_outputs: int):
        super().__init__()
        self.net = net
        self.vib = isinstance(net, VIBNet)
        self.stochastic = self.vib and bool(stochastic)
        self.noise_dim = net.k if self.stochastic else 0
        self.n_outputs = int(n_outputs)

    def encode(self, x: torch.Tensor):
        return self.net.encode(x) if self.vib else self.net(x)

    def head(self, h, eps: torch.Tensor | None) -> torch.Tensor:
        if not self.vib:
            return h
        mu, sigma = h
        return self.net.decoder(mu + sigma * eps if self.stochastic else mu)

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.encode(x), eps)


class Target:
    """The protocol every neural attack uses (see the module docstring); subclass it for a model of your own.

    A subclass sets ``classes_``, ``stochastic``, ``device`` and ``input_shape`` and implements
    :meth:`logits` and :meth:`network`; :meth:`predict_proba` and :meth:`decision_function` default to the
    softmax and the logits of :meth:`logits` over batches of 256.
    """

    classes_: np.ndarray
    stochastic: bool
    device: torch.device
    input_shape: tuple[int, ...] | None
    perturbation = None

    def logits(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def network(self) -> TargetNetwork:
        raise NotImplementedError

    def _batches(self, X, random_state=None) -> torch.Tensor:
        X = np.asarray(X)
        if X.ndim < 2 or len(X) == 0:
            raise ValueError(f"X must be a non-empty batch of inputs (N, ...), got shape {X.shape}")
        if self.input_shape is not None and tuple(X.shape[1:]) != tuple(self.input_shape):
            raise ValueError(f"X has inputs of shape {X.shape[1:]}, the target takes {tuple(self.input_shape)}")
        X = X.astype(np.int64 if X.dtype.kind in "iu" else np.float32, copy=False)
        gen = None if random_state is None else make_generator(seed_from(random_state), self.device)
        with torch.no_grad():
            return torch.cat([self.logits(torch.from_numpy(X[sl]).to(self.device), gen).detach().cpu()
                              for sl in batched(len(X), _BATCH)])

    def decision_function(self, X, random_state=None) -> np.ndarray:
        """The released logits of inputs ``X``, ``(N, K)``."""
        return self._batches(X, random_state).numpy()

    def predict_proba(self, X, random_state=None) -> np.ndarray:
        """The released confidence vectors of inputs ``X``, ``(N, K)``."""
        return torch.softmax(self._batches(X, random_state), dim=-1).numpy()

    def class_index(self, labels) -> np.ndarray:
        """Column indices of ``labels`` in ``classes_`` (ValueError naming the first unknown label)."""
        position = {c: i for i, c in enumerate(np.asarray(self.classes_).tolist())}
        labels = np.asarray(labels)
        out = np.empty(labels.shape, dtype=np.int64)
        for k, label in enumerate(labels.ravel().tolist()):
            if label not in position:
                raise ValueError(f"label {label!r} is not one of the model's classes {list(self.classes_)}")
            out.flat[k] = position[label]
        return out


class _ModuleTarget(Target):
    """A plain module returning logits, as :func:`as_target` wraps it."""

    def __init__(self, module: nn.Module, classes: np.ndarray, stochastic: bool,
                 input_shape: tuple[int, ...] | None):
        self.module = module
        self.classes_ = classes
        self.stochastic = bool(stochastic)
        self.input_shape = input_shape
        param = next(iter(module.parameters()), None)
        self.device = param.device if param is not None else torch.device("cpu")

    def logits(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        out = self.module(x)
        if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[1] != len(self.classes_):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"the module must return logits (B, {len(self.classes_)}) for its "
                             f"{len(self.classes_)} classes, got {shape}")
        return out

    def network(self) -> TargetNetwork:
        return TargetNetwork(self.module, False, len(self.classes_))


class _EstimatorTarget(Target):
    """A fitted toolkit estimator through its public methods only."""

    def __init__(self, estimator):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(estimator, "module_")
        self.estimator = estimator
        self.classes_ = np.asarray(estimator.classes_)
        self.stochastic = bool(estimator.stochastic)
        self.device = estimator.device_
        self.input_shape = tuple(estimator.input_shape_)

    def logits(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.estimator.logits(x, generator)

    def network(self) -> TargetNetwork:
        return TargetNetwork(self.estimator.module_, self.stochastic, len(self.classes_))

    def decision_function(self, X, random_state=None) -> np.ndarray:
        return np.asarray(self.estimator.decision_function(X, random_state=random_state))

    def predict_proba(self, X, random_state=None) -> np.ndarray:
        return np.asarray(self.estimator.predict_proba(X, random_state=random_state))


class _PerturbedTarget(Target):
    """A target whose black-box outputs go through an output perturbation; the white box is untouched."""

    def __init__(self, wrapped, inner: Target):
        self.wrapped = wrapped
        self.inner = inner
        self.perturbation = wrapped.perturbation
        self.classes_ = inner.classes_
        self.stochastic = inner.stochastic
        self.device = inner.device
        self.input_shape = inner.input_shape

    def logits(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.inner.logits(x, generator)

    def network(self) -> TargetNetwork:
        return self.inner.network()

    def decision_function(self, X, random_state=None) -> np.ndarray:
        if not hasattr(self.wrapped, "decision_function"):
            raise ValueError("this output-perturbed model releases probabilities only (its perturbation acts "
                             "on probability vectors); attack its predict_proba instead")
        return np.asarray(self.wrapped.decision_function(X))

    def predict_proba(self, X, random_state=None) -> np.ndarray:
        return np.asarray(self.wrapped.predict_proba(X))


def as_target(model, classes: Sequence | int | None = None, stochastic: bool = False, *,
              input_shape: Sequence[int] | None = None) -> Target:
    """The :class:`Target` of ``model``: what every neural attack in the toolkit accepts.

    Parameters
    ----------
    model : fitted toolkit estimator, OutputPerturbedClassifier, nn.Module or Target
        A ``torch.nn.Module`` must map a batch of inputs to logits ``(B, K)``.
    classes : sequence or int
        For a module only: the labels of its K outputs, in order (an int K means ``0 .. K−1``).
    stochastic : bool
        For a module only: whether its outputs are random (e.g. it samples internally). Its randomness
        is its own (the ``generator`` of :meth:`Target.logits` is not used), so attacks cannot replay it.
    input_shape : sequence of int, optional
        For a module only: the shape of one input, e.g. ``(1, 32, 32)``; needed by attacks that create
        inputs from nothing (ART's MIFace).

    Returns
    -------
    Target

    Examples
    --------
    >>> import torch
    >>> from defenses.neural.target import as_target
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    >>> t = as_target(net, classes=["a", "b", "c"], input_shape=(1, 4, 4))
    >>> t.predict_proba(torch.zeros(2, 1, 4, 4).numpy()).shape
    (2, 3)
    """
    from defenses.output import OutputPerturbedClassifier

    if isinstance(model, Target):
        return model
    if isinstance(model, OutputPerturbedClassifier):
        inner = model.estimator_ if hasattr(model, "estimator_") else model.estimator
        return _PerturbedTarget(model, as_target(inner))
    if isinstance(model, nn.Module):
        if classes is None:
            raise ValueError("as_target(module, classes): give the labels of the module's outputs (or their number)")
        if isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
            labels = np.arange(int(classes))
        else:
            labels = np.asarray(classes)
        if labels.ndim != 1 or len(labels) < 2 or len(np.unique(labels)) != len(labels):
            raise ValueError(f"classes must hold at least two distinct labels, got {classes!r}")
        shape = None if input_shape is None else tuple(int(v) for v in input_shape)
        return _ModuleTarget(model, labels, stochastic, shape)
    if hasattr(model, "logits") and hasattr(model, "stochastic") and hasattr(model, "export_state"):
        return _EstimatorTarget(model)
    raise ValueError(f"cannot attack a {type(model).__name__}: give a fitted CNNClassifier, VIBClassifier or "
                     "DPSGDClassifier (possibly output-perturbed), a torch.nn.Module returning logits with "
                     "classes=, or a defenses.neural.target.Target")
