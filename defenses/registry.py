"""The defenses, each registered once: its knob, label, plot style, what it protects and how to build it.

Experiments, figures and claims look a defense up here by the name of a sweep setting
(:class:`validation.sweep.Setting` ``defense``) instead of branching on names, so a new defense is its own
module plus one :meth:`Registry.register` call. There is one registry per model family, since a name
such as ``"MID"`` means MID regression on the tabular figures of linear models and the MID criterion of
ID3 on those of trees:

* :data:`NEURAL` — image classifiers: ``undefended``, ``VIB`` (MID), ``DP-SGD``; the releases of a trained
  CNN (``undefended (softmax release)``, ``rounding``, ``uniform noise``, ``logit mixing``) and of a trained
  VIB (``VIB (mean latent)``); the private update step (``DP update step``);
* :data:`TREE` — ``ID3 (no defense)``, ``MID`` (MID-ID3), ``DP-ID3``, ``Priority``;
* :data:`LINEAR` — ``undefended`` (OLS), ``MID`` (MID regression), ``AdaSSP``.

A :class:`Defense` is one of three kinds:

* ``"model"`` — a trained model: ``build(value, **context)`` returns the unfitted estimator for knob value
  ``value`` (None for a defense without a knob). The context of a family is fixed: neural —
  ``training`` (a :class:`TrainingConfig`), ``seed``, ``device`` and ``classes`` (the public label set, which
  DP-SGD must not read off its private sample); tree — ``max_depth``, ``quality`` (DP-ID3's split quality),
  ``seed`` and ``sensitive`` (the sensitive columns); linear — ``delta``, ``x_bound``, ``y_bound``,
  ``calibration`` and ``random_state``. A builder takes what it needs and ignores the rest.
* ``"release"`` — what the trained model of the defense ``base`` releases: ``perturbation(value, seed)``
  returns the :class:`~defenses.output.OutputPerturbation` of its probability vectors, or ``view(model)``
  the fitted model released another way (VIB with z = μ).
* ``"update"`` — the update step of the trained model of ``base``: ``update(value, training)`` returns the
  :class:`~defenses.neural.PrivateUpdate`.

Registering a name twice, or looking up a name that is not registered, raises one ``ValueError`` naming the
registered defenses. Builders import their estimators when called, so the registry (and the figures that
read its styles) import without PyTorch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["KINDS", "LINEAR", "NEURAL", "TREE", "Defense", "Registry", "Style", "TrainingConfig"]

#: The kinds of defense: a trained model, a release of a trained model, an update step of a trained model.
KINDS = ("model", "release", "update")


@dataclass(frozen=True)
class TrainingConfig:
    """How the neural target models of an experiment are trained, whatever their defense.

    The experiment configurations (:class:`validation.neural.FacesConfig`,
    :class:`validation.update_leaks.UpdateLeaksConfig`, :class:`validation.gmi.GMIConfig`) extend it, so a
    configuration is itself the training config its defenses are built from.

    Attributes
    ----------
    architecture : str
        Encoder of :func:`defenses.neural.build_module` (``"cnn-s"``, ``"cnn-strided"``, ...).
    epochs, batch_size, lr, patience : int, int, float, int
        Training of the undefended and VIB models (Adam; early stopping after ``patience`` epochs).
    dp_lr, dp_batch_size : float, int
        DP-SGD's learning rate and expected (Poisson) batch size.
    max_grad_norm, delta : float
        Per-example clipping norm and δ of DP-SGD and of a private update step.
    """

    architecture: str = "cnn-s"
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    patience: int = 5
    dp_lr: float = 3e-3
    dp_batch_size: int = 64
    max_grad_norm: float = 1.0
    delta: float = 1e-5

    def common(self, seed, device: str) -> dict[str, Any]:
        """The estimator arguments every neural defense shares (a seed, no progress bar)."""
        return {"architecture": self.architecture, "epochs": self.epochs, "patience": self.patience,
                "device": device, "random_state": seed, "progress": False}


@dataclass(frozen=True)
class Style:
    """How a defense's series is drawn: matplotlib colour, marker and line style, and where its knob labels
    sit beside the points (offset in points)."""

    color: str
    marker: str
    line: str = "-"
    offset: tuple[int, int] = (4, 4)


@dataclass(frozen=True)
class Defense:
    """One defense: a name (the sweep settings' ``defense``), its knob and how to build it.

    Attributes
    ----------
    name : str
        The name in sweep settings, result stores and figure JSON.
    kind : str
        ``"model"``, ``"release"`` or ``"update"`` (module docstring).
    label : str
        Legend label.
    style : Style
        Colour, marker and line of its series.
    protects : str
        Which record it protects, and how (drawn in the Update-Leaks legends).
    knob, symbol : str or None
        The knob's name in settings (a constructor argument where it is one) and its symbol on plots.
    base : str or None
        For a release or an update step: the trained defense whose model is released or updated.
    stochastic : bool
        Whether two queries of one input can get different answers (then an attacker averages over queries).
    accounted : bool
        Whether its models carry a privacy accountant's ε (``epsilon_``: metrics ``eps_rdp``, ``eps_prv``).
    build, perturbation, view, update : callable or None
        The builder of its kind (module docstring).
    """

    name: str
    kind: str
    label: str
    style: Style
    protects: str = ""
    knob: str | None = None
    symbol: str | None = None
    base: str | None = None
    stochastic: bool = False
    accounted: bool = False
    build: Callable[..., Any] | None = None
    perturbation: Callable[..., Any] | None = None
    view: Callable[[Any], Any] | None = None
    update: Callable[..., Any] | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a defense needs a non-empty name, got {self.name!r}")
        if self.kind not in KINDS:
            raise ValueError(f"defense {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        needs = {"model": ("build",), "release": ("perturbation", "view"), "update": ("update",)}[self.kind]
        if not any(callable(getattr(self, n)) for n in needs):
            raise ValueError(f"defense {self.name!r} of kind {self.kind!r} needs a callable "
                             f"{' or '.join(needs)}")
        if self.kind != "model" and not self.base:
            raise ValueError(f"defense {self.name!r} of kind {self.kind!r} needs base= (the trained defense "
                             "whose model it releases or updates)")

    @property
    def trained(self) -> str:
        """The defense whose model is trained for it (itself, or its ``base``)."""
        return self.name if self.kind == "model" else self.base


class Registry:
    """The defenses of one model family, by name (module docstring)."""

    def __init__(self, family: str):
        self.family = family
        self._defenses: dict[str, Defense] = {}

    def register(self, defense: Defense) -> Defense:
        """Add ``defense``; a name registered already, or a base that is not, raises ValueError."""
        if not isinstance(defense, Defense):
            raise TypeError(f"register takes a Defense, got {type(defense).__name__}")
        if defense.name in self._defenses:
            raise ValueError(f"defense {defense.name!r} is registered already in the {self.family} registry")
        if defense.base is not None and defense.base not in self._defenses:
            raise ValueError(f"defense {defense.name!r}: its base {defense.base!r} is not registered in the "
                             f"{self.family} registry")
        self._defenses[defense.name] = defense
        return defense

    def unregister(self, name: str) -> Defense:
        """Remove and return the defense ``name`` (and refuse while another defense is based on it)."""
        defense = self[name]
        users = [d.name for d in self if d.base == name]
        if users:
            raise ValueError(f"defense {name!r} is the base of {users}; unregister those first")
        return self._defenses.pop(defense.name)

    def __getitem__(self, name: str) -> Defense:
        try:
            return self._defenses[name]
        except (KeyError, TypeError):
            raise ValueError(f"unknown defense {name!r} in the {self.family} registry; registered: "
                             f"{', '.join(map(repr, self._defenses))}") from None

    def get(self, name: str, default: Defense | None = None) -> Defense | None:
        """The defense ``name``, or ``default`` where it is not registered."""
        return self._defenses.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._defenses

    def __iter__(self) -> Iterator[Defense]:
        return iter(list(self._defenses.values()))

    def __len__(self) -> int:
        return len(self._defenses)

    def names(self, kind: str | None = None) -> list[str]:
        """Registered names in registration order (of one ``kind`` only, if given)."""
        return [d.name for d in self if kind is None or d.kind == kind]

    def build(self, name: str, value=None, **context):
        """The unfitted estimator of ``name`` at knob ``value``: the defense's own model, or for a release
        or an update step the model of its base (what changes is given by :meth:`perturbation`,
        :meth:`view` and :meth:`update`)."""
        defense = self[name]
        trained = self[defense.trained]
        return trained.build(value if trained is defense or trained.knob == defense.knob else None, **context)

    def style(self, name: str) -> Style:
        """The plot style of ``name``; a name not registered (a series of an older document) gets a neutral
        one instead of failing the figure."""
        defense = self.get(name)
        return defense.style if defense is not None else Style("tab:green", "^")

    def label(self, name: str) -> str:
        defense = self.get(name)
        return defense.label if defense is not None else name

    def symbol(self, name: str) -> str | None:
        defense = self.get(name)
        return None if defense is None else defense.symbol


# ------------------------------------------------------------------------------------------ neural
def _cnn(value, *, training: TrainingConfig, seed, device, classes=None):
    from defenses.neural import CNNClassifier

    return CNNClassifier(batch_size=training.batch_size, lr=training.lr, **training.common(seed, device))


def _vib(value, *, training: TrainingConfig, seed, device, classes=None):
    from defenses.neural import VIBClassifier

    return VIBClassifier(beta=value, batch_size=training.batch_size, lr=training.lr, **training.common(seed, device))


def _dpsgd(value, *, training: TrainingConfig, seed, device, classes=None):
    from defenses.neural import DPSGDClassifier

    return DPSGDClassifier(noise_multiplier=value, classes=classes, max_grad_norm=training.max_grad_norm,
                           delta=training.delta, batch_size=training.dp_batch_size, lr=training.dp_lr,
                           **training.common(seed, device))


def _identity(value, seed):
    from defenses.output import mix_uniform

    return mix_uniform(0.0)  # the identity on probabilities


def _rounding(value, seed):
    from defenses.output import round_confidences

    return round_confidences(value)


def _uniform_noise(value, seed):
    from defenses.output import add_uniform_noise

    return add_uniform_noise(value, rng=seed)


def _logit_mixing(value, seed):
    from defenses.output import mix_uniform

    return mix_uniform(value, space="logit")


def _mean_latent(model):
    """The fitted VIB ``model`` releasing the decoding of z = μ (a shallow copy: the same network)."""
    view = copy.copy(model)
    view.deterministic_eval = True
    return view


def _private_update(value, training: TrainingConfig):
    from defenses.neural import PrivateUpdate

    return PrivateUpdate.for_epsilon(value, max_grad_norm=training.max_grad_norm, delta=training.delta)


#: The image classifiers' defenses (Fig. 1, 2(c), 2(d), 3, 4(a), 4(b), the ART figure).
NEURAL = Registry("neural")
NEURAL.register(Defense("undefended", "model", "undefended", Style("black", "*"), "nothing", build=_cnn))
NEURAL.register(Defense("VIB", "model", "MID (VIB)", Style("tab:blue", "o", offset=(-34, 2)),
                        "no record with a guarantee; latent noise in every answer", knob="beta", symbol="β",
                        stochastic=True, build=_vib))
NEURAL.register(Defense("DP-SGD", "model", "DP-SGD", Style("tab:red", "s", offset=(4, -10)),
                        "the training set, (ε, δ)-DP; not the update record", knob="noise_multiplier", symbol="σ",
                        accounted=True, build=_dpsgd))
NEURAL.register(Defense("undefended (softmax release)", "release", "undefended (softmax release)", Style("0.35", "P"),
                        "nothing", base="undefended", perturbation=_identity))
NEURAL.register(Defense("rounding", "release", "rounding", Style("tab:orange", "D"),
                        "no record with a guarantee; coarser answers", knob="r", symbol="r", base="undefended",
                        perturbation=_rounding))
NEURAL.register(Defense("uniform noise", "release", "uniform noise", Style("tab:purple", "v"),
                        "no record with a guarantee; noise in every answer", knob="a", symbol="a", base="undefended",
                        stochastic=True, perturbation=_uniform_noise))
NEURAL.register(Defense("logit mixing", "release", "logit mixing", Style("tab:green", "^"),
                        "no record with a guarantee; flatter answers", knob="w", symbol="w", base="undefended",
                        perturbation=_logit_mixing))
NEURAL.register(Defense("VIB (mean latent)", "release", "VIB (mean latent)", Style("tab:cyan", "o"),
                        "no record with a guarantee; deterministic answers", knob="beta", symbol="β", base="VIB",
                        view=_mean_latent))
NEURAL.register(Defense("DP update step", "update", "DP update step", Style("tab:brown", "X"),
                        "the update record, (ε, δ)-DP", knob="epsilon", symbol="ε", base="undefended",
                        update=_private_update))


# -------------------------------------------------------------------------------------------- tree
def _id3(value, *, max_depth, **_):
    from defenses.tree import ID3Classifier

    return ID3Classifier(max_depth=max_depth)


def _mid_id3(value, *, max_depth, **_):
    from defenses.tree import ID3Classifier

    return ID3Classifier(mid_lambda=value, max_depth=max_depth)


def _dp_id3(value, *, max_depth, quality, seed, **_):
    from defenses.tree import DPID3Classifier

    return DPID3Classifier(epsilon=value, max_depth=max_depth, quality=quality, random_state=seed)


def _priority(value, *, max_depth, sensitive, **_):
    from defenses.tree import PriorityID3Classifier

    return PriorityID3Classifier(sensitive, value, max_depth=max_depth)


#: The decision trees' defenses (Fig. 2(b), 4(c), the survey table).
TREE = Registry("tree")
TREE.register(Defense("ID3 (no defense)", "model", "ID3 (no defense)", Style("black", "*"), "nothing", build=_id3))
TREE.register(Defense("MID", "model", "MID", Style("tab:red", "o"), "no record with a guarantee",
                      knob="mid_lambda", symbol="λ", build=_mid_id3))
TREE.register(Defense("DP-ID3", "model", "DP-ID3", Style("tab:blue", "o"), "the training set, ε-DP",
                      knob="epsilon", symbol="ε", build=_dp_id3))
TREE.register(Defense("Priority", "model", "Priority", Style("tab:green", "o"),
                      "the sensitive attribute, by splitting on it first", knob="priority_depth", symbol="depth",
                      build=_priority))


# ------------------------------------------------------------------------------------------ linear
def _ols(value, **_):
    from sklearn.linear_model import LinearRegression

    return LinearRegression()


def _mid_linear(value, **_):
    from defenses.linear import MIDLinearRegression

    return MIDLinearRegression(mid_lambda=float(value))


def _adassp(value, *, delta, x_bound, y_bound, calibration, random_state, **_):
    from defenses.linear import AdaSSPRegression

    return AdaSSPRegression(epsilon=float(value), delta=delta, x_bound=x_bound, y_bound=y_bound,
                            calibration=calibration, random_state=random_state)


#: The linear regressions' defenses (Fig. 2(a), the IWPC table).
LINEAR = Registry("linear")
LINEAR.register(Defense("undefended", "model", "undefended", Style("black", "*"), "nothing", build=_ols))
LINEAR.register(Defense("MID", "model", "MID", Style("tab:blue", "o"), "no record with a guarantee",
                        knob="mid_lambda", symbol="λ", build=_mid_linear))
LINEAR.register(Defense("AdaSSP", "model", "AdaSSP", Style("tab:red", "s"), "the training set, (ε, δ)-DP",
                        knob="epsilon", symbol="ε", build=_adassp))
