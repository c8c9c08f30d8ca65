"""The defense registry: one registration is all a new defense needs to enter the experiments and figures.

The toy defense here — a CNN trained with label smoothing, defined in this file — is registered once and
then, with no other edit, gets its settings in the Update-Leaks configuration, is trained and attacked by
the Update-Leaks experiment on the 8×8 digits, is described in the store header and is drawn with its own
style by the figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from defenses.registry import LINEAR, NEURAL, TREE, Defense, Registry, Style, TrainingConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMOOTHING = "label smoothing"


def _label_smoothing_cnn():
    """A new defense in a few lines: the undefended CNN with a label-smoothing loss (its knob: ``smoothing``)."""
    import torch.nn.functional as F

    from defenses.neural import CNNClassifier

    class LabelSmoothingCNN(CNNClassifier):
        def __init__(self, smoothing: float = 0.1, *, architecture="cnn-s", epochs=20, batch_size=64, lr=1e-3,
                     patience=5, device="auto", random_state=None, progress=True):
            super().__init__(architecture=architecture, epochs=epochs, batch_size=batch_size, lr=lr,
                             patience=patience, device=device, random_state=random_state, progress=progress)
            self.smoothing = smoothing

        def _loss(self, module, xb, yb, generator):
            return F.cross_entropy(module(xb), yb, label_smoothing=self.smoothing)

    return LabelSmoothingCNN


def _build(value, *, training: TrainingConfig, seed, device, classes=None):
    return _label_smoothing_cnn()(smoothing=value, batch_size=training.batch_size, lr=training.lr,
                                  **training.common(seed, device))


TOY = Defense(SMOOTHING, "model", "label smoothing", Style("tab:olive", "h"), "no record with a guarantee",
              knob="smoothing", symbol="ε_ls", build=_build)


@pytest.fixture
def toy():
    NEURAL.register(TOY)
    try:
        yield TOY
    finally:
        NEURAL.unregister(SMOOTHING)


def test_every_builtin_defense_is_registered_once_with_what_the_figures_need():
    assert NEURAL.names("model") == ["undefended", "VIB", "DP-SGD"]
    assert set(NEURAL.names("release")) == {"undefended (softmax release)", "rounding", "uniform noise",
                                            "logit mixing", "VIB (mean latent)"}
    assert NEURAL.names("update") == ["DP update step"]
    assert TREE.names() == ["ID3 (no defense)", "MID", "DP-ID3", "Priority"]
    assert LINEAR.names() == ["undefended", "MID", "AdaSSP"]
    for registry in (NEURAL, TREE, LINEAR):
        styles = [(d.style.color, d.style.marker) for d in registry]
        assert all(d.label and d.protects for d in registry)
        assert len(set(d.style.color for d in registry)) == len(styles), "two series of one family share a colour"
        assert all((d.knob is None) == (d.symbol is None) for d in registry)


def test_releases_and_update_steps_are_built_on_their_base_model():
    training = TrainingConfig(epochs=3)
    rounded = NEURAL.build("rounding", 0.1, training=training, seed=1, device="cpu")
    undefended = NEURAL.build("undefended", None, training=training, seed=1, device="cpu")
    assert type(rounded) is type(undefended) and rounded.get_params() == undefended.get_params()
    assert NEURAL.build("VIB (mean latent)", 0.01, training=training, seed=1, device="cpu").beta == 0.01
    assert NEURAL["DP update step"].update(10.0, training).max_grad_norm == training.max_grad_norm
    assert NEURAL["VIB"].stochastic and not NEURAL["VIB (mean latent)"].stochastic


def test_registering_a_name_twice_or_an_incomplete_defense_is_one_clear_error(toy):
    with pytest.raises(ValueError, match="'label smoothing' is registered already"):
        NEURAL.register(TOY)
    with pytest.raises(ValueError, match="unknown defense 'no such' in the neural registry; registered: 'undefended'"):
        NEURAL["no such"]
    with pytest.raises(ValueError, match="needs a callable build"):
        Defense("x", "model", "x", Style("k", "o"))
    with pytest.raises(ValueError, match="needs base="):
        Defense("x", "release", "x", Style("k", "o"), perturbation=lambda v, s: None)
    with pytest.raises(ValueError, match="kind must be one of"):
        Defense("x", "trained", "x", Style("k", "o"), build=_build)
    fresh = Registry("toy")
    with pytest.raises(ValueError, match="base 'undefended' is not registered"):
        fresh.register(Defense("r", "release", "r", Style("k", "o"), base="undefended", perturbation=lambda v, s: None))
    with pytest.raises(ValueError, match="is the base of"):
        NEURAL.unregister("VIB")


def test_an_unknown_defense_in_a_configuration_is_refused_before_any_work():
    from validation.gmi import GMIConfig
    from validation.neural import FacesConfig
    from validation.update_leaks import UpdateLeaksConfig

    with pytest.raises(ValueError, match="unknown defense 'label smoothing'"):
        UpdateLeaksConfig(defenses=((SMOOTHING, (0.1,)),)).check()
    with pytest.raises(ValueError, match="unknown defense"):
        FacesConfig(defenses=((SMOOTHING, (0.1,)),)).settings()
    with pytest.raises(ValueError, match="give it at least one value"):
        GMIConfig(defenses=(("VIB", ()),)).settings()


def test_a_registered_defense_runs_in_the_update_leaks_experiment_with_no_other_edit(toy):
    from dataclasses import replace

    from paper_figs.fig2c import knob_label, series_style
    from validation.configs import describe
    from validation.sweep import Setting
    from validation.update_leaks import UpdateLeaksConfig, UpdateLeaksExperiment

    config = UpdateLeaksConfig(dataset="digits", n_target=150, n_shadow=150, n_shadow_updates=120, n_target_updates=60,
                               n_test=100, epochs=2, patience=2, batch_size=50, attack_rounds=1,
                               attack_epochs_per_round=2, betas=(), noise_multipliers=(), vib_mean_latent=False,
                               update_epsilons=(), n_seeds=1, queries=(1, 3))
    assert "defenses" not in describe(config)  # stores written before the field resume
    config = replace(config, defenses=((SMOOTHING, (0.2,)),))
    config.check()
    setting = Setting(SMOOTHING, "smoothing", 0.2)
    assert config.settings() == [Setting("undefended", None, None), setting]
    assert describe(config)["defenses"] == [[SMOOTHING, [0.2]]]

    out = UpdateLeaksExperiment(config, device="cpu")(setting, 0)
    assert 0.0 <= out["attack"] <= 1.0 and 0.0 <= out["utility"] <= 1.0 and out["attack_trials"] == 60
    assert out["attack_q3"] == out["attack"]  # a deterministic model: every query answered alike
    assert "noise_multiplier" not in out and "kl_nats" not in out  # no accountant, no stochastic encoder
    from validation.configs import make_target

    model = make_target(setting, config, seed=5, device="cpu", classes=np.arange(10))
    assert type(model).__name__ == "LabelSmoothingCNN" and model.smoothing == 0.2 and model.epochs == 2

    series = {"defense": SMOOTHING, "knob": "smoothing"}
    assert series_style(series) == ("tab:olive", "h", "label smoothing")
    assert knob_label(series, {"knob": 0.2}) == "ε_ls=0.2"
