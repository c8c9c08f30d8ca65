"""paper_figs — regenerate the paper's figures and the toolkit's bound-vs-empirical figures.

``python -m paper_figs FIG... [--scale quick|cpu|full] [--quick] [--seeds N] [--out DIR] [--device auto] [--data-home DIR] [--jobs N]
[--scheduler ADDRESS] [--threads T]``; ``all`` runs every figure and then the report, ``report`` rebuilds
the report from the figures' JSON. Each figure is a module ``paper_figs.<name>`` with a function
``make(out_dir, *, quick, device, data_home, executor, seeds=None, scale=None) -> Path`` that computes its numbers through
``validation`` (its units run on ``executor``, :mod:`validation.engine`) and writes ``<name>.json``
(schema in docs/figures.md) and ``<name>.png``.
"""

from mitheory._version import __version__ as __version__

FIGURES: dict[str, str] = {
    "theory": "paper_figs.theory",
    "bounds": "paper_figs.bounds",
    "advantage": "paper_figs.advantage",
    "fig1": "paper_figs.fig1",
    "fig2a": "paper_figs.fig2a",
    "fig2b": "paper_figs.fig2b",
    "fig2c": "paper_figs.fig2c",
    "fig2d": "paper_figs.fig2d",
    "fig3a": "paper_figs.fig3a",
    "fig3b": "paper_figs.fig3b",
    "fig4a": "paper_figs.fig4a",
    "fig4b": "paper_figs.fig4b",
    "fig4c": "paper_figs.fig4c",
    "fig2b_affairs": "paper_figs.fig2b_affairs",
    "fig4c_affairs": "paper_figs.fig4c_affairs",
    "art": "paper_figs.art",
}

#: Figures whose experiments have a configuration sized for a machine without a GPU (``--scale cpu``, the
#: default there); the others run their full configuration at that scale.
CPU_SCALED: frozenset[str] = frozenset({"fig2d", "fig3b", "fig4a", "fig4b"})

#: Figures that train torch models (they take ``--device`` and need the ``neural`` extra).
NEURAL_FIGURES: frozenset[str] = frozenset({"fig1", "fig2c", "fig2d", "fig3a", "fig3b", "fig4a", "fig4b", "art"})
