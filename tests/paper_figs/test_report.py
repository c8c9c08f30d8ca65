"""paper_figs.report on the JSON of a real ``python -m paper_figs all --quick`` run (tests/paper_figs/data/report):
every badge agrees with the interval shown beside it, every quick row is tagged, the deviations list every
stand-in dataset; and the command line's ``--seeds``."""

from __future__ import annotations

import html
import importlib
import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import paper_figs.__main__ as figs_cli
from paper_figs import FIGURES
from paper_figs._claims import EXACT, VERDICTS, agrees
from paper_figs.report import build_report, collect, interval_text

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "data" / "report"  # the JSON of a real `all --quick` run (PNGs left out)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "results"
    shutil.copytree(FIXTURES, out)
    data = collect(out)
    html_path, md_path = build_report(out)
    return out, data, html_path.read_text(), md_path.read_text()


def _docs() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in FIXTURES.glob("*.json")}


def _claim_rows(page: str, data: dict) -> list[tuple[str, dict]]:
    """The HTML of every claim row with its record, in the order shown (sentence by sentence)."""
    claims = page.split("<h2>Auditor")[0]
    rows = re.findall(r"<tr><td>\d+</td>.*?</tr>", claims, flags=re.S)
    records = [r for block in data["sentences"] for r in block["rows"]]
    assert len(rows) == len(records) == len(data["claims"])
    return list(zip(rows, records))


def test_every_claim_of_every_figure_has_a_verdict_and_a_rule(built):
    _, data, _, _ = built
    docs = _docs()
    with_claims = {name for name, module in FIGURES.items() if getattr(importlib.import_module(module), "CLAIMS", [])}
    assert set(docs) >= with_claims  # the fixture run covers every figure that states claims
    assert {r["figure"] for r in data["claims"]} == with_claims
    for row in data["claims"]:
        assert row["verdict"] in VERDICTS and row["quote"] and row["measurement"] and row["rule"], row
        assert "could not be evaluated" not in row["measurement"], row  # the JSON has what every claim needs
        assert row["command"].startswith("python -m paper_figs ")
        if row["kind"] != EXACT:  # what the row rests on
            assert row["runs"] >= 2 and row["unit"] in ("seeds", "splits") and row["redraws"], row


def test_every_badge_agrees_with_the_bold_interval_beside_it(built):
    _, data, page, _ = built
    for row, r in _claim_rows(page, data):
        assert agrees(r), r
        assert f">{r['verdict']}</span></td></tr>" in row  # the badge is the row's verdict
        bold = re.findall(r"<b class='ci'>(.*?)</b>", row)
        assert bold == ([html.escape(interval_text(r))] if r["ci"] is not None else []), (bold, r)
    # every row decided by an interval shows it, with its method
    for r in data["claims"]:
        if (r["test"] or {}).get("type") in ("directional", "existence", "equivalence", "signal"):
            assert r["ci"] is not None and r["ci_method"], r
    assert sum(r["ci"] is not None for r in data["claims"]) >= 10


def test_every_quick_row_is_tagged(built):
    _, data, page, md = built
    docs = _docs()
    quick = {name for name, doc in docs.items() if doc["settings"].get("quick")}
    assert quick >= {"fig2c", "fig3a", "fig4a", "fig4b", "fig2a", "fig2b"}  # settings.quick in every figure
    for row, r in _claim_rows(page, data):
        assert r["quick"] == (r["figure"] in quick and r["kind"] != EXACT)  # exact rows do not depend on it
        assert ("quick run" in row) == r["quick"], row
    assert md.count("**[quick run]**") == sum(r["quick"] for r in data["claims"])


def test_the_headline_splits_theory_from_empirical_rows(built):
    _, data, page, md = built
    theory = [r for r in data["claims"] if r["kind"] == EXACT]
    assert {r["figure"] for r in theory} == {"theory", "bounds"}
    assert f"Theory, computed exactly ({len(theory)} rows)" in page
    assert f"Empirical, over seeds or splits ({len(data['claims']) - len(theory)} rows)" in page
    assert md.splitlines()[2].startswith(f"Theory, computed exactly: {len(theory)} rows")


def test_one_block_per_sentence_with_its_rows(built):
    _, data, page, md = built
    glance = page.split("<h2>At a glance</h2>")[1].split("</table>")[0]
    assert glance.count("<tr><td>") == len(data["sentences"]) and glance.count("class='badge'") == len(data["claims"])
    quotes = [r["quote"] for r in data["claims"]]
    assert [b["quote"] for b in data["sentences"]] == list(dict.fromkeys(quotes))
    consistent = next(b for b in data["sentences"] if b["quote"].startswith("Figure 2 shows that MID can consistently"))
    assert {r["figure"] for r in consistent["rows"]} == {"fig2a", "fig2b", "fig2b_affairs", "fig2c", "fig2d"}
    assert page.count("<p class='quote'>") == len(data["sentences"])


