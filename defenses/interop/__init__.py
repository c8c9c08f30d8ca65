"""Bridges from the toolkit's models to other people's attack libraries.

:mod:`defenses.interop.art` — IBM's Adversarial Robustness Toolbox (ART, the optional extra ``interop``):
our trees, linear models and neural networks as ART estimators, and ART's attribute-inference and
model-inversion attacks as objects with the toolkit's ``infer`` verb (docs/attacks.md).
"""

import importlib.util


def art_available() -> bool:
    """Whether IBM's Adversarial Robustness Toolbox (the ``interop`` extra) can be imported (without importing
    it); the sweeps of Fig. 2(a), 2(b) and 4(c) add ART's attacks where it can, and record whether they did."""
    return importlib.util.find_spec("art") is not None
