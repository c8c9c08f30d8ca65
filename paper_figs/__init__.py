"""paper_figs — regenerate the paper's figures and the toolkit's bound-vs-empirical figures.

``python -m paper_figs FIG... [--quick] [--out DIR] [--device auto] [--data-home DIR]``. Each figure is a
module ``paper_figs.<name>`` with a function ``make(out_dir, *, quick, device, data_home) -> Path`` that
computes its numbers through ``validation`` and writes ``<name>.json`` (schema in DESIGN.md §2) and
``<name>.png``.
"""

FIGURES: dict[str, str] = {
    "bounds": "paper_figs.bounds",
    "advantage": "paper_figs.advantage",
    "fig1": "paper_figs.fig1",
    "fig2a": "paper_figs.fig2a",
    "fig2b": "paper_figs.fig2b",
    "fig2c": "paper_figs.fig2c",
    "fig3a": "paper_figs.fig3a",
    "fig4c": "paper_figs.fig4c",
    "art": "paper_figs.art",
}
