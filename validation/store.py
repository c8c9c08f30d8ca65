"""Atomic result files and resumable experiments.

:func:`write_json_atomic` writes a whole JSON document through a temporary file in the same directory
and ``os.replace``, so a reader never sees a half-written figure file; new files get the mode the umask
allows (0644 typically), a replaced file keeps its mode. Long experiments (sweeps over splits, many model
draws) record each finished unit of work under a string key in a :class:`ResultStore`, an append-only JSON
Lines file held under an exclusive lock, and a rerun skips the keys already present.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import hashlib
import json
import math
import os
import secrets
import signal
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable, NoReturn

try:
    import fcntl
except ImportError:  # Windows: stores work without the lock that keeps a second run out
    fcntl = None

__all__ = ["DISK_ERRORS", "ResultStore", "StoreBusy", "StoreError", "StoreWriteError", "check_store_file",
           "write_bytes_atomic", "write_json_atomic"]

#: ``errno`` values of a write that failed for want of space or of a writable file system: the run stops
#: with one line (nothing recorded is lost) instead of a traceback.
DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO})

#: A temporary file's name stays below the 255-byte limit of a file name whatever the final name's length.
_NAME_MAX = 255


def _temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path`` (hidden, random, never longer than a file name may be)."""
    name = path.name
    if len(os.fsencode(name)) > _NAME_MAX - 20:
        name = hashlib.sha256(os.fsencode(name)).hexdigest()[:32]
    return path.with_name(f".{name}.{secrets.token_hex(4)}.tmp")


def _fsync_dir(directory: Path) -> None:
    """Make a rename or a new name in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _write_new_file(tmp: Path, data: bytes, mode: int | None = None) -> None:
    """Create ``tmp`` (it must not exist) with the umask's mode, or ``mode``; write, fsync and close it."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if mode is not None:
            os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (:func:`write_bytes_atomic`)."""
    return write_bytes_atomic(path, text.encode())


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory, fsync and ``os.replace``.

    A new file is created with the mode the umask allows (``0o666 & ~umask``: 0644 under the usual umask
    022), as ``open`` would create it; a file that is replaced keeps its permission bits.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        mode = None
    tmp = _temp_path(path)
    try:
        _write_new_file(tmp, data, mode)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (temp file + fsync + ``os.replace``)."""
    return _write_text_atomic(Path(path), json.dumps(obj, indent=2, allow_nan=False) + "\n")


# ------------------------------------------------------------------------------------------ paths


def _show(path: Path | str, limit: int = 90) -> str:
    """``path`` for a one-line message: a path of thousands of characters is shortened in the middle."""
    text = str(path)
    return text if len(text) <= limit else f"{text[:50]}...{text[-30:]} ({len(os.fsencode(text))} bytes)"


def _link_problem(path: Path) -> str | None:
    """What is wrong with a symbolic link at ``path`` (a loop, or a target that does not exist), if anything."""
    if not path.is_symlink():
        return None
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link in a loop"
        return f"is a symbolic link to {_show(os.readlink(path), 60)}, which does not exist"
    return None


# ------------------------------------------------------------------------------------------ the store


class StoreError(ValueError):
    """A result file that cannot be resumed: not a store, other settings, or corrupted before its last line."""


class StoreBusy(StoreError):
    """The store is locked by another run (its process id in the message)."""


class StoreWriteError(OSError):
    """A record could not be written (disk full, read-only file system); everything recorded before is kept.

    ``str()`` is the one line a command prints: what failed, how many units are stored, what to do."""

    def __str__(self) -> str:
        return str(self.strerror)


#: How every record line starts (``json.dumps`` of ``{"key": ..., "value": ...}``); a cut-short last line
#: is recognised as a prefix of a record by this start.
_RECORD_START = b'{"key": '
#: Keys a record line may hold besides ``key`` and ``value``: the unit's compute time and threads.
_RECORD_EXTRAS = {"seconds", "threads"}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not strict JSON")


