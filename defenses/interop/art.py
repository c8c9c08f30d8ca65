"""IBM's Adversarial Robustness Toolbox (ART ≥ 1.20) against our models, with no glue (docs/attacks.md).

ART is the optional extra ``interop`` (``pip install 'mid-toolkit[interop]'``). Each use case is one call:

=====================================  ================================================================
our model                              ART attack, as an object with the toolkit's verb
=====================================  ================================================================
ID3 / MID / DP-ID3 / Priority tree     :class:`ARTWhiteBoxTreeAttack` — ``AttributeInferenceWhiteBox
                                       DecisionTree`` or ``...LifestyleDecisionTree`` (``lifestyle=True``)
                                       on :func:`to_art_tree`, the tree with the attacked feature as ONE
                                       ordinal column; ``fit(model)``, ``infer(known, y)``
MID / AdaSSP / OLS / any regressor     :class:`ARTBlackBoxAttack` — ``AttributeInferenceBlackBox`` on
                                       :func:`to_art_regressor`; ``fit(model, X, y, s)``, ``infer(X, y)``
no model (the same attacker's data)    :class:`ARTTrueLabelBaseline` — ``AttributeInferenceBaseline
                                       TrueLabel``; ``fit(X, y, s)``, ``infer(X, y)``
any neural target (our estimators,     :class:`MIFaceAttack` — ``MIFace`` on :func:`to_art`;
``as_target(module, classes)``)        ``fit(model)``, ``invert(labels)``
any of the above, any other attack     :func:`to_art` / :func:`to_art_tree` / :func:`to_art_regressor`
                                       give the ART estimator itself
=====================================  ================================================================

Why the adapters are needed: ART's white-box tree attacks substitute candidate values into one column
of a scikit-learn tree and read ``n_node_samples`` at the leaf reached; :meth:`BaseCategoricalTree.
to_sklearn` one-hot encodes every feature, so on it they answer for other records. ART's attribute
attacks take a one-column categorical feature (or a full one-hot block, which IWPC's VKORC1 with its
reference genotype is not), and its gradient attacks need a ``PyTorchClassifier`` around the logits.
"""

from __future__ import annotations

try:
    import art  # noqa: F401  (the optional dependency)
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("defenses.interop.art needs IBM's Adversarial Robustness Toolbox: "
                      "pip install 'mid-toolkit[interop]'") from None

import contextlib
import numbers
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from art.attacks.inference.attribute_inference import (
    AttributeInferenceBaselineTrueLabel,
    AttributeInferenceBlackBox,
    AttributeInferenceWhiteBoxDecisionTree,
    AttributeInferenceWhiteBoxLifestyleDecisionTree,
)
from art.defences.postprocessor import GaussianNoise as _ARTGaussianNoise
from art.defences.postprocessor import HighConfidence as _ARTHighConfidence
from art.defences.postprocessor import Postprocessor
from art.defences.postprocessor import ReverseSigmoid as _ARTReverseSigmoid
from art.defences.postprocessor import Rounded as _ARTRounded
from art.estimators.classification.scikitlearn import ScikitlearnDecisionTreeClassifier
from art.estimators.regression import BlackBoxRegressor
from scipy.special import softmax
from sklearn.utils.validation import check_is_fitted

from defenses import output
from defenses.base import (AttributeInference, AttributeInferenceAttack, Reconstruction, ReconstructionAttack,
                           deprecated_call)
from defenses.interop._ordinal import ordinal_tree
from defenses.tree import BaseCategoricalTree
from defenses.tree.id3 import resolve_feature
from mitheory.rng import integer_seed

_MODEL_TYPES = ("nn", "rf", "gb", "lr", "dt", "knn", "svm")


def _seed(random_state) -> int | None:
    """A 31-bit seed for ART's and scikit-learn's seeders (None stays None: fresh entropy there)."""
    return None if random_state is None else integer_seed(random_state, bits=31)


def _indices(classes, labels, what: str) -> np.ndarray:
    labels = np.asarray(labels.to_numpy() if isinstance(labels, pd.Series) else labels, dtype=object).ravel()
    idx = np.asarray(pd.Index(list(classes)).get_indexer(labels), np.int64)
    if (idx < 0).any():
        raise ValueError(f"{what} {labels[idx < 0][0]!r} is not one of {list(classes)}")
    return idx


