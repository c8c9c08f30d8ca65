"""mitheory — the mathematics of model-inversion privacy, executable.

Pure math (numpy, scipy, mpmath; sympy only lazily): the bounds of Theorems 1 and 2 of the MID paper
(Wang et al., AAAI 2021), the tight f-DP bound, and the paper's security games. Never imports torch,
scikit-learn, or the ``defenses``/``validation``/``paper_figs`` packages.
"""

from mitheory._version import __version__ as __version__
