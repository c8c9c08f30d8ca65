"""Damaged data files (CSV, IDX, .mat, .pkz, .npz): one clear error naming the file, or the exact data.

For every single-byte change and every truncation of a real file placed in ``data_home`` the loader
either raises :class:`DataFileError` with a one-line message naming that file, or returns exactly the
published data (a byte that carries no content, e.g. a gzip timestamp) — never a silently different
dataset and never another exception.
"""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defenses.datasets import DataFileError, load_faces, load_mnist, load_steak_survey

CASES = {  # file → (loader of a data_home, what to compare)
    "fivethirtyeight/steak-risk-survey.csv": lambda h: load_steak_survey(h, complete_cases=False).data,
    "mnist/t10k-labels-idx1-ubyte.gz": lambda h: load_mnist(h, train=False).target,
    "olivetti/olivettifaces.mat": lambda h: load_faces(h).data,
    "olivetti/olivetti_py3.pkz": lambda h: load_faces(h).data,
    "att_faces/att_faces_92x112.npz": lambda h: load_faces(h, source="att").data,
}


@pytest.fixture(scope="module")
def reference(data_home):
    return {name: np.asarray(load(data_home)) for name, load in CASES.items()}


def _home_with(tmp_path_factory, data_home, name, content: bytes):
    home = tmp_path_factory.mktemp("home")
    (home / name).parent.mkdir(parents=True)
    (home / name).write_bytes(content)
    if name.startswith("mnist/"):  # the images file of the same split, intact
        shutil.copy(data_home / "mnist/t10k-images-idx3-ubyte.gz", home / "mnist")
    return home


def _loads_exactly_or_refuses(home, name, reference):
    try:
        data = CASES[name](home)
    except DataFileError as exc:
        msg = str(exc)
        assert str(home / name) in msg and "\n" not in msg
    else:
        np.testing.assert_array_equal(np.asarray(data), reference[name])


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=12)
@given(where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_a_flipped_bit_is_refused_or_harmless(tmp_path_factory, data_home, reference, name, where, bit):
    content = bytearray((data_home / name).read_bytes())
    content[int(where * len(content))] ^= 1 << bit
    _loads_exactly_or_refuses(_home_with(tmp_path_factory, data_home, name, bytes(content)), name, reference)


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=8)
@given(keep=st.floats(0, 1, exclude_max=True))
def test_a_truncated_file_is_refused(tmp_path_factory, data_home, name, keep):
    content = (data_home / name).read_bytes()
    home = _home_with(tmp_path_factory, data_home, name, content[:int(keep * len(content))])
    with pytest.raises(DataFileError) as info:
        CASES[name](home)
    assert str(home / name) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name, content, what", [
    ("fivethirtyeight/steak-risk-survey.csv", b"a,b\n\xff\xfe,1\n", "not UTF-8"),
    ("fivethirtyeight/steak-risk-survey.csv", b"a,b\n1,2\n", "record 1: 2 fields, expected 15"),
    ("fivethirtyeight/steak-risk-survey.csv", b"\"open quote," + b"," * 14, "ends inside a quoted field"),
    ("fivethirtyeight/steak-risk-survey.csv", b"a,\"b\"c\"\n", "not valid CSV"),
    ("mnist/t10k-labels-idx1-ubyte.gz", b"not gzip at all", "not a valid gzip file"),
    ("mnist/t10k-labels-idx1-ubyte.gz", gzip.compress(b"\x00\x00\x08\x03rest"), "not an unsigned-byte IDX"),
    ("olivetti/olivetti_py3.pkz", b"\x00" * 64, "never opened unless its bytes are the published ones"),
    ("olivetti/olivettifaces.mat", b"MATLAB 5.0" + b"\x00" * 200, "not a readable MATLAB file"),
    ("att_faces/att_faces_92x112.npz", b"PK\x03\x04garbage", "not a readable .npz"),
])
def test_each_format_says_what_is_wrong(tmp_path_factory, data_home, name, content, what):
    home = _home_with(tmp_path_factory, data_home, name, content)
    with pytest.raises(DataFileError, match=what):
        CASES[name](home)


def test_well_formed_files_with_other_content(tmp_path, data_home):
    import joblib
    from scipy.io import savemat

    (tmp_path / "olivetti").mkdir()
    joblib.dump(np.zeros((400, 4096), np.uint8), tmp_path / "olivetti" / "olivetti_py3.pkz")
    with pytest.raises(DataFileError, match="not the published olivetti/olivetti_py3.pkz .*never opened"):
        load_faces(tmp_path)  # a well-formed pickle of other bytes is not even opened
    (tmp_path / "olivetti" / "olivetti_py3.pkz").unlink()
    savemat(tmp_path / "olivetti" / "olivettifaces.mat", {"faces": np.zeros((4096, 400), np.uint8)})
    with pytest.raises(DataFileError, match="content differs from the published file"):
        load_faces(tmp_path)
    savemat(tmp_path / "olivetti" / "olivettifaces.mat", {"faces": np.zeros((4096, 400))}, do_compression=True)
    with pytest.raises(DataFileError, match="holds a float64 array of shape"):
        load_faces(tmp_path)
    savemat(tmp_path / "olivetti" / "olivettifaces.mat", {"faces": np.zeros((4096, 400))})
    with pytest.raises(DataFileError, match=r"\d+ bytes, more than the 2049280 a copy"):
        load_faces(tmp_path)  # refused unread
    savemat(tmp_path / "olivetti" / "olivettifaces.mat", {"faces": np.zeros((40, 40), np.uint8)})
    with pytest.raises(DataFileError, match=r"'faces' has shape \(40, 40\)"):
        load_faces(tmp_path)
    savemat(tmp_path / "olivetti" / "olivettifaces.mat", {"images": np.zeros((3, 3))})
    with pytest.raises(DataFileError, match="no variable 'faces'"):
        load_faces(tmp_path)
    (tmp_path / "mnist").mkdir()
    good = gzip.decompress((data_home / "mnist/t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "mnist/t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(good[:-1] + b"\x09"))
    with pytest.raises(DataFileError, match="content differs"):
        load_mnist(tmp_path, train=False)


def test_crlf_line_ends_are_the_same_survey(tmp_path, data_home):
    relative = "fivethirtyeight/steak-risk-survey.csv"
    (tmp_path / "fivethirtyeight").mkdir()
    (tmp_path / relative).write_bytes((data_home / relative).read_bytes().replace(b"\n", b"\r\n"))
    assert load_steak_survey(tmp_path).data.equals(load_steak_survey(data_home).data)
