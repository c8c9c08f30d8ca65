"""validation.store: atomic JSON documents and the append-only resumable result store."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from validation.store import (
    ResultStore,
    StoreBusy,
    StoreError,
    check_store_file,
    write_json_atomic,
)

REPO = Path(__file__).resolve().parents[2]

SETTINGS = {"grid": [1, 2]}


def _store_with(path, n=4):
    store = ResultStore(path, SETTINGS)
    for k in range(n):
        store.put(f"k={k}", {"v": k / 3, "name": "é"})
    return {f"k={k}": {"v": k / 3, "name": "é"} for k in range(n)}


def test_write_json_atomic_leaves_no_temporary_files(tmp_path):
    path = write_json_atomic(tmp_path / "sub" / "a.json", {"x": [1, 2.5]})
    assert json.loads(path.read_text()) == {"x": [1, 2.5]}
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]
    with pytest.raises(ValueError):
        write_json_atomic(path, {"x": float("nan")})
    assert json.loads(path.read_text()) == {"x": [1, 2.5]}  # the old document survives a failed write


def test_store_resumes_and_drops_a_record_cut_short(tmp_path):
    path = tmp_path / "runs.jsonl"
    store = ResultStore(path, SETTINGS)
    for k in range(3):
        store.put(f"k={k}", {"v": k / 3})
    with open(path, "a") as fh:  # an interruption in the middle of writing a fourth record
        fh.write('{"key": "k=3", "val')
    again = ResultStore(path, SETTINGS)
    assert again.results == {f"k={k}": {"v": k / 3} for k in range(3)}
    assert again.repaired_line == 5
    assert again.get_or_compute("k=3", lambda: {"v": 1.0}) == {"v": 1.0}
    assert ResultStore(path, SETTINGS).results["k=3"] == {"v": 1.0}
    with pytest.raises(ValueError, match="other settings"):
        ResultStore(path, {"grid": [1, 2, 3]})


@settings(max_examples=60)
@given(cut=st.integers(min_value=0, max_value=10**6))
def test_a_store_cut_at_any_byte_resumes_with_the_records_before_the_cut(tmp_path_factory, cut):
    path = tmp_path_factory.mktemp("cut") / "runs.jsonl"
    expected = _store_with(path)
    data = path.read_bytes()
    header = data.index(b"\n") + 1
    cut = header + cut % (len(data) - header + 1)
    path.write_bytes(data[:cut])
    complete = data[:cut].count(b"\n") - 1  # records whose newline survived the cut
    store = ResultStore(path, SETTINGS)
    assert store.results == dict(list(expected.items())[:complete])
    assert path.read_bytes() == data[:data.rfind(b"\n", 0, cut) + 1]  # exactly the torn tail is dropped


@pytest.mark.parametrize("line, what", [
    (b"garbage", "not JSON"),
    (b'{"k": 1}', "not a {\"key\""),
    (b"[1, 2]", "not a {\"key\""),
    (b'{"key": 7, "value": 1}', "not a {\"key\""),
    (b'{"key": "a", "value": 1, "settings": {}}', "not a {\"key\""),
    (b'{"key": "a", "value": NaN}', "not JSON (NaN"),
    (b'{"key": "a", "value": "caf\xe9"}', "not valid UTF-8"),
    (b"", "empty"),
])
def test_a_store_damaged_in_the_middle_is_refused_with_file_and_line(tmp_path, line, what):
    path = tmp_path / "runs.jsonl"
    _store_with(path)
    lines = path.read_bytes().split(b"\n")
    lines[2] = line  # the second record, with two good records after it
    damaged = b"\n".join(lines)
    path.write_bytes(damaged)
    with pytest.raises(StoreError, match=r"runs\.jsonl, line 3: ") as info:
        ResultStore(path, SETTINGS)
    assert what in str(info.value) and "delete that line" in str(info.value) and "\n" not in str(info.value)
    assert path.read_bytes() == damaged  # nothing is truncated or rewritten


@settings(max_examples=80)
@given(junk=st.binary(min_size=0, max_size=40).filter(lambda b: b"\n" not in b))
def test_any_replacement_of_a_middle_line_is_read_or_refused_never_mangled(tmp_path_factory, junk):
    path = tmp_path_factory.mktemp("junk") / "runs.jsonl"
    expected = _store_with(path, n=3)
    lines = path.read_bytes().split(b"\n")
    lines[2] = junk
    path.write_bytes(b"\n".join(lines))
    try:
        store = ResultStore(path, SETTINGS)
    except StoreError as exc:
        assert "line 3:" in str(exc)
    else:  # the junk happens to be a record: the two good records around it survive
        assert store.results["k=0"] == expected["k=0"] and store.results["k=2"] == expected["k=2"]


def test_an_unterminated_last_line_that_is_not_a_record_is_refused(tmp_path):
    path = tmp_path / "runs.jsonl"
    _store_with(path, n=2)
    with open(path, "ab") as fh:
        fh.write(b"PK\x03\x04 not ours")
    with pytest.raises(StoreError, match=r"line 4: it does not end with a newline"):
        ResultStore(path, SETTINGS)


@pytest.mark.parametrize("content", [b"", b"hello\n", b'{"settings": {"grid": [1, 2]}}', b'[1]\n',
                                     b'{"settings": {"grid": [1, 2]}, "x": 1}\n'])
def test_a_file_that_is_not_a_store_is_refused(tmp_path, content):
    path = tmp_path / "README.md"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="is not a result store"):
        ResultStore(path, SETTINGS)
    assert path.read_bytes() == content


def test_unusable_paths_and_keys(tmp_path):
    with pytest.raises(StoreError, match="is not a file"):
        ResultStore(tmp_path, SETTINGS)
    (tmp_path / "a-file").write_text("x")  # a parent that is a file: unwritable even for root
    with pytest.raises(StoreError, match="cannot create the result store"):
        ResultStore(tmp_path / "a-file" / "runs.jsonl", SETTINGS)
    store = ResultStore(tmp_path / "runs.jsonl", SETTINGS)
    with pytest.raises(TypeError, match="strings"):
        store.put(3, 1.0)


def test_check_store_file_refuses_what_is_not_a_store(tmp_path):
    check_store_file(tmp_path / "new.jsonl")  # absent: fine
    _store_with(tmp_path / "runs.jsonl", n=1)
    check_store_file(tmp_path / "runs.jsonl")
    (tmp_path / "notes.txt").write_text("hello\n")
    for bad in (tmp_path / "notes.txt", tmp_path):
        with pytest.raises(StoreError, match="is not a"):
            check_store_file(bad)


# ----------------------------------------------------------------------------------- lock, header, commit

_HOLD = textwrap.dedent("""
    import sys, time
    from validation.store import ResultStore
    store = ResultStore(sys.argv[1], {"grid": [1, 2]})
    store.put("k=0", 0)
    print("holding", flush=True)
    time.sleep(120)
