"""Utility and attack metrics, each with a confidence interval (docs/attacks.md).

Every metric returns a :class:`Estimate` — the point value and a two-sided interval — so that figures
and reports always carry their uncertainty. Proportions (accuracy) use the exact Clopper–Pearson
interval; everything else uses a seeded percentile bootstrap over test records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from mitheory.rng import as_generator
from mitheory.stats import clopper_pearson


@dataclass(frozen=True)
class Estimate:
    """A metric value with its ``1 − alpha`` confidence interval ``[low, high]``."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def bootstrap(
    metric: Callable[..., float],
    *arrays: np.ndarray,
    n_boot: int = 1000,
    alpha: float = 0.05,
    random_state: int | np.random.Generator | None = 0,
) -> Estimate:
    """Percentile bootstrap of ``metric(*arrays)`` resampling rows (records) with replacement.

    Resamples on which the metric is undefined (raises ``ValueError``, e.g. one class absent for AUROC)
    are skipped; at least half of them must succeed.
    """
    arrays = tuple(np.asarray(a) for a in arrays)
    n = len(arrays[0])
    if n == 0 or any(len(a) != n for a in arrays):
        raise ValueError("bootstrap needs non-empty arrays of equal length")
    rng = as_generator(random_state)
    value = float(metric(*arrays))
    stats = []
    for idx in rng.integers(0, n, size=(n_boot, n)):
        try:
            stats.append(float(metric(*(a[idx] for a in arrays))))
        except ValueError:
            continue
    if len(stats) < n_boot // 2:
        raise ValueError("metric undefined on most bootstrap resamples; too few records")
    low, high = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return Estimate(value, float(low), float(high))


def mse(y_true: np.ndarray, y_pred: np.ndarray, **kw) -> Estimate:
    """Mean squared error (1/N)·Σ(y − ŷ)², with a bootstrap interval.

    ``y_true`` and ``y_pred`` must have the same shape (an (N,) target against (N, 1) predictions would
    otherwise broadcast to N² differences).
    """
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"mse needs y_true and y_pred of the same shape, got {y_true.shape} and {y_pred.shape}")
    return bootstrap(lambda a, b: np.mean((a - b) ** 2), y_true, y_pred, **kw)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray, alpha: float = 0.05) -> Estimate:
    """Fraction of exact matches, with the exact Clopper–Pearson interval.

    Refuses string labels compared with numbers (e.g. class names against column indices from an
    ``argmax``), which would match nowhere.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError("accuracy needs two non-empty arrays of the same shape")
    _check_same_label_kind(y_true, y_pred)
    k = int(np.sum(y_true == y_pred))
    low, high = clopper_pearson(k, y_true.size, alpha)
    return Estimate(k / y_true.size, low, high)


def auroc(y_true: np.ndarray, scores: np.ndarray, labels=None, **kw) -> Estimate:
    """AUROC; for a multi-valued attribute the macro average of one-vs-rest AUROCs.

    ``scores`` is ``(N,)`` for a binary attribute (score of the positive label ``labels[1]``) or
    ``(N, K)`` per-value posteriors with columns in the order of ``labels``. ``labels`` defaults to the
    sorted values of ``y_true``, which must then number exactly 2 (binary) or K — a value absent from
    ``y_true`` would otherwise shift every later column onto the wrong label; pass ``labels`` whenever
    some value may be absent. Every value of ``y_true`` must be one of ``labels``. On a bootstrap
    resample, one-vs-rest terms of values absent from it are left out of the average.
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, float)
    if scores.ndim not in (1, 2) or len(scores) != len(y_true):
        raise ValueError(f"scores must be (N,) or (N, K) with N = len(y_true) = {len(y_true)}, got {scores.shape}")
    columns = 2 if scores.ndim == 1 else scores.shape[1]
    if labels is None:
        labels = np.unique(y_true)
        if len(labels) != columns:
            raise ValueError(f"y_true has {len(labels)} distinct values but the scores describe {columns} labels; "
                             "pass labels= in the order of the score columns")
    labels = np.asarray(labels)
    if len(labels) != columns or len(np.unique(labels)) != columns:
        raise ValueError(f"labels must be {columns} distinct values (one per score column), got {list(labels)}")
    _label_positions(y_true, labels, "labels")

    def metric(y, s):
        if s.ndim == 1:
            return roc_auc_score(y == labels[-1], s)
        present = [k for k in range(len(labels)) if 0 < np.sum(y == labels[k]) < len(y)]
        if not present:
            raise ValueError("only one class present")
        return float(np.mean([roc_auc_score(y == labels[k], s[:, k]) for k in present]))

    return bootstrap(metric, y_true, scores, **kw)


def f1(y_true, y_pred, pos_label=1, average: str = "binary", **kw) -> Estimate:
    """F1 = 2PR/(P+R) of ``pos_label`` (``average='binary'``) or the macro F1 (``average='macro'``, over
    the labels of the whole sample, also on bootstrap resamples that miss some)."""
    y_true, y_pred = _checked_labels(y_true, y_pred, pos_label if average == "binary" else None)
    labels = np.unique(np.concatenate([y_true, y_pred])) if average == "macro" else None
    return bootstrap(lambda a, b: f1_score(a, b, labels=labels, pos_label=pos_label, average=average,
                                           zero_division=0), y_true, y_pred, **kw)


def precision(y_true, y_pred, pos_label=1, **kw) -> Estimate:
    """Precision TP/(TP+FP) of ``pos_label``, with a bootstrap interval."""
    y_true, y_pred = _checked_labels(y_true, y_pred, pos_label)
    return bootstrap(lambda a, b: precision_score(a, b, pos_label=pos_label, zero_division=0), y_true, y_pred, **kw)