# ----------------------------------------------------------------------------------------------- trees
class _TreeEstimator(ScikitlearnDecisionTreeClassifier):
    """ART's decision-tree estimator with a fast ``get_decision_path``.

    ART's white-box attacks call ``get_decision_path`` once per row and use its last node (the leaf);
    scikit-learn's ``decision_path`` validates each one-row input and builds a sparse matrix, which is
    most of the attack's time. Here the compiled ``tree_.apply`` finds the leaf and the root-to-leaf path
    comes from a table of every leaf's ancestors — the node ids ``decision_path(x).indices`` gives.
    """

    def __init__(self, model):
        super().__init__(model)
        t = model.tree_
        parent = np.full(t.node_count, -1, np.int64)
        for side in (t.children_left, t.children_right):
            inner = side >= 0
            parent[side[inner]] = np.flatnonzero(inner)
        self._paths: dict[int, np.ndarray] = {}
        for leaf in np.flatnonzero(t.children_left < 0):
            path, node = [], int(leaf)
            while node >= 0:
                path.append(node)
                node = int(parent[node])
            self._paths[int(leaf)] = np.asarray(path[::-1], np.int32)

    def get_decision_path(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        leaves = self.model.tree_.apply(np.ascontiguousarray(x.reshape(-1, x.shape[-1])))
        return np.concatenate([self._paths[int(leaf)] for leaf in leaves])


@dataclass(frozen=True)
class ARTTree:
    """A categorical tree as ART's ``ScikitlearnDecisionTreeClassifier``, one ordinal column per feature.

    Column ``j`` holds feature ``j``'s integer code in the model's domain (``-1``: outside it or
    missing); the multiway tests are threshold chains (:func:`defenses.interop._ordinal.ordinal_tree`),
    so ``classifier.predict`` equals the model's ``predict_proba`` on every row and the leaf a row reaches
    carries the training count our tree has there.

    Attributes
    ----------
    classifier : art.estimators.classification.scikitlearn.ScikitlearnDecisionTreeClassifier
    attack_feature : int
        Column of the sensitive feature (ART's ``attack_feature``).
    values : list of float
        The codes ART substitutes, ``[0.0, …, V−1]`` (ART's ``values``).
    sensitive_values : ndarray
        The sensitive feature's domain: ``values[i]`` stands for ``sensitive_values[i]``.
    model : BaseCategoricalTree
    """

    classifier: Any
    attack_feature: int
    values: list[float]
    sensitive_values: np.ndarray
    model: Any

    def transform(self, X) -> np.ndarray:
        """ART's input for the model's feature table ``X`` (the sensitive column included), float codes."""
        return self.model.encode(X).astype(np.float64)

    def known(self, X) -> np.ndarray:
        """ART's ``infer`` input: every column but the attacked one. A DataFrame may lack that column."""
        names = getattr(self.model, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) and names is not None:
            name = names[self.attack_feature]
            if name not in X.columns:
                X = X.assign(**{name: np.nan})[list(names)]
        return np.delete(self.transform(X), self.attack_feature, axis=1)

    def labels(self, y) -> np.ndarray:
        """Class indices of labels ``y`` (what ART compares with the argmax of its predictions)."""
        return _indices(self.model.classes_, y, "label")

    def priors(self, prior) -> list[float]:
        """``prior`` (mapping value → probability, Series, or array in domain order) aligned with ``values``."""
        domain = list(self.sensitive_values)
        if isinstance(prior, (Mapping, pd.Series)):
            items = dict(prior.items())
            unknown = [v for v in items if v not in domain]
            if unknown:
                raise ValueError(f"prior has value {unknown[0]!r} outside the sensitive feature's domain")
            p = np.array([float(items.get(v, 0.0)) for v in domain])
        else:
            p = np.asarray(prior, float)
            if p.shape != (len(domain),):
                raise ValueError(f"prior must have one probability per sensitive value ({len(domain)}), got {p.shape}")
        if not np.all(np.isfinite(p)) or (p < 0).any() or p.sum() <= 0:
            raise ValueError("prior must be non-negative with a positive sum")
        return list(p / p.sum())

    def decode(self, codes) -> np.ndarray:
        """Sensitive values for ART's inferred codes."""
        codes = np.asarray(codes, float)
        idx = np.rint(codes).astype(np.int64)
        if not np.array_equal(idx, codes) or (idx < 0).any() or (idx >= len(self.sensitive_values)).any():
            raise ValueError("codes must be integers in 0..V-1")
        return self.sensitive_values[idx]


def to_art_tree(model: BaseCategoricalTree, sensitive_feature) -> ARTTree:
    """Our fitted tree as ART's decision-tree estimator, with ``sensitive_feature`` as its attack column.

    Parameters
    ----------
    model : ID3Classifier, PriorityID3Classifier or DPID3Classifier (fitted)
    sensitive_feature : str or int
        Name or index of the attacked feature.

    Returns
    -------
    ARTTree
        ``classifier`` plus the ``attack_feature``, ``values`` and priors ART's white-box attacks expect.
    """
    if not isinstance(model, BaseCategoricalTree):
        raise ValueError("model must be an ID3Classifier, PriorityID3Classifier or DPID3Classifier")  # noqa: TRY004 (project rule: ValueError naming the parameter)
    check_is_fitted(model, "tree_")
    s = resolve_feature(model, sensitive_feature)
    domain = np.asarray(model.categories_[s])
    return ARTTree(classifier=_TreeEstimator(ordinal_tree(model)), attack_feature=s,
                   values=[float(i) for i in range(len(domain))], sensitive_values=domain, model=model)


class ARTWhiteBoxTreeAttack(AttributeInferenceAttack):
    """ART's white-box decision-tree attribute inference on our trees (Fredrikson et al. 2015; §7, §15.2).

    ``lifestyle=False`` runs ``AttributeInferenceWhiteBoxDecisionTree``: if exactly one candidate value
    makes the tree predict the target's label ``y``, guess it; otherwise guess
    ``argmax_v n_leaf(x_K, v)·p(v)``. ``lifestyle=True`` runs
    ``AttributeInferenceWhiteBoxLifestyleDecisionTree``: ``argmax_v n_leaf(x_K, v)·p(v)/φ(v)`` with
    φ(v) the training records in the distinct leaves that the attacked batch reaches with value v (ART's
    approximation of Φ(v); ``y`` unused). Ties go to the first value of the domain (ART's ``argmax``).
    Unlike :class:`~defenses.tree.MAPWithCountsAttack`, neither filters the leaves by their label when
    several values reproduce ``y``, and the first divides by no Φ.

    Parameters
    ----------
    sensitive_feature : str or int
    prior : mapping value → probability, Series, or array in domain order
        p(v) (e.g. :func:`defenses.tree.estimate_prior` on the training records).
    lifestyle : bool, default False

    Attributes
    ----------
    view_ : ARTTree
        The bound tree as ART sees it (:func:`to_art_tree`).
    """

    def __init__(self, sensitive_feature, prior, lifestyle: bool = False):
        self.sensitive_feature = sensitive_feature
        self.prior = prior
        self.lifestyle = lifestyle
        self._check_params()

    def _check_params(self) -> None:
        if not isinstance(self.lifestyle, (bool, np.bool_)):
            raise ValueError(f"lifestyle must be a bool, got {self.lifestyle!r}")

    def fit(self, model, X=None, y=None) -> ARTWhiteBoxTreeAttack:
        """Bind the tree ``model`` (white box: ART reads its paths and leaf counts)."""
        self._check_params()
        self.view_ = to_art_tree(model, self.sensitive_feature)
        self.view_.priors(self.prior)
        return self

    def infer(self, X_known, y=None, *old) -> AttributeInference:
        """Attack every row of ``X_known`` (the sensitive column is ignored or absent) with true labels ``y``.

        Returns an :class:`~defenses.base.AttributeInference` whose ``scores`` are the one-hot indicator
        of ART's guess (ART returns no scores).
        """
        if isinstance(X_known, BaseCategoricalTree):  # the old call shape infer(model, known, y)
            return self._old_infer(X_known, y, *old)
        self._check_fitted("view_")
        view = self.view_
        x = view.known(X_known)
        priors = view.priors(self.prior)
        if self.lifestyle:
            attack = AttributeInferenceWhiteBoxLifestyleDecisionTree(view.classifier, view.attack_feature)
            codes = attack.infer(x, values=view.values, priors=priors)
        else:
            if y is None:
                raise ValueError("y (the targets' labels) is required unless lifestyle=True")
            labels = view.labels(y)
            if len(labels) != len(x):
                raise ValueError(f"y has {len(labels)} labels for {len(x)} targets")
            attack = AttributeInferenceWhiteBoxDecisionTree(view.classifier, view.attack_feature)
            codes = attack.infer(x, labels, values=view.values, priors=priors)
        guesses = view.decode(codes)
        scores = (guesses[:, None] == view.sensitive_values[None, :]).astype(float)
        return AttributeInference(guesses=guesses, scores=scores, values=view.sensitive_values)

    @deprecated_call("ARTWhiteBoxTreeAttack.infer(model, known, y)", "ARTWhiteBoxTreeAttack(...).fit(model).infer(known, y)")
    def _old_infer(self, model, known, y=None) -> AttributeInference:
        return self.fit(model).infer(known, y)


# ---------------------------------------------------------------------------------------- regression
class _SensitiveBlock:
    """The sensitive attribute's columns of a feature matrix as ONE ordinal column (ART's view).

    ART's matrix is the model's columns without the sensitive ones, with the code column (``0..V−1``
    in the order of ``encoding``) inserted where the first sensitive column was.
    """

    def __init__(self, n_features: int, sensitive_columns: Sequence[int], encoding: Mapping[Hashable, Sequence[float]],
                 feature_names=None):
        cols = []
        for c in sensitive_columns:
            if isinstance(c, numbers.Integral) and not isinstance(c, bool):
                cols.append(int(c))
            elif feature_names is not None and c in list(feature_names):
                cols.append(list(feature_names).index(c))
            else:
                raise ValueError(f"sensitive column {c!r} is not an index (or a name the model was fit with)")
        if not cols or len(set(cols)) != len(cols) or min(cols) < 0 or max(cols) >= n_features:
            raise ValueError(f"sensitive_columns must be distinct column indices below {n_features}, got {cols}")
        if not isinstance(encoding, Mapping) or len(encoding) < 2:
            raise ValueError("encoding must map at least two sensitive values to their column contents")
        self.values = tuple(encoding)
        self.codes = np.array([np.asarray(encoding[v], float).ravel() for v in self.values])
        if self.codes.shape[1] != len(cols):
            raise ValueError(f"encoding: each value needs {len(cols)} column contents")
        if len({tuple(r) for r in self.codes}) != len(self.values):
            raise ValueError("encoding gives two values the same column contents")
        self.columns = cols
        self.n_features = n_features
        self.others = [j for j in range(n_features) if j not in set(cols)]
        self.attack_feature = sum(j < min(cols) for j in self.others)

    def code_of(self, values) -> np.ndarray:
        return _indices(self.values, values, "sensitive value")

    def decode_columns(self, X: np.ndarray) -> np.ndarray:
        """Codes of the sensitive values that ``X``'s sensitive columns hold."""
        block = X[:, self.columns]
        match = np.all(block[:, None, :] == self.codes[None, :, :], axis=2)
        if not match.any(axis=1).all():
            row = int(np.flatnonzero(~match.any(axis=1))[0])
            raise ValueError(f"row {row}: the sensitive columns {block[row].tolist()} match no value of encoding")
        return np.argmax(match, axis=1)

    def to_art(self, X, sensitive_values=None) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have {self.n_features} columns, got shape {X.shape}")
        codes = self.decode_columns(X) if sensitive_values is None else self.code_of(sensitive_values)
        if len(codes) != len(X):
            raise ValueError(f"sensitive_values has {len(codes)} entries for {len(X)} rows")
        return np.insert(X[:, self.others], self.attack_feature, codes.astype(float), axis=1)

    def known(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have {self.n_features} columns, got shape {X.shape}")
        return X[:, self.others]

    def to_model(self, x_art) -> np.ndarray:
        x = np.asarray(x_art, dtype=float)
        c = x[:, self.attack_feature]
        idx = np.rint(c).astype(np.int64)
        if not np.array_equal(idx, c) or (idx < 0).any() or (idx >= len(self.values)).any():
            raise ValueError(f"the attacked column must hold codes 0..{len(self.values) - 1}")
        out = np.empty((len(x), self.n_features))
        out[:, self.others] = np.delete(x, self.attack_feature, axis=1)
        out[:, self.columns] = self.codes[idx]
        return out

    def decode(self, codes) -> np.ndarray:
        idx = np.rint(np.asarray(codes, float)).astype(np.int64)
        return np.array(self.values, dtype=object)[idx]


@dataclass(frozen=True)
class ARTRegressor:
    """A regression model as ART's ``BlackBoxRegressor`` with the sensitive attribute as ONE column.

    Attributes
    ----------
    estimator : art.estimators.regression.BlackBoxRegressor
        Its ``predict`` expands the code column into the model's sensitive columns and calls
        ``model.predict``.
    attack_feature : int
    values : list of float
        ``[0.0, …, V−1]``, code ``i`` standing for ``sensitive_values[i]`` (the order of ``encoding``).
    sensitive_values : tuple
    """

    estimator: Any
    block: _SensitiveBlock

    @property
    def attack_feature(self) -> int:
        return self.block.attack_feature

    @property
    def values(self) -> list[float]:
        return [float(i) for i in range(len(self.block.values))]

    @property
    def sensitive_values(self) -> tuple:
        return self.block.values

    def transform(self, X, sensitive_values=None) -> np.ndarray:
        """ART's input for the model's matrix ``X``; the code column from ``sensitive_values`` if given,
        else read from ``X``'s sensitive columns."""
        return self.block.to_art(X, sensitive_values)

    def known(self, X) -> np.ndarray:
        """ART's ``infer`` input: ``X`` without its sensitive columns."""
        return self.block.known(X)

    def decode(self, codes) -> np.ndarray:
        return self.block.decode(codes)


def to_art_regressor(model, sensitive_columns: Sequence[int | str],
                     encoding: Mapping[Hashable, Sequence[float]]) -> ARTRegressor:
    """A fitted regression model (``predict``, ``n_features_in_``) as ART's black-box regressor.

    Parameters
    ----------
    model : fitted regressor, e.g. MIDLinearRegression, AdaSSPRegression, LinearRegression
    sensitive_columns : sequence of int or str
        Columns of the model's input that encode the sensitive attribute (IWPC: ``vkorc1_AG``,
        ``vkorc1_AA``); names need a model fit on a DataFrame.
    encoding : mapping value → sequence of float
        Contents of those columns for each value (IWPC: ``dataset.extra["sensitive_encoding"]``).
    """
    check_is_fitted(model)
    block = _SensitiveBlock(int(model.n_features_in_), sensitive_columns, encoding,
                            getattr(model, "feature_names_in_", None))

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(block.to_model(x)), dtype=float).ravel()

    return ARTRegressor(BlackBoxRegressor(predict, input_shape=(len(block.others) + 1,)), block)


def _check_model_type(attack_model_type: str) -> None:
    if attack_model_type not in _MODEL_TYPES:
        raise ValueError(f"attack_model_type must be one of {_MODEL_TYPES}, got {attack_model_type!r}")


@contextlib.contextmanager
def _art_randomness(attack, attack_model_type: str, random_state):
    """Make ART's ``fit``/``infer`` reproducible without leaving global state changed.

    A scikit-learn attack model gets ``random_state``; ART's ``"nn"`` model and its DataLoaders draw from
    torch's global generator, so they run inside ``torch.random.fork_rng`` (restored afterwards), seeded
    by ``random_state`` (fresh entropy when None).
    """
    seed = _seed(random_state)
    model = getattr(attack, "attack_model", None)
    if seed is not None and model is not None and "random_state" in model.get_params():
        model.set_params(random_state=seed)
    if attack_model_type != "nn":
        yield
        return
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed if seed is not None else int(np.random.default_rng().integers(0, 2**31 - 1)))
        yield


