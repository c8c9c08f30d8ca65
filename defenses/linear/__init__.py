"""Linear models: MID regression, differentially private AdaSSP regression, and the Naive MAP attack.

- :class:`MIDLinearRegression` — squared loss + λ·H₀(Ŷ) (MID paper Eq. 4); :func:`gaussian_mixture_entropy`.
- :class:`AdaSSPRegression` — (ε, δ)-DP linear regression by adaptive sufficient-statistics
  perturbation (Wang 2018, Algorithm 2), calibrated on the exact composition of its three Gaussian
  releases (:func:`gaussian_noise_multiplier`, :func:`composed_delta`).
- :class:`NaiveMAPRegressionAttack` — Fredrikson et al. (2014) MAP inversion of a sensitive feature from
  any regressor; the no-model adversaries :class:`PriorBaseline` and :class:`NoModelBaseline` sit beside
  it, and :class:`ModelAssistedAttack` learns to combine the no-model inputs with the model's evidence
  (``NaiveMAPAttack`` is the deprecated old call shape of Naive MAP).
"""

from .adassp import (AdaSSPRegression, DataClippedWarning, analytic_gaussian_multiplier, composed_delta,
                     gaussian_delta, gaussian_noise_multiplier)
from .attacks import (ModelAssistedAttack, NaiveMAPAttack, NaiveMAPRegressionAttack, NoModelBaseline, PriorBaseline,
                      empirical_prior, shadow_fits)
from .mid import MIDLinearRegression, gaussian_mixture_entropy

__all__ = [
    "AdaSSPRegression",
    "DataClippedWarning",
    "MIDLinearRegression",
    "ModelAssistedAttack",
    "NaiveMAPAttack",
    "NaiveMAPRegressionAttack",
    "NoModelBaseline",
    "PriorBaseline",
    "analytic_gaussian_multiplier",
    "composed_delta",
    "empirical_prior",
    "gaussian_delta",
    "shadow_fits",
    "gaussian_mixture_entropy",
    "gaussian_noise_multiplier",
]
