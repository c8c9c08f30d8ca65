"""Verdicts on the paper's claims, computed from the figures' JSON documents (used by :mod:`paper_figs.report`).

A figure module lists the claims its figure tests in a module attribute ``CLAIMS``: dicts with ``id``,
``figure``, ``quote`` (the paper's sentence, verbatim) and ``evaluate(doc) -> verdict``, the verdict a
:func:`verdict` record. The rules are fixed before looking at the numbers: the relevant utility range of
each comparison, the smallest effect worth detecting (:data:`EFFECT`), the equivalence margins. The
statistics are those of :mod:`validation.statistics`; docs/figures.md states every rule in words.

Verdict words (:data:`VERDICTS`):

- **reproduced** — the effect's interval lies on the claim's side (inside the margin for a claim of no
  effect), within the claim's relevant range;
- **partly** — the claim holds significantly at some comparison levels and fails significantly at others
  (Holm-corrected; the row shows the balance), or holds for one of the things it names and fails for another;
- **not reproduced** — the interval excludes the effect the claim needs (a meaningful one) without
  showing its opposite;
- **refuted** — the interval lies on the opposite side (beyond the margin for a claim of no effect), or an
  exact computation contradicts the statement;
- **inconclusive** — the interval holds both no effect and a meaningful one: more seeds are needed (the
  row says roughly how many, from the observed variance);
- **no signal** — the setting cannot carry the claim: the attack is not above the attacker that uses no
  model, or the model is not above chance utility;
- **not measured** — the figure did not run, or its data do not reach what the claim needs;
- **not needed** — an assumption of the theory that the result does not require.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from validation.statistics import (
    Estimate,
    contrast,
    effective_trials,
    equivalence,
    floor_variance,
    frontier_gap,
    holm,
    runs_needed,
    stratified_spearman,
)

VERDICTS = ("reproduced", "partly", "not reproduced", "refuted", "inconclusive", "no signal", "not measured",
            "not needed")
#: Rows computed exactly (no sampling) and rows measured over seeds or splits.
EXACT, EMPIRICAL = "exact", "empirical"
#: The smallest difference in an attack's accuracy or F1 worth detecting (5 points), fixed before looking:
#: an interval that excludes it in the claim's direction makes a claim "not reproduced", one that holds it
#: and 0 makes it "inconclusive", and the power estimate asks for the seeds that detect it.
EFFECT = 0.05
ALPHA = 0.05


def verdict(measurement: str, word: str, *, rule: str, detail: str = "", ci: Sequence[float] | None = None,
            ci_of: str = "", ci_method: str = "", level: float = 0.95, kind: str = EMPIRICAL,
            runs: int | None = None, unit: str | None = None, redraws: str = "", needed: float | None = None,
            test: dict[str, Any] | None = None) -> dict[str, Any]:
    """A verdict record.

    ``rule`` is the one sentence saying how ``word`` (one of :data:`VERDICTS`) was reached; ``ci`` the
    interval the verdict used (``level``, ``ci_method``; ``ci_of`` names its quantity); ``runs``/``unit``
    the seeds or splits it rests on; ``needed`` the runs that would likely resolve an inconclusive row
    (``inf``: no number of splits of this table would); ``test`` how ``ci`` decides ``word`` (the report
    checks that they agree).
    """
    if word not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {word!r}")
    if kind not in (EXACT, EMPIRICAL):
        raise ValueError(f"kind must be {EXACT!r} or {EMPIRICAL!r}, got {kind!r}")
    return {"measurement": measurement, "verdict": word, "rule": rule, "detail": detail,
            "ci": None if ci is None else [float(ci[0]), float(ci[1])], "ci_of": ci_of, "ci_method": ci_method,
            "ci_level": level, "kind": kind, "runs": runs, "unit": unit, "redraws": redraws,
            "needed": None if needed is None or (isinstance(needed, float) and math.isnan(needed)) else
            (float(needed) if math.isinf(needed) else int(needed)), "test": test}


def agrees(v: dict[str, Any]) -> bool:
    """Whether a verdict's word is what its own interval and test give (the report shows that interval in
    bold beside the badge, so they must never disagree)."""
    test, ci, word = v.get("test"), v.get("ci"), v["verdict"]
    if not test or test["type"] in ("exact", "trend"):
        return True
    if ci is None:
        return word in ("inconclusive", "not measured", "no signal")
    lo, hi = ci
    if test["type"] == "directional":
        s, m, d = test["sign"], test["threshold"], test["effect"]
        return word == directional_word((lo, hi), s, m, d)
    if test["type"] == "existence":
        a, b = sorted((test["sign"] * lo, test["sign"] * hi))
        return {"reproduced": a > 0, "not reproduced": b < test["effect"],
                "inconclusive": a <= 0 <= b and b >= test["effect"]}.get(word, False)
    if test["type"] == "signal":  # shown absent, or (a decisive comparison made) undetermined
        absent = hi < test["effect"] if test["effect"] > 0 else hi <= 0
        return {"no signal": absent, "inconclusive": lo <= 0 and not absent}.get(word, False)
    if test["type"] == "equivalence":
        inside, beyond = test["lower"] < lo and hi < test["upper"], lo > test["upper"] or hi < test["lower"]
        return {"reproduced": inside, "refuted": beyond}.get(word, not inside and not beyond)
    raise ValueError(f"unknown test type {test['type']!r}")


def exact(measurement: str, word: str, *, rule: str, detail: str = "") -> dict[str, Any]:
    """A verdict from an exact computation (no sampling, no interval)."""
    return verdict(measurement, word, rule=rule, detail=detail, kind=EXACT, test={"type": "exact"})


def not_measured(measurement: str, detail: str = "", rule: str = "", r: Replication | None = None) -> dict[str, Any]:
    """A "not measured" verdict (``r``: the runs the figure has, where it has some)."""
    return verdict(measurement, "not measured", rule=rule or "the figure's data do not reach what the claim needs",
                   detail=detail, **({} if r is None else _runs_of(r)))


def series_by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["defense"]: s for s in doc.get("series", [])}


# ------------------------------------------------------------------------------------------ replication


@dataclass(frozen=True)
class Replication:
    """The units of replication of a figure (``doc["replication"]``): ``n`` seeds or splits, what each
    re-draws and what stays fixed, and ``ratio`` = n_test/n_train of overlapping splits (0: independent)."""

    n: int
    unit: str
    ratio: float = 0.0
    redraws: str = ""
    fixed: str = ""


def replication(doc: dict[str, Any]) -> Replication:
    """The figure's :class:`Replication`; documents without ``replication`` are read from their settings."""
    r = doc.get("replication")
    if r:
        return Replication(int(r["n"]), r["unit"], float(r.get("test_train_ratio", 0.0)), r.get("redraws", ""),
                           r.get("fixed", ""))
    s = doc.get("settings") or {}
    if "n_splits" in s:
        return Replication(int(s["n_splits"]), "splits", float(s.get("test_train_ratio", 0.25)))
    return Replication(int(s.get("n_seeds", 1)), "seeds")


