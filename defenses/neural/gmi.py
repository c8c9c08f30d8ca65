"""GMI — the generative model-inversion attack (Zhang et al., CVPR 2020, "The Secret Revealer").

A white-box attacker who holds *public* images of other identities (MNIST: digits 5–9 against a target
trained on 0–4) first learns a prior over images with a WGAN-GP (:class:`WGANGPPrior`, docs/attacks.md),
then, for a private identity y, searches the generator's latent space for the image the target finds most
typical of y while the critic still finds it realistic (docs/attacks.md, :class:`GMIAttack`):

    minimise over z ∈ [−1, 1]^100:   L(z) = −D(G(z)) + λ · CE(T(G(z)), y),   λ = 100,

with the official momentum update and 5 random restarts, keeping per identity the restart whose image
has the highest target logit for y. :class:`InversionEvaluation` scores the result with an evaluation
classifier of another architecture (docs/attacks.md): top-1 / top-5 attack accuracy, success in
any of the restarts, KNN feature distance to the identity's private training and held-out images, and the
official MID code's pixel MSE to the identity's mean image. :func:`gan_only_baseline` is the attacker
without the target — random prior samples scored the same way.

Everything random is drawn from generators seeded by ``random_state``; the global torch RNG is never used.

References
----------
Zhang, Jia, Pei, Wang, Li, Song. The Secret Revealer: Generative Model-Inversion Attacks Against Deep
Neural Networks. CVPR 2020.
Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville. Improved Training of Wasserstein GANs. NeurIPS 2017.
"""

from __future__ import annotations

import copy
import io
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from torch import nn

from mitheory.cli import Progress

from defenses.base import Reconstruction, ReconstructionAttack, deprecated_call

from ._torch import as_images, batched, build_module, make_generator, resolve_device, seed_from
from .target import as_target

__all__ = [
    "GMIAttack", "GMIGenerator", "GMIResult", "InversionEvaluation", "WGANCritic", "WGANGPPrior",
    "gan_only_baseline", "gradient_penalty", "nesterov_step", "select_restarts",
]

_FORMAT = "mid-toolkit/wgan-gp-prior/1"


def _n_stages(image_size: int) -> int:
    """Number of stride-2 stages between 4×4 and ``image_size`` (a power of two >= 16)."""
    n = int(np.log2(image_size / 4)) if image_size >= 16 else 0
    if n < 2 or 4 * 2 ** n != image_size:
        raise ValueError(f"image_size must be a power of two >= 16, got {image_size}")
    return n


# --------------------------------------------------------------------------------------------- networks


class GMIGenerator(nn.Module):
    """DCGAN-style generator R^latent_dim → [0, 1]^{C×S×S} (the layout of GMI's ``GeneratorMNIST``).

    ``Linear(latent, 2^(n−1)·dim·4·4)`` → BatchNorm1d → ReLU → reshape to 4×4, then n − 1 stages
    ConvTranspose(5, stride 2, padding 2, output padding 1) → BatchNorm → ReLU halving the channels, and a
    last ConvTranspose to C channels → Sigmoid; n = log2(S / 4) (S = 32: 4·dim, 2·dim, dim channels at
    4, 8, 16 pixels). The official MNIST network has dim = 64; ``dim`` is a parameter for CPU runs.
    """

    def __init__(self, latent_dim: int = 100, dim: int = 32, image_size: int = 32, channels: int = 1):
        super().__init__()
        n = _n_stages(image_size)
        c = dim * 2 ** (n - 1)
        self.c0 = c
        self.project = nn.Sequential(nn.Linear(latent_dim, c * 16, bias=False), nn.BatchNorm1d(c * 16), nn.ReLU())
        layers: list[nn.Module] = []
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 5, 2, padding=2, output_padding=1, bias=False),
                       nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 5, 2, padding=2, output_padding=1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(len(z), self.c0, 4, 4))


