"""The ``python -m mitheory.bounds`` command: output, JSON schema, plots, help, and every printed digit
against 120-digit references on a random grid (a few hundred cases here; the full 10,000-case grid is
the slow-marked test at the end)."""

from __future__ import annotations

import decimal
import json
import random
import re
import subprocess
import sys

import mpmath
import pytest
from mpmath import mp, mpf

from mitheory.bounds import _plot, gdp_bound, main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mitheory.bounds", *args], capture_output=True, text=True,
                          timeout=120)


JSON_KEYS = {"eps", "n", "delta", "paper_gain", "paper_gain_raw", "paper_vacuous", "paper_slack",
             "paper_advantage", "tight_gain", "tight_slack", "tight_advantage", "tight_vacuous",
             "advantage_ratio"}


def test_default_table_shows_both_bounds_slacks_and_ratio():
    res = run("--eps", "1", "--n", "2")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Theorem 2 (paper)" in out and "tight (f-DP)" in out
    assert "0.880797077978" in out and "0.816060279414" in out  # e²/(1+e²) and 1 − e^{−1}/2
    assert "0.119202922022" in out and "0.183939720586" in out  # slacks
    assert "advantage ratio paper / tight: 1.20482421481" in out
    assert "docs/theory.md" in out and "THEORY" not in out and "shared" not in out


def test_vacuous_paper_bound_is_marked():
    res = run("--eps", "0.5", "--n", "100", "--delta", "1e-6")
    assert res.returncode == 0
    assert "VACUOUS" in res.stdout


def test_singular_input_and_huge_eps_answer_quickly():
    res = run("--eps", "4", "--n", "2", "--delta", "0.5")  # the one exactly singular input: a traceback before
    assert res.returncode == 0, res.stderr
    assert "always win" in res.stdout and "VACUOUS" in res.stdout
    res = run("--eps", "1e1000", "--n", "10")  # hung before
    assert res.returncode == 0, res.stderr
    assert re.search(r"e-2171472409516259138255", res.stdout)  # e^-(5e1000)/2: the exponent's leading digits


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


@pytest.mark.parametrize("args", [["--eps", "1", "--n", "100000"], ["--eps", "1e-7", "--n", "3", "--digits", "40"],
                                  ["--eps", "0.5", "--n", "100", "--delta", "1e-6", "--digits", "5"],
                                  ["--mu", "1e-5", "--n", "7", "--digits", "30"]])
def test_table_columns_never_glue(args):
    res = run(*args)
    assert res.returncode == 0, res.stderr
    rows = [line for line in res.stdout.splitlines() if line.startswith(("  Theorem", "  tight", "  Phi"))]
    assert rows
    for line in rows:
        cells = _cells(line)
        assert len(cells) >= 4, line  # label, gain, slack, advantage (then any mark)
        for cell in cells[1:4]:
            decimal.Decimal(cell)  # each cell is one number


