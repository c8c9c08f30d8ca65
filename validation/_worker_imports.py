"""Imported by the fork server of the engine's local worker processes (:mod:`validation.engine`).

The driver writes the modules it has imported — the command's figure or experiment, the libraries its units
loaded lazily (IBM ART, torch) — to a file named by ``$MID_ENGINE_PRELOAD`` before it starts the fork
server; importing them here once means every forked worker starts with them instead of importing them again
in its first unit. A module that fails to import is skipped: a unit that needs it reports the error itself.
"""

from __future__ import annotations

import contextlib
import importlib
import os


def _import_listed() -> None:
    path = os.environ.pop("MID_ENGINE_PRELOAD", None)
    if not path:
        return
    try:
        with open(path, encoding="utf-8") as fh:
            names = fh.read().split()
    except OSError:
        return
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the unit that needs it reports the error
            pass


_import_listed()
