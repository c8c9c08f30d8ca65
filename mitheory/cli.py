"""The parameter layer every command line of the toolkit builds on: numbers, counts, output paths, size
estimates, progress and the shell.

Pure standard library (``tqdm`` is imported only to draw a bar on a terminal), so ``python -m mitheory.bounds``
keeps its fast start; ``validation`` and ``paper_figs`` build their checks on it, and every command line
reads its numbers by the same rules.

**Numbers** (:func:`parse_real`, :func:`parse_count` and the argparse types :func:`real` and :func:`count`)
are read exactly, as rationals:

* a decimal ``[+-]digits[.digits][(e|E)[+-]digits]`` or a fraction ``p/q`` of two decimals;
* ``_`` may group digits as in Python literals (``1_000``: only between two digits);
* only the ASCII digits 0-9: other digit characters (Arabic-Indic ``١``, full-width ``５``, superscripts) are
  refused, so are hexadecimal, octal and binary literals (``0x10``) — each with a message saying so;
* ``inf`` and ``nan`` are refused (an option whose consumer takes ``inf`` says so with ``allow_inf``);
* decimal exponents beyond ±:data:`MAX_EXPONENT` are refused (no input builds an astronomically large integer);
* a count is a number with an integer value: ``1e8`` and ``1_000`` are counts, ``1.5`` is not.

Where a consumer computes in binary floating point, :func:`to_float` converts and refuses a value that
would not survive: a non-zero value below the smallest normal double (2.2e-308) or above the largest.

**Output paths** (:func:`probe_output_file`, :func:`probe_output_dir`) are checked by creating and removing a
probe file of the final name (the missing folders included, removed again), which catches what a look at
the path cannot: dangling symbolic links, link loops, components over the file system's name limit, paths
over ``PATH_MAX``, read-only and virtual file systems.

**Sizes** (:func:`check_size`) are refused with the estimate when their memory exceeds the machine's or their
work would run longer than :data:`MAX_RUN_SECONDS`.

**Progress** (:class:`Progress`, :func:`heartbeat`): a tqdm bar on a terminal, else one plain line every
:data:`LINE_INTERVAL` seconds on stderr, so logs of batch jobs show that work goes on.

**The shell**: :func:`run_main` ends a command quietly when its reader goes away (``| head -1``), and
:func:`terminal_columns` ignores a ``COLUMNS`` that is not a number.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction

__all__ = ["LINE_INTERVAL", "MAX_EXPONENT", "MAX_RUN_SECONDS", "ParamError", "Progress", "check_range", "check_size",
           "choice", "count", "heartbeat", "human_bytes", "human_seconds", "parse_count", "parse_real", "physical_memory",
           "probe_output_dir", "probe_output_file", "real", "run_main", "terminal_columns", "to_float"]

MAX_EXPONENT = 100_000
"""Largest decimal exponent a number may carry (``1e100000``)."""
MAX_RUN_SECONDS = 30 * 86400.0
"""A size whose estimated run time exceeds this (30 days at the requested parallelism) is refused."""
LINE_INTERVAL = 5.0
"""Seconds between progress lines when stderr is not a terminal."""

_SMALLEST_NORMAL = Fraction(2.2250738585072014e-308)
_LARGEST_FLOAT = Fraction(1.7976931348623157e308)
_DIGITS = r"[0-9](?:_?[0-9])*"
_DECIMAL = re.compile(rf"(?P<sign>[+-]?)(?P<whole>{_DIGITS})?(?:\.(?P<frac>{_DIGITS})?)?(?:[eE](?P<exp>[+-]?{_DIGITS}))?")


class ParamError(ValueError):
    """Bad command-line input: one line, reported with exit status 2."""


# ------------------------------------------------------------------------------------------------ numbers


def _refusal(text: str) -> str | None:
    """Why ``text`` is not a number by this module's rules, for inputs that look like one of another kind."""
    s = text.strip()
    low = s.lower().lstrip("+-")
    if low in ("inf", "infinity", "nan", "+nan", "-nan"):
        return "must be finite"
    if re.fullmatch(r"0[xob][0-9a-f_]+", low):
        return "must be a decimal number (hexadecimal, octal and binary literals are not accepted)"
    if any(not c.isascii() and (c.isdigit() or unicodedata.category(c) == "Nd") for c in s):
        return "must be written with the ASCII digits 0-9"
    return None


