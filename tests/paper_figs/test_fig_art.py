"""``python -m paper_figs art`` end to end on a tiny configuration (schema, files, CLI)."""

from __future__ import annotations

import json

import pytest

import validation.interop as vi
import validation.neural as vn
from paper_figs.__main__ import main

TINY_FACES = vn.FacesConfig(image_size=16, epochs=1, patience=1, eval_epochs=1, attack_epochs=1, attack_ngf=4,
                            batch_size=40, dp_batch_size=40, n_seeds=1)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_art_figure_through_the_cli(tmp_path, data_home, monkeypatch, capsys):
    monkeypatch.setattr(vi, "miface_config", lambda quick: vi.MIFaceConfig(faces=TINY_FACES, max_iter=2, n_seeds=1))
    rc = main(["art", "--quick", "--out", str(tmp_path), "--device", "cpu", "--data-home", str(data_home)])
    assert rc == 0 and "art:" in capsys.readouterr().out
    doc = json.loads((tmp_path / "art.json").read_text())
    assert doc["figure"] == "art" and (tmp_path / "art.png").stat().st_size > 0
    assert [s["defense"] for s in doc["series"]] == ["undefended", "VIB", "DP-SGD"]
    for s in doc["series"]:
        p = s["points"][0]
        assert {"attack", "attack_ci", "attack_acc", "utility", "pixel_rmse_first", "runs"} <= set(p)
        assert 0 <= p["attack"] <= 1 and p["runs"] == 1
    assert "eps_rdp" in doc["series"][2]["points"][0]
    assert doc["baseline"]["chance"] == 1 / 40 and 0 <= doc["baseline"]["attack_prior"] <= 1
    # a rerun resumes from the store: same numbers
    main(["art", "--quick", "--out", str(tmp_path), "--device", "cpu", "--data-home", str(data_home)])
    assert json.loads((tmp_path / "art.json").read_text())["series"] == doc["series"]


def test_art_figure_bad_device_exits_2(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["art", "--out", str(tmp_path), "--device", "tpu"])
    assert exc.value.code == 2
