"""FiveThirtyEight "How Americans like their steak" survey (Fredrikson, Jha & Ristenpart 2015).

The survey (FiveThirtyEight/SurveyMonkey, 2014; CC BY 4.0) asked 550 people a few risk-behaviour
questions, their demographics and how they like their steak. Fredrikson et al. (CCS 2015) trained decision
trees predicting the steak preparation and inverted them to recover the answer to "Have you ever cheated on
your significant other?" (docs/attacks.md).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path

import pandas as pd

from ._base import Dataset
from ._files import DataFileError, content_check, locate, read_verified

RELATIVE_PATH = "fivethirtyeight/steak-risk-survey.csv"
#: The published file: a header of question texts, a sub-header row, then one record per respondent.
N_RESPONDENTS = 550
N_FIELDS = 15

#: Survey question → short column name, with each question's public answer set (the survey form's
#: answer order; ordinal questions in their natural order). The answer sets are the public domains the
#: tree learners need (DP-ID3 must not read them from the private data).
QUESTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Consider the following hypothetical situations": ("lottery", ("Lottery A", "Lottery B")),
    "Do you ever smoke cigarettes?": ("smoke", ("No", "Yes")),
    "Do you ever drink alcohol?": ("alcohol", ("No", "Yes")),
    "Do you ever gamble?": ("gamble", ("No", "Yes")),
    "Have you ever been skydiving?": ("skydiving", ("No", "Yes")),
    "Do you ever drive above the speed limit?": ("speeding", ("No", "Yes")),
    "Have you ever cheated on your significant other?": ("cheated", ("No", "Yes")),
    "Do you eat steak?": ("eat_steak", ("No", "Yes")),
    "How do you like your steak prepared?": (
        "steak", ("Rare", "Medium rare", "Medium", "Medium Well", "Well")),
    "Gender": ("gender", ("Female", "Male")),
    "Age": ("age", ("18-29", "30-44", "45-60", "> 60")),
    "Household Income": ("income", ("$0 - $24,999", "$25,000 - $49,999", "$50,000 - $99,999",
                                    "$100,000 - $149,999", "$150,000+")),
    "Education": ("education", ("Less than high school degree", "High school degree",
                                "Some college or Associate degree", "Bachelor degree", "Graduate degree")),
    "Location (Census Region)": ("region", (
        "New England", "Middle Atlantic", "East North Central", "West North Central", "South Atlantic",
        "East South Central", "West South Central", "Mountain", "Pacific")),
}

#: Category given to an unanswered question when ``complete_cases=False``.
MISSING = "(no answer)"

TARGET = "steak"
SENSITIVE = "cheated"


def _read_survey(path: Path) -> pd.DataFrame:
    """The survey's raw answers (strings, NaN for unanswered), checked to be the published file."""
    data, _ = read_verified(path, RELATIVE_PATH)  # size-capped, digest computed before parsing
    try:
        text = data.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: byte {exc.start + 1} is not UTF-8 text; delete or replace it") from None
    try:
        records = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as exc:
        what = ("it ends inside a quoted field (truncated?)" if "unexpected end of data" in str(exc)
                else f"not valid CSV ({exc})")
        raise DataFileError(f"{path}: {what}; delete or replace it") from None
    for number, record in enumerate(records, start=1):
        if len(record) != N_FIELDS:
            raise DataFileError(f"{path}, record {number}: {len(record)} fields, expected {N_FIELDS} "
                                f"(truncated or not the steak survey); delete or replace it")
    if len(records) != N_RESPONDENTS + 2:
        raise DataFileError(f"{path}: {max(len(records) - 2, 0)} respondents, expected {N_RESPONDENTS} "
                            f"(truncated or not the steak survey); delete or replace it")
    content_check(path, RELATIVE_PATH, hashlib.sha256(text.encode("utf-8")).hexdigest())
    return pd.read_csv(io.StringIO(text), skiprows=[1], dtype=str, keep_default_na=False, na_values=[""])


