"""Network modules: a small CNN family for face images, the VIB head, and the inversion network.

No BatchNorm anywhere in the classifiers: BatchNorm mixes the examples of a batch, which per-sample
gradient clipping (DP-SGD, docs/defenses.md) forbids, so every defense shares one architecture with
GroupNorm instead. The inversion network (attacker side, never trained privately) keeps BatchNorm as in
the official Knowledge-Alignment code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: Named members of the CNN family (keyword arguments of :class:`ConvNet`).
ARCHITECTURES: dict[str, dict] = {
    # the default target (undefended, VIB, DP-SGD): 3 conv blocks, 3×3, max-pool, F = 128 (CPU-sized)
    "cnn-s": {"channels": (8, 16, 32), "kernel_size": 3, "pool": "max", "feature_dim": 128},
    # a wider target
    "cnn-m": {"channels": (16, 32, 64), "kernel_size": 3, "pool": "max", "feature_dim": 256},
    # the evaluation classifier: a different architecture (4 blocks, average pooling, wider features)
    "eval": {"channels": (8, 16, 32, 64), "kernel_size": 3, "pool": "avg", "feature_dim": 128},
    # the Update-Leaks target (MNIST, 8x8 digits): 2 stride-2 conv blocks, the layout of the official
    # Update-Leaks SimpleCNN (strided convs, no pooling), CPU-sized (official channels 64, 128)
    "cnn-strided": {"channels": (8, 16), "kernel_size": 3, "pool": "stride", "feature_dim": 64},
}


class ConvNet(nn.Module):
    """Feature extractor: ``len(channels)`` blocks of Conv(k×k, same) → GroupNorm → ReLU → 2×2 pool,
    then flatten → Linear → ReLU to ``feature_dim`` features. With ``pool="stride"`` a block is a
    stride-2 Conv(k×k) → GroupNorm → ReLU instead (same output size, no pooling layer).

    Parameters
    ----------
    in_channels : int
        Image channels (1 for grey-scale faces).
    image_shape : (int, int)
        Input height and width; each must be divisible by ``2 ** len(channels)``.
    channels : sequence of int
        Output channels of each conv block.
    kernel_size : int
        Odd convolution kernel size.
    pool : {"max", "avg", "stride"}
        Pooling after every block, or ``"stride"``: downsample by the convolution's stride instead.
    feature_dim : int
        Size F of the output features (the VIB latent has k = F // 2 dimensions).
    groups : int
        GroupNorm groups (``gcd(groups, C)`` is used for a block of C channels).
    """

    def __init__(self, in_channels: int = 1, image_shape: tuple[int, int] = (64, 64),
                 channels: Sequence[int] = (16, 32, 64), kernel_size: int = 3, pool: str = "max",
                 feature_dim: int = 128, groups: int = 8):
        super().__init__()
        h, w = image_shape
        div = 2 ** len(channels)
        if h % div or w % div:
            raise ValueError(f"image_shape {image_shape} must be divisible by {div} for {len(channels)} blocks")
        if pool not in ("max", "avg", "stride"):
            raise ValueError(f"pool must be 'max', 'avg' or 'stride', got {pool!r}")
        layers: list[nn.Module] = []
        c_in = in_channels
        for c in channels:
            stride = 2 if pool == "stride" else 1
            layers += [nn.Conv2d(c_in, c, kernel_size, stride=stride, padding=kernel_size // 2),
                       nn.GroupNorm(_gcd(groups, c), c), nn.ReLU()]
            if pool != "stride":
                layers.append(nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2))
            c_in = c
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in * (h // div) * (w // div), feature_dim)
        self.feature_dim = feature_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc(self.conv(x).flatten(1)))


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def make_backbone(architecture: str | dict, in_channels: int, image_shape: tuple[int, int]) -> ConvNet:
    """A :class:`ConvNet` from a name in :data:`ARCHITECTURES` or a dict of its keyword arguments."""
    if isinstance(architecture, str):
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)} or a dict, got {architecture!r}")
        kwargs = ARCHITECTURES[architecture]
    elif isinstance(architecture, dict):
        kwargs = architecture
    else:
        raise ValueError(f"architecture must be a name or a dict of ConvNet arguments, got {architecture!r}")  # noqa: TRY004 (project rule: ValueError naming the parameter)
    return ConvNet(in_channels=in_channels, image_shape=image_shape, **kwargs)


class Classifier(nn.Module):
    """Backbone → ``Linear(F, n_classes)`` logits (the undefended and DP-SGD models).

    ``backbone`` is any module mapping inputs to features ``(B, F)``; F is ``feature_dim`` or, when that is
    None, the backbone's ``feature_dim`` attribute (:class:`ConvNet` has one).
    """

    def __init__(self, backbone: nn.Module, n_classes: int, feature_dim: int | None = None):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(_width(backbone, feature_dim), n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class VIBNet(nn.Module):
    """Variational information bottleneck classifier (Alemi et al. 2016; MID paper Eq. 5).

    Backbone (any encoder, see :class:`Classifier`) features h (size F) → ``Linear(F, 2k)``, k = F // 2; μ = first k outputs,
    σ = softplus(raw − 5) from the last k (official MID code); z = μ + σ ⊙ ε, ε ~ N(0, I);
    logits = ``Linear(k, n_classes)(z)``. ``encoder`` holds the backbone and the stat layer, so
    ``mean_network``/``variance_network`` (μ(x), σ(x)) are directly usable (Fig. 1).
    """

    def __init__(self, backbone: nn.Module, n_classes: int, feature_dim: int | None = None):
        super().__init__()
        width = _width(backbone, feature_dim)
        self.k = width // 2
        if self.k < 1:
            raise ValueError(f"the encoder's feature width must be >= 2 for a VIB latent of size F // 2, got {width}")
        self.backbone = backbone
        self.stats = nn.Linear(width, 2 * self.k)
        self.decoder = nn.Linear(self.k, n_classes)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (μ(x), σ(x)), each ``(B, k)``, with σ = softplus(raw − 5)."""
        s = self.stats(self.backbone(x))
        return s[:, :self.k], F.softplus(s[:, self.k:] - 5.0)

    def mean_network(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)[0]

    def variance_network(self, x: torch.Tensor) -> torch.Tensor:
        """σ²(x), the diagonal variance of p(z | x)."""
        return self.encode(x)[1] ** 2

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor, n_samples: int = 1, generator: torch.Generator | None = None):
        """Return ``(logits, mu, sigma)``; logits ``(n_samples, B, n_classes)`` from independent z samples."""
        mu, sigma = self.encode(x)
        eps = torch.randn((n_samples, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu.unsqueeze(0) + sigma.unsqueeze(0) * eps
        return self.decoder(z), mu, sigma


def _width(backbone: nn.Module, feature_dim: int | None) -> int:
    width = getattr(backbone, "feature_dim", None) if feature_dim is None else feature_dim
    if width is None:
        raise ValueError("feature_dim is needed for a backbone without a feature_dim attribute")
    return int(width)


def gaussian_kl(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per row = −½ Σ_k (1 + 2 log σ_k − μ_k² − σ_k²) (docs/defenses.md).

    ``log σ`` is taken as ``log(σ + 1e-7)``, as the official FaceScrub code does, so a float32 softplus
    that underflows to 0 gives a large finite KL instead of ∞.
    """
    return -0.5 * torch.sum(1.0 + 2.0 * torch.log(sigma + 1e-7) - mu.pow(2) - sigma.pow(2), dim=-1)


class InversionNet(nn.Module):
    """Knowledge-Alignment inversion network G: R^K → [0, 1]^{C×S×S} (official MID structure for S = 64).

    Input vector as a K×1×1 map → ConvT(K → 2^(L−1)·ngf, 4, 1, 0) → 4×4, then L − 1 ConvT(4, 2, 1) stages
    halving the channels down to ngf, each BatchNorm + Tanh, then ConvT(ngf → C, 4, 2, 1) + Sigmoid,
    with L = log2(S / 4) (S = 64: channels 8·ngf, 4·ngf, 2·ngf, ngf — the official layout). The official
    code uses ngf = 128; ``ngf`` is a parameter so CPU runs can use a narrower network.
    """

    def __init__(self, n_inputs: int, out_channels: int = 1, ngf: int = 32, image_size: int = 64):
        super().__init__()
        n_up = round(np.log2(image_size / 4)) if image_size >= 8 else 0
        if n_up < 1 or 4 * 2 ** n_up != image_size:
            raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
        layers: list[nn.Module] = []
        c_in, c = n_inputs, ngf * 2 ** (n_up - 1)
        for i in range(n_up):
            layers += [nn.ConvTranspose2d(c_in, c, 4, 1 if i == 0 else 2, 0 if i == 0 else 1),
                       nn.BatchNorm2d(c), nn.Tanh()]
            c_in, c = c, c // 2
        layers += [nn.ConvTranspose2d(c_in, out_channels, 4, 2, 1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.net(v[:, :, None, None])
