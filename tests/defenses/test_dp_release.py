"""What a DP-SGD model releases: no noise seed in its exported state, and a public class set.

The attacks here are the ones a reader of a released model can run: replay training with the exported
parameters on each candidate dataset and look for the one that reproduces the released weights exactly;
and compare the model's output shapes across neighbouring datasets (one record of a class the others lack).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from defenses.datasets import load_digits
from defenses.neural import DPSGDClassifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SEED = 918_273_645  # a value no other field of the state could hold by chance
KW = {"noise_multiplier": 1.0, "epochs": 1, "batch_size": 10, "lr": 1e-2, "delta": 1e-3, "early_stopping": False,
      "architecture": {"channels": (4,), "kernel_size": 3, "pool": "max", "feature_dim": 16},
      "progress": False, "device": "cpu"}


@pytest.fixture(scope="module")
def neighbours():
    """Forty 8x8 digits of the classes 0..8 (D) and D with one image of class 9 added (D')."""
    d = load_digits()
    X, y = d.data, d.target
    base = np.flatnonzero(y < 9)[:40]
    new = np.flatnonzero(y == 9)[:1]
    return (X[base], y[base]), (X[np.r_[base, new]], y[np.r_[base, new]])


def _weights(state) -> torch.Tensor:
    return torch.cat([v.flatten().float() for v in state["module"].values()])


def _replay_distances(state, datasets) -> list[float]:
    """The seed-replay attack: retrain with the exported parameters on each candidate dataset and measure
    max |w_replayed − w_released|. An exported seed makes it exactly 0 on the true dataset only."""
    released = _weights(state)
    out = []
    for X, y in datasets:
        again = DPSGDClassifier(**{**state["params"], "progress": False, "device": "cpu"}).fit(X, y)
        out.append(float((_weights(again.export_state()) - released).abs().max()))
    return out


def test_the_exported_state_holds_no_seed_and_the_replay_attack_finds_nothing(neighbours):
    (X, y), (X1, y1) = neighbours
    model = DPSGDClassifier(classes=range(10), random_state=SEED, **KW).fit(X, y)
    state = model.export_state()
    assert state["params"]["random_state"] is None

    def ints(obj):
        if isinstance(obj, dict):
            return [i for v in obj.values() for i in ints(v)]
        if isinstance(obj, (list, tuple)):
            return [i for v in obj for i in ints(v)]
        return [obj] if isinstance(obj, int) and not isinstance(obj, bool) else []

    assert SEED not in ints(state)
    buf = io.BytesIO()
    torch.save(state, buf)  # still a plain-data file that weights_only loading reads
    again = DPSGDClassifier.from_state(torch.load(io.BytesIO(buf.getvalue()), weights_only=True), device="cpu")
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    # Replaying from the state reproduces neither candidate: the exact match on the true dataset is gone.
    on_true, on_neighbour = _replay_distances(state, [(X, y), (X1, y1)])
    assert on_true > 1e-4 and on_neighbour > 1e-4
    # The control: with the seed (what the state used to carry) the replay singles out the true dataset.
    seeded = {**state, "params": {**state["params"], "random_state": SEED}}
    on_true, on_neighbour = _replay_distances(seeded, [(X, y), (X1, y1)])
    assert on_true == 0.0 and on_neighbour > 1e-4


def test_a_record_of_a_new_class_leaves_every_output_shape_unchanged(neighbours):
    (X, y), (X1, y1) = neighbours
    assert set(y) == set(range(9)) and set(y1) == set(range(10))
    shapes = []
    for XX, yy in ((X, y), (X1, y1)):
        m = DPSGDClassifier(classes=range(10), random_state=0, **KW).fit(XX, yy)
        state = m.export_state()
        shapes.append((list(m.classes_), m.predict_proba(X).shape, m.decision_function(X).shape,
                       {k: tuple(v.shape) for k, v in state["module"].items()}, state["classes"]))
    assert shapes[0] == shapes[1] and shapes[0][1] == (len(X), 10)


def test_the_class_set_is_a_required_public_parameter(neighbours):
    (X, y), _ = neighbours
    with pytest.raises(ValueError, match="classes is required"):
        DPSGDClassifier(**KW).fit(X, y)
    with pytest.raises(ValueError, match="labels outside classes"):
        DPSGDClassifier(classes=range(5), **KW).fit(X, y)
    with pytest.raises(ValueError, match="at least two distinct"):
        DPSGDClassifier(classes=[1, 1], **KW).fit(X, y)
