"""The FiveThirtyEight steak survey loader (counts from shared/data/PROVENANCE.md and docs/attacks.md)."""

from __future__ import annotations

import pandas as pd
import pytest

from defenses.datasets import load_steak_survey
from defenses.datasets.steak import MISSING


def test_complete_cases_match_fredrikson_cleaning(data_home):
    d = load_steak_survey(data_home)
    assert d.data.shape == (331, 12)
    assert d.sensitive == ("cheated",)
    assert d.data["cheated"].value_counts().to_dict() == {"No": 274, "Yes": 57}
    assert d.extra["dropped"] == {"does not eat steak or did not say": 120, "steak preparation not given": 0,
                                  "another question unanswered": 99}
    assert "331 of 550" in d.description and "99 another question unanswered" in d.description
    assert all(isinstance(d.data[c].dtype, pd.CategoricalDtype) for c in d.data)
    assert not d.data.isna().any().any()
    assert list(d.target.cat.categories) == ["Rare", "Medium rare", "Medium", "Medium Well", "Well"]
    assert len(d.data["region"].cat.categories) == 9 and len(d.data["age"].cat.categories) == 4


def test_incomplete_rows_kept_with_a_no_answer_category(data_home):
    d = load_steak_survey(data_home, complete_cases=False)
    assert len(d.data) == 430 and not d.data.isna().any().any()
    assert d.data["cheated"].value_counts().to_dict() == {"No": 356, "Yes": 72, MISSING: 2}
    assert MISSING in d.data["income"].cat.categories
    assert "another question unanswered" not in d.extra["dropped"]


def test_missing_file_and_bad_argument(tmp_path, no_data):
    with pytest.raises(FileNotFoundError, match="steak-risk-survey.csv not found in"):
        load_steak_survey(tmp_path)
    with pytest.raises(ValueError, match="complete_cases"):
        load_steak_survey(tmp_path, complete_cases="yes")
