"""defenses — models, defenses, attacks, datasets and metrics for model-inversion privacy.

Sub-packages by model family: ``defenses.linear``, ``defenses.tree``, ``defenses.neural``;
plus ``defenses.datasets`` (loaders of the real data) and ``defenses.metrics``.
"""
