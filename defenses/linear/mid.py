"""MID for linear regression: squared loss plus λ times the Gaussian-mixture entropy of the predictions.

The MID paper (Wang, Zhang, Jia, AAAI 2021) regularizes I(X; Ŷ); for a deterministic linear model this
is H(Ŷ), whose density is modelled as the equal-weight Gaussian mixture of Eq. 3 centred at the training
predictions, and whose entropy is replaced by Huber et al.'s (2008) zeroth-order Taylor approximation
(Eq. 4). See docs/defenses.md.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data


#: The Chebyshev path's error budget: η ≤ 2⁻⁶⁴/N (see :func:`chebyshev_error_bound`).
_ETA_TARGET = 2.0**-64
#: Below this many predictions ``method="auto"`` takes the exact pairwise sum (it is then about as fast).
_AUTO_MIN_N = 400
#: The Chebyshev path indexes panels exactly while every |ŷ| is below this many panel widths.
_MAX_PANELS = 2.0**52
_PANEL_CHUNK = 2048  # occupied panels per block product
_CRAMER = 1.086435  # |He_n(u)|·exp(−u²/4) ≤ κ·√(n!)  (Cramér's inequality)
_METHODS = ("auto", "exact", "chebyshev")
#: Largest λ accepted: L-BFGS squares the λ-scaled gradient, which overflows a double from about λ = 1e154
#: (checked on IWPC: finite predictions up to 1e150, none at 1e160). Every λ above about 1e10 already fits
#: the constant predictor.
MAX_LAMBDA = 1e150


def chebyshev_error_bound(n: int, degree: int, reach: int, width: float = 1.0) -> float:
    """The bound η of :func:`gaussian_mixture_entropy`'s Chebyshev path.

    ``η = N·[(1 + Λ_p)·2κ·√(p+1)·(h/4σ)^p / √(p!) + R·exp(−R²/2)]`` for N = ``n`` predictions, p =
    ``degree`` Chebyshev nodes per panel, panels of width h = ``width``·σ, truncation radius
    R = ``reach``·h/σ, Λ_p ≤ (2/π)·log(p+1) + 1 the Lebesgue constant of p Chebyshev nodes and
    κ = 1.086435 Cramér's constant. See :func:`gaussian_mixture_entropy` for what it bounds.
    """
    return n * (_interpolation_term(degree, width) + _truncation_term(reach * width))


def _interpolation_term(degree: int, width: float) -> float:
    """(1 + Λ_p)·2κ·√(p+1)·(h/4σ)^p/√(p!): one pair's interpolation error of K, and of G/σ."""
    p = degree
    lebesgue = 2.0 / math.pi * math.log(p + 1.0) + 1.0
    return math.exp(math.log(2.0 * _CRAMER * (1.0 + lebesgue)) + 0.5 * math.log(p + 1.0)
                    + p * math.log(width / 4.0) - 0.5 * math.lgamma(p + 1.0))


def _truncation_term(radius: float) -> float:
    """R·exp(−R²/2) (R ≥ 1): one dropped pair's value of K, and of G/σ."""
    return radius * math.exp(-0.5 * radius**2)


@functools.lru_cache(maxsize=64)
def chebyshev_parameters(n: int, width: float = 1.0) -> tuple[int, int]:
    """Fewest nodes p per panel and smallest reach w (in panels of ``width``·σ, ``width`` ≤ 1) with
    :func:`chebyshev_error_bound` ≤ 2⁻⁶⁴/N, each of its two terms taking half of the budget."""
    half = 0.5 * _ETA_TARGET / n**2
    degree = next(p for p in itertools.count(2) if _interpolation_term(p, width) <= half)
    reach = next(w for w in itertools.count(math.ceil(1.0 / width)) if _truncation_term(w * width) <= half)
    return degree, reach


