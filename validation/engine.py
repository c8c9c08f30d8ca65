"""The sweep engine: units of work run serially, in local processes or on a Dask cluster.

Every experiment of the toolkit has the same shape — a grid of independent *units* (a defense at one knob
value, on one split or seed), each trained and attacked on its own and recorded in a resumable
:class:`~validation.store.ResultStore`. A figure or a game describes *what* to compute (the units and one
picklable function ``fn(unit) -> value``); the engine decides *where*:

* ``serial`` — in this process, one unit after the other;
* ``processes`` — ``n_jobs`` local worker processes (:class:`concurrent.futures.ProcessPoolExecutor`,
  forked from a ``forkserver`` that has imported, once, every module the driver uses — never ``fork`` of
  the driver: forking a process whose OpenMP runtime is already up can deadlock the child). The driver
  computes the first units itself and starts the workers only when the work they would take earns their
  start-up; small grids stay in the driver (it says so). A worker that dies (killed, out of memory) takes
  only its units with it: they run again, alone, in a fresh pool, up to ``retries`` times, while the
  others finish;
* ``dask`` — a :class:`dask.distributed.Client` connected to a scheduler address (workers started with
  ``dask worker ADDRESS`` on any machines), or to a :class:`~dask.distributed.LocalCluster` of ``n_jobs``
  single-threaded worker processes when no address is given (optional extra ``distributed``). The address
  must answer the Dask handshake within a timeout, and a scheduler that stops answering during the run ends
  it (:class:`RunAborted`) instead of hanging it.

The driver process alone writes the store: each result is recorded the moment it arrives, so a run killed
at any point resumes with only the units in flight lost, and units already in the store are never
submitted again. Files a unit produces (reconstructed images, say) travel back to the driver as bytes in
a :class:`UnitOutput` and are written atomically before the unit's record, so remote workers need no
shared file system. A unit that raises (``SystemExit`` included) is recorded nowhere; the engine reports it
on stderr, lets every other unit finish and returns the failures (:class:`RunReport`), and
:func:`run_units` raises :class:`UnitsFailed` after the run when asked to (``raise_on_failure``). Ctrl-C
stops the workers quietly and raises :class:`RunInterrupted`, a ``KeyboardInterrupt`` that says what is
stored; a full disk or a lost scheduler raises :class:`RunAborted` with the same facts.

Numbers never depend on the executor or the number of workers: a unit's randomness must derive from its
own description (:func:`derive_seed`), never from the order in which units happen to run, and values are
normalised through JSON exactly as the store keeps them. Torch code must additionally run with the same
number of intra-op threads (floating-point reductions are summed in thread-dependent order): every
executor runs units at ``threads`` threads (:func:`resolve_threads`: ``--threads``/``$MID_THREADS``, else
one per worker, whatever the number of workers), each record keeps the thread count it was computed at,
and a run that would add units computed at another count to a store is refused.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import multiprocessing
import os
import signal
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mitheory.cli import Progress

from validation.store import DISK_ERRORS, ResultStore, StoreError, StoreWriteError, write_bytes_atomic

__all__ = [
    "DaskExecutor", "Executor", "ProcessExecutor", "RunAborted", "RunInterrupted", "RunLog", "RunReport",
    "SerialExecutor", "Unit", "UnitFailure", "UnitOutput", "UnitsFailed", "close_executors", "derive_seed",
    "make_executor", "resolve_threads", "run_log", "run_units", "usable_cores",
]


# --------------------------------------------------------------------------------------------- units


@dataclass(frozen=True)
class Unit:
    """One independent piece of work: ``experiment`` at ``setting`` on split/seed/model ``index``.

    ``setting`` is any frozen, hashable description with a string ``key`` (a
    :class:`validation.sweep.Setting`) or None; ``index_name`` names the index in the key ("split",
    "model", "seed"). The store key — :attr:`key` — is ``"<setting.key>|<index_name>=<index>"``.
    """

    experiment: str
    setting: Any
    index: int
    index_name: str = "split"

    @property
    def key(self) -> str:
        tail = f"{self.index_name}={self.index}"
        return tail if self.setting is None else f"{self.setting.key}|{tail}"

    def seed(self, *stream: int | str) -> int:
        """A 63-bit seed that depends only on this unit's description and ``stream`` (:func:`derive_seed`)."""
        return derive_seed(self.experiment, self.key, *stream)


def derive_seed(*parts: int | str | float | None) -> int:
    """A 63-bit integer seed that is a pure function of ``parts`` (SHA-256 of their JSON form).

    Unlike Python's ``hash`` it is stable across processes, machines and Python versions, so a unit seeded
    by its own description draws the same numbers under every executor.
    """
    digest = hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass
class UnitOutput:
    """What a unit may return instead of a bare value: the value to record plus ``files`` to write.

    ``files`` maps a path relative to the run's ``files_dir`` to the file's bytes; the driver writes each
    atomically before it records ``value``, so a recorded unit always has its files.
    """

    value: Any
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class UnitFailure:
    """A unit that raised: its key, the exception in one line and the worker's traceback."""

    key: str
    error: str
    traceback: str


@dataclass
class RunReport:
    """The outcome of :func:`run_units`.

    ``compute_s`` is the compute time of every unit of the grid that has a value, summed over every run that
    contributed to the store (an interrupted run and its resumes alike); ``timed`` counts the units whose
    time is known (a store written by an older version has none).
    """

    results: dict[str, Any]
    failures: list[UnitFailure]
    submitted: int
    skipped: int
    wall_s: float
    executor: str
    compute_s: float = 0.0
    timed: int = 0

    @property
    def complete(self) -> bool:
        return not self.failures


