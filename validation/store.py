"""Atomic result files and resumable experiments.

:func:`write_json_atomic` writes a whole JSON document through a temporary file in the same directory
and ``os.replace``, so a reader never sees a half-written figure file. Long experiments (sweeps over
splits, many model draws) record each finished unit of work under a string key in a
:class:`ResultStore`, an append-only JSON Lines file, and a rerun skips the keys already present.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def _write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same directory, fsync and ``os.replace``."""
    return write_bytes_atomic(path, text.encode())


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory, fsync and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (temp file + fsync + ``os.replace``)."""
    return _write_text_atomic(Path(path), json.dumps(obj, indent=2, allow_nan=False) + "\n")


class ResultStore:
    """A resumable key → JSON-value store: an append-only JSON Lines file.

    The first line holds the experiment's ``settings``; each :meth:`put` appends one line
    ``{"key": ..., "value": ...}`` and fsyncs it, so recording a result costs O(1) however large the store
    grows. A record is all-or-nothing: a last line cut short by a crash does not parse, is dropped when the
    store is reopened, and that unit of work is simply redone. A file written under other settings is
    refused rather than silently mixed with new results.

    Examples
    --------
    >>> store = ResultStore(path, settings={"lam": [0, 1]})      # doctest: +SKIP
    >>> for split in range(100):                                  # doctest: +SKIP
    ...     store.get_or_compute(f"split={split}", lambda: run(split))
    """

    def __init__(self, path: str | os.PathLike, settings: dict[str, Any]):
        self.path = Path(path)
        self.settings = json.loads(json.dumps(settings))
        self.results: dict[str, Any] = {}
        if not self.path.exists():
            _write_text_atomic(self.path, json.dumps({"settings": self.settings}, allow_nan=False) + "\n")
            return
        with open(self.path, "rb") as fh:
            lines = fh.read().split(b"\n")
        try:
            header = json.loads(lines[0])
        except json.JSONDecodeError:
            raise ValueError(f"{self.path} is not a result store; remove it or choose another path") from None
        if header.get("settings") != self.settings:
            raise ValueError(f"{self.path} holds results for other settings; remove it or choose another path")
        good = len(lines[0]) + 1
        for line in lines[1:]:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                break  # a record cut short by an interruption: drop it and everything after it
            self.results[record["key"]] = record["value"]
            good += len(line) + 1
        if good < self.path.stat().st_size:
            os.truncate(self.path, good)

    def __contains__(self, key: str) -> bool:
        return key in self.results

    def __len__(self) -> int:
        return len(self.results)

    def put(self, key: str, value: Any) -> None:
        """Record ``value`` under ``key``: one appended, fsynced line."""
        value = json.loads(json.dumps(value, allow_nan=False))
        line = json.dumps({"key": key, "value": value}, allow_nan=False) + "\n"
        with open(self.path, "a") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        self.results[key] = value

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        """Return the stored value for ``key``, computing and persisting it first if absent."""
        if key not in self.results:
            self.put(key, compute())
        return self.results[key]