def _runs_of(r: Replication) -> dict[str, Any]:
    return {"runs": r.n, "unit": r.unit, "redraws": r.redraws}


def needed_runs(sd: float, effect: float, r: Replication) -> float | None:
    """Seeds or splits that would likely detect ``effect`` given the per-run standard deviation ``sd``."""
    return runs_needed(sd, effect, r.ratio) if effect > 0 and math.isfinite(sd) else None


def _values(point: dict[str, Any], metric: str) -> np.ndarray:
    values = (point.get("values") or {}).get(metric)
    if values is None:
        raise KeyError(f"no per-run values of {metric!r} in the figure's JSON (made before they were kept)")
    return np.asarray(values, float)


def _trials(point: dict[str, Any], metric: str) -> np.ndarray | None:
    t = (point.get("trials") or {}).get(metric)
    return None if t is None else np.asarray(t, float)


def _floor(points_weights: Sequence[tuple[dict[str, Any], float]], metric: str, r: Replication) -> float:
    """Binomial floor variance of ``Σ w·mean(metric)`` over (point, weight) pairs; 0 if a point has no counts."""
    total = 0.0
    for p, w in points_weights:
        t = _trials(p, metric)
        if t is None or t.sum() <= 0:
            return 0.0
        v = _values(p, metric)
        total += w * w * floor_variance(float(np.clip(np.dot(v, t) / t.sum(), 0, 1)), effective_trials(t.sum(), r.n, r.ratio))
    return total


def paired(a: dict[str, Any], b: dict[str, Any], metric: str, r: Replication) -> Estimate:
    """``metric`` of point ``a`` minus that of point ``b``, run by run (same seed or split), with the
    binomial floor of both points' counts where both have them."""
    diff = _values(a, metric) - _values(b, metric)
    return contrast(diff, ratio=r.ratio, floor_var=_floor([(a, 1.0), (b, -1.0)], metric, r))


def _fmt(iv: Sequence[float] | None) -> str:
    return "n/a" if iv is None else f"[{iv[0]:+.3f}, {iv[1]:+.3f}]"


def _knob(series: dict, point: dict) -> str:
    if series.get("knob") is None:
        return series["defense"]
    k = point["knob"]
    return f"{series['knob']}={k:g}" if isinstance(k, (int, float)) else f"{series['knob']}={k}"


# ----------------------------------------------------------------------------------------------- signal


def _baseline_values(doc: dict[str, Any], key: str) -> np.ndarray | None:
    v = ((doc.get("baseline") or {}).get("values") or {}).get(key)
    return None if v is None else np.asarray(v, float)


