"""Metrics with confidence intervals (docs/attacks.md): values, and refusals of mislabelled input."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import f1_score, roc_auc_score

from defenses.metrics import (accuracy, auroc, ece, f1, mse, ovr_auroc, precision, rank_auroc, recall,
                              reliability_diagram)


def test_ece_matches_the_hand_example_of_algorithms_13():
    """c = (0.95, 0.75, 0.58, 0.52), correct = (1, 0, 1, 0), M = 10 ⇒ 0.0125 + 0.1875 + 0.025 = 0.225."""
    c = np.array([0.95, 0.75, 0.58, 0.52])
    proba = np.column_stack([c, 1 - c])
    y = np.array([0, 1, 0, 1])  # the top-1 column is 0 everywhere: right, wrong, right, wrong
    assert ece(y, proba, n_bins=10, n_boot=10).value == pytest.approx(0.225, abs=1e-12)


def test_ece_takes_labels_with_classes_and_refuses_labels_that_are_not_column_indices():
    """The issue's example: labels 10, 11 for the columns of [[.9, .1], [.2, .8]] give 0.15, never 0.85."""
    proba = [[0.9, 0.1], [0.2, 0.8]]
    assert ece([10, 11], proba, classes=[10, 11], n_boot=10).value == pytest.approx(0.15)
    assert ece(["b", "a"], proba, classes=["b", "a"], n_boot=10).value == pytest.approx(0.15)
    assert ece([0, 1], proba, n_boot=10).value == pytest.approx(0.15)
    for y in ([10, 11], [0, 2], [-1, 0], [0.5, 1.0], ["a", "b"]):
        with pytest.raises(ValueError, match="column indices.*classes="):
            ece(y, proba)
    with pytest.raises(ValueError, match="not one of classes"):
        ece([10, 12], proba, classes=[10, 11])
    with pytest.raises(ValueError, match="classes must name the 2 columns"):
        ece([10, 11], proba, classes=[10, 11, 12])
    with pytest.raises(ValueError, match="column indices"):
        reliability_diagram([10, 11], proba)
    d = reliability_diagram([10, 11], proba, n_bins=10, classes=[10, 11])
    assert d["counts"].sum() == 2 and np.nansum(d["accuracy"] * d["counts"]) == 2


@pytest.mark.parametrize("proba", [[[2.0, -1.0], [0.3, 0.7]], [[0.9, 0.3], [0.2, 0.8]], [[np.nan, 1.0], [0.2, 0.8]]])
def test_ece_refuses_scores_that_are_not_probabilities(proba):
    with pytest.raises(ValueError, match="probability distributions"):
        ece([0, 1], proba)


def test_mse_refuses_shapes_that_would_broadcast():
    y = np.arange(5.0)
    assert mse(y, y + 1, n_boot=10).value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        mse(y, (y + 1)[:, None])


def test_accuracy_refuses_text_labels_against_column_indices():
    classes = np.array(["cat", "dog"])
    truth = np.array(["dog", "cat", "dog"])
    proba = np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert accuracy(truth, classes[proba.argmax(axis=1)]).value == 1.0
    with pytest.raises(ValueError, match="different kinds"):
        accuracy(truth, proba.argmax(axis=1))


def test_auroc_maps_score_columns_to_labels_and_refuses_ambiguous_columns():
    rng = np.random.default_rng(0)
    y = rng.choice(["A/A", "A/G", "G/G"], size=300)
    post = rng.dirichlet(np.ones(3), size=300)
    post[np.arange(300), np.searchsorted(["A/A", "A/G", "G/G"], y)] += 0.5
    post /= post.sum(axis=1, keepdims=True)
    ref = roc_auc_score(y, post, multi_class="ovr", average="macro")
    assert auroc(y, post, n_boot=10).value == pytest.approx(ref)
    assert auroc(y, post, labels=["A/A", "A/G", "G/G"], n_boot=10).value == pytest.approx(ref)
    # "G/G" absent from this sample: the default labels would put "G/G"'s column under "A/G"'s name.
    keep = y != "A/G"
    with pytest.raises(ValueError, match="pass labels="):
        auroc(y[keep], post[keep])
    expected = np.mean([roc_auc_score(y[keep] == v, post[keep][:, k]) for k, v in ((0, "A/A"), (2, "G/G"))])
    assert auroc(y[keep], post[keep], labels=["A/A", "A/G", "G/G"], n_boot=10).value == pytest.approx(expected)
    with pytest.raises(ValueError, match="not one of labels"):
        auroc(y, post, labels=["A/A", "A/G", "T/T"])
    with pytest.raises(ValueError, match="one per score column"):
        auroc(y, post, labels=["A/A", "A/G"])
    binary = np.where(y == "G/G", "Yes", "No")
    assert auroc(binary, post[:, 2], n_boot=10).value == pytest.approx(roc_auc_score(binary == "Yes", post[:, 2]))


