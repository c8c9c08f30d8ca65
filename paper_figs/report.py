"""The report: what this toolkit says about the paper, claim by claim, built from the figures' JSON only.

``python -m paper_figs report --out DIR`` (and the last step of ``python -m paper_figs all``) reads
``DIR/<figure>.json`` for every registered figure, evaluates the claims each figure module lists in its
``CLAIMS`` attribute (:mod:`paper_figs._claims`) and writes ``DIR/report.html`` and ``DIR/report.md``: one row
per claim — the paper's sentence with its figure, our measurement with its interval, the verdict
(reproduced / partly / not reproduced / refuted / not measured) and the command that produced the figure —
then the auditor's table (the empirical lower bound on ε that each DP learner's observed IND gain implies,
next to its declared ε) and every figure inline. Nothing is recomputed, so rebuilding takes a second.
"""

from __future__ import annotations

import html
import importlib
import json
import os
from pathlib import Path
from typing import Any

from paper_figs import FIGURES
from paper_figs._claims import VERDICTS, verdict
from validation.store import _write_text_atomic

__all__ = ["build_report", "collect"]

_COLORS = {"reproduced": "#1a7f37", "partly": "#9a6700", "not reproduced": "#6e7781", "refuted": "#cf222e",
           "not measured": "#8c959f"}


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


def _command(doc: dict[str, Any], name: str) -> str:
    run = doc.get("run") or {}
    if run.get("command"):
        return run["command"]
    quick = " --quick" if (doc.get("settings") or {}).get("quick") else ""
    return f"python -m paper_figs {name}{quick}"


def collect(out_dir: str | os.PathLike) -> dict[str, Any]:
    """Evaluate every claim of every registered figure against the JSON in ``out_dir``."""
    out_dir = Path(out_dir)
    rows, figures, notes = [], [], []
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
                            "quick": bool((doc.get("settings") or {}).get("quick")), "command": _command(doc, name),
                            "wall_s": (doc.get("run") or {}).get("wall_s")})
        for c in claims:
            if doc is None:
                v = verdict(f"not run: no {name}.json in {out_dir}", "not measured",
                            f"run: python -m paper_figs {name} --out {out_dir}")
                command = f"python -m paper_figs {name}"
            else:
                try:
                    v = c["evaluate"](doc)
                except (KeyError, ValueError, TypeError, IndexError, ZeroDivisionError) as exc:
                    v = verdict(f"could not be evaluated: {type(exc).__name__}: {exc}", "not measured",
                                "the figure's JSON lacks what this claim needs; rerun the figure")
                command = _command(doc, name)
            if v["verdict"] not in VERDICTS:
                raise ValueError(f"claim {c['id']!r} returned the verdict {v['verdict']!r}")
            quick = doc is not None and bool((doc.get("settings") or {}).get("quick"))
            rows.append({"id": c["id"], "figure": c["figure"], "quote": c["quote"], **v, "command": command,
                         "quick": quick})
    return {"claims": rows, "figures": figures, "audit": _audit(out_dir), "notes": notes}


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
                                 "gain_ci": p["ci"], "distinguisher": p["distinguisher"]})
    return rows


def _fmt_ci(ci) -> str:
    return "" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _markdown(data: dict[str, Any]) -> str:
    lines = ["# mid-toolkit: the MID paper (AAAI 2021), claim by claim", "",
             _counts(data["claims"]), "",
             "| # | figure | the paper says | we measure | 95% CI | verdict | command |",
             "|---|---|---|---|---|---|---|"]
    ci_text = lambda r: (f"{_fmt_ci(r['ci'])} ({r['ci_of']})" if r.get("ci_of") else _fmt_ci(r["ci"]))  # noqa: E731
    esc = lambda t: str(t).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    for i, r in enumerate(data["claims"], 1):
        quick = " (quick run)" if r["quick"] else ""
        lines.append(f"| {i} | {r['figure']} | {esc(r['quote'])} | {esc(r['measurement'])}{quick}. "
                     f"{esc(r['detail'])} | {esc(ci_text(r))} | **{r['verdict']}** | `{esc(r['command'])}` |")
    if data["audit"]:
        lines += ["", "## Auditor's numbers: declared ε vs the ε the observations imply", "",
                  "| learner | n | declared ε | empirical lower bound on ε | gain^IND 95% CI | |",
                  "|---|---|---|---|---|---|"]
        for a in data["audit"]:
            lines.append(f"| {a['learner']} | {a['n']} | {a['eps']:g} | {a['eps_lower']:.4g} | "
                         f"{_fmt_ci(a['gain_ci'])} | {'PRIVACY BUG' if a['flag'] else 'consistent'} |")
    lines += ["", "## Figures", ""]
    for f in data["figures"]:
        lines.append(f"### {f['name']}: {f['title']}" + (" (quick)" if f["quick"] else ""))
        lines += ["", f"`{f['command']}`", ""] + [f"![{f['name']}]({p})" for p in f["pngs"]] + [""]
    for n in data["notes"]:
        lines.append(f"> note: {n}")
    return "\n".join(lines) + "\n"


