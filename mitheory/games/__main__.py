"""``python -m mitheory.games``: the games' command line (it lives in :mod:`mitheory.games_cli`)."""

import sys

from mitheory.games_cli import main

if __name__ == "__main__":
    sys.exit(main())