class ARTBlackBoxAttack(AttributeInferenceAttack):
    """ART's ``AttributeInferenceBlackBox`` against a regression model (docs/attacks.md).

    Threat model (ART's, stronger than Fredrikson et al.'s in one way and different in another): the
    attacker holds auxiliary records with their sensitive values and trains an attack model (``fit``)
    mapping (other features, the model's prediction [, the true target]) to the sensitive value; for a
    target it sees the other features, the model's prediction on the target's **own** record and, with
    ``use_target=True``, the true target value. Reproducible with ``random_state``.

    Parameters
    ----------
    sensitive_columns, encoding
        As for :func:`to_art_regressor`.
    attack_model_type : {"nn", "rf", "gb", "lr", "dt", "knn", "svm"}, default "nn"
        ART's attack model (``"nn"``: ART's default MLP, 100 epochs).
    use_target : bool, default True
        Give the attack model the true target value too (ART's optional ``y``).
    random_state : int, Generator or None
    art_params : dict, optional
        Further keyword arguments of ART's constructor (e.g. ``nn_model_epochs``, ``scaler_type``).
    """

    def __init__(self, sensitive_columns: Sequence[int | str], encoding: Mapping[Hashable, Sequence[float]], *,
                 attack_model_type: str = "nn", use_target: bool = True, random_state=None,
                 art_params: dict[str, Any] | None = None):
        self.sensitive_columns = sensitive_columns
        self.encoding = encoding
        self.attack_model_type = attack_model_type
        self.use_target = use_target
        self.random_state = random_state
        self.art_params = art_params
        self._check_params()

    def _check_params(self) -> None:
        _check_model_type(self.attack_model_type)
        if not isinstance(self.use_target, (bool, np.bool_)):
            raise ValueError(f"use_target must be a bool, got {self.use_target!r}")
        if self.art_params is not None and not isinstance(self.art_params, Mapping):
            raise ValueError(f"art_params must be a dict of ART constructor arguments, got {self.art_params!r}")

    def fit(self, model, X, y, sensitive_values) -> ARTBlackBoxAttack:
        """Bind ``model`` and train ART's attack model on auxiliary records ``(X, y)`` with their
        ``sensitive_values``."""
        self._check_params()
        self.view_ = to_art_regressor(model, self.sensitive_columns, self.encoding)
        self.model_ = model
        x = self.view_.transform(X, sensitive_values)
        y = np.asarray(y, float).ravel()
        if len(y) != len(x):
            raise ValueError(f"y has {len(y)} values for {len(x)} rows")
        self.attack_ = AttributeInferenceBlackBox(self.view_.estimator, attack_model_type=self.attack_model_type,
                                                  attack_feature=self.view_.attack_feature,
                                                  **(self.art_params or {}))
        with _art_randomness(self.attack_, self.attack_model_type, self.random_state):
            self.attack_.fit(x, y if self.use_target else None)
        return self

    def infer(self, X_known, y=None) -> AttributeInference:
        """Guess the sensitive value of every target: its rows ``X_known`` and true target values ``y``.

        ``X_known`` is the model's input for the targets' **true** records: its sensitive columns are used
        only to compute the prediction the model releases for the target (ART's ``pred``), never given to
        the attack model. ``scores`` are the one-hot indicator of ART's guess (ART returns no scores).
        """
        if hasattr(X_known, "predict"):  # the old call shape infer(model, (X, y))
            return self._old_infer(X_known, y)
        self._check_fitted("attack_")
        if y is None:
            raise ValueError("y (the targets' true target values) is required")
        X = np.asarray(X_known, float)
        y = np.asarray(y, float).ravel()
        if len(y) != len(X):
            raise ValueError(f"known: X has {len(X)} rows but y has {len(y)} values")
        pred = np.asarray(self.model_.predict(X), float).reshape(-1, 1)
        with _art_randomness(self.attack_, self.attack_model_type, None):
            codes = self.attack_.infer(self.view_.known(X), y if self.use_target else None, pred=pred,
                                       values=self.view_.values)
        return _one_hot_inference(self.view_.decode(codes), self.view_.sensitive_values)

    @deprecated_call("ARTBlackBoxAttack.infer(model, (X, y))", "ARTBlackBoxAttack.infer(X, y).guesses")
    def _old_infer(self, model, known) -> np.ndarray:
        self._check_fitted("attack_")
        if model is not self.model_:
            raise ValueError("infer got a different model than the one the attack was fit against")
        X, y = known
        return self.infer(X, y).guesses


