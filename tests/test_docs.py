"""The API reference builds from the docstrings with warnings as errors (issue 22)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def test_the_api_reference_builds_without_a_warning(tmp_path):
    pytest.importorskip("sphinx", reason="Sphinx is the optional 'docs' extra (in 'test')")
    pytest.importorskip("numpydoc", reason="numpydoc is the optional 'docs' extra (in 'test')")
    src = tmp_path / "src"
    shutil.copytree(REPO_ROOT / "docs" / "api", src, ignore=shutil.ignore_patterns("generated", "_build"))
    out = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-c", str(REPO_ROOT / "docs" / "api"),
         str(src), str(tmp_path / "html")],
        capture_output=True, text=True, cwd=tmp_path, timeout=1200)
    assert out.returncode == 0, out.stderr[-4000:]
    pages = {p.stem for p in (tmp_path / "html" / "generated").glob("*.html")}
    for module in ("defenses.base", "defenses.neural.target", "defenses.neural.estimators", "mitheory.rng",
                   "mitheory.bounds", "validation.engine", "paper_figs.report"):
        assert module in pages
    target = (tmp_path / "html" / "generated" / "defenses.neural.target.html").read_text()
    assert "as_target" in target and "TargetNetwork" in target
