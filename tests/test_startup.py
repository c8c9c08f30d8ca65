"""What the command lines import before their first line of output (issue 24, item 7).

Start-up time itself is measured in ``benchmarks/startup.py`` (no timing asserts here); these tests keep
the heavy libraries that made it slow out of the import graph of the fast commands, in a fresh
interpreter each.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded_after(code: str) -> set[str]:
    res = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return set(res.stdout.split())


@pytest.mark.parametrize("code, absent", [
    # python -m mitheory.games: numpy and mpmath only (scipy.stats alone cost 6x their import)
    ("import mitheory.games_cli", ("scipy.stats", "scipy.special", "scipy.optimize", "sympy", "torch")),
    # python -m mitheory.bounds
    ("import mitheory.bounds", ("numpy", "scipy", "sympy", "torch")),
    # python -m validation --help / list: the registry, without pandas, scipy.stats or torch
    ("import validation.__main__", ("pandas", "scipy.stats", "sklearn", "torch")),
])
def test_fast_commands_import_no_heavy_library(code, absent):
    loaded = _loaded_after(code)
    assert not [m for m in absent if m in loaded]


def test_validation_help_and_list_run_without_pandas():
    code = ("import runpy, sys\nsys.argv = ['validation', 'list']\n"
            "try:\n    runpy.run_module('validation', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "assert 'pandas' not in sys.modules and 'scipy.stats' not in sys.modules")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "learners:" in res.stdout and "adassp" in res.stdout
