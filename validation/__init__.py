"""validation — empirical game gains/advantages with confidence intervals, and privacy-utility sweeps."""

from mitheory._version import __version__ as __version__
