"""Loaders of the real datasets used by the toolkit.

Each loader takes ``data_home`` (default: ``$MID_DATA``, then ``~/.cache/mid-toolkit``; see
:func:`get_data_home`) and returns a :class:`Dataset` record. Loaders are imported lazily so that
``import defenses.datasets`` stays cheap.
"""

from __future__ import annotations

import importlib

from ._base import Dataset, get_data_home

_LOADERS = {
    "load_iwpc": "iwpc",
    "load_steak_survey": "steak",
    "load_faces": "faces",
    "load_mnist": "mnist",
    "load_digits": "mnist",
}

__all__ = ["Dataset", "get_data_home", *_LOADERS]


def __getattr__(name: str):
    if name in _LOADERS:
        module = importlib.import_module(f"{__name__}.{_LOADERS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
