"""validation.engine under faults, with real processes and real signals: Ctrl-C, a second run on a store, a
killed worker, a killed scheduler, a full disk, an address that is not a Dask scheduler. After each, the
rerun must leave the store identical to an uninterrupted run's."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import cloudpickle
import pytest

from tests.validation.test_store import free_space, full_disk
from validation.engine import (
    DaskExecutor,
    ProcessExecutor,
    SerialExecutor,
    Unit,
    UnitsFailed,
    derive_seed,
    run_units,
)
from validation.store import ResultStore, StoreError

cloudpickle.register_pickle_by_value(sys.modules[__name__])

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
ENV.pop("MID_SCHEDULER", None)

#: A command built like the toolkit's (run_command, make_executor, a store, run_units) whose units sleep:
#: slow enough to be interrupted, cheap on the CPU.
_SLOW = textwrap.dedent("""
    import sys, time
    import cloudpickle
    from validation.cli import run_command
    from validation.engine import ProcessExecutor, Unit, make_executor, run_units
    from validation.store import ResultStore

    class Slow:
        def __init__(self, sleep):
            self.sleep = sleep

        def __call__(self, unit):
            time.sleep(self.sleep)
            return {"i": unit.index, "x": unit.seed("x") % 1000}

    @run_command("slow")
    def main(argv):
        store, jobs, scheduler, n, sleep = argv
        if scheduler == "workers":  # every unit on worker processes (the default starts them for real work)
            ex = ProcessExecutor(int(jobs), threads=1, adaptive=False)
        else:
            ex = make_executor(int(jobs), None if scheduler == "-" else scheduler, threads=1)
        with ex:
            run_units([Unit("slow", None, i) for i in range(int(n))], Slow(float(sleep)),
                      ResultStore(store, {"n": int(n)}), executor=ex, desc="slow units")
        return 0

    if __name__ == "__main__":  # worker processes re-import this script
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        sys.exit(main(sys.argv[1:]))
""")


def _expected(n: int) -> dict:
    return {f"split={i}": {"i": i, "x": derive_seed("slow", f"split={i}", "x") % 1000} for i in range(n)}


def _records(path: Path) -> dict:
    return {r["key"]: r["value"] for r in map(json.loads, path.read_text().splitlines()[1:])}


def _slow(tmp_path: Path, store: Path, jobs: int, scheduler: str | None, n: int, sleep: float,
          **kwargs) -> subprocess.Popen:
    script = tmp_path / "slow.py"
    script.write_text(_SLOW)
    return subprocess.Popen([sys.executable, str(script), str(store), str(jobs), scheduler or "-", str(n), str(sleep)],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kwargs)


def _wait_for_records(store: Path, k: int, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.exists() and len(store.read_text().splitlines()) > k:
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended early: {proc.stderr.read()[-3000:]}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"the run recorded fewer than {k} units in {timeout} s")


def _alive_in_group(pgid: int) -> list[str]:
    """Processes (not zombies) of the process group ``pgid``, with their command lines."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                cmdline = (entry / "cmdline").read_bytes().replace(bytes(1), b" ")[:120]
                out.append(f"{entry.name}: {cmdline!r}")
        except (OSError, IndexError, ValueError):
            continue
    return out


def _messages(stderr: str, desc: str = "slow units") -> list[str]:
    """stderr without the progress bar's redraws."""
    lines = [part for line in stderr.splitlines() for part in line.split("\r")]
    return [line for line in lines if line.strip() and not line.startswith(f"{desc}:")]


def _rerun_until_complete(tmp_path: Path, store: Path, n: int, sleep: float) -> None:
    again = _slow(tmp_path, store, 1, None, n, sleep)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-3000:]
    assert _records(store) == _expected(n)


@pytest.mark.parametrize("jobs, scheduler", [(1, None), (2, None), (2, "workers"), (2, "local")],
                         ids=["serial", "processes-adaptive", "processes-workers", "dask-local"])
