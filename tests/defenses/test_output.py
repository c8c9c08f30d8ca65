"""Output perturbation (docs/defenses.md): properties, ART equivalence, and the wrapper on real models."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LogisticRegression

from defenses import output as O


def _proba(seed: int, n: int = 50, k: int = 6, concentration: float = 0.3) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.full(k, concentration), size=n)


probas = st.builds(_proba, st.integers(0, 2**32 - 1), st.integers(1, 30), st.integers(2, 12),
                   st.sampled_from([0.05, 0.3, 1.0, 5.0]))


@settings(max_examples=100)
@given(probas, st.sampled_from([1e-3, 5e-3, 0.01, 0.05, 0.1, 1 / 3, 0.5, 1.0]))
def test_rounding_is_idempotent_and_on_the_grid(p, r):
    f = O.round_confidences(r)
    once = f(p)
    assert np.array_equal(f(once), once)
    assert np.allclose(once / r, np.round(once / r))
    assert np.all(np.abs(once - p) <= r / 2 + 1e-12)


@settings(max_examples=100)
@given(probas, st.integers(1, 6))
def test_art_rounded_is_idempotent(p, decimals):
    f = O.Rounded(decimals)
    assert np.array_equal(f(f(p)), f(p))


@settings(max_examples=100)
@given(probas, st.sampled_from(["prob", "logit"]))
def test_mixing_zero_is_identity_and_one_is_uniform(p, space):
    assert np.allclose(O.mix_uniform(0.0, space)(p), p, rtol=0, atol=1e-12)
    assert np.allclose(O.mix_uniform(1.0, space)(p), 1.0 / p.shape[1], rtol=0, atol=1e-15)


@settings(max_examples=100)
@given(arrays(np.float64, st.tuples(st.integers(1, 20), st.integers(2, 8)), elements=st.floats(-30, 30)),
       st.floats(0, 1))
def test_logit_mixing_is_a_temperature_and_matches_on_probabilities(z, w):
    f = O.mix_uniform(w, "logit")
    from scipy.special import softmax

    released = f.on_logits(z)
    assert np.allclose(released, (1 - w) * z + w / z.shape[1])
    # softmax of the mixed logits = softmax((1 - w) z) = the map applied to softmax(z)
    assert np.allclose(softmax(released, axis=1), softmax((1 - w) * z, axis=1), atol=1e-12)
    assert np.allclose(f(softmax(z, axis=1)), softmax(released, axis=1), atol=1e-9)


def test_probability_mixing_by_hand():
    p = np.array([[0.7, 0.2, 0.1]])
    assert np.allclose(O.mix_uniform(0.3)(p), [[0.59, 0.24, 0.17]])


@settings(max_examples=100)
@given(probas, st.floats(0, 2), st.integers(0, 2**32 - 1))
def test_uniform_noise_outputs_are_distributions_reproducible_by_seed(p, a, seed):
    out = O.add_uniform_noise(a, rng=seed)(p)
    assert np.all(out >= 0) and np.allclose(out.sum(axis=1), 1.0)
    assert np.array_equal(out, O.add_uniform_noise(a, rng=seed)(p))
    assert np.array_equal(out, O.AddUniformNoise(a, np.random.default_rng(seed))(p))


def test_uniform_noise_definition_and_fresh_noise_per_call():
    p = _proba(1, n=200)
    u = np.random.default_rng(5).uniform(-0.2, 0.2, size=p.shape)
    f = O.add_uniform_noise(0.2, rng=5)
    expected = np.clip(p + u, 0, None)
    assert np.allclose(f(p), expected / expected.sum(axis=1, keepdims=True))
    assert not np.array_equal(f(p), O.add_uniform_noise(0.2, rng=5)(p))  # the second call draws anew
    assert np.array_equal(O.add_uniform_noise(0.0, rng=1)(p), p / p.sum(axis=1, keepdims=True))
    # a row whose every entry is clipped is released as the uniform vector
    assert np.allclose(O.add_uniform_noise(100.0, rng=0)(np.array([[1.0, 0.0]] * 500)).sum(axis=1), 1.0)


@settings(max_examples=100)
@given(probas, st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_gaussian_noise_outputs_are_distributions_reproducible_by_seed(p, scale, seed):
    out = O.GaussianNoise(scale, rng=seed)(p)
    assert np.all(out >= 0) and np.allclose(out.sum(axis=1), 1.0)
    assert np.array_equal(out, O.GaussianNoise(scale, rng=seed)(p))


@pytest.mark.parametrize("make", [lambda rng: O.add_uniform_noise(0.2, rng), lambda rng: O.GaussianNoise(0.1, rng)])
def test_noise_drawn_apart_gives_the_same_release(make):
    # draw_noise + apply is the release in two steps (the simulated updates draw each update's noise
    # from a generator of its own and apply it to a whole block at once)
    p = _proba(2, n=40, k=5)
    f = make(None)
    noise = f.draw_noise(p.shape, np.random.default_rng(11))
    assert np.array_equal(f.apply(p, noise), make(11)(p))
    assert np.array_equal(f.apply(p[:10], noise[:10]), make(11)(p)[:10])  # row by row: no coupling of rows
    with pytest.raises(ValueError, match="noise must have the shape"):
        f.apply(p, noise[:5])
    r = O.round_confidences(0.1)
    assert r.draw_noise(p.shape, 0) is None and np.array_equal(r.apply(p, None), r(p))


@pytest.mark.parametrize("seed", [0, 7])
def test_ours_equal_arts_postprocessors(seed):
    from art.defences import postprocessor as P

    from defenses.interop.art import from_art

    p = np.vstack([_proba(seed, n=300, k=5), _proba(seed + 1, n=20, k=5, concentration=20.0)])
    p[0] = [1.0, 0, 0, 0, 0]
    for theirs in (P.Rounded(2), P.Rounded(1), P.HighConfidence(0.3), P.ReverseSigmoid(1.0, 0.1),
                   P.ReverseSigmoid(3.0, 2.0)):
        ours = from_art(theirs)
        assert np.array_equal(ours(p), theirs(p)), type(theirs).__name__
        assert np.array_equal(ours(p[:, :1]), theirs(p[:, :1])), type(theirs).__name__  # binary, one column
    # GaussianNoise: identical draws when ours uses the legacy generator ART's global one is
    np.random.seed(seed)
    theirs = P.GaussianNoise(scale=0.1)(p)
    assert np.array_equal(from_art(P.GaussianNoise(scale=0.1), rng=np.random.RandomState(seed))(p), theirs)
    logits = np.random.default_rng(seed).normal(size=(30, 4)) * 3  # not probabilities: noise, no renormalising
    np.random.seed(seed)
    assert np.array_equal(O.GaussianNoise(0.5, np.random.RandomState(seed))(logits), P.GaussianNoise(0.5)(logits))
    with pytest.raises(ValueError, match="ClassLabels"):
        from_art(P.ClassLabels())


def test_reverse_sigmoid_by_hand_and_argmax():
    p = np.array([[0.8, 0.2]])
    r = lambda q: 1.0 * (1 / (1 + np.exp(0.1 * np.log((1 - q) / q))) - 0.5)
    raw = np.clip(p - r(p), 0, 1)
    assert np.allclose(O.ReverseSigmoid(1.0, 0.1)(p), raw / raw.sum())
    assert np.allclose(O.HighConfidence(0.25)(np.array([[0.5, 0.3, 0.2]])), [[0.5, 0.3, 0.0]])


def test_bad_parameters_raise_one_clear_error():
    with pytest.raises(ValueError, match="r must"):
        O.round_confidences(0)
    with pytest.raises(ValueError, match="w must"):
        O.mix_uniform(1.5)
    with pytest.raises(ValueError, match="space"):
        O.mix_uniform(0.5, "softmax")
    with pytest.raises(ValueError, match="a must"):
        O.add_uniform_noise(-1)
    with pytest.raises(ValueError, match="rng"):
        O.add_uniform_noise(0.1, rng="seed")
    with pytest.raises(ValueError, match="decimals"):
        O.Rounded(1.5)
    with pytest.raises(ValueError, match="decimals"):
        O.Rounded(0)
    with pytest.raises(ValueError, match="2-d"):
        O.round_confidences(0.1)(np.array([0.2, 0.8]))
    with pytest.raises(ValueError, match="finite"):
        O.HighConfidence()(np.array([[np.nan, 1.0]]))


def test_wrapper_changes_only_what_is_released():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5])
    clf = LogisticRegression().fit(X, y)
    before = clf.coef_.copy()
    wrapped = O.round_confidences(0.1).wrap(clf)  # a fitted estimator: used as it is
    assert np.array_equal(wrapped.predict_proba(X), 0.1 * np.round(clf.predict_proba(X) / 0.1))
    assert np.array_equal(clf.coef_, before)
    assert np.array_equal(wrapped.classes_, clf.classes_)
    assert not hasattr(wrapped, "decision_function")  # a probability-space map releases no logits
    # logit space over an estimator with decision_function: released logits and their softmax
    temp = O.mix_uniform(0.5, "logit").wrap(clf)
    z = clf.decision_function(X)
    assert np.allclose(temp.decision_function(X), 0.5 * z + 0.5 / 3)
    assert np.allclose(temp.predict_proba(X).sum(axis=1), 1)
    assert np.array_equal(temp.predict(X), clf.predict(X))  # a temperature keeps the argmax
    # fit() trains a clone; the perturbation is applied to its outputs
    fresh = O.OutputPerturbedClassifier(LogisticRegression(), O.mix_uniform(1.0)).fit(X, y)
    assert np.allclose(fresh.predict_proba(X), 1 / 3)
    with pytest.raises(ValueError, match="perturbation"):
        O.OutputPerturbedClassifier(LogisticRegression(), "round").fit(X, y)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        O.round_confidences(0.1).wrap(LogisticRegression()).predict_proba(X)


def test_released_ece_equals_the_metric_on_distributions_and_reads_rounded_confidences():
    from defenses.metrics import ece

    rng = np.random.default_rng(3)
    p = _proba(3, n=400, k=5, concentration=0.5)
    y = np.array([rng.choice(5, p=row) for row in p])
    assert O.released_ece(y, p, 15) == pytest.approx(ece(y, p, n_bins=15, n_boot=1).value, abs=1e-12)
    # by hand: confidences 0.95, 0.75, 0.58, 0.52 with correctness 1, 0, 1, 0 (docs/attacks.md, M = 10)
    hand = np.array([[0.95, 0.05], [0.25, 0.75], [0.58, 0.42], [0.48, 0.52]])
    assert O.released_ece(np.array([0, 0, 0, 0]), hand, 10) == pytest.approx(0.225)
    # rounded outputs need not sum to 1: the confidence read is the rounded maximum
    rounded = O.round_confidences(0.5)(np.array([[0.6, 0.2, 0.2], [0.3, 0.3, 0.4]]))  # [.5, 0, 0], [.5, .5, .5]
    assert O.released_ece(np.array([0, 0]), rounded, 10) == pytest.approx(0.5)  # both right at confidence .5
    assert O.released_ece(np.array([0, 2]), rounded, 10) == pytest.approx(0.0)  # one right, one wrong


def test_released_brier_and_nll_score_whole_vectors_and_punish_label_only_releases():
    y = np.array([0, 1, 1])
    p = np.array([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]])
    # by hand: (0.3² + 0.3²) + (0.4² + 0.4²) + (0.9² + 0.9²), over 3
    assert O.released_brier(y, p) == pytest.approx((0.18 + 0.32 + 1.62) / 3, rel=1e-12)
    assert O.released_nll(y, p) == pytest.approx(-(np.log(0.7) + np.log(0.6) + np.log(0.1)) / 3, rel=1e-12)
    label_only = O.round_confidences(1.0)(p)  # [[1, 0], [0, 1], [1, 0]]: one wrong label, in full
    assert O.released_brier(y, label_only) == pytest.approx(2 / 3, rel=1e-12)
    assert O.released_nll(y, label_only, floor=1e-12) == pytest.approx(-np.log(1e-12) / 3, rel=1e-12)
    assert O.released_ece(y, label_only, 15) < O.released_ece(y, p, 15)  # ECE rewards it instead
    with pytest.raises(ValueError, match="column index"):
        O.released_brier(np.array([0, 2, 1]), p)
    with pytest.raises(ValueError, match="floor"):
        O.released_nll(y, p, floor=0.0)
