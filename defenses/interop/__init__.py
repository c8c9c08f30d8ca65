"""Bridges from the toolkit's models to other people's attack libraries.

:mod:`defenses.interop.art` — IBM's Adversarial Robustness Toolbox (ART, the optional extra ``interop``):
our trees, linear models and neural networks as ART estimators, and ART's attribute-inference and
model-inversion attacks as objects with the toolkit's ``infer`` verb (docs/attacks.md).
"""
