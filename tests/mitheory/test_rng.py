"""The one random-state helper (mitheory.rng) and the estimators that use it (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest

from mitheory.rng import as_generator, integer_seed


@pytest.mark.parametrize("make", [lambda: None, lambda: 7, lambda: np.int64(7), lambda: np.random.SeedSequence(7),
                                  lambda: np.random.default_rng(7), lambda: np.random.RandomState(7)],
                         ids=["None", "int", "np.int64", "SeedSequence", "Generator", "RandomState"])
def test_every_kind_of_random_state_gives_a_generator_and_a_seed(make):
    assert isinstance(as_generator(make()), np.random.Generator)
    seed = integer_seed(make())
    assert isinstance(seed, int) and 0 <= seed < 2**63


def test_the_same_state_gives_the_same_numbers_and_a_generator_is_shared():
    assert integer_seed(7) == 7
    assert as_generator(7).integers(1 << 30) == np.random.default_rng(7).integers(1 << 30)
    g = np.random.default_rng(3)
    assert as_generator(g) is g
    # a Generator yields the draw the neural estimators always took from it (seeds stay as they were)
    assert integer_seed(np.random.default_rng(5)) == int(np.random.default_rng(5).integers(0, 2**63 - 1))
    assert integer_seed(np.random.SeedSequence(9)) == integer_seed(np.random.SeedSequence(9))
    assert integer_seed(np.random.RandomState(1)) == integer_seed(np.random.RandomState(1))
    assert integer_seed(np.random.default_rng(0), bits=31) < 2**31
    legacy = np.random.RandomState(2)
    assert as_generator(legacy, keep_legacy=True) is legacy


@pytest.mark.parametrize("bad", [True, -1, 1.5, "seed", [1, 2]])
def test_anything_else_is_refused_naming_the_argument(bad):
    with pytest.raises(ValueError, match="rng"):
        as_generator(bad, name="rng")
    with pytest.raises(ValueError, match="random_state"):
        integer_seed(bad)


def test_estimators_of_every_family_take_every_kind():
    from defenses.linear import AdaSSPRegression
    from defenses.tree import DPID3Classifier

    pytest.importorskip("torch")
    from defenses.neural import CNNClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    for state in (np.random.RandomState(0), np.random.SeedSequence(0), np.random.default_rng(0), 0):
        AdaSSPRegression(random_state=state).fit(X, y)
        DPID3Classifier(categories=[[False, True]] * 3, classes=[False, True], random_state=state).fit(X > 0, y > 0)
        CNNClassifier(architecture={"channels": (2,), "feature_dim": 4}, epochs=1, early_stopping=False,
                      progress=False, random_state=state).fit(rng.random((12, 8, 8)), np.arange(12) % 2)
