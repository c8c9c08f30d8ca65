"""The ``bounds`` and ``advantage`` figures: schema, numbers consistent with the bounds, PNG output."""

from __future__ import annotations

import json

import pytest

from mitheory.bounds import paper_bound, tight_bound
from paper_figs import advantage, bounds


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(bounds.CONFIGS, "quick", {"eps": (1.0,), "models": 8, "challenges": 20})
    monkeypatch.setattr(bounds, "NS", (10, 1000))
    monkeypatch.setitem(advantage.CONFIGS, "quick", {"eps": (10.0,), "splits": 2, "challenges": 100})


def test_bounds_figure(tmp_path, data_home, tiny):
    png = bounds.make(tmp_path, quick=True, data_home=data_home)
    assert png.read_bytes()[:4] == b"\x89PNG"
    doc = json.loads((tmp_path / "bounds.json").read_text())
    assert doc["figure"] == "bounds" and [p["n"] for p in doc["panels"]] == [10, 1000]
    small, large = doc["panels"]
    assert {s["learner"] for s in small["series"]} == {"adassp", "dp-id3"}
    assert {s["learner"] for s in large["series"]} == {"adassp"}  # the survey has only 331 rows
    for s in small["series"]:
        (pt,) = s["points"]
        assert pt["ci"][0] <= pt["estimate"] <= pt["ci"][1] and pt["verdict"] == "consistent"
        assert pt["tight_gain"] <= pt["paper_gain"]
    eps = small["curves"]["eps"][40]
    assert small["curves"]["tight (substitution)"][40] == pytest.approx(float(tight_bound(eps, 10).gain))
    assert small["curves"]["paper (add/remove)"][40] == pytest.approx(float(paper_bound(eps, 20).gain))
    useful = small["useful_eps"]["dp-id3"]
    assert float(tight_bound(useful["tight"], 20).gain) == pytest.approx(0.99)
    assert useful["paper"] < useful["tight"]
    # A rerun resumes from the stored per-model results and reproduces the numbers.
    bounds.make(tmp_path, quick=True, data_home=data_home)
    assert json.loads((tmp_path / "bounds.json").read_text()) == doc


def test_advantage_figure(tmp_path, data_home, tiny):
    png = advantage.make(tmp_path, quick=True, data_home=data_home)
    assert png.read_bytes()[:4] == b"\x89PNG"
    doc = json.loads((tmp_path / "advantage.json").read_text())
    assert [s["learner"] for s in doc["series"]] == ["adassp", "dp-id3"]
    for s in doc["series"]:
        (pt,) = s["points"]
        assert pt["adv_sem"] == pytest.approx(pt["gain_pp"][0] - pt["gain_qq"][0])
        assert pt["adv_corrected"] == pytest.approx(pt["gain_pp"][0] - pt["gain_qp"][0])
        assert pt["advantage_bound_tight"] <= pt["advantage_bound_paper"] <= 1


@pytest.mark.parametrize("args,message", [
    (["nope"], "unknown figure 'nope'"),
    (["fig1", "--device", "banana"], "device must be"),
])
def test_paper_figs_cli_bad_input(args, message, capsys):
    from paper_figs.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
