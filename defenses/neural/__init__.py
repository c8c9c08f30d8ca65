"""Neural-network defenses and attacks: MID via the information bottleneck, DP-SGD, Knowledge Alignment.

* :class:`CNNClassifier` — undefended baseline; :class:`VIBClassifier` — MID (variational information
  bottleneck, MID paper Eq. 5); :class:`DPSGDClassifier` — DP-SGD on Opacus with Poisson sampling and
  ε from the RDP and PRV accountants. All share one GroupNorm CNN family (:data:`ARCHITECTURES`).
* :class:`KnowledgeAlignmentAttack` — black-box inversion network (Yang et al. 2019) with
  :func:`evaluate_reconstruction` (attack accuracy by an evaluation classifier, pixel and feature L2)
  and the model-free :func:`mean_face_baseline`.
* :class:`UpdateLeaksAttack` — label inference from a single-sample model update (Salem et al. 2020),
  with the batched update simulation :func:`simulate_updates` (and its plain reference
  :func:`simulate_updates_loop`) and the model-free :func:`label_prior_baseline`.
* :class:`GMIAttack` — white-box generative model inversion (Zhang et al. 2020) over a
  :class:`WGANGPPrior` trained on public data, scored by :class:`InversionEvaluation`, with the
  target-free :func:`gan_only_baseline`.

Every attack talks to its target through one protocol, :class:`~defenses.neural.target.Target`
(``logits(x)``, ``classes_``, ``stochastic``, ``device``, ...): :func:`as_target` makes one from a fitted
estimator, an output-perturbed one, or any plain ``nn.Module`` classifier of the user's. The estimators
take the user's own encoder as ``module=``.

Torch code takes ``device="auto"`` (CUDA when present, else CPU) and explicit seeds.
"""

from defenses import MissingExtraError

try:
    import torch  # noqa: F401  (the whole sub-package is built on it)
except ModuleNotFoundError as exc:
    if exc.name != "torch":
        raise
    raise MissingExtraError("defenses.neural needs PyTorch, which is not installed: "
                            "pip install 'mid-toolkit[neural]'", name="torch") from None

from ._torch import resolve_device
from .architectures import (
                                  ARCHITECTURES,
                                  Classifier,
                                  ConvNet,
                                  InversionNet,
                                  VIBNet,
                                  gaussian_kl,
)
from .estimators import CNNClassifier, DPSGDClassifier, VIBClassifier
from .gmi import (
                                  GMIAttack,
                                  GMIResult,
                                  InversionEvaluation,
                                  WGANGPPrior,
                                  gan_only_baseline,
                                  gradient_penalty,
)
from .knowledge_alignment import (
                                  KnowledgeAlignmentAttack,
                                  evaluate_reconstruction,
                                  log_shift,
                                  mean_face_baseline,
                                  truncate_top_k,
)
from .private_update import PrivateUpdate, gaussian_epsilon
from .target import Target, TargetNetwork, as_target
from .update_leaks import (
                                  UpdateLeaksAttack,
                                  UpdateLeaksMLP,
                                  label_prior_baseline,
                                  simulate_updates,
                                  simulate_updates_loop,
                                  updated_model,
)

__all__ = [
    "ARCHITECTURES", "CNNClassifier", "Classifier", "ConvNet", "DPSGDClassifier", "GMIAttack", "GMIResult",
    "InversionEvaluation", "InversionNet", "KnowledgeAlignmentAttack", "VIBClassifier", "VIBNet",
    "WGANGPPrior", "evaluate_reconstruction", "gan_only_baseline", "gaussian_kl", "gradient_penalty",
    "log_shift", "mean_face_baseline", "resolve_device", "truncate_top_k", "Target", "TargetNetwork", "as_target",
    "PrivateUpdate", "UpdateLeaksAttack", "UpdateLeaksMLP", "gaussian_epsilon", "label_prior_baseline",
    "simulate_updates", "simulate_updates_loop", "updated_model",
]
