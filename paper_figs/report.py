"""The report: what this toolkit says about the paper, sentence by sentence, built from the figures' JSON only.

``python -m paper_figs report --out DIR`` (and the last step of ``python -m paper_figs all``) reads
``DIR/<figure>.json`` for every registered figure, evaluates the claims each figure module lists in its
``CLAIMS`` attribute (:mod:`paper_figs._claims`) and writes ``DIR/report.html`` and ``DIR/report.md``:

* the headline counts, split into the theory computed exactly and the measurements over seeds or splits;
* one block per sentence of the paper, with one row per figure that tests it: our measurement, the
  interval the verdict used (bold, with its method), the seeds or splits it rests on (and, when
  inconclusive, roughly how many would resolve it), the verdict, the one-sentence rule that gave it, a
  quick tag on every row from a quick run, and the command that produced the figure;
* the auditor's table (the empirical lower bound on ε that each DP learner's observed IND gain implies,
  next to its declared ε);
* the deviations from the paper and the limits of the threat model, from each figure's ``deviations``,
  ``dataset``, ``settings`` and ``replication``;
* every figure inline.

Nothing is recomputed, so rebuilding takes a second.
"""

from __future__ import annotations

import html
import importlib
import json
import math
import os
from pathlib import Path
from typing import Any

from paper_figs import FIGURES
from paper_figs._claims import EMPIRICAL, EXACT, VERDICTS, agrees, verdict
from validation.store import _write_text_atomic

__all__ = ["build_report", "collect"]

_COLORS = {"reproduced": "#1a7f37", "partly": "#9a6700", "not reproduced": "#57606a", "refuted": "#cf222e",
           "inconclusive": "#8250df", "no signal": "#0969da", "not measured": "#8c959f", "not needed": "#6e7781"}


def _load(out_dir: Path, name: str) -> dict[str, Any] | None:
    path = out_dir / f"{name}.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a figure document ({exc}); rerun python -m paper_figs {name}") from None


def _claims_of(name: str) -> tuple[list[dict], str | None]:
    try:
        module = importlib.import_module(FIGURES[name])
    except ImportError as exc:  # e.g. a neural figure without the 'neural' extra
        return [], f"module {FIGURES[name]} cannot be imported here: {exc}"
    return list(getattr(module, "CLAIMS", [])), None


def _quick(doc: dict[str, Any] | None) -> bool:
    """Whether the figure's numbers come from its quick settings (``settings.quick``; exact figures have none)."""
    return doc is not None and bool((doc.get("settings") or {}).get("quick"))


def _command(doc: dict[str, Any], name: str) -> str:
    run = doc.get("run") or {}
    if run.get("command"):
        return run["command"]
    return f"python -m paper_figs {name}{' --quick' if _quick(doc) else ''}"


def _configuration(doc: dict[str, Any]) -> str:
    """quick, the configuration's name (cpu, ...), full, or exact (a figure with no seeds and no quick setting)."""
    settings = doc.get("settings") or {}
    if _quick(doc):
        return "quick"
    if not doc.get("replication") and "quick" not in settings:
        return "exact"
    return str(settings.get("name") or "full")


def collect(out_dir: str | os.PathLike) -> dict[str, Any]:
    """Evaluate every claim of every registered figure against the JSON in ``out_dir``."""
    out_dir = Path(out_dir)
    rows, figures, notes, deviations = [], [], [], []
    for name in FIGURES:
        doc = _load(out_dir, name)
        claims, problem = _claims_of(name)
        if problem:
            notes.append(problem)
        if doc is not None:
            pngs = [doc.get(k) for k in ("png", "reconstructions_png") if doc.get(k)]
            pngs = pngs or [f"{name}.png"]
            figures.append({"name": name, "title": doc.get("title", name),
                            "pngs": [p for p in pngs if (out_dir / p).is_file()],
                            "quick": _quick(doc), "command": _command(doc, name),
                            "wall_s": (doc.get("run") or {}).get("wall_s")})
            deviations.append({"figure": name, "dataset": doc.get("dataset"), "configuration": _configuration(doc),
                               "replication": doc.get("replication"), "entries": doc.get("deviations") or []})
        for c in claims:
            if doc is None:
                v = verdict(f"not run: no {name}.json in {out_dir}", "not measured",
                            rule="not measured: the figure was not run", detail=f"run: python -m paper_figs {name} "
                            f"--out {out_dir}")
                command = f"python -m paper_figs {name}"
            else:
                try:
                    v = c["evaluate"](doc)
                except (KeyError, ValueError, TypeError, IndexError, ZeroDivisionError) as exc:
                    v = verdict(f"could not be evaluated: {type(exc).__name__}: {exc}", "not measured",
                                rule="not measured: the figure's JSON lacks what this claim needs; rerun the figure")
                command = _command(doc, name)
            if v["verdict"] not in VERDICTS:
                raise ValueError(f"claim {c['id']!r} returned the verdict {v['verdict']!r}")
            if not agrees(v):
                raise ValueError(f"claim {c['id']!r}: the verdict {v['verdict']!r} disagrees with its interval {v['ci']}")
            # an exact row does not depend on the quick settings; every other row of a quick figure is tagged
            rows.append({"id": c["id"], "figure": c["figure"], "quote": c["quote"], **v, "command": command,
                         "quick": _quick(doc) and v["kind"] != EXACT})
    return {"claims": rows, "sentences": _by_sentence(rows), "figures": figures, "audit": _audit(out_dir),
            "deviations": deviations, "notes": notes}