@functools.lru_cache(maxsize=64)
def _chebyshev_blocks(degree: int, reach: int, width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Panel-to-panel interaction blocks in the Chebyshev basis, one per panel offset δ = −w..w.

    For a target panel and the source panel δ panels away, ``C[δ] = D·K(x_k, t_l)·Dᵀ`` with K at the
    two panels' Chebyshev nodes and ``D[m, k] = c_m T_m(s_k)`` the map from values at the nodes to
    Chebyshev coefficients, so that ``K(x, t) ≈ T(s_x)ᵀ C[δ] T(s_t)`` (s: the position in its panel,
    in [−1, 1]). Returns the offsets and the blocks of K and of G/σ = ((x − t)/σ)·K.
    """
    nodes = np.cos(np.pi * (np.arange(degree) + 0.5) / degree)
    to_coef = _chebyshev_basis(nodes, degree) * (2.0 / degree)
    to_coef[0] *= 0.5
    offsets = np.arange(-reach, reach + 1)
    gap = width * (-offsets[:, None, None] + 0.5 * (nodes[:, None] - nodes[None, :]))  # (x_k − t_l)/σ
    kernel = np.exp(-0.5 * gap**2)
    return offsets, to_coef @ kernel @ to_coef.T, to_coef @ (gap * kernel) @ to_coef.T


def _chebyshev_basis(s: np.ndarray, degree: int) -> np.ndarray:
    """``T_m(s_j)`` for m < ``degree`` as a (degree, len(s)) array (three-term recurrence)."""
    t = np.empty((degree, len(s)))
    t[0] = 1.0
    if degree > 1:
        t[1] = s
    for m in range(2, degree):
        np.multiply(2.0 * s, t[m - 1], out=t[m])
        t[m] -= t[m - 2]
    return t


def _panel_width(sigma: float) -> float:
    """The panel width h: the power of two in (σ/2, σ], so that panel edges are exact floats."""
    return math.ldexp(0.5, math.frexp(sigma)[1])


def _chebyshev_fits(y: np.ndarray, sigma: float) -> bool:
    return float(np.max(np.abs(y))) < _MAX_PANELS * _panel_width(sigma)


def _kernel_sums_chebyshev(y: np.ndarray, sigma: float, return_grad: bool, *, degree: int | None = None,
                           reach: int | None = None):
    """Row sums ``S = K1`` and, with ``return_grad``, the gradient of H₀, by panel Chebyshev
    interpolation with p = ``degree`` nodes and reach w (default: :func:`chebyshev_parameters`)."""
    n = y.size
    h = _panel_width(sigma)
    if degree is None or reach is None:
        degree, reach = chebyshev_parameters(n, h / sigma)
    offsets, blocks_k, blocks_g = _chebyshev_blocks(degree, reach, h / sigma)
    # Panels [lo + a·h, lo + (a+1)·h) with lo a multiple of h: every edge is an exact float, so the
    # offset of ŷ from its panel's edge is exact to eps·h whatever the size of ŷ.
    lo = math.floor(float(y.min()) / h) * h
    panel = np.floor((y - lo) / h)
    # Sorting by panel makes each panel's points contiguous (radix sort when the panels fit 16 bits).
    order = np.argsort(panel.astype(np.uint16) if panel.max() < 2**16 else panel, kind="stable")
    panel = panel[order]
    basis = _chebyshev_basis(2.0 * (y[order] - (lo + panel * h)) / h - 1.0, degree)
    starts = np.flatnonzero(np.r_[True, panel[1:] != panel[:-1]])
    counts = np.diff(np.r_[starts, n])
    occupied = panel[starts]  # distinct occupied panels, increasing
    # neighbour[a, δ]: index of occupied panel occupied[a] + offsets[δ], or len(occupied) (a zero column).
    wanted = occupied[:, None] + offsets[None, :]
    neighbour = np.minimum(np.searchsorted(occupied, wanted), len(occupied) - 1)
    neighbour[occupied[neighbour] != wanted] = len(occupied)

    def apply(weights: np.ndarray | None, blocks: np.ndarray) -> list[np.ndarray]:
        """``Σ_j k(ŷ_i, ŷ_j) v_j`` at every (sorted) prediction, for each kernel stacked in ``blocks``
        (``v = weights``, or 1 when None)."""
        moments = np.add.reduceat(basis if weights is None else basis * weights, starts, axis=1)
        moments = np.column_stack([moments, np.zeros(degree)])
        flat = blocks.transpose(1, 0, 2).reshape(blocks.shape[1], -1)  # [C_{−w} … C_w]
        far = np.empty((blocks.shape[1], len(occupied)))
        for a in range(0, len(occupied), _PANEL_CHUNK):  # bounded memory for widely spread ŷ
            near = moments[:, neighbour[a:a + _PANEL_CHUNK].T]  # (p, 2w+1, chunk)
            far[:, a:a + _PANEL_CHUNK] = flat @ near.transpose(1, 0, 2).reshape(flat.shape[1], -1)
        local = np.repeat(far, counts, axis=1)
        return [np.einsum("mi,mi->i", basis, local[k:k + degree]) for k in range(0, len(local), degree)]

    def unsort(v: np.ndarray) -> np.ndarray:
        out = np.empty(n)
        out[order] = v
        return out

    if not return_grad:
        return unsort(apply(None, blocks_k)[0]), None
    s, g1 = apply(None, np.concatenate([blocks_k, blocks_g], axis=1))
    r = 1.0 / s
    (gr,) = apply(r, blocks_g)
    return unsort(s), unsort((r * g1 + gr) / (n * sigma))  # G = σ·(G/σ): one σ of Nσ² cancels


def _kernel_sums_exact(y: np.ndarray, sigma: float, chunk_size: int, return_grad: bool):
    """Row sums ``S = K1`` and, with ``return_grad``, the gradient of H₀, summing all N² pairs."""
    n = y.size
    scale = -0.5 / sigma**2
    bounds = [(lo, min(lo + chunk_size, n)) for lo in range(0, n, chunk_size)]
    pairs = [(a, b) for k, a in enumerate(bounds) for b in bounds[k:]]

    def blocks():
        """Blocks (a, b) on or above the diagonal of ``K`` and of ``G``, each formed once and used twice
        (``K`` is symmetric, ``G`` antisymmetric)."""
        for a, b in pairs:
            diff = np.subtract.outer(y[a[0]:a[1]], y[b[0]:b[1]])
            k = np.exp(scale * diff * diff)
            yield slice(*a), slice(*b), a == b, k, (diff * k if return_grad else None)

    s, g1 = np.zeros(n), np.zeros(n)
    for a, b, diagonal, k, g in blocks():
        s[a] += k.sum(axis=1)
        if return_grad:
            g1[a] += g.sum(axis=1)
        if not diagonal:
            s[b] += k.sum(axis=0)
            if return_grad:
                g1[b] -= g.sum(axis=0)
    if not return_grad:
        return s, None
    r, gr = 1.0 / s, np.zeros(n)
    for a, b, diagonal, _, g in blocks():
        gr[a] += g @ r[b]
        if not diagonal:
            gr[b] -= r[a] @ g
    return s, (r * g1 + gr) / (n * sigma**2)


def gaussian_mixture_entropy(
    pred: np.ndarray,
    sigma: float,
    *,
    method: str = "auto",
    chunk_size: int = 256,
    return_grad: bool = False,
) -> float | tuple[float, np.ndarray]:
    """Zeroth-order Taylor entropy of the Gaussian mixture centred at ``pred`` (MID paper Eq. 4), in nats.

    .. math::

        H_0(\\hat y;\\sigma) = -\\frac1N \\sum_{i=1}^N \\log\\Big(\\frac1N \\sum_{j=1}^N
        \\mathcal N(\\hat y_i;\\, \\hat y_j, \\sigma^2)\\Big)

    (the printed Eq. 4 writes the inner index as ``i``; it must be ``j``). With the kernel
    ``K_ij = exp(−(ŷ_i − ŷ_j)²/(2σ²))`` and its row sums ``S_i = Σ_j K_ij`` (``1 ≤ S_i ≤ N``: the
    logsumexp of ``−(ŷ_i − ŷ_j)²/(2σ²)`` with its maximum 0 factored out), ``H₀ = −mean log S_i + log N
    + ½ log(2πσ²)``. Gradient, with ``r = 1/S`` and ``G_ij = (ŷ_i − ŷ_j) K_ij``:
    ``∂H₀/∂ŷ_k = (1/(Nσ²)) Σ_j (K_kj/S_k + K_jk/S_j)(ŷ_k − ŷ_j) = (r_k (G1)_k + (Gr)_k)/(Nσ²)``.
    Two methods compute the kernel sums:

    ``"exact"`` — all N² pairs in float64 over ``chunk_size``-square blocks (only blocks on or above
    the diagonal are formed; ``Gr`` needs a second pass, which forms them again). O(N²) time,
    O(N + chunk_size²) memory. The reference.

    ``"chebyshev"`` — the kernel is smooth, so it is low-rank between any two short intervals. The line
    is cut into panels of width h, the power of two in (σ/2, σ] (so that every panel edge is an exact
    float and each ŷ's offset from its panel edge is exact to eps·h, however large ŷ is). On each pair of
    panels K(x, t) and G(x, t) = (x − t)K(x, t) are replaced by their tensor Chebyshev interpolants at p
    first-kind nodes per panel, and pairs of panels more than w panels apart are dropped. Every kernel
    sum is then p Chebyshev moments per panel, a (2w+1)-banded product of p×p blocks between occupied
    panels, and a p-term Chebyshev series per prediction: O(N·p) time plus O(p²·w) per occupied panel.
    **Error bound** (exact arithmetic; the Chebyshev interpolation remainder with Cramér's bound
    ``|He_n(u)| e^{−u²/4} ≤ κ√(n!)`` on the derivatives of the Gaussian, the Lebesgue constant Λ_p of the
    nodes for the second variable, ``|u| e^{−u²/2} ≤ R e^{−R²/2}`` beyond the band, ``S_i ≥ 1`` and
    ``|G_ij| ≤ σ e^{−1/2}``): with η = :func:`chebyshev_error_bound` ``(N, p, w, h/σ)``, every ``S_i`` has
    a relative error ≤ η, H₀ an absolute error ≤ 2η and every entry of the gradient an absolute error
    ≤ 3η/σ. :func:`chebyshev_parameters` chooses the smallest p and w with η ≤ 2⁻⁶⁴/N (for N = 5,452 and
    h = σ: p = 26, w = 12), so the S_i are exact to 2⁻⁶⁴ ≈ 5·10⁻²⁰ relative and the gradient, whose
    entries are of order 1/(Nσ), to 3·2⁻⁶⁴/(Nσ): over a thousand times below float64 round-off. What
    remains is round-off, of the same order for both methods (they agree to ~10⁻¹⁵ relative).

    ``"auto"`` (default) — ``"chebyshev"`` from N = 400 predictions on, ``"exact"`` below.

    Parameters
    ----------
    pred : array of shape (N,)
        Predictions ŷ (any real values; the result is translation and permutation invariant).
    sigma : float
        Component standard deviation σ > 0.
    method : {"auto", "exact", "chebyshev"}
        How the kernel sums are computed (see above).
    chunk_size : int
        Side of the kernel blocks of the exact method.
    return_grad : bool
        Also return ∂H₀/∂ŷ.

    Returns
    -------
    H0 : float
        Lies in ``[½ log(2πσ²), ½ log(2πσ²) + log N]``.
    grad : ndarray of shape (N,)
        Only when ``return_grad``.

    References
    ----------
    Huber, Bailey, Durrant-Whyte, Hanebeck (2008), "On entropy approximation for Gaussian mixture
    random vectors", MFI. Wang, Zhang, Jia (2021), MID, AAAI, Eq. 3–4. Trefethen (2013), *Approximation
    Theory and Approximation Practice* (Chebyshev interpolation and its Lebesgue constant). Cramér's
    inequality for Hermite functions: Abramowitz & Stegun 22.14.17.
    """
    y = np.asarray(pred, dtype=np.float64).ravel()
    n = y.size
    if n == 0 or not np.all(np.isfinite(y)):
        raise ValueError("pred must be a non-empty array of finite values")
    if not (isinstance(sigma, numbers.Real) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0, got {sigma!r}")
    if not (isinstance(chunk_size, numbers.Integral) and chunk_size >= 1):
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    if method == "chebyshev" and not _chebyshev_fits(y, sigma):
        raise ValueError("method='chebyshev' needs every |pred| < 2**52·σ/2; use method='exact'")
    if method == "chebyshev" or (method == "auto" and n >= _AUTO_MIN_N and _chebyshev_fits(y, sigma)):
        s, grad = _kernel_sums_chebyshev(y, float(sigma), return_grad)
    else:
        s, grad = _kernel_sums_exact(y, float(sigma), chunk_size, return_grad)
    h0 = float(-(np.mean(np.log(s)) - math.log(n) - 0.5 * math.log(2 * math.pi * sigma**2)))
    return (h0, grad) if return_grad else h0


class MIDLinearRegression(RegressorMixin, BaseEstimator):
    """Linear regression with the MID mutual-information regularizer (MID paper Eq. 1, 3, 4).

    Minimizes over θ (the intercept b is profiled out, b = mean(y − Xθ), because H₀ is translation
    invariant)

    .. math::

        J(\\theta) = \\frac1N \\sum_i (y_i - \\theta^\\top x_i - b)^2 + \\lambda\\, H_0(X\\theta;\\sigma)

    with :func:`gaussian_mixture_entropy` as H₀ (nats). The MSE is a mean, so λ does not scale with N.
    Features are standardized internally (training mean/std; predictions, hence J, are unchanged) for
    conditioning; the optimizer is scipy's L-BFGS-B with the analytic gradient ``Xᵀ(−2r/N + λ ∂H₀/∂ŷ)``,
    started from the OLS solution, so the fit is deterministic. The problem is non-convex in θ for
    λ > 0: the result is the local minimum reached from OLS. λ = 0 returns the OLS solution itself.
    The estimator has no randomness and hence no ``random_state``.

    Parameters
    ----------
    mid_lambda : float, default=0.1
        Weight λ ≥ 0 of the regularizer. Large λ drives θ → 0 (the constant predictor), the privacy
        end of the trade-off.
    sigma : float or "auto", default="auto"
        Component standard deviation σ of the mixture (Eq. 3; the paper leaves it free). ``"auto"``
        [ours]: the training RMSE of the OLS fit, computed once before optimizing (the residual scale
        the Naive MAP attacker uses), or std(y) if OLS fits exactly, or 1 if y is constant.
    fit_intercept : bool, default=True
    max_iter : int, default=500
        L-BFGS iterations.
    tol : float, default=1e-5
        L-BFGS projected-gradient tolerance (``gtol``; the gradient is w.r.t. standardized θ).
    entropy_method : {"auto", "exact", "chebyshev"}, default="auto"
        How H₀ and its gradient are computed (:func:`gaussian_mixture_entropy`: the fast Chebyshev
        expansion, exact to far below float64 round-off, from N = 400 on; the exact O(N²) sum below).
    chunk_size : int, default=256
        Kernel block size of the exact O(N²) entropy computation.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    sigma_ : float
        σ actually used.
    entropy_ : float
        H₀ of the training predictions at the solution (nats).
    objective_ : float
        J at the solution.
    n_iter_ : int
        L-BFGS iterations (0 for λ = 0).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has string column names.

    References
    ----------
    Wang, Zhang, Jia (2021), "Improving robustness to model inversion attacks via mutual information
    regularization", AAAI. Huber et al. (2008), MFI.

    Examples
    --------
    >>> import numpy as np
    >>> from defenses.linear import MIDLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X @ [1.0, -2.0, 0.5] + rng.normal(size=200)
    >>> m = MIDLinearRegression(mid_lambda=0.5).fit(X, y)
    >>> bool(np.linalg.norm(m.coef_) < np.linalg.norm([1.0, -2.0, 0.5]))
    True
    """

    def __init__(self, mid_lambda: float = 0.1, sigma: float | str = "auto", fit_intercept: bool = True,
                 max_iter: int = 500, tol: float = 1e-5, entropy_method: str = "auto", chunk_size: int = 256):
        self.mid_lambda = mid_lambda
        self.sigma = sigma
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.entropy_method = entropy_method
        self.chunk_size = chunk_size

    def _validate_params(self) -> None:
        lam = self.mid_lambda
        if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not (math.isfinite(lam) and lam >= 0):
            raise ValueError(f"mid_lambda must be a finite number >= 0, got {lam!r}")
        if lam > MAX_LAMBDA:
            raise ValueError(f"mid_lambda must be <= {MAX_LAMBDA:g} (the fit's gradient overflows a double beyond; "
                             f"every lambda above about 1e10 already gives the constant predictor), got {lam!r}")
        sig = self.sigma
        if not (isinstance(sig, str) and sig == "auto") and (
            isinstance(sig, (bool, str)) or not isinstance(sig, numbers.Real) or not (math.isfinite(sig) and sig > 0)
        ):
            raise ValueError(f"sigma must be 'auto' or a finite number > 0, got {sig!r}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be a bool, got {self.fit_intercept!r}")
        for name in ("max_iter", "chunk_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if isinstance(self.tol, bool) or not isinstance(self.tol, numbers.Real) or not self.tol > 0:
            raise ValueError(f"tol must be a number > 0, got {self.tol!r}")
        if not (isinstance(self.entropy_method, str) and self.entropy_method in _METHODS):
            raise ValueError(f"entropy_method must be one of {', '.join(_METHODS)}, got {self.entropy_method!r}")

    def fit(self, X, y) -> MIDLinearRegression:
        """Fit θ and b by minimizing J (see the class docstring)."""
        self._validate_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        n = X.shape[0]
        if self.fit_intercept:
            x_mean, y_mean = X.mean(axis=0), float(y.mean())
        else:
            x_mean, y_mean = np.zeros(X.shape[1]), 0.0
        z = X - x_mean
        with np.errstate(over="ignore"):
            scale = np.sqrt(np.mean(z**2, axis=0))
            spread = float(np.std(y))
        if not np.isfinite(scale).all():
            raise ValueError(f"feature(s) {self._names(~np.isfinite(scale))} are too large for float64 arithmetic "
                             f"(their squared deviations overflow); rescale them")
        if not np.isfinite(spread):
            raise ValueError(f"y is too large for float64 arithmetic (max |y| = {np.max(np.abs(y)):.3g}: its squared "
                             f"deviations overflow, and with them the MSE term of J and sigma='auto'); rescale y")
        # A column whose spread is below 1e-12 of its magnitude varies only in its last few digits: it is
        # treated as constant (coefficient 0). Exactly constant columns carry nothing; others are named.
        flat = ~(scale > 1e-12 * np.abs(x_mean))
        lost = flat & (scale > 0)
        if lost.any():
            warnings.warn(f"MIDLinearRegression: feature(s) {self._names(lost)} vary by less than 1e-12 of their "
                          f"magnitude and are dropped (coefficient 0); centre or rescale them to keep them",
                          UserWarning, stacklevel=2)
        scale[flat] = 1.0
        z[:, flat] = 0.0
        z /= scale
        t = y - y_mean
        beta_ols = np.linalg.lstsq(z, t, rcond=None)[0]
        rmse = float(np.sqrt(np.mean((t - z @ beta_ols) ** 2)))
        if self.sigma == "auto":
            self.sigma_ = rmse if rmse > 1e-12 * max(spread, 1.0) else (spread if spread > 0 else 1.0)
        else:
            self.sigma_ = float(self.sigma)
        lam = float(self.mid_lambda)

        def objective(beta: np.ndarray) -> tuple[float, np.ndarray]:
            pred = z @ beta
            resid = t - pred
            h0, g_pred = gaussian_mixture_entropy(pred, self.sigma_, method=self.entropy_method,
                                                  chunk_size=self.chunk_size, return_grad=True)
            value = float(resid @ resid) / n + lam * h0
            return value, z.T @ (-2.0 * resid / n + lam * g_pred)

        if lam == 0.0:
            beta, self.n_iter_ = beta_ols, 0
        else:
            res = minimize(objective, beta_ols, jac=True, method="L-BFGS-B",
                           options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-13})
            if not res.success and res.nit >= self.max_iter:
                warnings.warn(f"MIDLinearRegression: L-BFGS did not converge in max_iter={self.max_iter} "
                              "iterations; increase max_iter", ConvergenceWarning, stacklevel=2)
            beta, self.n_iter_ = res.x, int(res.nit)
        self.coef_ = beta / scale
        self.intercept_ = float(y_mean - x_mean @ self.coef_) if self.fit_intercept else 0.0
        pred = X @ self.coef_ + self.intercept_
        self.entropy_ = float(gaussian_mixture_entropy(pred, self.sigma_, method=self.entropy_method,
                                                       chunk_size=self.chunk_size))
        self.objective_ = float(np.mean((y - pred) ** 2) + lam * self.entropy_)
        return self

    def _names(self, mask: np.ndarray) -> str:
        """The names of the features in ``mask`` (column names when X had them, else x0, x1, ...)."""
        names = getattr(self, "feature_names_in_", None)
        picked = [str(names[j]) if names is not None else f"x{j}" for j in np.flatnonzero(mask)]
        return ", ".join(repr(n) for n in picked)

    def predict(self, X) -> np.ndarray:
        """Predictions ``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_
