"""Bad input to ``python -m validation``, ``python -m validation.interop`` and ``python -m paper_figs``: exit 2,
one line, no traceback.

Every class of issue 16 item 1 is driven through both commands: output paths that are directories,
files, missing or unwritable; values that overflow; sizes that cannot fit (refused with the estimate);
zero and negative counts; options that do not apply; missing and damaged data. Each check must come
before any work: the first function that would load data or start work fails the test if reached.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paper_figs.__main__ as figs_cli
import validation.__main__ as val_cli
import validation.interop as interop_cli
from validation.cli import physical_memory

IND = ["ind", "--learner", "dp-id3", "--eps", "1", "--n", "50", "--models", "4"]
SEM = ["sem", "--learner", "mid-id3", "--lam", "1", "--splits", "2"]
#: capsys and monkeypatch are read or set the same way for every generated value.
FIXTURES = [HealthCheck.function_scoped_fixture]
#: Records that surely exceed this machine's memory at >= 24 bytes each.
TOO_MANY = physical_memory() // 24 + 1


def _reached(*_, **__):
    pytest.fail("the command started work before refusing its bad input")


@pytest.fixture
def no_work(monkeypatch):
    """Any data loading or executor start is a test failure."""
    for name in ("table_rows", "build_learner", "executor_from_args"):
        monkeypatch.setattr(val_cli, name, _reached)
    monkeypatch.setattr(figs_cli, "executor_from_args", _reached)
    monkeypatch.setattr(interop_cli, "executor_from_args", _reached)


def _refused(main, argv, capsys, *names: str) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert info.value.code == 2 and len(lines) == 1 and "Traceback" not in err, err
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def paths(tmp_path):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("not a store\n")
    return tmp_path


# ------------------------------------------------------------------------------------- output paths


@pytest.mark.parametrize("where, what", [
    ("adir", "is a directory"),
    ("afile/x.json", "is not a directory"),
    ("/sys/mid-toolkit/x.json", "cannot write in"),
])
def test_store_paths_that_cannot_hold_a_store(paths, capsys, no_work, where, what):
    _refused(val_cli.main, IND + ["--store", str(paths / where)], capsys, "--store", what)


def test_a_store_that_is_not_one_is_refused_before_training(paths, capsys, monkeypatch, data_home):
    monkeypatch.setattr(val_cli, "executor_from_args", _reached)
    _refused(val_cli.main, IND + ["--store", str(paths / "afile")], capsys, "is not a result store")


@pytest.mark.parametrize("where, what", [
    ("afile", "is not a directory"),
    ("afile/sub", "is not a directory"),
    ("/sys/mid-toolkit-figures", "cannot write in"),
])
def test_output_directories_that_cannot_hold_figures(paths, capsys, no_work, where, what):
    _refused(figs_cli.main, ["fig2b", "--quick", "--out", str(paths / where)], capsys, "--out", what)


def test_an_empty_path_is_not_the_current_directory(capsys, no_work):
    _refused(figs_cli.main, ["bounds", "--out", ""], capsys, "--out", "must not be empty")
    _refused(val_cli.main, IND + ["--store", ""], capsys, "--store", "must not be empty")
    _refused(val_cli.main, IND + ["--data-home", ""], capsys, "--data-home", "must not be empty")


# --------------------------------------------------------------------------- values and counts


@settings(max_examples=15, suppress_health_check=FIXTURES)
@given(value=st.one_of(st.sampled_from(["1e400", "-1e400", "nan", "inf"]),
                       st.floats(max_value=0).map(repr)))
def test_eps_that_overflows_or_is_not_positive(capsys, no_work, value):
    argv = ["ind", "--learner", "dp-id3", "--eps", value, "--n", "50", "--models", "4"]
    _refused(val_cli.main, argv, capsys, "--eps")


@settings(max_examples=15, suppress_health_check=FIXTURES)
@given(value=st.one_of(st.floats(max_value=0), st.floats(min_value=1), st.just(float("nan"))))
def test_delta_outside_the_open_unit_interval(capsys, no_work, value):
    argv = ["ind", "--learner", "adassp", "--eps", "1", "--delta", repr(value), "--n", "50", "--models", "4"]
    _refused(val_cli.main, argv, capsys, "--delta")


@settings(max_examples=15, suppress_health_check=FIXTURES)
@given(value=st.one_of(st.floats(max_value=0, exclude_max=True), st.sampled_from(["1e999", "nan"])).map(str))
def test_lam_that_overflows_or_is_negative(capsys, no_work, value):
    _refused(val_cli.main, ["sem", "--learner", "mid-linear", "--lam", value, "--splits", "2"], capsys, "--lam")


COUNTS = [  # (argv without the option, option, smallest allowed value)
    (IND[:-4] + ["--models", "4"], "--n", 1),
    (IND, "--models", 2),
    (["ind", "--learner", "cnn", "--n", "50"], "--models", 4),  # the meta-classifier needs 4 models
    (IND, "--probe-size", 1),
    (IND, "--challenges", 1),
    (SEM, "--challenges", 1),
    (SEM[:-2], "--splits", 2),
    (IND, "--seed", 0),
    (IND, "--jobs", 1),
    (IND, "--threads", 1),
    (["bounds"], "--jobs", 1),
    (["bounds"], "--threads", 1),
]


@pytest.mark.parametrize("base, option, least", COUNTS, ids=[f"{b[0]} {o}" for b, o, _ in COUNTS])
@settings(max_examples=10, suppress_health_check=FIXTURES)
@given(below=st.integers(min_value=1, max_value=10**30))
def test_zero_and_negative_counts_are_errors_not_substituted(capsys, no_work, base, option, least, below):
    value = least - below
    main = figs_cli.main if base == ["bounds"] else val_cli.main
    _refused(main, base + [option, str(value)], capsys, option)


@pytest.mark.parametrize("base, option", [
    (IND[:-4] + ["--models", "4"], "--n"),
    (IND, "--challenges"),
    (SEM, "--challenges"),
    (IND, "--probe-size"),
    (IND, "--models"),
    (SEM[:-2], "--splits"),
    (IND, "--jobs"),
    (IND, "--threads"),
    (["fig2b", "--quick"], "--jobs"),
    (["fig2b", "--quick"], "--threads"),
])
@settings(max_examples=5, suppress_health_check=FIXTURES)
@given(scale=st.integers(min_value=0, max_value=10**20))
def test_sizes_that_cannot_fit_are_refused_with_the_estimate(capsys, no_work, tmp_path, base, option, scale):
    value = TOO_MANY + scale
    if option == "--models":
        value += value % 2
    main = figs_cli.main if base[0] == "fig2b" else val_cli.main
    extra = ["--out", str(tmp_path)] if main is figs_cli.main else []
    msg = _refused(main, base + [option, str(value)] + extra, capsys, option, "needs at least", "of memory")
    assert "more than this machine's" in msg


# ------------------------------------------------------------------------- options that do not apply


@pytest.mark.parametrize("argv, what", [
    (["ind", "--learner", "mid-id3", "--lam", "1", "--eps", "1", "--n", "50"], "--eps applies to the learners"),
    (["ind", "--learner", "id3", "--eps", "1", "--n", "50"], "--eps applies to the learners"),
    (IND + ["--lam", "1"], "--lam applies to the learners"),
    (IND + ["--delta", "1e-5"], "pure eps-DP"),
    (["sem", "--learner", "mid-linear", "--lam", "1", "--delta", "1e-5"], "--delta applies"),
    (["ind", "--learner", "cnn", "--attack", "naive-map", "--n", "50"], "has no attack"),
    (IND + ["--attack", "bogus"], "has the attacks map-counts, naive-map"),
    (["sem", "--learner", "cnn"], "has none"),
    (["ind", "--learner", "dp-id3", "--n", "50"], "needs --eps"),
    (IND[:5] + ["--models", "4"], "ind needs --n"),
    (["sem", "--learner", "ols", "--data-home", "."], "--data-home does not apply"),
    (IND + ["--models", "3"], "--models must be an even number"),
])
def test_options_that_do_not_apply_are_errors(capsys, no_work, argv, what):
    _refused(val_cli.main, argv, capsys, what)


def test_device_for_a_figure_without_torch_work_and_a_missing_data_home(capsys, no_work, tmp_path):
    _refused(figs_cli.main, ["bounds", "--device", "cpu", "--out", str(tmp_path)], capsys, "--device applies")
    _refused(figs_cli.main, ["fig2b", "--data-home", str(tmp_path / "typo"), "--out", str(tmp_path)], capsys,
             "--data-home", "is not a directory")
    _refused(val_cli.main, IND + ["--data-home", str(tmp_path / "typo")], capsys, "--data-home")


@pytest.mark.parametrize("argv, names", [
    (["survey", "--out", "afile"], ("--out", "is not a directory")),
    (["survey", "--out", ""], ("--out",)),
    (["iwpc", "--device", "cpu"], ("--device applies to the tables faces and miface",)),
    (["faces", "--device", "tpu"], ("tpu",)),
    (["survey", "--splits", "0"], ("--splits", "must be an integer >= 1")),
    (["survey", "--jobs", "9999"], ("--jobs", "9999")),
    (["survey", "--data-home", "typo"], ("--data-home", "is not a directory")),
    (["nosuch"], ("invalid choice",)),
])
def test_the_interop_tables_refuse_bad_input_before_any_work(paths, capsys, no_work, monkeypatch, argv, names):
    monkeypatch.chdir(paths)
    _refused(interop_cli.main, argv, capsys, *names)


def test_sem_n_larger_than_the_table(capsys, monkeypatch):
    monkeypatch.setattr(val_cli, "build_learner", _reached)
    _refused(val_cli.main, SEM + ["--n", "332"], capsys, "--n 332 exceeds the 331 rows")


# ---------------------------------------------------------------------------------- missing or bad data


@pytest.fixture
def damaged_home(tmp_path, data_home):
    relative = "fivethirtyeight/steak-risk-survey.csv"
    (tmp_path / "damaged" / "fivethirtyeight").mkdir(parents=True)
    (tmp_path / "damaged" / relative).write_bytes((data_home / relative).read_bytes()[:30_000])
    return tmp_path / "damaged"


def test_damaged_and_missing_data(capsys, monkeypatch, tmp_path, damaged_home, no_data):
    monkeypatch.setattr(val_cli, "executor_from_args", _reached)
    _refused(val_cli.main, IND + ["--data-home", str(damaged_home)], capsys, "steak-risk-survey.csv", "truncated")
    assert figs_cli.main(["fig2b", "--quick", "--data-home", str(damaged_home), "--out", str(tmp_path / "o")]) == 2
    assert "truncated" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    _refused(val_cli.main, IND + ["--data-home", str(tmp_path / "empty")], capsys,
             "steak-risk-survey.csv not found", "MID_DATA", "could not be downloaded")


# --------------------------------------------------------------------------------- through the shell


@pytest.mark.parametrize("module, argv", [
    ("validation", IND[:-2] + ["--models", str(10**12)]),
    ("paper_figs", ["fig2b", "--out", "/sys/mid-toolkit"]),
])
def test_the_commands_themselves_exit_2_in_one_line(tmp_path, module, argv):
    res = subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert not any(Path(tmp_path).iterdir())  # nothing written
