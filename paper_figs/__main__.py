"""Command line: ``python -m paper_figs FIG... [--quick] [--out DIR] [--device auto] [--data-home DIR]``."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from paper_figs import FIGURES

NEURAL_FIGURES = {"fig1", "fig2c", "fig3a", "art"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paper_figs", description=__doc__)
    parser.add_argument("figures", nargs="+", metavar="FIG", help=f"one or more of: {', '.join(FIGURES)}, all")
    parser.add_argument("--quick", action="store_true", help="small settings for a fast check")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output directory (default: results)")
    parser.add_argument("--device", default="auto", help="torch device for neural figures (default: auto)")
    parser.add_argument("--data-home", type=Path, default=None, help="data directory (default: $MID_DATA)")
    args = parser.parse_args(argv)
    names = list(FIGURES) if args.figures == ["all"] else args.figures
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        parser.exit(2, f"python -m paper_figs: error: unknown figure {unknown[0]!r}; choose from {', '.join(FIGURES)}\n")
    if args.device != "auto" and set(names) & NEURAL_FIGURES:
        from defenses.neural import resolve_device

        try:
            resolve_device(args.device)
        except ValueError as exc:
            parser.exit(2, f"python -m paper_figs: error: {exc}\n")
    for name in names:
        module = importlib.import_module(FIGURES[name])
        try:
            path = module.make(args.out, quick=args.quick, device=args.device, data_home=args.data_home)
        except FileNotFoundError as exc:
            print(f"python -m paper_figs: error: {exc}", file=sys.stderr)
            return 2
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
