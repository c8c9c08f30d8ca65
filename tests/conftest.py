"""Shared test fixtures: the data directory, the hypothesis profile for CI, the session's torch threads and
the ``--reverse-order`` option.

The suite must pass at any thread count and in any order (CI runs it twice: as usual, and with
``MID_TEST_TORCH_THREADS=2 OMP_NUM_THREADS=2 python -m pytest --reverse-order``). Torch's intra-op threads
are pinned once for the whole session to ``$MID_TEST_TORCH_THREADS`` (default 1): a test never inherits
whatever count an earlier test or the machine's core count left behind.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parents[1]

# A suite started in the background of a non-interactive shell (``cmd &``) inherits SIGINT ignored, and so
# would every command the fault tests interrupt with a real Ctrl-C: an ignored signal stays ignored across
# exec, and Python then never raises KeyboardInterrupt. Ctrl-C is part of what those tests check, so the
# session takes SIGINT back; its children start with the default disposition.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--reverse-order", action="store_true", default=False,
                     help="run the collected tests in reverse order (CI's second run: no test may lean on the "
                          "state an earlier one leaves behind)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--reverse-order"):
        items.reverse()


def _torch_threads() -> int:
    text = os.environ.get("MID_TEST_TORCH_THREADS", "1")
    if not text.isdecimal() or int(text) < 1:
        raise pytest.UsageError(f"MID_TEST_TORCH_THREADS must be an integer >= 1, got {text!r}")
    return int(text)


@pytest.fixture(scope="session", autouse=True)
def torch_threads():
    """Pin torch's intra-op threads for the whole session to ``$MID_TEST_TORCH_THREADS`` (default 1: small CPU
    networks train fastest on one thread when the cores are shared); a no-op where torch is not installed.
    Yields the count."""
    import importlib.util

    threads = _torch_threads()
    if importlib.util.find_spec("torch") is None:
        yield threads
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    yield threads
    torch.set_num_threads(before)


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
def one_torch_thread(torch_threads):
    """A module's torch code runs on the session's pinned thread count (:func:`torch_threads`; one thread
    unless ``$MID_TEST_TORCH_THREADS`` says otherwise) and finds it unchanged at the end: a test that sets
    its own count is reset here."""
    import torch

    torch.set_num_threads(torch_threads)
    yield
    torch.set_num_threads(torch_threads)
