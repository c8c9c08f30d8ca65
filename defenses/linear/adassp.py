"""AdaSSP: (ε, δ)-differentially private linear regression (Wang 2018, Algorithm 2).

Adaptive sufficient-statistics perturbation releases three noisy statistics with the Gaussian mechanism —
a downward-shifted noisy smallest eigenvalue of XᵀX (which sets the ridge), XᵀX, and Xᵀy — and solves the
ridge system built from them. Each release has the same noise multiplier s = σ/Δ, so the three compose
exactly as one Gaussian mechanism with μ = √3/s; by default s is the smallest for which that composition
is (ε, δ)-DP (Balle & Wang 2018's exact curve), and post-processing carries the guarantee to θ̂, for
add/remove-one neighbours whose rows obey the declared bounds. See docs/defenses.md.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from scipy.special import erfc, erfcx
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from mitheory.rng import as_generator


#: AdaSSP's three Gaussian releases: the smallest eigenvalue, the Gram matrix, the moment vector.
RELEASES = 3
_CALIBRATIONS = ("analytic", "wang2018")
#: Largest ε the analytic calibration accepts: up to it float64 resolves the privacy curve at the solution
#: to ~4e-11 relative (inside the 1e-10 margin); beyond it no ε protects anything anyway.
MAX_EPSILON = 1e8
_SQRT2 = math.sqrt(2.0)
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)


def gaussian_delta(epsilon: float, mu: float) -> float:
    """δ(ε) of the Gaussian mechanism with sensitivity-to-noise ratio μ = Δ/σ (Balle & Wang 2018, Thm. 8).

    ``δ(ε) = Φ(μ/2 − ε/μ) − e^ε Φ(−μ/2 − ε/μ)``, the exact (tight) privacy curve. It is also the curve of
    μ-Gaussian DP (Dong, Roth & Su 2022, Cor. 2.13), and k Gaussian releases with ratios μ_i compose,
    adaptively and exactly, as one with μ = √(Σ μ_i²) (their Cor. 3.3).

    Evaluated without overflow of e^ε or cancellation of the two terms: with x = ε/μ − μ/2, u = x/√2 and
    v = (ε/μ + μ/2)/√2 = u + μ/√2, ``e^ε Φ(−μ/2 − ε/μ) = ½ erfcx(v) e^{−x²/2}`` and ``Φ(−x) = ½ erfcx(u)
    e^{−x²/2}``, so ``δ = ½ e^{−x²/2} (erfcx(u) − erfcx(v))``, the difference taken by 16-point
    Gauss–Legendre quadrature of ``−erfcx′(z) = 2/√π − 2z·erfcx(z)`` over [u, v] when μ/√2 < 1/2
    (for u < −5, where erfcx(u) grows like e^{u²}, as ``½ (erfc(u) − erfcx(v) e^{−x²/2})``). Relative
    accuracy ~1e-13, except that x itself carries a rounding error of up to 2·2⁻⁵³·(ε/μ + μ/2), which
    large ε and μ make visible (the curve is that ill-conditioned in its inputs).
    """
    a, b = 0.5 * mu, epsilon / mu
    x = b - a
    u, v, width = x / _SQRT2, (a + b) / _SQRT2, mu / _SQRT2
    if u < -5.0:
        return float(max(0.0, 0.5 * (erfc(u) - erfcx(v) * math.exp(-0.5 * x * x))))
    if width < 0.5:
        z = u + 0.5 * width * (1.0 + _GL_NODES)
        gap = 0.5 * width * float(_GL_WEIGHTS @ (2.0 / math.sqrt(math.pi) - 2.0 * z * erfcx(z)))
    else:
        gap = erfcx(u) - erfcx(v)
    return float(max(0.0, 0.5 * math.exp(-0.5 * x * x) * gap))


def analytic_gaussian_multiplier(epsilon: float, delta: float, releases: int = 1) -> float:
    """The smallest σ/Δ for which ``releases`` Gaussian releases of that noise are together (ε, δ)-DP.

    With ``releases = 1`` this is the analytic Gaussian mechanism (Balle & Wang 2018, Alg. 1 solves the
    same equation). Bisection on :func:`composed_delta` (decreasing in σ/Δ) to a relative width of 1e-12,
    aiming at δ·(1 − 1e-10) so that round-off in evaluating the curve cannot overturn the guarantee; the
    upper end is returned, at which ``composed_delta(ε, σ/Δ, releases) ≤ δ`` holds. ε is limited to
    :data:`MAX_EPSILON` = 10⁸, up to which the curve's evaluation error stays inside that margin.
    """
    _check_budget(epsilon, delta)
    if epsilon > MAX_EPSILON:
        raise ValueError(f"epsilon must be <= {MAX_EPSILON:g} for the analytic calibration (float64 cannot "
                         f"resolve the Gaussian privacy curve beyond), got {epsilon!r}")
    target = delta * (1.0 - 1e-10)
    lo, hi = 1.0, 1.0
    while composed_delta(epsilon, hi, releases) > target:
        lo, hi = hi, 2.0 * hi
    while composed_delta(epsilon, lo, releases) <= target:
        lo, hi = 0.5 * lo, lo
    while hi - lo > 1e-12 * hi:
        mid = 0.5 * (lo + hi)
        if composed_delta(epsilon, mid, releases) > target:
            lo = mid
        else:
            hi = mid
    return hi


def composed_delta(epsilon: float, noise_multiplier: float, releases: int = RELEASES) -> float:
    """Exact δ(ε) of ``releases`` Gaussian releases, each with noise σ = ``noise_multiplier``·Δ.

    They compose as one Gaussian mechanism with μ = √releases / noise_multiplier (see
    :func:`gaussian_delta`); for AdaSSP (3 releases) this is the δ its output θ̂ actually has at ε.
    """
    return gaussian_delta(epsilon, math.sqrt(releases) / noise_multiplier)


class DataClippedWarning(UserWarning):
    """Training rows lay outside an estimator's declared public bounds and were clipped to them."""


