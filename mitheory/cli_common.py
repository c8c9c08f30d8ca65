"""What every command of the toolkit shares, kept import-light (``python -m mitheory.bounds`` starts fast).

:func:`program_name` is the name a command reports itself by — the console script's (``mid-bounds``)
when run through one, else ``python -m <module>`` — and :func:`add_version` gives a parser ``--version``.
"""

from __future__ import annotations

import argparse
import os
import sys

from mitheory._version import __version__

__all__ = ["add_version", "program_name"]

#: The console scripts (pyproject ``[project.scripts]``) and the modules they run.
CONSOLE_SCRIPTS = {"mid-bounds": "mitheory.bounds", "mid-games": "mitheory.games",
                   "mid-validate": "validation", "mid-figs": "paper_figs"}


def program_name(module: str) -> str:
    """``mid-…`` when the command runs as that console script, else ``python -m module``."""
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return script if CONSOLE_SCRIPTS.get(script) == module else f"python -m {module}"


def add_version(parser: argparse.ArgumentParser) -> None:
    """``--version``: print ``<prog> <version>`` to stdout and exit 0 (before any other check)."""
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__} (mid-toolkit)")
