"""The dataset record shared by every loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
        Loader-specific extras (e.g. identity labels, category orders); ``extra["files"]`` lists the
        files read, where the loader reads any.
    """

    data: Any
    target: Any
    sensitive: tuple[str, ...]
    description: str
    extra: dict[str, Any] = field(default_factory=dict)
