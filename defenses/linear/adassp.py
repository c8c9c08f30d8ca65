"""AdaSSP: (ε, δ)-differentially private linear regression (Wang 2018, Algorithm 2).

Adaptive sufficient-statistics perturbation releases three noisy statistics, each with the Gaussian
mechanism at (ε/3, δ/3) — a downward-shifted noisy smallest eigenvalue of XᵀX (which sets the ridge),
XᵀX, and Xᵀy — and solves the ridge system built from them; basic composition and post-processing give
(ε, δ)-DP for add/remove-one neighbours whose rows obey the declared bounds. See ALGORITHMS.md §2.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.special import log_ndtr
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data


def _exact_gaussian_delta(epsilon: float, ratio: float) -> float:
    """δ(ε) of the Gaussian mechanism with noise σ = ratio·Δ (Balle & Wang 2018, Theorem 8).

    δ(ε) = Φ(1/(2u) − εu) − e^ε Φ(−1/(2u) − εu) with u = σ/Δ, evaluated in log space.
    """
    a, b = 1.0 / (2.0 * ratio), epsilon * ratio
    return float(np.exp(log_ndtr(a - b)) - np.exp(epsilon + log_ndtr(-a - b)))


def gaussian_noise_multiplier(epsilon: float, delta: float, calibration: str = "wang2018") -> float:
    """Noise multiplier σ/Δ of each of AdaSSP's three Gaussian releases at (ε/3, δ/3).

    ``"wang2018"``: Wang's constant ``√(log(6/δ)) / (ε/3)`` (the classical Gaussian-mechanism bound,
    valid only for ε/3 ≤ 1; for δ = 1e-6 it under-delivers δ/3 from about ε = 1 on — ALGORITHMS.md §2,
    "Calibration warning"). ``"analytic"`` [ours]: the smallest σ/Δ for which the exact Gaussian
    privacy curve of Balle & Wang (2018) gives δ(ε/3) ≤ δ/3, found by bisection to relative 1e-10.

    Parameters
    ----------
    epsilon : float
        Total ε > 0 of the three releases.
    delta : float
        Total δ in (0, 1).
    calibration : {"wang2018", "analytic"}

    Returns
    -------
    float
        σ/Δ for one release.
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not (math.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be a finite number > 0, got {epsilon!r}")
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 < delta < 1:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
    eps1, delta1 = epsilon / 3.0, delta / 3.0
    if calibration == "wang2018":
        return math.sqrt(math.log(6.0 / delta)) / eps1
    if calibration != "analytic":
        raise ValueError(f"calibration must be 'wang2018' or 'analytic', got {calibration!r}")
    lo, hi = 1e-12, 1.0
    while _exact_gaussian_delta(eps1, hi) > delta1:
        lo, hi = hi, 2.0 * hi
    while hi - lo > 1e-10 * hi:
        mid = 0.5 * (lo + hi)
        if _exact_gaussian_delta(eps1, mid) > delta1:
            lo = mid
        else:
            hi = mid
    return hi


def _as_generator(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**32 - 1, dtype=np.int64))
    if random_state is None or isinstance(random_state, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, an int, a numpy Generator or RandomState, got {random_state!r}")


class AdaSSPRegression(RegressorMixin, BaseEstimator):
    """(ε, δ)-DP linear regression by adaptive sufficient-statistics perturbation (Wang 2018, Alg. 2).

    With rows clipped to the declared bounds (``x ← x·min(1, 𝒳_x/‖x‖)``, ``y ← clip(y, −𝒴, 𝒴)``), a
    constant-1 intercept column appended when ``fit_intercept`` (so the row-norm bound becomes
    ``𝒳 = √(𝒳_x² + 1)``), d the number of columns, s the per-release noise multiplier
    (:func:`gaussian_noise_multiplier`, ``√(log(6/δ))/(ε/3)`` by default) and Z, E, z standard normal:

    1. ``λ̃_min = max(0, λ_min(XᵀX) + 𝒳² s Z − 𝒳² s √log(6/δ))``;
    2. ``λ = max(0, 𝒳² s √(d log(2d²/ρ)) − λ̃_min)``;
    3. ``XᵀX̂ = XᵀX + 𝒳² s E`` with E symmetric, its upper triangle (diagonal included) iid N(0, 1);
    4. ``Xᵀŷ = Xᵀy + 𝒳 𝒴 s z``;
    5. ``θ̂ = (XᵀX̂ + λI)⁻¹ Xᵀŷ`` (least squares if singular; the noisy matrix may be indefinite, which
       at tiny ε gives huge coefficients — the algorithm's behaviour, not a bug).

    Draw order (for reproducibility): Z, then E's upper triangle in ``numpy.triu_indices`` order, then z.

    The bounds must be public (domain knowledge), never computed from the private data; rows outside
    them are clipped, which biases the fit but keeps the guarantee. Sensitivities are for add/remove-one
    neighbours (‖xxᵀ‖_F ≤ 𝒳², ‖xy‖ ≤ 𝒳𝒴, λ_min moves by ≤ 𝒳²).

    Parameters
    ----------
    epsilon : float, default=1.0
        Total privacy budget ε > 0.
    delta : float, default=1e-6
        Total δ in (0, 1); use δ < 1/n.
    x_bound : float, default=1.0
        Public bound 𝒳_x on the Euclidean norm of a feature row (intercept column excluded).
    y_bound : float, default=1.0
        Public bound 𝒴 on |y|.
    rho : float, default=0.05
        Failure probability ρ in the ridge threshold (Wang's code and google-research use 0.05).
    fit_intercept : bool, default=True
    calibration : {"wang2018", "analytic"}, default="wang2018"
        See :func:`gaussian_noise_multiplier`. Report it next to ε.
    random_state : None, int, numpy Generator or RandomState
        Source of the Gaussian noise.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    noise_multiplier_ : float
        s (σ/Δ of each release).
    row_bound_ : float
        𝒳 (intercept column included).
    gram_noise_scale_ : float
        𝒳² s, the standard deviation of each entry of the Gram-matrix noise.
    moment_noise_scale_ : float
        𝒳 𝒴 s.
    eigenvalue_shift_ : float
        𝒳² s √log(6/δ).
    min_eigenvalue_noisy_ : float
        λ̃_min.
    ridge_ : float
        λ.
    n_features_in_ : int

    References
    ----------
    Wang, Y.-X. (2018), "Revisiting differentially private linear regression: optimal and adaptive
    prediction & estimation in unbounded domain", UAI. Balle & Wang (2018), "Improving the Gaussian
    mechanism for differential privacy", ICML.
    """

    def __init__(self, epsilon: float = 1.0, delta: float = 1e-6, x_bound: float = 1.0, y_bound: float = 1.0,
                 rho: float = 0.05, fit_intercept: bool = True, calibration: str = "wang2018",
                 random_state=None):
        self.epsilon = epsilon
        self.delta = delta
        self.x_bound = x_bound
        self.y_bound = y_bound
        self.rho = rho
        self.fit_intercept = fit_intercept
        self.calibration = calibration
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # At the default ε = 1 with bounds of 1, the DP noise dominates on small unscaled data sets.
        tags.regressor_tags.poor_score = True
        return tags

    def _validate_params(self) -> None:
        for name in ("x_bound", "y_bound"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        if isinstance(self.rho, bool) or not isinstance(self.rho, numbers.Real) or not 0 < self.rho < 1:
            raise ValueError(f"rho must lie in (0, 1), got {self.rho!r}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be a bool, got {self.fit_intercept!r}")

    def fit(self, X, y) -> AdaSSPRegression:
        """Clip the data to the declared bounds and release θ̂ by AdaSSP (see the class docstring)."""
        self._validate_params()
        s = gaussian_noise_multiplier(self.epsilon, self.delta, self.calibration)
        rng = _as_generator(self.random_state)
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        norms = np.linalg.norm(X, axis=1)
        X = X * np.minimum(1.0, self.x_bound / np.maximum(norms, np.finfo(float).tiny))[:, None]
        y = np.clip(y, -self.y_bound, self.y_bound)
        if self.fit_intercept:
            X = np.column_stack([X, np.ones(len(X))])
        d = X.shape[1]
        bound = math.sqrt(self.x_bound**2 + (1.0 if self.fit_intercept else 0.0))
        log_term = math.log(6.0 / self.delta)
        gram = X.T @ X
        moment = X.T @ y

        self.noise_multiplier_ = s
        self.row_bound_ = bound
        self.gram_noise_scale_ = bound**2 * s
        self.moment_noise_scale_ = bound * self.y_bound * s
        self.eigenvalue_shift_ = bound**2 * s * math.sqrt(log_term)
        lam_min = float(np.linalg.eigvalsh(gram)[0])
        self.min_eigenvalue_noisy_ = max(0.0, lam_min + self.gram_noise_scale_ * rng.standard_normal()
                                         - self.eigenvalue_shift_)
        threshold = bound**2 * s * math.sqrt(d * math.log(2.0 * d * d / self.rho))
        self.ridge_ = max(0.0, threshold - self.min_eigenvalue_noisy_)
        upper = np.triu_indices(d)
        noise = np.zeros((d, d))
        noise[upper] = rng.standard_normal(len(upper[0]))
        noise = noise + np.triu(noise, 1).T
        gram_noisy = gram + self.gram_noise_scale_ * noise
        moment_noisy = moment + self.moment_noise_scale_ * rng.standard_normal(d)
        system = gram_noisy + self.ridge_ * np.eye(d)
        try:
            theta = np.linalg.solve(system, moment_noisy)
        except np.linalg.LinAlgError:
            theta = np.linalg.lstsq(system, moment_noisy, rcond=None)[0]
        if self.fit_intercept:
            self.coef_, self.intercept_ = theta[:-1], float(theta[-1])
        else:
            self.coef_, self.intercept_ = theta, 0.0
        return self

    def predict(self, X) -> np.ndarray:
        """Predictions ``X @ coef_ + intercept_`` (inputs are not clipped at prediction time)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_
