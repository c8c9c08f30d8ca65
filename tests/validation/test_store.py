"""validation.store: atomic JSON documents and the append-only resumable result store."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from validation.store import ResultStore, StoreError, check_store_file, write_json_atomic

SETTINGS = {"grid": [1, 2]}


def _store_with(path, n=4):
    store = ResultStore(path, SETTINGS)
    for k in range(n):
        store.put(f"k={k}", {"v": k / 3, "name": "é"})
    return {f"k={k}": {"v": k / 3, "name": "é"} for k in range(n)}


def test_write_json_atomic_leaves_no_temporary_files(tmp_path):
    path = write_json_atomic(tmp_path / "sub" / "a.json", {"x": [1, 2.5]})
    assert json.loads(path.read_text()) == {"x": [1, 2.5]}
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]
    with pytest.raises(ValueError):
        write_json_atomic(path, {"x": float("nan")})
    assert json.loads(path.read_text()) == {"x": [1, 2.5]}  # the old document survives a failed write


def test_store_resumes_and_drops_a_record_cut_short(tmp_path):
    path = tmp_path / "runs.jsonl"
    store = ResultStore(path, SETTINGS)
    for k in range(3):
        store.put(f"k={k}", {"v": k / 3})
    with open(path, "a") as fh:  # an interruption in the middle of writing a fourth record
        fh.write('{"key": "k=3", "val')
    again = ResultStore(path, SETTINGS)
    assert again.results == {f"k={k}": {"v": k / 3} for k in range(3)}
    assert again.repaired_line == 5
    assert again.get_or_compute("k=3", lambda: {"v": 1.0}) == {"v": 1.0}
    assert ResultStore(path, SETTINGS).results["k=3"] == {"v": 1.0}
    with pytest.raises(ValueError, match="other settings"):
        ResultStore(path, {"grid": [1, 2, 3]})


@settings(max_examples=60)
@given(cut=st.integers(min_value=0, max_value=10**6))
def test_a_store_cut_at_any_byte_resumes_with_the_records_before_the_cut(tmp_path_factory, cut):
    path = tmp_path_factory.mktemp("cut") / "runs.jsonl"
    expected = _store_with(path)
    data = path.read_bytes()
    header = data.index(b"\n") + 1
    cut = header + cut % (len(data) - header + 1)
    path.write_bytes(data[:cut])
    complete = data[:cut].count(b"\n") - 1  # records whose newline survived the cut
    store = ResultStore(path, SETTINGS)
    assert store.results == dict(list(expected.items())[:complete])
    assert path.read_bytes() == data[:data.rfind(b"\n", 0, cut) + 1]  # exactly the torn tail is dropped


@pytest.mark.parametrize("line, what", [
    (b"garbage", "not JSON"),
    (b'{"k": 1}', "not a {\"key\""),
    (b"[1, 2]", "not a {\"key\""),
    (b'{"key": 7, "value": 1}', "not a {\"key\""),
    (b'{"key": "a", "value": 1, "settings": {}}', "not a {\"key\""),
    (b'{"key": "a", "value": NaN}', "not JSON (NaN"),
    (b'{"key": "a", "value": "caf\xe9"}', "not valid UTF-8"),
    (b"", "empty"),
])
def test_a_store_damaged_in_the_middle_is_refused_with_file_and_line(tmp_path, line, what):
    path = tmp_path / "runs.jsonl"
    _store_with(path)
    lines = path.read_bytes().split(b"\n")
    lines[2] = line  # the second record, with two good records after it
    damaged = b"\n".join(lines)
    path.write_bytes(damaged)
    with pytest.raises(StoreError, match=r"runs\.jsonl, line 3: ") as info:
        ResultStore(path, SETTINGS)
    assert what in str(info.value) and "delete that line" in str(info.value) and "\n" not in str(info.value)
    assert path.read_bytes() == damaged  # nothing is truncated or rewritten


@settings(max_examples=80)
@given(junk=st.binary(min_size=0, max_size=40).filter(lambda b: b"\n" not in b))
def test_any_replacement_of_a_middle_line_is_read_or_refused_never_mangled(tmp_path_factory, junk):
    path = tmp_path_factory.mktemp("junk") / "runs.jsonl"
    expected = _store_with(path, n=3)
    lines = path.read_bytes().split(b"\n")
    lines[2] = junk
    path.write_bytes(b"\n".join(lines))
    try:
        store = ResultStore(path, SETTINGS)
    except StoreError as exc:
        assert "line 3:" in str(exc)
    else:  # the junk happens to be a record: the two good records around it survive
        assert store.results["k=0"] == expected["k=0"] and store.results["k=2"] == expected["k=2"]


def test_an_unterminated_last_line_that_is_not_a_record_is_refused(tmp_path):
    path = tmp_path / "runs.jsonl"
    _store_with(path, n=2)
    with open(path, "ab") as fh:
        fh.write(b"PK\x03\x04 not ours")
    with pytest.raises(StoreError, match=r"line 4: it does not end with a newline"):
        ResultStore(path, SETTINGS)


@pytest.mark.parametrize("content", [b"", b"hello\n", b'{"settings": {"grid": [1, 2]}}', b'[1]\n',
                                     b'{"settings": {"grid": [1, 2]}, "x": 1}\n'])
def test_a_file_that_is_not_a_store_is_refused(tmp_path, content):
    path = tmp_path / "README.md"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="is not a result store"):
        ResultStore(path, SETTINGS)
    assert path.read_bytes() == content


def test_unusable_paths_and_keys(tmp_path):
    with pytest.raises(StoreError, match="is not a file"):
        ResultStore(tmp_path, SETTINGS)
    (tmp_path / "a-file").write_text("x")  # a parent that is a file: unwritable even for root
    with pytest.raises(StoreError, match="cannot create the result store"):
        ResultStore(tmp_path / "a-file" / "runs.jsonl", SETTINGS)
    store = ResultStore(tmp_path / "runs.jsonl", SETTINGS)
    with pytest.raises(TypeError, match="strings"):
        store.put(3, 1.0)


def test_check_store_file_refuses_what_is_not_a_store(tmp_path):
    check_store_file(tmp_path / "new.jsonl")  # absent: fine
    _store_with(tmp_path / "runs.jsonl", n=1)
    check_store_file(tmp_path / "runs.jsonl")
    (tmp_path / "notes.txt").write_text("hello\n")
    for bad in (tmp_path / "notes.txt", tmp_path):
        with pytest.raises(StoreError, match="is not a"):
            check_store_file(bad)
