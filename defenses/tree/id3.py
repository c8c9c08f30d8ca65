"""ID3 with the MID splitting criterion, and the "Priority" defense (docs/defenses.md)."""

from __future__ import annotations

from collections import deque

import numpy as np

from ._base import BaseCategoricalTree, CategoricalTree, _Builder, contingency, entropy_bits, xlog2x

_TIE = 1e-12  # scores within this many bits count as tied; ties go to the lowest feature index
#: Largest λ of the MID criterion C(A) − λ·H(Ŷ): λ·H must stay a finite double (checked on the steak survey:
#: 1e300 grows a tree, 1e307 overflows). Every λ above about 1e20 grows the same tree as λ → ∞.
MAX_LAMBDA = 1e300


def _split_scores(tab: np.ndarray, n_a: np.ndarray, n_t: int, parent_counts: np.ndarray, criterion: str,
                  xlogx: np.ndarray) -> np.ndarray:
    """Homogeneity gain C_t(A) of splitting on each feature, from its integer contingency table
    ``tab[j, a, c]`` (``n_a = tab.sum(2)``); ``xlogx[k] = k·log2 k`` is a lookup table."""
    if criterion == "entropy":
        parent = (xlogx[n_t] - xlogx[parent_counts].sum()) / n_t
        children = (xlogx[n_a] - xlogx[tab].sum(axis=2)).sum(axis=1) / n_t
        return parent - children
    parent = 1.0 - np.sum((parent_counts / n_t) ** 2)
    sq = (tab ** 2).sum(axis=2) / np.maximum(n_a, 1)  # empty children contribute 0
    return parent - (1.0 - sq.sum(axis=1) / n_t)


