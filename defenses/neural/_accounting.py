"""DP-SGD privacy accounting as pure, memoised functions of the mechanism's parameters.

The privacy spent by DP-SGD with Poisson sampling depends only on the history of (noise multiplier σ,
sample rate q, steps) and on δ; the σ that reaches a target ε depends only on (ε, δ, q, epochs). Both
are deterministic numerical computations with Opacus' accountants (RDP: Mironov, Talwar, Zhang 2019 with
Balle et al. 2020's conversion; PRV: Gopi, Lee, Wutschitz 2021) costing about a second each, and a
sweep repeats them for every split of identical settings. They are computed once per process and
argument tuple here; the values are exactly those of a fresh accountant (``tests/defenses/
test_accounting.py``).

Arguments are plain hashable numbers (floats, ints, strings and tuples of them), so that equal settings
hit the cache whatever object carried them.
"""

from __future__ import annotations

import contextlib
import functools
import warnings

import numpy as np

__all__ = ["epsilon", "noise_multiplier"]

History = tuple[tuple[float, float, int], ...]


@contextlib.contextmanager
def _quiet():
    """Opacus' RDP conversion warns when the optimal order is at the edge of its grid, and the accountants
    overflow harmlessly for tiny σ; neither changes the value returned."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        warnings.filterwarnings("ignore", message=".*Optimal order is the.*")
        yield


@functools.lru_cache(maxsize=1024)
def epsilon(history: History, delta: float, accountant: str, eps_error: float | None = None) -> float:
    """ε at ``delta`` of the DP-SGD steps ``history`` (entries ``(σ, q, steps)``), by ``accountant``.

    Parameters
    ----------
    history : tuple of (float, float, int)
        Opacus' accountant history: runs of ``steps`` steps with noise multiplier σ and sample rate q.
    delta : float
    accountant : {"rdp", "prv"}
    eps_error : float, optional
        The PRV accountant's discretisation error (its default, 0.01, when None); unused for RDP.

    Returns
    -------
    float
        What ``RDPAccountant`` / ``PRVAccountant`` with this history return from ``get_epsilon``.
    """
    from opacus.accountants import PRVAccountant, RDPAccountant

    if accountant not in ("rdp", "prv"):
        raise ValueError(f"accountant must be 'rdp' or 'prv', got {accountant!r}")
    acc = RDPAccountant() if accountant == "rdp" else PRVAccountant()
    acc.history = [tuple(h) for h in history]
    kwargs = {} if accountant == "rdp" or eps_error is None else {"eps_error": eps_error}
    with _quiet():
        return float(acc.get_epsilon(delta, **kwargs))


@functools.lru_cache(maxsize=1024)
def noise_multiplier(target_epsilon: float, delta: float, sample_rate: float, epochs: int, accountant: str) -> float:
    """The σ with which ``epochs`` epochs of DP-SGD at sample rate ``sample_rate`` spend ``target_epsilon``
    at ``delta`` under ``accountant`` — Opacus' ``get_noise_multiplier`` (a bisection to ε within 0.01),
    as ``PrivacyEngine.make_private_with_epsilon`` computes it."""
    from opacus.accountants.utils import get_noise_multiplier

    with _quiet():
        return float(get_noise_multiplier(target_epsilon=target_epsilon, target_delta=delta,
                                          sample_rate=sample_rate, epochs=epochs, accountant=accountant))
