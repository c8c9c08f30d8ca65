"""defenses — models, defenses, attacks, datasets and metrics for model-inversion privacy.

Sub-packages by model family: ``defenses.linear``, ``defenses.tree``, ``defenses.neural``;
plus ``defenses.datasets`` (loaders of the real data) and ``defenses.metrics``. Everything but
``defenses.neural`` works without PyTorch; ``defenses.neural`` needs the ``neural`` extra
(``pip install 'mid-toolkit[neural]'``) and says so when it is missing (:class:`MissingExtraError`).
"""

from mitheory._version import __version__


class MissingExtraError(ModuleNotFoundError):
    """An optional dependency group of mid-toolkit is not installed; the message names the extra."""


__all__ = ["MissingExtraError", "__version__"]