class ID3Classifier(BaseCategoricalTree):
    r"""Multiway ID3 on categorical features, optionally with the MID criterion C(A) − λ·H(Ŷ).

    At every node the learner picks, among the features not yet used on the path, the feature ``A``
    maximizing

    .. math:: C_t(A) - \lambda \hat H(A),

    where :math:`C_t` is the information gain (bits) or the Gini gain of splitting node ``t`` on ``A``
    and :math:`\hat H(A)` is the empirical entropy (bits) of the predicted labels Ŷ on the training set
    (MID paper, "Decision Trees": Eq. 1 with I(X;Ŷ) = H(Ŷ) for a deterministic model). With
    ``mid_scope="global"`` (default) [ours, docs/defenses.md] Ĥ is the entropy of the *whole tree's*
    predictions on all N training records if ``t`` were split on ``A`` — every other unexpanded node
    predicting its majority label — computed from the global prediction counts
    :math:`m_c(A) = M_c − n_t[\mathrm{maj}(t)=c] + \sum_a n_{t,a}[\mathrm{maj}(t,a)=c]`.
    With ``mid_scope="local"`` Ĥ is the entropy of the children's majority labels weighted by
    :math:`n_{t,a}/n_t`. Both equal plain ID3 (Quinlan 1986) at λ = 0. Ties go to the lowest feature
    index; majority labels break ties toward the lowest class index; empty children become leaves
    with the parent's label.

    Every value of the split feature's domain gets a child, so every row has a path; a value never
    seen at fit time stops a row at the internal node, which predicts its own majority label.

    Parameters
    ----------
    mid_lambda : float, default 0.0
        λ ≥ 0, weight of the MID term.
    max_depth : int or None, default None
        Nodes at this depth become leaves (root depth 0).
    min_samples_split : int, default 2
        Nodes with fewer training records become leaves.
    criterion : {"entropy", "gini"}, default "entropy"
        Homogeneity measure C: information gain (bits) or Gini gain.
    mid_scope : {"global", "local"}, default "global"
        Which predictions Ĥ is computed over (see above).
    growth : {"bfs", "dfs"}, default "bfs"
        Order in which nodes are expanded; matters only for the global MID term (pending nodes keep
        their provisional labels), so it changes the tree only when λ > 0.
    categories : "auto" or list of array-like, default "auto"
        Feature domains. "auto": a pandas categorical column's categories, else the sorted values seen.
    random_state : None
        Unused (ID3 is deterministic); present so that all tree learners share the sweep interface.

    Attributes
    ----------
    tree_ : CategoricalTree
        The fitted tree as plain arrays (split features, children, per-node training counts, labels).
    classes_, categories_, n_features_in_, feature_names_in_
        As in scikit-learn; ``classes_`` are a categorical target's categories, else the sorted labels.
    train_prediction_entropy_ : float
        Ĥ (bits) of the final tree's predictions on the training set.

    References
    ----------
    J. R. Quinlan, "Induction of decision trees", Machine Learning 1(1), 1986.
    T. Wang, Y. Zhang, R. Jia, "Improving robustness to model inversion attacks via mutual information
    regularization", AAAI 2021 (Eq. 1 and "Decision Trees").
    """

    def __init__(self, mid_lambda: float = 0.0, max_depth: int | None = None, min_samples_split: int = 2,
                 criterion: str = "entropy", mid_scope: str = "global", growth: str = "bfs",
                 categories="auto", random_state=None):
        self.mid_lambda = mid_lambda
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.criterion = criterion
        self.mid_scope = mid_scope
        self.growth = growth
        self.categories = categories
        self.random_state = random_state

    def _validate(self) -> None:
        if not (isinstance(self.mid_lambda, (int, float)) and np.isfinite(self.mid_lambda) and self.mid_lambda >= 0):
            raise ValueError(f"mid_lambda must be a finite number >= 0, got {self.mid_lambda!r}")
        if self.mid_lambda > MAX_LAMBDA:
            raise ValueError(f"mid_lambda must be <= {MAX_LAMBDA:g} (lambda * H(Y_hat) overflows a double beyond; every "
                             f"lambda above about 1e20 already grows the lambda -> infinity tree), got {self.mid_lambda!r}")
        if self.max_depth is not None and not (isinstance(self.max_depth, (int, np.integer)) and self.max_depth >= 0):
            raise ValueError(f"max_depth must be None or an int >= 0, got {self.max_depth!r}")
        if not (isinstance(self.min_samples_split, (int, np.integer)) and self.min_samples_split >= 2):
            raise ValueError(f"min_samples_split must be an int >= 2, got {self.min_samples_split!r}")
        if self.criterion not in ("entropy", "gini"):
            raise ValueError(f"criterion must be 'entropy' or 'gini', got {self.criterion!r}")
        if self.mid_scope not in ("global", "local"):
            raise ValueError(f"mid_scope must be 'global' or 'local', got {self.mid_scope!r}")
        if self.growth not in ("bfs", "dfs"):
            raise ValueError(f"growth must be 'bfs' or 'dfs', got {self.growth!r}")

    def fit(self, X, y) -> "ID3Classifier":
        """Grow the tree on categorical ``X`` (DataFrame or 2-D array) and labels ``y``."""
        self._validate()
        codes, y_codes = self._fit_encoding(X, y)
        self._check_priority()
        self.tree_ = self._grow(codes, y_codes)
        pred = self.tree_.label[self.tree_.apply(codes)]
        self.train_prediction_entropy_ = float(entropy_bits(np.bincount(pred, minlength=len(self.classes_))))
        return self

    # Priority hooks (overridden by PriorityID3Classifier).
    def _check_priority(self) -> None:
        pass

    def _candidate_mask(self, unused: np.ndarray, depth: int) -> np.ndarray:
        """Candidate features of nodes at ``depth`` whose unused features are the rows of ``unused``."""
        return unused

    def _grow(self, codes: np.ndarray, y: np.ndarray) -> CategoricalTree:
        if self.growth == "bfs":
            return self._grow_levels(codes, y)
        return self._grow_nodes(codes, y)

    def _grow_levels(self, codes: np.ndarray, y: np.ndarray) -> CategoricalTree:
        """Breadth-first growth one level at a time: contingency tables and gains of all nodes of a level
        in one pass; with the global MID term the choices are then made in node order (each split updates
        the global prediction counts M seen by the next node, exactly as a FIFO queue would)."""
        n, d = codes.shape
        n_classes = len(self.classes_)
        n_cat = np.array([len(c) for c in self.categories_])
        kmax = int(n_cat.max())
        lam = float(self.mid_lambda)
        max_depth = np.inf if self.max_depth is None else self.max_depth
        xlogx = xlog2x(np.arange(n + 1))
        eye = np.eye(n_classes, dtype=np.int64)
        root_counts = np.bincount(y, minlength=n_classes)
        # Nodes are created one level at a time; each level's new nodes form a chunk of arrays.
        root = {"parent": np.array([-1]), "branch": np.array([-1]), "n": np.array([n]),
                "counts": root_counts[None, :], "label": np.array([int(np.argmax(root_counts))]),
                "feature": np.array([-1]), "first_child": np.array([-1]), "path": np.full((1, d), -1)}
        chunks, offset, total = [root], 0, 1
        M = np.zeros(n_classes, np.int64)
        M[root["label"][0]] = n
        loc = np.array([0])                    # the current level's open nodes (indices in the last chunk)
        unused = np.ones((1, d), bool)         # their unused features
        row_node = np.zeros(n, np.int64)       # node (global id) of each row still in an open node, else -1
        depth = 0
        while len(loc):
            chunk = chunks[-1]
            counts = chunk["counts"][loc]
            n_t = counts.sum(axis=1)
            cand = self._candidate_mask(unused, depth)
            open_ = (np.count_nonzero(counts, axis=1) > 1) & (n_t >= self.min_samples_split) & \
                (depth < max_depth) & cand.any(axis=1)
            if not open_.any():
                break
            loc, counts, unused, cand, n_t = loc[open_], counts[open_], unused[open_], cand[open_], n_t[open_]
            m = len(loc)
            slot = np.full(total, -1)
            slot[offset + loc] = np.arange(m)
            rows = np.flatnonzero(row_node >= 0)
            rs = slot[row_node[rows]]
            keep = rs >= 0
            rows, rs = rows[keep], rs[keep]
            pos = ((rs[:, None] * d + np.arange(d)) * kmax + codes[rows]) * n_classes + y[rows, None]
            tab = np.bincount(pos.ravel(), minlength=m * d * kmax * n_classes).reshape(m, d, kmax, n_classes)
            n_a = tab.sum(axis=3)
            labels = chunk["label"][loc]
            maj = np.where(n_a > 0, tab.argmax(axis=3), labels[:, None, None])
            if self.criterion == "entropy":
                parent = (xlogx[n_t] - xlogx[counts].sum(axis=1)) / n_t
                score = parent[:, None] - (xlogx[n_a] - xlogx[tab].sum(axis=3)).sum(axis=2) / n_t[:, None]
            else:
                parent = 1.0 - ((counts / n_t[:, None]) ** 2).sum(axis=1)
                sq = ((tab ** 2).sum(axis=3) / np.maximum(n_a, 1)).sum(axis=2)
                score = parent[:, None] - (1.0 - sq / n_t[:, None])
            score = np.where(cand, score, -np.inf)
            if lam > 0:
                child_pred = (eye[maj] * n_a[..., None]).sum(axis=2)  # (m, d, C)
            if lam > 0 and self.mid_scope == "global":
                chosen = np.empty(m, np.int64)
                for i in range(m):
                    mvec = M - n_t[i] * eye[labels[i]] + child_pred[i]
                    sc = score[i] - lam * (xlogx[n] - xlogx[mvec].sum(axis=1)) / n
                    chosen[i] = np.argmax(sc >= sc.max() - _TIE)
                    M = mvec[chosen[i]]
            else:
                if lam > 0:
                    score = score - lam * (xlogx[n_t][:, None] - xlogx[child_pred].sum(axis=2)) / n_t[:, None]
                chosen = np.argmax(score >= score.max(axis=1, keepdims=True) - _TIE, axis=1)
            # Split every open node: one child per value of its chosen feature, allocated contiguously.
            k = n_cat[chosen]
            firsts = total + np.concatenate([[0], np.cumsum(k)[:-1]])
            chunk["feature"][loc] = chosen
            chunk["first_child"][loc] = firsts
            par = np.repeat(np.arange(m), k)
            branch = np.arange(k.sum()) - np.repeat(firsts - total, k)
            f_par = chosen[par]
            child_path = chunk["path"][loc][par]
            child_path[np.arange(len(par)), f_par] = branch
            new = {"parent": offset + loc[par], "branch": branch, "n": n_a[par, f_par, branch],
                   "counts": tab[par, f_par, branch], "label": maj[par, f_par, branch],
                   "feature": np.full(len(par), -1), "first_child": np.full(len(par), -1), "path": child_path}
            new_node = np.full(n, -1)
            new_node[rows] = firsts[rs] + codes[rows, chosen[rs]]
            row_node = new_node
            next_unused = unused[par]
            next_unused[np.arange(len(par)), f_par] = False
            nonempty = np.flatnonzero(new["n"] > 0)
            offset, total = total, total + len(par)
            chunks.append(new)
            loc, unused = nonempty, next_unused[nonempty]
            depth += 1
        cat = {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}
        depths = np.concatenate([np.full(len(c["n"]), i) for i, c in enumerate(chunks)])
        return CategoricalTree(
            feature=cat["feature"].astype(np.int64), first_child=cat["first_child"].astype(np.int64),
            parent=cat["parent"].astype(np.int64), branch=cat["branch"].astype(np.int64),
            depth=depths.astype(np.int64), n_samples=cat["n"].astype(float),
            class_counts=cat["counts"].astype(float), label=cat["label"].astype(np.int64),
            path=cat["path"].astype(np.int64), n_categories=tuple(int(v) for v in n_cat))

    def _grow_nodes(self, codes: np.ndarray, y: np.ndarray) -> CategoricalTree:
        """Node-by-node growth from a FIFO queue (``bfs``) or a stack (``dfs``)."""
        n, d = codes.shape
        n_classes = len(self.classes_)
        n_cat = np.array([len(c) for c in self.categories_])
        kmax = int(n_cat.max())
        lam = float(self.mid_lambda)
        max_depth = np.inf if self.max_depth is None else self.max_depth
        builder = _Builder(d, n_classes)
        xlogx = xlog2x(np.arange(n + 1))
        root_counts = np.bincount(y, minlength=n_classes)
        root = builder.add(-1, -1, 0, n, root_counts, int(np.argmax(root_counts)))
        M = np.zeros(n_classes, np.int64)
        M[builder.label[root]] = n  # global counts of predicted classes on the training set
        queue = deque([(root, np.arange(n), np.ones(d, bool), root_counts)])
        pop = queue.popleft if self.growth == "bfs" else queue.pop
        eye = np.eye(n_classes, dtype=np.int64)
        while queue:
            t, idx, unused, counts = pop()
            n_t, depth = len(idx), builder.depth[t]
            if np.count_nonzero(counts) <= 1 or n_t < self.min_samples_split or depth >= max_depth:
                continue
            cand = np.flatnonzero(self._candidate_mask(unused[None], depth)[0])
            if cand.size == 0:
                continue
            tab = contingency(codes[idx], y[idx], cand, kmax, n_classes)
            n_a = tab.sum(axis=2)
            maj_t = builder.label[t]
            maj = np.where(n_a > 0, tab.argmax(axis=2), maj_t)
            score = _split_scores(tab, n_a, n_t, counts, self.criterion, xlogx)
            if lam > 0:
                child_pred = (eye[maj] * n_a[..., None]).sum(axis=1)  # (cand, C)
                if self.mid_scope == "global":
                    m, total = M - n_t * eye[maj_t] + child_pred, n
                else:
                    m, total = child_pred, n_t
                score = score - lam * (xlogx[total] - xlogx[m].sum(axis=1)) / total
            j = int(np.flatnonzero(score >= score.max() - _TIE)[0])
            f = int(cand[j])
            k = int(n_cat[f])
            first = builder.split(t, f, n_a[j, :k], tab[j, :k], maj[j, :k])
            M += -n_t * eye[maj_t] + (eye[maj[j, :k]] * n_a[j, :k, None]).sum(axis=0)
            order = np.argsort(codes[idx, f], kind="stable")
            bounds = np.concatenate([[0], np.cumsum(n_a[j, :k].astype(int))])
            child_unused = unused.copy()
            child_unused[f] = False
            children = [(first + v, idx[order[bounds[v]:bounds[v + 1]]], child_unused, tab[j, v])
                        for v in range(k) if bounds[v + 1] > bounds[v]]
            queue.extend(children if self.growth == "bfs" else children[::-1])
        return builder.finish(n_cat)