class UnitsFailed(RuntimeError):
    """Raised after a run in which some units failed (the others are recorded); rerunning retries them."""

    def __init__(self, report: RunReport):
        self.report = report
        first = report.failures[0]
        n, total = len(report.failures), report.submitted
        super().__init__(f"{n} of {total} units failed and were not recorded (first: {first.key}: {first.error}); "
                         "the others are stored — rerun to retry the failed ones")


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM through the command lines) during :func:`run_units`: the workers are stopped and
    every unit that finished is stored. ``str()`` is the one line a command prints."""

    def __init__(self, stored: int, total: int, store: Path | None):
        self.stored, self.total, self.store = stored, total, store
        where = f"stored in {store}" if store is not None else "done (kept in memory only: no result store)"
        super().__init__(f"interrupted: {stored} of {total} units {where}; rerun the same command to resume")


class RunAborted(RuntimeError):
    """A run that cannot go on — a full disk or read-only file system, a Dask scheduler that stopped
    answering. Everything stored stays stored; ``str()`` is one line saying what and how to resume."""


class SchedulerLost(RuntimeError):
    """The Dask scheduler stopped answering during a run (raised by :meth:`DaskExecutor.imap`)."""


# --------------------------------------------------------------------------------------------- threads


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not every OS exposes an affinity mask
        return max(1, os.cpu_count() or 1)


def resolve_threads(threads: int | None = None) -> int:
    """Intra-op threads per worker: ``threads``, else ``$MID_THREADS``, else 1.

    One thread per worker is the default whatever the number of workers: the toolkit's units are small
    (tables of thousands of rows, CPU networks of a few layers), where a second BLAS or torch thread costs
    more in spinning and synchronisation than it computes, and a fixed default makes serial and parallel
    runs of torch figures give identical numbers. Raises ValueError for a value that is not a positive
    integer (the environment variable included).
    """
    if threads is None:
        env = os.environ.get("MID_THREADS")
        if env is not None and env.strip():
            try:
                threads = int(env)
            except ValueError:
                raise ValueError(f"MID_THREADS must be a positive integer, got {env!r}") from None
            if threads < 1:
                raise ValueError(f"MID_THREADS must be a positive integer, got {env!r}")
        else:
            threads = 1
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    return threads


_BLAS_THREADS: int | None = None
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _ensure_threads(n: int) -> None:
    """Make this process compute at ``n`` BLAS/OpenMP and torch intra-op threads (cheap when already so).

    threadpoolctl is consulted once per process and value; torch is adjusted whenever it has been imported
    (a unit may import it lazily) and runs at another count.
    """
    global _BLAS_THREADS
    if _BLAS_THREADS != n:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
        _BLAS_THREADS = n
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)


@contextlib.contextmanager
def _threads_in_this_process(n: int) -> Iterator[None]:
    """Compute at ``n`` threads in this (the caller's) process, and give the caller its settings back."""
    from threadpoolctl import threadpool_limits

    global _BLAS_THREADS
    torch = sys.modules.get("torch")
    torch_before = torch.get_num_threads() if torch is not None else None
    limits = threadpool_limits(n)
    _BLAS_THREADS = n
    try:
        yield
    finally:
        limits.restore_original_limits()
        _BLAS_THREADS = None
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(torch_before if torch_before is not None else torch.get_num_threads())


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the unit called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:500]


def _call(fn: Callable[[Unit], Any], unit: Unit, threads: int) -> tuple[bool, Any, float]:
    """Run one unit at ``threads`` threads: ``(True, UnitOutput, seconds)`` or ``(False, (error, traceback),
    seconds)``. ``SystemExit`` is a failure of the unit, not the end of the run."""
    start = time.perf_counter()
    try:
        _ensure_threads(threads)
        out = fn(unit)
        if not isinstance(out, UnitOutput):
            out = UnitOutput(out)
        out.value = json.loads(json.dumps(out.value, allow_nan=False))  # exactly what the store keeps
        return True, out, time.perf_counter() - start
    except (Exception, SystemExit) as exc:  # a unit's failure is data for the driver, not the end of the run
        return False, (_one_line(exc), traceback.format_exc()), time.perf_counter() - start


def _say(message: str) -> None:
    """One line on stderr that does not break a progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)


# --------------------------------------------------------------------------------------------- executors

#: Executors not yet closed: closed (their workers joined) at interpreter exit.
_LIVE: weakref.WeakSet[Executor] = weakref.WeakSet()
#: Whether this process started (or asked for) the fork server of its worker processes.
_FORK_SERVER_STARTED = False


def close_executors() -> None:
    """Close every executor not yet closed (their workers joined, a local Dask cluster shut down).

    The command lines call it before they return, whatever the outcome (a cluster closed later, while the
    interpreter shuts its thread pools down, logs errors); at exit it runs in any case."""
    for ex in list(_LIVE):
        try:
            ex.close()
        except Exception:  # noqa: BLE001 - the command is ending with a message of its own
            pass


@atexit.register
def _close_live_executors() -> None:
    """At exit: close every executor, then end the fork server, which would otherwise outlive this process for
    as long as it takes to notice (seconds, when it is still importing)."""
    close_executors()
    if _FORK_SERVER_STARTED:
        from multiprocessing import forkserver

        server = getattr(forkserver, "_forkserver", None)
        pid = getattr(server, "_forkserver_pid", None)
        if pid is not None:
            with contextlib.suppress(Exception):
                os.kill(pid, signal.SIGTERM)
                server._stop()


class Executor:
    """Where units run. Use as a context manager (``with make_executor(...) as ex:``) or call :meth:`close`.

    Subclasses implement :meth:`imap`, which yields ``(unit, ok, payload, seconds)`` in completion order
    and, when abandoned before the end (an interrupt, a write error in the driver), stops the work in
    flight quietly.
    """

    kind = "abstract"
    workers = 1

    def __init__(self, threads: int | None = None):
        self.threads = resolve_threads(threads)
        _LIVE.add(self)

    def imap(self, fn: Callable[[Unit], Any], units: Sequence[Unit]) -> Iterator[tuple[Unit, bool, Any, float]]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The executor as recorded in a figure's settings (never part of a store's identity)."""
        return {"executor": self.kind, "workers": self.workers, "threads": self.threads}

    def close(self) -> None:
        """Release the executor's workers and wait for them to end (idempotent)."""
        _LIVE.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class SerialExecutor(Executor):
    """Units one after the other in this process."""

    kind = "serial"

    def imap(self, fn, units):
        with _threads_in_this_process(self.threads):  # the caller's process keeps its own settings
            for unit in units:
                yield (unit, *_call(fn, unit, self.threads))