def test_json_rows_for_every_pair_with_requested_digits(capsys):
    assert main(["--eps", "0.01,0.1,1", "--n", "10,100,1000", "--digits", "20", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 9
    assert {(r["eps"], r["n"]) for r in rows} == {(e, n) for e in ("0.01", "0.1", "1") for n in (10, 100, 1000)}
    for r in rows:
        assert JSON_KEYS <= r.keys()
        assert isinstance(r["paper_vacuous"], bool)
        assert len(r["tight_gain"].replace(".", "").lstrip("0").split("e")[0]) == 20


def test_forty_digit_slacks_are_correct_to_forty_digits(capsys):
    assert main(["--eps", "0.1", "--n", "1000", "--digits", "40", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    with mp.workdps(80):
        paper = 1 / (1 + mpmath.exp(100))
        tight = mpmath.exp(-50) / 2
        for got, want in ((row["paper_slack"], paper), (row["tight_slack"], tight)):
            assert decimal.Decimal(got) == _round(want, 40)


def test_gdp_rows(capsys):
    assert main(["--mu", "0.1", "--n", "10", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["mu"] == "0.1" and row["n"] == 10
    assert row["gdp_gain"].startswith("0.69146246127")
    assert main(["--mu", "1e400", "--n", "10", "--json"]) == 0  # overflowed before
    assert json.loads(capsys.readouterr().out)["gdp_gain"] == "1.00000000000"


def test_plot_writes_png(tmp_path):
    path = tmp_path / "bounds.png"
    assert main(["--eps", "0.01,1", "--n", "10,100", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["bounds.png"]  # the temporary file is gone


def test_mu_plot_draws_the_gdp_bound_it_computed(tmp_path):
    curves = _plot(str(tmp_path / "gdp.png"), [], [mpmath_fraction("0.1")], [10, 30], mpmath_fraction("0"))
    assert set(curves) == {"Phi(n mu / 2), n = 10", "Phi(n mu / 2), n = 30"}  # no epsilon curves
    xs, ys = curves["Phi(n mu / 2), n = 10"]
    for x, y in zip(xs[::40], ys[::40]):
        assert y == float(gdp_bound(x, 10, digits=15).gain)
    assert main(["--mu", "0.1", "--n", "10", "--plot", str(tmp_path / "cli.png")]) == 0


def mpmath_fraction(text: str):
    from fractions import Fraction

    return Fraction(text)


def test_help_is_plain_text():
    res = run("--help")
    assert res.returncode == 0
    for markup in ("``", ":func:", ":class:", ".. math", "\\\\"):
        assert markup not in res.stdout


def test_main_command_does_not_import_heavy_packages():
    code = ("import sys; from mitheory.bounds import main; main(['--eps','0.1','--n','1000']); "
            "print(sorted(m for m in ('torch','sklearn','sympy','numpy','scipy','matplotlib') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip().splitlines()[-1] == "[]"


# --------------------------------------------------------------------------------------------------
# Every printed digit on a random grid, against references computed from the printed formulas at 200
# digits and checked to agree with a 240-digit evaluation to 120 digits (so each reference is good to
# at least 120 digits), rounded half-even by the decimal module.


def _round(value, digits: int) -> decimal.Decimal:
    ctx = decimal.Context(prec=digits, rounding=decimal.ROUND_HALF_EVEN, Emin=-10**17, Emax=10**17)
    return ctx.plus(decimal.Decimal(mpmath.nstr(value, 130, strip_zeros=False)))


_WIDE = decimal.Context(prec=2000, Emin=-10**17, Emax=10**17)


def _scientific(value, digits: int) -> tuple[decimal.Decimal, int]:
    """(mantissa in [1, 10), exponent) of the positive value rounded half-even to `digits` digits, through
    log10 at the current precision (decimal exponents beyond Decimal's range, e.g. -2e22, occur)."""
    lg = mpmath.log10(value)
    e = int(mpmath.floor(lg))
    m = _round(mpf(10) ** (lg - e), digits)
    return (m.scaleb(-1, context=_WIDE), e + 1) if m >= 10 else (m, e)


def _parse(text: str) -> tuple[decimal.Decimal, int]:
    mant, _, exp = text.partition("e")
    d = decimal.Decimal(mant)
    shift = d.adjusted()
    return d.scaleb(-shift, context=_WIDE), int(exp or 0) + shift


def _references(eps: str, n: int, delta: str) -> dict:
    """Paper: the formula as printed. Tight: THEORY's first closed form (subtractions, no expm1)."""
    e, d = mpf(eps), mpf(delta)
    E, En = mpmath.exp(e), mpmath.exp(n * e)
    raw = En / (En + 1) + (En - 1) * d / ((En + 1) * (E - 1))
    dn = d * (En - 1) / (E - 1)
    p_vac = dn >= 1
    m = n // 2
    x0 = mpf(1) / 2 if n % 2 == 0 else (1 - d) / (1 + E)
    alpha = mpmath.exp(-m * e) * x0 - d * (1 - mpmath.exp(-m * e)) / (E - 1)
    t_vac = alpha <= 0
    alpha = max(alpha, mpf(0))
    p_adv = mpf(1) if p_vac else 2 * raw - 1
    t_adv = 1 - 2 * alpha
    return {"paper_gain": min(raw, mpf(1)), "paper_gain_raw": raw, "paper_slack": 0 if p_vac else (1 - dn) / (1 + En),
            "paper_advantage": p_adv, "tight_gain": 1 - alpha, "tight_slack": alpha, "tight_advantage": t_adv,
            "advantage_ratio": p_adv / t_adv, "paper_vacuous": bool(p_vac), "tight_vacuous": bool(t_vac)}


def _gdp_references(mu: str, n: int) -> dict:
    x = n * mpf(mu) / 2
    return {"gdp_gain": mpmath.ncdf(x), "gdp_slack": mpmath.ncdf(-x), "gdp_advantage": mpmath.erf(x / mpmath.sqrt(2))}


def _stable(fn, *args) -> dict:
    extra = int(mpmath.log10(mpf(args[1]) * mpf(args[0]) + 1)) + 5 if len(args) == 3 else 5
    with mp.workdps(200 + extra):
        a = fn(*args)
    with mp.workdps(240 + extra):
        b = fn(*args)
    for k, v in a.items():
        if not isinstance(v, bool) and v != 0:
            with mp.workdps(240 + extra):
                assert abs(v - b[k]) <= mpf(10) ** -120 * abs(b[k]), (k, args)
    return b


def _random_grid(rng: random.Random, calls: int):
    """Yield (argv, [(kind, args)]) for `calls` CLI invocations, each a product of random lists."""
    for _ in range(calls):
        digits = rng.randint(5, 60)
        ns = sorted({int(10 ** rng.uniform(0, 9)) for _ in range(4)})
        if rng.random() < 0.2:
            mus = [f"{rng.uniform(1, 10):.4g}e{rng.randint(-8, 1)}" for _ in range(5)]
            yield (["--mu", ",".join(mus), "--n", ",".join(map(str, ns)), "--digits", str(digits)],
                   [("gdp", (m, n)) for m in mus for n in ns])
            continue
        eps = [f"{rng.uniform(1, 10):.3g}e{rng.randint(-6, 1)}" for _ in range(5)]
        deltas = ["0"] + [f"{rng.uniform(1, 10):.2g}e{rng.randint(-12, -2)}" for _ in range(2)]
        yield (["--eps", ",".join(eps), "--n", ",".join(map(str, ns)), "--delta", ",".join(deltas),
                "--digits", str(digits)], [("eps", (e, n, d)) for e in eps for n in ns for d in deltas])


def _check_grid(calls: int, seed: int, capsys) -> tuple[int, int]:
    """(rows, numbers) checked."""
    rng = random.Random(seed)
    checked = rows_checked = 0
    for argv, cases in _random_grid(rng, calls):
        digits = int(argv[-1])
        assert main([*argv, "--json"]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert len(rows) == len(cases)
        rows_checked += len(rows)
        for row, (kind, args) in zip(rows, cases):
            ref = _stable(_references if kind == "eps" else _gdp_references, *args)
            for key, want in ref.items():
                got = row[key]
                if isinstance(want, bool):
                    assert got is want, (argv, args, key)
                elif want == 0:
                    assert got == "0", (argv, args, key)
                else:
                    significant = got.split("e")[0].replace("-", "").replace(".", "").lstrip("0")
                    assert len(significant) == digits, (argv, args, key, got)
                    with mp.workdps(300):
                        assert _parse(got) == _scientific(want, digits), (argv, args, key, got)
                checked += 1
    return rows_checked, checked


def test_cli_output_correctly_rounded_on_a_random_grid(capsys):
    # 6 invocations of 60 (eps, n, delta) rows or 20 mu rows each: a few hundred rows, ~3000 numbers
    rows, numbers = _check_grid(6, seed=20260501, capsys=capsys)
    assert rows >= 200 and numbers > 2000


@pytest.mark.slow
def test_cli_output_correctly_rounded_on_the_full_grid(capsys):
    # the full grid, 10,000 rows and more: run with -m slow
    rows, numbers = _check_grid(200, seed=15, capsys=capsys)
    print(f"full grid: {rows} rows, {numbers} numbers, all correctly rounded")
    assert rows >= 10_000