""")


def _python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE, text=True,
                            **kwargs)


def test_a_second_process_on_an_open_store_is_refused_with_its_pid_and_may_go_on_once_it_ends(tmp_path):
    path = tmp_path / "runs.jsonl"
    holder = _python(_HOLD, str(path))
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(StoreBusy, match=rf"in use by another run \(process {holder.pid}\b") as info:
            ResultStore(path, SETTINGS)
        assert "\n" not in str(info.value)
        with pytest.raises(StoreBusy, match=str(holder.pid)):
            check_store_file(path)  # the command lines' early check sees it too
    finally:
        holder.kill()  # no clean-up: the kernel releases the lock of a killed process
        holder.wait()
    store = ResultStore(path, SETTINGS)
    assert store.results == {"k=0": 0}
    again = ResultStore(path, SETTINGS)  # the same process may open it twice: one lock, shared
    store.close()
    again.put("k=1", 1)  # still held by ``again``
    again.close()
    assert ResultStore(path, SETTINGS).results == {"k=0": 0, "k=1": 1}


_CREATE = textwrap.dedent("""
    import sys, time
    from validation.store import ResultStore, StoreError
    start, eps = float(sys.argv[2]), float(sys.argv[3])
    while time.time() < start:
        pass
    try:
        store = ResultStore(sys.argv[1], {"eps": eps})
        store.put(f"eps={eps}", eps)
        time.sleep(0.5)  # still open while the others try
        print("wrote", flush=True)
    except StoreError as exc:
        print("refused", flush=True)
