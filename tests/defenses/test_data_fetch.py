"""Fetching missing data files, against a local HTTP server on 127.0.0.1 serving the shared data.

No test here touches the internet: ``$MID_DATA_URL`` (or a patched registry entry) points every download
at the local server, whose paths pick its behaviour: ``/ok/`` serves the files, ``/corrupt/`` flips a byte,
``/e500/`` answers 500, ``/short/`` closes the connection half-way, ``/slow/`` waits before answering.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from defenses.datasets import (
    FILES,
    DataFileError,
    DataNotFoundError,
    cache_dir,
    load_faces,
    load_mnist,
    load_steak_survey,
    search_path,
)
from defenses.datasets import _files

MNIST_TEST = ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="module")
def server(data_home):
    """``(base_url, requests)``: a threaded HTTP server over the shared data and the paths it was asked for."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            requests.append(self.path)
            mode, _, relative = self.path.lstrip("/").partition("/")
            path = Path(data_home, relative)
            if mode == "e500":
                return self.send_error(500)
            if not path.is_file():
                return self.send_error(404)
            body = path.read_bytes()
            if mode == "slow":
                time.sleep(1.0)
            if mode == "corrupt":
                body = body[:len(body) // 2] + bytes([body[len(body) // 2] ^ 1]) + body[len(body) // 2 + 1:]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2] if mode == "short" else body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def mirror(server, no_data, monkeypatch):
    """Point downloads at the local server's ``mode``; returns the list of requests it received."""
    base, requests = server

    def use(mode: str) -> list[str]:
        monkeypatch.setenv("MID_DATA_URL", f"{base}/{mode}")
        requests.clear()
        return requests

    return use


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cache_files() -> list[str]:
    return sorted(str(p.relative_to(cache_dir())) for p in cache_dir().rglob("*") if p.is_file())


def test_pinned_checksums_are_those_of_the_shared_data(data_home):
    for relative, remote in FILES.items():
        assert _sha(data_home / relative) in remote.sha256, relative
        assert all(url.startswith("https://") for url in remote.urls)
    assert FILES["olivetti/olivettifaces.mat"].urls and FILES["mnist/train-images-idx3-ubyte.gz"].urls


def test_search_order_is_data_home_then_mid_data_then_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MID_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert search_path(tmp_path / "home") == [tmp_path / "home", tmp_path / "env", tmp_path / "xdg" / "mid-toolkit"]
    monkeypatch.delenv("MID_DATA")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert search_path() == [Path.home() / ".cache" / "mid-toolkit"]


@pytest.mark.parametrize("load, files", [
    (lambda: load_mnist(train=False), MNIST_TEST),
    (load_steak_survey, ("fivethirtyeight/steak-risk-survey.csv",)),
    (load_faces, ("olivetti/olivettifaces.mat",)),  # the public original, not scikit-learn's local cache
    (lambda: load_faces(source="att"), ("att_faces/att_faces_92x112.npz",)),
], ids=["mnist", "steak", "olivetti", "att"])
def test_missing_files_are_fetched_verified_and_cached(mirror, data_home, capfd, load, files):
    requests = mirror("ok")
    fetched = load()
    assert _cache_files() == sorted(files)
    assert [_sha(cache_dir() / f) for f in files] == [_sha(data_home / f) for f in files]
    assert fetched.extra["files"] == [str(cache_dir() / f) for f in files]
    assert sorted(requests) == sorted(f"/ok/{f}" for f in files)
    assert all(f"downloading {f}" in capfd.readouterr().err for f in files[:1])  # progress on stderr
    again = load()  # found in the cache: nothing is downloaded twice
    assert len(requests) == len(files)
    np.testing.assert_array_equal(np.asarray(again.target), np.asarray(fetched.target))


def test_the_fetched_data_equals_the_local_data(mirror, data_home):
    mirror("ok")
    fetched, local = load_mnist(train=False), load_mnist(data_home, train=False)
    np.testing.assert_array_equal(fetched.data, local.data)
    np.testing.assert_array_equal(fetched.target, local.target)


def _one_line_naming_the_remedies(exc: BaseException, url: str) -> str:
    msg = str(exc)
    assert "\n" not in msg and "MID_DATA" in msg and str(cache_dir()) in msg and url in msg
    return msg


@pytest.mark.parametrize("mode, reason", [
    ("corrupt", "nothing was saved"),
    ("e500", "HTTP 500"),
    ("ok/no-such-folder", "HTTP 404"),
    ("short", "connection closed after"),
])
def test_a_failed_download_saves_nothing_and_says_so_in_one_line(mirror, server, mode, reason):
    mirror(mode)
    with pytest.raises(DataNotFoundError) as info:
        load_steak_survey()
    msg = _one_line_naming_the_remedies(info.value, f"{server[0]}/{mode}/fivethirtyeight/steak-risk-survey.csv")
    assert reason in msg
    assert _cache_files() == []  # no partial or unverified file is left behind
    assert isinstance(info.value, FileNotFoundError)


def test_a_checksum_mismatch_names_both_digests(mirror):
    mirror("corrupt")
    with pytest.raises(DataNotFoundError, match=r"SHA-256 [0-9a-f]{16}\.\.\., not the published cc25080bf53209ba"):
        load_steak_survey()


def test_connection_refused_and_no_answer(mirror, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MID_DATA_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(DataNotFoundError, match="refused") as info:
        load_mnist(train=False)
    _one_line_naming_the_remedies(info.value, f"http://127.0.0.1:{port}/mnist/t10k-images-idx3-ubyte.gz")
    mirror("slow")
    monkeypatch.setattr(_files, "TIMEOUT_S", 0.2)
    with pytest.raises(DataNotFoundError, match="no answer within 0.2 s"):
        load_steak_survey()
    assert _cache_files() == []


def test_the_next_mirror_is_tried_after_a_failure(server, no_data, monkeypatch, data_home):
    base, requests = server
    monkeypatch.delenv("MID_DATA_URL")
    name = "mnist/t10k-labels-idx1-ubyte.gz"
    remote = FILES[name]
    monkeypatch.setitem(FILES, name, _files.DataFile((f"{base}/e500/{name}", f"{base}/ok/{name}"),
                                                     remote.sha256, remote.content_sha256, remote.size))
    requests.clear()
    assert _files.locate(name) == cache_dir() / name
    assert requests == [f"/e500/{name}", f"/ok/{name}"] and _sha(cache_dir() / name) == _sha(data_home / name)


def test_no_download_when_switched_off_or_without_a_public_original(mirror, monkeypatch):
    requests = mirror("ok")
    with pytest.raises(DataNotFoundError, match="downloading is switched off"):
        load_steak_survey(download=False)
    monkeypatch.delenv("MID_DATA_URL")  # the stacked ORL file exists only where someone built it
    with pytest.raises(DataNotFoundError, match="att_faces_92x112.npz not found in .* no public download"):
        load_faces(source="att")
    assert requests == [] and _cache_files() == []


def test_a_file_in_data_home_wins_and_a_damaged_one_is_not_skipped(tmp_path, data_home):
    relative = "fivethirtyeight/steak-risk-survey.csv"
    (tmp_path / "fivethirtyeight").mkdir()
    (tmp_path / relative).write_bytes((data_home / relative).read_bytes()[:-2000])
    with pytest.raises(DataFileError, match=str(tmp_path / relative)):
        load_steak_survey(tmp_path)  # $MID_DATA holds a good copy, but data_home's copy comes first


def test_an_unwritable_cache_is_reported(mirror, tmp_path, monkeypatch):
    mirror("ok")
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    with pytest.raises(DataNotFoundError, match="cannot write the download cache"):
        load_steak_survey()
