"""Edges of every command line and of the APIs behind them (issue 23): one class of bad or unusual input per
section, each driven through a real command in a subprocess (exit status, one line, no traceback, before any
work — timed loosely: a refusal that trained anything would take far longer than the limit) and, for the rest
of its cases, in-process.

Classes: values checked against the limits of the learner or mechanism that will use them; output paths
(dangling links, link loops, names over 255 bytes, paths over PATH_MAX); silent statistics (one split, [0, 1]
intervals, exact game values at tiny eps); sizes and progress; parsing and the shell (one number parser for
every command, ``| head -1``, ``COLUMNS``); misleading API messages.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import paper_figs.__main__ as figs_cli
import validation.__main__ as val_cli
import validation.interop as interop_cli
from mitheory.bounds import main as bounds_main
from mitheory.cli import (
    ParamError,
    Progress,
    check_size,
    heartbeat,
    parse_count,
    parse_real,
    probe_output_dir,
    probe_output_file,
    terminal_columns,
    to_float,
)
from mitheory.games_cli import main as games_main
from tests.test_cli_bad_inputs import _reached, _refused

REPO = Path(__file__).resolve().parents[1]
#: Loose wall-clock limit of a refusal in a fresh interpreter (imports only; no unit may run).
REFUSAL_SECONDS = 90


def _run(*argv: str, env: dict | None = None, shell: str | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, **(env or {})}
    start = time.monotonic()
    if shell is not None:
        res = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, cwd=REPO, env=environ,
                             timeout=REFUSAL_SECONDS)
    else:
        res = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, cwd=REPO, env=environ,
                             timeout=REFUSAL_SECONDS)
    res.seconds = time.monotonic() - start
    return res


def _one_line_exit_2(res: subprocess.CompletedProcess, *words: str) -> str:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def no_work(monkeypatch):
    """Any executor start (the first step of work) is a test failure."""
    monkeypatch.setattr(val_cli, "executor_from_args", _reached)
    monkeypatch.setattr(figs_cli, "executor_from_args", _reached)
    monkeypatch.setattr(interop_cli, "executor_from_args", _reached)


IND = ["ind", "--n", "50", "--models", "4"]

# ------------------------------------------------------------------------ values checked against the limits


def test_a_value_beyond_the_learners_limit_is_refused_by_the_command_before_any_unit(tmp_path):
    res = _run("validation", *IND, "--learner", "adassp", "--eps", "1e9", "--store", str(tmp_path / "s.json"))
    _one_line_exit_2(res, "--eps", "adassp", "1e+08")
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("argv, words", [
    (IND + ["--learner", "adassp", "--eps", "1e9"], ("--eps", "<= 1e+08")),
    (IND + ["--learner", "dp-id3", "--eps", "1e-320"], ("--eps", "smallest normal double")),
    (IND + ["--learner", "dp-id3", "--eps", "1e-300"], ("--eps", "dp-id3", ">= 1.2e-299")),
    (["sem", "--learner", "mid-linear", "--lam", "1e308", "--splits", "2"], ("--lam", "<= 1e+150")),
    (["sem", "--learner", "mid-id3", "--lam", "1e308", "--splits", "2"], ("--lam", "<= 1e+300")),
    (IND + ["--learner", "vib", "--lam", "1e308"], ("--lam", "float32")),
    (["ind", "--learner", "dp-sgd", "--eps", "1", "--n", "5", "--models", "4"], ("--n", ">= 32", "batch")),
])
def test_learner_limits_are_checked_before_any_unit(capsys, no_work, tmp_path, argv, words):
    _refused(val_cli.main, argv + ["--store", str(tmp_path / "s.json")], capsys, *words)


def test_the_limits_are_the_models_own():
    """Each refusal above is what the model itself would raise: at the limit it fits, beyond it refuses."""
    from defenses.linear import MIDLinearRegression
    from defenses.linear.mid import MAX_LAMBDA as LINEAR_MAX
    from defenses.tree import DPID3Classifier, ID3Classifier
    from defenses.tree.dp import MIN_EPSILON_PER_QUERY
    from defenses.tree.id3 import MAX_LAMBDA as TREE_MAX

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    assert np.isfinite(MIDLinearRegression(mid_lambda=LINEAR_MAX).fit(X, y).predict(X)).all()
    with pytest.raises(ValueError, match="mid_lambda must be <= 1e\\+150"):
        MIDLinearRegression(mid_lambda=LINEAR_MAX * 10).fit(X, y)
    C = rng.integers(0, 3, size=(60, 2)).astype(str)
    labels = rng.integers(0, 2, size=60)
    ID3Classifier(mid_lambda=TREE_MAX, max_depth=2).fit(C, labels)
    with pytest.raises(ValueError, match="mid_lambda must be <= 1e\\+300"):
        ID3Classifier(mid_lambda=TREE_MAX * 10).fit(C, labels)
    smallest = 2 * (2 + 1) * MIN_EPSILON_PER_QUERY
    public = {"categories": [["0", "1", "2"]] * 2, "classes": [0, 1]}
    assert np.isfinite(DPID3Classifier(epsilon=smallest, max_depth=2, random_state=0, **public).fit(C, labels)
                       .predict_proba(C)).all()
    with pytest.raises(ValueError, match="epsilon must be >= 6e-300 at max_depth=2"):
        DPID3Classifier(epsilon=smallest / 2, max_depth=2, **public).fit(C, labels)


def test_missing_face_data_is_refused_before_the_face_table_starts(tmp_path, no_data):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = _run("validation.interop", "faces", "--quick", "--data-home", str(empty), "--out", str(tmp_path / "o"),
               env={"MID_DATA_URL": (tmp_path / "no-mirror").as_uri(), "MID_DATA": "",  # "" is not searched
                    "XDG_CACHE_HOME": str(tmp_path / "cache")})
    _one_line_exit_2(res, "olivetti", "not found")


def test_image_learners_align_probe_outputs_by_class_label():
    """A model that never saw some digits (a small n) gives zeros in their columns: every model's probe has
    one probability per digit of the whole label set, in label order (they were shorter and misaligned)."""
    pytest.importorskip("torch")
    from defenses.datasets import load_digits
    from mitheory.distributions import Records
    from validation.learners import build_learner

    target = load_digits().target
    learner, _ = build_learner("cnn", neural_epochs=1)
    few = np.flatnonzero(np.isin(target, (3, 7)))[:8]
    model = learner.fit(Records(np.zeros((8, 0)), few, target[few]), np.random.default_rng(0))
    assert list(model.classes_) == [3, 7]
    probe = Records(np.zeros((5, 0)), np.arange(5), target[:5])
    out = learner.probe(model, probe).reshape(5, 10)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(out[:, [0, 1, 2, 4, 5, 6, 8, 9]] == 0.0)
    np.testing.assert_allclose(out[:, [3, 7]], model.predict_proba(load_digits().data[:5]), atol=1e-6)


# ------------------------------------------------------------------------------------------------ paths


@pytest.fixture
def links(tmp_path):
    (tmp_path / "dangling.json").symlink_to(tmp_path / "nowhere" / "x.json")
    (tmp_path / "dangling-dir").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    return tmp_path


def _long_component(tmp_path: Path) -> Path:
    return tmp_path / ("x" * 256 + ".json")


def _over_path_max(tmp_path: Path) -> Path:
    return tmp_path.joinpath(*["y" * 200] * 25, "s.json")  # > 4096 bytes, every component legal


def test_unusable_output_paths_are_refused_by_the_command_in_one_line(links):
    res = _run("validation", *IND, "--learner", "dp-id3", "--eps", "1", "--store", str(links / "dangling.json"))
    _one_line_exit_2(res, "--store", "dangling symbolic link")
    assert res.seconds < REFUSAL_SECONDS


@pytest.mark.parametrize("where, words", [
    ("dangling.json", ("dangling symbolic link",)),
    ("loop-a", ("symbolic-link loop",)),
    ("LONG", ("too long",)),
    ("PATHMAX", ("too long",)),
])
def test_store_paths_no_file_can_have(capsys, no_work, links, where, words):
    path = {"LONG": _long_component(links), "PATHMAX": _over_path_max(links)}.get(where, links / where)
    line = _refused(val_cli.main, IND + ["--learner", "dp-id3", "--eps", "1", "--store", str(path)], capsys,
                    "--store", *words)
    assert len(line) < 400  # a very long path is elided in the message
    assert sorted(p.name for p in links.iterdir()) == ["dangling-dir", "dangling.json", "loop-a", "loop-b"]


@pytest.mark.parametrize("where, words", [
    ("dangling-dir", ("dangling symbolic link",)),
    ("loop-a", ("symbolic-link loop",)),
    ("LONG", ("too long",)),
    ("PATHMAX", ("too long",)),
])
def test_output_directories_no_file_can_be_written_in(capsys, no_work, links, where, words):
    path = {"LONG": _long_component(links), "PATHMAX": _over_path_max(links)}.get(where, links / where)
    _refused(figs_cli.main, ["fig2b", "--quick", "--out", str(path)], capsys, "--out", *words)
    _refused(interop_cli.main, ["survey", "--splits", "2", "--out", str(path)], capsys, "--out", *words)


@pytest.mark.parametrize("where", ["dangling.png", "loop.png", "LONG", "PATHMAX"])
def test_plot_paths_no_file_can_have(capsys, links, where):
    (links / "dangling.png").symlink_to(links / "nowhere" / "x.png")
    (links / "loop.png").symlink_to(links / "loop.png")
    path = {"LONG": links / ("x" * 256 + ".png"), "PATHMAX": _over_path_max(links).with_suffix(".png")}.get(
        where, links / where)
    with pytest.raises(SystemExit) as info:
        bounds_main(["--eps", "1", "--n", "2", "--plot", str(path)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1 and "--plot" in err, err


def test_a_probe_leaves_nothing_behind_and_accepts_what_can_be_written(tmp_path):
    probe_output_file(tmp_path / "a" / "b" / "c.json", "--store")  # missing folders are created, then removed
    probe_output_dir(tmp_path / "new" / "dir", "--out", longest_name="fig2b_reconstructions.png")
    (tmp_path / "existing.json").write_text("{}")
    probe_output_file(tmp_path / "existing.json", "--store")  # an existing file is left alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.json"]
    assert (tmp_path / "existing.json").read_text() == "{}"
    name = "x" * 250  # the name fits (<= 255 bytes); its atomic writer's temporary, .NAME.XXXXXXXX.tmp, does not
    with pytest.raises(ParamError, match="too long"):
        probe_output_file(tmp_path / name, "--store")


# ------------------------------------------------------------------------------------------ statistics


def test_one_split_prints_no_interval(capsys):
    doc = {"n_splits": 1, "metric": "F1", "attacks": {"a": "attack a"},
           "series": [{"defense": "ID3", "knob": None, "points": [
               {"knob": None, "utility": 0.5, "utility_ci": [0.5, 0.5], "a_train_f1": 0.3, "a_train_f1_ci": [0.3, 0.3],
                "a_test_f1": 0.2, "a_test_f1_ci": [0.2, 0.2], "agree_art_counts_train": 1.0,
                "agree_art_counts_test": 1.0}]}]}
    text = interop_cli._format_survey(interop_cli._one_split(doc))
    assert text.count("[n/a (1 split)]") == 2 and "0.300 [0.300" not in text
    assert doc["series"][0]["points"][0]["a_train_f1_ci"] is None


def test_intervals_of_proportions_stay_inside_the_unit_interval_and_never_collapse():
    """The semantic game's intervals (sem --n 1 reached 1.0878 with a t-interval)."""
    from mitheory.stats import clustered_mean_ci

    for values in ([1.0, 1.0, 0.2], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.9, 1.0], [0.5, 0.52, 0.48, 0.5]):
        m, lo, hi = clustered_mean_ci(values, 50)
        assert 0.0 <= lo < m < hi <= 1.0 or (0.0 <= lo < hi <= 1.0 and lo <= m <= hi), (values, lo, m, hi)
        assert hi - lo > 0
    m, lo, hi = clustered_mean_ci([0.9, -0.4, 1.0], 100, low=-1.0)
    assert -1.0 <= lo < m < hi <= 1.0
    assert clustered_mean_ci([0.4], 10) is None  # one split: no interval


