"""validation.store: atomic JSON documents and the append-only resumable result store."""

from __future__ import annotations

import json

import pytest

from validation.store import ResultStore, write_json_atomic


def test_write_json_atomic_leaves_no_temporary_files(tmp_path):
    path = write_json_atomic(tmp_path / "sub" / "a.json", {"x": [1, 2.5]})
    assert json.loads(path.read_text()) == {"x": [1, 2.5]}
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]
    with pytest.raises(ValueError):
        write_json_atomic(path, {"x": float("nan")})
    assert json.loads(path.read_text()) == {"x": [1, 2.5]}  # the old document survives a failed write


def test_store_resumes_and_drops_a_record_cut_short(tmp_path):
    path = tmp_path / "runs.jsonl"
    store = ResultStore(path, {"grid": [1, 2]})
    for k in range(3):
        store.put(f"k={k}", {"v": k / 3})
    with open(path, "a") as fh:  # an interruption in the middle of writing a fourth record
        fh.write('{"key": "k=3", "val')
    again = ResultStore(path, {"grid": [1, 2]})
    assert again.results == {f"k={k}": {"v": k / 3} for k in range(3)}
    assert again.get_or_compute("k=3", lambda: {"v": 1.0}) == {"v": 1.0}
    assert ResultStore(path, {"grid": [1, 2]}).results["k=3"] == {"v": 1.0}
    with pytest.raises(ValueError, match="other settings"):
        ResultStore(path, {"grid": [1, 2, 3]})