def test_ctrl_c_ends_a_run_with_one_line_and_no_process_left_and_the_resume_is_exact(tmp_path, jobs, scheduler):
    """SIGINT to the command's whole process group, as a terminal's Ctrl-C sends it: exit 130, the one line
    with the count actually stored, no traceback or worker noise, no process of the run left behind."""
    store, n, sleep = tmp_path / "slow.jsonl", 40, 0.25
    proc = _slow(tmp_path, store, jobs, scheduler, n, sleep)
    _wait_for_records(store, 3, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    stored = len(_records(store))
    assert 3 <= stored < n
    messages = _messages(err)
    if scheduler is None and jobs == 2:  # sleeping units cost no CPU: the driver keeps them, and says so
        assert re.fullmatch(r"\d+ unit\(s\) left of about .* s each: less work than starting 2 workers \(about .* s "
                            r"of CPU\); computing them in this process", messages.pop(0)), err[-3000:]
    assert messages == [f"interrupted: {stored} of {n} units stored in {store}; rerun the same command to resume"], \
        err[-3000:]
    deadline = time.monotonic() + 5
    while _alive_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive_in_group(proc.pid)
    _rerun_until_complete(tmp_path, store, n, sleep / 5)  # the same numbers: they come from the units


class KillsItsWorker:
    """Unit 5 kills its own worker process (SIGKILL, as the out-of-memory killer does): once, or always."""

    def __init__(self, marker: str, always: bool):
        self.marker, self.always = marker, always

    def __call__(self, unit: Unit) -> dict:
        if unit.index == 5 and (self.always or not os.path.exists(self.marker)):
            Path(self.marker).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.05)
        return {"i": unit.index, "x": unit.seed("x") % 1000}


def test_a_killed_worker_loses_nothing_its_units_run_again_and_the_store_matches_a_serial_run(tmp_path, capsys):
    units = [Unit("slow", None, i) for i in range(16)]
    (tmp_path / "done-already").touch()  # the serial reference runs in this process: unit 5 must not kill it
    serial = run_units(units, KillsItsWorker(str(tmp_path / "done-already"), always=False), None,
                       executor=SerialExecutor(threads=1), progress=False)
    with ProcessExecutor(2, threads=1, adaptive=False) as ex:
        store = ResultStore(tmp_path / "s.jsonl", {})
        report = run_units(units, KillsItsWorker(str(tmp_path / "killed"), always=False), store, executor=ex)
    assert (tmp_path / "killed").exists() and report.complete
    assert _records(tmp_path / "s.jsonl") == serial.results
    err = capsys.readouterr().err
    assert re.search(r"a worker died \(process \d+ was killed by SIGKILL \(out of memory\?\)\) with \d+ unit\(s\) "
                     r"in flight; running \d+ again, one at a time, in a fresh pool", err), err


def test_a_unit_that_always_kills_its_worker_fails_alone_after_the_retries_and_the_others_finish(tmp_path):
    units = [Unit("slow", None, i) for i in range(16)]
    with ProcessExecutor(2, threads=1, adaptive=False, retries=2) as ex:
        with pytest.raises(UnitsFailed, match=r"1 of 16 units failed .*split=5: its worker process died each of "
                                              r"the 3 times it ran \(process \d+ was killed by SIGKILL"):
            run_units(units, KillsItsWorker(str(tmp_path / "m"), always=True), ResultStore(tmp_path / "s.jsonl", {}),
                      executor=ex, progress=False)
    assert sorted(_records(tmp_path / "s.jsonl")) == sorted(u.key for u in units if u.index != 5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("fault", ["killed", "frozen"])
def test_a_lost_scheduler_ends_the_run_with_one_line_within_a_minute_and_the_rerun_completes(tmp_path, fault):
    """A scheduler killed (its connection closes) or frozen (SIGSTOP: the connection stays open and nothing
    answers, which only the heartbeat can tell)."""
    scheduler_file = tmp_path / "scheduler.json"
    common = {"env": ENV, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", str(_free_port()), "--no-dashboard", "--scheduler-file",
                                  str(scheduler_file)], **common)
    worker = None
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                   "--no-dashboard"], **common)
        store, n = tmp_path / "slow.jsonl", 60
        proc = _slow(tmp_path, store, 1, address, n, 0.2)
        _wait_for_records(store, 3, proc)
        scheduler.send_signal(signal.SIGKILL if fault == "killed" else signal.SIGSTOP)
        lost = time.monotonic()
        _, err = proc.communicate(timeout=120)
        assert time.monotonic() - lost < 60
        assert proc.returncode == 1, err[-3000:]
        stored = len(_records(store))
        why = "the connection closed" if fault == "killed" else "no answer for 20 s"
        assert _messages(err) == [f"slow: lost the Dask scheduler at {address}: {why}; {stored} of {n} units stored "
                                  f"in {store}; rerun the same command to resume once the scheduler is back"], err[-3000:]
    finally:
        for p in (scheduler, worker):
            if p is not None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    _rerun_until_complete(tmp_path, store, n, 0.02)