def _warn_clipped(x_fraction: float, y_fraction: float, model) -> None:
    """One warning per fit naming the fractions of rows clipped (a local message to whoever trains; nothing
    of it is stored in the model, which a DP release may publish)."""
    parts = [f"{100 * f:.3g}% of the rows had {what} (clipped to {bound:g})"
             for f, what, bound in ((x_fraction, "||x|| > x_bound", model.x_bound),
                                    (y_fraction, "|y| > y_bound", model.y_bound)) if f > 0]
    if parts:
        warnings.warn(f"{type(model).__name__}: {' and '.join(parts)}; the fit is biased towards 0 — declare public "
                      "bounds that cover the data (x_bound, y_bound), or scale the data to them",
                      DataClippedWarning, stacklevel=3)


def _check_budget(epsilon, delta) -> None:
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not (math.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be a finite number > 0, got {epsilon!r}")
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 < delta < 1:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")


def gaussian_noise_multiplier(epsilon: float, delta: float, calibration: str = "analytic") -> float:
    """Noise multiplier s = σ/Δ of each of AdaSSP's three Gaussian releases, for a total budget (ε, δ).

    ``"analytic"`` (default) [ours]: the smallest s for which the three releases, composed exactly (one
    Gaussian mechanism with μ = √3/s), are (ε, δ)-DP: ``analytic_gaussian_multiplier(ε, δ, 3)``, which is
    √3 times the single-release analytic multiplier at (ε, δ). Valid for every ε > 0 and tight
    (:func:`composed_delta` is δ to within 1e-9 relative). For
    δ = 1e-6 it is 62.882 / 7.3174 / 0.93719 at ε = 0.1 / 1 / 10 — less noise than calibrating each release
    at (ε/3, δ/3) and adding up (108.69 / 12.471 / 1.4661), and than Wang's constant (118.52 / 11.852 /
    1.1852).

    ``"wang2018"``: Wang's constant ``√(log(6/δ)) / (ε/3)`` (Algorithm 2). Each release then misses its
    (ε/3, δ/3) from about ε = 1 on, and the three composed exactly exceed the declared δ from about
    ε = 31 on (δ = 0.65 at ε = 100 for a declared 1e-6; docs/defenses.md): an ε at which the composed δ
    exceeds ``delta`` is refused with a ValueError.

    Parameters
    ----------
    epsilon : float
        Total ε > 0 of the three releases.
    delta : float
        Total δ in (0, 1).
    calibration : {"analytic", "wang2018"}

    Returns
    -------
    float
        σ/Δ for one release.
    """
    _check_budget(epsilon, delta)
    if calibration == "analytic":
        return analytic_gaussian_multiplier(epsilon, delta, RELEASES)
    if calibration != "wang2018":
        raise ValueError(f"calibration must be one of {', '.join(_CALIBRATIONS)}, got {calibration!r}")
    s = math.sqrt(math.log(6.0 / delta)) / (epsilon / 3.0)
    actual = composed_delta(epsilon, s)
    if actual > delta:
        raise ValueError(f"calibration='wang2018' is not ({epsilon:g}, {delta:g})-DP: its three releases "
                         f"composed exactly have delta = {actual:.3g} at this epsilon; use calibration='analytic'")
    return s


class AdaSSPRegression(RegressorMixin, BaseEstimator):
    """(ε, δ)-DP linear regression by adaptive sufficient-statistics perturbation (Wang 2018, Alg. 2).

    With rows clipped to the declared bounds (``x ← x·min(1, 𝒳_x/‖x‖)``, ``y ← clip(y, −𝒴, 𝒴)``), a
    constant-1 intercept column appended when ``fit_intercept`` (so the row-norm bound becomes
    ``𝒳 = √(𝒳_x² + 1)``), d the number of columns, s the per-release noise multiplier
    (:func:`gaussian_noise_multiplier`) and Z, E, z standard normal:

    1. ``λ̃_min = max(0, λ_min(XᵀX) + 𝒳² s Z − 𝒳² s √log(6/δ))``;
    2. ``λ = max(0, 𝒳² s √(d log(2d²/ρ)) − λ̃_min)``;
    3. ``XᵀX̂ = XᵀX + 𝒳² s E`` with E symmetric, its upper triangle (diagonal included) iid N(0, 1);
    4. ``Xᵀŷ = Xᵀy + 𝒳 𝒴 s z``;
    5. ``θ̂ = (XᵀX̂ + λI)⁻¹ Xᵀŷ`` (least squares if singular; the noisy matrix may be indefinite, which
       at tiny ε gives huge coefficients — the algorithm's behaviour, not a bug).

    Draw order (for reproducibility): Z, then E's upper triangle in ``numpy.triu_indices`` order, then z.

    The bounds must be public (domain knowledge), never computed from the private data; rows outside
    them are clipped, which biases the fit but keeps the guarantee. Sensitivities are for add/remove-one
    neighbours (λ_min moves by ≤ 𝒳² (Weyl), the upper triangle of xxᵀ has norm ≤ ‖xxᵀ‖_F ≤ 𝒳², ‖xy‖ ≤
    𝒳𝒴), so each release is a Gaussian mechanism with Δ/σ = 1/s and the three together one with
    μ = √3/s: θ̂ is (ε, δ′)-DP with δ′ = :func:`composed_delta` (ε, s) ≤ δ (``delta_spent_``).

    Parameters
    ----------
    epsilon : float, default=1.0
        Total privacy budget ε > 0.
    delta : float, default=1e-6
        Total δ in (0, 1); use δ < 1/n.
    x_bound : float, default=1.0
        Public bound 𝒳_x on the Euclidean norm of a feature row (intercept column excluded).
    y_bound : float, default=1.0
        Public bound 𝒴 on ``|y|``.
    rho : float, default=0.05
        Failure probability ρ in the ridge threshold (Wang's code and google-research use 0.05).
    fit_intercept : bool, default=True
    calibration : {"analytic", "wang2018"}, default="analytic"
        ``"analytic"``: the smallest s whose exact composition is (ε, δ)-DP, valid for every ε.
        ``"wang2018"``: Wang's constant, for faithfulness; refused (ValueError in ``fit``) at an ε where
        it is not (ε, δ)-DP (from ε ≈ 31 for δ = 1e-6). See :func:`gaussian_noise_multiplier`. Report it
        next to ε.
    random_state : None, int, numpy Generator or RandomState
        Source of the Gaussian noise.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    noise_multiplier_ : float
        s (σ/Δ of each release).
    delta_spent_ : float
        The exact δ of the three releases composed at ``epsilon`` (≤ ``delta``; equal to it, up to 1e-9
        relative, with the analytic calibration).
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
                 rho: float = 0.05, fit_intercept: bool = True, calibration: str = "analytic",
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
        rng = as_generator(self.random_state)
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        norms = np.linalg.norm(X, axis=1)
        # rows on a bound up to rounding (data scaled to it) are not reported as clipped
        _warn_clipped(float(np.mean(norms > self.x_bound * (1 + 1e-9))),
                      float(np.mean(np.abs(y) > self.y_bound * (1 + 1e-9))), self)
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
        self.delta_spent_ = composed_delta(self.epsilon, s)
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
