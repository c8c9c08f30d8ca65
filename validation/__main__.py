"""Command line of :mod:`validation`.

* ``python -m validation list`` — the learners and attacks;
* ``python -m validation ind --learner dp-id3 --eps 1 --n 200 --models 200 [--json]`` — the empirical IND
  game (Experiment 2) with a real learner, checked against the bounds;
* ``python -m validation sem --learner mid-linear --lam 1 --splits 20 [--json]`` — the empirical semantic
  game (Experiment 1): Adv^SEM and the corrected Adv′ of a real attack.

Per-model / per-split results are stored under ``--store`` (default ``results/validation/…json``): a rerun
with the same arguments resumes where an interrupted one stopped. ``--jobs N`` runs the models on N local
processes, ``--scheduler ADDRESS`` (or ``$MID_SCHEDULER``; ``local`` for a local Dask cluster) on a Dask
cluster, ``--threads T`` (or ``$MID_THREADS``) sets each worker's threads; the numbers do not depend on any
of them. Progress goes to stderr. Bad input exits with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from validation.engine import UnitsFailed
from validation.cli import add_executor_arguments, executor_from_args
from validation.learners import ATTACK_DESCRIPTIONS, LEARNERS, build_learner, table_rows


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m validation", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list the learners and attacks")
    for name, help_ in (("ind", "empirical IND game against the bounds"), ("sem", "empirical semantic game")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--learner", required=True, choices=list(LEARNERS))
        p.add_argument("--eps", type=float, help="epsilon of a DP learner")
        p.add_argument("--delta", type=float, help="delta of a DP learner (AdaSSP default 1e-6)")
        p.add_argument("--lam", type=float, help="lambda of a MID learner")
        p.add_argument("--attack", help="attack A* (default: the learner's first; see list)")
        p.add_argument("--n", type=int, help="training-set size (ind: required; sem: default 80%% of the rows)")
        p.add_argument("--challenges", type=int, help="fresh records scored per model")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--store", type=Path, help="resumable result file (default under results/validation/)")
        p.add_argument("--data-home", type=Path, help="data directory (default: $MID_DATA)")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        add_executor_arguments(p)
        if name == "ind":
            p.add_argument("--models", type=int, default=200, help="trained models (even; default 200)")
            p.add_argument("--probe-size", type=int, default=64)
        else:
            p.add_argument("--splits", type=int, default=20, help="independent splits (default 20)")
    return parser


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.4f}"


def _print_list() -> None:
    print("learners:")
    for name, info in LEARNERS.items():
        knob = f"--{info.knob}" if info.knob else "(no knob)"
        attacks = ", ".join(info.attacks) or "none (the meta-classifier only)"
        print(f"  {name:<11} {info.dataset:<6} {knob:<10} {info.description}; attacks: {attacks}")
    print("attacks:")
    for name, text in ATTACK_DESCRIPTIONS.items():
        print(f"  {name:<11} {text}")
    print("distinguishers (ind): reduction (from the attack, Theorem 1' proof), meta (shadow-model "
          "ridge classifier on probe-set outputs)")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        _print_list()
        return 0
    from validation.ind import run_ind
    from validation.semantic import run_semantic

    for flag in ("eps", "delta", "lam"):
        value = getattr(args, flag)
        if value is not None and not math.isfinite(value):
            parser.error(f"--{flag} must be finite, got {value}")
    executor = executor_from_args(parser, args)
    try:
        learner, p = build_learner(args.learner, eps=args.eps, delta=args.delta, lam=args.lam,
                                   attack=args.attack, data_home=args.data_home)
        knob = {"eps": args.eps, "lam": args.lam}.get(LEARNERS[args.learner].knob)
        tag = f"{args.command}-{args.learner}" + (f"-{knob:g}" if knob is not None else "")
        if args.command == "ind":
            if args.n is None:
                parser.error("ind needs --n")
            store = args.store or Path("results/validation") / f"{tag}-n{args.n}-m{args.models}-s{args.seed}.json"
            report = run_ind(learner, p, args.n, args.models, challenges=args.challenges or 200,
                             probe_size=args.probe_size, seed=args.seed, store_path=store,
                             executor=executor).as_dict()
        else:
            n = args.n if args.n is not None else int(0.8 * table_rows(args.learner, args.data_home))
            store = args.store or Path("results/validation") / f"{tag}-n{n}-k{args.splits}-s{args.seed}.json"
            report = run_semantic(learner, p, n, args.splits, challenges=args.challenges or 500,
                                  seed=args.seed, store_path=store, executor=executor).as_dict()
    except (ValueError, FileNotFoundError) as exc:
        executor.close()
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    except UnitsFailed as exc:
        executor.close()
        parser.exit(1, f"{parser.prog}: {exc}\n")
    report["executor"] = executor.describe()
    executor.close()
    report["store"] = str(store)
    if args.json:
        print(json.dumps(report))
    elif args.command == "ind":
        print(f"IND game (Experiment 2): {report['learner']}, n = {report['n']}, {report['models']} models, "
              f"TV(p, q) = {report['tv_pq']:.4f}")
        if report["eps"] is not None:
            print(f"declared: eps = {report['eps']:g}, delta = {report['delta']:g} ({report['adjacency']}; "
                  f"group size {report['group_size']})")
            print(f"bounds on max gain: paper {_fmt(report['paper_gain'])}   tight {_fmt(report['tight_gain'])}   "
                  f"refined (TV(p,q)) {_fmt(report['refined_gain'])}")
        for name, e in report["distinguishers"].items():
            print(f"  {name:<10} gain {e['estimate']:.4f}  95% CI [{e['ci_low']:.4f}, {e['ci_high']:.4f}]  "
                  f"({e['rounds']} rounds)  eps >= {e['eps_lower']:.4g}  {e['verdict']}")
        declared = "no DP claim" if report["eps"] is None else f"declared eps = {report['eps']:g}"
        flag = "   PRIVACY BUG: the observed gain proves the declared eps false" if report["eps_flag"] else ""
        print(f"empirical lower bound on eps (tight bound, lower CI end): {report['eps_lower']:.4g} "
              f"({declared}){flag}")
        print(f"verdict: {report['verdict']}   (results: {store})")
    else:
        print(f"semantic game (Experiment 1): {report['learner']}, n = {report['n']}, {report['splits']} splits")
        for key, label in (("gain_pp", "gain(A; p, p)"), ("gain_qq", "gain(A; q, q)  decorrelated baseline"),
                           ("gain_qp", "gain(A; q, p)"), ("adv_sem", "Adv^SEM (Eq. 8, printed)"),
                           ("adv_corrected", "Adv' (Theorem 1', corrected)")):
            m, lo, hi = report[key]
            print(f"  {label:<40} {m:+.4f}  95% CI [{lo:+.4f}, {hi:+.4f}]")
        if report["advantage_bound_tight"] is not None:
            print(f"  bound on |Adv'|: paper {_fmt(report['advantage_bound_paper'])}   "
                  f"tight {_fmt(report['advantage_bound_tight'])}")
        print(f"verdict: {report['verdict']}   (results: {store})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
