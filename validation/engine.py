"""The sweep engine: units of work run serially, in local processes or on a Dask cluster.

Every experiment of the toolkit has the same shape — a grid of independent *units* (a defense at one knob
value, on one split or seed), each trained and attacked on its own and recorded in a resumable
:class:`~validation.store.ResultStore`. A figure or a game describes *what* to compute (the units and one
picklable function ``fn(unit) -> value``); the engine decides *where*:

* ``serial`` — in this process, one unit after the other;
* ``processes`` — ``n_jobs`` local worker processes (:class:`concurrent.futures.ProcessPoolExecutor`,
  started by ``forkserver`` / ``spawn``, never ``fork``: forking a process whose OpenMP runtime is already up
  can deadlock the child);
* ``dask`` — a :class:`dask.distributed.Client` connected to a scheduler address (workers started with
  ``dask worker ADDRESS`` on any machines), or to a :class:`~dask.distributed.LocalCluster` of ``n_jobs``
  single-threaded worker processes when no address is given (optional extra ``distributed``).

The driver process alone writes the store: each result is recorded the moment it arrives, so a run killed
at any point resumes with only the units in flight lost, and units already in the store are never
submitted again. Files a unit produces (reconstructed images, say) travel back to the driver as bytes in
a :class:`UnitOutput` and are written atomically before the unit's record, so remote workers need no
shared file system. A unit that raises is recorded nowhere; the engine reports it on stderr, lets every
other unit finish and returns the failures (:class:`RunReport`), and :func:`run_units` raises
:class:`UnitsFailed` after the run when asked to (``raise_on_failure``).

Numbers never depend on the executor or the number of workers: a unit's randomness must derive from its
own description (:func:`derive_seed`), never from the order in which units happen to run, and values are
normalised through JSON exactly as the store keeps them. Torch code must additionally run with the same
number of intra-op threads (floating-point reductions are summed in thread-dependent order): every
executor runs units at ``threads`` threads (:func:`resolve_threads`: ``--threads``/``$MID_THREADS``, else
the usable cores divided by the number of workers, at least one).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mitheory.cli import Progress

from validation.store import ResultStore, write_bytes_atomic

__all__ = [
    "DaskExecutor", "Executor", "ProcessExecutor", "RunReport", "SerialExecutor", "Unit", "UnitFailure",
    "UnitOutput", "UnitsFailed", "derive_seed", "make_executor", "resolve_threads", "run_units", "usable_cores",
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
    """The outcome of :func:`run_units`."""

    results: dict[str, Any]
    failures: list[UnitFailure]
    submitted: int
    skipped: int
    wall_s: float
    executor: str

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


# --------------------------------------------------------------------------------------------- threads


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not every OS exposes an affinity mask
        return max(1, os.cpu_count() or 1)


def resolve_threads(threads: int | None, workers: int) -> int:
    """Intra-op threads per worker: ``threads``, else ``$MID_THREADS``, else ``usable_cores() // workers``.

    Raises ValueError for a value that is not a positive integer (the environment variable included).
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
            threads = max(1, usable_cores() // max(1, workers))
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    return threads


_BLAS_THREADS: int | None = None


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


def _pin_process_threads(n: int) -> None:
    """Worker-process start-up: cap every thread pool at ``n`` before any numerical library is imported."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    os.environ["MID_THREADS"] = str(n)


def _call(fn: Callable[[Unit], Any], unit: Unit, threads: int) -> tuple[bool, Any]:
    """Run one unit at ``threads`` threads; return ``(True, UnitOutput)`` or ``(False, (error, traceback))``."""
    try:
        _ensure_threads(threads)
        out = fn(unit)
        if not isinstance(out, UnitOutput):
            out = UnitOutput(out)
        out.value = json.loads(json.dumps(out.value, allow_nan=False))  # exactly what the store keeps
        return True, out
    except Exception as exc:  # a unit's failure is data for the driver, not the end of the run
        return False, (f"{type(exc).__name__}: {exc}".splitlines()[0][:500], traceback.format_exc())


# --------------------------------------------------------------------------------------------- executors


class Executor:
    """Where units run. Use as a context manager (``with make_executor(...) as ex:``) or call :meth:`close`.

    Subclasses implement :meth:`imap`, which yields ``(unit, ok, payload)`` in completion order.
    """

    kind = "abstract"
    workers = 1

    def __init__(self, threads: int | None = None):
        self.threads = resolve_threads(threads, self.workers)

    def imap(self, fn: Callable[[Unit], Any], units: Sequence[Unit]) -> Iterator[tuple[Unit, bool, Any]]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The executor as recorded in a figure's settings (never part of a store's identity)."""
        return {"executor": self.kind, "workers": self.workers, "threads": self.threads}

    def close(self) -> None:
        """Release the executor's workers (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class SerialExecutor(Executor):
    """Units one after the other in this process."""

    kind = "serial"

    def imap(self, fn, units):
        from threadpoolctl import threadpool_limits

        global _BLAS_THREADS
        torch = sys.modules.get("torch")
        torch_before = torch.get_num_threads() if torch is not None else None
        limits = threadpool_limits(self.threads)  # restored below: the caller's process keeps its settings
        _BLAS_THREADS = self.threads
        try:
            for unit in units:
                ok, payload = _call(fn, unit, self.threads)
                yield unit, ok, payload
        finally:
            limits.restore_original_limits()
            _BLAS_THREADS = None
            if torch_before is not None:
                torch.set_num_threads(torch_before)


_NEED_FUNCTION = "__need_function__"
_WORKER_FNS: dict[str, Callable[[Unit], Any]] = {}


def _process_init(threads: int, driver: int) -> None:
    _pin_process_threads(threads)
    _exit_with_driver(driver)


def _exit_with_driver(driver: int, period: float = 1.0) -> None:
    """End this worker when the driver process dies (a killed run leaves no orphaned workers behind).

    The driver is not the worker's parent under ``forkserver`` (the fork server is), so its pid is polled.
    """
    import threading

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


def _process_call(token: str, fn_bytes: bytes | None, unit: Unit, threads: int) -> tuple[bool, Any]:
    """Worker side: run ``unit`` with the function ``token`` (unpickled once per worker and run)."""
    fn = _WORKER_FNS.get(token)
    if fn is None:
        if fn_bytes is None:
            return False, _NEED_FUNCTION
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


class ProcessExecutor(Executor):
    """``n_jobs`` local worker processes, kept for the executor's lifetime.

    The unit function is serialised with cloudpickle (closures and lambdas work) and reaches each worker
    once per run: tasks carry only the unit, and a worker that has not seen the run's function yet asks for
    it. A worker keeps whatever state the function caches (a loaded dataset, a trained evaluation model)
    across that run's units.
    """

    kind = "processes"

    def __init__(self, n_jobs: int, threads: int | None = None):
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise ValueError(f"n_jobs must be a positive integer, got {n_jobs!r}")
        self.workers = n_jobs
        super().__init__(threads)
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_process_init,
                                             initargs=(self.threads, os.getpid()))
        return self._pool

    def imap(self, fn, units):
        if not units:
            return
        fn_bytes = _pickle().dumps(fn)
        token = hashlib.sha256(fn_bytes).hexdigest()
        pool = self._get_pool()
        # A bounded window in flight: every worker busy, little to redo after an interruption, flat memory.
        window = 4 * self.workers
        todo = iter(units)
        pending: dict[Any, Unit] = {}

        def submit(unit: Unit, with_fn: bool = False) -> None:
            pending[pool.submit(_process_call, token, fn_bytes if with_fn else None, unit, self.threads)] = unit

        for unit in todo:
            submit(unit)
            if len(pending) >= window:
                break
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    unit = pending.pop(fut)
                    try:
                        ok, payload = fut.result()
                    except Exception as exc:  # the worker process itself died (killed, out of memory)
                        ok, payload = False, (f"worker process failed: {type(exc).__name__}: {exc}", "")
                    if not ok and payload == _NEED_FUNCTION:
                        submit(unit, with_fn=True)
                        continue
                    yield unit, ok, payload
                    nxt = next(todo, None)
                    if nxt is not None:
                        submit(nxt)
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _dask_call(fn, unit: Unit, threads: int) -> tuple[bool, Any]:
    return _call(fn, unit, threads)


class DaskExecutor(Executor):
    """Units as tasks of a Dask cluster: the scheduler at ``address``, or a new local cluster of ``n_jobs``
    single-threaded worker processes when ``address`` is None.

    The unit function is scattered to every worker once; each result is gathered as it completes. Workers
    of a remote cluster need this package (and the data, ``$MID_DATA``) installed; they need no shared file
    system with the driver.
    """

    kind = "dask"

    def __init__(self, address: str | None = None, n_jobs: int = 1, threads: int | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ImportError("the dask executor needs the 'distributed' extra: "
                              "pip install 'mid-toolkit[distributed]'") from None
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise ValueError(f"n_jobs must be a positive integer, got {n_jobs!r}")
        self._cluster = None
        if address is None:
            per_worker = resolve_threads(threads, n_jobs)
            self._cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                                         dashboard_address=None, silence_logs=40,
                                         env={"OMP_NUM_THREADS": str(per_worker), "MID_THREADS": str(per_worker),
                                              "OPENBLAS_NUM_THREADS": str(per_worker),
                                              "MKL_NUM_THREADS": str(per_worker)})
            self.client = Client(self._cluster)
        else:
            try:
                self.client = Client(address, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ValueError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None
        self.address = address or self._cluster.scheduler_address
        info = self.client.scheduler_info()
        self.workers = max(1, len(info.get("workers", {})) or n_jobs)
        if threads is None and address is not None:
            # A remote worker's cores are its own business: one thread per task slot unless told otherwise.
            threads = int(os.environ.get("MID_THREADS", "1") or 1)
        super().__init__(threads if address is not None else resolve_threads(threads, n_jobs))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "scheduler": None if self._cluster is not None else self.address}

    def imap(self, fn, units):
        from distributed import as_completed

        if not units:
            return
        fn_future = self.client.scatter(fn, broadcast=True, hash=False)
        futures = {self.client.submit(_dask_call, fn_future, u, self.threads, pure=False): u for u in units}
        try:
            # Results are gathered in batches as tasks finish (one scheduler round trip per batch, not per unit).
            for fut, result in as_completed(futures, with_results=True, raise_errors=False):
                unit = futures.pop(fut)
                if isinstance(result, BaseException):  # the task was lost with its worker
                    ok, payload = False, (f"dask task failed: {type(result).__name__}: {result}", "")
                else:
                    ok, payload = result
                fut.release()
                yield unit, ok, payload
        finally:
            self.client.cancel(list(futures))

    def close(self) -> None:
        client, self.client = getattr(self, "client", None), None
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(jobs: int = 1, scheduler: str | None = None, threads: int | None = None) -> Executor:
    """The executor a command line asks for.

    ``scheduler`` (or ``$MID_SCHEDULER`` when None): ``"local"`` starts a Dask LocalCluster of ``jobs``
    workers, any other value is a scheduler address (``tcp://host:8786``); without one, ``jobs > 1`` gives
    local processes and ``jobs == 1`` the serial executor.
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
    failures: list[UnitFailure] = []
    start = time.perf_counter()
    bar = Progress(len(units), desc=desc, unit="unit", initial=len(units) - len(todo), disable=not progress or not todo)
    try:
        for unit, ok, payload in executor.imap(fn, todo):
            if ok:
                for rel, data in payload.files.items():
                    write_bytes_atomic(_inside(files_root, rel), data)
                if memory:
                    results[unit.key] = payload.value
                else:
                    store.put(unit.key, payload.value)
            else:
                error, tb = payload
                failures.append(UnitFailure(unit.key, error, tb))
                bar.write(f"{desc}: unit {unit.key} failed: {error}")
            bar.update(1)
    finally:
        bar.close()
    report = RunReport({k: results[k] for k in keys if k in results}, failures, len(todo),
                       len(units) - len(todo), time.perf_counter() - start, executor.kind)
    if failures and raise_on_failure:
        raise UnitsFailed(report)
    return report


def _inside(root: Path, rel: str) -> Path:
    path = (root / rel).resolve()
    if root.resolve() not in path.parents:
        raise ValueError(f"a unit's file {rel!r} would be written outside {root}")
    return path
