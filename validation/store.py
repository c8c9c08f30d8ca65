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
from typing import Any, Callable, NoReturn


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


class StoreError(ValueError):
    """A result file that cannot be resumed: not a store, other settings, or corrupted before its last line."""


#: How every record line starts (``json.dumps`` of ``{"key": ..., "value": ...}``); a cut-short last line
#: is recognised as a prefix of a record by this start.
_RECORD_START = b'{"key": '


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not strict JSON")


def _read_line(line: bytes) -> tuple[Any, str | None]:
    """``(value, None)`` for a line holding one strict JSON value, else ``(None, what is wrong)``."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"byte {exc.start + 1} is not valid UTF-8"
    if not text.strip():
        return None, "it is empty"
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except json.JSONDecodeError as exc:
        return None, f"it is not JSON ({exc.msg} at column {exc.colno})"
    except ValueError as exc:  # NaN / Infinity, which the store never writes
        return None, f"it is not JSON ({exc})"


def check_store_file(path: str | os.PathLike) -> None:
    """Raise :class:`StoreError` when ``path`` exists and is not a result store (its header is not one).

    A cheap check for a command line to make before any work; the settings and every record are checked
    when the :class:`ResultStore` is opened.
    """
    path = Path(path)
    if not path.exists():
        return
    if not path.is_file():
        raise StoreError(f"{path} is not a file; choose another path for the result store")
    with open(path, "rb") as fh:
        header, problem = _read_line(fh.readline().rstrip(b"\n"))
    if problem is not None or not isinstance(header, dict) or set(header) != {"settings"}:
        raise StoreError(f"{path} is not a result store (line 1 is not its settings header); remove it or "
                         f"choose another path")


class ResultStore:
    """A resumable key → JSON-value store: an append-only JSON Lines file.

    The first line holds the experiment's ``settings``; each :meth:`put` appends one line
    ``{"key": ..., "value": ...}`` and fsyncs it, so recording a result costs O(1) however large the store
    grows. A record is all-or-nothing: a last line cut short by a crash (no final newline) is dropped when
    the store is reopened, and that unit of work is simply redone. Anything else that is wrong — a file
    written under other settings, a line before the last that is not valid UTF-8, not JSON, or not a
    ``{"key": str, "value": ...}`` record — raises :class:`StoreError` naming the file, the line and what to
    do, instead of silently dropping the results after it.

    Examples
    --------
    >>> store = ResultStore(path, settings={"lam": [0, 1]})      # doctest: +SKIP
    >>> for split in range(100):                                  # doctest: +SKIP
    ...     store.get_or_compute(f"split={split}", lambda: run(split))
    """

    def __init__(self, path: str | os.PathLike, settings: dict[str, Any]):
        self.path = Path(path)
        self.settings = json.loads(json.dumps(settings, allow_nan=False))
        self.results: dict[str, Any] = {}
        #: 1-based number of the cut-short last line dropped on opening, or ``None``.
        self.repaired_line: int | None = None
        if not self.path.exists():
            try:
                _write_text_atomic(self.path, json.dumps({"settings": self.settings}, allow_nan=False) + "\n")
            except OSError as exc:
                raise StoreError(f"cannot create the result store {self.path}: {exc.strerror}") from None
            return
        if not self.path.is_file():
            raise StoreError(f"{self.path} is not a file; choose another path for the result store")
        with open(self.path, "rb") as fh:
            data = fh.read()
        *complete, tail = data.split(b"\n")  # ``tail`` is empty when the file ends with a newline
        header = _read_line(complete[0])[0] if complete else None
        if not isinstance(header, dict) or set(header) != {"settings"}:
            raise StoreError(f"{self.path} is not a result store (line 1 is not its settings header); remove it "
                             f"or choose another path")
        if header["settings"] != self.settings:
            raise StoreError(f"{self.path} holds results for other settings; remove it or choose another path")
        for number, line in enumerate(complete[1:], start=2):
            record, problem = _read_line(line)
            if problem is not None:
                self._corrupt(number, problem)
            if not (isinstance(record, dict) and set(record) == {"key", "value"} and isinstance(record["key"], str)):
                self._corrupt(number, 'it is not a {"key": ..., "value": ...} record')
            self.results[record["key"]] = record["value"]
        if tail:
            if tail[:len(_RECORD_START)] != _RECORD_START[:len(tail)]:
                self._corrupt(len(complete) + 1, "it does not end with a newline and is not the start of a record")
            # The last record was cut short by an interruption: drop it (its unit of work is redone).
            os.truncate(self.path, len(data) - len(tail))
            self.repaired_line = len(complete) + 1

    def _corrupt(self, number: int, what: str) -> NoReturn:
        raise StoreError(
            f"{self.path}, line {number}: {what}; the result store is damaged (only a last record cut short by "
            f"an interruption is repaired automatically) - delete that line to keep the other results, or move "
            f"the file aside to start over"
        )

    def __contains__(self, key: str) -> bool:
        return key in self.results

    def __len__(self) -> int:
        return len(self.results)

    def put(self, key: str, value: Any) -> None:
        """Record ``value`` under ``key``: one appended, fsynced line."""
        if not isinstance(key, str):
            raise TypeError(f"result keys are strings, got {key!r}")
        value = json.loads(json.dumps(value, allow_nan=False))
        line = json.dumps({"key": key, "value": value}, allow_nan=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        self.results[key] = value

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        """Return the stored value for ``key``, computing and persisting it first if absent."""
        if key not in self.results:
            self.put(key, compute())
        return self.results[key]
