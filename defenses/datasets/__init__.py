"""Loaders of the real datasets used by the toolkit.

Each loader takes ``data_home`` and returns a :class:`Dataset` record. A data file is looked for in
``data_home``, then ``$MID_DATA``, then the cache ``~/.cache/mid-toolkit`` (``$XDG_CACHE_HOME`` moves it);
a file found nowhere is downloaded into the cache from its public original with a checksum check
(``$MID_DATA_URL`` names a mirror instead; see :mod:`defenses.datasets._files`). Every file read is
checked against the published content: a corrupted or truncated one raises :class:`DataFileError`, a
missing one that cannot be fetched :class:`DataNotFoundError`, each with a one-line message naming the file.
Loaders are imported lazily so that ``import defenses.datasets`` stays cheap.
"""

from __future__ import annotations

import importlib

from ._base import Dataset
from ._files import FILES, DataFileError, DataNotFoundError, cache_dir, locate, search_path

_LOADERS = {
    "load_affairs": "affairs",
    "load_iwpc": "iwpc",
    "load_steak_survey": "steak",
    "load_faces": "faces",
    "load_mnist": "mnist",
    "load_digits": "mnist",
}

__all__ = ["FILES", "DataFileError", "DataNotFoundError", "Dataset", "cache_dir", "locate", "search_path",
           *_LOADERS]


def __getattr__(name: str):
    if name in _LOADERS:
        module = importlib.import_module(f"{__name__}.{_LOADERS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