def test_f1_precision_recall_refuse_a_pos_label_that_never_occurs():
    truth = np.array(["Yes", "No", "No", "Yes", "No"])
    guess = np.array(["Yes", "Yes", "No", "No", "No"])
    assert f1(truth, guess, pos_label="Yes", n_boot=10).value == pytest.approx(0.5)
    assert precision(truth, guess, pos_label="Yes", n_boot=10).value == pytest.approx(0.5)
    assert recall(truth, guess, pos_label="Yes", n_boot=10).value == pytest.approx(0.5)
    for metric in (f1, precision, recall):
        with pytest.raises(ValueError, match="pos_label=1 occurs in neither"):
            metric(truth, guess)  # the default pos_label=1 for "Yes"/"No" labels
    with pytest.raises(ValueError, match="different kinds"):
        f1(truth, (guess == "Yes").astype(int), pos_label="Yes")


def test_macro_f1_averages_over_the_labels_of_the_whole_sample_on_every_resample():
    """A resample that misses the rare label "c" still averages three per-label F1s (one of them 0), as
    the point value does; otherwise the interval would mix two different metrics."""
    rng = np.random.default_rng(1)
    truth = np.r_[rng.choice(["a", "b"], size=38), ["c", "c"]]
    guess = np.where(rng.uniform(size=40) < 0.7, truth, "a")
    est = f1(truth, guess, average="macro", n_boot=100, random_state=0)
    assert est.value == pytest.approx(f1_score(truth, guess, average="macro"))
    labels = np.unique(truth)
    draws = np.random.default_rng(0).integers(0, 40, size=(100, 40))  # the bootstrap's own resamples
    stats = [f1_score(truth[i], guess[i], labels=labels, average="macro", zero_division=0) for i in draws]
    assert [est.low, est.high] == pytest.approx(np.quantile(stats, [0.025, 0.975]).tolist())
    assert np.mean([not np.any(truth[i] == "c") for i in draws]) > 0.05  # the case does arise


# ----------------------------------------------------------------------------------------------------
# rank AUROC (issue 24, item 5): what the Fig. 2(a) units use instead of roc_auc_score


def _auroc_by_pairs(positive, scores) -> Fraction:
    """The definition: P(score of a positive > score of a negative) + P(tie)/2, counted exactly."""
    pos, neg = scores[positive], scores[~positive]
    wins = sum(int(np.sum(p > neg)) * 2 + int(np.sum(p == neg)) for p in pos)
    return Fraction(wins, 2 * len(pos) * len(neg))


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=2, max_size=60),
       st.sampled_from([1.0, 0.1, 1e-9, 3e7]))
def test_rank_auroc_is_the_correctly_rounded_pair_count_and_equals_sklearn(pairs, scale):
    positive = np.array([p for p, _ in pairs])
    scores = np.array([s for _, s in pairs], float) * scale  # small integers: many ties
    if positive.all() or not positive.any():
        with pytest.raises(ValueError, match="one class"):
            rank_auroc(positive, scores)
        return
    value = rank_auroc(positive, scores)
    assert value == float(_auroc_by_pairs(positive, scores))
    assert abs(value - roc_auc_score(positive, scores)) <= 1e-12


def test_rank_auroc_equals_sklearn_on_continuous_scores():
    rng = np.random.default_rng(5)
    for n in (2, 17, 1000, 20_000):
        positive = rng.random(n) < 0.3
        positive[:2] = (True, False)
        scores = rng.normal(size=n) + positive
        assert abs(rank_auroc(positive, scores) - roc_auc_score(positive, scores)) <= 1e-12


def test_macro_ovr_auroc_equals_sklearn_on_the_fig2a_attack_posteriors(data_home):
    from sklearn.linear_model import LinearRegression

    from defenses.linear import NaiveMAPAttack
    from validation.linear import IWPCProblem

    p = IWPCProblem(data_home)
    tr, te = p.split(0, 0, 0.2)
    model = LinearRegression().fit(p.X[tr], p.y[tr])
    attack = NaiveMAPAttack.from_training_data(model, p.X[tr], p.y[tr], p.genotype[tr], p.sensitive_columns,
                                               p.encoding)
    for idx in (tr, te):
        post = attack.infer_proba(model, (p.X[idx], p.y[idx]))
        codes = np.array([p.values.index(v) for v in p.genotype[idx]])
        ref = roc_auc_score(codes, post, multi_class="ovr", average="macro", labels=range(len(p.values)))
        assert abs(ovr_auroc(codes, post) - ref) <= 1e-12


@pytest.mark.parametrize("positive, scores, match", [
    ([True, False, True], [0.1, np.nan, 0.3], "finite"),
    ([True, False], [np.inf, 0.0], "finite"),
    ([True, True], [0.1, 0.2], "one class"),
    ([True, False], [0.1, 0.2, 0.3], "same length"),
])
def test_rank_auroc_refuses_what_has_no_auroc(positive, scores, match):
    with pytest.raises(ValueError, match=match):
        rank_auroc(np.array(positive), np.array(scores))


def test_ovr_auroc_refuses_a_class_that_never_occurs():
    with pytest.raises(ValueError, match="one class"):
        ovr_auroc(np.array([0, 1, 0, 1]), np.full((4, 3), 1 / 3))