class PriorityID3Classifier(ID3Classifier):
    """ID3 with the sensitive feature forced at a chosen depth ("Priority", Fredrikson et al. 2015).

    [ours, docs/defenses.md — the 2015 paper's CART variant is recalled, not re-read]: at depth
    ``< priority_depth`` the sensitive feature is not a candidate; at depth ``== priority_depth`` every
    node that the standard stopping rules leave open splits on it; deeper, it is already used on the path.
    ``priority_depth=None`` never uses it (the "bottom" extreme). Root depth is 0; a ``priority_depth``
    at or beyond ``max_depth`` therefore also never uses it. Other features are chosen by the ID3 (or
    MID, with ``mid_lambda > 0``) criterion.

    Parameters
    ----------
    sensitive_feature : str or int
        Column name (DataFrame input) or index of the sensitive feature.
    priority_depth : int or None
        Depth ℓ ≥ 0 at which the sensitive feature is placed.
    mid_lambda, max_depth, min_samples_split, criterion, mid_scope, growth, categories, random_state
        As in :class:`ID3Classifier`.

    References
    ----------
    M. Fredrikson, S. Jha, T. Ristenpart, "Model inversion attacks that exploit confidence information and
    basic countermeasures", CCS 2015 (countermeasures for decision trees).
    """

    def __init__(self, sensitive_feature=0, priority_depth: int | None = 0, mid_lambda: float = 0.0,
                 max_depth: int | None = None, min_samples_split: int = 2, criterion: str = "entropy",
                 mid_scope: str = "global", growth: str = "bfs", categories="auto", random_state=None):
        super().__init__(mid_lambda=mid_lambda, max_depth=max_depth, min_samples_split=min_samples_split,
                         criterion=criterion, mid_scope=mid_scope, growth=growth, categories=categories,
                         random_state=random_state)
        self.sensitive_feature = sensitive_feature
        self.priority_depth = priority_depth

    def _check_priority(self) -> None:
        if self.priority_depth is not None and not (
                isinstance(self.priority_depth, (int, np.integer)) and self.priority_depth >= 0):
            raise ValueError(f"priority_depth must be None or an int >= 0, got {self.priority_depth!r}")
        self.sensitive_index_ = resolve_feature(self, self.sensitive_feature)

    def _candidate_mask(self, unused: np.ndarray, depth: int) -> np.ndarray:
        mask = np.zeros_like(unused)
        s = self.sensitive_index_
        if self.priority_depth is not None and depth == self.priority_depth:
            mask[:, s] = unused[:, s]  # forced: s is the only candidate
        else:
            mask[:] = unused
            mask[:, s] = False
        return mask


def resolve_feature(model: BaseCategoricalTree, feature) -> int:
    """Column index of ``feature`` (a name from ``feature_names_in_`` or an index) in a fitted tree."""
    names = getattr(model, "feature_names_in_", None)
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
        if not 0 <= feature < model.n_features_in_:
            raise ValueError(f"sensitive_feature index {feature} out of range for {model.n_features_in_} features")
        return int(feature)
    if names is not None and feature in list(names):
        return list(names).index(feature)
    raise ValueError(f"sensitive_feature {feature!r} is not a column of the training data")