def _counts(rows: list[dict]) -> str:
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    return f"{len(rows)} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n)


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1200px;color:#1f2328;
line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #d0d7de}
.sub{color:#59636e;margin-top:0}table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{border:1px solid #d0d7de;padding:.45rem .6rem;vertical-align:top;text-align:left}th{background:#f6f8fa}
td.quote{font-style:italic;width:30%}td.v{white-space:nowrap}.badge{color:#fff;border-radius:1em;padding:.12rem .6rem;
font-size:.8rem;font-weight:600}code{font-size:.78rem;background:#f6f8fa;padding:.1rem .3rem;border-radius:4px;
word-break:break-all}.detail{color:#59636e;font-size:.82rem;display:block;margin-top:.25rem}
figure{margin:1.2rem 0}figure img{max-width:100%;border:1px solid #d0d7de}figcaption{font-size:.85rem;color:#59636e}
.quick{color:#9a6700;font-size:.8rem}.counts span{margin-right:1rem}
"""


def _html(data: dict[str, Any]) -> str:
    e = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<title>mid-toolkit report: the MID paper, claim by claim</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>The MID paper (AAAI 2021), claim by claim</h1>",
             "<p class='sub'>Every measurement below was produced by this toolkit; the command under each row "
             "reproduces it. Intervals are 95%.</p>"]
    counts = {v: sum(r["verdict"] == v for r in data["claims"]) for v in VERDICTS}
    parts.append("<p class='counts'>" + "".join(
        f"<span><span class='badge' style='background:{_COLORS[v]}'>{n}</span> {e(v)}</span>"
        for v, n in counts.items() if n) + "</p>")
    parts.append("<table><tr><th>#</th><th>figure</th><th>the paper says</th><th>we measure</th>"
                 "<th>verdict</th></tr>")
    for i, r in enumerate(data["claims"], 1):
        of = f" of {e(r['ci_of'])}" if r.get("ci_of") else ""
        ci = f" <b>95% CI{of}: {_fmt_ci(r['ci'])}</b>" if r["ci"] is not None else ""
        quick = "<span class='quick'> (quick run)</span>" if r["quick"] else ""
        parts.append(
            f"<tr><td>{i}</td><td><a href='#{e(r['figure'])}'>{e(r['figure'])}</a></td>"
            f"<td class='quote'>“{e(r['quote'])}”</td>"
            f"<td>{e(r['measurement'])}{ci}{quick}<span class='detail'>{e(r['detail'])}</span>"
            f"<code>{e(r['command'])}</code></td>"
            f"<td class='v'><span class='badge' style='background:{_COLORS[r['verdict']]}'>{e(r['verdict'])}</span>"
            "</td></tr>")
    parts.append("</table>")
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
                         f"<td>{a['eps_lower']:.4g}</td><td>{_fmt_ci(a['gain_ci'])} ({e(a['distinguisher'])})</td>"
                         f"<td>{flag}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Figures</h2>")
    for f in data["figures"]:
        wall = f", {f['wall_s']:.0f} s" if f.get("wall_s") else ""
        quick = " (quick)" if f["quick"] else ""
        parts.append(f"<h3 id='{e(f['name'])}'>{e(f['name'])}: {e(f['title'])}{quick}</h3>")
        for p in f["pngs"]:
            parts.append(f"<figure><img src='{e(p)}' alt='{e(f['name'])}'>"
                         f"<figcaption><code>{e(f['command'])}</code>{wall}</figcaption></figure>")
    for n in data["notes"]:
        parts.append(f"<p class='sub'>note: {e(n)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def build_report(out_dir: str | os.PathLike) -> list[Path]:
    """Write ``report.html`` and ``report.md`` into ``out_dir`` from its figure JSON; return their paths."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise ValueError(f"{out_dir} is not a directory of figures; run python -m paper_figs all --out {out_dir}")
    data = collect(out_dir)
    return [_write_text_atomic(out_dir / "report.html", _html(data)),
            _write_text_atomic(out_dir / "report.md", _markdown(data))]