def _one_hot_inference(guesses, values) -> AttributeInference:
    vals = np.empty(len(values), dtype=object)
    vals[:] = list(values)
    guesses = np.asarray(guesses, dtype=object)
    return AttributeInference(guesses=guesses, scores=(guesses[:, None] == vals[None, :]).astype(float), values=vals)


class ARTTrueLabelBaseline(AttributeInferenceAttack):
    """ART's ``AttributeInferenceBaselineTrueLabel`` for a regression target: no model at all.

    The attack model learns the sensitive value from the other features and the true target value on
    auxiliary records — the model-free counterpart of :class:`ARTBlackBoxAttack` (and ART's version of
    :class:`~defenses.linear.NoModelBaseline` with ``use_target=True``).

    Parameters
    ----------
    sensitive_columns : sequence of int
        Columns of ``X`` that encode the sensitive attribute.
    encoding : mapping value → sequence of float
    attack_model_type : {"nn", "rf", "gb", "lr", "dt", "knn", "svm"}, default "nn"
    random_state : int, Generator or None
    art_params : dict, optional
    """

    def __init__(self, sensitive_columns: Sequence[int], encoding: Mapping[Hashable, Sequence[float]], *,
                 attack_model_type: str = "nn", random_state=None, art_params: dict[str, Any] | None = None):
        self.sensitive_columns = sensitive_columns
        self.encoding = encoding
        self.attack_model_type = attack_model_type
        self.random_state = random_state
        self.art_params = art_params
        self._check_params()

    def _check_params(self) -> None:
        _check_model_type(self.attack_model_type)
        if self.art_params is not None and not isinstance(self.art_params, Mapping):
            raise ValueError(f"art_params must be a dict of ART constructor arguments, got {self.art_params!r}")

    def fit(self, X, y, sensitive_values) -> ARTTrueLabelBaseline:
        """Train on auxiliary records ``(X, y)`` with their ``sensitive_values``."""
        self._check_params()
        X = np.asarray(X, float)
        self.block_ = _SensitiveBlock(X.shape[1], self.sensitive_columns, self.encoding)
        x = self.block_.to_art(X, sensitive_values)
        y = np.asarray(y, float).ravel()
        if len(y) != len(x):
            raise ValueError(f"y has {len(y)} values for {len(x)} rows")
        self.attack_ = AttributeInferenceBaselineTrueLabel(
            attack_model_type=self.attack_model_type, attack_feature=self.block_.attack_feature,
            is_regression=True, **(self.art_params or {}))
        with _art_randomness(self.attack_, self.attack_model_type, self.random_state):
            self.attack_.fit(x, y)
        return self

    def infer(self, X_known, y=None) -> AttributeInference:
        """Guess the sensitive value of every target from its rows ``X_known`` (sensitive columns ignored)
        and true target values ``y``; ``scores`` are the one-hot of ART's guess."""
        if y is None and isinstance(X_known, tuple) and len(X_known) == 2:  # the old shape infer((X, y))
            return self._old_infer(X_known)
        self._check_fitted("attack_")
        if y is None:
            raise ValueError("y (the targets' true target values) is required")
        X = X_known
        y = np.asarray(y, float).ravel()
        x = self.block_.known(X)
        if len(y) != len(x):
            raise ValueError(f"known: X has {len(x)} rows but y has {len(y)} values")
        with _art_randomness(self.attack_, self.attack_model_type, None):
            codes = self.attack_.infer(x, y, values=[float(i) for i in range(len(self.block_.values))])
        return _one_hot_inference(self.block_.decode(codes), self.block_.values)

    @deprecated_call("ARTTrueLabelBaseline.infer((X, y))", "ARTTrueLabelBaseline.infer(X, y).guesses")
    def _old_infer(self, known) -> np.ndarray:
        return self.infer(*known).guesses


