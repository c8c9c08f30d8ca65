"""Data files are untrusted input: a planted pickle runs nothing, downloads and decompression are capped.

The attacks: a ``.pkz`` whose unpickling would create a marker file, planted in each directory the loaders
search (``data_home``, ``$MID_DATA``, the cache); a mirror that streams zeros without end, or announces a
huge length; a gzip bomb and a huge sparse file in ``data_home``.
"""

from __future__ import annotations

import gzip
import os
import shutil
import threading
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from defenses.datasets import FILES, DataFileError, DataNotFoundError, cache_dir, load_faces, load_mnist

PKZ, MAT = "olivetti/olivetti_py3.pkz", "olivetti/olivettifaces.mat"
LABELS, IMAGES = "mnist/t10k-labels-idx1-ubyte.gz", "mnist/t10k-images-idx3-ubyte.gz"


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: the file appears if and only if the pickle is loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant(directory, marker):
    (directory / "olivetti").mkdir(parents=True, exist_ok=True)
    import joblib

    joblib.dump(_Payload(marker), directory / PKZ)


def test_the_payload_is_armed(tmp_path):
    import joblib

    marker = tmp_path / "marker"
    _plant(tmp_path, marker)
    joblib.load(tmp_path / PKZ).close()  # what the loader used to do before any check
    assert marker.exists()


@pytest.mark.parametrize("where", ["data_home", "MID_DATA", "cache"])
def test_a_planted_pickle_runs_nothing(tmp_path, monkeypatch, where):
    marker = tmp_path / "marker"
    dirs = {"data_home": tmp_path / "home", "MID_DATA": tmp_path / "env", "cache": tmp_path / "xdg" / "mid-toolkit"}
    for d in dirs.values():
        d.mkdir(parents=True)
    monkeypatch.setenv("MID_DATA", str(dirs["MID_DATA"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == dirs["cache"]
    _plant(dirs[where], marker)
    with pytest.raises(DataFileError, match="never opened unless its bytes are the published ones") as info:
        load_faces(dirs["data_home"])
    assert str(dirs[where] / PKZ) in str(info.value) and "\n" not in str(info.value)
    assert not marker.exists()


def test_beside_the_mat_file_the_pickle_is_never_touched(tmp_path, data_home):
    marker = tmp_path / "marker"
    _plant(tmp_path, marker)
    shutil.copy(data_home / MAT, tmp_path / MAT)
    faces = load_faces(tmp_path)
    assert faces.extra["files"] == [str(tmp_path / MAT)] and not marker.exists()


def test_the_published_pickle_still_loads(tmp_path, data_home):
    (tmp_path / "olivetti").mkdir()
    shutil.copy(data_home / PKZ, tmp_path / PKZ)
    np.testing.assert_array_equal(load_faces(tmp_path).data, load_faces(data_home).data)


# ------------------------------------------------------------------------------------------ size caps


@pytest.fixture
def zeros_server():
    """``(base_url, sent)``: ``/stream/…`` sends zeros without a length until the client hangs up, ``/huge/…``
    announces 10 GB; ``sent`` counts the bytes the server managed to write."""
    sent = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            if self.path.startswith("/huge/"):
                self.send_header("Content-Length", str(10 ** 10))
            self.end_headers()
            chunk = b"\0" * 65536
            try:
                while sent[0] < 1 << 30:  # 1 GiB at most, should the client never hang up
                    self.wfile.write(chunk)
                    sent[0] += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", sent
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("mode, reason", [("stream", "sent more than the"), ("huge", "announces 10000000000 bytes")])
def test_a_download_is_cut_at_the_expected_size(zeros_server, no_data, tmp_path, monkeypatch, mode, reason):
    base, sent = zeros_server
    monkeypatch.setenv("MID_DATA_URL", f"{base}/{mode}")
    cap = FILES[IMAGES].max_bytes  # load_mnist fetches the images first
    assert cap == FILES[IMAGES].size + FILES[IMAGES].size // 4
    with pytest.raises(DataNotFoundError, match=reason) as info:
        load_mnist(tmp_path, train=False)
    assert f"{cap} bytes" in str(info.value) and "\n" not in str(info.value)
    assert not cache_dir().exists() or not any(p.is_file() for p in cache_dir().rglob("*"))
    assert sent[0] < 64 * 2**20  # the client hung up: the server wrote little beyond the socket buffers


def test_a_gzip_bomb_inflates_no_further_than_the_published_file(tmp_path, data_home):
    (tmp_path / "mnist").mkdir()
    shutil.copy(data_home / "mnist/t10k-images-idx3-ubyte.gz", tmp_path / "mnist")
    header = gzip.decompress((data_home / LABELS).read_bytes())[:8]
    bomb = gzip.compress(header + b"\0" * (60 * 2**20), compresslevel=9)  # 60 MiB from ~60 KB
    assert len(bomb) <= FILES[LABELS].max_bytes
    (tmp_path / LABELS).write_bytes(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match=r"decompresses to more than the 10008 bytes"):
            load_mnist(tmp_path, train=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20  # the 60 MiB were never inflated (the intact images file takes ~8 MiB)


def test_a_huge_local_file_is_refused_unread(tmp_path):
    (tmp_path / "mnist").mkdir()
    with open(tmp_path / LABELS, "wb") as fh:  # sparse: 8 GiB on paper, nothing on disk
        fh.truncate(8 * 2**30)
    with pytest.raises(DataFileError, match=r"8589934592 bytes, more than the \d+ a copy"):
        load_mnist(tmp_path, train=False)


def test_every_published_file_fits_its_own_cap(data_home):
    for relative, remote in FILES.items():
        assert os.path.getsize(data_home / relative) <= remote.size < remote.max_bytes, relative
