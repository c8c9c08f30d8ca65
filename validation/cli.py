"""Command-line plumbing shared by ``python -m validation`` and ``python -m paper_figs``: the engine's options.

``--jobs N`` (local worker processes), ``--scheduler ADDRESS`` (a Dask scheduler; ``local`` starts a local
Dask cluster of ``--jobs`` workers; default ``$MID_SCHEDULER``) and ``--threads T`` (threads per worker;
default ``$MID_THREADS``, else 1). See :mod:`validation.engine`.
Also the checks both commands make before any computation (output paths, ``--data-home``, sizes that
cannot fit or finish, the ``neural`` extra), each ending the command with status 2 and one line naming the
option. They build on :mod:`mitheory.cli`, the parameter layer every command line shares (numbers, counts,
path probes, size estimates, progress, the shell). And :func:`run_command`, the way every command that runs
units ends when interrupted or when its run cannot go on.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from mitheory.cli import ParamError, check_size, choice, count, human_bytes, physical_memory, probe_output_dir, \
    probe_output_file
from validation.engine import (
    Executor,
    RunAborted,
    RunInterrupted,
    close_executors,
    last_run,
    make_executor,
    resolve_threads,
)
from validation.store import DISK_ERRORS

__all__ = ["add_executor_arguments", "add_scale_arguments", "resolve_scale", "check_data_home", "check_executor_fits", "check_fits", "check_output_dir",
           "check_output_file", "check_work", "executor_from_args", "path_argument", "physical_memory",
           "require_neural", "run_command"]


def path_argument(text: str) -> Path:
    """``type=`` of a path option: an empty string (``--out ""``) is an error, not the current directory."""
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return Path(text)


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--jobs``, ``--scheduler`` and ``--threads`` to ``parser``."""
    group = parser.add_argument_group("where the work runs (the numbers do not depend on it)")
    group.add_argument("--jobs", type=count(minimum=1), default=1, metavar="N",
                       help="local worker processes (default 1: serial)")
    group.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="Dask scheduler address (tcp://host:8786), or 'local' for a local Dask cluster of "
                            "--jobs workers (default: $MID_SCHEDULER, else none)")
    group.add_argument("--threads", type=count(minimum=1), default=None, metavar="T",
                       help="threads per worker (default: $MID_THREADS, else 1; recorded with every result, and a "
                            "resume at another count is refused)")


def add_scale_arguments(parser: argparse.ArgumentParser, *, what: str = "the experiments") -> None:
    """Add ``--scale quick|cpu|full`` and ``--quick`` (its alias for ``--scale quick``; the two exclude each
    other). :func:`resolve_scale` turns them into the run's scale."""
    from validation.configs import SCALES

    group = parser.add_mutually_exclusive_group()
    group.add_argument("--scale", type=choice(SCALES), default=None, metavar="{" + ",".join(SCALES) + "}",
                       help=f"size of {what}: quick (a fast check), cpu (sized for a machine without a GPU, where an "
                            "experiment has such a configuration; full otherwise) or full. Default: full on a CUDA "
                            "device, else cpu; the choice is said on stderr")
    group.add_argument("--quick", dest="scale", action="store_const", const="quick", help="the same as --scale quick")


def resolve_scale(parser: argparse.ArgumentParser, args: argparse.Namespace, device: str | None = None, *,
                  has_cpu: bool = True, what: str = "") -> str:
    """The run's scale (sets ``args.scale`` and ``args.quick``) and its one line on stderr: which scale, and
    why (asked for, or the default: full on a CUDA device, else cpu where the experiments have a CPU
    configuration, ``has_cpu``, and full where none has); ``--scale full`` without a CUDA device runs,
    saying it is slow."""
    from validation.configs import choose_scale, scale_line

    try:
        scale, why = choose_scale(args.scale, device or "auto", has_cpu=has_cpu)
    except ValueError as exc:  # a device that does not exist
        parser.error(str(exc))
    args.scale, args.quick = scale, scale == "quick"
    print(scale_line(parser.prog, scale, why, device=device or "auto", what=what, neural=has_cpu), file=sys.stderr)
    return scale


