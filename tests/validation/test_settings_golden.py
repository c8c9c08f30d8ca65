"""The settings headers of every experiment's result store stay byte for byte what they were.

A store refuses to resume under another description (:class:`validation.store.ResultStore`), so a refactor
of the configurations (the shared training config, the defense registry) must leave every header as it was.
``data/settings_golden.json`` was written by :func:`headers` from the configurations before the shared
training config existed; each experiment runs here up to its call of ``run_sweep``, whose arguments (the
store's header) are captured and compared as JSON text, key order included.

Regenerate (only for an intended change of a store's identity): ``python -m tests.validation.test_settings_golden``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "data" / "settings_golden.json"


class _Captured(Exception):
    pass


def _header(module, run, monkeypatch=None) -> str:
    """Run ``run()`` until ``module.run_sweep`` is called; the JSON text of the header it would write."""
    seen = {}

    def capture(settings, n_splits, evaluate, store_path, experiment, *a, **k):
        identity = {key: v for key, v in experiment.items() if key != "n_seeds"}
        seen["header"] = json.dumps({"experiment": identity, "settings": [asdict(s) for s in settings],
                                     "store": Path(store_path).name, "n_splits": n_splits}, allow_nan=False)
        raise _Captured

    old = module.run_sweep
    module.run_sweep = capture
    try:
        run()
    except _Captured:
        pass
    finally:
        module.run_sweep = old
    return seen["header"]


def headers(tmp: Path, data_home) -> dict[str, str]:
    """Every experiment configuration's store header (quick, CPU and full where they exist)."""
    import validation.gmi as vg
    import validation.interop as vi
    import validation.linear as vl
    import validation.neural as vn
    import validation.tree as vt
    import validation.update_leaks as vu

    def gmi(config, quick):
        old = vg._train_artifacts
        vg._train_artifacts = lambda *a, **k: ({}, {"prior-0": {"sha256": "0" * 64}, "judge10-0": {"sha256": "1" * 64}})
        try:
            return _header(vg, lambda: vg.run_gmi_sweep(tmp, quick=quick, device="cpu", config=config, progress=False))
        finally:
            vg._train_artifacts = old

    out = {}
    for name, config, quick in (("QUICK", vn.QUICK, True), ("FULL", vn.FULL, False)):
        out[f"faces/{name}"] = _header(vn, lambda: vn.run_faces_sweep(tmp, quick=quick, device="cpu", config=config,
                                                                      data_home=data_home, progress=False))
    out["faces/default-quick"] = _header(vn, lambda: vn.run_faces_sweep(tmp, quick=True, device="cpu",
                                                                        data_home=data_home, progress=False))
    for name, config, quick in (("QUICK", vu.QUICK, True), ("CPU", vu.CPU, False), ("FULL", vu.FULL, False)):
        out[f"update_leaks/{name}"] = _header(vu, lambda: vu.run_update_leaks_sweep(
            tmp, quick=quick, device="cpu", config=config, data_home=data_home, progress=False))
    out["update_leaks/default-cpu"] = _header(vu, lambda: vu.run_update_leaks_sweep(
        tmp, quick=False, device="cpu", data_home=data_home, progress=False))
    for name, config, quick in (("QUICK", vg.QUICK, True), ("CPU", vg.CPU, False), ("FULL", vg.FULL, False)):
        out[f"gmi/{name}"] = gmi(config, quick)
    out["gmi/default-cpu"] = gmi(None, False)
    for name, config in (("QUICK", vt.QUICK), ("FULL", vt.FULL)):
        out[f"tree/{name}"] = _header(vt, lambda: vt.run_tree_sweep(tmp / "tree.json", config=config,
                                                                    data_home=data_home, progress=False))
    for name, grid in (("QUICK", vl.QUICK_GRID), ("FULL", vl.FULL_GRID)):
        out[f"linear/{name}"] = _header(vl, lambda: vl.run_linear_sweep(tmp / "linear.json", data_home=data_home,
                                                                        progress=False, **grid))
    for quick in (True, False):
        tag = "QUICK" if quick else "FULL"
        out[f"interop-faces/{tag}"] = _header(vi, lambda: vi.faces_table(tmp, quick=quick, device="cpu",
                                                                         data_home=data_home, progress=False))
        out[f"interop-miface/{tag}"] = _header(vi, lambda: vi.run_miface(tmp, quick=quick, device="cpu",
                                                                         data_home=data_home, progress=False))
    out.update(targets())
    return out


def _params(est) -> list:
    if est is None:
        return None
    if not hasattr(est, "get_params"):
        return repr(est)
    return [type(est).__name__, sorted((k, repr(v)) for k, v in est.get_params(deep=True).items())]


def targets() -> dict[str, str]:
    """What every setting of every configuration builds: the estimator and its parameters (and, for
    Update-Leaks, the release and the update step), as JSON text."""
    import numpy as np

    import validation.gmi as vg
    import validation.neural as vn
    import validation.tree as vt
    import validation.update_leaks as vu

    out = {}
    classes = np.arange(10)
    for mod, configs in ((vn, ("QUICK", "FULL")), (vu, ("QUICK", "CPU", "FULL")), (vg, ("QUICK", "CPU", "FULL"))):
        for name in configs:
            config = getattr(mod, name)
            rows = []
            for s in config.settings():
                if s.defense == "GAN-only":
                    continue
                row = [s.key, _params(mod.make_target(s, config, seed=7, device="cpu", classes=classes))]
                if mod is vu:
                    row += [_params(vu.make_release(s, 7)), _params(vu.make_private_update(s, config))]
                rows.append(row)
            out[f"targets/{mod.__name__}/{name}"] = json.dumps(rows)
    for name in ("QUICK", "FULL"):
        config = getattr(vt, name)
        out[f"targets/validation.tree/{name}"] = json.dumps(
            [[s.key, _params(vt.make_model(s, config, 3))] for s in config.settings()])
    return out


def test_every_store_header_is_unchanged(tmp_path, data_home):
    pytest.importorskip("torch")
    golden = json.loads(GOLDEN.read_text())
    now = headers(tmp_path, data_home)
    assert sorted(now) == sorted(golden)
    changed = [k for k in golden if now[k] != golden[k]]
    assert not changed, f"store headers changed (existing stores would not resume): {changed}"


if __name__ == "__main__":
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(headers(Path(tmp), os.environ.get("MID_DATA")), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