def _read_line(line: bytes) -> tuple[Any, str | None]:
    """``(value, None)`` for a line holding one strict JSON value, else ``(None, what is wrong)``."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"byte {exc.start + 1} is not valid UTF-8"
    if not text.strip():
        return None, "it is empty"
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except json.JSONDecodeError as exc:
        return None, f"it is not JSON ({exc.msg} at column {exc.colno})"
    except ValueError as exc:  # NaN / Infinity, which the store never writes
        return None, f"it is not JSON ({exc})"


def _is_record(record: Any) -> bool:
    if not (isinstance(record, dict) and {"key", "value"} <= set(record) <= {"key", "value"} | _RECORD_EXTRAS
            and isinstance(record["key"], str)):
        return False
    seconds, threads = record.get("seconds", 0.0), record.get("threads", 1)
    return (isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and math.isfinite(seconds)
            and seconds >= 0 and isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1)


def check_store_file(path: str | os.PathLike) -> None:
    """Raise :class:`StoreError` when ``path`` exists and is not a result store (its header is not one), or
    :class:`StoreBusy` when another run holds it.

    A cheap check for a command line to make before any work; the settings and every record are checked
    when the :class:`ResultStore` is opened.
    """
    path = Path(path)
    if not path.exists():
        return
    if not path.is_file():
        raise StoreError(f"{path} is not a file; choose another path for the result store")
    with open(path, "rb") as fh:
        header, problem = _read_line(fh.readline().rstrip(b"\n"))
        if problem is not None or not isinstance(header, dict) or set(header) != {"settings"}:
            raise StoreError(f"{path} is not a result store (line 1 is not its settings header); remove it or "
                             f"choose another path")
        st = os.fstat(fh.fileno())
        if (st.st_dev, st.st_ino) in _HELD or fcntl is None:
            return
        try:  # a shared lock is refused while another run holds the exclusive one
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreBusy(_busy_message(path, st)) from None
        except OSError:  # a file system without locks: nothing to check
            pass


#: Locks this process holds, by (device, inode): [descriptor holding the lock, number of open stores].
_HELD: dict[tuple[int, int], list[int]] = {}
_HELD_GUARD = threading.Lock()
_OPEN_STORES: "weakref.WeakSet[ResultStore]" = weakref.WeakSet()


def _lock_holder(st: os.stat_result) -> int | None:
    """The process holding a ``flock`` on the file ``st`` (Linux's ``/proc/locks``), if it can be found."""
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as fh:
            for line in fh:
                parts = line.split()
                if "->" not in parts and len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == want:
                    return int(parts[4])
    except (OSError, ValueError):
        pass
    return None


def _busy_message(path: Path, st: os.stat_result) -> str:
    pid = _lock_holder(st)
    who = "another run"
    if pid:
        who = f"another run (process {pid}"
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = " ".join(fh.read().replace(b"\0", b" ").decode(errors="replace").split())
            who += f": {cmd[:80]}" if cmd else ""
        except OSError:
            pass
        who += ")"
    return (f"{path} is in use by {who}; wait for it to finish, or give this run another "
            "result store / output directory")


@contextlib.contextmanager
def _signals_deferred():
    """Hold Ctrl-C (SIGINT) and SIGTERM back for the few instructions of writing and counting a record: they are
    delivered right after, to the handlers there were.

    Python runs signal handlers in the main thread, whichever thread the kernel hands the signal to, so the
    deferral is of the Python-level handlers (a thread's signal mask would not do: with other threads alive — a
    Dask client's, a timer's — the signal reaches one of them, and the main thread still raises at its next
    instruction, between the line written and the result counted). Elsewhere than in the main thread there is
    nothing to defer."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum, frame):
        pending.append(signum)

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if handler is None or handler in (signal.SIG_IGN, signal.SIG_DFL):
            continue  # not a Python handler (none that raises in this thread): nothing to hold back
        previous[sig] = signal.signal(sig, hold)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in pending:
            signal.raise_signal(sig)


def _close_all_stores() -> None:
    for store in list(_OPEN_STORES):
        try:
            store.close()
        except Exception:  # noqa: BLE001 - nothing can be reported at interpreter exit
            pass


atexit.register(_close_all_stores)


class ResultStore:
    """A resumable key → JSON-value store: an append-only JSON Lines file, locked while open.

    The first line holds the experiment's ``settings``; each :meth:`put` appends one line
    ``{"key": ..., "value": ...}`` (with the unit's compute ``seconds`` and ``threads`` when the engine
    records it), so recording a result costs O(1) however large the store grows.

    **One run at a time.** Opening the store takes an exclusive ``flock`` on it, held until :meth:`close`
    (or the process ends, however it ends): a second run on the same file — another process — is refused
    with :class:`StoreBusy` naming the process that holds it. Stores opened twice in one process share the
    lock. A new store appears complete or not at all: its header is written to a temporary file and linked
    into place, so two runs that create it at once cannot mix their settings.

    **Group commit.** Each record is handed to the operating system at once (a process killed at any
    moment loses no recorded unit) and made durable with ``fsync`` at most every ``commit_interval``
    seconds or ``commit_records`` records, and at :meth:`flush`, :meth:`close` and exit: a crash of the
    machine loses at most that window, which a resume recomputes.

    A record is all-or-nothing: a last line cut short by a crash (no final newline, possibly padded with
    zero bytes by the file system) is dropped when the store is reopened, and that unit of work is simply
    redone. Anything else that is wrong — a file written under other settings, a line before the last that
    is not valid UTF-8, not JSON, or not a record — raises :class:`StoreError` naming the file, the line
    and what to do, instead of silently dropping the results after it. A write that fails (disk full, a
    file system gone read-only) raises :class:`StoreWriteError`; the records before it are intact.

    Examples
    --------
    >>> store = ResultStore(path, settings={"lam": [0, 1]})      # doctest: +SKIP
    >>> for split in range(100):                                  # doctest: +SKIP
    ...     store.get_or_compute(f"split={split}", lambda: run(split))
    """

    def __init__(self, path: str | os.PathLike, settings: dict[str, Any], *, commit_interval: float = 0.5,
                 commit_records: int = 64):
        self.path = Path(path)
        self.settings = json.loads(json.dumps(settings, allow_nan=False))
        self.commit_interval, self.commit_records = float(commit_interval), int(commit_records)
        self.results: dict[str, Any] = {}
        #: Per key, what the engine recorded beside the value: ``{"seconds": ..., "threads": ...}``.
        self.meta: dict[str, dict[str, Any]] = {}
        #: 1-based number of the cut-short last line dropped on opening, or ``None``.
        self.repaired_line: int | None = None
        self._fd: int | None = None
        self._lock_key: tuple[int, int] | None = None
        self._io = threading.Lock()
        self._unsynced = 0
        self._last_sync = time.monotonic()
        self._timer: threading.Timer | None = None
        self._deferred: OSError | None = None
        self._writable = True
        self._open()
        _OPEN_STORES.add(self)

    # -------------------------------------------------------------------------------------- opening

    def _open(self) -> None:
        problem = _link_problem(self.path)
        if problem is not None:
            raise StoreError(f"{self.path} {problem}; choose another path for the result store")
        for _ in range(10):  # the file may be replaced by something else between opening and locking
            if not os.path.lexists(self.path):
                self._create()
            try:
                fd = self._open_fd()
            except IsADirectoryError:
                raise StoreError(f"{self.path} is not a file; choose another path for the result store") from None
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StoreError(f"cannot open the result store {self.path}: {exc.strerror}") from None
            st = os.fstat(fd)
            try:
                self._refuse_other_settings(fd)
                self._lock(fd, st)
            except BaseException:
                os.close(fd)
                raise
            try:
                now = os.stat(self.path)
            except OSError:
                now = None
            if now is not None and (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                self._fd = fd
                break
            self._unlock()
            os.close(fd)
        else:
            raise StoreError(f"{self.path} keeps being replaced by another process; choose another path")
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    def _open_fd(self) -> int:
        """The store file opened for appending, or for reading only where it cannot be written (a finished
        store on a read-only file system resumes to nothing to do; a write then fails with one line)."""
        try:
            return os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            self._writable = False
            return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)

    def _create(self) -> None:
        """Make the store file with its header, complete or not at all (a temporary file linked into place)."""
        header = (json.dumps({"settings": self.settings}, allow_nan=False) + "\n").encode()
        tmp = _temp_path(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_new_file(tmp, header)
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # another run created it first: it is checked (and locked) like any existing store
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                    raise
                try:  # a file system without hard links: rename, which cannot fail on an existing name here
                    fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
                    os.close(fd)
                    os.replace(tmp, self.path)
                except FileExistsError:
                    pass
        except OSError as exc:
            why = "a part of its directory is not a directory" if isinstance(exc, FileExistsError) else exc.strerror
            raise StoreError(f"cannot create the result store {self.path}: {why}") from None
        finally:
            _remove(tmp)
        _fsync_dir(self.path.parent)

    def _lock(self, fd: int, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        with _HELD_GUARD:
            if key in _HELD:
                _HELD[key][1] += 1
                self._lock_key = key
                return
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreBusy(_busy_message(self.path, st)) from None
            except OSError as exc:
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                # A file system without locks (some network file systems): the store works unguarded.
            _HELD[key] = [os.dup(fd), 1]
            self._lock_key = key

    def _unlock(self) -> None:
        key, self._lock_key = self._lock_key, None
        if key is None:
            return
        with _HELD_GUARD:
            held = _HELD.get(key)
            if held is None:
                return
            held[1] -= 1
            if held[1] == 0:
                del _HELD[key]
                os.close(held[0])  # the last descriptor of the locked file description: the lock goes

    def _refuse_other_settings(self, fd: int) -> None:
        """Refuse a store of other settings before taking its lock: a run that would be refused anyway must not
        hold, even for an instant, the lock that the run creating the store is about to take."""
        with open(fd, "rb", closefd=False) as fh:
            fh.seek(0)
            first = fh.readline()
        if not first.endswith(b"\n"):
            return  # no complete header: _load decides, under the lock
        header = _read_line(first[:-1])[0]
        if isinstance(header, dict) and set(header) == {"settings"} and header["settings"] != self.settings:
            raise StoreError(f"{self.path} holds results for other settings; remove it or choose another path")

    def _load(self) -> None:
        with open(self._fd, "rb", closefd=False) as fh:
            fh.seek(0)
            data = fh.read()
        *complete, tail = data.split(b"\n")  # ``tail`` is empty when the file ends with a newline
        header = _read_line(complete[0])[0] if complete else None
        if not isinstance(header, dict) or set(header) != {"settings"}:
            raise StoreError(f"{self.path} is not a result store (line 1 is not its settings header); remove it "
                             f"or choose another path")
        if header["settings"] != self.settings:
            raise StoreError(f"{self.path} holds results for other settings; remove it or choose another path")
        for number, line in enumerate(complete[1:], start=2):
            record, problem = _read_line(line)
            if problem is not None:
                self._corrupt(number, problem)
            if not _is_record(record):
                self._corrupt(number, 'it is not a {"key": ..., "value": ...} record')
            self.results[record["key"]] = record["value"]
            extras = {k: record[k] for k in _RECORD_EXTRAS if k in record}
            if extras:
                self.meta[record["key"]] = extras
            else:
                self.meta.pop(record["key"], None)
        size = len(data)
        if tail:
            body = tail.rstrip(b"\0")  # a crash after the size but before the data reached the disk
            if body[:len(_RECORD_START)] != _RECORD_START[:len(body)]:
                self._corrupt(len(complete) + 1, "it does not end with a newline and is not the start of a record")
            # The last record was cut short by an interruption: drop it (its unit of work is redone).
            size = len(data) - len(tail)
            if self._writable:
                os.ftruncate(self._fd, size)
                os.fsync(self._fd)
            self.repaired_line = len(complete) + 1
        self._size = size

    def _corrupt(self, number: int, what: str) -> NoReturn:
        raise StoreError(
            f"{self.path}, line {number}: {what}; the result store is damaged (only a last record cut short by "
            f"an interruption is repaired automatically) - delete that line to keep the other results, or move "
            f"the file aside to start over"
        )

    # -------------------------------------------------------------------------------------- records

    def __contains__(self, key: str) -> bool:
        return key in self.results

    def __len__(self) -> int:
        return len(self.results)

    def threads_used(self) -> set[int]:
        """The thread counts the recorded units were computed at (as the engine recorded them)."""
        return {m["threads"] for m in self.meta.values() if "threads" in m}

    def compute_seconds(self, keys=None) -> tuple[float, int]:
        """Total recorded compute time of ``keys`` (default: every record) and how many of them have one."""
        keys = self.results if keys is None else keys
        times = [self.meta[k]["seconds"] for k in keys if "seconds" in self.meta.get(k, {})]
        return float(sum(times)), len(times)

    def put(self, key: str, value: Any, *, seconds: float | None = None, threads: int | None = None) -> None:
        """Record ``value`` under ``key``: one appended line (made durable by the group commit).

        ``seconds`` and ``threads`` (the unit's compute time and intra-op threads) are kept beside it.
        Raises :class:`StoreWriteError` when the line cannot be written (nothing half-written remains).
        """
        if not isinstance(key, str):
            raise TypeError(f"result keys are strings, got {key!r}")
        value = json.loads(json.dumps(value, allow_nan=False))
        record: dict[str, Any] = {"key": key, "value": value}
        if seconds is not None:
            record["seconds"] = round(float(seconds), 6)
        if threads is not None:
            record["threads"] = int(threads)
        line = (json.dumps(record, allow_nan=False) + "\n").encode()
        if self._fd is None:
            raise ValueError(f"the result store {self.path} is closed")
        if not self._writable:
            raise self._write_error(OSError(errno.EACCES, "the file is not writable"))
        with self._io, _signals_deferred():  # the line and the count of results agree, whenever Ctrl-C comes
            self._raise_deferred()
            try:
                written = os.write(self._fd, line)
                if written != len(line):  # a short write: the disk filled up within the line
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            except OSError as exc:
                try:
                    os.ftruncate(self._fd, self._size)  # no torn line is left behind
                except OSError:
                    pass
                raise self._write_error(exc) from None
            self._size += written
            self._unsynced += 1
            self.results[key] = value
            extras = {k: record[k] for k in _RECORD_EXTRAS if k in record}
            if extras:
                self.meta[key] = extras
            due = self._unsynced >= self.commit_records or time.monotonic() - self._last_sync >= self.commit_interval
            if due:
                self._sync_locked()
            elif self._timer is None:
                self._timer = threading.Timer(max(0.0, self._last_sync + self.commit_interval - time.monotonic()),
                                              self._sync_from_timer)
                self._timer.daemon = True
                self._timer.start()

    def _write_error(self, exc: OSError) -> StoreWriteError:
        return StoreWriteError(exc.errno, f"cannot write {self.path}: {exc.strerror}; {len(self.results)} units "
                                          f"stored in {self.path}; free space and rerun")

    def _raise_deferred(self) -> None:
        exc, self._deferred = self._deferred, None
        if exc is not None:
            raise self._write_error(exc)

    def _sync_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._unsynced and self._fd is not None:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                raise self._write_error(exc) from None
            self._unsynced = 0
        self._last_sync = time.monotonic()

    def _sync_from_timer(self) -> None:
        with self._io:
            self._timer = None
            try:
                self._sync_locked()
            except StoreWriteError as exc:
                self._deferred = exc

    def flush(self) -> None:
        """Make every record durable now (``fsync``); raise :class:`StoreWriteError` if that fails."""
        with self._io:
            self._raise_deferred()
            self._sync_locked()

    def close(self) -> None:
        """Flush, release the lock and close the file (idempotent)."""
        if self._fd is None:
            self._unlock()
            return
        try:
            self.flush()
        finally:
            with self._io:
                fd, self._fd = self._fd, None
            self._unlock()
            if fd is not None:
                os.close(fd)
            _OPEN_STORES.discard(self)

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - a finaliser cannot report
            pass

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        """Return the stored value for ``key``, computing and persisting it first if absent."""
        if key not in self.results:
            self.put(key, compute())
        return self.results[key]