_NEED_FUNCTION = "__need_function__"
_WORKER_FNS: dict[str, Callable[[Unit], Any]] = {}


def _process_init(threads: int, driver: int) -> None:
    """Worker-process start-up: ignore Ctrl-C (the driver stops the workers), cap every thread pool at
    ``threads`` before any numerical library starts, and end with the driver."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    os.environ["MID_THREADS"] = str(threads)
    _exit_with_driver(driver)


def _exit_with_driver(driver: int, period: float = 1.0) -> None:
    """End this worker when the driver process dies (a killed run leaves no orphaned workers behind).

    The driver is not the worker's parent under ``forkserver`` (the fork server is), so its pid is polled.
    """

    def watch() -> None:
        while True:
            time.sleep(period)
            try:
                os.kill(driver, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # the pid now belongs to another user's process: ours is gone
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _warm_up() -> int:
    return os.getpid()


def _process_call(token: str, fn_bytes: bytes | None, unit: Unit, threads: int) -> tuple[bool, Any, float]:
    """Worker side: run ``unit`` with the function ``token`` (unpickled once per worker and run)."""
    fn = _WORKER_FNS.get(token)
    if fn is None:
        if fn_bytes is None:
            return False, _NEED_FUNCTION, 0.0
        _WORKER_FNS.clear()  # one run's function (and whatever it caches) at a time
        fn = _WORKER_FNS[token] = _pickle().loads(fn_bytes)
    return _call(fn, unit, threads)


def _pickle():
    """cloudpickle (closures and lambdas by value), from dask's dependency or joblib's vendored copy."""
    try:
        import cloudpickle
    except ImportError:
        from joblib.externals import cloudpickle
    return cloudpickle


#: Top-level packages the fork server never imports in advance (test runners, interactive shells, Dask).
_NOT_PRELOADED = frozenset({"tests", "pytest", "_pytest", "pluggy", "hypothesis", "IPython", "ipykernel",
                            "jupyter_client", "zmq", "distributed", "dask", "tornado"})


def _modules_to_preload() -> list[str]:
    """The modules this process has imported from files, in import order, as the fewest names whose import
    brings in all of them (a package is imported with its submodules)."""
    names = []
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        if (spec is None or spec.origin in (None, "built-in", "frozen") or name.startswith("__")
                or name.split(".")[0] in _NOT_PRELOADED):
            continue
        names.append(name)
    parents = {".".join(parts[:i]) for parts in (n.split(".") for n in names) for i in range(1, len(parts))}
    return [n for n in names if n not in parents]


def _mp_context(threads: int):
    """The ``forkserver`` context (``spawn`` where there is none), its fork server running.

    A fork server started here imports every module this process has imported so far (the command's
    modules and what its units loaded lazily; :mod:`validation._worker_imports`) with every thread pool
    capped at ``threads``, so that forked workers start with them. It is shared by every pool of this
    process (and stopped at exit).
    """
    global _FORK_SERVER_STARTED
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    server = getattr(forkserver, "_forkserver", None)
    running = getattr(server, "_forkserver_pid", None) is not None
    saved = {var: os.environ.get(var) for var in (*_THREAD_VARS, "MID_ENGINE_PRELOAD")}
    try:  # the fork server's environment is this process's at the moment it starts
        os.environ.update({var: str(threads) for var in _THREAD_VARS})
        if not running:
            fd, listing = tempfile.mkstemp(prefix="mid-engine-preload-", suffix=".txt")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join(_modules_to_preload()))
            os.environ["MID_ENGINE_PRELOAD"] = listing  # read and removed by the fork server
            ctx.set_forkserver_preload(["validation._worker_imports"])
        with _sigint_ignored():  # inherited: Ctrl-C during its imports is the driver's to handle
            forkserver.ensure_running()
        _FORK_SERVER_STARTED = True
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    return ctx


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far, from ``/proc`` (None where there is none)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class _DriverThread:
    """Units computed by the driver process itself, on a daemon thread (the main thread keeps watching the
    workers), with the CPU time of this process each took (its BLAS and torch threads included)."""

    def __init__(self, fn: Callable[[Unit], Any], threads: int):
        self.fn, self.threads = fn, threads
        self.cpu: list[float] = []
        self._running_since: float | None = None

    def submit(self, unit: Unit) -> Future:
        fut: Future = Future()
        fut.set_running_or_notify_cancel()
        self._running_since = time.process_time()

        def run() -> None:
            before = self._running_since
            result = _call(self.fn, unit, self.threads)
            self.cpu.append(time.process_time() - before)
            self._running_since = None
            fut.set_result(result)

        threading.Thread(target=run, name=f"driver-unit-{unit.key}", daemon=True).start()
        return fut

    def running_cpu(self) -> float:
        """CPU seconds the unit running now has used so far (0 when none runs)."""
        since = self._running_since
        return 0.0 if since is None else time.process_time() - since


def _death_cause(processes: list) -> str:
    """How the pool's dead worker ended, from its exit code (a signal, or a status). The pool terminates
    the other workers of a broken pool with SIGTERM: a worker that ended otherwise is the one that died."""
    ended = [p for p in processes if p.exitcode not in (None, 0)]
    ended.sort(key=lambda p: p.exitcode == -signal.SIGTERM)
    for proc in ended:
        code = proc.exitcode
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = " (out of memory?)" if -code == signal.SIGKILL else ""
            return f"process {proc.pid} was killed by {name}{hint}"
        return f"process {proc.pid} exited with status {code}"
    return "a worker process ended abruptly"


#: CPU seconds a worker pool took to start in this process (its fork server's imports), once measured.
_STARTUP_CPU: list[float] = []


class ProcessExecutor(Executor):
    """``n_jobs`` local worker processes, kept for the executor's lifetime.

    **Adaptive start** (the default). Workers cost a start-up — a fork server that imports what the units
    need — which a small grid never earns back. So the driver starts computing the units itself and
    measures them (CPU time); it starts the workers once the work left is at least the start-up, estimated
    as the CPU time the driver spent getting ready (its imports and data; the measured start-up once a pool
    has started in this process), or as soon as a single unit runs longer than that. The fork server then
    imports every module the driver has imported by then — the libraries its units load lazily included —
    so that forked workers start with them; until they are up the driver keeps computing. When the work
    stays smaller than the start-up, the driver computes it all and says so on stderr. With
    ``adaptive=False`` the workers start at once and compute every unit.

    The unit function is serialised with cloudpickle (closures and lambdas work) and reaches each worker
    once per run: tasks carry only the unit, and a worker that has not seen the run's function yet asks for
    it. A worker keeps whatever state the function caches (a loaded dataset, a trained evaluation model)
    across that run's units. A worker that dies takes only its units: the pool is replaced, those units run
    again one at a time (so that the one that kills its worker is found) up to ``retries`` times, and every
    other unit finishes; a unit whose worker keeps dying is a failure.
    """

    kind = "processes"

    def __init__(self, n_jobs: int, threads: int | None = None, *, retries: int = 2, adaptive: bool = True):
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise ValueError(f"n_jobs must be a positive integer, got {n_jobs!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
        self.workers = n_jobs
        super().__init__(threads)
        self.retries, self.adaptive = retries, adaptive
        self._pool: ProcessPoolExecutor | None = None
        self._processes: list = []
        self._warm: list[Future] = []
        self._said_serial = False  # the "computing in this process" line is said once per executor
        self._unit_cpu = 0.0  # CPU of the units the driver computed in earlier runs (not start-up work)
        if not adaptive:
            self._start_pool()

    # ---------------------------------------------------------------------------------- the pool

    def _start_pool(self) -> None:
        """Make a pool and start its workers in the background (returns at once)."""
        ctx = _mp_context(self.threads)
        pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_process_init,
                                   initargs=(self.threads, os.getpid()))
        warm: list[Future] = [Future() for _ in range(self.workers)]

        def start() -> None:  # each submit forks a worker (blocking until the fork server has its imports)
            for placeholder in warm:
                try:
                    real = pool.submit(_warm_up)
                except BaseException as exc:  # noqa: BLE001 - a pool shut down meanwhile, a failed fork
                    placeholder.set_exception(exc)
                    continue
                real.add_done_callback(lambda f, p=placeholder: _copy_outcome(f, p))
            if not _STARTUP_CPU and all(f.exception() is None for f in warm):
                from multiprocessing import forkserver

                pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
                cpu = _cpu_seconds(pid) if pid else None
                if cpu is not None:
                    _STARTUP_CPU.append(cpu)

        for placeholder in warm:
            placeholder.set_running_or_notify_cancel()
        self._pool, self._warm = pool, warm
        threading.Thread(target=start, name="start-workers", daemon=True).start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Start the workers if need be and block until they are up (or ``timeout`` seconds pass); whether
        they are."""
        if self._pool is None:
            self._start_pool()
        done, _ = wait(self._warm, timeout=timeout)
        return len(done) == len(self._warm)

    def _ready(self) -> bool:
        return bool(self._warm) and all(f.done() for f in self._warm)

    def _start_error(self) -> BaseException | None:
        return next((f.exception() for f in self._warm if f.done() and f.exception() is not None), None)

    def _replace_pool(self) -> None:
        old, self._pool = self._pool, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)
        self._start_pool()

    def _stop_workers(self) -> None:
        """End the workers now (the units in flight are abandoned) and join them."""
        pool, self._pool = self._pool, None
        self._warm = []
        if pool is None:
            return
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)

    def _startup_estimate(self, local: _DriverThread) -> float:
        """CPU seconds a pool's start-up costs: measured, once a pool has started in this process; else what
        the fork server would redo — the CPU this process spent on anything but computing units (imports,
        data) plus the part of its first unit beyond the steady cost (lazy imports) — between 0.5 and 20 s."""
        if _STARTUP_CPU:
            return _STARTUP_CPU[0]
        done = local.cpu
        lazy = max(0.0, done[0] - statistics.median(done[1:])) if len(done) > 1 else 0.0
        preparing = time.process_time() - self._unit_cpu - sum(done) - local.running_cpu()
        return min(20.0, max(0.5, preparing + lazy))

    # ---------------------------------------------------------------------------------- a run

    def imap(self, fn, units):
        if not units:
            return
        fn_bytes = _pickle().dumps(fn)
        token = hashlib.sha256(fn_bytes).hexdigest()
        if self._pool is None and not self.adaptive:
            self._start_pool()
        queue: deque[Unit] = deque(units)
        suspects: deque[Unit] = deque()  # units in flight when a worker died: rerun one at a time
        deaths: dict[str, int] = {}
        pending: dict[Future, tuple[Unit, bool]] = {}  # future -> (unit, computed by the driver)
        local = _DriverThread(fn, self.threads)
        local_busy = False
        # "probe": no workers, the driver computes and measures; "startup": workers starting, the driver
        # computes; "pool": the workers compute; "serial": the driver computes everything left.
        if self._pool is None:
            state = "probe"
        elif self._ready() or not self.adaptive:
            state = "pool"
        else:
            state = "startup"
        completed = False

        def submit(unit: Unit, with_fn: bool = False) -> None:
            fut = self._pool.submit(_process_call, token, fn_bytes if with_fn else None, unit, self.threads)
            pending[fut] = (unit, False)
            self._processes = list((getattr(self._pool, "_processes", None) or {}).values())

        with _threads_in_this_process(self.threads):  # for the units the driver computes
            try:
                while queue or suspects or pending:
                    timeout = None
                    if state == "probe":
                        startup = self._startup_estimate(local)
                        worth, c = self._worth_starting(len(queue), local, startup)
                        if worth:
                            self._start_pool()
                            state = "startup"
                        else:
                            if c is not None and not self._said_serial:
                                self._said_serial = True
                                _say(f"{len(queue)} unit(s) left of about {c:.2g} s each: less work than starting "
                                     f"{self.workers} workers (about {startup:.2g} s of CPU); computing them in "
                                     "this process")
                    if state == "startup":
                        error = self._start_error()
                        if error is not None:
                            _say(f"worker processes could not start ({_one_line(error)}); computing in this process")
                            state = "serial"
                        elif self._ready():
                            state = "pool"
                        elif not self.adaptive:
                            wait(self._warm, return_when="ALL_COMPLETED")
                            continue
                    if state in ("probe", "startup", "serial"):
                        if not local_busy and queue:
                            unit = queue.popleft()
                            pending[local.submit(unit)] = (unit, True)
                            local_busy = True
                    elif not any(deaths.get(u.key) for u, by_driver in pending.values() if not by_driver):
                        in_pool = sum(1 for _, by_driver in pending.values() if not by_driver)
                        if suspects and not in_pool:
                            submit(suspects.popleft())  # alone: if its worker dies, it is the one
                        while not suspects and in_pool < 2 * self.workers and queue:
                            submit(queue.popleft())  # every worker busy, one queued: little to redo if stopped
                            in_pool += 1
                    waiting = set(pending)
                    if state == "startup":
                        waiting |= {f for f in self._warm if not f.done()}
                    if state == "probe" and local_busy:  # look again once the running unit is long enough
                        timeout = max(0.05, self._long_unit(local.cpu, self._startup_estimate(local))
                                      - local.running_cpu())
                    done, _ = wait(waiting, timeout=timeout, return_when=FIRST_COMPLETED)
                    broken: list[Unit] = []
                    for fut in done:
                        if fut not in pending:
                            continue  # a worker came up
                        unit, by_driver = pending.pop(fut)
                        if by_driver:
                            local_busy = False
                            yield (unit, *fut.result())
                            continue
                        try:
                            ok, payload, seconds = fut.result()
                        except BrokenProcessPool:
                            broken.append(unit)
                            continue
                        if not ok and payload == _NEED_FUNCTION:
                            submit(unit, with_fn=True)
                            continue
                        deaths.pop(unit.key, None)
                        yield unit, ok, payload, seconds
                    if broken:
                        yield from self._after_death(broken, pending, deaths, suspects)
                completed = True
            finally:
                self._unit_cpu += sum(local.cpu)
                if not completed:
                    self._stop_workers()

    def _worth_starting(self, remaining: int, local: _DriverThread, startup: float) -> tuple[bool, float | None]:
        """Whether the work left earns the workers' start-up, and the driver's steady cost per unit once known.

        While the fork server imports (start-up ``S``), the driver computes ``S`` worth of units; the rest
        ``W - S`` is then split between the workers, so starting them pays when the work left ``W > S`` —
        asked with a margin of two (``W >= 2 S``, a predicted time of at most 3/4 of the driver's alone with
        two workers) against a slower start than estimated. The driver's first unit carries what the function
        loads lazily (imports, data), which the fork server imports once for all workers: it counts as
        work only beyond twice the start-up; a later unit running that long counts at once.
        """
        if not remaining:
            return False, None
        done = local.cpu
        if (local.running_cpu() >= self._long_unit(done, startup) or max(done[1:], default=0.0) >= 2 * startup
                or (done and done[0] >= 2 * startup)):
            return True, None
        if len(done) < 2:
            return False, None
        c = statistics.median(done[1:])
        return remaining * c >= 2 * startup, c

    @staticmethod
    def _long_unit(done: list[float], startup: float) -> float:
        """CPU seconds after which the unit running in the driver alone earns the start-up (twice it)."""
        return 2 * startup

    def _after_death(self, broken: list[Unit], pending: dict, deaths: dict[str, int],
                     suspects: deque) -> Iterator[tuple[Unit, bool, Any, float]]:
        """A worker died: every unit of the broken pool is rerun alone in a fresh pool, up to ``retries``."""
        for fut in list(pending):
            unit, by_driver = pending[fut]
            if not by_driver:
                del pending[fut]
                broken.append(unit)
        cause = _death_cause(self._processes)
        self._replace_pool()
        again = []
        for unit in broken:
            deaths[unit.key] = deaths.get(unit.key, 0) + 1
            if deaths[unit.key] > self.retries:
                yield unit, False, (f"its worker process died each of the {deaths[unit.key]} times it ran "
                                    f"({cause})", ""), 0.0
            else:
                again.append(unit)
        suspects.extendleft(reversed(again))
        if again:
            _say(f"a worker died ({cause}) with {len(broken)} unit(s) in flight; running "
                 f"{len(again)} again, one at a time, in a fresh pool")

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        super().close()