def test_the_deviations_section_lists_every_stand_in_dataset_and_the_threat_model(built):
    _, data, page, md = built
    section = page.split("id='deviations'")[1].split("<h2")[0]
    docs = _docs()
    stand_ins = {name: doc["dataset"] for name, doc in docs.items()
                 if any(e["aspect"] == "dataset" and e["paper"] != e["here"] for e in doc.get("deviations", []))}
    assert {"fig2c", "fig2d", "fig3a", "fig3b", "fig4a", "fig4b"} <= set(stand_ins)  # faces, MNIST/digits
    for name, dataset in stand_ins.items():
        assert html.escape(dataset) in section, name
    for name, doc in docs.items():
        for entry in doc.get("deviations", []):
            assert html.escape(entry["here"]) in section and html.escape(entry["aspect"]) in section
    assert "attacker&#x27;s knowledge" in section and "roles" in section and "bins" in section
    assert "FaceScrub" in section and "CIFAR-10" in section and "CelebA" in section
    assert "Deviations from the paper and limits of the threat model" in md


def test_every_interval_in_the_figure_json_names_its_method():
    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if (key == "ci" or key.endswith("_ci")) and isinstance(value, list):
                    assert isinstance(node.get(f"{key}_method"), str) and node[f"{key}_method"], f"{where}.{key}"
                walk(value, f"{where}.{key}")
            for metric in node.get("trials") or {}:  # counted proportions: never a zero-width interval
                lo, hi = node[f"{metric}_ci"]
                assert hi > lo, f"{where}.{metric}_ci has zero width"
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    for name, doc in _docs().items():
        walk({k: v for k, v in doc.items() if k not in ("run", "claims")}, name)


def test_theory_verdicts_are_the_exact_ones(built):
    rows = {r["id"]: r for r in built[1]["claims"]}
    assert rows["theorem1"]["verdict"] == "refuted" and "Adv^SEM = 4/9" in rows["theorem1"]["measurement"]
    assert rows["theorem2-tight"]["verdict"] == "refuted" and "0.8808 vs 0.8161" in rows["theorem2-tight"]["measurement"]
    assert rows["o-1-over-n"]["verdict"] == "reproduced"
    assert rows["gamma"]["verdict"] == "not needed"  # an assumption the bound does not need


def test_the_auditors_table_lists_eps_lower_next_to_the_declared_eps(built):
    audit = built[1]["audit"]
    assert audit and all(a["eps_lower"] <= a["eps"] and not a["flag"] and a["ci_method"] for a in audit)


def test_report_rebuilds_without_recomputing_through_the_cli(tmp_path):
    out = tmp_path / "results"
    shutil.copytree(FIXTURES, out)
    r = subprocess.run([sys.executable, "-m", "paper_figs", "report", "--out", str(out)], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    assert not (out / "fig2a.quick.runs.json").exists()  # nothing was computed


def test_a_missing_figure_is_not_measured_and_a_broken_one_is_refused(tmp_path):
    out = tmp_path / "results"
    shutil.copytree(FIXTURES, out)
    (out / "fig2a.json").unlink()
    rows = [r for r in collect(out)["claims"] if r["figure"] == "fig2a"]
    assert rows and all(r["verdict"] == "not measured" and "not run" in r["measurement"] for r in rows)
    (out / "fig2b.json").write_text("{not json")
    with pytest.raises(ValueError, match="fig2b.json is not a figure document"):
        collect(out)


def test_every_figure_takes_seeds():
    for name, module in FIGURES.items():
        make = importlib.import_module(module).make
        assert inspect.signature(make).parameters["seeds"].default is None, name


@pytest.mark.parametrize("argv, message", [
    (["fig2a", "--seeds", "1"], "--seeds: must be an integer >= 2"),
    (["fig2a", "--seeds", "x"], "--seeds: must be an integer >= 2, got 'x'"),
    (["fig2a", "--seeds", "-3"], "--seeds: must be an integer >= 2"),
    (["theory", "bounds", "--seeds", "5"], "--seeds does not apply to theory, bounds"),
    (["report", "--seeds", "5"], "--seeds applies to the figures"),
])
def test_bad_seeds_exit_2_with_one_line_before_any_work(argv, message, tmp_path, monkeypatch, capsys):
    def refuse(*_, **__):
        pytest.fail("work started before the bad --seeds was refused")

    monkeypatch.setattr(figs_cli, "executor_from_args", refuse)
    with pytest.raises(SystemExit) as info:
        figs_cli.main([*argv, "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and err.count("\n") == 0 and message in err and "Traceback" not in err


def test_a_badge_that_contradicts_its_own_interval_stops_the_report(tmp_path, monkeypatch):
    import paper_figs.fig2a as fig2a
    from paper_figs._claims import claim, verdict

    out = tmp_path / "results"
    shutil.copytree(FIXTURES, out)
    wrong = verdict("a gap", "reproduced", rule="r", ci=[0.01, 0.05],
                    test={"type": "directional", "sign": -1, "threshold": 0.0, "effect": 0.05})
    monkeypatch.setattr(fig2a, "CLAIMS", [claim("bad", "fig2a", "q", lambda doc: wrong)])
    with pytest.raises(ValueError, match="disagrees with its interval"):
        collect(out)