# ------------------------------------------------------------------------------------ output perturbation
class _Released(Postprocessor):
    """ART post-processor applying one of our output maps to ``predict``'s output (never to gradients)."""

    def __init__(self, transform):
        super().__init__(is_fitted=True, apply_fit=False, apply_predict=True)
        self._transform = transform

    def __call__(self, preds: np.ndarray) -> np.ndarray:
        return np.asarray(self._transform(preds), dtype=np.float32)


def _softmax(z: np.ndarray) -> np.ndarray:
    return softmax(np.asarray(z, float), axis=1)


def from_art(postprocessor, rng: output.Rng = None) -> output.OutputPerturbation:
    """The :mod:`defenses.output` perturbation equal to an ART post-processing defence instance.

    ``Rounded``, ``HighConfidence`` and ``ReverseSigmoid`` map to identical functions; ``GaussianNoise``
    to :class:`defenses.output.GaussianNoise` drawing from ``rng`` instead of NumPy's global generator.
    """
    if isinstance(postprocessor, _ARTRounded):
        return output.Rounded(postprocessor.decimals)
    if isinstance(postprocessor, _ARTHighConfidence):
        return output.HighConfidence(postprocessor.cutoff)
    if isinstance(postprocessor, _ARTReverseSigmoid):
        return output.ReverseSigmoid(postprocessor.beta, postprocessor.gamma)
    if isinstance(postprocessor, _ARTGaussianNoise):
        return output.GaussianNoise(postprocessor.scale, rng)
    raise ValueError(f"no defenses.output equivalent of {type(postprocessor).__name__}; supported: Rounded, "
                     "HighConfidence, ReverseSigmoid, GaussianNoise")


