"""Memoised DP-SGD accounting (defenses.neural._accounting, issue 24 item 5): the cached values are those
of fresh Opacus accountants, and a second fit of the same settings does not recompute them."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

pytest.importorskip("opacus")

from opacus.accountants import PRVAccountant, RDPAccountant  # noqa: E402
from opacus.accountants.utils import get_noise_multiplier  # noqa: E402

from defenses.neural import DPSGDClassifier  # noqa: E402
from defenses.neural import _accounting  # noqa: E402

HISTORIES = [((0.8, 0.2, 10),), ((1.1, 1 / 13, 130),), ((2.0, 0.01, 1000),), ((0.9, 0.1, 5), (1.5, 0.1, 20))]


def _fresh(history, delta, accountant, **kw):
    acc = RDPAccountant() if accountant == "rdp" else PRVAccountant()
    acc.history = list(history)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return float(acc.get_epsilon(delta, **kw))


@pytest.mark.parametrize("history", HISTORIES)
def test_cached_epsilon_equals_a_fresh_accountant(history):
    _accounting.epsilon.cache_clear()
    delta = 1e-5
    rdp = _fresh(history, delta, "rdp")
    assert _accounting.epsilon(history, delta, "rdp") == rdp
    assert _accounting.epsilon(history, delta, "rdp") == rdp  # from the cache
    prv = _fresh(history, delta, "prv", eps_error=max(0.01, 1e-3 * rdp))
    assert _accounting.epsilon(history, delta, "prv", max(0.01, 1e-3 * rdp)) == prv
    assert _accounting.epsilon.cache_info()[:2] == (1, 2)  # (hits, misses)


def test_calibration_is_keyed_on_every_setting_and_passes_each_to_opacus(monkeypatch):
    """(A PRV calibration takes seconds; the arguments reaching Opacus are what is checked here.)"""
    import opacus.accountants.utils

    calls = []
    monkeypatch.setattr(opacus.accountants.utils, "get_noise_multiplier", lambda **kw: calls.append(kw) or 1.25)
    _accounting.noise_multiplier.cache_clear()
    settings = [(5.0, 1e-3, 0.2, 1, "prv"), (5.0, 1e-3, 0.2, 1, "rdp"), (4.0, 1e-3, 0.2, 1, "prv"),
                (5.0, 1e-4, 0.2, 1, "prv"), (5.0, 1e-3, 0.1, 1, "prv"), (5.0, 1e-3, 0.2, 2, "prv")]
    for args in settings + settings:
        assert _accounting.noise_multiplier(*args) == 1.25
    assert calls == [{"target_epsilon": t, "target_delta": d, "sample_rate": q, "epochs": e, "accountant": a}
                     for t, d, q, e, a in settings]
    _accounting.noise_multiplier.cache_clear()


def test_unknown_accountant_is_refused():
    with pytest.raises(ValueError, match="accountant"):
        _accounting.epsilon(HISTORIES[0], 1e-3, "gdp")


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    return rng.random((42, 16, 16), dtype=np.float32), np.arange(42) % 4  # 42/8: q = 1/6, not 8/42


KW = {"classes": [0, 1, 2, 3], "epochs": 2, "batch_size": 8, "delta": 1e-3, "early_stopping": False, "progress": False,
      "device": "cpu"}


def test_target_epsilon_fit_is_the_fit_at_opacus_calibrated_sigma(tiny, one_torch_thread):
    """What make_private_with_epsilon did before the cache: σ from get_noise_multiplier at q = 1/len(loader);
    the memoised σ is that number, and the fit the same, weight for weight."""
    import torch

    X, y = tiny
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sigma = get_noise_multiplier(target_epsilon=4.0, target_delta=1e-3, sample_rate=1 / math.ceil(42 / 8),
                                     epochs=2, accountant="rdp")
        calibrated = DPSGDClassifier(target_epsilon=4.0, random_state=3, **KW).fit(X, y)
        direct = DPSGDClassifier(noise_multiplier=sigma, random_state=3, **KW).fit(X, y)
    assert calibrated.noise_multiplier_ == sigma
    assert calibrated.epsilon_ == direct.epsilon_ and calibrated.privacy_ == direct.privacy_
    for a, b in zip(calibrated.module_.state_dict().values(), direct.module_.state_dict().values()):
        assert torch.equal(a, b)
    steps = direct.privacy_["steps"]
    assert direct.epsilon_["rdp"] == _fresh([(sigma, 1 / 6, steps)], 1e-3, "rdp")


def test_a_second_fit_of_the_same_settings_reuses_the_accounting(tiny, one_torch_thread):
    X, y = tiny
    _accounting.epsilon.cache_clear()
    _accounting.noise_multiplier.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = DPSGDClassifier(target_epsilon=6.0, random_state=0, **KW).fit(X, y)
        second = DPSGDClassifier(target_epsilon=6.0, random_state=1, **KW).fit(X, y)
    assert first.privacy_["steps"] == second.privacy_["steps"]  # Poisson batches, fixed step count
    assert first.epsilon_ == second.epsilon_
    assert _accounting.noise_multiplier.cache_info()[:2] == (1, 1)  # (hits, misses)
    assert _accounting.epsilon.cache_info()[:2] == (2, 2)  # RDP and PRV, each computed once