""")


def test_runs_creating_one_store_at_once_never_mix_their_settings(tmp_path):
    """Four processes create the same new store at the same instant under different settings: one wins,
    the others are refused (busy or other settings); the file holds one header and only its records."""
    path = tmp_path / "race.jsonl"
    start = f"{time.time() + 3:.3f}"
    procs = [_python(_CREATE, str(path), start, str(eps)) for eps in (1.0, 2.0, 3.0, 4.0)]
    outcomes = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert sorted(outcomes) == ["refused"] * 3 + ["wrote"]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    eps = lines[0]["settings"]["eps"]
    assert lines[1:] == [{"key": f"eps={eps}", "value": eps}]
    assert not [p for p in tmp_path.iterdir() if p.name != "race.jsonl"]  # no temporary file left


def test_new_files_get_the_umask_mode_and_replaced_files_keep_theirs(tmp_path):
    old = os.umask(0o022)
    try:
        store = ResultStore(tmp_path / "runs.jsonl", SETTINGS)
        doc = write_json_atomic(tmp_path / "fig.json", {"x": 1})
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o644 and stat.S_IMODE(doc.stat().st_mode) == 0o644
        os.chmod(doc, 0o640)
        write_json_atomic(doc, {"x": 2})
        assert stat.S_IMODE(doc.stat().st_mode) == 0o640
        os.umask(0o077)
        assert stat.S_IMODE(write_json_atomic(tmp_path / "private.json", {}).stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_group_commit_fsyncs_per_window_not_per_record_and_writes_the_same_file(tmp_path, monkeypatch):
    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real_fsync(fd))
    grouped = ResultStore(tmp_path / "grouped.jsonl", SETTINGS)
    calls.clear()
    for k in range(200):
        grouped.put(f"k={k}", {"v": k / 7}, seconds=0.5, threads=1)
    assert 1 <= len(calls) <= 200 // 64 + 2  # a window of 64 records (and at most one timer fsync)
    grouped.close()
    assert len(calls) <= 200 // 64 + 3
    each = ResultStore(tmp_path / "each.jsonl", SETTINGS, commit_records=1)
    for k in range(200):
        each.put(f"k={k}", {"v": k / 7}, seconds=0.5, threads=1)
    each.close()
    assert (tmp_path / "grouped.jsonl").read_bytes() == (tmp_path / "each.jsonl").read_bytes()
    assert ResultStore(tmp_path / "grouped.jsonl", SETTINGS).compute_seconds() == (100.0, 200)


def test_a_timer_makes_a_lone_record_durable_within_the_window(tmp_path, monkeypatch):
    synced = threading.Event()
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (real_fsync(fd), synced.set()))
    store = ResultStore(tmp_path / "runs.jsonl", SETTINGS, commit_interval=0.2)
    store.put("k=0", 0)  # the first record after a quiet spell is made durable at once
    synced.clear()
    store.put("k=1", 1)  # the second waits for the window's end, not for the next record
    assert synced.wait(10)
    store.close()


_WINDOW = textwrap.dedent("""
    import sys, time
    from validation.store import ResultStore
    store = ResultStore(sys.argv[1], {"grid": [1, 2]}, commit_interval=3600, commit_records=10**6)
    for k in range(int(sys.argv[2])):
        store.put(f"k={k}", {"v": k / 3})
    print("written", flush=True)
    time.sleep(120)
