"""Shared test fixtures: the data directory and the hypothesis profile for CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parents[1]

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def data_home() -> Path:
    """The shared real-data directory: ``$MID_DATA`` or ``../shared/data`` beside the repo."""
    env = os.environ.get("MID_DATA")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.fail(f"data directory {path} not found; set MID_DATA to the shared data folder")
    return path


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's torch code on one thread (small CPU networks train several times faster on one
    thread when the cores are shared) and restore the previous setting afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
