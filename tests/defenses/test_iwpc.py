"""The IWPC warfarin loader: row counts at every cleaning stage, encodings, and the published model."""

from __future__ import annotations

import numpy as np
import pytest

from defenses.datasets import load_iwpc


@pytest.fixture(scope="module")
def iwpc():
    return load_iwpc()


def test_row_counts_at_every_stage(iwpc):
    assert iwpc.extra["counts"] == {
        "raw": 6256, "after_clean_iwpc": 5741, "after_dropping_vkorc1_unknown": 5637,
        "after_dropping_cyp2c9_unknown": 5547, "after_requiring_stable_dose": 5452, "final": 5452,
    }
    assert len(iwpc.data) == len(iwpc.target) == len(iwpc.extra["vkorc1"]) == 5452
    assert "final 5452" in iwpc.description


def test_optional_filters_change_the_cohort_as_documented():
    assert len(load_iwpc(require_stable_dose=False).target) == 5547
    typed = load_iwpc(genotype="typed")
    assert typed.extra["counts"]["after_requiring_typed_rs9923231"] == 4395
    assert len(typed.target) == 4321


def test_vkorc1_is_the_sensitive_attribute_with_its_encoding(iwpc):
    g = iwpc.extra["vkorc1"]
    assert {v: int(np.sum(g == v)) for v in iwpc.extra["vkorc1_values"]} == {"G/G": 1821, "A/G": 2004, "A/A": 1627}
    assert iwpc.sensitive == ("vkorc1_AG", "vkorc1_AA")
    codes = iwpc.data[list(iwpc.sensitive)].to_numpy()
    for value, code in iwpc.extra["sensitive_encoding"].items():
        assert np.all(codes[g == value] == code)


def test_feature_encodings(iwpc):
    X = iwpc.data
    assert list(X.columns) == ["age_decades", "height_cm", "weight_kg", "race_asian", "race_black", "race_unknown",
                               "cyp2c9_12", "cyp2c9_13", "cyp2c9_22", "cyp2c9_23", "cyp2c9_33", "vkorc1_AG",
                               "vkorc1_AA", "amiodarone", "enzyme_inducer"]
    assert X.dtypes.eq(np.float64).all() and not X.isna().any().any()
    assert set(X["age_decades"]) <= set(range(1, 10))
    for block in (["race_asian", "race_black", "race_unknown"],
                  ["cyp2c9_12", "cyp2c9_13", "cyp2c9_22", "cyp2c9_23", "cyp2c9_33"], ["vkorc1_AG", "vkorc1_AA"]):
        assert set(np.unique(X[block].to_numpy())) <= {0.0, 1.0} and X[block].sum(axis=1).max() == 1.0
    assert (X["race_asian"].sum(), X["race_black"].sum(), X["race_unknown"].sum()) == (1417, 623, 463)
    assert (X["amiodarone"].sum(), X["enzyme_inducer"].sum()) == (253, 56)
    assert X["height_cm"].between(100, 250).all() and X["weight_kg"].between(20, 250).all()
    scale = iwpc.extra["public_scale"]
    assert all((X[c] / s).between(0, 1).all() for c, s in scale.items())


def test_target_is_sqrt_weekly_dose_within_the_public_range(iwpc):
    dose = iwpc.extra["dose_mg_per_week"]
    np.testing.assert_allclose(iwpc.target, np.sqrt(dose))
    lo, hi = iwpc.extra["target_range"]
    assert lo <= iwpc.target.min() and iwpc.target.max() < hi == pytest.approx(np.sqrt(315))
    np.testing.assert_allclose(load_iwpc(target="dose").target, dose)


def test_published_iwpc_pharmacogenetic_model_fits_the_encoding(iwpc):
    """IWPC (NEJM 2009) coefficients: RMSE ≈ 1.0 on √dose and MAE ≈ 8.5 mg/week, as reported."""
    X = iwpc.data
    pred = (5.6044 - 0.2614 * X.age_decades + 0.0087 * X.height_cm + 0.0128 * X.weight_kg
            - 0.8677 * X.vkorc1_AG - 1.6974 * X.vkorc1_AA - 0.5211 * X.cyp2c9_12 - 0.9357 * X.cyp2c9_13
            - 1.0616 * X.cyp2c9_22 - 1.9206 * X.cyp2c9_23 - 2.3312 * X.cyp2c9_33 - 0.1092 * X.race_asian
            - 0.2760 * X.race_black - 0.1032 * X.race_unknown + 1.1816 * X.enzyme_inducer - 0.5503 * X.amiodarone)
    y = iwpc.target
    assert np.sqrt(np.mean((pred - y) ** 2)) == pytest.approx(1.0, abs=0.02)
    assert np.mean(np.abs(pred**2 - y**2)) == pytest.approx(8.5, abs=0.3)
    assert np.sqrt(np.mean((pred - y) ** 2)) < 0.75 * y.std()


@pytest.mark.parametrize("kw, match", [(dict(target="log_dose"), "target"), (dict(genotype="guessed"), "genotype")])
def test_bad_options_raise_naming_the_parameter(kw, match):
    with pytest.raises(ValueError, match=match):
        load_iwpc(**kw)