""")


def test_a_process_killed_inside_a_commit_window_resumes_exactly(tmp_path):
    """SIGKILL while 40 records await their fsync (a one-hour window): the records were handed to the OS, so
    the reopened store has them all, no torn line, no stale lock; the resume adds exactly the rest."""
    path = tmp_path / "runs.jsonl"
    proc = _python(_WINDOW, str(path), "40")
    try:
        assert proc.stdout.readline().strip() == "written"
    finally:
        proc.kill()
        proc.wait()
    store = ResultStore(path, SETTINGS)
    assert store.results == {f"k={k}": {"v": k / 3} for k in range(40)}
    for k in range(60):
        store.get_or_compute(f"k={k}", lambda k=k: {"v": k / 3})
    store.close()
    reference = ResultStore(tmp_path / "reference.jsonl", SETTINGS)
    for k in range(60):
        reference.put(f"k={k}", {"v": k / 3})
    reference.close()
    assert path.read_bytes().split(b"\n", 1)[1] == (tmp_path / "reference.jsonl").read_bytes().split(b"\n", 1)[1]


def test_a_tail_of_zero_bytes_left_by_a_crash_is_dropped_like_a_torn_record(tmp_path):
    path = tmp_path / "runs.jsonl"
    expected = _store_with(path, n=3)
    with open(path, "ab") as fh:
        fh.write(b'{"key": "k=3", "va' + b"\0" * 300)
    assert ResultStore(path, SETTINGS).results == expected


@contextlib.contextmanager
def full_disk(tmp_path: Path, room: int):
    """A directory where writing fails after about ``room`` more bytes, and the ``preexec_fn`` of a
    subprocess that writes there: a 64 KiB tmpfs filled up to ``room`` (real ENOSPC) where mounting is
    allowed (root), else a file-size limit on the subprocess (RLIMIT_FSIZE: EFBIG, the same short write).
    Leaving the block frees the space (the filler removed, or no limit) before the tmpfs is unmounted."""
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                             capture_output=True).returncode == 0
    if mounted:
        with open(mount / "filler", "wb") as fh:
            with contextlib.suppress(OSError):
                fh.write(b"x" * (64 * 1024))
        os.truncate(mount / "filler", max(0, (mount / "filler").stat().st_size - room))
        limit = None
    else:
        limit = room

    def preexec() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    state = {"mechanism": "tmpfs" if mounted else "RLIMIT_FSIZE", "preexec": preexec}
    try:
        yield mount, state
    finally:
        if mounted and subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            # still busy (a writer that has not exited yet): detach it now, the kernel frees it when released
            subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def free_space(mount: Path) -> None:
    (mount / "filler").unlink(missing_ok=True)


_FILL = textwrap.dedent("""
    import sys
    from validation.store import ResultStore, StoreWriteError
    store = ResultStore(sys.argv[1], {"grid": [1, 2]})
    try:
        for k in range(10_000):
            store.put(f"k={k}", {"v": "x" * 100})
    except StoreWriteError as exc:
        print(len(store.results), exc, flush=True)
""")


def test_a_full_disk_fails_the_record_cleanly_and_keeps_the_others(tmp_path):
    with full_disk(tmp_path, room=8192) as (mount, disk):
        out = _python(_FILL, str(mount / "runs.jsonl"), preexec_fn=disk["preexec"]).communicate(timeout=120)[0]
        count, message = out.split(" ", 1)
        assert re.fullmatch(r"cannot write .*runs\.jsonl: (No space left on device|File too large); "
                            rf"{count} units stored in .*runs\.jsonl; free space and rerun\n", message), disk
        assert int(count) >= 5
        free_space(mount)
        again = ResultStore(mount / "runs.jsonl", SETTINGS)  # no torn line: every record reads back
        assert again.results == {f"k={k}": {"v": "x" * 100} for k in range(int(count))}
        assert again.repaired_line is None
        again.close()


def test_ctrl_c_taken_by_another_thread_waits_until_the_record_is_counted():
    """Python runs the Ctrl-C handler in the main thread whichever thread the kernel hands the signal to (with a
    Dask client alive there are several): a record being written and counted is never cut in between, and the
    interrupt comes right after it."""
    from validation.store import _signals_deferred

    go, sent = threading.Event(), threading.Event()

    def send():  # a thread started before the record, as a Dask client's are
        go.wait()
        os.kill(os.getpid(), signal.SIGINT)
        sent.set()

    sender = threading.Thread(target=send)
    sender.start()
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with _signals_deferred():
            go.set()
            sent.wait()
            for _ in range(10_000):  # the interpreter looks for pending signals between these instructions
                time.sleep(0)
            reached.append("counted")
    sender.join()
    assert reached == ["counted"]
