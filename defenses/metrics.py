"""Utility and attack metrics, each with a confidence interval (ALGORITHMS.md §13).

Every metric returns a :class:`Estimate` — the point value and a two-sided interval — so that figures
and reports always carry their uncertainty. Proportions (accuracy) use the exact Clopper–Pearson
interval; everything else uses a seeded percentile bootstrap over test records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

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
    rng = np.random.default_rng(random_state)
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
    """Mean squared error (1/N)·Σ(y − ŷ)², with a bootstrap interval."""
    return bootstrap(lambda a, b: np.mean((a - b) ** 2), np.asarray(y_true, float), np.asarray(y_pred, float), **kw)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray, alpha: float = 0.05) -> Estimate:
    """Fraction of exact matches, with the exact Clopper–Pearson interval."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError("accuracy needs two non-empty arrays of the same shape")
    k = int(np.sum(y_true == y_pred))
    low, high = clopper_pearson(k, y_true.size, alpha)
    return Estimate(k / y_true.size, low, high)


def auroc(y_true: np.ndarray, scores: np.ndarray, labels=None, **kw) -> Estimate:
    """AUROC; for a multi-valued attribute the macro average of one-vs-rest AUROCs.

    ``scores`` is ``(N,)`` for a binary attribute (score of the positive label ``labels[1]``) or
    ``(N, K)`` per-value posteriors with columns in the order of ``labels`` (default: sorted values).
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, float)
    if labels is None:
        labels = np.unique(y_true)
    labels = np.asarray(labels)

    def metric(y, s):
        if s.ndim == 1:
            return roc_auc_score(y == labels[-1], s)
        present = [k for k in range(len(labels)) if 0 < np.sum(y == labels[k]) < len(y)]
        if not present:
            raise ValueError("only one class present")
        return float(np.mean([roc_auc_score(y == labels[k], s[:, k]) for k in present]))

    return bootstrap(metric, y_true, scores, **kw)


def f1(y_true, y_pred, pos_label=1, average: str = "binary", **kw) -> Estimate:
    """F1 = 2PR/(P+R) of ``pos_label`` (``average='binary'``) or the macro F1 (``average='macro'``)."""
    return bootstrap(lambda a, b: f1_score(a, b, pos_label=pos_label, average=average, zero_division=0),
                     np.asarray(y_true), np.asarray(y_pred), **kw)


def precision(y_true, y_pred, pos_label=1, **kw) -> Estimate:
    """Precision TP/(TP+FP) of ``pos_label``, with a bootstrap interval."""
    return bootstrap(lambda a, b: precision_score(a, b, pos_label=pos_label, zero_division=0),
                     np.asarray(y_true), np.asarray(y_pred), **kw)


def recall(y_true, y_pred, pos_label=1, **kw) -> Estimate:
    """Recall TP/(TP+FN) of ``pos_label``, with a bootstrap interval."""
    return bootstrap(lambda a, b: recall_score(a, b, pos_label=pos_label, zero_division=0),
                     np.asarray(y_true), np.asarray(y_pred), **kw)


def reliability_diagram(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Per-bin data of the reliability diagram (Guo et al. 2017).

    Bins ``B_m = ((m−1)/M, m/M]`` of the top-1 confidence; returns bin edges, counts, mean confidence and
    accuracy per bin (NaN for empty bins).
    """
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, float)
    if proba.ndim != 2 or len(proba) != len(y_true) or n_bins < 1:
        raise ValueError("need proba of shape (N, K) matching y_true and n_bins >= 1")
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bins, conf, n_bins) / counts
        acc = np.bincount(bins, correct, n_bins) / counts
    return {"edges": edges, "counts": counts, "confidence": mean_conf, "accuracy": acc}


def ece(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 15, **kw) -> Estimate:
    """Expected calibration error ECE = Σ_m |B_m|/N · |acc(B_m) − conf(B_m)| over ``n_bins`` equal bins."""

    def metric(y, p):
        d = reliability_diagram(y, p, n_bins)
        keep = d["counts"] > 0
        return float(np.sum(d["counts"][keep] / len(y) * np.abs(d["accuracy"][keep] - d["confidence"][keep])))

    return bootstrap(metric, np.asarray(y_true), np.asarray(proba, float), **kw)