def signal(doc: dict[str, Any], point: dict[str, Any], attack: str, no_model: Sequence[str],
           r: Replication) -> tuple[str | None, str, dict[str, Any]]:
    """Is the attack on ``point`` (the undefended model) above the best attacker that uses no model?

    Reads, in this order: the point's per-run ``gain_test`` (attack minus the no-model attack on the same
    split), ``baseline.attack_no_model``, then the figure's other no-model baselines ``no_model`` (the one
    with the highest mean). Paired run by run where the baseline has per-run values, else from the two
    intervals (normal approximation). Returns the status — "present" when the difference's 95% interval
    lies above 0, "absent" when it lies below :data:`EFFECT` (the attack adds at most a negligible amount to
    what a no-model attacker infers), "undetermined" otherwise, None when the JSON has no baseline — with
    words and the interval fields of a verdict resting on it.
    """
    base = doc.get("baseline") or {}
    if attack == "attack_test" and "gain_test" in (point.get("values") or {}):
        est = contrast(_values(point, "gain_test"), ratio=r.ratio, floor_var=_floor([(point, 1.0)], attack, r))
        name, mean = "the no-model attacker (known attributes and label)", point[attack] - point["gain_test"]
    else:
        keys = [k for k in ("attack_no_model", *no_model) if isinstance(base.get(k), (int, float))]
        if not keys:
            return None, "the figure's JSON has no no-model baseline to compare the attack with", {}
        key = max(keys, key=lambda k: base[k])
        metrics = doc.get("metrics") or {}
        name = (base.get(f"{key}_name") or metrics.get(f"baseline.{key}")
                or metrics.get(f"baseline.{key.removesuffix('_test')}") or key.replace("_", " "))
        mean = float(base[key])
        b = _baseline_values(doc, key)
        if b is not None and len(b) == r.n:
            est = contrast(_values(point, attack) - b, ratio=r.ratio, floor_var=_floor([(point, 1.0)], attack, r))
        else:  # unpaired: the two intervals' half-widths as 1.96 standard errors
            ci_a, ci_b = point.get(f"{attack}_ci"), base.get(f"{key}_ci")
            if ci_a is None or ci_b is None:
                return None, f"no interval for the attack or for {key}", {}
            se = math.hypot(ci_a[1] - ci_a[0], ci_b[1] - ci_b[0]) / (2 * 1.959964)
            est = Estimate(point[attack] - mean, se, None, "unpaired normal approximation", r.n)
    iv = est.interval()
    words = f"undefended attack {point[attack]:.3f} vs {name} {mean:.3f}: difference {est.value:+.3f}"
    fields = {"ci": iv, "ci_of": "the undefended attack minus the best no-model attacker", "ci_method": est.method,
              "test": {"type": "signal", "effect": EFFECT}}
    status = ("undetermined" if iv is None else "present" if iv[0] > 0 else "absent" if iv[1] < EFFECT
              else "undetermined")
    return status, words + ("" if iv is None else f" {_fmt(iv)}"), fields


def utility_signal(doc: dict[str, Any], point: dict[str, Any], utility: str, higher_is_better: bool,
                   chance_key: str | None) -> tuple[str | None, str, dict[str, Any]]:
    """Is the undefended model's utility interval on the useful side of ``baseline.utility_chance`` (or of
    ``baseline[chance_key]``, the figure's chance level where its utility is an accuracy)? "present" when
    wholly beyond it, "absent" when wholly at or below it, "undetermined" otherwise."""
    base = doc.get("baseline") or {}
    key = "utility_chance" if "utility_chance" in base else chance_key
    if key is None or key not in base:
        return None, "", {}
    ci = point.get(f"{utility}_ci") or [point[utility]] * 2
    chance = float(base[key])
    sign = 1.0 if higher_is_better else -1.0
    lo, hi = sorted(sign * (c - chance) for c in ci)
    fields = {"ci": [lo, hi], "ci_of": "the undefended model's utility beyond chance",
              "ci_method": point.get(f"{utility}_ci_method", ""), "test": {"type": "signal", "effect": 0.0}}
    status = "present" if lo > 0 else "absent" if hi <= 0 else "undetermined"
    return status, f"undefended utility {point[utility]:.3f} [{ci[0]:.3f}, {ci[1]:.3f}] vs chance {chance:.3f}", fields


