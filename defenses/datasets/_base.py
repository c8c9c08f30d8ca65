"""The dataset record and the data-directory convention shared by every loader."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Resolve the data directory: the argument, else ``$MID_DATA``, else ``~/.cache/mid-toolkit``."""
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get("MID_DATA")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "mid-toolkit"


def require_file(data_home: Path, relative: str, how_to_get: str) -> Path:
    """Return ``data_home / relative`` or raise ``FileNotFoundError`` with a one-line remedy."""
    path = data_home / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; {how_to_get}")
    return path


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset.

    Attributes
    ----------
    data : pandas.DataFrame or numpy.ndarray
        Features (a DataFrame for tabular data, float32 arrays for images).
    target : numpy.ndarray or pandas.Series
        The learning target.
    sensitive : tuple of str
        Names of the sensitive columns (attributes an inversion attack tries to recover).
    description : str
        Provenance and preprocessing, including how many rows were dropped and why.
    extra : dict
        Loader-specific extras (e.g. identity labels, category orders).
    """

    data: Any
    target: Any
    sensitive: tuple[str, ...]
    description: str
    extra: dict[str, Any] = field(default_factory=dict)
