"""The target protocol: every neural attack runs against a plain nn.Module wrapped by as_target, and gives
exactly what it gives against the toolkit estimator that module came from (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from torch import nn

from defenses import output
from defenses.neural import (
    CNNClassifier,
    GMIAttack,
    KnowledgeAlignmentAttack,
    Target,
    UpdateLeaksAttack,
    VIBClassifier,
    WGANGPPrior,
    as_target,
    simulate_updates,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ARCH = {"channels": (4, 8), "kernel_size": 3, "pool": "max", "feature_dim": 16}


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8×8 digits 0–3, doubled to 16×16 (GMI's generator needs >= 16 pixels)."""
    d = load_digits()
    keep = d.target < 4
    X = (d.images[keep] / 16.0).astype(np.float32).repeat(2, axis=1).repeat(2, axis=2)
    return X[:, None], d.target[keep]


@pytest.fixture(scope="module")
def cnn(digits):
    X, y = digits
    return CNNClassifier(architecture=ARCH, epochs=3, batch_size=32, early_stopping=False, device="cpu",
                         random_state=0, progress=False).fit(X[:400], y[:400])


@pytest.fixture(scope="module")
def plain(cnn):
    """The estimator's trained network as a user would hand it over: a module and its labels."""
    return as_target(cnn.module_, cnn.classes_, input_shape=cnn.input_shape_)


def test_a_module_target_releases_what_the_estimator_releases(cnn, plain, digits):
    X, _ = digits
    assert isinstance(plain, Target) and not plain.stochastic and plain.device == torch.device("cpu")
    np.testing.assert_array_equal(plain.decision_function(X[:50]), cnn.decision_function(X[:50]))
    np.testing.assert_allclose(plain.predict_proba(X[:50]), cnn.predict_proba(X[:50]), rtol=1e-6, atol=1e-7)
    own = as_target(cnn)
    assert own.input_shape == (1, 16, 16) and list(own.classes_) == [0, 1, 2, 3]
    assert as_target(own) is own
    np.testing.assert_array_equal(own.class_index([3, 0]), [3, 0])
    with pytest.raises(ValueError, match="not one of the model's classes"):
        own.class_index([7])


def test_as_target_refuses_what_it_cannot_attack(cnn):
    with pytest.raises(ValueError, match="classes"):
        as_target(cnn.module_)
    with pytest.raises(ValueError, match="distinct"):
        as_target(cnn.module_, [0, 0, 1, 2])
    with pytest.raises(ValueError, match="cannot attack"):
        as_target("a model")
    with pytest.raises(NotFittedError):
        as_target(CNNClassifier())
    with pytest.raises(ValueError, match=r"logits \(B, 5\)"):
        as_target(cnn.module_, 5).logits(torch.zeros(2, 1, 16, 16))


def test_knowledge_alignment_against_a_plain_module(cnn, plain, digits):
    X, _ = digits
    kw = {"ngf": 4, "epochs": 2, "batch_size": 32, "device": "cpu", "random_state": 0, "progress": False}
    ours = KnowledgeAlignmentAttack(**kw).fit(plain, X[400:600])
    theirs = KnowledgeAlignmentAttack(**kw).fit(cnn, X[400:600])
    rec = ours.invert(ours.release(X[:5]))
    assert rec.images.shape == (5, 1, 16, 16) and rec.identities is None
    np.testing.assert_array_equal(rec.images, theirs.invert(theirs.release(X[:5])).images)


def test_update_leaks_against_a_plain_module(cnn, plain, digits):
    X, y = digits
    P = X[600:610]
    np.testing.assert_array_equal(simulate_updates(plain, P, X[:6], y[:6]), simulate_updates(cnn, P, X[:6], y[:6]))
    attack = UpdateLeaksAttack(rounds=1, epochs_per_round=2, device="cpu", random_state=0, progress=False)
    attack.fit(plain, P, X[:40], y[:40])
    res = attack.infer(attack.observe(plain, X[40:50], y[40:50]))
    assert res.guesses.shape == (10,) and set(res.guesses) <= set(cnn.classes_)
    assert res.scores.shape == (10, 4)


def test_update_leaks_against_a_module_that_samples_its_own_noise(cnn, digits):
    X, y = digits

    class Noisy(nn.Module):  # a user's stochastic classifier: noise drawn inside forward
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            logits = self.net(x)
            return logits + 0.1 * torch.randn_like(logits)

    target = as_target(Noisy(cnn.module_), cnn.classes_, stochastic=True, input_shape=(1, 16, 16))
    deltas = simulate_updates(target, X[600:605], X[:4], y[:4])
    assert deltas.shape == (4, 5 * 4) and np.isfinite(deltas).all()


@pytest.fixture(scope="module")
def prior(digits):
    X, _ = digits
    return WGANGPPrior(dim=4, epochs=1, batch_size=32, device="cpu", random_state=0, progress=False).fit(X[:256])


def test_gmi_against_a_plain_module(cnn, plain, prior):
    ours = GMIAttack(prior, iterations=2, n_restarts=2, random_state=0).fit(plain).invert([0, 3])
    theirs = GMIAttack(prior, iterations=2, n_restarts=2, random_state=0).fit(cnn).invert([0, 3])
    np.testing.assert_array_equal(ours.images, theirs.images)
    np.testing.assert_array_equal(ours.target_logit, theirs.target_logit)
    assert list(ours.identities) == [0, 3] and cnn.module_.training is False


def test_miface_against_a_plain_module(cnn, plain):
    pytest.importorskip("art", reason="ART is the optional 'interop' extra")
    from defenses.interop.art import MIFaceAttack

    ours = MIFaceAttack(max_iter=3, random_state=0).fit(plain).invert([1, 2])
    theirs = MIFaceAttack(max_iter=3, random_state=0).fit(cnn).invert([1, 2])
    assert ours.images.shape == (2, 1, 16, 16)
    np.testing.assert_allclose(ours.images, theirs.images, atol=1e-6)


def test_a_vib_target_is_stochastic_and_its_draws_are_replayable(digits):
    X, y = digits
    vib = VIBClassifier(1e-3, architecture=ARCH, epochs=1, batch_size=32, early_stopping=False, device="cpu",
                        random_state=0, progress=False).fit(X[:200], y[:200])
    t = as_target(vib)
    assert t.stochastic and t.network().noise_dim == 8
    np.testing.assert_array_equal(t.predict_proba(X[:5], random_state=3), vib.predict_proba(X[:5], random_state=3))
    net = t.network()
    eps = torch.zeros(5, 8)
    with torch.no_grad():
        mu_logits = net(torch.from_numpy(X[:5]), eps)
    det = as_target(clone(vib).set_params(deterministic_eval=True).fit(X[:200], y[:200]))
    with torch.no_grad():
        np.testing.assert_allclose(mu_logits.numpy(), det.logits(torch.from_numpy(X[:5])).numpy(), rtol=1e-5)


def test_an_output_perturbed_model_releases_perturbed_vectors_through_its_target(cnn, digits):
    X, _ = digits
    rounded = output.round_confidences(0.25).wrap(cnn)
    t = as_target(rounded)
    np.testing.assert_array_equal(t.predict_proba(X[:20]), rounded.predict_proba(X[:20]))
    assert t.perturbation is rounded.perturbation
    with torch.no_grad():  # the white box is the unperturbed network
        np.testing.assert_array_equal(t.logits(torch.from_numpy(X[:3])).numpy(), cnn.decision_function(X[:3]))
    with pytest.raises(ValueError, match="probabilities only"):
        t.decision_function(X[:3])