def signal_gate(doc, ref, attack, utility, higher_is_better, no_model, chance_key,
                r) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``(no_signal_verdict, caveat)``: a "no signal" verdict when the undefended model's utility or attack
    is shown to carry none; else a caveat (words and interval) when that is undetermined; else two Nones."""
    caveat = None
    for status, words, fields, rule in (
            (*utility_signal(doc, ref, utility, higher_is_better, chance_key), UTILITY_RULE),
            (*signal(doc, ref, attack, no_model, r), NO_SIGNAL_RULE)):
        if status == "absent":
            return verdict(words, "no signal", rule=rule, **fields, **_runs_of(r)), None
        if status == "undetermined" and caveat is None:
            caveat = {"words": words, **fields}
    return None, caveat


def with_caveat(v: dict[str, Any], caveat: dict[str, Any] | None) -> dict[str, Any]:
    """A decisive verdict (reproduced, refuted, partly) becomes "inconclusive" when the setting's signal is
    undetermined: whether the attack carries anything beyond a no-model attacker is itself unknown."""
    if caveat is None:
        return v
    if v["verdict"] not in ("reproduced", "refuted", "partly"):
        v["detail"] = (v["detail"] + "; " if v["detail"] else "") + f"signal undetermined: {caveat['words']}"
        return v
    return verdict(f"{v['measurement']}; but {caveat['words']}", "inconclusive", ci=caveat["ci"],
                   ci_of=caveat["ci_of"], ci_method=caveat["ci_method"], test=caveat["test"],
                   rule=("inconclusive: the comparison alone reads " + v["verdict"] + ", but whether the undefended "
                         "model carries a signal (attack above the best no-model attacker, utility above chance) "
                         "is itself undetermined"),
                   detail=f"the comparison alone: {v['verdict']}, {_fmt(v['ci'])} ({v['ci_of']}); {v['detail']}",
                   runs=v["runs"], unit=v["unit"], redraws=v["redraws"])


UTILITY_RULE = "no signal: the undefended model's utility interval does not clear chance, so no trade-off can be read"
NO_SIGNAL_RULE = (f"no signal: the attack on the undefended model exceeds the best attacker that uses no model by "
                  f"less than {EFFECT:g} (the 95% interval of the difference lies below it), so no defense can show a "
                  "reduction that matters")


# ------------------------------------------------------------------------------------------------- ranges


@dataclass(frozen=True)
class UtilityRange:
    """The practically relevant utility range of a claim, declared before looking.

    ``within`` / ``relative``: utilities at most this far from the undefended model's on the less useful
    side, absolute (5 points of accuracy) or as a fraction of it (10%); with both, the wider of the two
    (a model is relevant when it is within 5 points *or* within 10% of the undefended one); an MSE has no
    points, so only ``relative`` applies to it. ``paper``: the paper's own range ``(lo, hi)`` in utility
    units (None: open). None of them: every level both defenses reach.
    """

    within: float | None = None
    relative: float | None = None
    paper: tuple[float | None, float | None] | None = None

    def slack(self, reference: float) -> float:
        return max(self.within or 0.0, (self.relative or 0.0) * abs(reference))

    def describe(self, label: str, higher_is_better: bool, reference: float | None) -> str:
        if self.paper is not None:
            lo, hi = self.paper
            parts = ([f"≥ {lo:g}"] if lo is not None else []) + ([f"≤ {hi:g}"] if hi is not None else [])
            return f"the paper's range, {label} {' and '.join(parts)}"
        if self.within is None and self.relative is None:
            return f"every {label} level both defenses reach"
        how = " or ".join(([f"{self.within:g}"] if self.within is not None else [])
                          + ([f"{self.relative:.0%}"] if self.relative is not None else []))
        return (f"{label} within {how} of the undefended model's {reference:.3g} (to "
                f"{reference + (-1 if higher_is_better else 1) * self.slack(reference):.3g})")

    def oriented(self, reference: float | None, sign: float) -> tuple[float, float]:
        """The acceptable range in oriented utility (``x = sign·u``, larger is more useful)."""
        if self.paper is not None:
            lo, hi = (-math.inf if self.paper[0] is None else self.paper[0],
                      math.inf if self.paper[1] is None else self.paper[1])
            a, b = sorted((sign * lo, sign * hi))
            return a, b
        if self.within is None and self.relative is None:
            return -math.inf, math.inf
        return sign * reference - self.slack(reference), math.inf


#: The default range of a claim on an accuracy or F1 (within 5 points or 10% of the undefended model).
WITHIN_5_POINTS = UtilityRange(within=0.05, relative=0.10)
WITHIN_10_PERCENT = UtilityRange(relative=0.10)
COMMON_RANGE = UtilityRange()


def _anchored(points: list[dict[str, Any]], utility: str, span: float) -> tuple[list[dict[str, Any]], int]:
    """The points whose utility interval is narrower than half the axis (``span``): the others cannot
    anchor a utility level and are left out (their number is returned)."""
    keep = [p for p in points if p.get(f"{utility}_ci") is None
            or p[f"{utility}_ci"][1] - p[f"{utility}_ci"][0] <= span / 2]
    return keep, len(points) - len(keep)


def directional_word(iv: tuple[float, float] | None, sign: int, threshold: float, effect: float) -> str:
    """The word for a claim that ``sign·effect > threshold`` from the effect's interval ``iv``."""
    if iv is None:
        return "inconclusive"
    lo, hi = sorted((sign * iv[0], sign * iv[1]))
    if lo > threshold:
        return "reproduced"
    if hi < 0:
        return "refuted"
    if hi < max(threshold, effect):
        return "not reproduced"
    return "inconclusive"


def directional_rule(sign_words: str, threshold: float, effect: float) -> str:
    need = f"beyond {threshold:g}" if threshold > 0 else "of the claimed sign"
    return (f"reproduced if the 95% interval of {sign_words} lies wholly {need}; refuted if it lies wholly on the "
            f"other side of 0; not reproduced if it excludes a {max(threshold, effect):g} effect in the claimed "
            "direction without excluding 0; inconclusive otherwise")


# ---------------------------------------------------------------------------------------------- trade-offs