def _copy_outcome(src: Future, dst: Future) -> None:
    exc = src.exception()
    if exc is not None:
        dst.set_exception(exc)
    else:
        dst.set_result(src.result())


def _dask_call(fn, unit: Unit, threads: int) -> tuple[bool, Any, float]:
    return _call(fn, unit, threads)


#: Web schemes people paste for a scheduler (the dashboard's address): named in the message.
_WEB_SCHEMES = {"http", "https"}


def _dask_handshake(address: str, timeout: float) -> None:
    """Check that ``address`` (``tcp://host:port`` or ``host:port``) is a Dask scheduler before connecting.

    A Dask server sends its handshake first — a little-endian 64-bit length, then that many bytes of
    msgpack frames naming its compression and pickle protocol. Anything else (a web server waits for a
    request; other services greet with text) is refused with ValueError in one line, within ``timeout``
    seconds, instead of a hang or a multi-exabyte allocation.
    """
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme in _WEB_SCHEMES:
        raise ValueError(f"{address!r} is a web address (the Dask dashboard?); give the scheduler's own address, "
                         "tcp://HOST:8786 by default")
    if parts.scheme != "tcp":
        return  # tls://, ucx://, ...: left to Client(), under the same timeout
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(f"cannot read the Dask scheduler address {address!r}: {exc}") from None
    if not host or port is None:
        raise ValueError(f"the Dask scheduler address {address!r} needs a host and a port (tcp://HOST:8786)")
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            def read(n: int) -> bytes:
                data = b""
                while len(data) < n:
                    sock.settimeout(max(0.01, deadline - time.monotonic()))
                    chunk = sock.recv(n - len(data))
                    if not chunk:
                        raise ConnectionError("it closed the connection")
                    data += chunk
                return data

            (length,) = struct.unpack("<Q", read(8))
            if not 0 < length <= 1 << 16:
                raise ConnectionError(f"it greeted with {8} bytes that are not a Dask handshake")
            body = read(length)
    except socket.timeout:
        raise ValueError(f"{address} answered no Dask handshake within {timeout:g} s: it is not a Dask "
                         "scheduler (a web server?)") from None
    except (OSError, ConnectionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"cannot reach the Dask scheduler at {address!r}: {reason}") from None
    if b"pickle-protocol" not in body and b"compression" not in body:
        raise ValueError(f"{address} is not a Dask scheduler: its greeting is not a Dask handshake")


