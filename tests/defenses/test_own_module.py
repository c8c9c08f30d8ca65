"""A user's own encoder under every neural defense (module=), its initialisation, threads and the checks that
stop bad hyperparameters and bad numbers (issues 22, 23, 24, 25)."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from torch import nn

from defenses.neural import CNNClassifier, DPSGDClassifier, VIBClassifier
from defenses.neural._torch import build_module, make_generator

FAST = {"epochs": 3, "batch_size": 16, "early_stopping": False, "progress": False}


class Tokens(nn.Module):
    """Token ids → Embedding → Conv1d → LayerNorm → mean over positions: the layer types the old
    initialiser left as uninitialised memory."""

    def __init__(self, vocab: int = 40, width: int = 8):
        super().__init__()
        self.emb = nn.Embedding(vocab, width)
        self.conv = nn.Conv1d(width, width, 3, padding=1)
        self.norm = nn.LayerNorm(width)

    def forward(self, x):
        h = self.conv(self.emb(x).transpose(1, 2)).transpose(1, 2)
        return self.norm(torch.relu(h)).mean(dim=1)


@pytest.fixture(scope="module")
def tokens():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 40, size=(96, 10))
    y = (X[:, :3].mean(axis=1) > 20).astype(int)
    return X, y


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def _params(est):
    return [p.detach().clone() for p in est.module_.parameters()]


def test_every_layer_type_is_initialised_by_its_own_reset_parameters():
    cpu = torch.device("cpu")
    emb = build_module(lambda: nn.Embedding(2000, 16), make_generator(0), cpu)
    assert torch.isfinite(emb.weight).all() and abs(float(emb.weight.std()) - 1.0) < 0.05  # N(0, 1)
    norm = build_module(lambda: nn.LayerNorm(32), make_generator(0), cpu)
    assert torch.equal(norm.weight, torch.ones(32)) and torch.equal(norm.bias, torch.zeros(32))
    conv = build_module(lambda: nn.Conv1d(8, 8, 3), make_generator(0), cpu)
    bound = 1 / math.sqrt(8 * 3)  # kaiming-uniform(a=√5) bound = 1/√fan_in
    assert float(conv.weight.abs().max()) <= bound and float(conv.weight.std()) > bound / 4
    state = torch.get_rng_state()
    again = build_module(lambda: nn.Embedding(2000, 16), make_generator(0), cpu)
    assert torch.equal(again.weight, emb.weight) and torch.equal(state, torch.get_rng_state())


def test_a_token_encoder_with_embedding_conv1d_and_layernorm_trains_under_vib(tokens):
    X, y = tokens
    a = VIBClassifier(1e-2, module=Tokens, random_state=0, **FAST).fit(X, y)
    assert all(torch.isfinite(p).all() for p in a.module_.parameters())
    assert a.module_.k == 4  # the VIB head: k = F / 2 of the encoder's 8 features
    assert np.isfinite(a.predict_proba(X)).all()
    b = VIBClassifier(1e-2, module=Tokens, random_state=0, **FAST).fit(X, y)
    assert all(torch.equal(p, q) for p, q in zip(_params(a), _params(b)))  # same seed, same model
    c = VIBClassifier(1e-2, module=Tokens(), random_state=0, **FAST).fit(X, y)  # an instance, re-initialised
    assert all(torch.equal(p, q) for p, q in zip(_params(a), _params(c)))
    d = VIBClassifier(1e-2, module=Tokens, random_state=1, **FAST).fit(X, y)
    assert not all(torch.equal(p, q) for p, q in zip(_params(a), _params(d)))
    with pytest.raises(ValueError, match="int64"):
        a.predict(X.astype(np.float32))


def test_a_given_module_instance_is_copied_not_trained_in_place(tokens, caplog):
    X, y = tokens
    enc = Tokens()
    before = [p.detach().clone() for p in enc.parameters()]

    class WithRawParameter(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Tokens()
            self.scale = nn.Parameter(torch.full((8,), 2.0))

        def forward(self, x):
            return self.inner(x) * self.scale

    CNNClassifier(module=enc, random_state=0, **FAST).fit(X, y)
    assert all(torch.equal(p, q) for p, q in zip(before, enc.parameters()))
    with caplog.at_level(logging.WARNING, logger="defenses.neural.estimators"):
        m = CNNClassifier(module=WithRawParameter(), random_state=0, **{**FAST, "epochs": 1}).fit(X, y)
    assert "scale" in caplog.text and "reset_parameters" in caplog.text
    assert m.module_.backbone.scale.shape == (8,)


def test_the_head_is_the_defense_s_and_the_encoder_width_is_read_from_one_pass(table):
    X, y = table
    enc = lambda: nn.Sequential(nn.Linear(6, 12), nn.ReLU())  # noqa: E731
    cnn = CNNClassifier(module=enc, random_state=0, **FAST).fit(X, y)
    assert cnn.module_.head.in_features == 12 and cnn.module_.head.out_features == 2
    vib = VIBClassifier(0.01, module=enc, random_state=0, **FAST).fit(X, y)
    assert vib.module_.stats.out_features == 12 and vib.module_.decoder.in_features == 6
    with pytest.raises(ValueError, match=r"\(B, F\)"):
        CNNClassifier(module=nn.Identity, **FAST).fit(X[:, :, None], y)  # (B, 6, 1): not a feature matrix
    with pytest.raises(ValueError, match="module failed"):
        CNNClassifier(module=lambda: nn.Linear(5, 3), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="module must"):
        CNNClassifier(module="resnet", **FAST).fit(X, y)


def test_dp_sgd_on_a_users_module_reports_epsilon_and_logs_opacus_fixes(table, caplog):
    X, y = table
    enc = lambda: nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU())  # noqa: E731
    with caplog.at_level(logging.WARNING, logger="defenses.neural.estimators"):
        m = DPSGDClassifier(1.0, classes=[0, 1], module=enc, delta=1e-3, random_state=0, **FAST).fit(X, y)
    assert m.module_fixes_ == ["1: BatchNorm1d -> GroupNorm"]
    assert "BatchNorm1d -> GroupNorm" in caplog.text and "ModuleValidator" in caplog.text
    assert not any(isinstance(mod, nn.BatchNorm1d) for mod in m.module_.modules())
    assert 0 < m.epsilon_["rdp"] < math.inf and m.epsilon_["prv"] <= m.epsilon_["rdp"]
    plain = DPSGDClassifier(1.0, classes=[0, 1], module=lambda: nn.Sequential(nn.Linear(6, 16), nn.ReLU()), delta=1e-3,
                            random_state=0, **FAST).fit(X, y)
    assert plain.module_fixes_ == []
    state = m.export_state()
    again = DPSGDClassifier.from_state(state, device="cpu", module=enc)
    np.testing.assert_array_equal(again.predict_proba(X), m.predict_proba(X))
    with pytest.raises(ValueError, match="module="):
        DPSGDClassifier.from_state(state, device="cpu")


def test_n_threads_is_set_for_the_estimators_work_and_restored(table):
    X, y = table
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(6, 4)

        def forward(self, x):
            seen.append(torch.get_num_threads())
            return self.lin(x)

    user = torch.get_num_threads()
    torch.set_num_threads(2)  # the user's own setting, which the estimator must leave as it found it
    try:
        m = CNNClassifier(module=Spy, random_state=0, **FAST).fit(X, y)
        assert set(seen) == {1} and torch.get_num_threads() == 2  # default: one thread on the CPU
        seen.clear()
        m.set_params(n_threads=3).predict_proba(X)
        assert set(seen) == {3} and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(user)
    with pytest.raises(ValueError, match="n_threads"):
        CNNClassifier(n_threads=0).fit(X, y)


def test_a_loss_that_overflows_stops_training_naming_the_hyperparameter(tokens):
    X, y = tokens
    with pytest.raises(ValueError, match=r"beta=1e\+308"):
        VIBClassifier(1e308, module=Tokens, random_state=0, **FAST).fit(X, y)
    rng = np.random.default_rng(0)
    images = rng.random((40, 8, 8), dtype=np.float32)
    labels = np.arange(40) % 2
    with pytest.raises(ValueError, match=r"lr=1e\+30"):
        CNNClassifier(lr=1e30, architecture={"channels": (4,), "feature_dim": 8}, random_state=0,
                      **FAST).fit(images, labels)
    with pytest.raises(ValueError, match="inputs reach"):
        CNNClassifier(architecture={"channels": (4,), "feature_dim": 8}, random_state=0,
                      **FAST).fit(images * 1e20, labels)


def test_huge_inputs_at_prediction_raise_with_the_cause_instead_of_nan():
    rng = np.random.default_rng(0)
    images = rng.random((40, 8, 8), dtype=np.float32)
    m = CNNClassifier(architecture={"channels": (4,), "feature_dim": 8}, random_state=0, **FAST).fit(
        images, np.arange(40) % 2)
    with pytest.raises(ValueError, match="not finite.*largest \\|x\\|"):
        m.predict_proba(images * 1e20)
    with pytest.raises(ValueError, match="float32's range"):
        m.predict_proba(images.astype(np.float64) * 1e300)


@pytest.mark.parametrize("kw, match", [
    ({"noise_multiplier": math.inf}, "noise_multiplier must be a finite"),
    ({"noise_multiplier": math.nan}, "noise_multiplier must be a finite"),
    ({"target_epsilon": math.inf}, "target_epsilon must be a finite"),
    ({"noise_multiplier": 1.0, "max_grad_norm": math.inf}, "max_grad_norm"),
    ({"noise_multiplier": 1.0, "delta": math.nan}, "delta"),
])
def test_dp_budget_parameters_must_be_finite(table, kw, match):
    X, y = table
    with pytest.raises(ValueError, match=match):
        DPSGDClassifier(classes=[0, 1], module=lambda: nn.Linear(6, 4), **kw, **FAST).fit(X, y)


def test_an_unreachable_target_epsilon_is_refused_before_opacus_searches(table, monkeypatch):
    import opacus.accountants.utils

    from defenses.neural import _accounting

    def searched(**kwargs):
        raise AssertionError("Opacus' noise search ran")

    monkeypatch.setattr(opacus.accountants.utils, "get_noise_multiplier", searched)
    _accounting.noise_multiplier.cache_clear()  # a memoised search would not run again
    X, y = table
    with pytest.raises(ValueError, match=r"target_epsilon=1e-300 cannot be reached.*epsilon >= 0\.1"):
        DPSGDClassifier(target_epsilon=1e-300, classes=[0, 1], module=lambda: nn.Linear(6, 4), **FAST).fit(X, y)
    with pytest.raises(AssertionError, match="search ran"):  # a reachable target goes on to Opacus' search
        DPSGDClassifier(target_epsilon=5.0, classes=[0, 1], module=lambda: nn.Linear(6, 4), **FAST).fit(X, y)


@pytest.mark.parametrize("device", ["meta", "cuda:7" if not torch.cuda.is_available() else "meta"])
def test_a_device_that_cannot_hold_a_tensor_is_refused(table, device):
    X, y = table
    with pytest.raises(ValueError, match="device"):
        CNNClassifier(module=lambda: nn.Linear(6, 4), device=device, **FAST).fit(X, y)


def test_unfitted_estimators_raise_not_fitted(table):
    X, _ = table
    for est in (CNNClassifier(), VIBClassifier(), DPSGDClassifier(1.0)):
        for method in (est.predict, est.predict_proba, est.decision_function, est.features):
            with pytest.raises(NotFittedError):
                method(X)
