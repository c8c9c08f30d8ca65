"""Imported last by the fork server of the engine's local worker processes (:mod:`validation.engine`).

By then the fork server has imported the command's modules; this module imports, in addition, what their
units import lazily — the names in the ``WORKER_IMPORTS`` tuple of any module loaded so far (IBM ART for the
linear and tree sweeps, say) — so that every forked worker starts with them instead of importing them again
in its first unit. A module that cannot be imported is skipped: the unit imports it (and fails) as usual.
"""

from __future__ import annotations

import importlib
import sys


def _import_declared() -> None:
    for module in list(sys.modules.values()):
        for name in getattr(module, "WORKER_IMPORTS", ()):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a worker that needs it reports the error in its unit
                pass


_import_declared()
