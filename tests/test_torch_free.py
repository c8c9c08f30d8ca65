"""Everything but the neural parts works without PyTorch (issue 16, item 5).

Each check runs in a fresh interpreter whose import system refuses ``torch``, ``opacus`` and
``torchvision``, as on an installation without the ``neural`` extra.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


#: The modules that need torch; every other module of the four packages must import without it.
NEURAL = {"defenses.neural", "validation.neural", "validation.update_leaks", "validation.gmi",
          "paper_figs.fig1", "paper_figs.fig2c", "paper_figs.fig2d", "paper_figs.fig3a", "paper_figs.fig3b",
          "paper_figs.fig4a", "paper_figs.fig4b", "paper_figs.art"}
EXTRA = "pip install 'mid-toolkit[neural]'"

_BLOCK = textwrap.dedent("""
    import importlib.abc, sys
    class _NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in ("torch", "opacus", "torchvision"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, _NoTorch())
    import importlib.util
    _find_spec = importlib.util.find_spec
    def _absent(name, package=None):  # what find_spec answers on an installation without them
        if name.partition(".")[0] in ("torch", "opacus", "torchvision"):
            return None
        return _find_spec(name, package)
    importlib.util.find_spec = _absent
""")


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _BLOCK + textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=300)


def test_every_torch_free_module_imports_without_torch():
    res = _python(f"""
        import importlib, pkgutil
        neural = {sorted(NEURAL)!r}
        seen, failed = [], []
        for pkg in ("mitheory", "defenses", "validation", "paper_figs"):
            for info in pkgutil.walk_packages(importlib.import_module(pkg).__path__, pkg + "."):
                if any(info.name == m or info.name.startswith(m + ".") for m in neural):
                    continue
                seen.append(info.name)
                try:
                    importlib.import_module(info.name)
                except Exception as exc:
                    failed.append(f"{{info.name}}: {{exc!r}}")
        assert "torch" not in sys.modules, "a torch-free module imported torch"
        print(len(seen), "modules;", "; ".join(failed) or "none failed")
        assert not failed
    """)
    assert res.returncode == 0, res.stdout + res.stderr
    assert int(res.stdout.split()[0]) >= 40  # the walk saw the packages (not an empty loop)


def test_the_neural_package_names_the_extra_in_one_line():
    res = _python("""
        import defenses.neural
    """)
    assert res.returncode == 1 and res.stderr.strip().splitlines()[-1] == (
        f"defenses.MissingExtraError: defenses.neural needs PyTorch, which is not installed: {EXTRA}")


ENTRY_POINTS = [
    ("validation", ["ind", "--learner", "dp-sgd", "--eps", "1", "--n", "50", "--models", "4", "--store"]),
    ("validation", ["ind", "--learner", "vib", "--lam", "0.01", "--n", "50", "--models", "4", "--store"]),
    ("paper_figs", ["fig1", "--quick", "--out"]),
    ("paper_figs", ["fig2d", "fig4b", "--quick", "--out"]),
    ("paper_figs", ["art", "--quick", "--out"]),
    ("validation.interop", ["survey", "faces", "--quick", "--out"]),
    ("paper_figs", ["all", "--quick", "--out"]),
]


def test_the_main_command_runs_and_neural_entry_points_exit_2_naming_the_extra(tmp_path):
    """One interpreter runs ``mitheory.bounds`` and then each neural command line (``SystemExit`` caught)."""
    res = _python(f"""
        import contextlib, io, json, runpy
        sys.argv = ["mitheory.bounds", "--eps", "0.1", "--n", "1000"]
        try:
            runpy.run_module("mitheory.bounds", run_name="__main__")
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        outcomes = []
        for module, argv in {ENTRY_POINTS!r}:
            sys.argv = [module, *argv, {str(tmp_path / "out")!r}]
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                try:
                    runpy.run_module(module, run_name="__main__", alter_sys=True)
                except SystemExit as exc:
                    outcomes.append([exc.code, err.getvalue()])
        print(json.dumps(outcomes))
    """)
    assert res.returncode == 0, res.stderr
    assert "tight (f-DP)" in res.stdout and "9.64374923982e-23" in res.stdout
    outcomes = json.loads(res.stdout.strip().splitlines()[-1])
    assert len(outcomes) == len(ENTRY_POINTS)
    for code, err in outcomes:
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and EXTRA in lines[0], err
    assert not (tmp_path / "out").exists()  # refused before anything was computed or written
