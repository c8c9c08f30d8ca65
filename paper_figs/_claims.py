"""Verdicts on the paper's claims, computed from the figures' JSON documents (used by :mod:`paper_figs.report`).

A figure module lists the claims its figure tests in a module attribute ``CLAIMS``: dicts with ``id``,
``figure``, ``quote`` (the paper's sentence, verbatim) and ``evaluate(doc) -> verdict`` where the verdict is
``{"measurement": str, "ci": [lo, hi] | None, "verdict": str, "detail": str}`` and ``verdict`` is one of
:data:`VERDICTS`. The helpers here implement the comparisons most claims need.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

#: Verdict words, from "the paper's statement holds in our measurement" to "our measurement contradicts it".
VERDICTS = ("reproduced", "partly", "not reproduced", "refuted", "not measured")


def verdict(measurement: str, verdict_word: str, detail: str = "", ci: Sequence[float] | None = None,
            ci_of: str = "") -> dict:
    """A verdict record (``verdict_word`` must be one of :data:`VERDICTS`); ``ci_of`` names what ``ci`` is for."""
    if verdict_word not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict_word!r}")
    return {"measurement": measurement, "ci": None if ci is None else [float(ci[0]), float(ci[1])],
            "ci_of": ci_of, "verdict": verdict_word, "detail": detail}


def series_by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["defense"]: s for s in doc.get("series", [])}


def frontier(points: Sequence[dict], u: float, *, utility: str, attack: str, higher_is_better: bool) -> dict | None:
    """The most private point (lowest ``attack``) among those at least as useful as ``u``; None if none is."""
    ok = [p for p in points if (p[utility] >= u if higher_is_better else p[utility] <= u)]
    return min(ok, key=lambda p: p[attack]) if ok else None


def compare_tradeoffs(doc: dict[str, Any], ours: str, theirs: str, *, attack: str = "attack_test",
                      utility: str = "utility", higher_is_better: bool = True,
                      attack_label: str = "attack", utility_label: str = "utility") -> dict:
    """Does ``ours`` give a better utility-privacy trade-off than ``theirs``?

    At every utility level ``u`` that both defenses reach (the utilities of their points, up to the lesser
    of the two best utilities), each defense's frontier point is its most private setting at least as
    useful as ``u``. ``ours`` is *better* at ``u`` when its frontier point's attack interval lies entirely
    below the other's, *worse* when entirely above, *tied* otherwise. Verdict: better somewhere and never
    worse → "reproduced"; better somewhere and worse elsewhere → "partly"; never either → "not reproduced";
    worse somewhere and never better → "refuted".
    """
    by = series_by_name(doc)
    if ours not in by or theirs not in by:
        missing = ours if ours not in by else theirs
        return verdict(f"no {missing} series in the figure", "not measured")
    a, b = by[ours]["points"], by[theirs]["points"]
    ci = f"{attack}_ci"

    def most_useful(points):
        return max(p[utility] for p in points) if higher_is_better else min(p[utility] for p in points)

    # The most demanding utility level both defenses reach.
    best = min(most_useful(a), most_useful(b)) if higher_is_better else max(most_useful(a), most_useful(b))
    levels = sorted({p[utility] for p in (*a, *b)
                     if (p[utility] <= best if higher_is_better else p[utility] >= best)})
    better, worse, rows = [], [], []
    for u in levels:
        pa = frontier(a, u, utility=utility, attack=attack, higher_is_better=higher_is_better)
        pb = frontier(b, u, utility=utility, attack=attack, higher_is_better=higher_is_better)
        gap = pa[attack] - pb[attack]
        rows.append(gap)
        if pa[ci][1] < pb[ci][0]:
            better.append(u)
        elif pa[ci][0] > pb[ci][1]:
            worse.append(u)
    # The headline: the two frontiers at the most demanding common utility level.
    pa = frontier(a, best, utility=utility, attack=attack, higher_is_better=higher_is_better)
    pb = frontier(b, best, utility=utility, attack=attack, higher_is_better=higher_is_better)
    measurement = (f"at {utility_label} {'≥' if higher_is_better else '≤'} {best:.3g}: {ours} {attack_label} "
                   f"{pa[attack]:.3f} [{pa[ci][0]:.3f}, {pa[ci][1]:.3f}] ({_knob(by[ours], pa)}) vs {theirs} "
                   f"{pb[attack]:.3f} [{pb[ci][0]:.3f}, {pb[ci][1]:.3f}] ({_knob(by[theirs], pb)})")
    detail = (f"{ours} significantly lower at {len(better)} of {len(levels)} common utility levels, significantly "
              f"higher at {len(worse)}; mean frontier gap {np.mean(rows):+.3f}")
    if better and not worse:
        word = "reproduced"
    elif better and worse:
        word = "partly"
    elif worse:
        word = "refuted"
    else:
        word = "not reproduced"
    gap = pa[attack] - pb[attack]
    half = float(np.hypot(pa[ci][1] - pa[ci][0], pb[ci][1] - pb[ci][0]) / 2)  # normal approximation
    return verdict(measurement, word, detail, ci=[gap - half, gap + half],
                   ci_of=f"the gap {ours} − {theirs} ({gap:+.3f}, normal approximation)")


def _knob(series: dict, point: dict) -> str:
    if series.get("knob") is None:
        return series["defense"]
    return f"{series['knob']}={point['knob']:g}" if isinstance(point["knob"], (int, float)) else \
        f"{series['knob']}={point['knob']}"


def vulnerability_grows_with_utility(doc: dict[str, Any], *, attack: str = "attack_test", utility: str = "utility",
                                     higher_is_better: bool = True) -> dict:
    """Spearman rank correlation between utility and attack over every point of every defended series."""
    from scipy.stats import spearmanr

    pts = [p for s in doc.get("series", []) for p in s["points"]]
    if len(pts) < 4:
        return verdict("fewer than 4 points", "not measured")
    u = np.array([p[utility] for p in pts]) * (1 if higher_is_better else -1)
    v = np.array([p[attack] for p in pts])
    rho, pval = spearmanr(u, v)
    word = "reproduced" if rho > 0 and pval < 0.05 else ("refuted" if rho < 0 and pval < 0.05 else "not reproduced")
    return verdict(f"Spearman rho(utility, {attack}) = {rho:+.2f} over {len(pts)} settings (p = {pval:.2g})", word)


def claim(id_: str, figure: str, quote: str, evaluate: Callable[[dict], dict]) -> dict:
    return {"id": id_, "figure": figure, "quote": quote, "evaluate": evaluate}
