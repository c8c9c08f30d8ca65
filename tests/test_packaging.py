"""Packaging: one version everywhere, --version on every command, the console scripts, py.typed (issue 22)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import defenses
import mitheory
import paper_figs
import validation
from tests.conftest import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
SCRIPTS = PYPROJECT["project"]["scripts"]
VERSION = mitheory.__version__


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)


def test_one_version_for_every_package():
    assert VERSION.count(".") == 2 and all(part.isdigit() for part in VERSION.split("."))
    assert defenses.__version__ == validation.__version__ == paper_figs.__version__ == VERSION
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mitheory._version.__version__"}


@pytest.mark.parametrize("module", ["mitheory.bounds", "mitheory.games", "validation", "validation.interop",
                                    "paper_figs"])
def test_python_m_commands_print_their_version(module):
    out = _run([sys.executable, "-m", module, "--version"])
    assert out.returncode == 0 and out.stdout.strip() == f"python -m {module} {VERSION} (mid-toolkit)", out.stderr


def test_the_console_scripts_run_their_commands_under_their_own_name():
    assert set(SCRIPTS) == {"mid-bounds", "mid-games", "mid-validate", "mid-figs"}
    for name, target in SCRIPTS.items():
        module, func = target.split(":")
        # what the generated script does: call the entry point with sys.argv[0] set to the script's path
        code = f"import sys; sys.argv[0] = '/somewhere/bin/{name}'; from {module} import {func}; sys.exit({func}())"
        out = _run([sys.executable, "-c", code, "--version"])
        assert out.returncode == 0 and out.stdout.strip() == f"{name} {VERSION} (mid-toolkit)", out.stderr
    # the generated scripts themselves, where this environment has them installed (a clean CI install puts
    # them beside its interpreter)
    for name in SCRIPTS:
        script = Path(sys.executable).parent / name
        if script.is_file():
            out = _run([str(script), "--version"])
            assert out.returncode == 0 and out.stdout.strip() == f"{name} {VERSION} (mid-toolkit)", out.stderr


def test_errors_name_the_command_as_it_was_called():
    code = "import sys; sys.argv[0] = 'mid-bounds'; from mitheory.bounds import main; sys.exit(main())"
    out = _run([sys.executable, "-c", code, "--n", "10", "--eps", "nope"])
    assert out.returncode == 2 and out.stderr.startswith("mid-bounds: error:")


def test_every_package_is_typed():
    for package in ("mitheory", "defenses", "validation", "paper_figs"):
        assert (REPO_ROOT / package / "py.typed").is_file()
    assert PYPROJECT["tool"]["setuptools"]["package-data"]["*"] == ["py.typed"]
