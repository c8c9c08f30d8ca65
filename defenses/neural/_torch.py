"""Torch plumbing shared by the neural estimators: device choice, seeded initialisation, image tensors."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from mitheory.rng import integer_seed as seed_from  # the toolkit's one random-state helper


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; any other value is passed to :class:`torch.device`.

    The device is checked by use: a small tensor is made there and copied back to the CPU, so a device
    that exists in name only (``"meta"``, a CUDA device on a machine without CUDA, ``"mps"`` elsewhere) is
    refused here rather than in the middle of training. Raises ``ValueError`` naming the device.
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
    try:
        torch.ones(1, device=dev).add(1).cpu()
    except (RuntimeError, NotImplementedError, AssertionError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"device={str(device)!r} cannot hold and return a tensor here ({first}); "
                         "use 'auto', 'cpu' or an available 'cuda:N'") from None
    return dev


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded with ``seed`` (the only way the toolkit draws torch randomness)."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


@contextmanager
def seeded_global_rng(seed: int):
    """Run a block with torch's global CPU generator seeded by ``seed``; its previous state comes back after.

    Layer constructors and ``reset_parameters`` draw from the global generator; building a module inside
    this block makes its initialisation a function of ``seed`` alone and leaves the caller's global state
    as it was. Only the CPU generator is touched (CUDA generators are neither seeded nor consumed).
    """
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(int(seed))
        yield


def build_module(factory, generator: torch.Generator, device: torch.device) -> nn.Module:
    """``factory()`` initialised from ``generator``'s seed by PyTorch's own initialisers, on ``device``.

    The module is constructed — so every layer runs its own ``reset_parameters`` (and any initialisation
    its ``__init__`` does) — inside :func:`seeded_global_rng` with the seed ``generator`` was created
    with: same seed, same module, and the global generator is left as it was.
    """
    with seeded_global_rng(generator.initial_seed()):
        module = factory()
    return module.to(device)


def reinitialise(module: nn.Module, seed: int) -> list[str]:
    """Re-draw the parameters of an existing ``module`` by calling every submodule's ``reset_parameters``
    (seeded, in :meth:`~torch.nn.Module.modules` order); return the names of the parameters that no
    ``reset_parameters`` covers (those keep their values)."""
    covered: set[int] = set()
    with seeded_global_rng(seed), torch.no_grad():
        for m in module.modules():
            reset = getattr(m, "reset_parameters", None)
            if callable(reset):
                reset()
                covered.update(id(p) for p in m.parameters())
    return [name for name, p in module.named_parameters() if id(p) not in covered]


@contextmanager
def torch_threads(n_threads: int | None, device: torch.device):
    """Run a block with torch's intra-op thread count set to ``n_threads``, restored afterwards.

    ``None`` means 1 on the CPU (the small networks here run fastest on one thread when cores are
    shared, and a user's own setting is never changed behind their back) and no change on an
    accelerator, where the host threads only feed the device.
    """
    n = (1 if device.type == "cpu" else None) if n_threads is None else int(n_threads)
    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def as_images(X, name: str = "X") -> np.ndarray:
    """Validate images and return float32 ``(N, C, H, W)``; accepts ``(N, H, W)`` or ``(N, C, H, W)``."""
    X = _float32(X, name)
    if X.ndim == 3:
        X = X[:, None]
    if X.ndim != 4 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty array of images (N, H, W) or (N, C, H, W), got shape {X.shape}")
    return X


def as_arrays(X, name: str = "X") -> np.ndarray:
    """Validate the input of a user's own module: a non-empty array ``(N, ...)`` with at least two
    dimensions; integers become int64 (token ids for an ``Embedding``), everything else float32."""
    arr = np.asarray(X)
    if arr.dtype.kind in "iu":
        out = arr.astype(np.int64)
    else:
        out = _float32(arr, name)
    if out.ndim < 2 or out.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty array (N, ...) with one row per example, got shape {out.shape}")
    return out


def _float32(X, name: str) -> np.ndarray:
    try:
        arr = np.asarray(X)
        with np.errstate(over="ignore"):
            out = arr.astype(np.float32, copy=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if not np.isfinite(out).all():
        wide = np.asarray(arr, dtype=np.float64)
        if np.isfinite(wide).all():
            raise ValueError(f"{name} holds values beyond float32's range (largest |value| {np.abs(wide).max():.3g}); "
                             "scale the inputs")
        raise ValueError(f"{name} contains NaN or infinite values")
    return out


def batched(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))