def _by_sentence(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One block per sentence of the paper (in the order first met), its rows under it."""
    blocks: dict[str, dict[str, Any]] = {}
    for r in rows:
        blocks.setdefault(r["quote"], {"quote": r["quote"], "rows": []})["rows"].append(r)
    return list(blocks.values())


def _audit(out_dir: Path) -> list[dict[str, Any]]:
    """The auditor's numbers of the ``bounds`` figure: declared ε vs the empirical lower bound eps_lower."""
    doc = _load(out_dir, "bounds")
    rows: list[dict[str, Any]] = []
    for panel in (doc or {}).get("panels", []):
        for s in panel["series"]:
            for p in s["points"]:
                if "eps_lower" in p:
                    rows.append({"learner": s["defense"], "n": panel["n"], "eps": p["knob"],
                                 "eps_lower": p["eps_lower"], "flag": bool(p.get("eps_flag")),
                                 "gain_ci": p["ci"], "ci_method": p.get("ci_method", ""),
                                 "distinguisher": p["distinguisher"]})
    return rows


# ------------------------------------------------------------------------------------------------ words


def _fmt_ci(ci) -> str:
    return "" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _level(r: dict[str, Any]) -> str:
    level = 100 * r.get("ci_level", 0.95)
    return f"{level:.0f}%" if abs(level - round(level)) < 1e-9 else f"{level:.1f}%"


def interval_text(r: dict[str, Any]) -> str:
    """The interval a row's verdict used, with its level, quantity and method (the bold part of a row)."""
    if r.get("ci") is None:
        return ""
    of = f" of {r['ci_of']}" if r.get("ci_of") else ""
    method = f" ({r['ci_method']})" if r.get("ci_method") else ""
    return f"{_level(r)} CI{of}: {_fmt_ci(r['ci'])}{method}"


def rests_on(r: dict[str, Any]) -> str:
    """What a row rests on: exact computation, or its seeds/splits (and those that would likely resolve it)."""
    if r.get("kind") == EXACT:
        return "exact computation"
    if not r.get("runs"):
        return ""
    text = f"rests on {r['runs']} {r['unit']}"
    if r.get("redraws"):
        text += f" (each re-draws {r['redraws']})"
    needed = r.get("needed")
    if needed is not None:
        text += (f"; no number of {r['unit']} of this data set would resolve it (they re-split the same data: "
                 "their correlation alone keeps the interval wider than the effect)" if math.isinf(needed)
                 else f"; about {needed} {r['unit']} would likely resolve it (80% power, from the observed variance)")
    return text


def _counts(rows: list[dict[str, Any]]) -> str:
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n)


def headline(rows: list[dict[str, Any]]) -> list[str]:
    """The headline counts: theory (exact) and empirical (seeds/splits) apart."""
    theory = [r for r in rows if r.get("kind") == EXACT]
    empirical = [r for r in rows if r.get("kind") != EXACT]
    quick = sum(r["quick"] for r in empirical)
    lines = [f"Theory, computed exactly: {len(theory)} rows — {_counts(theory)}." if theory else
             "Theory, computed exactly: no rows (the theory figures were not run).",
             f"Empirical, measured over seeds or splits: {len(empirical)} rows — {_counts(empirical)}."
             + (f" {quick} of them from quick runs (small settings: a check, not a reproduction)." if quick else "")]
    return lines


# --------------------------------------------------------------------------------------------- markdown