def compare_tradeoffs(doc: dict[str, Any], ours: str, theirs: str, *, attack: str = "attack_test",
                      utility: str = "utility", higher_is_better: bool = True, reference: str = "undefended",
                      relevant: UtilityRange = WITHIN_5_POINTS, margin: float = 0.0, effect: float = EFFECT,
                      existence: bool = False, no_model: Sequence[str] = (), chance: str | None = None,
                      utility_is_proportion: bool = True, check_signal: bool = True,
                      signal_on: tuple[str, str, bool] | None = None,
                      attack_label: str = "attack", utility_label: str = "utility") -> dict[str, Any]:
    """Does ``ours`` give a lower ``attack`` than ``theirs`` at equal ``utility``, over the relevant range?

    One effect: the mean vertical gap ``ours − theirs`` between the two defenses' monotone interpolated
    frontiers (:class:`validation.statistics.Frontier`) over the relevant utility range, computed per seed
    or split (the same weights on each run's values) and given the paired t or corrected resampled-t
    interval with its binomial floor (:func:`validation.statistics.frontier_gap`). Every frontier utility
    inside the range is also a comparison level, tested one by one with Holm's correction: wins and losses
    both significant make the row "partly". ``margin`` > 0 asks for a gap beyond it ("by a large margin");
    ``existence`` asks only for one significant win ("occasionally"). Points whose utility interval spans
    half the utility axis are left out (they cannot anchor a level). "no signal" when the undefended model
    (``reference``) carries none (:func:`signal`, :func:`utility_signal`; ``check_signal``), read on
    ``signal_on`` = (attack, utility, utility higher is better) where the compared axes are others (ECE
    against the attack: the attack and the test accuracy).
    """
    by = series_by_name(doc)
    r = replication(doc)
    missing = [n for n in (ours, theirs) if n not in by]
    if missing:
        return not_measured(f"no {missing[0]} series in the figure")
    ref = by[reference]["points"][0] if reference in by else None
    if check_signal and ref is not None:
        sig_attack, sig_utility, sig_higher = signal_on or (attack, utility, higher_is_better)
        bad, caveat = signal_gate(doc, ref, sig_attack, sig_utility, sig_higher, no_model, chance, r)
        alone = None
        if bad is not None or caveat is not None:
            alone = compare_tradeoffs(doc, ours, theirs, attack=attack, utility=utility,
                                      higher_is_better=higher_is_better, reference=reference, relevant=relevant,
                                      margin=margin, effect=effect, existence=existence,
                                      utility_is_proportion=utility_is_proportion, check_signal=False,
                                      no_model=no_model, chance=chance,
                                      attack_label=attack_label, utility_label=utility_label)
        if bad is not None:  # say what the comparison alone gives, so a reader sees what is set aside
            bad["detail"] = (f"set aside: the comparison alone would read {alone['verdict']} — "
                             f"{alone['measurement']} {_fmt(alone['ci'])}")
            return bad
        if alone is not None:
            return with_caveat(alone, caveat)
    sign = 1.0 if higher_is_better else -1.0
    all_u = [p[utility] for s in doc["series"] for p in s["points"]]
    span = 1.0 if utility_is_proportion else (max(all_u) - min(all_u) or 1.0)
    ref_u = None if ref is None else ref[utility]
    where = relevant.describe(utility_label, higher_is_better, ref_u)
    acc_lo, acc_hi = relevant.oriented(ref_u, sign)

    def comparison_range(a, b) -> tuple[float, float]:
        """The oriented range both frontiers cover inside the relevant one (empty when lo > hi)."""
        xa, xb = [sign * p[utility] for p in a], [sign * p[utility] for p in b]
        if not xa or not xb:
            return math.inf, -math.inf
        x_lo = acc_lo if math.isfinite(acc_lo) else max(min(xa), min(xb))
        return x_lo, min(acc_hi, max(xa), max(xb))

    pa, dropped_a = _anchored(by[ours]["points"], utility, span)
    pb, dropped_b = _anchored(by[theirs]["points"], utility, span)
    x_lo, x_hi = comparison_range(pa, pb)
    if x_lo > x_hi:
        all_lo, all_hi = comparison_range(by[ours]["points"], by[theirs]["points"])
        if all_lo <= all_hi:  # reachable, but only by settings whose utility is too uncertain to place
            return verdict(f"the settings of {ours} or {theirs} that reach the relevant range ({where}) have "
                           f"{utility_label} intervals wider than half the axis: none can anchor a level there",
                           "inconclusive", rule="inconclusive when the settings that reach the range cannot be "
                           "placed on the utility axis (utility interval wider than half of it: too few seeds)",
                           detail=f"{dropped_a + dropped_b} setting(s) left out", **_runs_of(r))
        if not math.isfinite(acc_lo):
            span_of = lambda pts: "[{:.3g}, {:.3g}]".format(*sorted((min(p[utility] for p in pts),  # noqa: E731
                                                                      max(p[utility] for p in pts))))
            return not_measured(f"{ours} and {theirs} reach no common {utility_label} level: {ours} spans "
                                f"{span_of(by[ours]['points'])}, {theirs} {span_of(by[theirs]['points'])}",
                                rule="not measured when the two frontiers share no level (never extrapolated)", r=r)
        best = {n: max(sign * p[utility] for p in by[n]["points"]) for n in (ours, theirs)}
        short = min(best, key=best.get)
        return not_measured(f"{short} has no setting in the relevant range ({where}); its most useful setting has "
                            f"{utility_label} {sign * best[short]:.3f}", "the grid does not reach the range: add "
                            f"settings of {short} closer to the undefended model", rule="not measured when a "
                            "defense's settings do not reach the claim's relevant utility range (never extrapolated)",
                            r=r)
    A = np.array([_values(p, attack) for p in pa])
    B = np.array([_values(p, attack) for p in pb])
    ta = [_trials(p, attack) for p in pa]
    tb = [_trials(p, attack) for p in pb]
    g = frontier_gap([p[utility] for p in pa], A, [p[utility] for p in pb], B, sign * x_lo, sign * x_hi,
                     higher_is_better=higher_is_better, ratio=r.ratio,
                     ours_trials=None if any(t is None for t in ta) else np.array(ta),
                     theirs_trials=None if any(t is None for t in tb) else np.array(tb))
    iv = g.estimate.interval()
    pvals = [p for _, _, p in g.levels]
    sig = holm(pvals, ALPHA)
    wins = [u for (u, e, _), s in zip(g.levels, sig) if s and e.value < 0]
    losses = [u for (u, e, _), s in zip(g.levels, sig) if s and e.value > 0]
    ties = len(g.levels) - len(wins) - len(losses)
    lo_u, hi_u = sorted((sign * x_lo, sign * x_hi))
    frontier_knobs = lambda pts, w, s: ", ".join(_knob(s, p) for p, wi in zip(pts, w) if wi > 0)  # noqa: E731
    detail = (f"levels {', '.join(f'{u:.3g}' for u, _, _ in g.levels)}: {len(wins)} significant wins, "
              f"{len(losses)} losses, {ties} ties for {ours} (Holm, α = {ALPHA:g}); the gap averages the frontiers "
              f"of {ours} ({frontier_knobs(pa, g.weights_ours, by[ours])}) and {theirs} "
              f"({frontier_knobs(pb, g.weights_theirs, by[theirs])})")
    if dropped_a or dropped_b:
        detail += f"; {dropped_a + dropped_b} setting(s) left out: utility interval wider than half the axis"
    measurement = (f"mean frontier gap {ours} − {theirs} in {attack_label} over {utility_label} in "
                   f"[{lo_u:.3g}, {hi_u:.3g}] ({where}): {g.estimate.value:+.3f}")
    common = dict(ci_method=g.estimate.method, **_runs_of(r))
    needed = needed_runs(g.estimate.sd, max(margin, effect), r)
    if existence:  # "occasionally": one significant win at some level (Holm)
        adjusted = 1 - ALPHA / len(g.levels)  # Holm rejects something iff the best p-value passes Bonferroni
        lowest = lambda lv: (lv[1].interval() or (-math.inf, 0))[0]  # noqa: E731
        if wins:
            u, e, _ = min(g.levels, key=lambda lv: lv[2])
            word, iv, level = "reproduced", e.interval(adjusted), adjusted
        elif all(lowest(lv) > -effect for lv in g.levels):
            u, e, _ = min(g.levels, key=lowest)
            word, iv, level = "not reproduced", e.interval(), 0.95
        else:
            u, e, _ = min(g.levels, key=lowest)
            word, iv, level = "inconclusive", e.interval(adjusted), adjusted
        needed = needed_runs(e.sd, effect, r) if word == "inconclusive" else None
        return verdict(measurement + f"; deciding level {u:.3g}: {e.value:+.3f}", word, ci=iv, level=level,
                       ci_of=f"the gap {ours} − {theirs} at {utility_label} {u:.3g}"
                             + (", Holm-adjusted" if level != 0.95 else ""),
                       rule=("reproduced if some level's gap is significantly below 0 (Holm); not reproduced if "
                             f"every level's 95% interval excludes a gap of −{effect:g}; inconclusive otherwise"),
                       detail=detail, needed=needed,
                       test={"type": "existence", "sign": -1, "effect": effect}, **common)
    if wins and losses:
        word = "partly"
    else:
        word = directional_word(iv, -1, margin, effect)
    rule = ("partly when both wins and losses are significant (Holm); otherwise "
            + directional_rule(f"the mean gap {ours} − {theirs} (negative: {ours} more private)", margin, effect))
    return verdict(measurement, word, ci=iv, ci_of=f"the mean frontier gap {ours} − {theirs}", rule=rule,
                   detail=detail,
                   needed=needed if word == "inconclusive" else None,
                   test=None if word == "partly" else
                   {"type": "directional", "sign": -1, "threshold": margin, "effect": effect}, **common)


