"""Command line: ``python -m paper_figs FIG... | all | report [options]``.

Figures run in the order given, each resuming whatever an earlier run stored in ``--out``; ``all`` runs
every registered figure and then writes ``report.html`` and ``report.md``; ``report`` rebuilds the report
from the figures' JSON without recomputing anything. ``--jobs``/``--scheduler``/``--threads`` choose where
the units of work run (see ``python -m validation`` and the README); the numbers do not depend on them.
``--seeds N`` (an integer >= 2) sets the number of seeds, or random splits, of every figure that averages over
them; the result stores extend, so more seeds compute only the new ones.
Exit status: 0 success, 2 bad input (one line), 1 a figure failed (the others are written).
"""

from __future__ import annotations

import argparse
import importlib
import json
import shlex
import sys
import time
from pathlib import Path

from defenses.datasets import DataFileError
from mitheory.cli_common import add_version, program_name
from mitheory.cli import terminal_columns
from paper_figs import CPU_SCALED, FIGURES, NEURAL_FIGURES
from validation.cli import (
    add_executor_arguments,
    add_scale_arguments,
    check_data_home,
    check_executor_fits,
    check_output_dir,
    executor_from_args,
    path_argument,
    require_neural,
    resolve_scale,
    run_command,
)
from validation.engine import UnitsFailed, run_log
from validation.store import StoreError, write_json_atomic

PROG = program_name("paper_figs")


#: Figures whose numbers do not come from seeds or splits (``--seeds`` does not apply to them).
NO_SEEDS = frozenset({"theory", "bounds"})


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _seeds(text: str) -> int:
    """``--seeds``: an integer >= 2 (an interval over seeds or splits needs two)."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2, got {text!r}") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2 (an interval over seeds needs two), got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0].split(": ", 1)[1],
                     formatter_class=lambda prog: argparse.HelpFormatter(prog, width=terminal_columns()))
    add_version(parser)
    parser.add_argument("figures", nargs="+", metavar="FIG",
                        help=f"one or more of: {', '.join(FIGURES)}; or 'all' (every figure, then the report); "
                             "or 'report' (rebuild the report from the JSON in --out)")
    add_scale_arguments(parser, what="the figures' experiments")
    parser.add_argument("--out", type=path_argument, default=Path("results"),
                        help="output directory (default: results)")
    parser.add_argument("--device", default=None,
                        help="torch device of the neural figures: auto (default), cpu, cuda, cuda:N")
    parser.add_argument("--data-home", type=path_argument, default=None,
                        help="data directory searched first (then $MID_DATA, then ~/.cache/mid-toolkit)")
    parser.add_argument("--seeds", type=_seeds, default=None, metavar="N",
                        help="number of seeds (random splits for the tabular figures) of every figure that averages "
                             "over them, instead of each configuration's own; a store extends to more seeds")
    add_executor_arguments(parser)
    return parser


def _annotate(json_path: Path, run: dict) -> None:
    """Record how the figure was produced (command, executor, threads, wall time of this invocation and the
    units' compute time over every run that contributed, resumes included) in its JSON document."""
    doc = json.loads(json_path.read_text())
    doc["run"] = run
    doc["scale"] = run["scale"]
    write_json_atomic(json_path, doc)


@run_command(PROG)
def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    words = list(dict.fromkeys(args.figures))
    unknown = [w for w in words if w not in FIGURES and w not in ("all", "report")]
    if unknown:
        parser.error(f"unknown figure {unknown[0]!r}; choose from {', '.join(FIGURES)}, all, report")
    want_report = "all" in words or "report" in words
    names = list(FIGURES) if "all" in words else [w for w in words if w in FIGURES]
    longest = max([f"{name}_reconstructions.png" for name in names] + ["report.html"], key=len)
    check_output_dir(parser, "--out", args.out, longest_name=longest)
    check_data_home(parser, args.data_home)
    check_executor_fits(parser, args)
    neural = [name for name in names if name in NEURAL_FIGURES]
    if neural:
        require_neural(parser, ", ".join(neural))
    if args.seeds is not None and not names:
        parser.error("--seeds applies to the figures; 'report' alone recomputes nothing")
    if args.seeds is not None and all(name in NO_SEEDS for name in names):
        parser.error(f"--seeds does not apply to {', '.join(names)} (exact computations / IND model draws)")
    if args.device is not None:
        if not neural:
            parser.error(f"--device applies to the neural figures ({', '.join(sorted(NEURAL_FIGURES))}) only")
        from defenses.neural import resolve_device

        try:
            resolve_device(args.device)
        except ValueError as exc:
            parser.error(str(exc))
    if args.scale is not None and not names:
        parser.error("--scale applies to the figures; 'report' alone recomputes nothing")
    if not names:  # 'report' alone: nothing to compute
        from paper_figs.report import build_report

        try:
            paths = build_report(args.out)
        except ValueError as exc:
            parser.error(str(exc))
        for path in paths:
            print(f"report: {path}")
        return 0
    given = sys.argv[1:] if argv is None else list(argv)
    options = [w for w in given if w not in words]  # everything but the figure names

    def command(name: str) -> str:
        return " ".join(["python", "-m", "paper_figs", name, *map(shlex.quote, options)])

    cpu_scaled = [name for name in names if name in CPU_SCALED]
    scale = resolve_scale(parser, args, args.device, has_cpu=bool(cpu_scaled),
                          what=(f"CPU configurations: {', '.join(cpu_scaled)}; the other figures run full at scale cpu"
                                if cpu_scaled and args.scale in (None, "cpu") else ""))
    executor = executor_from_args(parser, args)
    failed: list[str] = []
    with executor:
        for name in names:
            start = time.perf_counter()
            try:
                module = importlib.import_module(FIGURES[name])
                with run_log() as log:
                    module.make(args.out, scale=scale, device=args.device or "auto", data_home=args.data_home,
                                executor=executor, seeds=args.seeds)
            except (FileNotFoundError, DataFileError, StoreError) as exc:  # missing or damaged data or store
                print(f"{PROG}: error: {exc}", file=sys.stderr)
                return 2
            except UnitsFailed as exc:
                print(f"{PROG}: {name} failed: {exc}", file=sys.stderr)
                failed.append(name)
                continue
            json_path = args.out / f"{name}.json"
            ran = scale if scale == "quick" or name in CPU_SCALED else "full"  # no CPU configuration: full
            _annotate(json_path, {"command": command(name), "quick": args.quick, "scale": ran,
                                  "wall_s": time.perf_counter() - start, **log.as_dict(), **executor.describe()})
            print(f"{name}: {json_path} ({time.perf_counter() - start:.1f} s)")
    if want_report:
        from paper_figs.report import build_report

        for path in build_report(args.out):
            print(f"report: {path}")
    if failed:
        print(f"{PROG}: {len(failed)} figure(s) failed: {', '.join(failed)}; rerun to resume them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from mitheory.cli import run_main

    run_main(main)
