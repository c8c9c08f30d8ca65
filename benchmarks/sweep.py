"""Benchmark of the sweep engine (validation.engine): throughput on the tree sweep, per-unit overhead, and
whole figure commands at ``--jobs 2`` against ``--jobs 1``.

``python benchmarks/sweep.py [--splits 10] [--noop 400]`` prints, as ``name: value unit`` lines,

* units per second of the Figure 2(b) tree sweep (quick grid × ``--splits`` splits) called directly in a loop
  (the peer: no engine, no store), through the engine serially, on 2 local processes and on a 2-worker Dask
  LocalCluster — each into a fresh store; the speed-up of each executor over a direct loop timed just before
  it (paired, so that drifting load on a shared machine does not enter the ratio);
* the engine's overhead per unit: wall time per unit of a no-op unit (store record and fsync included)
  minus the direct call's, for each executor — the cost the engine adds to every unit (targets: < 5 ms on
  processes, < 20 ms on Dask).

Executors are started before timing (worker start-up is a one-off cost, reported separately). The serial
line is the group commit's target: the engine with its store at >= 0.95x the direct loop.

``python benchmarks/sweep.py --figures fig2a,fig2b [--full] [--repeats 3] [--threads T]`` times whole
commands instead — ``python -m paper_figs FIG --quick --jobs 2`` against ``--jobs 1``, each into a fresh
``--out``, alternating so that each pair ran under the same load — and prints every pair and the median of
the paired ratios (target: <= 1.0x on every quick figure, <= 1/1.6 on the full fig2a and fig2b on two idle
cores; start-up included, which is the point). ``--default-threads`` times ``--jobs 1`` at the default
thread count against ``--threads 1`` instead (target: <= 1.1x).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from validation.engine import DaskExecutor, ProcessExecutor, SerialExecutor, Unit, run_units  # noqa: E402
from validation.store import ResultStore  # noqa: E402
from validation.sweep import _SweepUnit  # noqa: E402
from validation.tree import QUICK, TreeEvaluate  # noqa: E402


class NoOp:
    def __call__(self, unit: Unit) -> dict:
        return {"i": unit.index}


def _units(n_splits: int) -> list[Unit]:
    return [Unit("tree sweep", s, k) for s in QUICK.settings() for k in range(n_splits)]


def _timed(cmd: list[str], out: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the command and every process it waited for) of one run."""
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([*cmd, "--out", str(out)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   cwd=Path(__file__).resolve().parents[1])
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare_commands(figures: list[str], quick: bool, repeats: int, default_threads: bool) -> None:
    """Whole ``python -m paper_figs`` commands, A against B in alternation (A first, then B first)."""
    for fig in figures:
        base = [sys.executable, "-m", "paper_figs", fig] + (["--quick"] if quick else [])
        if default_threads:
            a, b, what = base + ["--jobs", "1"], base + ["--jobs", "1", "--threads", "1"], "default threads / --threads 1"
        else:
            a, b, what = base + ["--jobs", "2"], base + ["--jobs", "1"], "--jobs 2 / --jobs 1"
        ratios, cpu_ratios = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(repeats):  # ABBA: neither command always runs first
                order = [("a", a), ("b", b)] if r % 2 == 0 else [("b", b), ("a", a)]
                t = {name: _timed(cmd, Path(tmp) / name) for name, cmd in order}
                ratios.append(t["a"][0] / t["b"][0])
                cpu_ratios.append(t["a"][1] / t["b"][1])
                print(f"{fig}{' --quick' if quick else ''} run {r + 1}: {t['a'][0]:.1f} s vs {t['b'][0]:.1f} s wall "
                      f"({ratios[-1]:.2f}x), {t['a'][1]:.1f} s vs {t['b'][1]:.1f} s CPU ({cpu_ratios[-1]:.2f}x)",
                      flush=True)
        print(f"{fig}{' --quick' if quick else ''} {what}: {statistics.median(ratios):.2f}x wall, "
              f"{statistics.median(cpu_ratios):.2f}x CPU (medians of {repeats} paired runs)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--noop", type=int, default=400, help="no-op units for the overhead measurement")
    ap.add_argument("--data-home", default=os.environ.get("MID_DATA"))
    ap.add_argument("--figures", help="comma-separated figures: time whole commands instead (see above)")
    ap.add_argument("--full", action="store_true", help="with --figures: the full configurations, not --quick")
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=5, help="paired rounds per executor on the tree sweep")
    ap.add_argument("--serial-only", action="store_true", help="the serial engine against the direct loop only")
    ap.add_argument("--default-threads", action="store_true",
                    help="with --figures: the default thread count against --threads 1, serially")
    args = ap.parse_args()
    if args.figures:
        compare_commands(args.figures.split(","), not args.full, args.repeats, args.default_threads)
        return
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    fn = _SweepUnit(TreeEvaluate(QUICK, args.data_home))
    units = _units(args.splits)
    fn(units[0])  # load the table once before timing

    def direct_loop() -> float:
        t = time.perf_counter()
        for u in units:
            fn(u)
        return time.perf_counter() - t

    print(f"tree sweep units: {len(units)} units")
    noop_units = [Unit("noop", None, i) for i in range(args.noop)]
    t = time.perf_counter()
    for u in noop_units:
        NoOp()(u)
    noop_direct = (time.perf_counter() - t) / len(noop_units)
    executors = [("serial", SerialExecutor(threads=1))]
    if not args.serial_only:
        t = time.perf_counter()
        procs = ProcessExecutor(2, threads=1)
        procs.wait_ready()
        print(f"processes start-up: {time.perf_counter() - t:.2f} s (in the background of the driver's own work)")
        t = time.perf_counter()
        dask = DaskExecutor(n_jobs=2, threads=1)
        run_units(noop_units[:4], NoOp(), None, executor=dask, progress=False)
        print(f"dask LocalCluster start-up: {time.perf_counter() - t:.2f} s")
        executors += [("processes", procs), ("dask", dask)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, ex in executors:
                ratios, rates = [], []
                for r in range(args.rounds):  # alternating with a direct loop (ABBA): a shared machine's load drifts
                    direct = direct_loop() if r % 2 == 0 else 0.0
                    t = time.perf_counter()
                    run_units(units, fn, ResultStore(Path(tmp) / f"{name}-{r}.jsonl", {}), executor=ex, progress=False)
                    wall = time.perf_counter() - t
                    direct = direct or direct_loop()
                    ratios.append(direct / wall)
                    rates.append(len(units) / wall)
                label = f"tree sweep {name} (2 workers)" if name != "serial" else "tree sweep serial"
                print(f"{label}: {statistics.median(rates):.1f} units/s, {statistics.median(ratios):.2f}x the direct "
                      f"loop (median of {args.rounds} paired rounds)")
                pers = []
                for r in range(args.rounds):
                    t = time.perf_counter()
                    run_units(noop_units, NoOp(), ResultStore(Path(tmp) / f"noop-{name}-{r}.jsonl", {}), executor=ex,
                              progress=False)
                    pers.append((time.perf_counter() - t) / len(noop_units))
                print(f"engine overhead per unit, {name}: {1e3 * (statistics.median(pers) - noop_direct):.3f} ms")
    finally:
        for _, ex in executors:
            ex.close()


if __name__ == "__main__":
    main()