# ---------------------------------------------------------------------------------------------- null claims


def not_effective(doc: dict[str, Any], *, reference: str, perturbations: Sequence[str], attack: str,
                  utility: str = "utility", higher_is_better: bool = True, within: float = 0.05,
                  margin: float = EFFECT, symbols: dict[str, str] | None = None, no_model: Sequence[str] = (),
                  undefended: str = "undefended", attack_label: str = "attack", utility_label: str = "utility"
                  ) -> dict[str, Any]:
    """"These defenses are not effective": equivalence (one-sided TOST) of each perturbation's reduction of
    ``attack`` below the unperturbed ``reference`` release, paired by seed, against ``margin``.

    Every setting whose mean ``utility`` is within ``within`` of the reference's is tested. A series is
    *ineffective* when every tested setting's 90% interval of the reduction lies below ``margin`` (an
    intersection-union test: no correction needed), *effective* when some setting's reduction is
    significantly above ``margin`` (Bonferroni over the series' settings, which is Holm's first step);
    undecided otherwise. The claim: reproduced when every series is ineffective; refuted when one is
    effective and no other is shown ineffective; partly when one of each; inconclusive otherwise.
    """
    by = series_by_name(doc)
    r = replication(doc)
    present = [n for n in perturbations if n in by]
    if reference not in by or not present:
        return not_measured("no output-perturbation series in the figure")
    ref = by[reference]["points"][0]
    sig_point = by[undefended]["points"][0] if undefended in by else ref
    status_a, words_a, fields = signal(doc, sig_point, attack, no_model, r)
    if status_a == "absent":
        return verdict(words_a, "no signal", rule=NO_SIGNAL_RULE, **fields, **_runs_of(r))
    caveat = {"words": words_a, **fields} if status_a == "undetermined" else None
    symbols = symbols or {}
    status: dict[str, str] = {}
    shown: dict[str, tuple] = {}  # per series: (point, estimate, interval, level) that decides it
    parts = []
    for name in present:
        ok = [p for p in by[name]["points"] if (p[utility] >= ref[utility] - within if higher_is_better
                                                else p[utility] <= ref[utility] + within)]
        if not ok:
            parts.append(f"{name}: no setting within {within:g} of the reference's {utility_label}")
            continue
        tests = [(p, est, est.interval(1 - 2 * ALPHA)) for p in ok for est in [paired(ref, p, attack, r)]]
        bonf = 1 - 2 * ALPHA / len(tests)  # reduction = reference − perturbed
        effective = [(p, e, e.interval(bonf), bonf) for p, e, _ in tests
                     if e.interval(bonf) is not None and e.interval(bonf)[0] > margin]
        if effective:
            status[name], shown[name] = "effective", max(effective, key=lambda t: t[1].value)
        else:
            status[name] = ("ineffective" if all(iv is not None and iv[1] < margin for _, _, iv in tests)
                            else "undecided")
            p, e, iv = max(tests, key=lambda t: math.inf if t[2] is None else t[2][1])
            shown[name] = (p, e, iv, 1 - 2 * ALPHA)
        p, e = shown[name][:2]
        sym = symbols.get(name, by[name]["knob"])
        parts.append(f"{name}: {status[name]}; largest reduction at {sym}={p['knob']:g}: {e.value:+.3f} "
                     f"{_fmt(e.interval(1 - 2 * ALPHA))} at {utility_label} {p[utility]:.3f}")
    if not status:
        return not_measured("; ".join(parts), "no perturbation setting in the relevant range", r=r)
    states = set(status.values())
    if states == {"ineffective"}:
        word = "reproduced"
    elif "effective" in states and "ineffective" in states:
        word = "partly"
    elif "effective" in states:
        word = "refuted"
    else:
        word = "inconclusive"
    priority = {"effective": 0, "undecided": 1, "ineffective": 2}
    name = min(status, key=lambda n: (priority[status[n]], -shown[n][1].value))
    p, est, iv, level = shown[name]
    needed = needed_runs(est.sd, margin, r)
    return with_caveat(verdict(
        f"{attack_label} of the unperturbed softmax release {ref[attack]:.3f} at {utility_label} {ref[utility]:.3f}; "
        + "; ".join(parts), word, ci=iv, level=level,
        ci_of=f"the reduction of {attack_label} by {name} at {by[name]['knob']}={p['knob']:g} (reference − perturbed)",
        ci_method=est.method,
        rule=(f"equivalence with margin {margin:g} (one-sided TOST, α = {ALPHA:g}) at every setting within {within:g} "
              f"{utility_label} of the reference: reproduced if every series' reductions lie below the margin, "
              "refuted if one series' reduction lies significantly above it (Bonferroni over its settings) and "
              "none is shown below, partly if one of each, inconclusive otherwise"),
        detail="series: " + ", ".join(f"{k} {v}" for k, v in status.items()),
        needed=needed if word == "inconclusive" else None,
        test={"type": "equivalence", "lower": -math.inf, "upper": margin} if word in ("reproduced", "refuted") else None,
        **_runs_of(r)), caveat)