class WGANCritic(nn.Module):
    """Critic [0, 1]^{C×S×S} → R (the layout of GMI's ``DGWGAN32``), one scalar per image.

    Conv(5, stride 2, padding 2) → LeakyReLU(0.2), then n − 1 stages Conv(5, 2, 2) → InstanceNorm(affine)
    → LeakyReLU(0.2) doubling the channels down to 4×4, then Conv(4×4) to one output; n = log2(S / 4).
    No BatchNorm: the gradient penalty is defined per image, and batch statistics would couple them.
    """

    def __init__(self, dim: int = 32, image_size: int = 32, channels: int = 1):
        super().__init__()
        n = _n_stages(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, dim, 5, 2, 2), nn.LeakyReLU(0.2)]
        c = dim
        for _ in range(n - 1):
            layers += [nn.Conv2d(c, 2 * c, 5, 2, 2), nn.InstanceNorm2d(2 * c, affine=True), nn.LeakyReLU(0.2)]
            c *= 2
        layers.append(nn.Conv2d(c, 1, 4))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty E[(‖∇_x̃ D(x̃)‖₂ − 1)²] at x̃ = x + u·(G(z) − x) (docs/attacks.md).

    ``u`` holds one U(0, 1) draw per image, shape ``(B, 1, ..., 1)``; the norm is over all pixels of an image.
    The graph is kept (``create_graph``) so the penalty can be differentiated with respect to the critic.
    """
    x = (real + u * (fake - real)).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


@contextmanager
def _frozen(*modules: nn.Module):
    """Parameters of ``modules`` do not require gradients inside the block (restored afterwards)."""
    params = [p for m in modules for p in m.parameters()]
    before = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p, b in zip(params, before):
            p.requires_grad_(b)


# --------------------------------------------------------------------------------------------- the prior


def _positive_int(name: str, v) -> None:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")


class WGANGPPrior(BaseEstimator):
    """The attacker's image prior: a WGAN-GP trained on public images (docs/attacks.md).

    Critic loss E[D(G(z))] − E[D(x)] + ``gp_weight``·E[(‖∇D(x̃)‖₂ − 1)²] on every mini-batch of public
    images x (one pass over the data per epoch, the last incomplete batch dropped), generator loss
    −E[D(G(z))] once every ``n_critic`` critic steps (the official schedule), both with Adam; z ~ N(0, I).

    Parameters
    ----------
    latent_dim : int
        Size of z (official: 100).
    dim : int
        Width of :class:`GMIGenerator` and :class:`WGANCritic` (official MNIST: 64).
    epochs, batch_size : int
        Passes over the public images and critic mini-batch size (official batch 64).
    lr : float
        Adam learning rate of both networks (official 2e-4).
    betas : (float, float)
        Adam betas (official (0.5, 0.999)).
    n_critic : int
        Critic steps per generator step (official 5).
    gp_weight : float
        Weight of the gradient penalty (official 10).
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    random_state : int, numpy Generator or None
        Seeds initialisation, batch order, latent draws and the interpolation weights.
    progress : bool or None
        Progress over epochs on stderr (None or True: a tqdm bar on a terminal, else a line every few seconds).

    Attributes
    ----------
    generator_ : GMIGenerator
    critic_ : WGANCritic
    image_shape_ : tuple
        (C, S, S) of the public images.
    history_ : list of dict
        Per epoch: ``critic_loss``, ``wasserstein_estimate`` (E D(x) − E D(G(z)) on the critic batches),
        ``gradient_penalty``, ``generator_loss`` (means over the epoch's steps), ``seconds``.

    Notes
    -----
    :meth:`to_bytes` / :meth:`save` write the two networks' ``state_dict`` with ``torch.save``; :meth:`from_bytes`
    / :meth:`load` read them back with ``weights_only=True`` (no pickled code), so a sweep trains the prior
    once and ships it to every worker.
    """

    def __init__(self, *, latent_dim: int = 100, dim: int = 32, epochs: int = 50, batch_size: int = 64,
                 lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), n_critic: int = 5,
                 gp_weight: float = 10.0, device: str = "auto",
                 random_state: int | np.random.Generator | None = None, progress: bool | None = None):
        self.latent_dim = latent_dim
        self.dim = dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.betas = betas
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.device = device
        self.random_state = random_state
        self.progress = progress

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # square images (N, S, S) or (N, C, S, S), S a power of two >= 16: not a table
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags

    def _check_params(self) -> None:
        for name in ("latent_dim", "dim", "epochs", "batch_size", "n_critic"):
            _positive_int(name, getattr(self, name))
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        b = tuple(self.betas) if isinstance(self.betas, (tuple, list)) else ()
        if len(b) != 2 or not all(isinstance(x, (int, float)) and 0 <= x < 1 for x in b):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if not (isinstance(self.gp_weight, (int, float)) and self.gp_weight >= 0):
            raise ValueError(f"gp_weight must be >= 0, got {self.gp_weight!r}")

    def _networks(self, image_shape) -> tuple:
        c, s, _ = image_shape
        return (lambda: GMIGenerator(self.latent_dim, self.dim, s, c)), (lambda: WGANCritic(self.dim, s, c))

    def fit(self, X, y=None) -> WGANGPPrior:
        """Train on public images ``X`` ((N, S, S) or (N, C, S, S) in [0, 1], S a power of two >= 16)."""
        self._check_params()
        X = as_images(X, "X")
        c, h, w = X.shape[1:]
        if h != w:
            raise ValueError(f"X must hold square images, got {h}x{w}")
        _n_stages(h)
        if len(X) < self.batch_size:
            raise ValueError(f"X holds {len(X)} images, fewer than one batch of batch_size={self.batch_size}")
        self.device_ = resolve_device(self.device)
        self.image_shape_ = (int(c), int(h), int(w))
        seed = seed_from(self.random_state)
        make_g, make_d = self._networks(self.image_shape_)
        G = build_module(make_g, make_generator(seed), self.device_)
        D = build_module(make_d, make_generator(seed + 1), self.device_)
        g_data, g_noise = make_generator(seed + 2), make_generator(seed + 3, self.device_)
        opt_g = torch.optim.Adam(G.parameters(), lr=self.lr, betas=tuple(self.betas))
        opt_d = torch.optim.Adam(D.parameters(), lr=self.lr, betas=tuple(self.betas))
        Xt = torch.from_numpy(X).to(self.device_)
        n, bs, L = len(Xt), int(self.batch_size), int(self.latent_dim)
        self.history_: list[dict[str, float]] = []
        step = 0
        G.train()
        D.train()
        for epoch in Progress.iterate(range(self.epochs), desc="WGAN-GP", unit="epoch", disable=self.progress is False,
                                      leave=False):
            start = time.perf_counter()
            perm = torch.randperm(n, generator=g_data).to(self.device_)
            sums = {"critic_loss": 0.0, "wasserstein_estimate": 0.0, "gradient_penalty": 0.0, "generator_loss": 0.0}
            n_d = n_g = 0
            for k in range(n // bs):
                real = Xt[perm[k * bs:(k + 1) * bs]]
                step += 1
                with torch.no_grad():
                    fake = G(torch.randn(bs, L, generator=g_noise, device=self.device_))
                u = torch.rand((bs,) + (1,) * (real.dim() - 1), generator=g_noise, device=self.device_)
                wd = D(real).mean() - D(fake).mean()
                gp = gradient_penalty(D, real, fake, u)
                loss_d = -wd + self.gp_weight * gp
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                sums["critic_loss"] += float(loss_d.detach())
                sums["wasserstein_estimate"] += float(wd.detach())
                sums["gradient_penalty"] += float(gp.detach())
                n_d += 1
                if step % self.n_critic == 0:
                    with _frozen(D):
                        loss_g = -D(G(torch.randn(bs, L, generator=g_noise, device=self.device_))).mean()
                        opt_g.zero_grad(set_to_none=True)
                        loss_g.backward()
                        opt_g.step()
                    sums["generator_loss"] += float(loss_g.detach())
                    n_g += 1
            rec = {"epoch": epoch + 1, **{k: v / max(n_d, 1) for k, v in sums.items() if k != "generator_loss"},
                   "generator_loss": sums["generator_loss"] / n_g if n_g else float("nan"),
                   "seconds": time.perf_counter() - start}
            self.history_.append(rec)
        G.eval()
        D.eval()
        self.generator_, self.critic_ = G, D
        return self

    @torch.no_grad()
    def sample(self, n: int, random_state: int | np.random.Generator | None = None) -> np.ndarray:
        """``n`` images G(z), z ~ N(0, I) (generator in eval mode), as float32 (n, C, S, S) in [0, 1]."""
        check_is_fitted(self, "generator_")
        _positive_int("n", n)
        g = make_generator(seed_from(random_state), self.device_)
        z = torch.randn(int(n), int(self.latent_dim), generator=g, device=self.device_)
        self.generator_.eval()
        return torch.cat([self.generator_(z[sl]).cpu() for sl in batched(len(z), 256)]).numpy()

    # ------------------------------------------------------------------ persistence
    def state(self) -> dict[str, Any]:
        """The fitted prior as plain data and tensors (what :meth:`to_bytes` saves)."""
        check_is_fitted(self, "generator_")
        params = {k: v for k, v in self.get_params().items() if k not in ("device", "progress", "random_state")}
        params["betas"] = [float(b) for b in params["betas"]]
        return {
            "format": _FORMAT,
            "params": params,
            "random_state": self.random_state if isinstance(self.random_state, (int, np.integer)) else None,
            "image_shape": list(self.image_shape_),
            "generator": {k: v.detach().cpu() for k, v in self.generator_.state_dict().items()},
            "critic": {k: v.detach().cpu() for k, v in self.critic_.state_dict().items()},
            "history": [dict(h) for h in self.history_],
        }

    def to_bytes(self) -> bytes:
        """``torch.save`` of :meth:`state` (state dicts, numbers and strings only)."""
        buf = io.BytesIO()
        torch.save(self.state(), buf)
        return buf.getvalue()

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_bytes` to ``path``."""
        path = Path(path)
        path.write_bytes(self.to_bytes())
        return path

    @classmethod
    def from_bytes(cls, data: bytes, device: str = "auto") -> WGANGPPrior:
        """A fitted prior from :meth:`to_bytes` output, read with ``torch.load(weights_only=True)``."""
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError("not a saved WGANGPPrior (missing or unknown format tag)")
        params = dict(state["params"])
        params["betas"] = tuple(params["betas"])
        prior = cls(**params, device=device, random_state=state["random_state"])
        prior.device_ = resolve_device(device)
        prior.image_shape_ = tuple(int(v) for v in state["image_shape"])
        make_g, make_d = prior._networks(prior.image_shape_)
        nets = []
        for make, key in ((make_g, "generator"), (make_d, "critic")):
            with torch.device("meta"):
                net = make()
            net = net.to_empty(device="cpu")
            net.load_state_dict(state[key])
            nets.append(net.to(prior.device_).eval())
        prior.generator_, prior.critic_ = nets
        prior.history_ = [dict(h) for h in state["history"]]
        return prior

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto") -> WGANGPPrior:
        """Read a prior written by :meth:`save`."""
        return cls.from_bytes(Path(path).read_bytes(), device=device)


# --------------------------------------------------------------------------------------------- the attack


def nesterov_step(z: torch.Tensor, v: torch.Tensor, grad: torch.Tensor, *, lr: float, momentum: float,
                  clip: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the official GMI update (docs/attacks.md); returns ``(z_new, v_new)``.

    v ← μ·v − lr·∇,  z ← z − μ·v_prev + (1 + μ)·v,  then z clamped to [−clip, clip].
    """
    v_new = momentum * v - lr * grad
    z_new = z - momentum * v + (1.0 + momentum) * v_new
    return z_new.clamp(-clip, clip), v_new


def select_restarts(scores) -> np.ndarray:
    """Per identity (column), the restart (row) with the highest target logit: ``argmax`` over axis 0.

    ``scores`` is (n_restarts, n_identities); ties go to the earlier restart.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] < 1:
        raise ValueError(f"scores must be a 2-d array (n_restarts, n_identities), got shape {s.shape}")
    return np.argmax(s, axis=0)


@dataclass(kw_only=True)
class GMIResult(Reconstruction):
    """What :meth:`GMIAttack.invert` found for ``identities`` (N of them) over R restarts.

    Attributes
    ----------
    images : (N, C, S, S) the selected reconstruction of every identity.
    identities : (N,) the attacked labels.
    restart_images : (R, N, C, S, S) the final image of every restart.
    target_logit : (R, N) the target's logit for the identity on each restart's image (the selection
        score; NaN for :func:`gan_only_baseline`, which has no target).
    selected : (N,) the restart chosen per identity.
    latents : (R, N, latent_dim) the final latent vectors.
    """

    restart_images: np.ndarray
    target_logit: np.ndarray
    selected: np.ndarray
    latents: np.ndarray


@contextmanager
def _eval_mode(module: nn.Module):
    """``module`` and every submodule in eval mode inside the block; each one's own mode restored after."""
    modes = [(m, m.training) for m in module.modules()]
    try:
        module.eval()
        yield
    finally:
        for m, training in modes:
            m.training = training


class GMIAttack(ReconstructionAttack):
    """White-box generative model inversion (Zhang et al. 2020; docs/attacks.md).

    ``fit(target)`` binds the white-box target (anything :func:`~defenses.neural.target.as_target`
    accepts); ``invert(identities)`` returns a :class:`GMIResult`.

    For every identity y and restart, from z₀ ~ N(0, I) it runs ``iterations`` steps of
    :func:`nesterov_step` on L(z) = −D(G(z)) + λ·CE(T(G(z)), y), clamping z to [−``clip``, ``clip``],
    and keeps per identity the restart whose final image has the highest target logit for y. All
    identities and restarts are optimised together as one batch. Generator, critic and target stay in
    eval mode; a VIB target draws a fresh latent sample at every query (its logits are stochastic, as in
    the official code).

    Parameters
    ----------
    prior : WGANGPPrior
        The fitted prior (the attacker's knowledge: public data only).
    lam : float
        λ, weight of the identity loss (official 100).
    lr, momentum : float
        Step size and momentum μ of the update (official MNIST 1e-2, μ = 0.9; CelebA lr 2e-2).
    iterations : int
        Steps per restart (official 1,500).
    n_restarts : int
        Random restarts per identity (official 5).
    clip : float
        z is clamped to [−clip, clip] after every step (official 1).
    identities_per_batch : int or None
        The official code averages the loss over one batch of identities, so each latent moves by
        lr / n_b times the gradient of its own loss. ``n_b`` = this value, default the number of
        *distinct* identities given to :meth:`invert` (MNIST: the 5 digits, as the official batch) —
        attacking every identity several times in one call therefore does not change the step.
    random_state : int, numpy Generator or None
        Seeds z₀ (restart r takes the r-th block of one seeded stream) and the VIB target's noise.
    progress : bool or None
        A tqdm bar over iterations on stderr.

    Attributes
    ----------
    target_ : Target

    Notes
    -----
    Departure: the official selection starts from a best score of 0, so an identity whose logits are all
    negative keeps z = 0; here the best restart is always selected (:func:`select_restarts`).
    """

    _shared_params = ("prior",)

    def __init__(self, prior: WGANGPPrior, *, lam: float = 100.0, lr: float = 1e-2, momentum: float = 0.9,
                 iterations: int = 1500, n_restarts: int = 5, clip: float = 1.0,
                 identities_per_batch: int | None = None,
                 random_state: int | np.random.Generator | None = 0, progress: bool | None = None):
        self.prior = prior
        self.lam = lam
        self.lr = lr
        self.momentum = momentum
        self.iterations = iterations
        self.n_restarts = n_restarts
        self.clip = clip
        self.identities_per_batch = identities_per_batch
        self.random_state = random_state
        self.progress = progress
        self._check_params()

    def _check_params(self) -> None:
        if not isinstance(self.prior, WGANGPPrior):
            raise ValueError(f"prior must be a fitted WGANGPPrior, got {type(self.prior).__name__}")
        check_is_fitted(self.prior, "generator_")
        for name in ("iterations", "n_restarts"):
            _positive_int(name, getattr(self, name))
        if self.identities_per_batch is not None:
            _positive_int("identities_per_batch", self.identities_per_batch)
        for name in ("lam", "lr", "clip"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and (v > 0 or (name == "lam" and v == 0))):
                raise ValueError(f"{name} must be a finite number {'>= 0' if name == 'lam' else '> 0'}, got {v!r}")
        if not (isinstance(self.momentum, (int, float)) and 0 <= self.momentum < 1):
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")

    def initial_latents(self, n_identities: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """z₀ of every restart and identity, (n_restarts, n_identities, latent_dim), from ``random_state``."""
        _positive_int("n_identities", n_identities)
        g = make_generator(seed_from(self.random_state))
        z = torch.randn(self.n_restarts, int(n_identities), int(self.prior.latent_dim), generator=g)
        return z.to(device)

    def fit(self, target) -> GMIAttack:
        """Bind the white-box ``target`` (a fitted toolkit estimator, an output-perturbed one, or
        ``as_target(module, classes)``); the attack runs on its device."""
        self._check_params()
        self.target_ = as_target(target)
        return self

    def invert(self, identities, *old, return_details: bool | None = None) -> GMIResult:
        """Reconstruct one image per entry of ``identities`` from the bound target.

        Parameters
        ----------
        identities : sequence of labels
            Classes of the target (its ``classes_``), repeats allowed.

        Returns
        -------
        GMIResult
            ``images`` (N, C, S, S) in [0, 1], the selected restart of each identity, with every restart's
            image, latent and target logit.
        """
        if old or return_details is not None:  # the old call shape invert(target, identities, return_details=)
            return self._old_invert(identities, *old, return_details=bool(return_details))
        self._check_params()
        self._check_fitted("target_")
        return self._invert(self.target_, identities)

    @deprecated_call("GMIAttack.invert(target, identities)", "GMIAttack(prior, ...).fit(target).invert(identities)")
    def _old_invert(self, target, identities, *, return_details: bool = False) -> np.ndarray | GMIResult:
        self._check_params()
        if isinstance(target, nn.Module):  # a plain module with class indices as labels
            with torch.no_grad(), _eval_mode(self.prior.generator_):
                z = torch.zeros(1, int(self.prior.latent_dim), device=self.prior.device_)
                n_out = target(self.prior.generator_(z).to(next(target.parameters()).device)).shape[1]
            target = as_target(target, n_out)
        result = self._invert(as_target(target), identities)
        return result if return_details else result.images

    def _invert(self, target, identities) -> GMIResult:
        labels = np.asarray(identities)
        if labels.ndim != 1 or len(labels) == 0:
            raise ValueError(f"identities must be a non-empty 1-d sequence of labels, got shape {labels.shape}")
        dev = target.device
        y = torch.from_numpy(target.class_index(labels)).to(dev)
        network = target.network()
        n, R = len(labels), int(self.n_restarts)
        n_b = self.identities_per_batch or len(np.unique(labels))
        G, D = self._prior_on(dev)
        gen = make_generator(seed_from(self.random_state) + 1, dev)  # target noise (VIB)
        z = self.initial_latents(n, dev).reshape(R * n, -1)
        v = torch.zeros_like(z)
        yy = y.repeat(R)
        lam, scale = float(self.lam), 1.0 / n_b
        disable = None if self.progress is None else not self.progress
        with _eval_mode(network), _frozen(G, D, network):
            for _ in Progress.iterate(range(self.iterations), desc="GMI", unit="iteration", disable=disable,
                                      leave=False):
                z.requires_grad_(True)
                x = G(z)
                loss = (lam * F.cross_entropy(target.logits(x, gen), yy, reduction="sum") - D(x).sum()) * scale
                (grad,) = torch.autograd.grad(loss, z)
                z, v = nesterov_step(z.detach(), v, grad, lr=self.lr, momentum=self.momentum, clip=self.clip)
            with torch.no_grad():
                x = G(z)
                score = target.logits(x, gen).gather(1, yy[:, None]).view(R, n)
        images = x.detach().cpu().numpy().reshape(R, n, *x.shape[1:])
        scores = score.cpu().numpy()
        sel = select_restarts(scores)
        return GMIResult(images=images[sel, np.arange(n)], restart_images=images, target_logit=scores,
                         selected=sel, latents=z.detach().cpu().numpy().reshape(R, n, -1), identities=labels)

    def _prior_on(self, dev: torch.device) -> tuple[nn.Module, nn.Module]:
        G, D = self.prior.generator_, self.prior.critic_
        if next(G.parameters()).device != dev:
            G, D = copy.deepcopy(G).to(dev), copy.deepcopy(D).to(dev)
        return G.eval(), D.eval()


def gan_only_baseline(prior: WGANGPPrior, identities, n_restarts: int = 5,
                      random_state: int | np.random.Generator | None = 0) -> GMIResult:
    """The attacker without the target: ``n_restarts`` random prior samples per identity, the first "selected".

    With no target there is nothing to select by; scoring the result with :class:`InversionEvaluation`
    shows what the prior alone gives (its top-1 attack accuracy is 1/n_classes in expectation over
    balanced identities — the informative parts are the distances and per-restart success).
    """
    check_is_fitted(prior, "generator_")
    _positive_int("n_restarts", n_restarts)
    labels = np.asarray(identities)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"identities must be a non-empty 1-d sequence of labels, got shape {labels.shape}")
    n = len(labels)
    imgs = prior.sample(n_restarts * n, random_state).reshape(n_restarts, n, *prior.image_shape_)
    return GMIResult(images=imgs[0], restart_images=imgs, target_logit=np.full((n_restarts, n), np.nan),
                     selected=np.zeros(n, dtype=np.int64), latents=np.zeros((n_restarts, n, 0), np.float32),
                     identities=labels)


# --------------------------------------------------------------------------------------------- evaluation


class InversionEvaluation:
    """Scores GMI reconstructions with an evaluation classifier (docs/attacks.md).

    Parameters
    ----------
    evaluator : fitted classifier with ``classes_``, ``predict_proba`` and ``features``
        The judge: of another architecture than the target; φ = its penultimate features (``features``).
        A fair judge knows more classes than the private identities (e.g. every digit, the public ones
        included), so that a reconstruction that looks like a public image is not credited to a private
        identity; its chance level is ``1 / len(classes_)`` (:attr:`chance_top1`).
    X_train, y_train : private training images and identities (the KNN reference and identity means).
    X_test, y_test : held-out private images and identities.
    top_k : int
        k of the top-k accuracy (5; with ≤ k identities top-k accuracy is 1 by construction).

    Metrics (:meth:`score`), each a mean over the attacked images x̂ of identities y:

    * ``attack_acc_top1`` — the evaluator's top-1 class is y; ``attack_acc_top5`` — y is among its top k;
    * ``confidence_true`` — the evaluator's probability of y (a continuous companion of top-1);
    * ``success_any_of_<R>_restarts`` — the evaluator's top-1 is y for at least one of the R restarts
      (the official GMI "Acc5");
    * ``knn_dist_train`` / ``knn_dist_test`` — min over the identity's private training / held-out images x
      of ‖φ(x̂) − φ(x)‖₂ (GMI's KNN Dist, computed against each set as the MID paper compares them);
    * ``feat_dist_train`` / ``feat_dist_test`` — ‖φ(x̂) − mean φ(x)‖₂ over the same sets (GMI's Feat Dist);
    * ``pixel_mse_identity_mean`` — mean over pixels of (x̂ − m_y)², m_y the identity's mean private
      training image (the official MID code's metric), pixels in [0, 1].
    """

    def __init__(self, evaluator, X_train, y_train, X_test, y_test, top_k: int = 5):
        _positive_int("top_k", top_k)
        self.evaluator = evaluator
        self.top_k = top_k
        self.classes_ = np.asarray(evaluator.classes_)
        #: Top-1 accuracy of a judge that answers uniformly at random among its classes.
        self.chance_top1 = 1.0 / len(self.classes_)
        X_train, X_test = as_images(X_train, "X_train"), as_images(X_test, "X_test")
        y_train, y_test = np.asarray(y_train), np.asarray(y_test)
        self._ref: dict[str, dict[Any, np.ndarray]] = {}
        for part, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
            if len(X) != len(y):
                raise ValueError(f"X_{part} has {len(X)} images but y_{part} has {len(y)} labels")
            phi = np.asarray(evaluator.features(X), dtype=np.float64)
            self._ref[part] = {c: phi[y == c] for c in np.unique(y)}
        self._means = {c: X_train[y_train == c].mean(axis=0) for c in np.unique(y_train)}

    def score(self, result: GMIResult) -> dict[str, float]:
        """The metrics of one attack result (see the class docstring)."""
        labels = np.asarray(result.identities)
        missing = [c for c in np.unique(labels) if c not in self._means or c not in self._ref["test"]]
        if missing:
            raise ValueError(f"identity {missing[0]!r} has no private training or held-out images to compare with")
        unknown = [c for c in np.unique(labels) if c not in set(self.classes_.tolist())]
        if unknown:
            raise ValueError(f"identity {unknown[0]!r} is not a class of the evaluation classifier")
        R, n = result.restart_images.shape[:2]
        col = np.searchsorted(self.classes_, labels)
        proba = np.asarray(self.evaluator.predict_proba(result.images))
        k = min(self.top_k, proba.shape[1])
        topk = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        proba_all = self.evaluator.predict_proba(result.restart_images.reshape(R * n, *result.images.shape[1:]))
        hit_all = np.asarray(proba_all).argmax(1).reshape(R, n) == col[None, :]
        phi = np.asarray(self.evaluator.features(result.images), dtype=np.float64)
        out = {
            "attack_acc_top1": float(np.mean(proba.argmax(1) == col)),
            "confidence_true": float(np.mean(proba[np.arange(n), col])),
            f"attack_acc_top{self.top_k}": float(np.mean((topk == col[:, None]).any(1))),
            f"success_any_of_{R}_restarts": float(np.mean(hit_all.any(0))),
        }
        for part in ("train", "test"):
            knn, cen = np.empty(n), np.empty(n)
            for i, c in enumerate(labels):
                ref = self._ref[part][c]
                d = np.linalg.norm(ref - phi[i], axis=1)
                knn[i] = d.min()
                cen[i] = np.linalg.norm(ref.mean(axis=0) - phi[i])
            out[f"knn_dist_{part}"] = float(knn.mean())
            out[f"feat_dist_{part}"] = float(cen.mean())
        means = np.stack([self._means[c] for c in labels])
        out["pixel_mse_identity_mean"] = float(np.mean((result.images - means) ** 2))
        return out
