"""Command line of the security games: ``python -m mitheory.games list | run SCENARIO [options]``.

``run`` evaluates a built-in scenario of :mod:`mitheory.scenarios` exactly, simulates its IND game and
checks Theorems 1 and 2 (printed and corrected). Every option is checked before any work: bad values,
options the scenario does not take, and sizes whose estimated time or memory are out of reach all exit
with status 2 and one line naming the option.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import mpmath

from mitheory.cli import ParamError, count, heartbeat, parse_real, terminal_columns, to_float
from mitheory.cli_common import add_version, program_name
from mitheory.scenarios import SCENARIOS, estimate_cost, run_scenario

__all__ = ["main"]


def _fmt(x: Any) -> str:
    if isinstance(x, Fraction):
        return f"{x} (= {float(x):.12g})" if x.denominator != 1 else str(x)
    return mpmath.nstr(x, 15) if isinstance(x, mpmath.mpf) else f"{x:.12g}"


def _human(res: dict, seed: int) -> str:
    t2 = res["_theorem2"]
    eps = "inf" if res["eps"] is None else format(res["eps"], "g")
    lines = [
        f"scenario  {res['scenario']}: {SCENARIOS[res['scenario']].summary}",
        f"setting   n = {res['n']}, eps = {eps}, delta = {res['delta']:g}, TV(p, q) = {res['tv_pq']:.6g}",
        f"IND exact max gain^IND = {_fmt(t2.max_gain)}   (2 max gain - 1 = {_fmt(t2.tv)})",
        f"IND sim   likelihood-ratio adversary, {res['rounds']} rounds, seed {seed}: "
        f"{res['estimate']:.6f}  95% CI [{res['ci_low']:.6f}, {res['ci_high']:.6f}]",
        t2.summary(),
        f"  paper bound strictly looser than tight: {t2.paper_strictly_loose}",
    ]
    t1 = res["_theorem1"]
    if t1 is None:
        lines.append("Theorem 1: not evaluated (the semantic game over a continuous p is not finite)")
    else:
        e = t1.exact
        lines += [
            f"SEM exact attack {res['semantic']['attack']}: gain = {_fmt(e.gain)}, baseline (q) = "
            f"{_fmt(e.baseline)}, best possible (Eq. 7) = {_fmt(e.best_gain)}",
            f"          Adv^SEM = {_fmt(e.advantage)}, Adv' = {_fmt(e.corrected_advantage)}, "
            f"Delta* = {_fmt(e.delta_star)}",
            t1.summary(),
        ]
    lines.append("Theory notes: docs/theory.md")
    return "\n".join(lines)


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        raise _ArgError(message)


def _catalogue() -> str:
    width = max(map(len, SCENARIOS))
    lines = ["scenarios (options each one takes; --rounds, --seed and --json apply to all):"]
    for s in SCENARIOS.values():
        lines.append(f"  {s.name:<{width}}  {s.options()}")
        lines.append(f"  {'':<{width}}  {s.summary}")
    return "\n".join(lines)


def _parser() -> _Parser:
    def formatter(prog: str) -> argparse.HelpFormatter:
        return argparse.RawDescriptionHelpFormatter(prog, width=terminal_columns())

    parser = _Parser(prog=program_name("mitheory.games"), formatter_class=formatter,
                     description="Play the MID paper's security games (Experiments 1 and 2) exactly and by "
                     "simulation, and check Theorems 1 and 2 as printed and as corrected. "
                     "Theory notes: docs/theory.md.")
    add_version(parser)
    sub = parser.add_subparsers(dest="command", metavar="{list,run}")
    sub.add_parser("list", help="list the built-in scenarios and the options each takes",
                   description="List the built-in scenarios and the options each takes.")
    run = sub.add_parser("run", help="run one scenario", description="Run one built-in scenario: the exact "
                         "max gain^IND, a seeded simulation of the IND game,\nand the Theorem 1 and 2 checks. "
                         "Theory notes: docs/theory.md.",
                         epilog=_catalogue(), formatter_class=formatter)
    run.add_argument("scenario", help="a scenario name (listed below)")
    run.add_argument("--n", type=count(minimum=1), default=10, help="training-set size (default 10)")
    run.add_argument("--eps", help="epsilon of the mechanism (default 1; DP scenarios only)")
    run.add_argument("--delta", help="delta of the mechanism (default 0; the extremal scenario only)")
    run.add_argument("--rounds", type=count(minimum=1), default=1_000_000, help="simulated rounds (default 1e6)")
    run.add_argument("--seed", type=count(minimum=0), default=0, help="seed of the simulation (default 0)")
    run.add_argument("--json", action="store_true", help="print the results as one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mitheory.games list | run SCENARIO [...]``; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise _ArgError("a command is required: list or run")
        if args.command == "list":
            print(_catalogue())
            return 0
        if args.scenario not in SCENARIOS:
            raise _ArgError(f"unknown scenario {args.scenario!r}; choose one of: {', '.join(SCENARIOS)}")
        sc = SCENARIOS[args.scenario]
        if args.eps is not None and not sc.uses_eps:
            raise _ArgError(f"argument --eps: scenario {sc.name!r} has no epsilon")
        if args.delta is not None and not sc.uses_delta:
            raise _ArgError(f"argument --delta: scenario {sc.name!r} is pure DP; --delta applies to: "
                            + ", ".join(s.name for s in SCENARIOS.values() if s.uses_delta))
        if sc.max_n is not None and args.n > sc.max_n:
            raise _ArgError(f"argument --n: scenario {sc.name!r} enumerates training histograms exactly; "
                            f"use --n <= {sc.max_n}")
        eps = None if args.eps is None else _number("eps", args.eps, low=0)
        delta = None if args.delta is None else _number("delta", args.delta, low=None)
        exact_s, _, sim_s = estimate_cost(sc.name, args.n, args.rounds)
        with heartbeat(f"games run {sc.name}", estimate_s=exact_s + sim_s):
            res = run_scenario(sc.name, args.n, eps, delta, args.rounds, args.seed)
    except _ArgError as exc:
        print(f"python -m mitheory.games: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        text = str(exc)
        opt = next((o for o in ("eps", "delta", "rounds", "seed") if text.startswith(o)), None)
        prefix = f"argument --{opt}: " if opt else ""
        print(f"python -m mitheory.games: error: {prefix}{text}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away: run_main ends the command quietly
        raise
    except Exception as exc:  # internal failure: one line, exit 1
        print(f"python -m mitheory.games: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({k: v for k, v in res.items() if not k.startswith("_")}, indent=2))
    else:
        print(_human(res, args.seed))
    return 0


def _number(name: str, text: str, *, low) -> Fraction:
    """An exact number (:func:`mitheory.cli.parse_real`) that the simulator can also hold as a double;
    ``low`` (exclusive) when given."""
    try:
        value = parse_real(text)
        if low is not None and value <= low:
            raise ParamError(f"must be > {low}, got {text!r}")
        to_float(value, "")
    except ParamError as exc:
        raise _ArgError(f"argument --{name}: {str(exc).strip()}") from None
    return value


if __name__ == "__main__":
    from mitheory.cli import run_main

    run_main(main)