# ------------------------------------------------------------------------------------------- neural
def to_art(estimator, *, access: str = "gradients", random_state=None, postprocessing_defences=None):
    """A neural target as an ART classifier.

    Parameters
    ----------
    estimator : fitted CNNClassifier, VIBClassifier or DPSGDClassifier, an
        :class:`~defenses.output.OutputPerturbedClassifier` around one, or any
        :class:`~defenses.neural.target.Target` (e.g. ``as_target(module, classes, input_shape=...)``)
    access : {"gradients", "probabilities"}
        ``"gradients"``: ``art.estimators.classification.PyTorchClassifier`` (white box, for MIFace and
        other gradient attacks). Its model returns the target's logits (:meth:`Target.logits`) — for a VIB,
        from one latent draw z = μ + σ·ε per forward pass, as the estimator releases them, so gradients and
        predictions see the sampling; ``predict`` returns their softmax (then the output perturbation, if
        any: ART applies post-processing to predictions only, never to gradients). ``clip_values=(0, 1)``.
        ``"probabilities"``: ``art.estimators.classification.BlackBoxClassifier`` over the target's
        ``predict_proba`` (probability-only access; perturbed outputs if wrapped).
    random_state : None, int, SeedSequence, Generator or RandomState
        Seeds the latent draws of a stochastic target (None: the target's own generator for probability
        access, fresh entropy for gradient access).
    postprocessing_defences : ART Postprocessor or list, optional
        Further ART post-processors applied after the softmax (and our perturbation).

    Returns
    -------
    PyTorchClassifier or BlackBoxClassifier
        Class index ``i`` is ``target.classes_[i]``; inputs are ``(N, *target.input_shape)``.
    """
    import torch
    from art.estimators.classification import BlackBoxClassifier, PyTorchClassifier

    from defenses.neural._torch import make_generator, seed_from
    from defenses.neural.target import as_target

    if access not in ("gradients", "probabilities"):
        raise ValueError(f"access must be 'gradients' or 'probabilities', got {access!r}")
    target = as_target(estimator)
    if target.input_shape is None:
        raise ValueError("the target's input_shape is unknown: give input_shape= to as_target")
    extra = [] if postprocessing_defences is None else (
        list(postprocessing_defences) if isinstance(postprocessing_defences, (list, tuple))
        else [postprocessing_defences])
    n_classes = len(target.classes_)
    if access == "probabilities":
        seeds = None
        if target.stochastic and target.perturbation is None and random_state is not None:
            seeds = np.random.default_rng(_seed(random_state))

        def predict(x: np.ndarray) -> np.ndarray:
            if seeds is None:
                return np.asarray(target.predict_proba(x), dtype=np.float32)
            return np.asarray(target.predict_proba(x, random_state=int(seeds.integers(0, 2**63 - 1))), np.float32)

        return BlackBoxClassifier(predict, target.input_shape, n_classes, clip_values=(0.0, 1.0),
                                  postprocessing_defences=extra or None)

    generator = make_generator(seed_from(_seed(random_state)), target.device)

    class ReleasedLogits(torch.nn.Module):
        """The target's logits as it releases them (one latent draw per pass for a VIB)."""

        def __init__(self):
            super().__init__()
            self.net = target.network()

        def forward(self, x):
            return target.logits(x, generator)

    perturbation = target.perturbation
    post = [_Released(_softmax)] + ([_Released(perturbation)] if perturbation is not None else []) + extra
    return PyTorchClassifier(ReleasedLogits(), torch.nn.CrossEntropyLoss(), target.input_shape, n_classes,
                             clip_values=(0.0, 1.0), postprocessing_defences=post,
                             device_type="gpu" if target.device.type == "cuda" else "cpu")


