"""Differentially private ID3 (DiffP-ID3) of Friedman & Schuster, KDD 2010 (docs/defenses.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mitheory.rng import as_generator

from ._base import BaseCategoricalTree, CategoricalTree, _Builder, contingency, xlog2x

#: Smallest ε per query: the Laplace scale 1/ε' and the sums of noisy counts must stay finite doubles (checked
#: on the steak survey: ε' = 8e-302 grows a finite tree, 8e-309 does not).
MIN_EPSILON_PER_QUERY = 1e-300


@dataclass(frozen=True)
class PrivacyCharge:
    """One pure-ε charge of the budget: ``mechanism`` run at tree ``level`` (parallel over its nodes)."""

    level: int
    mechanism: str
    epsilon: float


def quality(tab: np.ndarray, kind: str) -> np.ndarray:
    """Quality q(T, A) of every candidate attribute from its contingency table ``tab[A, value, class]``.

    ``ig``: Σ_j Σ_c τ_jc log2(τ_jc/τ_j) (= −|T|·conditional entropy); ``gini``: −Σ_j τ_j(1 − Σ_c (τ_jc/τ_j)²);
    ``max``: Σ_j max_c τ_jc.
    """
    tau_j = tab.sum(axis=2)
    if kind == "ig":
        return (xlog2x(tab).sum(axis=2) - xlog2x(tau_j)).sum(axis=1)
    if kind == "gini":
        with np.errstate(divide="ignore", invalid="ignore"):
            sq = np.where(tau_j > 0, (tab ** 2).sum(axis=2) / np.where(tau_j > 0, tau_j, 1.0), 0.0)
        return -(tau_j - sq).sum(axis=1)
    return tab.max(axis=2).sum(axis=1)


def quality_sensitivity(kind: str, n_bound: float) -> float:
    """Sensitivity S(q) (add/remove one record): ig log2(N̄+1) + 1/ln 2, gini 2, max 1."""
    if kind == "ig":
        return float(np.log2(n_bound + 1) + 1 / np.log(2))
    return 2.0 if kind == "gini" else 1.0


def exponential_mechanism(q: np.ndarray, epsilon: float, sensitivity: float, rng: np.random.Generator) -> int:
    """Index drawn with probability ∝ exp(ε·q/(2S)) (Gumbel-max trick, stable for any scale)."""
    logits = epsilon * np.asarray(q, float) / (2 * sensitivity)
    return int(np.argmax(logits + rng.gumbel(size=len(logits))))


class DPID3Classifier(BaseCategoricalTree):
    r"""ε-differentially private ID3 of Friedman & Schuster (2010), "DiffP-ID3".

    The budget ε is split evenly over the ``max_depth + 1`` levels, and within a level into two queries of
    :math:`\varepsilon' = \varepsilon / (2(d+1))` each: a noisy record count
    :math:`N_T = |T| + \mathrm{Lap}(1/\varepsilon')` at every node, then either the exponential mechanism
    (:math:`\Pr[A] \propto \exp(\varepsilon' q(T,A)/(2S(q)))`) choosing the split attribute, or, at a leaf,
    noisy class counts :math:`N_c = |T \cap \{y=c\}| + \mathrm{Lap}(1/\varepsilon')` whose argmax is the
    label. Nodes of one level hold disjoint records (parallel composition), so the total is
    :math:`2\varepsilon'(d+1) = \varepsilon` (pure ε-DP, add/remove-one neighbours). A node becomes a leaf
    when no attribute is left, at depth ``d``, or when :math:`N_T/(t|\mathcal C|) < \sqrt2/\varepsilon'`
    (``t`` = the largest domain among remaining attributes: the average count per (value, class) cell would
    be below the noise's standard deviation). Every value of a chosen attribute gets a child, empty or not.

    The released tree carries only noisy counts: ``tree_.n_samples`` holds :math:`\max(N_T, 0)` and a
    leaf's ``class_counts`` the clipped noisy class counts; an internal node's class counts are the sums over
    its subtree's leaves (post-processing), and their argmax is the label used for rows whose value at that
    node is unseen.

    Parameters
    ----------
    epsilon : float
        Total privacy budget ε > 0.
    max_depth : int, default 5
        Depth ``d`` ≥ 0 (ε is spread over d + 1 levels) [ours: default 5].
    quality : {"max", "gini", "ig"}, default "max"
        Split quality for the exponential mechanism (sensitivities 1, 2, log2(N̄+1) + 1/ln 2)
        [ours: "max", reported by Friedman & Schuster as the most accurate; the MID paper does not say].
    n_bound : float or None, default None
        Public upper bound N̄ on the number of records, required by ``quality="ig"`` (whose sensitivity
        grows with it; the training size itself is private under add/remove adjacency).
    categories : "auto" or list of array-like, default "auto"
        Feature domains; they must be public. "auto" takes a pandas categorical column's categories
        (public answer sets, as :func:`defenses.datasets.load_steak_survey` provides) or an
        :class:`EncodedTable`'s domains; a raw column's values are never read as its domain (``fit``
        refuses: pass the domains).
    classes : array-like or None, default None
        The public class set (columns of ``predict_proba``, in this order). None takes a categorical
        target's categories; labels in a plain array are refused (the set of labels seen is not private:
        one record of a new class would add a column).
    random_state : int, Generator or None
        Source of the Laplace and Gumbel noise.

    Attributes
    ----------
    tree_ : CategoricalTree
    epsilon_per_query_ : float
        ε' = ε / (2(d+1)).
    privacy_ledger_ : list of PrivacyCharge
        The 2(d+1) charges (noisy count, then attribute choice or class histogram, per level); their
        ε sum is ``epsilon``. Levels the tree never reached are charged too (the budget is reserved).
    levels_used_ : int
        Number of levels the released tree has (≤ d + 1).

    References
    ----------
    A. Friedman, A. Schuster, "Data mining with differential privacy", KDD 2010.
    """

    _public_domains_only = True

    def __init__(self, epsilon: float = 1.0, max_depth: int = 5, quality: str = "max",
                 n_bound: float | None = None, categories="auto", classes=None, random_state=None):
        self.epsilon = epsilon
        self.max_depth = max_depth
        self.quality = quality
        self.n_bound = n_bound
        self.categories = categories
        self.classes = classes
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # ε-DP noise in every count: at the default budget on scikit-learn's small check data the tree
        # need not reach its accuracy bar (seeded by random_state, so still deterministic)
        tags.classifier_tags.poor_score = True
        return tags

    def fit(self, X, y) -> "DPID3Classifier":
        """Grow an ε-DP tree on categorical ``X`` and labels ``y``."""
        if not (isinstance(self.epsilon, (int, float)) and np.isfinite(self.epsilon) and self.epsilon > 0):
            raise ValueError(f"epsilon must be a finite number > 0, got {self.epsilon!r}")
        if not (isinstance(self.max_depth, (int, np.integer)) and self.max_depth >= 0):
            raise ValueError(f"max_depth must be an int >= 0, got {self.max_depth!r}")
        if self.epsilon / (2 * (self.max_depth + 1)) < MIN_EPSILON_PER_QUERY:
            raise ValueError(f"epsilon must be >= {2 * (self.max_depth + 1) * MIN_EPSILON_PER_QUERY:g} at max_depth="
                             f"{self.max_depth} (each of its {2 * (self.max_depth + 1)} queries gets epsilon / "
                             f"{2 * (self.max_depth + 1)} >= {MIN_EPSILON_PER_QUERY:g}, so that the noise and its sums "
                             f"stay finite doubles), got {self.epsilon!r}")
        if self.quality not in ("max", "gini", "ig"):
            raise ValueError(f"quality must be 'max', 'gini' or 'ig', got {self.quality!r}")
        if self.n_bound is not None and not (isinstance(self.n_bound, (int, float)) and self.n_bound >= 1):
            raise ValueError(f"n_bound must be None or a number >= 1, got {self.n_bound!r}")
        if self.quality == "ig" and self.n_bound is None:
            raise ValueError("quality='ig' needs n_bound, a public upper bound on the number of records "
                             "(its sensitivity grows with it; the training size itself is private)")
        codes, y_codes = self._fit_encoding(X, y)
        if self.n_bound is not None and len(codes) > self.n_bound:
            raise ValueError(f"the training set has {len(codes)} records, more than n_bound={self.n_bound}")
        gen = as_generator(self.random_state)
        d = int(self.max_depth)
        self.epsilon_per_query_ = float(self.epsilon) / (2 * (d + 1))
        self.privacy_ledger_ = [
            PrivacyCharge(level, mech, self.epsilon_per_query_)
            for level in range(d + 1)
            for mech in ("noisy count", "exponential mechanism or noisy class counts")
        ]
        self.tree_ = self._grow(codes, y_codes, gen)
        self.levels_used_ = self.tree_.max_depth + 1
        return self

    @property
    def epsilon_spent_(self) -> float:
        """Σ ε over :attr:`privacy_ledger_` (equals ``epsilon``)."""
        return float(sum(c.epsilon for c in self.privacy_ledger_))

    def _grow(self, codes: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> CategoricalTree:
        n, n_feat = codes.shape
        n_classes = len(self.classes_)
        n_cat = np.array([len(c) for c in self.categories_])
        kmax = int(n_cat.max())
        eps = self.epsilon_per_query_
        sens = quality_sensitivity(self.quality, self.n_bound)
        threshold = np.sqrt(2) / eps
        builder = _Builder(n_feat, n_classes)
        zeros = np.zeros(n_classes)
        root = builder.add(-1, -1, 0, 0.0, zeros, 0)
        stack = [(root, np.arange(n), np.ones(n_feat, bool))]
        while stack:
            t, idx, unused = stack.pop()
            depth = builder.depth[t]
            noisy_n = len(idx) + rng.laplace(0.0, 1.0 / eps)
            builder.n_samples[t] = max(noisy_n, 0.0)
            remaining = np.flatnonzero(unused)
            t_max = int(n_cat[remaining].max()) if remaining.size else 0
            if remaining.size == 0 or depth >= self.max_depth or noisy_n / (t_max * n_classes) < threshold:
                noisy = np.bincount(y[idx], minlength=n_classes) + rng.laplace(0.0, 1.0 / eps, n_classes)
                builder.class_counts[t] = np.maximum(noisy, 0.0)
                builder.label[t] = int(np.argmax(noisy))
                continue
            tab = contingency(codes[idx], y[idx], remaining, kmax, n_classes)
            f = int(remaining[exponential_mechanism(quality(tab, self.quality), eps, sens, rng)])
            k = int(n_cat[f])
            first = builder.split(t, f, np.zeros(k), np.zeros((k, n_classes)), np.zeros(k, int))
            child_unused = unused.copy()
            child_unused[f] = False
            values = codes[idx, f]
            for v in range(k):
                stack.append((first + v, idx[values == v], child_unused))
        # Post-processing: internal nodes' class counts are their subtrees' sums; label = argmax.
        feature, first_child = np.asarray(builder.feature), np.asarray(builder.first_child)
        for t in np.flatnonzero(feature >= 0)[::-1]:  # children have larger ids than parents
            k = n_cat[feature[t]]
            builder.class_counts[t] = np.sum(builder.class_counts[first_child[t]:first_child[t] + k], axis=0)
            builder.label[t] = int(np.argmax(builder.class_counts[t]))
        return builder.finish(n_cat)
