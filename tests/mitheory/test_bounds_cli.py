"""The ``python -m mitheory.bounds`` command: output, JSON schema, plots and every bad-input class."""

from __future__ import annotations

import json
import subprocess
import sys

import mpmath
import pytest
from mpmath import mp, mpf

from mitheory.bounds import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mitheory.bounds", *args], capture_output=True, text=True,
                          timeout=120)


JSON_KEYS = {"eps", "n", "delta", "paper_gain", "paper_gain_raw", "paper_vacuous", "paper_slack",
             "paper_advantage", "tight_gain", "tight_slack", "tight_advantage"}


def test_default_table_shows_both_bounds_slacks_and_ratio():
    res = run("--eps", "1", "--n", "2")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Theorem 2 (paper)" in out and "tight (f-DP)" in out
    assert "0.880797077978" in out and "0.816060279414" in out  # e²/(1+e²) and 1 − e^{−1}/2
    assert "0.119202922022" in out and "0.183939720586" in out  # slacks
    assert "advantage ratio paper / tight: 1.20482421481" in out


def test_vacuous_paper_bound_is_marked():
    res = run("--eps", "0.5", "--n", "100", "--delta", "1e-6")
    assert res.returncode == 0
    assert "VACUOUS" in res.stdout


def test_json_rows_for_every_pair_with_requested_digits(capsys):
    assert main(["--eps", "0.01,0.1,1", "--n", "10,100,1000", "--digits", "20", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 9
    assert {(r["eps"], r["n"]) for r in rows} == {(e, n) for e in ("0.01", "0.1", "1") for n in (10, 100, 1000)}
    for r in rows:
        assert JSON_KEYS <= r.keys()
        assert isinstance(r["paper_vacuous"], bool)
        assert len(r["tight_gain"].replace(".", "").lstrip("0").split("e")[0]) >= 20


def test_forty_digit_slacks_are_correct_to_thirty_digits(capsys):
    assert main(["--eps", "0.1", "--n", "1000", "--digits", "40", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    with mp.workdps(80):
        paper = 1 / (1 + mpmath.exp(100))
        tight = mpmath.exp(-50) / 2
        for got, want in ((row["paper_slack"], paper), (row["tight_slack"], tight)):
            assert abs(mpf(got) - want) <= mpf(10) ** -39 * want


def test_gdp_rows(capsys):
    assert main(["--mu", "0.1", "--n", "10", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["mu"] == "0.1" and row["n"] == 10
    assert row["gdp_gain"].startswith("0.69146246127")


def test_plot_writes_png(tmp_path):
    path = tmp_path / "bounds.png"
    assert main(["--eps", "0.01,1", "--n", "10,100", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_main_command_does_not_import_heavy_packages():
    code = ("import sys; from mitheory.bounds import main; main(['--eps','0.1','--n','1000']); "
            "print(sorted(m for m in ('torch','sklearn','sympy','numpy','scipy') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("args,message", [
    (["--eps", "0", "--n", "10"], "eps must be > 0"),
    (["--eps", "-0.5", "--n", "10"], "eps must be > 0"),
    (["--eps", "inf", "--n", "10"], "eps must be finite"),
    (["--eps", "nan", "--n", "10"], "eps must be finite"),
    (["--eps", "abc", "--n", "10"], "eps must be a number"),
    (["--eps", "0.1,", "--n", "10"], "comma-separated"),
    (["--eps", "0.1", "--n", "0"], "n must be an integer >= 1"),
    (["--eps", "0.1", "--n", "2.5"], "n must be an integer >= 1"),
    (["--eps", "0.1", "--n", "ten"], "n must be an integer >= 1"),
    (["--eps", "0.1", "--n", "10", "--delta", "1"], "delta must lie in [0, 1)"),
    (["--eps", "0.1", "--n", "10", "--delta=-1e-9"], "delta must lie in [0, 1)"),
    (["--mu", "0", "--n", "10"], "mu must be > 0"),
    (["--mu", "-1", "--n", "10"], "mu must be > 0"),
    (["--eps", "0.1", "--n", "10", "--digits", "4"], "digits must lie in 5..1000"),
    (["--eps", "0.1", "--n", "10", "--digits", "1001"], "digits must lie in 5..1000"),
    (["--eps", "0.1", "--n", "10", "--digits", "x"], "invalid int value"),
    (["--n", "10"], "give --eps"),
    (["--eps", "0.1"], "required: --n"),
])
def test_bad_input_exits_2_with_one_line_and_no_traceback(args, message):
    res = run(*args)
    assert res.returncode == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr
    assert "Traceback" not in res.stderr