class DaskExecutor(Executor):
    """Units as tasks of a Dask cluster: the scheduler at ``address``, or a new local cluster of ``n_jobs``
    single-threaded worker processes when ``address`` is None.

    The address must answer the Dask handshake within ``timeout`` seconds (anything else is refused with
    one line). The unit function is scattered to every worker once; results are gathered as tasks complete.
    Every ``heartbeat`` seconds without a result the scheduler is asked to answer; when it has not answered
    for ``lost_after`` seconds the run ends with :class:`SchedulerLost` (the engine reports what is stored).
    Workers of a remote cluster need this package (and the data, ``$MID_DATA``) installed; they need no
    shared file system with the driver. The local cluster's processes ignore Ctrl-C: the driver stops them.
    """

    kind = "dask"

    def __init__(self, address: str | None = None, n_jobs: int = 1, threads: int | None = None, *,
                 timeout: float = 10.0, heartbeat: float = 5.0, lost_after: float = 20.0):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ImportError("the dask executor needs the 'distributed' extra: "
                              "pip install 'mid-toolkit[distributed]'") from None
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise ValueError(f"n_jobs must be a positive integer, got {n_jobs!r}")
        per_worker = resolve_threads(threads)
        self._cluster, self.client = None, None
        self.heartbeat, self.lost_after = heartbeat, lost_after
        if address is None:
            env = {var: str(per_worker) for var in _THREAD_VARS} | {"MID_THREADS": str(per_worker)}
            with _sigint_ignored():  # inherited by the nannies and their workers
                # On 127.0.0.1 only; no dashboard, and the scheduler's small HTTP server (health, metrics) on a
                # free local port rather than 8787, which another cluster may hold (a warning on stderr).
                self._cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                                             host="127.0.0.1", dashboard_address=None, silence_logs=40, env=env,
                                             scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
                self.client = Client(self._cluster)
        else:
            _dask_handshake(address, timeout)
            try:
                self.client = Client(address, timeout=f"{timeout}s")
            except Exception as exc:  # noqa: BLE001 - whatever the connection raised, one line
                raise ValueError(f"cannot connect to the Dask scheduler at {address!r}: {_one_line(exc)}") from None
        self.address = address or self._cluster.scheduler_address
        info = self.client.scheduler_info()
        self.workers = max(1, len(info.get("workers", {})) or n_jobs)
        super().__init__(per_worker)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "scheduler": None if self._cluster is not None else self.address}

    def _scheduler_answers(self) -> bool:
        if self.client is None or self.client.status in ("closed", "closing", "failed"):
            return False
        try:
            self.client.sync(self.client.scheduler.identity, callback_timeout=self.heartbeat)
        except Exception:  # noqa: BLE001 - any failure to answer is no answer
            return False
        return True

    def imap(self, fn, units):
        from distributed import wait as dask_wait

        if not units:
            return
        fn_future = self.client.scatter(fn, broadcast=True, hash=False)
        futures = {self.client.submit(_dask_call, fn_future, u, self.threads, pure=False): u for u in units}
        last_answer = time.monotonic()
        with _quiet_logger("distributed"):  # a lost scheduler is reported by the engine, in one line
            try:
                while futures:
                    try:
                        done = dask_wait(list(futures), timeout=self.heartbeat, return_when="FIRST_COMPLETED").done
                    except TimeoutError:
                        if self._scheduler_answers():
                            last_answer = time.monotonic()
                        elif time.monotonic() - last_answer > self.lost_after:
                            raise SchedulerLost(f"lost the Dask scheduler at {self.address}: no answer for "
                                                f"{self.lost_after:g} s") from None
                        continue
                    except CancelledError:  # the client cancels everything when its connection drops
                        if not self._scheduler_answers():
                            raise SchedulerLost(f"lost the Dask scheduler at {self.address}: the connection "
                                                "closed") from None
                        done = {f for f in futures if f.done()}  # cancelled by someone else: failed units
                    last_answer = time.monotonic()
                    for fut, (ok, payload, seconds) in self._outcomes(done):
                        unit = futures.pop(fut)
                        fut.release()
                        yield unit, ok, payload, seconds
            finally:
                if futures and self.client is not None and self.client.status == "running":
                    with contextlib.suppress(Exception):
                        self.client.cancel(list(futures))

    def _outcomes(self, done) -> list[tuple[Any, tuple[bool, Any, float]]]:
        """``(future, (ok, payload, seconds))`` of finished tasks, gathered in one round trip where possible."""
        finished = [f for f in done if f.status == "finished"]
        values: dict[Any, Any] = {}
        try:
            values = dict(zip(finished, self.client.gather(finished))) if finished else {}
        except Exception:  # noqa: BLE001 - one of them went away meanwhile: ask one by one
            for fut in finished:
                with contextlib.suppress(Exception):
                    values[fut] = fut.result(timeout=self.heartbeat)
        out = []
        for fut in done:
            if fut in values:
                out.append((fut, values[fut]))
                continue
            exc = None  # the task was lost with its worker, or cancelled with the cluster
            with contextlib.suppress(Exception):
                exc = fut.exception(timeout=0) if fut.status == "error" else None
            error = f"dask task {fut.status}" + (f": {_one_line(exc)}" if exc is not None else "")
            out.append((fut, (False, (error, ""), 0.0)))
        return out

    def close(self) -> None:
        client, self.client = self.client, None
        with _quiet_logger("distributed"):  # a closing cluster logs its own comm errors: not the user's concern
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close(timeout=10)
            if self._cluster is not None:
                cluster, self._cluster = self._cluster, None
                with contextlib.suppress(Exception):
                    cluster.close(timeout=10)
        super().close()


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Silence the logger ``name`` and its children inside the block (Dask logs its own connection errors,
    even as critical, while a cluster the engine is stopping winds down: not the user's concern)."""
    import logging

    loggers = [logging.getLogger(name)] + [logging.getLogger(other) for other in list(logging.root.manager.loggerDict)
                                           if other.startswith(name + ".")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while child processes are started (they inherit it); the main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def make_executor(jobs: int = 1, scheduler: str | None = None, threads: int | None = None) -> Executor:
    """The executor a command line asks for.

    ``scheduler`` (or ``$MID_SCHEDULER`` when None): ``"local"`` starts a Dask LocalCluster of ``jobs``
    workers, any other value is a scheduler address (``tcp://host:8786``); without one, ``jobs > 1`` gives
    local processes (started when the work is worth it: :class:`ProcessExecutor`) and ``jobs == 1`` the
    serial executor.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if scheduler is None:
        scheduler = os.environ.get("MID_SCHEDULER") or None
    local = scheduler is None or scheduler == "local"
    if local and jobs > usable_cores():
        raise ValueError(f"jobs={jobs} exceeds the {usable_cores()} usable cores of this machine: local workers "
                         "beyond the cores only add memory (each loads the data and, for neural figures, torch); "
                         "start a Dask cluster with more machines and pass its --scheduler address")
    if scheduler is not None:
        return DaskExecutor(None if scheduler == "local" else scheduler, n_jobs=jobs, threads=threads)
    if jobs > 1:
        return ProcessExecutor(jobs, threads=threads)
    return SerialExecutor(threads=threads)


# --------------------------------------------------------------------------------------------- the run


@dataclass
class RunLog:
    """What the runs inside a :func:`run_log` block did: units in their grids, units found already stored,
    and the compute time of every stored unit summed over every run that contributed (resumes included)."""

    units: int = 0
    resumed: int = 0
    compute_s: float = 0.0
    timed: int = 0
    stores: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"units": self.units, "units_resumed": self.resumed, "compute_s": round(self.compute_s, 3),
                "units_timed": self.timed}


_RUN_LOGS: list[RunLog] = []
#: The run in progress, or the last one, as (units stored, units in the grid, store path): for the line a
#: command prints when it is interrupted outside :func:`run_units`.
_LAST_RUN: list[tuple[int, int, Path | None]] = []


@contextlib.contextmanager
def run_log() -> Iterator[RunLog]:
    """Collect what every :func:`run_units` call inside the block did (a figure's runs, say)."""
    log = RunLog()
    _RUN_LOGS.append(log)
    try:
        yield log
    finally:
        _RUN_LOGS.remove(log)


def last_run() -> tuple[int, int, Path | None] | None:
    """``(stored, total, store path)`` of the run in progress or the last one of this process, if any."""
    return _LAST_RUN[-1] if _LAST_RUN else None


def run_units(
    units: Iterable[Unit],
    fn: Callable[[Unit], Any],
    store: ResultStore | None,
    *,
    executor: Executor | None = None,
    files_dir: str | os.PathLike | None = None,
    progress: bool = True,
    desc: str = "units",
    raise_on_failure: bool = True,
) -> RunReport:
    """Run every unit not yet in ``store`` on ``executor`` and record each result as it arrives.

    Parameters
    ----------
    units : iterable of Unit
        The whole grid; units whose key is already in ``store`` are skipped. Keys must be unique.
    fn : callable ``(Unit) -> value | UnitOutput``
        Picklable (cloudpickle: closures are fine); its value must be JSON (finite floats).
    store : ResultStore or None
        Written by this (driver) process only. None keeps the results in memory (nothing resumes).
    executor : Executor, optional
        Default: a :class:`SerialExecutor`.
    files_dir : path, optional
        Where the files of :class:`UnitOutput` results are written (default: the store's directory).
    progress : bool
        Progress on stderr counting the whole grid (units already stored included) with an ETA: a tqdm bar
        on a terminal, else a line every few seconds (:class:`mitheory.cli.Progress`).
    raise_on_failure : bool
        Raise :class:`UnitsFailed` after the run if any unit failed (default); else return the failures.

    Returns
    -------
    RunReport
        ``results`` holds the stored value of every unit of the grid that has one.

    Raises
    ------
    StoreError
        Before any work, when the store's units were computed at another thread count than the executor's
        (torch's numbers depend on it): mixing them would make the results depend on the resume.
    RunInterrupted
        On Ctrl-C: the workers are stopped, every finished unit is stored and flushed.
    RunAborted
        When a record or a unit's file cannot be written (disk full, read-only file system) or the Dask
        scheduler is lost; the store keeps every unit recorded before.
    """
    units = list(units)
    keys = [u.key for u in units]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"two units share the key {dup!r}")
    executor = executor if executor is not None else SerialExecutor()
    memory = store is None
    results: dict[str, Any] = {} if memory else store.results
    files_root = Path(files_dir) if files_dir is not None else (Path.cwd() if memory else store.path.parent)
    todo = [u for u in units if u.key not in results]
    if todo and not memory:
        used = store.threads_used()
        if used and used != {executor.threads}:
            counts = ", ".join(map(str, sorted(used)))
            raise StoreError(f"{store.path} holds units computed at {counts} thread(s) per worker and this run would "
                             f"compute at {executor.threads} (torch's numbers depend on it); rerun with --threads "
                             f"{min(used)} (or $MID_THREADS), or move the file aside to start over")
    failures: list[UnitFailure] = []
    start = time.perf_counter()
    path = None if memory else store.path
    done_before = len(units) - len(todo)
    stored = done_before
    _LAST_RUN[:] = [(stored, len(units), path)]
    bar = Progress(len(units), desc=desc, unit="unit", initial=done_before, disable=not progress or not todo)
    stream = executor.imap(fn, todo)
    try:
        for unit, ok, payload, seconds in stream:
            if ok:
                for rel, data in payload.files.items():
                    write_bytes_atomic(_inside(files_root, rel), data)
                if memory:
                    results[unit.key] = payload.value
                else:
                    store.put(unit.key, payload.value, seconds=seconds, threads=executor.threads)
                stored += 1
                _LAST_RUN[-1] = (stored, len(units), path)
            else:
                error, tb = payload
                failures.append(UnitFailure(unit.key, error, tb))
                bar.write(f"{desc}: unit {unit.key} failed: {error}")
            bar.update(1)
        if not memory:
            store.flush()
    except KeyboardInterrupt:
        with _sigint_ignored():
            _abandon(stream, store)
        raise RunInterrupted(sum(k in results for k in keys), len(units), path) from None
    except SchedulerLost as exc:
        _abandon(stream, store)
        raise RunAborted(f"{exc}; {_stored(sum(k in results for k in keys), len(units), path)}; rerun the same "
                         "command to resume once the scheduler is back") from None
    except OSError as exc:
        _abandon(stream, store)
        if exc.errno not in DISK_ERRORS:
            raise
        what = str(exc) if isinstance(exc, StoreWriteError) else (
            f"cannot write {exc.filename or 'a unit file'}: {exc.strerror}; "
            f"{_stored(sum(k in results for k in keys), len(units), path)}; free space and rerun")
        raise RunAborted(what) from None
    except BaseException:
        _abandon(stream, store)
        raise
    finally:
        bar.close()
    compute_s, timed = (0.0, 0) if memory else store.compute_seconds([k for k in keys if k in results])
    report = RunReport({k: results[k] for k in keys if k in results}, failures, len(todo), done_before,
                       time.perf_counter() - start, executor.kind, compute_s, timed)
    for log in _RUN_LOGS:
        log.units += len(units)
        log.resumed += done_before
        log.compute_s += compute_s
        log.timed += timed
        if path is not None:
            log.stores.append(str(path))
    if failures and raise_on_failure:
        raise UnitsFailed(report)
    return report


def _stored(stored: int, total: int, path: Path | None) -> str:
    return f"{stored} of {total} units stored in {path}" if path is not None else f"{stored} of {total} units done"


def _abandon(stream, store: ResultStore | None) -> None:
    """Stop the executor's work in flight quietly and make what is stored durable (errors ignored: the run
    is ending with a message of its own)."""
    with contextlib.suppress(BaseException):
        stream.close()
    if store is not None:
        with contextlib.suppress(BaseException):
            store.flush()


def _inside(root: Path, rel: str) -> Path:
    path = (root / rel).resolve()
    if root.resolve() not in path.parents:
        raise ValueError(f"a unit's file {rel!r} would be written outside {root}")
    return path
