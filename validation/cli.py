"""Command-line plumbing shared by ``python -m validation`` and ``python -m paper_figs``: the engine's options.

``--jobs N`` (local worker processes), ``--scheduler ADDRESS`` (a Dask scheduler; ``local`` starts a local
Dask cluster of ``--jobs`` workers; default ``$MID_SCHEDULER``) and ``--threads T`` (threads per worker;
default ``$MID_THREADS``, else the usable cores divided by the workers). See :mod:`validation.engine`.
"""

from __future__ import annotations

import argparse
import os

from validation.engine import Executor, make_executor, resolve_threads

__all__ = ["add_executor_arguments", "executor_from_args"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--jobs``, ``--scheduler`` and ``--threads`` to ``parser``."""
    group = parser.add_argument_group("where the work runs (the numbers do not depend on it)")
    group.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                       help="local worker processes (default 1: serial)")
    group.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="Dask scheduler address (tcp://host:8786), or 'local' for a local Dask cluster of "
                            "--jobs workers (default: $MID_SCHEDULER, else none)")
    group.add_argument("--threads", type=_positive_int, default=None, metavar="T",
                       help="threads per worker (default: $MID_THREADS, else usable cores / workers)")


def executor_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Executor:
    """The executor the options ask for; a bad value or an unreachable scheduler exits 2 with one line."""
    try:
        resolve_threads(args.threads, args.jobs)  # $MID_THREADS checked before anything starts
        scheduler = args.scheduler if args.scheduler is not None else (os.environ.get("MID_SCHEDULER") or None)
        return make_executor(args.jobs, scheduler, args.threads)
    except (ValueError, ImportError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
