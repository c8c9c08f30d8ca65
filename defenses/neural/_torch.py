"""Torch plumbing shared by the neural estimators: device choice, seeded initialisation, image tensors."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; any other value is passed to :class:`torch.device`.

    Raises ``ValueError`` for an unknown device string or a CUDA device on a machine without CUDA.
    """
    if isinstance(device, torch.device):
        dev = device
    elif device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} requested but CUDA is not available")
    return dev


def seed_from(random_state: int | np.random.Generator | None) -> int:
    """A 63-bit integer seed derived from ``random_state`` (None → fresh OS entropy)."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}")
        return int(random_state)
    if random_state is None or isinstance(random_state, np.random.Generator):
        rng = np.random.default_rng(random_state)
        return int(rng.integers(0, 2**63 - 1))
    raise ValueError(f"random_state must be an int, a numpy Generator or None, got {random_state!r}")


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


@torch.no_grad()
def init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise every conv / linear / norm layer like PyTorch's defaults, drawing from ``generator``.

    PyTorch's default ``reset_parameters`` uses the global RNG; this reproduces it (Kaiming-uniform with
    a = √5 for weights, U(±1/√fan_in) for biases; group, batch and instance norms to weight 1, bias 0 and
    fresh running statistics) without touching global state.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
                bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif isinstance(m, (nn.GroupNorm, nn.modules.batchnorm._NormBase)) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.modules.batchnorm._NormBase):  # batch and instance norms of any dimension
            m.reset_running_stats()


def build_module(factory, generator: torch.Generator, device: torch.device) -> nn.Module:
    """Construct ``factory()`` without drawing from the global RNG, then initialise it from ``generator``.

    Layers are created on the ``meta`` device (PyTorch's own initialisation would consume the global
    RNG), materialised on CPU, initialised by :func:`init_parameters`, and moved to ``device``.
    """
    with torch.device("meta"):
        module = factory()
    module = module.to_empty(device="cpu")
    init_parameters(module, generator)
    return module.to(device)


def as_images(X, name: str = "X") -> np.ndarray:
    """Validate images and return float32 ``(N, C, H, W)``; accepts ``(N, H, W)`` or ``(N, C, H, W)``."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 3:
        X = X[:, None]
    if X.ndim != 4 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty array of images (N, H, W) or (N, C, H, W), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return X


def batched(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))