def executor_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Executor:
    """The executor the options ask for; a bad value or an unreachable scheduler exits 2 with one line."""
    try:
        resolve_threads(args.threads)  # $MID_THREADS checked before anything starts
        scheduler = args.scheduler if args.scheduler is not None else (os.environ.get("MID_SCHEDULER") or None)
        return make_executor(args.jobs, scheduler, args.threads)
    except (ValueError, ImportError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")


def run_command(prog: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Decorate a command's ``main`` so that the ways a run can end early each end it with one line.

    * Ctrl-C (SIGINT) or SIGTERM: ``interrupted: K of N units stored in PATH; rerun the same command to
      resume`` and status 130 (143 for SIGTERM); the engine has stopped the workers quietly and flushed
      the store.
    * A run that cannot go on (:class:`~validation.engine.RunAborted`: a full disk, a read-only file
      system, a lost Dask scheduler), or a result file that cannot be written after the work: one line
      ``PROG: ...`` and status 1; everything stored stays stored.
    """

    def decorate(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def wrapper(*args, **kwargs) -> int:
            terminated: list[bool] = []
            previous = None
            if threading.current_thread() is threading.main_thread():
                def on_term(signum, frame):
                    terminated.append(True)
                    raise KeyboardInterrupt

                previous = signal.signal(signal.SIGTERM, on_term)
            try:
                return main(*args, **kwargs)
            except KeyboardInterrupt as exc:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot cut the message short
                close_executors()
                sys.stderr.write(f"{_interrupted(exc)}\n")
                sys.stderr.flush()
                return 143 if terminated else 130
            except RunAborted as exc:
                close_executors()
                print(f"{prog}: {exc}", file=sys.stderr)
                return 1
            except OSError as exc:
                if exc.errno not in DISK_ERRORS:
                    raise
                close_executors()
                where = f" {exc.filename}" if exc.filename else ""
                print(f"{prog}: cannot write{where}: {exc.strerror}; the finished units are stored; free space "
                      "and rerun", file=sys.stderr)
                return 1
            finally:
                close_executors()  # workers joined and clusters shut down before the interpreter's own exit
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)

        return wrapper

    return decorate


def _interrupted(exc: KeyboardInterrupt) -> str:
    if isinstance(exc, RunInterrupted):
        return str(exc)
    run = last_run()
    if run is None:
        return "interrupted before any unit ran; nothing to resume"
    return str(RunInterrupted(*run))


# ------------------------------------------------------------------------------------------ input checks
# Every check below runs before any computation and ends the command with status 2 and one line
# naming the option (``parser.error``), never with a traceback.

#: Lower bounds used to refuse sizes that cannot fit: a sampled record holds at least x_s, y and one
#: feature (8 bytes each); a stored float costs at least a pointer and a Python float (8 + 24 bytes);
#: a worker process is at least an interpreter with numpy and pandas loaded; a thread at least its
#: kernel stack, guard page and first stack pages.
RECORD_BYTES = 24
STORED_FLOAT_BYTES = 32
WORKER_BYTES = 50 * 2**20
THREAD_BYTES = 64 * 2**10


def check_fits(parser: argparse.ArgumentParser, option: str, nbytes: float, what: str) -> None:
    """Refuse ``option`` when ``what`` needs at least ``nbytes`` of memory, more than the machine has."""
    have = physical_memory()
    if nbytes > have:
        parser.error(f"{option}: {what} needs at least {human_bytes(nbytes)} of memory, more than this machine's "
                     f"{human_bytes(have)}")


def check_work(parser: argparse.ArgumentParser, option: str, units: int, seconds_each: float, what: str,
               jobs: int = 1) -> None:
    """Refuse ``option`` when ``units`` units of at least ``seconds_each`` each could not finish in
    :data:`mitheory.cli.MAX_RUN_SECONDS` on ``jobs`` workers (the estimate is in the message)."""
    try:
        check_size(option, units, what, seconds_each=seconds_each, parallel=jobs)
    except ParamError as exc:
        parser.error(str(exc))


def check_executor_fits(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse ``--jobs`` / ``--threads`` values no machine can run (a worker process or thread each)."""
    check_fits(parser, "--jobs", args.jobs * WORKER_BYTES, f"{args.jobs} worker processes")
    if args.threads is not None:
        check_fits(parser, "--threads", args.jobs * args.threads * THREAD_BYTES,
                   f"{args.jobs} x {args.threads} worker threads")


def check_output_file(parser: argparse.ArgumentParser, option: str, path: Path) -> None:
    """Refuse an output file path where no file can be written atomically (checked by creating and removing
    a probe file of the final name: directories, files used as folders, dangling links, link loops, names and
    paths too long, read-only or virtual file systems)."""
    try:
        probe_output_file(path, option)
    except ParamError as exc:
        parser.error(str(exc))


def check_output_dir(parser: argparse.ArgumentParser, option: str, path: Path, longest_name: str = "x" * 64) -> None:
    """Refuse an output directory that is a file or where files named up to ``longest_name`` cannot be
    written (checked by creating and removing such a probe file)."""
    try:
        probe_output_dir(path, option, longest_name=longest_name)
    except ParamError as exc:
        parser.error(str(exc))


def check_data_home(parser: argparse.ArgumentParser, data_home: Path | None) -> None:
    """Refuse a ``--data-home`` that is not an existing directory (a typo would silently fall through)."""
    if data_home is not None and not data_home.is_dir():
        parser.error(f"--data-home {data_home} is not a directory")


def require_neural(parser: argparse.ArgumentParser, what: str) -> None:
    """Refuse ``what`` in one line naming the extra when PyTorch is not installed."""
    from defenses import MissingExtraError

    try:
        import defenses.neural  # noqa: F401
    except MissingExtraError as exc:
        parser.error(f"{what}: {exc}")