def _parse_decimal(s: str) -> Fraction | None:
    """A decimal by this module's rules as a Fraction, or None when ``s`` is not one."""
    m = _DECIMAL.fullmatch(s)
    if m is None or (m["whole"] is None and m["frac"] is None):
        return None
    e = int((m["exp"] or "0").replace("_", ""))
    if abs(e) > MAX_EXPONENT:
        raise ParamError(f"must have a decimal exponent within ±{MAX_EXPONENT}")
    whole, frac = (m["whole"] or "").replace("_", ""), (m["frac"] or "").replace("_", "")
    value = (-1 if m["sign"] == "-" else 1) * int(whole + frac)
    power = e - len(frac)
    return Fraction(value * 10**power) if power >= 0 else Fraction(value, 10**-power)


def parse_real(text: str, *, allow_inf: bool = False) -> Fraction | float:
    """``text`` as an exact rational by the rules of this module (``float('inf')`` for ``inf`` where
    ``allow_inf``); raises :class:`ParamError` with the reason."""
    if not isinstance(text, str):
        raise ParamError(f"must be a number, got {text!r}")
    s = text.strip()
    if allow_inf and s.lower().lstrip("+") in ("inf", "infinity"):
        return float("inf")
    why = _refusal(s)
    if why is not None:
        raise ParamError(f"{why}, got {text!r}")
    try:
        if "/" in s:
            num, _, den = s.partition("/")
            p, q = _parse_decimal(num.strip()), _parse_decimal(den.strip())
            if p is None or q is None:
                raise ParamError(f"must be a number, got {text!r}")
            if q == 0:
                raise ParamError(f"must be a number, got {text!r} (division by zero)")
            return p / q
        value = _parse_decimal(s)
    except ParamError as exc:
        raise ParamError(f"{exc}, got {text!r}") from None
    if value is None:
        raise ParamError(f"must be a number, got {text!r}")
    return value


