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


def _shared_data() -> Path:
    env = os.environ.get("MID_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _offline_data(tmp_path_factory):
    """No test downloads anything: loaders find the shared data through ``$MID_DATA``, the download cache
    is an empty temporary directory, and a fetch goes to a ``$MID_DATA_URL`` that does not exist (the
    fetch tests serve the shared data on 127.0.0.1 instead)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MID_DATA", str(_shared_data()))
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("MID_DATA_URL", (tmp_path_factory.mktemp("no-mirror") / "absent").as_uri())
        yield


@pytest.fixture(scope="session")
def data_home() -> Path:
    """The shared real-data directory: ``$MID_DATA`` or ``../shared/data`` beside the repo."""
    path = _shared_data()
    if not path.is_dir():
        pytest.fail(f"data directory {path} not found; set MID_DATA to the shared data folder")
    return path


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """Only ``data_home`` and an empty cache are searched (``$MID_DATA`` unset); downloads still fail."""
    monkeypatch.delenv("MID_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's torch code on one thread (small CPU networks train several times faster on one
    thread when the cores are shared) and restore the previous setting afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
