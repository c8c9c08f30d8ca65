"""DPSGDClassifier's grad_sample_mode: every Opacus mode clips the same per-sample gradients."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from defenses.neural import Classifier, DPSGDClassifier
from defenses.neural.architectures import make_backbone
from defenses.neural.estimators import GRAD_SAMPLE_MODES


def _one_clipped_step(mode: str, X: torch.Tensor, y: torch.Tensor, clip: float) -> torch.Tensor:
    """Parameters after one noise-free DP-SGD step (SGD, lr 1) from a fixed initialisation."""
    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    module = Classifier(make_backbone("cnn-s", 1, (16, 16)), 4)
    opt = torch.optim.SGD(module.parameters(), lr=1.0)
    loader = DataLoader(TensorDataset(X, y), batch_size=len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        made = PrivacyEngine().make_private(module=module, optimizer=opt, data_loader=loader, noise_multiplier=0.0,
                                            max_grad_norm=clip, poisson_sampling=False, grad_sample_mode=mode,
                                            criterion=nn.CrossEntropyLoss())
        if mode == "ghost":
            dp_module, dp_opt, criterion, dp_loader = made
        else:
            (dp_module, dp_opt, dp_loader), criterion = made, nn.functional.cross_entropy
        for xb, yb in dp_loader:
            dp_opt.zero_grad()
            criterion(dp_module(xb), yb).backward()
            dp_opt.step()
    return torch.cat([p.detach().flatten() for p in module.parameters()])


@pytest.mark.parametrize("clip", [0.05, 100.0])  # most per-sample gradients clipped / none clipped
def test_ghost_and_expanded_weights_take_the_step_that_hooks_take(one_torch_thread, clip):
    g = torch.Generator().manual_seed(1)
    X, y = torch.rand(12, 1, 16, 16, generator=g), torch.randint(0, 4, (12,), generator=g)
    start = torch.cat([p.detach().flatten() for p in _init_params()])
    hooks = _one_clipped_step("hooks", X, y, clip)
    assert not torch.allclose(hooks, start)  # the step moved the weights
    for mode in ("ghost", "ew"):
        torch.testing.assert_close(_one_clipped_step(mode, X, y, clip), hooks, rtol=1e-5, atol=1e-6)


def _init_params():
    torch.manual_seed(0)
    return list(Classifier(make_backbone("cnn-s", 1, (16, 16)), 4).parameters())


def test_the_mode_is_validated_and_recorded(one_torch_thread):
    assert GRAD_SAMPLE_MODES == ("auto", "ghost", "hooks", "ew")
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 16, 16), dtype=np.float32), np.repeat(np.arange(4), 10)
    with pytest.raises(ValueError, match="grad_sample_mode"):
        DPSGDClassifier(noise_multiplier=1.0, classes=range(4), grad_sample_mode="functorch!").fit(X, y)
    m = DPSGDClassifier(noise_multiplier=1.0, classes=range(4), epochs=1, batch_size=8, early_stopping=False,
                        device="cpu", random_state=0).fit(X, y)
    assert m.grad_sample_mode_ == "ghost" and np.isfinite(m.epsilon_["rdp"])
