"""Benchmark of the sweep engine (validation.engine): throughput on the tree sweep and per-unit overhead.

``python benchmarks/sweep.py [--splits 10] [--noop 400]`` prints, as ``name: value unit`` lines,

* units per second of the Figure 2(b) tree sweep (quick grid × ``--splits`` splits) called directly in a loop
  (the peer: no engine, no store), through the engine serially, on 2 local processes and on a 2-worker Dask
  LocalCluster — each into a fresh store; the speed-up of each executor over a direct loop timed just before
  it (paired, so that drifting load on a shared machine does not enter the ratio);
* the engine's overhead per unit: wall time per unit of a no-op unit (store record and fsync included)
  minus the direct call's, for each executor — the cost the engine adds to every unit (targets: < 5 ms on
  processes, < 20 ms on Dask).

Executors are started before timing (worker start-up is a one-off cost, reported separately).
"""

from __future__ import annotations

import argparse
import os
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--noop", type=int, default=400, help="no-op units for the overhead measurement")
    ap.add_argument("--data-home", default=os.environ.get("MID_DATA"))
    args = ap.parse_args()
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

    direct = direct_loop()
    print(f"tree sweep units: {len(units)} units")
    print(f"tree sweep direct loop: {len(units) / direct:.1f} units/s")
    noop_units = [Unit("noop", None, i) for i in range(args.noop)]
    t = time.perf_counter()
    for u in noop_units:
        NoOp()(u)
    noop_direct = (time.perf_counter() - t) / len(noop_units)

    t = time.perf_counter()
    procs = ProcessExecutor(2, threads=1)
    run_units(noop_units[:4], NoOp(), None, executor=procs, progress=False)  # start the workers
    print(f"processes start-up: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    dask = DaskExecutor(n_jobs=2, threads=1)
    run_units(noop_units[:4], NoOp(), None, executor=dask, progress=False)
    print(f"dask LocalCluster start-up: {time.perf_counter() - t:.2f} s")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, ex in (("serial", SerialExecutor(threads=1)), ("processes", procs), ("dask", dask)):
                direct = direct_loop()  # paired with the executor's run: a shared machine's load drifts
                t = time.perf_counter()
                run_units(units, fn, ResultStore(Path(tmp) / f"{name}.jsonl", {}), executor=ex, progress=False)
                wall = time.perf_counter() - t
                print(f"tree sweep {name} (2 workers)" if name != "serial" else "tree sweep serial",
                      f": {len(units) / wall:.1f} units/s, {direct / wall:.2f}x the direct loop", sep="")
                t = time.perf_counter()
                run_units(noop_units, NoOp(), ResultStore(Path(tmp) / f"noop-{name}.jsonl", {}), executor=ex,
                          progress=False)
                per = (time.perf_counter() - t) / len(noop_units)
                print(f"engine overhead per unit, {name}: {1e3 * (per - noop_direct):.3f} ms")
    finally:
        procs.close()
        dask.close()


if __name__ == "__main__":
    main()