class MIFaceAttack(ReconstructionAttack):
    """ART's ``MIFace`` (Fredrikson et al. 2015's gradient model inversion) as a reconstruction attack.

    For every target label, start from ``init`` and ascend the gradient of that class's logit with step
    ``learning_rate``, clipping to [0, 1], for up to ``max_iter`` steps (ART's loop). ART 1.20.1's stop
    rule keeps a sample running while ``1 − p(y) ≤ threshold`` or the cost has not improved on its
    window — so with the default ``threshold=1.0`` (ART's notebook) every sample runs ``max_iter`` steps.
    ``fit(model)`` binds the target (a neural target of the toolkit's protocol, or an ART classifier with
    class gradients); ``invert(labels)`` reconstructs one image per label.

    Parameters
    ----------
    max_iter : int
    learning_rate : float
    window_length : int
    threshold : float
    init : {"zeros", "grey", "random"} or array of images
        Starting images: ART's default zeros, 0.5 everywhere, U(0, 1) (from ``random_state``), or given
        images (one per target, or one broadcast to all — e.g. the attacker's mean auxiliary face).
    batch_size : int
        ART's internal batch; 1 is fastest (ART back-propagates once per distinct label in a batch).
    random_state : None, int, SeedSequence, Generator or RandomState
        Seeds a ``"random"`` init and the VIB's latent draws; every ``invert`` call starts from it anew.
    verbose : bool
        ART's progress bar.

    Attributes
    ----------
    target_ : Target or ART classifier
    classes_ : ndarray
        The labels ``invert`` accepts.
    """

    def __init__(self, *, max_iter: int = 1000, learning_rate: float = 0.1, window_length: int = 100,
                 threshold: float = 1.0, init: str | np.ndarray = "zeros", batch_size: int = 1, random_state=None,
                 verbose: bool = False):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.window_length = window_length
        self.threshold = threshold
        self.init = init
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose
        self._check_params()

    def _check_params(self) -> None:
        for name in ("max_iter", "window_length", "batch_size"):
            v = getattr(self, name)
            low = 0 if name == "max_iter" else 1
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
        for name in ("learning_rate", "threshold"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if isinstance(self.init, str) and self.init not in ("zeros", "grey", "random"):
            raise ValueError(f"init must be 'zeros', 'grey', 'random' or an array of images, got {self.init!r}")

    def fit(self, model) -> MIFaceAttack:
        """Bind the attacked ``model``: a neural target (:func:`~defenses.neural.target.as_target` accepts
        it) or an ART classifier with class gradients."""
        self._check_params()
        if hasattr(model, "class_gradient"):
            self.target_, self.classes_ = model, np.arange(model.nb_classes)
        else:
            from defenses.neural.target import as_target

            self.target_ = as_target(model)
            self.classes_ = np.asarray(self.target_.classes_)
        return self

    def invert(self, targets, *old) -> Reconstruction:
        """Reconstruct one image per target label (values of ``classes_``): images (N, C, H, W) in [0, 1]."""
        if old:  # the old call shape invert(model, targets)
            return self._old_invert(targets, *old)
        self._check_fitted("target_")
        seed = _seed(self.random_state)
        classifier = self.target_ if hasattr(self.target_, "class_gradient") else \
            to_art(self.target_, access="gradients", random_state=seed)
        labels = _indices(self.classes_, targets, "target label")
        shape = (len(labels), *classifier.input_shape)
        if isinstance(self.init, str):
            if self.init == "zeros":
                x0 = np.zeros(shape)
            elif self.init == "grey":
                x0 = np.full(shape, 0.5)
            else:
                x0 = np.random.default_rng(seed).uniform(0.0, 1.0, size=shape)
        else:
            x0 = np.asarray(self.init, float).reshape((-1, *classifier.input_shape))
            if len(x0) not in (1, len(labels)):
                raise ValueError(f"init holds {len(x0)} images for {len(labels)} targets")
            x0 = np.broadcast_to(x0, shape)
        from art.attacks.inference.model_inversion import MIFace

        attack = MIFace(classifier, max_iter=int(self.max_iter), window_length=int(self.window_length),
                        threshold=float(self.threshold), learning_rate=float(self.learning_rate),
                        batch_size=int(self.batch_size), verbose=bool(self.verbose))
        images = attack.infer(np.array(x0, dtype=np.float32), labels)
        return Reconstruction(images=images, identities=np.asarray(targets))

    @deprecated_call("MIFaceAttack.invert(model, targets)", "MIFaceAttack(...).fit(model).invert(targets).images")
    def _old_invert(self, model, targets) -> np.ndarray:
        return self.fit(model).invert(targets).images


__all__ = [
    "ARTBlackBoxAttack", "ARTRegressor", "ARTTree", "ARTTrueLabelBaseline", "ARTWhiteBoxTreeAttack",
    "MIFaceAttack", "from_art", "to_art", "to_art_regressor", "to_art_tree",
]
