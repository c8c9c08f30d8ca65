"""Atomic result files and resumable experiments.

Long experiments (sweeps over splits, many model draws) record each finished unit of work under a
string key in a JSON file. Every write goes to a temporary file in the same directory followed by
``os.replace``, so an interrupted run never leaves a half-written file, and a rerun skips the keys
already present.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (temp file + fsync + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, indent=2, sort_keys=False, allow_nan=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class ResultStore:
    """A resumable key → JSON-value store backed by one atomically rewritten file.

    ``settings`` identify the experiment; a file written under other settings is refused rather than
    silently mixed with new results.

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
        if self.path.exists():
            saved = json.loads(self.path.read_text())
            if saved.get("settings") != self.settings:
                raise ValueError(
                    f"{self.path} holds results for other settings; remove it or choose another path"
                )
            self.results = saved["results"]

    def __contains__(self, key: str) -> bool:
        return key in self.results

    def __len__(self) -> int:
        return len(self.results)

    def put(self, key: str, value: Any) -> None:
        """Record ``value`` under ``key`` and persist the whole store atomically."""
        self.results[key] = json.loads(json.dumps(value))
        write_json_atomic(self.path, {"settings": self.settings, "results": self.results})

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        """Return the stored value for ``key``, computing and persisting it first if absent."""
        if key not in self.results:
            self.put(key, compute())
        return self.results[key]