def close_everywhere(doc: dict[str, Any], a: str, b: str, *, margin: float, relative: bool = False,
                     series: Sequence[str] | None = None, label: str = "", no_model: Sequence[str] = (),
                     attack: str | None = None) -> dict[str, Any]:
    """"``a`` and ``b`` are very close": TOST of ``a − b`` (or ``(a − b)/b`` with ``relative``) per seed, at
    every point of ``series``, against ±``margin``. Reproduced when every point's 90% interval lies inside
    the margin (intersection-union), refuted when one point's Bonferroni-adjusted interval lies outside it,
    inconclusive otherwise."""
    r = replication(doc)
    pts = [(s, p) for s in doc["series"] if series is None or s["defense"] in series for p in s["points"]]
    if not pts:
        return not_measured("no settings")
    tests = []
    for s, p in pts:
        va, vb = _values(p, a), _values(p, b)
        diff = (va - vb) / vb if relative else va - vb
        est = contrast(diff, ratio=r.ratio)
        tests.append((s, p, est, equivalence(est, -margin, margin)))
    bonf = 1 - 2 * ALPHA / len(tests)
    beyond = [t for t in tests if (iv := t[2].interval(bonf)) is not None and (iv[0] > margin or iv[1] < -margin)]
    if beyond:
        s, p, est, _ = max(beyond, key=lambda t: abs(t[2].value))
        word, iv, level = "refuted", est.interval(bonf), bonf
    else:
        word = "reproduced" if all(t[3][0] == "equivalent" for t in tests) else "inconclusive"
        s, p, est, (_, iv) = max(tests, key=lambda t: math.inf if t[3][1] is None else max(map(abs, t[3][1])))
        level = 1 - 2 * ALPHA
    what = f"({a} − {b}) / {b}" if relative else f"{a} − {b}"
    vals = [t[2].value for t in tests]
    needed = needed_runs(est.sd, margin, r)
    return verdict(f"{label or what} over {len(tests)} settings: from {min(vals):+.3f} to {max(vals):+.3f}", word,
                   ci=iv, level=level, ci_of=f"{what} at {_knob(s, p)} (the farthest from 0)", ci_method=est.method,
                   rule=(f"equivalence with margin ±{margin:g} (TOST, α = {ALPHA:g}): reproduced if every setting's 90% "
                         "interval lies inside the margin, refuted if one setting's interval (Bonferroni) lies outside "
                         "it, inconclusive otherwise"),
                   detail=f"{sum(t[3][0] == 'equivalent' for t in tests)} of {len(tests)} settings shown equivalent",
                   needed=needed if word == "inconclusive" else None,
                   test={"type": "equivalence", "lower": -margin, "upper": margin} if word != "inconclusive" else None,
                   **_runs_of(r))


