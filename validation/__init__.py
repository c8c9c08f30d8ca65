"""validation — empirical game gains/advantages with confidence intervals, and privacy-utility sweeps."""
