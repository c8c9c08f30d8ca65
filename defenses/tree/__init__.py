"""Decision trees on categorical data: ID3 with the MID criterion, DP-ID3, Priority; MAP attacks.

Learners (scikit-learn estimators, categorical features natively): :class:`ID3Classifier`,
:class:`DPID3Classifier`, :class:`PriorityID3Classifier`. Attacks on the sensitive feature
(Fredrikson et al. 2014/2015): :class:`NaiveMAPClassifierAttack` (black box), :class:`MAPWithCountsAttack`
(white box, training counts on the paths), :class:`~defenses.base.PriorBaseline` (no model, prior only),
:class:`NoModelAttack` (the best attacker without a model: learned from the attacker's records) and
:class:`ModelAssistedAttack` (the same with the model's evidence as further inputs); the old names
``NaiveMAPAttack`` and ``PriorAttack`` are deprecated aliases. See docs/attacks.md.

A table used for many models (a sweep over splits and settings) can be encoded once with
:func:`encode_table`; every learner and attack takes the :class:`EncodedTable` and its row subsets.
"""

from ._base import (BaseCategoricalTree, CategoricalTree, ContinuousFeatureWarning, EncodedTable,
                    MissingValueWarning, encode_table)
from .attacks import (AttributeInference, MAPWithCountsAttack, ModelAssistedAttack, NaiveMAPAttack,
                      NaiveMAPClassifierAttack, NoModelAttack, PriorAttack, PriorBaseline, confusion_matrix,
                      estimate_prior, shadow_folds)
from .dp import DPID3Classifier
from .export import to_sklearn
from .id3 import ID3Classifier, PriorityID3Classifier

__all__ = [
    "AttributeInference", "BaseCategoricalTree", "CategoricalTree", "ContinuousFeatureWarning", "DPID3Classifier",
    "EncodedTable", "ID3Classifier", "MAPWithCountsAttack", "MissingValueWarning", "ModelAssistedAttack",
    "NaiveMAPAttack", "NaiveMAPClassifierAttack", "NoModelAttack", "PriorAttack", "PriorBaseline",
    "PriorityID3Classifier", "confusion_matrix", "encode_table", "estimate_prior", "shadow_folds", "to_sklearn",
]
