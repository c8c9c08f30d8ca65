"""``--scale quick|cpu|full``: the default follows the device, is said in one line, and is recorded."""

from __future__ import annotations

import json

import pytest

import paper_figs.__main__ as cli
from validation.configs import choose_scale, quick_scale


@pytest.fixture
def fake_figures(monkeypatch):
    """fig2d (has a CPU configuration) and fig2a (has none) replaced by stubs that record their arguments."""
    import paper_figs.fig2a
    import paper_figs.fig2d

    calls = {}

    def stub(name):
        def make(out_dir, *, quick=False, scale=None, device="auto", data_home=None, executor=None, seeds=None):
            calls[name] = {"quick": quick, "scale": scale}
            (out_dir / f"{name}.json").write_text(json.dumps({"figure": name}))
            return out_dir / f"{name}.json"
        return make

    monkeypatch.setattr(paper_figs.fig2d, "make", stub("fig2d"))
    monkeypatch.setattr(paper_figs.fig2a, "make", stub("fig2a"))
    return calls


def _scale_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": scale " in line]


def test_the_default_on_a_cpu_machine_is_cpu_said_once_and_recorded(fake_figures, tmp_path, capsys):
    pytest.importorskip("torch")
    assert cli.main(["fig2d", "fig2a", "--out", str(tmp_path), "--device", "cpu"]) == 0
    lines = _scale_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "scale cpu (the default without a CUDA device" in lines[0] and "fig2d" in lines[0]
    assert fake_figures["fig2d"]["scale"] == "cpu" and fake_figures["fig2a"]["scale"] == "cpu"
    assert json.loads((tmp_path / "fig2d.json").read_text())["scale"] == "cpu"
    assert json.loads((tmp_path / "fig2a.json").read_text())["scale"] == "full"  # it has no CPU configuration


@pytest.mark.parametrize("argv, scale", [(["--quick"], "quick"), (["--scale", "quick"], "quick"),
                                         (["--scale", "full"], "full")])
def test_an_asked_scale_runs_and_full_on_a_cpu_says_it_is_slow(fake_figures, tmp_path, capsys, argv, scale):
    pytest.importorskip("torch")
    assert cli.main(["fig2d", "--out", str(tmp_path), "--device", "cpu", *argv]) == 0
    (line,) = _scale_lines(capsys.readouterr().err)
    assert f"scale {scale} (asked for" in line
    assert ("many CPU-hours" in line) == (scale == "full")
    assert fake_figures["fig2d"] == {"quick": False, "scale": scale}
    assert json.loads((tmp_path / "fig2d.json").read_text())["run"]["quick"] == (scale == "quick")


@pytest.mark.parametrize("argv, message", [
    (["--scale", "huge"], "argument --scale: must be one of quick, cpu, full, got 'huge'"),
    (["--quick", "--scale", "full"], "argument --scale: not allowed with argument --quick"),
])
def test_a_bad_scale_is_one_line_and_status_2_before_any_work(fake_figures, tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        cli.main(["fig2d", "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and message in err and not fake_figures


def test_scale_in_the_library():
    assert choose_scale(None, "cpu") == ("cpu", "the default without a CUDA device")
    assert choose_scale(None, "cpu", has_cpu=False)[0] == "full"
    assert choose_scale("full", "cpu") == ("full", "asked for")
    assert quick_scale(True, None) == "quick" and quick_scale(False, "cpu") == "cpu"
    with pytest.raises(ValueError, match="contradicts"):
        quick_scale(True, "full")
    with pytest.raises(ValueError, match="must be one of"):
        choose_scale("tiny")