def _markdown(data: dict[str, Any]) -> str:
    esc = lambda t: str(t).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["# mid-toolkit: the MID paper (AAAI 2021), sentence by sentence", "", *headline(data["claims"]), "",
             "Intervals are the ones the verdicts used; every row states its rule.", "",
             "| the paper says | our verdicts, by figure |", "|---|---|"]
    for block in data["sentences"]:
        words = block["quote"] if len(block["quote"]) <= 150 else block["quote"][:147].rsplit(" ", 1)[0] + " …"
        lines.append(f"| “{esc(words)}” | " + "; ".join(f"{r['figure']} **{r['verdict']}**" for r in block["rows"])
                     + " |")
    lines.append("")
    n = 0
    for block in data["sentences"]:
        lines += [f"## “{esc(block['quote'])}”", "", f"{len(block['rows'])} row(s): {_counts(block['rows'])}.", "",
                  "| # | figure | we measure | rests on | verdict | rule | command |",
                  "|---|---|---|---|---|---|---|"]
        for r in block["rows"]:
            n += 1
            quick = " **[quick run]**" if r["quick"] else ""
            ci = f" **{esc(interval_text(r))}**" if r.get("ci") is not None else ""
            detail = f" {esc(r['detail'])}" if r.get("detail") else ""
            lines.append(f"| {n} | {r['figure']}{quick} | {esc(r['measurement'])}.{ci}{detail} | {esc(rests_on(r))} | "
                         f"**{r['verdict']}** | {esc(r['rule'])} | `{esc(r['command'])}` |")
        lines.append("")
    if data["audit"]:
        lines += ["## Auditor's numbers: declared ε vs the ε the observations imply", "",
                  "| learner | n | declared ε | empirical lower bound on ε | gain^IND 95% CI | |",
                  "|---|---|---|---|---|---|"]
        for a in data["audit"]:
            lines.append(f"| {a['learner']} | {a['n']} | {a['eps']:g} | {a['eps_lower']:.4g} | "
                         f"{_fmt_ci(a['gain_ci'])} ({a['ci_method'] or a['distinguisher']}) | "
                         f"{'PRIVACY BUG' if a['flag'] else 'consistent'} |")
        lines.append("")
    lines += ["## Deviations from the paper and limits of the threat model", "",
              "| figure | configuration | data | replication | aspect | the paper | here |",
              "|---|---|---|---|---|---|---|"]
    for d in data["deviations"]:
        rep = d["replication"] or {}
        rep_text = (f"{rep['n']} {rep['unit']}; fixed: {rep.get('fixed') or '—'}" if rep else "exact")
        entries = d["entries"] or [{"aspect": "—", "paper": "—", "here": "—"}]
        for i, e in enumerate(entries):
            head = (f"| {d['figure']} | {d['configuration']} | {esc(d['dataset'] or '—')} | {esc(rep_text)} "
                    if i == 0 else "| | | | ")
            lines.append(head + f"| {esc(e['aspect'])} | {esc(e['paper'])} | {esc(e['here'])} |")
    lines += ["", "## Figures", ""]
    for f in data["figures"]:
        lines.append(f"### {f['name']}: {f['title']}" + (" (quick)" if f["quick"] else ""))
        lines += ["", f"`{f['command']}`", ""] + [f"![{f['name']}]({p})" for p in f["pngs"]] + [""]
    for note in data["notes"]:
        lines.append(f"> note: {note}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------- html

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1180px;color:#1f2328;
line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.4rem;border-bottom:1px solid #d0d7de}
.sub{color:#59636e;margin-top:0}table{border-collapse:collapse;width:100%;font-size:.86rem}
th,td{border:1px solid #d0d7de;padding:.45rem .6rem;vertical-align:top;text-align:left}th{background:#f6f8fa}
td.v{white-space:nowrap;width:8.5rem}td.fig{white-space:nowrap;width:5.5rem}
.badge{color:#fff;border-radius:1em;padding:.12rem .6rem;font-size:.8rem;font-weight:600;white-space:nowrap}
code{font-size:.76rem;background:#f6f8fa;padding:.1rem .3rem;border-radius:4px;word-break:break-all}
.detail,.rule,.rests{color:#59636e;font-size:.8rem;display:block;margin-top:.3rem}.rule b,.rests b{color:#3d444d}
.ci{display:block;margin-top:.3rem}
figure{margin:1.2rem 0}figure img{max-width:100%;border:1px solid #d0d7de}figcaption{font-size:.85rem;color:#59636e}
.quick{background:#fff8c5;color:#7d4e00;border:1px solid #d4a72c;border-radius:4px;font-size:.72rem;padding:0 .3rem;
margin-left:.3rem;white-space:nowrap}
.block{margin:1.6rem 0 2.2rem}.quote{font-style:italic;font-size:1.02rem;border-left:4px solid #d0d7de;
padding:.2rem .9rem;margin:.4rem 0 .5rem}.balance{font-size:.82rem;color:#59636e;margin:.2rem 0 .5rem}
.glance td:first-child{font-style:italic}.glance a{color:inherit;text-decoration:none}.pair{white-space:nowrap;
margin-right:.7rem;display:inline-block;margin-bottom:.2rem}
.head{display:flex;gap:2rem;flex-wrap:wrap;align-items:flex-start}.head div{flex:1;min-width:20rem;border:1px solid #d0d7de;border-radius:6px;
padding:.6rem .9rem}.head h3{margin:.1rem 0 .4rem;font-size:1rem}.head span{margin-right:.6rem;display:inline-block;
margin-bottom:.3rem}
"""


def _badge(word: str, n: int | None = None) -> str:
    text = word if n is None else f"{n}"
    return f"<span class='badge' style='background:{_COLORS[word]}'>{html.escape(text)}</span>"


def _count_badges(rows: list[dict[str, Any]]) -> str:
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    return "".join(f"<span>{_badge(v, n)} {html.escape(v)}</span>" for v, n in counts.items() if n)


def _html(data: dict[str, Any]) -> str:
    e = html.escape
    rows = data["claims"]
    theory = [r for r in rows if r.get("kind") == EXACT]
    empirical = [r for r in rows if r.get("kind") == EMPIRICAL]
    quick = sum(r["quick"] for r in empirical)
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<title>mid-toolkit report: the MID paper, sentence by sentence</title>",
             f"<style>{_CSS}</style></head><body>",
             "<h1>The MID paper (AAAI 2021), sentence by sentence</h1>",
             "<p class='sub'>Every number below was produced by this toolkit from the figures' JSON; the command under "
             "each row reproduces it. The interval in bold is the one the verdict used, and each row says its rule.</p>",
             "<div class='head'>",
             f"<div><h3>Theory, computed exactly ({len(theory)} rows)</h3>{_count_badges(theory)}</div>",
             f"<div><h3>Empirical, over seeds or splits ({len(empirical)} rows)</h3>{_count_badges(empirical)}"
             + (f"<p class='sub'><span class='quick'>quick run</span> {quick} of them come from quick runs: small "
                "settings, a check rather than a reproduction.</p>" if quick else "") + "</div></div>",
             "<h2>At a glance</h2><table class='glance'><tr><th>the paper says</th><th>our verdicts, by figure</th></tr>"]
    for i, block in enumerate(data["sentences"]):
        words = block["quote"] if len(block["quote"]) <= 150 else block["quote"][:147].rsplit(" ", 1)[0] + " …"
        parts.append(f"<tr><td><a href='#s{i}'>“{e(words)}”</a></td><td>" + " ".join(
            f"<span class='pair'>{e(r['figure'])} {_badge(r['verdict'])}</span>" for r in block["rows"]) + "</td></tr>")
    parts.append("</table>")
    n = 0
    for i, block in enumerate(data["sentences"]):
        figs = sorted({r["figure"] for r in block["rows"]}, key=list(FIGURES).index)
        parts.append(f"<div class='block' id='s{i}'>")
        parts.append(f"<p class='quote'>“{e(block['quote'])}”</p>")
        parts.append(f"<p class='balance'>{len(block['rows'])} row(s) from {', '.join(e(f) for f in figs)}: "
                     f"{e(_counts(block['rows']))}</p>")
        parts.append("<table><tr><th>#</th><th>figure</th><th>we measure</th><th>verdict</th></tr>")
        for r in block["rows"]:
            n += 1
            quick_tag = "<span class='quick'>quick run</span>" if r["quick"] else ""
            ci = f"<b class='ci'>{e(interval_text(r))}</b>" if r.get("ci") is not None else ""
            rests = rests_on(r)
            parts.append(
                f"<tr><td>{n}</td><td class='fig'><a href='#{e(r['figure'])}'>{e(r['figure'])}</a>{quick_tag}</td>"
                f"<td>{e(r['measurement'])}{ci}"
                + (f"<span class='rests'><b>Rests on:</b> {e(rests[len('rests on '):] if rests.startswith('rests on ') else rests)}</span>"
                   if rests else "")
                + f"<span class='rule'><b>Rule:</b> {e(r['rule'])}</span>"
                + (f"<span class='detail'>{e(r['detail'])}</span>" if r.get("detail") else "")
                + f"<code>{e(r['command'])}</code></td>"
                f"<td class='v'>{_badge(r['verdict'])}</td></tr>")
        parts.append("</table></div>")
    if data["audit"]:
        parts.append("<h2>Auditor's numbers: declared ε vs the ε the observations imply</h2>"
                     "<p class='sub'>The smallest ε whose tight bound is consistent with the lower end of the "
                     "observed gain^IND interval (at the learner's δ and adjacency). A value above the declared ε "
                     "proves the learner is not as private as it claims.</p>"
                     "<table><tr><th>learner</th><th>n</th><th>declared ε</th><th>empirical lower bound on ε</th>"
                     "<th>gain^IND (95% CI)</th><th></th></tr>")
        for a in data["audit"]:
            flag = ("<span class='badge' style='background:#cf222e'>privacy bug</span>" if a["flag"] else "consistent")
            parts.append(f"<tr><td>{e(a['learner'])}</td><td>{a['n']}</td><td>{a['eps']:g}</td>"
                         f"<td>{a['eps_lower']:.4g}</td><td>{_fmt_ci(a['gain_ci'])} ({e(a['distinguisher'])}, "
                         f"{e(a['ci_method'])})</td><td>{flag}</td></tr>")
        parts.append("</table>")
    parts.append("<h2 id='deviations'>Deviations from the paper and limits of the threat model</h2>"
                 "<p class='sub'>From each figure's JSON: the data it ran on, its configuration, what its seeds re-draw "
                 "and what stays fixed (the verdicts are conditional on it), and where it departs from the paper.</p>"
                 "<table><tr><th>figure</th><th>data, configuration, replication</th><th>aspect</th><th>the paper</th>"
                 "<th>here</th></tr>")
    for d in data["deviations"]:
        rep = d["replication"] or {}
        rep_text = (f"{rep['n']} {rep['unit']}; each re-draws {rep.get('redraws') or '—'}; fixed: "
                    f"{rep.get('fixed') or '—'}" if rep else "no seeds")
        entries = d["entries"] or [{"aspect": "—", "paper": "—", "here": "—"}]
        for i, x in enumerate(entries):
            head = (f"<td rowspan='{len(entries)}' class='fig'><a href='#{e(d['figure'])}'>{e(d['figure'])}</a>"
                    f"{'<span class=quick>quick run</span>' if d['configuration'] == 'quick' else ''}</td>"
                    f"<td rowspan='{len(entries)}'>{e(d['dataset'] or '—')}<span class='detail'>configuration: "
                    f"{e(d['configuration'])}; {e(rep_text)}</span></td>" if i == 0 else "")
            parts.append(f"<tr>{head}<td>{e(x['aspect'])}</td><td>{e(x['paper'])}</td><td>{e(x['here'])}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Figures</h2>")
    for f in data["figures"]:
        wall = f", {f['wall_s']:.0f} s" if f.get("wall_s") else ""
        quick_tag = "<span class='quick'>quick run</span>" if f["quick"] else ""
        parts.append(f"<h3 id='{e(f['name'])}'>{e(f['name'])}: {e(f['title'])}{quick_tag}</h3>")
        for p in f["pngs"]:
            parts.append(f"<figure><img src='{e(p)}' alt='{e(f['name'])}'>"
                         f"<figcaption><code>{e(f['command'])}</code>{wall}</figcaption></figure>")
    for note in data["notes"]:
        parts.append(f"<p class='sub'>note: {e(note)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def build_report(out_dir: str | os.PathLike) -> list[Path]:
    """Write ``report.html`` and ``report.md`` into ``out_dir`` from its figure JSON; return their paths."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise ValueError(f"{out_dir} is not a directory of figures; run python -m paper_figs all --out {out_dir}")
    if not any((out_dir / f"{name}.json").is_file() for name in FIGURES):
        raise ValueError(f"{out_dir} holds no figure JSON; run python -m paper_figs all --out {out_dir} first")
    data = collect(out_dir)
    return [_write_text_atomic(out_dir / "report.html", _html(data)),
            _write_text_atomic(out_dir / "report.md", _markdown(data))]