def recall(y_true, y_pred, pos_label=1, **kw) -> Estimate:
    """Recall TP/(TP+FN) of ``pos_label``, with a bootstrap interval."""
    y_true, y_pred = _checked_labels(y_true, y_pred, pos_label)
    return bootstrap(lambda a, b: recall_score(a, b, pos_label=pos_label, zero_division=0), y_true, y_pred, **kw)


def _check_same_label_kind(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    textual = [a.dtype.kind in "USO" and a.size > 0 and isinstance(a.flat[0], str) for a in (y_true, y_pred)]
    if textual[0] != textual[1]:
        raise ValueError("y_true and y_pred hold labels of different kinds (text against numbers); map both to "
                         "the same labels (e.g. classes_[argmax] rather than argmax)")


def _checked_labels(y_true, y_pred, pos_label) -> tuple[np.ndarray, np.ndarray]:
    """Equal-shape label arrays; with ``pos_label``, it must occur in one of them (so that a wrong
    ``pos_label`` — e.g. the default 1 for "Yes"/"No" labels — is not silently scored 0)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or y_true.size == 0:
        raise ValueError(f"need two non-empty 1-D label arrays of the same shape, got {y_true.shape} and "
                         f"{y_pred.shape}")
    _check_same_label_kind(y_true, y_pred)
    if pos_label is not None and not (np.any(y_true == pos_label) or np.any(y_pred == pos_label)):
        raise ValueError(f"pos_label={pos_label!r} occurs in neither y_true nor y_pred (labels seen: "
                         f"{sorted(set(np.concatenate([y_true, y_pred]).tolist()), key=str)[:10]})")
    return y_true, y_pred


def _plain(value):
    """A numpy scalar as the Python value it holds (for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _label_positions(y: np.ndarray, labels: np.ndarray, name: str) -> np.ndarray:
    """Position of each ``y`` in ``labels``; refuses values that are not among them."""
    pos = pd.Index(labels).get_indexer(np.asarray(y, dtype=object))
    if (pos < 0).any():
        raise ValueError(f"y_true has the value {_plain(np.asarray(y)[pos < 0][0])!r}, which is not one of "
                         f"{name} {np.asarray(labels).tolist()[:10]}")
    return pos


def _proba_columns(y_true, proba, classes) -> tuple[np.ndarray, np.ndarray]:
    """(column index of each true label, proba) after checking both.

    Without ``classes``, ``y_true`` must already be column indices 0..K−1 of ``proba``; with it (the
    column order, e.g. an estimator's ``classes_``), ``y_true`` holds labels from ``classes``.
    """
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, float)
    if proba.ndim != 2 or len(proba) != len(y_true) or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"need proba of shape (N, K) and y_true of shape (N,), got {proba.shape} and {y_true.shape}")
    if not np.all(np.isfinite(proba)) or (proba < 0).any() or not np.allclose(proba.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("proba rows must be probability distributions (non-negative, summing to 1), not scores "
                         "or logits")
    k = proba.shape[1]
    if classes is not None:
        classes = np.asarray(classes)
        if len(classes) != k:
            raise ValueError(f"classes must name the {k} columns of proba, got {len(classes)}")
        return _label_positions(y_true, classes, "classes"), proba
    if y_true.dtype.kind in "iuf":
        bad = ~((y_true >= 0) & (y_true < k) & (y_true == np.floor(y_true)))
    else:
        bad = np.ones(len(y_true), bool)
    if bad.any():
        raise ValueError(f"y_true must be column indices 0..{k - 1} of proba; it holds other labels "
                         f"(e.g. {_plain(y_true[bad][0])!r}) — pass classes= (the column order of proba, e.g. "
                         "classes_)")
    return y_true.astype(np.int64), proba


def reliability_diagram(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 15,
                        classes=None) -> dict[str, np.ndarray]:
    """Per-bin data of the reliability diagram (Guo et al. 2017).

    Bins ``B_m = ((m−1)/M, m/M]`` of the top-1 confidence; returns bin edges, counts, mean confidence and
    accuracy per bin (NaN for empty bins). ``y_true`` holds column indices of ``proba``, or labels from
    ``classes`` (the column order, e.g. an estimator's ``classes_``) when that is given.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    y_idx, proba = _proba_columns(y_true, proba, classes)
    return _reliability(y_idx, proba, n_bins)


def _reliability(y_idx: np.ndarray, proba: np.ndarray, n_bins: int) -> dict[str, np.ndarray]:
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_idx).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bins, conf, n_bins) / counts
        acc = np.bincount(bins, correct, n_bins) / counts
    return {"edges": edges, "counts": counts, "confidence": mean_conf, "accuracy": acc}


def ece(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 15, classes=None, **kw) -> Estimate:
    """Expected calibration error ``ECE = Σ_m |B_m|/N · |acc(B_m) − conf(B_m)|`` over ``n_bins`` equal bins.

    ``y_true`` holds column indices of ``proba`` — or, with ``classes`` (the column order, e.g. an
    estimator's ``classes_``), labels from ``classes``; labels that are not valid column indices are
    refused rather than scored as misses. ``proba`` rows must be probability distributions.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    y_idx, proba = _proba_columns(y_true, proba, classes)

    def metric(y, p):
        d = _reliability(y, p, n_bins)
        keep = d["counts"] > 0
        return float(np.sum(d["counts"][keep] / len(y) * np.abs(d["accuracy"][keep] - d["confidence"][keep])))

    return bootstrap(metric, y_idx, proba, **kw)
