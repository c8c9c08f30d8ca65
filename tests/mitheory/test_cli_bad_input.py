"""Every bad input of ``python -m mitheory.bounds`` and ``python -m mitheory.games`` is answered with exit
status 2 and one line naming the option, no traceback, no hang, and nothing on stdout.

The lists below hold the classes of bad input a careful user hits (out-of-range and non-numeric values,
values that overflow a float, sizes that cannot finish, zero or negative counts, options that do not apply,
unusable output paths); ``{tmp}`` is replaced by a fresh temporary directory holding a file ``afile``.
Most cases run in-process through ``main(argv)`` (fast); a sample runs as real processes, and
hypothesis draws further values from each class.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mitheory.bounds import main as bounds_main
from mitheory.games_cli import main as games_main

BOUNDS_BAD: list[list[str]] = [
    # values out of range or not numbers
    ["--eps", "0", "--n", "10"],
    ["--eps", "-0.5", "--n", "10"],
    ["--eps", "inf", "--n", "10"],
    ["--eps", "nan", "--n", "10"],
    ["--eps", "abc", "--n", "10"],
    ["--eps", "", "--n", "10"],
    ["--eps", "1/0", "--n", "10"],
    ["--eps", "0.1,", "--n", "10"],
    ["--eps", "0.1", "--n", "0"],
    ["--eps", "0.1", "--n", "-5"],
    ["--eps", "0.1", "--n", "2.5"],
    ["--eps", "0.1", "--n", "ten"],
    ["--eps", "0.1", "--n", "10", "--delta", "1"],
    ["--eps", "0.1", "--n", "10", "--delta", "1.5"],
    ["--eps", "0.1", "--n", "10", "--delta=-1e-9"],
    ["--eps", "0.1", "--n", "10", "--delta", "nan"],
    ["--mu", "0", "--n", "10"],
    ["--mu", "-1", "--n", "10"],
    ["--mu", "inf", "--n", "10"],
    ["--eps", "0.1", "--n", "10", "--digits", "4"],
    ["--eps", "0.1", "--n", "10", "--digits", "0"],
    ["--eps", "0.1", "--n", "10", "--digits", "1001"],
    ["--eps", "0.1", "--n", "10", "--digits", "x"],
    # missing or unknown options
    ["--n", "10"],
    ["--eps", "0.1"],
    ["--eps", "0.1", "--n", "10", "--bogus"],
    ["--eps", "0.1", "--n", "10", "--plot"],
    # options that do not apply
    ["--mu", "0.1", "--n", "10", "--delta", "0.1"],
    # values too large to evaluate (the working precision they need is refused up front)
    ["--eps", "1e100000", "--n", "2"],
    ["--mu", "1e100000", "--n", "2"],
    ["--eps", "1", "--n", "1e100000"],
    # output paths: a directory, a missing folder, a file as folder, unwritable, unknown format
    ["--eps", "0.1", "--n", "10", "--plot", "{tmp}"],
    ["--eps", "0.1", "--n", "10", "--plot", "{tmp}/missing/b.png"],
    ["--eps", "0.1", "--n", "10", "--plot", "{tmp}/afile/b.png"],
    ["--eps", "0.1", "--n", "10", "--plot", "/proc/mitheory-bounds.png"],
    ["--eps", "0.1", "--n", "10", "--plot", "{tmp}/b.xyz"],
    ["--eps", "1e400", "--n", "10", "--plot", "{tmp}/b.png"],
]

GAMES_BAD: list[list[str]] = [
    [],
    ["run"],
    ["run", "nope"],
    ["list", "extra"],
    ["run", "laplace-count", "--bogus"],
    ["run", "laplace-count", "--eps", "0"],
    ["run", "laplace-count", "--eps", "-1"],
    ["run", "laplace-count", "--eps", "inf"],
    ["run", "laplace-count", "--eps", "nan"],
    ["run", "laplace-count", "--eps", "1e400"],
    ["run", "laplace-count", "--eps", "abc"],
    ["run", "extremal", "--delta", "1"],
    ["run", "extremal", "--delta", "-0.1"],
    ["run", "extremal", "--delta", "nan"],
    ["run", "laplace-count", "--delta", "0.1"],
    ["run", "laplace-count", "--n", "x"],
    ["run", "laplace-count", "--n", "0"],
    ["run", "laplace-count", "--n", "-3"],
    ["run", "memorizer", "--n", "500"],
    ["run", "theorem1-counterexample", "--eps", "1"],
    ["run", "memorizer", "--eps", "1"],
    ["run", "laplace-count", "--rounds", "0"],
    ["run", "laplace-count", "--rounds", "-5"],
    ["run", "laplace-count", "--rounds", "1e6"],
    ["run", "laplace-count", "--rounds", "100000000000000"],
    ["run", "laplace-count", "--seed", "-1"],
    ["run", "laplace-count", "--n", "100000000"],
    ["run", "geometric-count", "--n", "1000000000000"],
    ["run", "extremal", "--n", "100000000"],
    ["run", "randomized-response", "--n", "1000000000000"],
]
