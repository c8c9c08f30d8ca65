"""A single-record update made (ε, δ)-differentially private for that record (docs/defenses.md).

Update-Leaks (:mod:`defenses.neural.update_leaks`) attacks the one record a deployed model is fine-tuned on;
DP-SGD on the initial training protects the training records, not that one. :class:`PrivateUpdate` is the
update step that does: the record's gradient clipped and noised, so the updated parameters are a Gaussian
mechanism of the record, accounted with the mechanism's exact privacy profile (:func:`gaussian_epsilon`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._torch import make_generator

__all__ = ["PrivateUpdate", "gaussian_epsilon", "sub_seed"]


def sub_seed(*entropy: int) -> int:
    """A 63-bit seed from integers (a stream of its own for every distinct tuple)."""
    return int(np.random.SeedSequence(list(entropy)).generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


def gaussian_epsilon(mu: float, delta: float) -> float:
    """The ε at ``delta`` of the Gaussian mechanism whose sensitivity is ``mu`` noise standard deviations.

    The exact privacy profile of one Gaussian release (Balle & Wang 2018, Thm 8; μ-GDP, Dong, Roth & Su
    2022), :func:`defenses.linear.adassp.gaussian_delta` — δ(ε) = Φ(μ/2 − ε/μ) − e^ε Φ(−μ/2 − ε/μ) —
    solved for ε (0 when δ(0) ≤ ``delta``).
    """
    from scipy.optimize import brentq

    from defenses.linear.adassp import gaussian_delta

    if not (np.isfinite(mu) and mu >= 0):
        raise ValueError(f"mu must be a finite number >= 0, got {mu!r}")
    if not (0 < delta < 1):
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    if mu == 0 or gaussian_delta(0.0, mu) <= delta:
        return 0.0
    hi = 1.0
    while gaussian_delta(hi, mu) > delta:
        hi *= 2.0
    return float(brentq(lambda e: gaussian_delta(e, mu) - delta, 0.0, hi, xtol=1e-12, rtol=1e-12))


class PrivateUpdate:
    """The service's single-record update made (ε, δ)-differentially private for that record.

    Instead of the official plain step θ' = θ − lr·∇ℓ(x, y), the service clips the record's gradient to
    norm ``max_grad_norm`` C (over all parameters jointly, Opacus' rule g·min(1, C/(‖g‖ + 1e-6))) and adds
    Gaussian noise N(0, (σC)² I), σ = ``noise_multiplier``:

        θ' = θ − lr · (clip_C(∇ℓ(x, y)) + σC·ξ),   ξ ~ N(0, I).

    θ' is the Gaussian mechanism applied to the clipped gradient, so θ' — and everything computed from it,
    the attacker's Δ included — is (ε, δ)-DP for the update record, with ε from the mechanism's exact
    privacy profile (:func:`gaussian_epsilon`): sensitivity C when the record is added or removed, 2C when
    it is replaced by another (its label changed — the relation that bounds label inference). DP-SGD on
    the initial training protects the *training* records; this protects the *update* record.

    Parameters
    ----------
    noise_multiplier : float
        σ ≥ 0 (σ = 0: clipping only, ε = ∞).
    max_grad_norm : float
        C > 0.
    delta : float
        δ of the reported ε.
    """

    def __init__(self, noise_multiplier: float, *, max_grad_norm: float = 1.0, delta: float = 1e-5):
        for name, v, low in (("noise_multiplier", noise_multiplier, 0.0), ("max_grad_norm", max_grad_norm, None)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or \
                    (v < 0 if low is not None else v <= 0):
                raise ValueError(f"{name} must be a finite number {'>= 0' if low is not None else '> 0'}, got {v!r}")
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0 < delta < 1:
            raise ValueError(f"delta must be in (0, 1), got {delta!r}")
        self.noise_multiplier = float(noise_multiplier)
        self.max_grad_norm = float(max_grad_norm)
        self.delta = float(delta)

    @classmethod
    def for_epsilon(cls, epsilon: float, *, max_grad_norm: float = 1.0, delta: float = 1e-5,
                    adjacency: str = "replace") -> PrivateUpdate:
        """The update whose σ gives ``epsilon`` at ``delta`` under ``adjacency``: the analytic Gaussian
        mechanism's noise (:func:`defenses.linear.adassp.analytic_gaussian_multiplier`, the smallest σ
        that meets the budget)."""
        from defenses.linear.adassp import analytic_gaussian_multiplier

        probe = cls(1.0, max_grad_norm=max_grad_norm, delta=delta)
        return cls(probe._sensitivity(adjacency) * analytic_gaussian_multiplier(epsilon, delta),
                   max_grad_norm=max_grad_norm, delta=delta)

    @staticmethod
    def _sensitivity(adjacency: str) -> float:
        if adjacency not in ("replace", "add_remove"):
            raise ValueError(f"adjacency must be 'replace' or 'add_remove', got {adjacency!r}")
        return 2.0 if adjacency == "replace" else 1.0

    def epsilon(self, adjacency: str = "replace") -> float:
        """ε at :attr:`delta` for the update record (``"replace"``: sensitivity 2C, ``"add_remove"``: C)."""
        sens = self._sensitivity(adjacency)
        return float("inf") if self.noise_multiplier == 0 else gaussian_epsilon(sens / self.noise_multiplier, self.delta)

    def describe(self) -> dict[str, Any]:
        return {"noise_multiplier": self.noise_multiplier, "max_grad_norm": self.max_grad_norm, "delta": self.delta,
                "epsilon_replace": self.epsilon("replace"), "epsilon_add_remove": self.epsilon("add_remove"),
                "accountant": "exact Gaussian-mechanism profile (Balle & Wang 2018), one release"}

    def __repr__(self) -> str:
        return (f"PrivateUpdate(noise_multiplier={self.noise_multiplier!r}, max_grad_norm={self.max_grad_norm!r}, "
                f"delta={self.delta!r})")

    def noise(self, params: dict[str, torch.Tensor], seed: int, index: int) -> dict[str, torch.Tensor]:
        """The standard normals ξ of update ``index``, one tensor per parameter (in the order of ``params``),
        from a generator seeded by (``seed``, ``index``, 2)."""
        g = make_generator(sub_seed(seed, index, 2))
        return {name: torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device) for name, p in params.items()}

    def privatize(self, grads: dict[str, torch.Tensor], noise: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """clip_C(g) + σC·ξ for a block of per-record gradients of shape ``(B, *shape)`` and their noise (the
        same shape)."""
        first = next(iter(grads.values()))
        norms = torch.sqrt(sum(g.reshape(len(g), -1).pow(2).sum(1) for g in grads.values()))
        factor = torch.clamp(self.max_grad_norm / (norms + 1e-6), max=1.0)
        scale = self.noise_multiplier * self.max_grad_norm
        shape = (len(first),)
        return {name: g * factor.view(*shape, *([1] * (g.dim() - 1))) + scale * noise[name]
                for name, g in grads.items()}
