"""MIDLinearRegression at the edges of float64: no feature dropped silently, no misleading sigma error."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from defenses.linear import MIDLinearRegression


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    return X, X @ [1.0, -2.0, 0.5] + rng.normal(size=200)


def test_a_feature_on_a_tiny_scale_is_kept_and_fitted(data):
    X, y = data
    tiny = X * [1.0, 1.0, 1e-13]  # well resolved in float64, only small
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        coef = MIDLinearRegression(0.0).fit(tiny, y).coef_
    ref = MIDLinearRegression(0.0).fit(X, y).coef_
    np.testing.assert_allclose(coef, ref * [1.0, 1.0, 1e13], rtol=1e-8)


def test_a_feature_below_float_resolution_is_dropped_with_a_warning_naming_it(data):
    X, y = data
    frame = pd.DataFrame({"age": X[:, 0], "dose": 1e6 + 1e-8 * X[:, 1], "weight": X[:, 2]})
    with pytest.warns(UserWarning, match=r"feature\(s\) 'dose' vary by less than 1e-12 .* dropped"):
        m = MIDLinearRegression(0.5).fit(frame, y)
    assert m.coef_[1] == 0.0 and np.all(m.coef_[[0, 2]] != 0)
    with pytest.warns(UserWarning, match="'x1'"):
        MIDLinearRegression(0.0).fit(frame.to_numpy(), y)


def test_an_exactly_constant_feature_is_no_news(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = MIDLinearRegression(0.5).fit(np.column_stack([X, np.full(len(X), 3.0)]), y)
    assert m.coef_[3] == 0.0


def test_huge_values_name_their_real_cause(data):
    X, y = data
    with pytest.raises(ValueError, match=r"^y is too large for float64 arithmetic .*rescale y$") as info:
        MIDLinearRegression(0.5).fit(X, y * 1e300)  # the user passed no sigma: the message must not blame it
    assert "sigma must be" not in str(info.value)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1] * 1e300, "c": X[:, 2]})
    with pytest.raises(ValueError, match=r"feature\(s\) 'b' are too large for float64 arithmetic"):
        MIDLinearRegression(0.5).fit(frame, y)
