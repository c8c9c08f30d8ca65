"""validation.engine: the same stores from every executor, resumption after a kill, failures contained."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

import validation.tree as vt
from validation.engine import (
    DaskExecutor,
    ProcessExecutor,
    SerialExecutor,
    Unit,
    UnitOutput,
    UnitsFailed,
    derive_seed,
    make_executor,
    resolve_threads,
    run_units,
)
from validation.store import ResultStore
from validation.sweep import Setting

# Workers of the process and Dask executors must be able to run this module's unit functions.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

REPO = Path(__file__).resolve().parents[2]
TINY = vt.TreeSweepConfig(max_depth=3, lambdas=(10.0,), epsilons=(100.0,), priority_depths=(0, None))


@pytest.fixture(scope="module")
def dask_executor():
    with DaskExecutor(n_jobs=2, threads=1) as ex:
        yield ex


@pytest.fixture(scope="module")
def process_executor():
    with ProcessExecutor(2, threads=1, adaptive=False) as ex:  # every unit on the workers
        yield ex


def _records(path: Path) -> dict:
    lines = path.read_text().splitlines()[1:]
    return {r["key"]: r["value"] for r in map(json.loads, lines)}


def test_tree_sweep_gives_identical_stores_serially_on_processes_and_on_dask(
        tmp_path, data_home, process_executor, dask_executor):
    stores = {}
    for name, ex in (("serial", SerialExecutor(threads=1)), ("processes", process_executor),
                     ("dask", dask_executor)):
        stores[name] = tmp_path / f"{name}.jsonl"
        res = vt.run_tree_sweep(stores[name], data_home=data_home, config=TINY, n_splits=3, progress=False,
                                executor=ex)
        assert len(res.runs) == len(TINY.settings()) * 3
    serial = _records(stores["serial"])
    assert len(serial) == len(TINY.settings()) * 3
    assert _records(stores["processes"]) == serial
    assert _records(stores["dask"]) == serial


class Noisy:
    """A unit whose numbers come from its own description (and a fixed seed), never from run order."""

    def __call__(self, unit: Unit) -> dict:
        rng = np.random.default_rng(unit.seed("noise"))
        return {"x": float(rng.normal()), "v": unit.setting.value, "i": unit.index}


def _grid(n: int = 6) -> list[Unit]:
    return [Unit("noisy", Setting("S", "k", float(v)), i) for v in (1, 2) for i in range(n)]


def test_results_do_not_depend_on_the_order_of_execution(tmp_path, process_executor):
    units = _grid()
    forward = run_units(units, Noisy(), None, progress=False).results
    backward = run_units(units[::-1], Noisy(), None, progress=False).results
    parallel = run_units(units, Noisy(), ResultStore(tmp_path / "p.jsonl", {}), executor=process_executor,
                         progress=False).results
    assert forward == backward == parallel
    assert len({r["x"] for r in forward.values()}) == len(units)  # every unit draws its own numbers


def test_derive_seed_is_a_stable_function_of_its_parts():
    assert derive_seed("fig2a", "MID|mid_lambda=1.0|split=3") == derive_seed("fig2a", "MID|mid_lambda=1.0|split=3")
    assert derive_seed("a", 1) != derive_seed("a", 2) != derive_seed("b", 1)
    # A pinned value: the seed must not change between Python versions, processes or machines.
    assert derive_seed("unit", 0) == 0x60727ACF356237F6


class FailsOn:
    def __init__(self, bad: int):
        self.bad = bad

    def __call__(self, unit: Unit) -> dict:
        if unit.index == self.bad:
            raise ZeroDivisionError("unit three cannot be divided")
        return {"i": unit.index}


@pytest.mark.parametrize("which", ["serial", "processes", "dask"])
def test_a_failing_unit_is_reported_and_recorded_nowhere_while_the_others_finish(
        which, tmp_path, process_executor, dask_executor, capsys):
    ex = {"serial": SerialExecutor(threads=1), "processes": process_executor, "dask": dask_executor}[which]
    units = [Unit("f", None, i) for i in range(8)]
    store = ResultStore(tmp_path / "f.jsonl", {"f": 1})
    with pytest.raises(UnitsFailed, match=r"1 of 8 units failed .*split=3.*ZeroDivisionError") as info:
        run_units(units, FailsOn(3), store, executor=ex, progress=True, desc="fails")
    report = info.value.report
    assert [f.key for f in report.failures] == ["split=3"] and "ZeroDivisionError" in report.failures[0].traceback
    assert sorted(_records(tmp_path / "f.jsonl")) == sorted(f"split={i}" for i in range(8) if i != 3)
    assert "unit split=3 failed: ZeroDivisionError: unit three cannot be divided" in capsys.readouterr().err
    # A rerun with the bug fixed computes only the missing unit.
    again = run_units(units, FailsOn(-1), ResultStore(tmp_path / "f.jsonl", {"f": 1}), executor=ex, progress=False)
    assert again.submitted == 1 and again.skipped == 7 and len(again.results) == 8


class WithFile:
    def __call__(self, unit: Unit) -> UnitOutput:
        return UnitOutput({"i": unit.index}, {f"files/u{unit.index}.bin": bytes([unit.index]) * 3})


def test_unit_files_come_back_to_the_driver_and_are_written_before_the_record(tmp_path, dask_executor):
    store = ResultStore(tmp_path / "s.jsonl", {})
    run_units([Unit("w", None, i) for i in range(3)], WithFile(), store, executor=dask_executor, progress=False)
    assert [(tmp_path / "files" / f"u{i}.bin").read_bytes() for i in range(3)] == [b"\0\0\0", b"\1\1\1", b"\2\2\2"]


class Escapes:
    def __call__(self, unit: Unit) -> UnitOutput:
        return UnitOutput({}, {"../outside.bin": b"x"})


def test_a_unit_file_outside_the_run_directory_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(ValueError, match="outside"):
        run_units([Unit("e", None, 0)], Escapes(), ResultStore(tmp_path / "run" / "s.jsonl", {}), progress=False)
    assert not (tmp_path / "outside.bin").exists()


def test_duplicate_unit_keys_are_refused():
    with pytest.raises(ValueError, match="share the key"):
        run_units([Unit("d", None, 0), Unit("d", None, 0)], Noisy(), None, progress=False)


_SLOW_SWEEP = textwrap.dedent("""
    import sys, time
    import cloudpickle
    from validation.engine import DaskExecutor, Unit, run_units
    from validation.store import ResultStore

    class Slow:
        def __call__(self, unit):
            time.sleep(0.25)
            return {"i": unit.index, "sq": unit.index ** 2}

    if __name__ == "__main__":  # the cluster's worker processes re-import this script
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        units = [Unit("slow", None, i) for i in range(40)]
        with DaskExecutor(n_jobs=2, threads=1) as ex:
            run_units(units, Slow(), ResultStore(sys.argv[1], {"slow": 1}), executor=ex, progress=False)
