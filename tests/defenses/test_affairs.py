"""Fair's affairs survey (defenses.datasets.load_affairs): the table bundled with statsmodels, as a tree survey."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from defenses.datasets import load_affairs
from defenses.datasets.affairs import DOMAINS


def _statsmodels_csv() -> pd.DataFrame:
    """The bundled file itself, read with pandas (not through the loader or statsmodels' own reader)."""
    import statsmodels.datasets.fair as fair

    return pd.read_csv(Path(fair.__file__).parent / "fair.csv")


def test_rows_positives_and_columns_match_the_table_shipped_with_statsmodels():
    d = load_affairs()
    raw = _statsmodels_csv()
    assert len(d.data) == len(raw) == 6366
    assert int((d.data["affair"] == "Yes").sum()) == int((raw["affairs"] > 0).sum()) == 2053
    np.testing.assert_array_equal(d.data["affair"].to_numpy() == "Yes", raw["affairs"].to_numpy() > 0)
    np.testing.assert_array_equal(d.target.astype(float).to_numpy(), raw["rate_marriage"].to_numpy())
    assert d.target.cat.ordered and list(d.target.cat.categories) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert "affairs" not in d.data.columns  # the continuous measure would give the answer away
    for name in DOMAINS:
        if name == "rate_marriage":
            continue
        col = d.data[name]
        assert isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == list(DOMAINS[name])
        np.testing.assert_array_equal(col.astype(float).to_numpy(), raw[name].to_numpy())
    assert d.sensitive == ("affair",) and list(d.data["affair"].cat.categories) == ["No", "Yes"]


def test_a_tree_beats_the_majority_class_on_held_out_answers():
    from defenses.tree import ID3Classifier
    from validation.tree import macro_f1

    d = load_affairs()
    perm = np.random.default_rng(0).permutation(len(d.data))
    test, train = perm[:3000], perm[3000:]
    y_test = d.target.iloc[test].to_numpy()
    tree = ID3Classifier(max_depth=5).fit(d.data.iloc[train], d.target.iloc[train])
    majority = np.full(len(test), d.target.iloc[train].value_counts().idxmax(), dtype=object)
    pred = tree.predict(d.data.iloc[test])
    # macro F1 (the figures' utility), paired bootstrap over the 3,000 held-out women: the difference is
    # about 0.08, its bootstrap sd about 0.01; requiring the 0.01% quantile above 0 fails by chance with
    # probability < 1e-4 when the tree is that much better
    rng = np.random.default_rng(1)
    diffs = []
    for _ in range(2000):
        i = rng.integers(0, len(test), len(test))
        diffs.append(macro_f1(y_test[i], pred[i]) - macro_f1(y_test[i], majority[i]))
    assert np.quantile(diffs, 1e-4) > 0, np.mean(diffs)
    # a depth-2 tree also beats it in accuracy (the majority rating is 5 of 5, 42%): exact McNemar test on
    # the women exactly one of the two gets right, one-sided, at level 1e-4
    from scipy.stats import binomtest

    shallow = ID3Classifier(max_depth=2).fit(d.data.iloc[train], d.target.iloc[train]).predict(d.data.iloc[test])
    only_tree = int(np.sum((shallow == y_test) & (majority != y_test)))
    only_major = int(np.sum((shallow != y_test) & (majority == y_test)))
    assert binomtest(only_tree, only_tree + only_major, 0.5, alternative="greater").pvalue < 1e-4, (only_tree,
                                                                                                     only_major)