# ---------------------------------------------------------------------------------------------------- trends


def trend(strata: Sequence[tuple[str, Sequence[float], Sequence[float]]], *, claim_sign: int, what: str,
          r: Replication, rule_prefix: str = "") -> dict[str, Any]:
    """A monotone trend within each stratum (Spearman), combined by a stratified permutation test.

    Reproduced if the combined ρ has the claim's sign with p < α; refuted if the opposite sign with p < α;
    inconclusive when these strata cannot reach p < α whatever the data (too few points) or when ρ has the
    claim's sign without significance; not reproduced when it has the opposite sign without significance.
    """
    res = stratified_spearman([(x, y) for _, x, y in strata])
    n_points = sum(len(x) for _, x, _ in strata)
    per = ", ".join(f"{name} {rho:+.2f} ({len(x)})" for (name, x, _), rho in zip(strata, res.rho)
                    if not math.isnan(rho))
    if math.isnan(res.combined):
        return not_measured(f"no stratum with at least 3 points and varying values ({what})")
    if res.p_value < ALPHA:
        word = "reproduced" if res.combined * claim_sign > 0 else "refuted"
    elif res.min_p_value >= ALPHA:
        word = "inconclusive"
    else:
        word = "inconclusive" if res.combined * claim_sign > 0 else "not reproduced"
    power = (f"; with these {n_points} points the smallest p-value possible is {res.min_p_value:.3g}"
             if res.min_p_value >= ALPHA else "")
    return verdict(f"Spearman ρ per {'stratum' if not rule_prefix else rule_prefix} ({what}): {per}; combined "
                   f"{res.combined:+.2f}, p = {res.p_value:.3g} ({res.method})", word,
                   rule=(f"reproduced if the combined ρ is {'positive' if claim_sign > 0 else 'negative'} with p < "
                         f"{ALPHA:g}, refuted if the other sign with p < {ALPHA:g}; inconclusive when the points cannot "
                         "reach significance or the sign is right without it; not reproduced when the sign is wrong "
                         "without significance"),
                   detail=f"{len([x for x in res.rho if not math.isnan(x)])} strata, never pooled across them" + power,
                   test={"type": "trend"}, **_runs_of(r))


def vulnerability_grows_with_utility(doc: dict[str, Any], *, attack: str = "attack_test", utility: str = "utility",
                                     higher_is_better: bool = True, exclude: Sequence[str] = (),
                                     reference: str = "undefended", no_model: Sequence[str] = (),
                                     chance: str | None = None) -> dict[str, Any]:
    """"The more useful the model, the more vulnerable, whatever the defense": Spearman's ρ between
    (oriented) utility and ``attack`` within each defense's series (at least 3 settings; never pooled
    across series), combined by a stratified permutation test (:func:`trend`)."""
    r = replication(doc)
    by = series_by_name(doc)
    caveat = None
    if reference in by:
        bad, caveat = signal_gate(doc, by[reference]["points"][0], attack, utility, higher_is_better, no_model,
                                  chance, r)
        if bad is not None:
            return bad
    sign = 1 if higher_is_better else -1
    strata = [(s["defense"], [sign * p[utility] for p in s["points"]], [p[attack] for p in s["points"]])
              for s in doc.get("series", []) if s["defense"] not in exclude and len(s["points"]) >= 3]
    if not strata:
        return not_measured("no defense series with 3 or more settings")
    return with_caveat(trend(strata, claim_sign=+1, what=f"{'utility' if higher_is_better else '−utility'} vs "
                             f"{attack}, per defense", r=r, rule_prefix="defense"), caveat)


def claim(id_: str, figure: str, quote: str, evaluate: Callable[[dict], dict]) -> dict:
    return {"id": id_, "figure": figure, "quote": quote, "evaluate": evaluate}