""")


def test_a_dask_run_killed_midway_resumes_where_it_stopped(tmp_path):
    script, store = tmp_path / "slow.py", tmp_path / "slow.jsonl"
    script.write_text(_SLOW_SWEEP)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script), str(store)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if store.exists() and len(store.read_text().splitlines()) > 6:
                break
            if proc.poll() is not None:
                pytest.fail(f"the sweep ended early: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        else:
            pytest.fail("the sweep recorded nothing within two minutes")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its cluster, no clean-up
        proc.wait()
    done = _records(store)
    assert 6 <= len(done) < 40
    calls: list[int] = []

    class Counting:
        def __call__(self, unit):
            calls.append(unit.index)
            return {"i": unit.index, "sq": unit.index ** 2}

    report = run_units([Unit("slow", None, i) for i in range(40)], Counting(), ResultStore(store, {"slow": 1}),
                       progress=False)
    assert sorted(calls) == sorted(set(range(40)) - {int(k.split("=")[1]) for k in done})
    assert report.results == {f"split={i}": {"i": i, "sq": i * i} for i in range(40)}


def test_threads_follow_the_option_then_the_environment_then_one_per_worker(monkeypatch):
    monkeypatch.delenv("MID_THREADS", raising=False)
    monkeypatch.setattr("validation.engine.usable_cores", lambda: 8)
    assert resolve_threads(None) == 1 and resolve_threads(3) == 3  # never the cores: one fixed default
    monkeypatch.setenv("MID_THREADS", "5")
    assert resolve_threads(None) == 5
    monkeypatch.setenv("MID_THREADS", "zero")
    with pytest.raises(ValueError, match="MID_THREADS"):
        resolve_threads(None)
    with pytest.raises(ValueError, match="threads"):
        resolve_threads(0)


class ThreadProbe:
    def __call__(self, unit: Unit) -> dict:
        import torch
        from threadpoolctl import threadpool_info

        blas = {d["num_threads"] for d in threadpool_info()}
        return {"torch": torch.get_num_threads(), "blas": sorted(blas)}


def test_workers_compute_at_the_requested_threads(tmp_path):
    with ProcessExecutor(2, threads=1, adaptive=False) as ex:
        out = run_units([Unit("t", None, i) for i in range(2)], ThreadProbe(), None, executor=ex, progress=False)
    assert all(r["torch"] == 1 and r["blas"] in ([1], []) for r in out.results.values())
    import torch

    before = torch.get_num_threads()
    serial = run_units([Unit("t", None, 0)], ThreadProbe(), None, executor=SerialExecutor(threads=1), progress=False)
    assert serial.results["split=0"]["torch"] == 1 and torch.get_num_threads() == before  # restored afterwards


def test_make_executor_reads_the_options_and_the_scheduler_variable(monkeypatch):
    monkeypatch.delenv("MID_SCHEDULER", raising=False)
    assert isinstance(make_executor(1), SerialExecutor)
    with make_executor(2, threads=1) as ex:
        assert isinstance(ex, ProcessExecutor) and ex.describe() == {"executor": "processes", "workers": 2,
                                                                    "threads": 1}
    with pytest.raises(ValueError, match="jobs"):
        make_executor(0)
    with pytest.raises(ValueError, match="exceeds the .* usable cores"):
        make_executor(10_000)
    monkeypatch.setenv("MID_SCHEDULER", "tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="cannot reach the Dask scheduler"):
        make_executor(1)


def test_the_validation_cli_reports_a_bad_scheduler_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "validation", "ind", "--learner", "id3", "--n", "20", "--models", "4",
                        "--store", str(tmp_path / "s.json"), "--scheduler", "tcp://127.0.0.1:1"],
                       capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 2 and "cannot reach the Dask scheduler" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


_ORPHAN_SWEEP = textwrap.dedent("""
    import os, sys, time
    import cloudpickle
    from validation.engine import ProcessExecutor, Unit, run_units
    from validation.store import ResultStore

    class PidThenSleep:
        def __call__(self, unit):
            if unit.index >= 2:
                time.sleep(60)
            return {"pid": os.getpid()}

    if __name__ == "__main__":
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        with ProcessExecutor(2, threads=1, adaptive=False) as ex:
            run_units([Unit("o", None, i) for i in range(6)], PidThenSleep(), ResultStore(sys.argv[1], {}),
                      executor=ex, progress=False)
