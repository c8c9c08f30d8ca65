"""Every bad input of ``python -m mitheory.bounds`` and ``python -m mitheory.games`` is answered with exit
status 2 and one line naming the option, no traceback, no hang, and nothing on stdout.

The lists below hold the classes of bad input a careful user hits (out-of-range and non-numeric values,
values that overflow a float, sizes that cannot finish, zero or negative counts, options that do not apply,
unusable output paths), each with the text its one line must contain; ``{tmp}`` is a fresh temporary
directory holding a file ``afile``. Every case runs in-process through ``main(argv)``; a sample runs as
real processes (what a user sees, and within a time limit: no hang), and hypothesis draws further values
from each class.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mitheory.bounds import main as bounds_main
from mitheory.games_cli import main as games_main

BOUNDS_BAD: list[tuple[list[str], str]] = [
    # values out of range or not numbers
    (["--eps", "0", "--n", "10"], "--eps"),
    (["--eps", "-0.5", "--n", "10"], "--eps"),
    (["--eps", "inf", "--n", "10"], "--eps"),
    (["--eps", "nan", "--n", "10"], "--eps"),
    (["--eps", "abc", "--n", "10"], "--eps"),
    (["--eps", "", "--n", "10"], "--eps"),
    (["--eps", "1/0", "--n", "10"], "--eps"),
    (["--eps", "0.1,", "--n", "10"], "--eps"),
    (["--eps", "0.1", "--n", "0"], "--n"),
    (["--eps", "0.1", "--n", "-5"], "--n"),
    (["--eps", "0.1", "--n", "2.5"], "--n"),
    (["--eps", "0.1", "--n", "ten"], "--n"),
    (["--eps", "0.1", "--n", "10", "--delta", "1"], "--delta"),
    (["--eps", "0.1", "--n", "10", "--delta", "1.5"], "--delta"),
    (["--eps", "0.1", "--n", "10", "--delta=-1e-9"], "--delta"),
    (["--eps", "0.1", "--n", "10", "--delta", "nan"], "--delta"),
    (["--mu", "0", "--n", "10"], "--mu"),
    (["--mu", "-1", "--n", "10"], "--mu"),
    (["--mu", "inf", "--n", "10"], "--mu"),
    (["--eps", "0.1", "--n", "10", "--digits", "4"], "--digits"),
    (["--eps", "0.1", "--n", "10", "--digits", "0"], "--digits"),
    (["--eps", "0.1", "--n", "10", "--digits", "1001"], "--digits"),
    (["--eps", "0.1", "--n", "10", "--digits", "x"], "--digits"),
    # missing or unknown options
    (["--n", "10"], "--eps"),
    (["--eps", "0.1"], "--n"),
    (["--eps", "0.1", "--n", "10", "--bogus"], "--bogus"),
    (["--eps", "0.1", "--n", "10", "--plot"], "--plot"),
    # options that do not apply
    (["--mu", "0.1", "--n", "10", "--delta", "0.1"], "--delta"),
    # values too large to evaluate (the working precision they need is refused up front)
    (["--eps", "1e100000", "--n", "2"], "--eps"),
    (["--mu", "1e100000", "--n", "2"], "--mu"),
    (["--eps", "1", "--n", "1e100000"], "--eps"),
    (["--eps", "1e1000000000", "--n", "2"], "--eps"),
    # output paths: a directory, a missing folder, a file as folder, unwritable, unknown format
    (["--eps", "0.1", "--n", "10", "--plot", "{tmp}"], "--plot"),
    (["--eps", "0.1", "--n", "10", "--plot", "{tmp}/missing/b.png"], "--plot"),
    (["--eps", "0.1", "--n", "10", "--plot", "{tmp}/afile/b.png"], "--plot"),
    (["--eps", "0.1", "--n", "10", "--plot", "/proc/mitheory-bounds.png"], "--plot"),
    (["--eps", "0.1", "--n", "10", "--plot", "{tmp}/b.xyz"], "--plot"),
    (["--eps", "1e400", "--n", "10", "--plot", "{tmp}/b.png"], "--plot"),
]

GAMES_BAD: list[tuple[list[str], str]] = [
    ([], "list or run"),
    (["run"], "scenario"),
    (["run", "nope"], "scenario"),
    (["list", "extra"], "extra"),
    (["run", "laplace-count", "--bogus"], "--bogus"),
    (["run", "laplace-count", "--eps", "0"], "--eps"),
    (["run", "laplace-count", "--eps", "-1"], "--eps"),
    (["run", "laplace-count", "--eps", "inf"], "--eps"),
    (["run", "laplace-count", "--eps", "nan"], "--eps"),
    (["run", "laplace-count", "--eps", "1e400"], "--eps"),
    (["run", "laplace-count", "--eps", "abc"], "--eps"),
    (["run", "extremal", "--delta", "1"], "--delta"),
    (["run", "extremal", "--delta", "-0.1"], "--delta"),
    (["run", "extremal", "--delta", "nan"], "--delta"),
    (["run", "laplace-count", "--delta", "0.1"], "--delta"),
    (["run", "laplace-count", "--n", "x"], "--n"),
    (["run", "laplace-count", "--n", "0"], "--n"),
    (["run", "laplace-count", "--n", "-3"], "--n"),
    (["run", "memorizer", "--n", "500"], "--n"),
    (["run", "theorem1-counterexample", "--eps", "1"], "--eps"),
    (["run", "memorizer", "--eps", "1"], "--eps"),
    (["run", "laplace-count", "--rounds", "0"], "--rounds"),
    (["run", "laplace-count", "--rounds", "-5"], "--rounds"),
    (["run", "laplace-count", "--rounds", "2.5"], "--rounds"),
    (["run", "laplace-count", "--eps", "1e-400"], "--eps"),
    (["run", "laplace-count", "--eps", "0x1"], "--eps"),
    (["run", "laplace-count", "--eps", "\u0661"], "--eps"),
    (["run", "laplace-count", "--eps", "51"], "--eps"),
    (["run", "extremal", "--eps", "1e3"], "--eps"),
    (["run", "laplace-count", "--n", "1.5"], "--n"),
    (["run", "laplace-count", "--rounds", "100000000000000"], "--rounds"),
    (["run", "laplace-count", "--seed", "-1"], "--seed"),
    (["run", "laplace-count", "--n", "100000000"], "--n"),
    (["run", "geometric-count", "--n", "1000000000000"], "--n"),
    (["run", "extremal", "--n", "100000000"], "--n"),
    (["run", "randomized-response", "--n", "1000000000000"], "--n"),
]


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("bad-input")
    (folder / "afile").write_text("")
    return str(folder)


def _in_process(main, argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's exit()
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _assert_one_line(code: int, out: str, err: str, must: str, argv) -> None:
    lines = err.strip().splitlines()
    assert code == 2, (argv, code, err)
    assert out == "", (argv, out)
    assert len(lines) == 1 and "Traceback" not in err, (argv, err)
    assert must in lines[0], (argv, must, lines[0])


@pytest.mark.parametrize("argv,must", BOUNDS_BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_bounds_bad_input_one_line_exit_2(argv, must, tmp, capsys):
    argv = [a.replace("{tmp}", tmp) for a in argv]
    _assert_one_line(*_in_process(bounds_main, argv, capsys), must, argv)
    assert sorted(os.listdir(tmp)) == ["afile"]  # nothing written, no temporary file left


@pytest.mark.parametrize("argv,must", GAMES_BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_games_bad_input_one_line_exit_2(argv, must, capsys):
    _assert_one_line(*_in_process(games_main, argv, capsys), must, argv)


@pytest.mark.parametrize("module,argv,must", [
    ("mitheory.bounds", ["--eps", "1e100000", "--n", "2"], "--eps"),
    ("mitheory.bounds", ["--mu", "1e100000", "--n", "2"], "--mu"),
    ("mitheory.bounds", ["--eps", "0.1", "--n", "10", "--plot", "/proc/mitheory-bounds.png"], "--plot"),
    ("mitheory.games", ["run", "laplace-count", "--rounds", "100000000000000"], "--rounds"),
    ("mitheory.games", ["run", "laplace-count", "--n", "100000000"], "--n"),
    ("mitheory.games", ["run", "memorizer", "--eps", "1"], "--eps"),
])
def test_real_processes_answer_in_one_line_without_hanging(module, argv, must):
    res = subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True, timeout=60)
    _assert_one_line(res.returncode, res.stdout, res.stderr, must, argv)


_junk = st.sampled_from(["abc", "1e", "--", "0x10", "1,,2", "∞", "1/0", " ", "1e1000000000", "-inf"])


@settings(max_examples=40, deadline=None)
@given(st.one_of(
    st.tuples(st.just("--eps"), st.one_of(st.floats(max_value=0).map(repr), _junk)),
    st.tuples(st.just("--mu"), st.one_of(st.floats(max_value=0).map(repr), _junk)),
    st.tuples(st.just("--delta"), st.one_of(st.floats(min_value=1).map(repr), st.floats(max_value=-1e-300).map(repr),
                                            _junk)),
    st.tuples(st.just("--n"), st.one_of(st.integers(max_value=0).map(str), st.floats(0.1, 1e6).filter(
        lambda x: x != int(x)).map(repr), _junk)),
    st.tuples(st.just("--digits"), st.one_of(st.integers(max_value=4), st.integers(min_value=1001)).map(str)),
))
def test_bounds_hypothesis_bad_values(option_value):
    option, value = option_value
    base = [] if option in ("--eps", "--mu") else ["--eps", "0.1"]
    argv = base + [f"{option}={value}"] + ([] if option == "--n" else ["--n", "10"])
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = bounds_main(argv)
        except SystemExit as exc:
            code = exc.code
    _assert_one_line(code, out.getvalue(), err.getvalue(), option, argv)


@settings(max_examples=40, deadline=None)
@given(st.one_of(
    st.tuples(st.just("--eps"), st.one_of(st.floats(max_value=0).map(repr), st.just("1e400"), _junk)),
    st.tuples(st.just("--n"), st.one_of(st.integers(max_value=0), st.integers(10**8, 10**30)).map(str)),
    st.tuples(st.just("--rounds"), st.one_of(st.integers(max_value=0), st.integers(10**13, 10**30)).map(str)),
    st.tuples(st.just("--seed"), st.integers(max_value=-1).map(str)),
))
def test_games_hypothesis_bad_values(option_value):
    option, value = option_value
    argv = ["run", "laplace-count", f"{option}={value}"]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = games_main(argv)
    _assert_one_line(code, out.getvalue(), err.getvalue(), option, argv)