def test_sem_with_one_training_record_gives_intervals_inside_the_unit_interval(tmp_path, capsys):
    assert val_cli.main(["sem", "--learner", "id3", "--n", "1", "--splits", "3", "--challenges", "20", "--json",
                         "--store", str(tmp_path / "s.json")]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("gain_pp", "gain_qq", "gain_qp"):
        m, lo, hi = report[key]
        assert 0.0 <= lo <= m <= hi <= 1.0 and hi > lo, (key, report[key])
    for key in ("adv_sem", "adv_corrected"):
        m, lo, hi = report[key]
        assert -1.0 <= lo <= m <= hi <= 1.0 and hi > lo, (key, report[key])
    assert "wilson" in report["ci_method"]


@pytest.mark.parametrize("scenario", ["randomized-response", "geometric-count", "laplace-count", "extremal"])
def test_exact_game_values_are_right_down_to_eps_1e_300(scenario):
    """The IND total variation of an eps-DP mechanism is c * eps + O(eps^2) as eps -> 0: the exact values at
    1e-300 and 1e-100 must show the same c (they printed 0 before the working precision followed eps)."""
    from mitheory.scenarios import build_scenario

    ratios = []
    for k in (300, 100):
        eps = Fraction(1, 10**k)
        tv = build_scenario(scenario, 10, eps)["game"].ind.exact(digits=15).tv
        ratios.append(float(tv * 10**k))
    assert ratios[0] > 0.1 and ratios[0] == pytest.approx(ratios[1], rel=1e-12)


def test_the_games_command_prints_the_tiny_advantage(capsys):
    assert games_main(["run", "laplace-count", "--eps", "1e-300", "--rounds", "1000"]) == 0
    out = capsys.readouterr().out
    assert "2 max gain - 1 = 1.25e-300" in out and "Adv^SEM = 6.25e-301" in out


def test_large_eps_is_refused_where_the_real_valued_mechanisms_stop_being_right(capsys):
    assert games_main(["run", "laplace-count", "--eps", "51"]) == 2
    assert "epsilon must be <= 50" in capsys.readouterr().err
    assert games_main(["run", "randomized-response", "--eps", "1000", "--rounds", "1000", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)  # sampled without overflow; exact inside the simulation's CI
    assert res["ci_low"] <= res["exact"] <= res["ci_high"]


# ----------------------------------------------------------------------------------- sizes and progress


def test_counts_that_cannot_finish_are_refused_with_the_estimate():
    res = _run("validation.interop", "survey", "--splits", "1e11", "--out", "/tmp/mid-never-written")
    line = _one_line_exit_2(res, "--splits 100000000000", "would take at least", "years", "use --splits <=")
    assert not Path("/tmp/mid-never-written").exists(), line
    res = _run("mitheory.games", "run", "laplace-count", "--n", "1e8")  # the README's example
    _one_line_exit_2(res, "--n 100000000", "would take about", "use --n <=")


def test_size_estimates_name_memory_and_time():
    with pytest.raises(ParamError, match=r"--models 10000: 10000 models would take at least 116 days"):
        check_size("--models", 10_000, "10000 models", seconds_each=1000.0)
    with pytest.raises(ParamError, match=r"of memory, more than this machine's"):
        check_size("--n", 10**15, "records", bytes_each=24)
    check_size("--n", 1000, "records", bytes_each=24, seconds_each=1e-3)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_off_a_terminal_prints_a_line_every_few_seconds(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr("mitheory.cli._now", clock)
    out = io.StringIO()  # not a terminal
    with Progress(100, desc="sem id3", unit="unit", file=out) as bar:
        for _ in range(100):
            clock.now += 0.3  # 30 s of work in all
            bar.update(1)
    lines = out.getvalue().splitlines()
    assert 5 <= len(lines) <= 7 and all(line.startswith("sem id3: ") for line in lines)
    assert "about" in lines[0] and "left" in lines[0] and lines[-1].startswith("sem id3: 100/100 unit (100%)")
    quiet = io.StringIO()
    with Progress(3, desc="fast", file=quiet) as bar:
        bar.update(3)
    assert quiet.getvalue() == ""  # under the interval: nothing to say


def test_heartbeat_reports_a_computation_without_a_loop():
    out = io.StringIO()
    with heartbeat("games run extremal", estimate_s=600, file=out, interval=0.05):
        time.sleep(0.3)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and all("elapsed (estimated 10 min in all)" in line for line in lines)


def test_the_engine_reports_progress_in_lines_when_stderr_is_not_a_terminal(monkeypatch, capfd):
    from validation.engine import Unit, run_units

    monkeypatch.setattr("mitheory.cli.LINE_INTERVAL", 0.01)

    def slow(unit):
        time.sleep(0.03)
        return {"x": 1.0}

    report = run_units([Unit("t", None, j) for j in range(4)], slow, None, progress=True, desc="sem demo")
    assert len(report.results) == 4
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) >= 3 and all(line.startswith("sem demo: ") and "\r" not in line for line in lines), lines


# ----------------------------------------------------------------------------------- parsing and the shell

#: Inputs and the value every command reads from them (None: refused by every command).
NUMBERS = [("1_000", 1000), ("1e3", 1000), ("1000", 1000), ("\u0661\u0660\u0660\u0660", None),
           ("\uff11\uff10", None), ("0x3e8", None), ("inf", None), ("nan", None), ("1__000", None), ("_1000", None)]


@pytest.mark.parametrize("text, value", NUMBERS)
def test_one_number_parser_for_every_command(capsys, tmp_path, no_work, monkeypatch, text, value):
    """The same rules for _, Unicode digits, 0x, inf and nan in bounds, games, validation and paper_figs."""
    if value is None:
        with pytest.raises(ParamError):
            parse_real(text)
    else:
        assert parse_count(text) == value
    monkeypatch.setattr(val_cli, "table_rows", _reached)
    codes = {
        "bounds": _code(bounds_main, ["--eps", "1", "--n", text]),
        "games": _code(games_main, ["run", "laplace-count", "--n", text, "--rounds", "10"]),
        "validation": _code(val_cli.main, ["ind", "--learner", "dp-id3", "--eps", "1", "--n", "50", "--models", text,
                                           "--store", str(tmp_path / "s.json")]),
        "paper_figs": _code(figs_cli.main, ["bounds", "--threads", text, "--out", str(tmp_path / "o")]),
    }
    err = capsys.readouterr().err
    if value is None:
        assert set(codes.values()) == {2} and "Traceback" not in err, (codes, err)
    else:  # accepted: each command goes on to its work (stopped by no_work where it is not cheap)
        assert codes == {"bounds": 0, "games": 0, "validation": "work", "paper_figs": "work"}, (codes, err)


def _code(main, argv):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = main(argv)
    except SystemExit as exc:
        code = exc.code
    except pytest.fail.Exception:
        return "work"
    return code


@pytest.mark.parametrize("text, reason", [("\u0661\u0660", "ASCII digits"), ("\uff11\uff10", "ASCII digits"),
                                          ("0x3e8", "hexadecimal"), ("0b11", "hexadecimal, octal and binary"),
                                          ("inf", "finite"), ("-nan", "finite"), ("1__0", "must be a number"),
                                          ("1e100001", "exponent within")])
def test_each_refusal_says_why(text, reason):
    with pytest.raises(ParamError, match=reason):
        parse_real(text)


def test_exact_decimals_reach_the_learners_as_the_nearest_double():
    assert parse_real("0.1") == Fraction(1, 10) and to_float(parse_real("0.1"), "--eps") == 0.1
    assert parse_real("1/3") == Fraction(1, 3)
    with pytest.raises(ParamError, match="below the smallest normal double"):
        to_float(parse_real("1e-320"), "--eps")
    with pytest.raises(ParamError, match="exceeds the largest double"):
        to_float(parse_real("2e308"), "--lam")


@pytest.mark.parametrize("command", [
    "python -m mitheory.bounds --eps 0.1,1 --n $(seq -s, 1 400) --digits 100 --json | head -1",
    "python -m mitheory.games list | head -1",
    "python -m validation list | head -1",
])
def test_a_reader_that_goes_away_ends_the_command_quietly(command):
    res = _run(shell=f"set -o pipefail; {command} > /dev/null; echo status ${{PIPESTATUS[0]}} >&2")
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr, res.stderr
    assert res.stderr.strip().splitlines()[-1] in ("status 0", "status 141"), res.stderr


def test_a_columns_variable_that_is_not_a_number_is_ignored(monkeypatch):
    res = _run("mitheory.bounds", "--help", env={"COLUMNS": "abc"})
    assert res.returncode == 0 and "usage:" in res.stdout and res.stderr == ""
    for text, width in (("abc", 100), ("", 100), ("-5", 100), ("10", 100), ("80", 80), ("500", 100)):
        monkeypatch.setenv("COLUMNS", text)
        assert terminal_columns() == width


# ---------------------------------------------------------------------------------- misleading messages


def test_a_mirror_that_is_not_a_url_raises_data_not_found(tmp_path, no_data, monkeypatch):
    from defenses.datasets import DataNotFoundError, load_mnist

    monkeypatch.setenv("MID_DATA_URL", "garbage")
    with pytest.raises(DataNotFoundError, match=r"\$MID_DATA_URL='garbage' is not a URL"):
        load_mnist(tmp_path, train=False)


def test_naive_map_names_a_value_missing_from_the_encoding_and_a_column_out_of_range():
    from sklearn.linear_model import LinearRegression

    from defenses.linear import NaiveMAPRegressionAttack

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, 2.0, 0.5]
    model = LinearRegression().fit(X, y)
    encoding = {"a": [0.0], "b": [1.0]}
    values = np.array(["a", "b", "c"] * 10, dtype=object)
    with pytest.raises(ValueError, match=r"sensitive_values holds 'c', not in the encoding \(its values: 'a', 'b'\)"):
        NaiveMAPRegressionAttack([2], encoding).fit(model, X, y, values)
    with pytest.raises(ValueError, match="column 7 is out of range for X with 3 columns"):
        NaiveMAPRegressionAttack([7], encoding).fit(model, X, y, ["a", "b"] * 15)
    attack = NaiveMAPRegressionAttack([7], encoding, prior={"a": 0.5, "b": 0.5}, residual_scale=1.0).fit(model)
    with pytest.raises(ValueError, match="column 7 is out of range"):
        attack.infer(X, y)


def test_trees_warn_on_continuous_columns_and_on_missing_values_at_predict_time():
    import pandas as pd

    from defenses.tree import ContinuousFeatureWarning, ID3Classifier, MissingValueWarning

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"colour": rng.choice(["red", "blue"], 200), "weight": rng.normal(size=200)})
    y = rng.integers(0, 2, 200)
    with pytest.warns(ContinuousFeatureWarning, match=r"'weight' \(200 values\) become one branch per distinct"):
        ID3Classifier(max_depth=2).fit(X, y)
    X["weight"] = pd.cut(X["weight"], 4)  # binned: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ID3Classifier(max_depth=2).fit(X, y)
        model.predict(X)
    X.loc[:2, "colour"] = None
    with pytest.warns(MissingValueWarning, match="3 of 200 rows have missing values"):
        model.predict(X)
