"""FiveThirtyEight "How Americans like their steak" survey (Fredrikson, Jha & Ristenpart 2015).

The survey (FiveThirtyEight/SurveyMonkey, 2014; CC BY 4.0) asked 550 people a few risk-behaviour
questions, their demographics and how they like their steak. Fredrikson et al. (CCS 2015) trained decision
trees predicting the steak preparation and inverted them to recover the answer to "Have you ever cheated on
your significant other?" (ALGORITHMS.md §7).
"""

from __future__ import annotations

import os

import pandas as pd

from ._base import Dataset, get_data_home, require_file

RELATIVE_PATH = "fivethirtyeight/steak-risk-survey.csv"

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


def load_steak_survey(data_home: str | os.PathLike | None = None, complete_cases: bool = True) -> Dataset:
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
        Data directory holding ``fivethirtyeight/steak-risk-survey.csv`` (default: ``$MID_DATA``, then
        ``~/.cache/mid-toolkit``).
    complete_cases : bool, default True
        Keep only respondents who answered every question.

    Returns
    -------
    Dataset
        ``data``: DataFrame of 12 categorical columns (``lottery``, ``smoke``, ``alcohol``, ``gamble``,
        ``skydiving``, ``speeding``, ``cheated``, ``gender``, ``age``, ``income``, ``education``, ``region``)
        whose categories are the survey's full answer sets; ``target``: categorical Series ``steak``
        (Rare < Medium rare < Medium < Medium Well < Well); ``sensitive = ("cheated",)``;
        ``extra["dropped"]``: rows dropped per reason; ``extra["questions"]``: column → question text.

    References
    ----------
    FiveThirtyEight, "How Americans like their steak", 2014 (github.com/fivethirtyeight/data,
    ``steak-survey``). M. Fredrikson, S. Jha, T. Ristenpart, "Model inversion attacks that exploit
    confidence information and basic countermeasures", CCS 2015.
    """
    if not isinstance(complete_cases, bool):
        raise ValueError(f"complete_cases must be a bool, got {complete_cases!r}")
    path = require_file(
        get_data_home(data_home), RELATIVE_PATH,
        "download steak-survey/steak-risk-survey.csv from github.com/fivethirtyeight/data into "
        "<data_home>/fivethirtyeight/",
    )
    raw = pd.read_csv(path, skiprows=[1], dtype=str, keep_default_na=False, na_values=[""])
    columns, questions = {}, {}
    for header in raw.columns:
        match = [q for q in QUESTIONS if header.startswith(q)]
        if match:
            name, domain = QUESTIONS[match[0]]
            columns[header] = name
            questions[name] = header
    if len(columns) != len(QUESTIONS):
        raise ValueError(f"{path} does not have the steak survey's columns")
    df = raw.rename(columns=columns)[[name for name, _ in QUESTIONS.values()]]
    for name, domain in QUESTIONS.values():
        unknown = set(df[name].dropna()) - set(domain)
        if unknown:
            raise ValueError(f"{path}: unexpected answer(s) {sorted(unknown)} to {questions[name]!r}")

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
        f"target 'steak' (5 preparations); sensitive 'cheated' ("
        + ", ".join(f"{k} {v}" for k, v in counts.items()) + "); "
        + ("complete cases only." if complete_cases else f"unanswered questions coded {MISSING!r}.")
    )
    return Dataset(data=data, target=target, sensitive=(SENSITIVE,), description=description,
                   extra={"dropped": dropped, "n_raw": n_total, "questions": questions,
                          "complete_cases": complete_cases})