def load_steak_survey(
    data_home: str | os.PathLike | None = None, complete_cases: bool = True, *, download: bool = True
) -> Dataset:
    """Load the steak survey as categorical features, the steak preparation target and "cheated".

    Rows kept: respondents who answered "Yes" to "Do you eat steak?" and who said how they like their
    steak (the target). With ``complete_cases=True`` (Fredrikson et al. 2015's cleaning) respondents with
    any other unanswered question are dropped as well: 331 of the 550 respondents remain (cheated: Yes
    57 / No 274). With ``complete_cases=False`` the 430 steak eaters with a stated preparation are kept
    and every unanswered question becomes its own category ``"(no answer)"`` (also for "cheated", whose
    domain then has three values).

    Parameters
    ----------
    data_home : path-like, optional
        Data directory searched first for ``fivethirtyeight/steak-risk-survey.csv`` (then ``$MID_DATA``,
        then the cache ``~/.cache/mid-toolkit``). When missing everywhere, the file is downloaded into the
        cache from FiveThirtyEight's data repository (a pinned commit) and checked against its SHA-256.
    complete_cases : bool, default True
        Keep only respondents who answered every question.
    download : bool, default True
        Fetch a missing file into the cache.

    Returns
    -------
    Dataset
        ``data``: DataFrame of 12 categorical columns (``lottery``, ``smoke``, ``alcohol``, ``gamble``,
        ``skydiving``, ``speeding``, ``cheated``, ``gender``, ``age``, ``income``, ``education``, ``region``)
        whose categories are the survey's full answer sets; ``target``: categorical Series ``steak``
        (Rare < Medium rare < Medium < Medium Well < Well); ``sensitive = ("cheated",)``;
        ``extra["dropped"]``: rows dropped per reason; ``extra["questions"]``: column → question text;
        ``extra["files"]``: the file read.

    References
    ----------
    FiveThirtyEight, "How Americans like their steak", 2014 (github.com/fivethirtyeight/data,
    ``steak-survey``). M. Fredrikson, S. Jha, T. Ristenpart, "Model inversion attacks that exploit
    confidence information and basic countermeasures", CCS 2015.
    """
    if not isinstance(complete_cases, bool):
        raise ValueError(f"complete_cases must be a bool, got {complete_cases!r}")
    path = locate(RELATIVE_PATH, data_home, download=download)
    raw = _read_survey(path)
    columns, questions = {}, {}
    for header in raw.columns:
        match = [q for q in QUESTIONS if header.startswith(q)]
        if match:
            name, _ = QUESTIONS[match[0]]
            columns[header] = name
            questions[name] = header
    df = raw.rename(columns=columns)[[name for name, _ in QUESTIONS.values()]]

    n_total = len(df)
    dropped: dict[str, int] = {}
    keep = df["eat_steak"] == "Yes"
    dropped["does not eat steak or did not say"] = int((~keep).sum())
    has_target = keep & df[TARGET].notna()
    dropped["steak preparation not given"] = int((keep & ~has_target).sum())
    keep = has_target
    features = [name for name, _ in QUESTIONS.values() if name not in ("eat_steak", TARGET)]
    if complete_cases:
        complete = keep & df[features].notna().all(axis=1)
        dropped["another question unanswered"] = int((keep & ~complete).sum())
        keep = complete
    df = df[keep].reset_index(drop=True)

    data = pd.DataFrame(index=df.index)
    for name, domain in QUESTIONS.values():
        if name not in features:
            continue
        col = df[name]
        if not complete_cases:
            domain = domain + (MISSING,)
            col = col.fillna(MISSING)
        data[name] = pd.Categorical(col, categories=list(domain))
    target = pd.Series(pd.Categorical(df[TARGET], categories=list(QUESTIONS["How do you like your steak prepared?"][1]),
                                      ordered=True), name=TARGET)
    counts = data[SENSITIVE].value_counts().to_dict()
    description = (
        f"FiveThirtyEight steak survey ({path.name}): {len(df)} of {n_total} respondents kept "
        f"(dropped: " + ", ".join(f"{v} {k}" for k, v in dropped.items()) + "); "
        "target 'steak' (5 preparations); sensitive 'cheated' ("
        + ", ".join(f"{k} {v}" for k, v in counts.items()) + "); "
        + ("complete cases only." if complete_cases else f"unanswered questions coded {MISSING!r}.")
    )
    return Dataset(data=data, target=target, sensitive=(SENSITIVE,), description=description,
                   extra={"dropped": dropped, "n_raw": n_total, "questions": questions,
                          "complete_cases": complete_cases, "files": [str(path)]})