""")


def test_worker_processes_exit_when_their_driver_is_killed(tmp_path):
    script, store = tmp_path / "orphans.py", tmp_path / "o.jsonl"
    script.write_text(_ORPHAN_SWEEP)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script), str(store)], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (store.exists() and len(store.read_text().splitlines()) >= 3):
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.05)
    pids = {r["pid"] for r in _records(store).values()}
    assert pids
    proc.kill()  # the driver only: its workers must notice and end themselves
    proc.wait()
    deadline = time.monotonic() + 30
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {p for p in alive if _running(p)}
        time.sleep(0.2)
    assert not alive, f"workers {alive} outlived their driver"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie has exited
        return fh.read().split(")")[-1].split()[0] != "Z"


def _square(unit: Unit) -> int:
    return unit.index**2


def test_the_keep_small_work_line_is_said_once_per_executor(capsys):
    """A command runs many small sweeps on one executor (the bounds figure: 23); the line that the driver keeps
    small work is said once, not once per sweep, and the results are those of a serial run."""
    units = [Unit("s", None, k) for k in range(3)]
    with ProcessExecutor(2, threads=1) as ex:
        for _ in range(4):
            results = sorted((u.index, ok, out.value) for u, ok, out, _ in ex.imap(_square, units))
            assert results == [(k, True, k * k) for k in range(3)]
    assert capsys.readouterr().err.count("less work than starting 2 workers") == 1