def test_a_full_disk_ends_the_run_with_one_line_and_the_rerun_after_freeing_space_completes(tmp_path):
    n = 200
    with full_disk(tmp_path, room=4096) as (mount, disk):
        store = mount / "slow.jsonl"
        proc = _slow(tmp_path, store, 1, None, n, 0.0, preexec_fn=disk["preexec"])
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, (disk["mechanism"], err[-3000:])
        stored = len(_records(store))
        assert 5 <= stored < n
        assert _messages(err) == [f"slow: cannot write {store}: "
                                  f"{'No space left on device' if disk['mechanism'] == 'tmpfs' else 'File too large'}; "
                                  f"{stored} units stored in {store}; free space and rerun"], (disk, err[-3000:])
        free_space(mount)
        again = _slow(tmp_path, store, 1, None, n, 0.0)
        _, err = again.communicate(timeout=120)
        assert again.returncode == 0, err[-3000:]
        assert _records(store) == _expected(n)


def test_a_second_run_of_a_command_on_the_same_store_is_refused_naming_the_first(tmp_path):
    store = tmp_path / "ind.json"
    cmd = [sys.executable, "-m", "validation", "ind", "--learner", "id3", "--n", "40", "--store", str(store)]
    first = subprocess.Popen([*cmd, "--models", "4000"], cwd=REPO, env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for_records(store, 2, first)
        second = subprocess.run([*cmd, "--models", "4000"], cwd=REPO, env=ENV, capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 2 and second.stdout == ""
        assert re.fullmatch(rf"python -m validation: error: {re.escape(str(store))} is in use by another run "
                            rf"\(process {first.pid}: .*\); wait for it to finish, or give this run another result "
                            r"store / output directory\n", second.stderr), second.stderr
        os.killpg(first.pid, signal.SIGINT)  # the real command's Ctrl-C
        _, err = first.communicate(timeout=60)
        assert first.returncode == 130
        assert _messages(err, "ind id3") == [f"interrupted: {len(_records(store))} of 4000 units stored in {store}; "
                                             "rerun the same command to resume"], err[-3000:]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()


@pytest.mark.parametrize("executor", [["--jobs", "2"], ["--scheduler", "local", "--jobs", "2"]],
                         ids=["processes", "dask-local"])
def test_ctrl_c_on_the_real_command_is_one_line_with_thousands_of_units_in_the_air(tmp_path, executor):
    """The real ``python -m validation ind`` with 4000 quick units: on --jobs 2 the workers' fork server is
    still importing when the signal comes; on a local Dask cluster thousands of tasks are queued."""
    store = tmp_path / "ind.json"
    proc = subprocess.Popen([sys.executable, "-m", "validation", "ind", "--learner", "id3", "--n", "40", "--models",
                             "4000", "--store", str(store), *executor], cwd=REPO, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for_records(store, 3, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert _messages(err, "ind id3")[-1:] == [f"interrupted: {len(_records(store))} of 4000 units stored in {store}; "
                                             "rerun the same command to resume"], err[-3000:]
    assert all("left of about" in line for line in _messages(err, "ind id3")[:-1]), err[-3000:]
    deadline = time.monotonic() + 5
    while _alive_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive_in_group(proc.pid)


class _Greeter(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")


@pytest.mark.parametrize("server", ["http", "greeting", "web-address"])
def test_an_address_that_is_not_a_dask_scheduler_is_refused_in_one_line_without_a_hang(server):
    handler = http.server.SimpleHTTPRequestHandler if server != "greeting" else _Greeter
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        port = httpd.server_address[1]
        address = f"{'http' if server == 'web-address' else 'tcp'}://127.0.0.1:{port}"
        start = time.monotonic()
        with pytest.raises(ValueError) as info:
            DaskExecutor(address, timeout=2)
        assert time.monotonic() - start < 30
        why = {"http": "answered no Dask handshake within 2 s: it is not a Dask scheduler",
               "greeting": "is not a Dask scheduler|cannot reach the Dask scheduler",
               "web-address": "is a web address"}[server]
        assert re.search(why, str(info.value)) and "\n" not in str(info.value)
        httpd.shutdown()


def test_the_command_line_refuses_a_web_server_as_scheduler_in_one_line(tmp_path):
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        r = subprocess.run([sys.executable, "-m", "validation", "ind", "--learner", "id3", "--n", "20", "--models", "4",
                            "--store", str(tmp_path / "s.json"), "--scheduler",
                            f"tcp://127.0.0.1:{httpd.server_address[1]}"],
                           capture_output=True, text=True, cwd=REPO, env=ENV, timeout=120)
        httpd.shutdown()
    assert r.returncode == 2 and "answered no Dask handshake within 10 s" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


class Exits:
    def __call__(self, unit: Unit) -> dict:
        if unit.index == 2:
            sys.exit(3)
        return {"i": unit.index}


@pytest.mark.parametrize("which", ["serial", "processes"])
def test_a_unit_calling_sys_exit_is_a_failed_unit_not_the_end_of_the_run(tmp_path, which):
    ex = SerialExecutor(threads=1) if which == "serial" else ProcessExecutor(2, threads=1, adaptive=False)
    with ex, pytest.raises(UnitsFailed, match=r"1 of 6 units failed .*split=2: the unit called sys.exit\(3\)"):
        run_units([Unit("e", None, i) for i in range(6)], Exits(), ResultStore(tmp_path / "s.jsonl", {}), executor=ex,
                  progress=False)
    assert sorted(_records(tmp_path / "s.jsonl")) == [f"split={i}" for i in range(6) if i != 2]


class Sleeps:
    def __init__(self, bad: int = -1):
        self.bad = bad

    def __call__(self, unit: Unit) -> dict:
        time.sleep(0.05)
        if unit.index == self.bad:
            raise RuntimeError("not this time")
        return {"i": unit.index}


def test_a_resume_at_another_thread_count_is_refused_and_compute_time_adds_up_over_resumes(tmp_path):
    units = [Unit("t", None, i) for i in range(8)]
    path = tmp_path / "s.jsonl"
    with pytest.raises(UnitsFailed):
        run_units(units, Sleeps(bad=3), ResultStore(path, {}), executor=SerialExecutor(threads=1), progress=False)
    with pytest.raises(StoreError, match=r"computed at 1 thread\(s\) per worker and this run would compute at 2 .* "
                                         r"rerun with --threads 1"):
        run_units(units, Sleeps(), ResultStore(path, {}), executor=SerialExecutor(threads=2), progress=False)
    report = run_units(units, Sleeps(), ResultStore(path, {}), executor=SerialExecutor(threads=1), progress=False)
    assert report.submitted == 1 and report.timed == 8 and report.compute_s >= 8 * 0.05
    # A finished store may be read at any thread count: nothing would be computed.
    assert run_units(units, Sleeps(), ResultStore(path, {}), executor=SerialExecutor(threads=2),
                     progress=False).submitted == 0


class _Local:
    def __init__(self, cpu, running=0.0):
        self.cpu, self._running = cpu, running

    def running_cpu(self):
        return self._running


def test_workers_start_only_for_work_that_earns_their_start_up():
    ex = ProcessExecutor.__new__(ProcessExecutor)  # the rules alone, without starting workers
    ex.workers = 2
    # Start-up 2 s of CPU: the work left must reach twice that; the first unit (lazy imports) is not work.
    assert ex._worth_starting(100, _Local([3.0]), 2.0) == (False, None)
    assert ex._worth_starting(100, _Local([], running=4.1), 2.0) == (True, None)  # one long unit (a network)
    assert ex._worth_starting(100, _Local([3.0, 0.03, 0.03]), 2.0) == (False, 0.03)  # 3 s of work left
    assert ex._worth_starting(140, _Local([3.0, 0.03, 0.03]), 2.0) == (True, 0.03)  # 4.2 s left
    assert ex._worth_starting(10, _Local([0.5, 0.1], running=4.5), 2.0) == (True, None)
    assert ex._worth_starting(0, _Local([0.5, 9.0]), 2.0) == (False, None)  # nothing left


_BUSY = textwrap.dedent("""
    import os, sys, time
    import cloudpickle
    from validation.engine import Unit, make_executor, run_units
    from validation.store import ResultStore

    class Busy:
        def __init__(self, log):
            self.log = log

        def __call__(self, unit):
            start = time.process_time()
            while time.process_time() - start < 0.25:  # CPU work, not a sleep
                pass
            with open(self.log, "a") as fh:
                fh.write(f"{os.getpid()}\\n")
            return {"i": unit.index, "x": unit.seed("x") % 1000}

    if __name__ == "__main__":
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        print(os.getpid(), flush=True)
        with make_executor(2, threads=1) as ex:
            run_units([Unit("slow", None, i) for i in range(24)], Busy(sys.argv[2]), ResultStore(sys.argv[1], {}),
                      executor=ex, progress=False)
""")


def test_with_real_work_the_default_starts_the_workers_and_the_numbers_stay_the_same(tmp_path):
    """24 units of 0.25 s of CPU in a fresh process: after two units the driver sees more work than the
    start-up and starts the workers, which compute units of their own; the store is the serial one."""
    script, store, log = tmp_path / "busy.py", tmp_path / "busy.jsonl", tmp_path / "pids"
    script.write_text(_BUSY)
    r = subprocess.run([sys.executable, str(script), str(store), str(log)], env=ENV, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    driver = int(r.stdout.split()[0])
    pids = [int(p) for p in log.read_text().split()]
    assert len(pids) == 24 and driver in pids and len(set(pids) - {driver}) >= 1
    assert "less work than" not in r.stderr
    assert _records(store) == _expected(24)