def _describe(low, high, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {_show(low)}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {_show(high)}")
    return " and ".join(parts)


def _show(x) -> str:
    """A short decimal for messages: integers below 10**6 as they are, else 4 significant digits (computed
    exactly, so 1e-400 and 1e400 show as themselves)."""
    if isinstance(x, float):
        return format(x, "g")
    x = Fraction(x)
    if x.denominator == 1 and abs(x) < 10**6:
        return str(x.numerator)
    if x == 0:
        return "0"
    sign, x = ("-" if x < 0 else ""), abs(x)
    e = len(str(x.numerator)) - len(str(x.denominator))
    if x < Fraction(10) ** e:
        e -= 1
    if -5 <= e < 6:
        return sign + format(float(x), ".4g")
    return f"{sign}{float(x / Fraction(10) ** e):.4g}e{e:+d}"


def check_range(value, *, low=None, high=None, low_open: bool = False, high_open: bool = False,
                what: str = "a number") -> None:
    """Raise :class:`ParamError` unless ``low (<|<=) value (<|<=) high``."""
    bad = (low is not None and (value <= low if low_open else value < low)) or (
        high is not None and (value >= high if high_open else value > high))
    if bad:
        raise ParamError(f"must be {what} {_describe(low, high, low_open, high_open)}, got {_show(value)}")


def parse_count(text: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """``text`` as an integer ``>= minimum`` (and ``<= maximum``): ``1e8`` and ``1_000`` are counts, ``1.5``
    is not."""
    value = parse_real(text)
    if value.denominator != 1:
        raise ParamError(f"must be an integer, got {text!r}")
    check_range(value.numerator, low=minimum, high=maximum, what="an integer")
    return value.numerator


def real(*, low=None, high=None, low_open: bool = False, high_open: bool = False,
         allow_inf: bool = False) -> Callable[[str], Fraction | float]:
    """An argparse ``type=`` reading an exact number in the given range (argparse then names the option)."""

    def parse(text: str):
        try:
            value = parse_real(text, allow_inf=allow_inf)
            check_range(value, low=low, high=high, low_open=low_open, high_open=high_open)
        except ParamError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value

    parse.__name__ = "number"
    return parse


def count(*, minimum: int = 1, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=`` reading a count ``>= minimum``."""

    def parse(text: str) -> int:
        try:
            return parse_count(text, minimum=minimum, maximum=maximum)
        except ParamError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "count"
    return parse


def choice(options: Sequence[str]) -> Callable[[str], str]:
    """An argparse ``type=`` accepting one of ``options`` (``--scale quick|cpu|full``): anything else is
    ``must be one of ..., got '...'``, which argparse prints in one line naming the option."""
    options = tuple(options)

    def parse(text: str) -> str:
        if text not in options:
            raise argparse.ArgumentTypeError(f"must be one of {', '.join(options)}, got {text!r}")
        return text

    parse.__name__ = "choice"
    return parse


def to_float(value, option: str) -> float:
    """``value`` as a float for a consumer that computes in binary floating point; raises :class:`ParamError`
    naming ``option`` when it would overflow, or turn a non-zero value into zero or a subnormal (whose few
    significant bits make every later quotient meaningless)."""
    if isinstance(value, float):
        return value
    v = Fraction(value)
    if abs(v) > _LARGEST_FLOAT:
        raise ParamError(f"{option} {_show(v)} exceeds the largest double (1.8e308)")
    if v != 0 and abs(v) < _SMALLEST_NORMAL:
        raise ParamError(f"{option} {_show(v)} is below the smallest normal double (2.2e-308)")
    return float(v)


# -------------------------------------------------------------------------------------------- output paths


def _short(path: str, keep: int = 60) -> str:
    """``path`` for a one-line message: the middle of a very long one elided (its length in bytes given)."""
    if len(path) <= 2 * keep + 20:
        return path
    return f"{path[:keep]}...{path[-keep:]} ({len(os.fsencode(path))} bytes)"


def _path_error(option: str, path: str, exc: OSError) -> ParamError:
    reason = {errno.ELOOP: "a symbolic-link loop", errno.ENAMETOOLONG: "a name or path too long for the file "
              "system", errno.EROFS: "a read-only file system"}.get(exc.errno, exc.strerror or str(exc))
    where = os.path.dirname(exc.filename) if isinstance(exc.filename, str) else path
    return ParamError(f"{option} {_short(path)}: cannot write in {_short(where or os.sep)} ({reason})")


def _check_link(option: str, path: str) -> None:
    if os.path.islink(path):
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ParamError(f"{option} {path} is a symbolic-link loop") from None
            raise ParamError(f"{option} {path} is a dangling symbolic link (to {os.readlink(path)})") from None


def _make_dirs(option: str, folder: str) -> list[str]:
    """Create the missing folders of ``folder``; return those created (deepest last)."""
    missing = []
    probe = folder
    while not os.path.lexists(probe):
        missing.append(probe)
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if os.path.lexists(probe):
        _check_link(option, probe)
        if not os.path.isdir(probe):
            raise ParamError(f"{option} {folder}: {probe} is not a directory")
    created = []
    try:
        for d in reversed(missing):
            os.mkdir(d)
            created.append(d)
    except OSError as exc:
        _remove_dirs(created)
        raise _path_error(option, folder, exc) from None
    return created


def _remove_dirs(created: list[str]) -> None:
    for d in reversed(created):
        try:
            os.rmdir(d)
        except OSError:
            pass


def _probe(option: str, path: str) -> None:
    """Create ``path`` exclusively and remove it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise _path_error(option, path, exc) from None
    os.close(fd)
    os.unlink(path)


def _temporary_name(name: str) -> str:
    """The name of the temporary file an atomic write of ``name`` goes through (``.NAME.XXXXXXXX.tmp``, as
    ``tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp")`` makes it): the longest name written."""
    return f".{name}.{os.getpid() % 10**8:08d}.tmp"


def probe_output_file(path: str | os.PathLike, option: str) -> None:
    """Check that a file can be written atomically at ``path``: create and remove a probe file of that name
    and one of its temporary file's name (and the missing folders, removed again). An existing file is left
    alone. Raises :class:`ParamError` naming ``option``."""
    p = os.fspath(path)
    if not p:
        raise ParamError(f"{option} must not be empty")
    _check_link(option, p)
    if os.path.isdir(p):
        raise ParamError(f"{option} {p} is a directory, not a file")
    folder = os.path.dirname(os.path.abspath(p)) or os.sep
    name = os.path.basename(p)
    created = _make_dirs(option, folder)
    try:
        if os.path.lexists(p):
            if not os.access(p, os.W_OK):
                raise ParamError(f"{option} {p}: the file is not writable")
        else:
            _probe(option, os.path.join(folder, name))
        _probe(option, os.path.join(folder, _temporary_name(name)))
    finally:
        _remove_dirs(created)


def probe_output_dir(path: str | os.PathLike, option: str, *, longest_name: str = "x" * 64) -> None:
    """Check that ``path`` is or can become a directory holding files as long-named as ``longest_name`` (the
    longest file name the command writes there), by creating and removing such a probe file (and the
    missing folders). Raises :class:`ParamError` naming ``option``."""
    p = os.fspath(path)
    if not p:
        raise ParamError(f"{option} must not be empty")
    _check_link(option, p)
    if os.path.lexists(p) and not os.path.isdir(p):
        raise ParamError(f"{option} {p} exists and is not a directory")
    created = _make_dirs(option, os.path.abspath(p))
    try:
        _probe(option, os.path.join(os.path.abspath(p), _temporary_name(longest_name)))
    finally:
        _remove_dirs(created)


# ------------------------------------------------------------------------------------------ size estimates


def physical_memory() -> int:
    """Bytes of physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def human_bytes(nbytes: float) -> str:
    """``1.5 GiB``-style size."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if nbytes < 1024 or unit == "EiB":
            return f"{int(nbytes)} B" if unit == "B" else f"{nbytes:.3g} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def human_seconds(seconds: float) -> str:
    """``40 s``, ``12 min``, ``3.5 h``, ``2.1 days`` or ``4e+03 years``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds < 2 * 365 * 86400:
        return f"{seconds / 86400:.3g} days"
    return f"{seconds / (365 * 86400):.3g} years"


def check_size(option: str, value: int, what: str, *, seconds_each: float = 0.0, bytes_each: float = 0.0,
               parallel: int = 1, fixed_bytes: float = 0.0) -> None:
    """Refuse ``option`` = ``value`` items when they need more memory than this machine has or more run time
    than :data:`MAX_RUN_SECONDS` (``seconds_each`` is a lower bound on one item's time, shared by
    ``parallel`` workers). The message gives the estimate and the largest value that fits."""
    have = physical_memory()
    need = fixed_bytes + value * bytes_each
    if bytes_each and need > have:
        most = max(0, int((have - fixed_bytes) // bytes_each))
        raise ParamError(f"{option} {value}: {what} need at least {human_bytes(need)} of memory, more than this "
                         f"machine's {human_bytes(have)}; use {option} <= {most:.3g}")
    wall = value * seconds_each / max(1, parallel)
    if seconds_each and wall > MAX_RUN_SECONDS:
        most = int(MAX_RUN_SECONDS * max(1, parallel) / seconds_each)
        raise ParamError(f"{option} {value}: {what} would take at least {human_seconds(wall)} "
                         f"({seconds_each:g} s each on {max(1, parallel)} worker(s); the limit is "
                         f"{human_seconds(MAX_RUN_SECONDS)}); use {option} <= {most:.3g}")


# ------------------------------------------------------------------------------------------------ progress


_now = time.monotonic  # the clock of the progress reports (a test may replace it)


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """A progress report on stderr: a tqdm bar on a terminal, else one plain line every :data:`LINE_INTERVAL`
    seconds (and one at the end), so that a log shows the work going on.

    Parameters
    ----------
    total : int or None
        Items to do (None: unknown; the lines then count and time only).
    desc, unit : str
        What is counted, for the bar and the lines (``unit="B"``: bytes, shown as KiB, MiB, ...).
    initial : int
        Items already done (a resumed run).
    disable : bool
        No output at all.
    announce : bool
        Off a terminal, print a first line at once (for work whose start is news, like a download), not only
        after ``interval`` seconds.
    """

    def __init__(self, total: int | None = None, desc: str = "", unit: str = "it", *, initial: int = 0,
                 disable: bool = False, file=None, interval: float | None = None, leave: bool = True,
                 announce: bool = False):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.file = file if file is not None else sys.stderr
        self.disable, self.interval = disable, LINE_INTERVAL if interval is None else interval
        self._start = self._last = _now()
        self._first = initial
        self._postfix = ""
        self._bar = None
        self._closed = False
        if not disable and _is_terminal(self.file):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, file=self.file, leave=leave,
                             dynamic_ncols=True, smoothing=0.1, unit_scale=unit == "B", unit_divisor=1024)
        elif announce and not disable:
            print(self._line(), file=self.file, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @classmethod
    def iterate(cls, iterable, total: int | None = None, **kw) -> Iterator:
        """Yield from ``iterable``, counting each item."""
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)
        with cls(total, **kw) as bar:
            for item in iterable:
                yield item
                bar.update(1)

    def _line(self) -> str:
        elapsed = _now() - self._start
        done = self.n - self._first
        show = human_bytes if self.unit == "B" else str
        text = f"{self.desc}: {show(self.n)}" + (f"/{show(self.total)}" if self.total else "")
        text += "" if self.unit == "B" else f" {self.unit}"
        if self.total:
            text += f" ({100 * self.n / self.total:.0f}%)"
        text += f", {human_seconds(elapsed)} elapsed"
        if self.total and done > 0 and self.n < self.total:
            text += f", about {human_seconds(elapsed / done * (self.total - self.n))} left"
        return f"{text} ({self._postfix})" if self._postfix else text

    def update(self, k: int = 1) -> None:
        self.n += k
        if self.disable:
            return
        if self._bar is not None:
            self._bar.update(k)
            return
        now = _now()
        if now - self._last >= self.interval:
            self._last = now
            print(self._line(), file=self.file, flush=True)

    def set_postfix(self, **values) -> None:
        """Show ``name=value`` pairs after the count (the bar's postfix; the end of each line)."""
        self._postfix = ", ".join(f"{k}={v}" for k, v in values.items())
        if self._bar is not None:
            self._bar.set_postfix(values, refresh=False)

    def write(self, text: str) -> None:
        """Print a line without breaking the bar."""
        if self._bar is not None:
            self._bar.write(text, file=self.file)
        else:
            print(text, file=self.file, flush=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif not self.disable and _now() - self._start >= self.interval:
            print(self._line(), file=self.file, flush=True)


@contextmanager
def heartbeat(desc: str, *, estimate_s: float | None = None, file=None, interval: float | None = None,
              disable: bool = False):
    """Report a long computation that has no loop to count: after ``interval`` seconds, a line every
    ``interval`` seconds on stderr (rewritten in place on a terminal) with the time elapsed and, given
    ``estimate_s``, the estimated total. Runs in a daemon thread; the computation is not touched."""
    stream = file if file is not None else sys.stderr
    interval = LINE_INTERVAL if interval is None else interval
    if disable:
        yield
        return
    stop = threading.Event()
    start = time.monotonic()
    tty = _is_terminal(stream)
    printed = []

    def beat() -> None:
        while not stop.wait(interval):
            text = f"{desc}: {human_seconds(time.monotonic() - start)} elapsed"
            if estimate_s:
                text += f" (estimated {human_seconds(estimate_s)} in all)"
            try:
                stream.write(("\r" + text + "\033[K") if tty else text + "\n")
                stream.flush()
            except (OSError, ValueError):
                return
            printed.append(True)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if tty and printed:
            stream.write("\r\033[K")
            stream.flush()


# --------------------------------------------------------------------------------------------------- shell


def terminal_columns(default: int = 100, *, cap: int = 100) -> int:
    """The width for help texts and tables: ``$COLUMNS`` when it is a whole number >= 20 (anything else is
    ignored), else ``default``; at most ``cap``."""
    text = os.environ.get("COLUMNS", "")
    if text.isascii() and text.isdigit() and int(text) >= 20:
        return min(cap, int(text))
    return min(cap, default)


def run_main(main: Callable[[], int | None]) -> None:
    """Run a command's ``main`` and exit with its status; a reader that goes away (``| head -1``) ends the
    command quietly with status 141 (128 + SIGPIPE, as the shell reports a command killed by the pipe)."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(141) from None
    raise SystemExit(status)
