"""What the neural experiments share: the defenses' targets, the configurations' descriptions and the scale.

* :func:`make_target`, :func:`make_release`, :func:`make_view`, :func:`make_update` — a sweep setting's
  target built through the defense registry (:data:`defenses.registry.NEURAL`), with the experiment
  configuration as the shared :class:`~defenses.registry.TrainingConfig` (every neural configuration
  extends it). No experiment branches on a defense's name.
* :func:`grid_settings` — the settings of further registered defenses a configuration names in its
  ``defenses`` field (a new defense enters an experiment through its configuration, not through its code).
* :func:`describe` — a configuration as the JSON description stored in its result store's header.
* :data:`SCALES`, :func:`choose_scale`, :func:`scale_line` — an experiment's scale (``quick``, ``cpu``,
  ``full``): the default follows the device and is said in one line, never chosen silently.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from defenses.registry import NEURAL, Defense, Registry, TrainingConfig
from validation.sweep import Setting

logger = logging.getLogger(__name__)

__all__ = ["MATCHED", "SCALES", "UNDEFENDED", "choose_scale", "describe", "grid_settings", "jsonable", "make_release", "make_target",
           "make_update", "make_view", "quick_scale", "scale_line", "settings_of"]

#: The reference every comparison is made against.
UNDEFENDED = "undefended"
#: The trained defenses the paper compares at matched test accuracy (VIB, i.e. MID, against DP-SGD).
MATCHED = ("VIB", "DP-SGD")
#: The scales of an experiment: the quick check, the configuration sized for a CPU machine, the full one.
SCALES = ("quick", "cpu", "full")


def jsonable(obj: Any) -> Any:
    """``obj`` with every tuple turned into a list, recursively (what JSON stores)."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def describe(config: Any) -> Any:
    """The JSON description of a configuration dataclass (nested ones included), as result stores hold it.

    Fields are listed in declaration order, except that the fields of the shared
    :class:`~defenses.registry.TrainingConfig` stand after the field the class names in ``TRAINING_AFTER``,
    where they stood before the configurations shared them (a store written then resumes: its header is
    unchanged byte for byte). A field declared with ``metadata={"described": "if set"}`` is left out while
    it holds its default, for the same reason.
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        return jsonable(config)
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.metadata.get("described") == "if set" and value == f.default:
            continue
        out[f.name] = describe(value) if dataclasses.is_dataclass(value) else jsonable(value)
    after = getattr(type(config), "TRAINING_AFTER", None)
    if after is None:
        return out
    training = [f.name for f in dataclasses.fields(TrainingConfig)]
    own = [k for k in out if k not in training]
    at = own.index(after) + 1
    return {k: out[k] for k in own[:at] + training + own[at:]}


def grid_settings(grids, registry: Registry = NEURAL) -> list[Setting]:
    """The settings of ``grids`` — pairs ``(defense name, knob values)``, the values ignored (give ``()``)
    for a defense without a knob; an unknown name raises ValueError."""
    out = []
    for name, values in grids:
        defense = registry[name]
        if defense.knob is None:
            out.append(Setting(name, None, None))
        else:
            if not values:
                raise ValueError(f"defense {name!r} has the knob {defense.knob!r}: give it at least one value")
            out += [Setting(name, defense.knob, float(v)) for v in values]
    return out


def settings_of(name: str, values=(), registry: Registry = NEURAL) -> list[Setting]:
    """The settings of one registered defense over the knob values ``values``: one setting for a defense
    without a knob, none for an empty grid."""
    if registry[name].knob is not None and not values:
        return []
    return grid_settings([(name, values)], registry)


def _defense(setting: Setting) -> Defense:
    return NEURAL[setting.defense]


def make_target(setting: Setting, training: TrainingConfig, seed, device: str = "auto", classes=None, *,
                released: bool = False):
    """The unfitted estimator of ``setting`` (a release's or an update step's: the model of its base).

    ``training`` is the experiment's configuration (a :class:`~defenses.registry.TrainingConfig`); ``classes``
    the public label set. ``released=True`` wraps the estimator of an output-perturbation release in its
    :class:`~defenses.output.OutputPerturbedClassifier` (the service as the attacker queries it), seeded
    by ``seed``.
    """
    model = NEURAL.build(setting.defense, setting.value, training=training, seed=seed, device=device, classes=classes)
    if released:
        perturbation = make_release(setting, seed)
        if perturbation is not None:
            from defenses.output import OutputPerturbedClassifier

            return OutputPerturbedClassifier(model, perturbation)
    return model


def make_release(setting: Setting, seed):
    """The output perturbation of what ``setting``'s model releases (its probability vectors), or None for
    a defense that releases its logits; ``seed`` seeds a random perturbation's released test vectors."""
    d = _defense(setting)
    return d.perturbation(setting.value, seed) if d.perturbation is not None else None


def make_view(setting: Setting):
    """The function from the fitted base model to the model as ``setting`` releases it (VIB with z = μ), or
    None."""
    return _defense(setting).view


def make_update(setting: Setting, training: TrainingConfig):
    """The service's update step of ``setting`` (a :class:`~defenses.neural.PrivateUpdate`), or None for the
    plain SGD step."""
    d = _defense(setting)
    return d.update(setting.value, training) if d.update is not None else None


def quick_scale(quick: bool, scale: str | None) -> str | None:
    """``scale`` of a call that may also say ``quick=True`` (the older spelling of ``scale="quick"``);
    ``quick=True`` with another scale raises ValueError."""
    if scale is not None and scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    if quick:
        if scale not in (None, "quick"):
            raise ValueError(f"quick=True is scale='quick'; it contradicts scale={scale!r}")
        return "quick"
    return scale


def choose_scale(scale: str | None, device: str = "auto", *, has_cpu: bool = True) -> tuple[str, str]:
    """``(scale, why)``: ``scale`` where given; else ``"full"`` on a CUDA device, otherwise ``"cpu"`` for
    experiments with a CPU configuration (``has_cpu``) and ``"full"`` for those without (then no device is
    looked at, so a run of non-neural experiments never imports torch)."""
    if scale is not None:
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
        return scale, "asked for"
    if not has_cpu:
        return "full", "the default: no CPU configuration"
    if _on_cuda(device):
        return "full", "the default on a CUDA device"
    return "cpu", "the default without a CUDA device"


def _on_cuda(device: str) -> bool:
    if device not in (None, "auto") and not str(device).startswith("cuda"):
        return False
    try:
        from defenses.neural import resolve_device
    except ImportError:  # no torch: no CUDA device either
        return False
    return resolve_device(device or "auto").type == "cuda"


def scale_line(prog: str, scale: str, why: str, *, device: str = "auto", what: str = "", neural: bool = True) -> str:
    """The one line a run says about its scale: which, why, and, for ``full`` asked for without a CUDA device
    (``neural`` experiments), that it will be slow."""
    line = f"{prog}: scale {scale} ({why}{'; ' + what if what else ''})"
    if scale == "full" and why == "asked for" and neural and not _on_cuda(device):
        line += "; no CUDA device: the full neural configurations take many CPU-hours"
    elif scale == "cpu" and why != "asked for":
        line += "; --scale full runs the full configurations"
    return line
