"""Fair's affairs survey (Redbook magazine, 1974): 6,366 married women, shipped inside statsmodels.

Ray Fair (1978) used the survey to model the time spent in extramarital affairs. Here it is a second
decision-tree survey beside the steak survey, one whose target carries signal: a tree predicts how a
respondent rates her marriage from her other answers, and an attacker inverts it to recover whether she
had an affair (docs/attacks.md). The table is read from the copy bundled with ``statsmodels``
(``statsmodels.datasets.fair``), so nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._base import Dataset

TARGET = "rate_marriage"
SENSITIVE = "affair"
N_ROWS = 6366
N_AFFAIRS = 2053

#: The survey's coded answer sets (statsmodels' description of the data, Fair 1978): the public domains
#: of the categorical columns, in their natural order. DP-ID3 must not read them from the private rows.
DOMAINS: dict[str, tuple[float, ...]] = {
    "rate_marriage": (1.0, 2.0, 3.0, 4.0, 5.0),  # 1 very poor … 5 very good
    "age": (17.5, 22.0, 27.0, 32.0, 37.0, 42.0),  # interval midpoints
    "yrs_married": (0.5, 2.5, 6.0, 9.0, 13.0, 16.5, 23.0),  # interval approximations
    "children": (0.0, 1.0, 2.0, 3.0, 4.0, 5.5),
    "religious": (1.0, 2.0, 3.0, 4.0),  # 1 not … 4 strongly
    "educ": (9.0, 12.0, 14.0, 16.0, 17.0, 20.0),  # grade school … advanced degree
    "occupation": (1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
    "occupation_husb": (1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
}


def _statsmodels_table() -> pd.DataFrame:
    try:
        from statsmodels.datasets import fair
    except ModuleNotFoundError as exc:
        if exc.name != "statsmodels" and not str(exc.name).startswith("statsmodels"):
            raise
        raise ModuleNotFoundError("load_affairs reads the survey bundled with statsmodels, which is not installed: "
                                  "pip install statsmodels", name="statsmodels") from None
    return fair.load_pandas().data


def load_affairs(data_home=None) -> Dataset:
    """Load Fair's affairs survey as categorical answers, the marriage rating and "had an affair".

    ``data_home`` is accepted for a uniform loader signature and not used: the table ships with statsmodels.

    Every row of the bundled table is kept (6,366 women). The sensitive attribute ``affair`` is "Yes"
    where the survey's time spent in affairs is positive (2,053 respondents) and "No" otherwise; the
    continuous ``affairs`` measure itself is dropped (it would reveal the answer). The other columns are
    categorical as they are coded — interval midpoints and answer codes — with their full answer sets
    (:data:`DOMAINS`) as categories.

    Returns
    -------
    Dataset
        ``data``: DataFrame of 8 categorical columns (``affair``, ``age``, ``yrs_married``, ``children``,
        ``religious``, ``educ``, ``occupation``, ``occupation_husb``); ``target``: ordered
        categorical Series ``rate_marriage`` (1 very poor … 5 very good); ``sensitive = ("affair",)``;
        ``extra["source"]``: where the table came from.

    References
    ----------
    R. C. Fair, "A Theory of Extramarital Affairs", Journal of Political Economy 86(1), 45-61, 1978.
    """
    raw = _statsmodels_table()
    if len(raw) != N_ROWS or set(DOMAINS) | {"affairs"} != set(raw.columns):
        raise ValueError(f"statsmodels' fair table has {len(raw)} rows and columns {sorted(raw.columns)}; "
                         f"expected {N_ROWS} rows and {sorted(set(DOMAINS) | {'affairs'})}")
    # "affair" first: IBM ART's white-box tree attacks cannot attack the last column (their check
    # ``attack_feature >= x.shape[1]`` counts the columns without the attacked one)
    data = pd.DataFrame({SENSITIVE: pd.Categorical(np.where(raw["affairs"].to_numpy() > 0, "Yes", "No"),
                                                   categories=["No", "Yes"])}, index=raw.index)
    for name, domain in DOMAINS.items():
        if name == TARGET:
            continue
        values = raw[name].to_numpy(dtype=float)
        unknown = ~np.isin(values, domain)
        if unknown.any():
            raise ValueError(f"statsmodels' fair table: column {name!r} holds {values[unknown][0]!r}, outside its "
                             f"coded answers {domain}")
        data[name] = pd.Categorical(values, categories=list(domain))
    target = pd.Series(pd.Categorical(raw[TARGET].to_numpy(dtype=float), categories=list(DOMAINS[TARGET]),
                                      ordered=True), name=TARGET)
    counts = data[SENSITIVE].value_counts()
    description = (f"Fair's affairs survey (Redbook 1974; Fair 1978), as bundled with statsmodels: {len(data)} married "
                   f"women; target 'rate_marriage' (5 levels); sensitive 'affair' = time in affairs > 0 (Yes "
                   f"{counts['Yes']} / No {counts['No']}); 7 categorical answers.")
    return Dataset(data=data, target=target, sensitive=(SENSITIVE,), description=description,
                   extra={"source": "statsmodels.datasets.fair", "domains": DOMAINS})
