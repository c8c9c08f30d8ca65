"""``python -m mitheory.games``: the games' command line (it lives in :mod:`mitheory.games_cli`)."""

from mitheory.cli import run_main
from mitheory.games_cli import main

if __name__ == "__main__":
    run_main(main)
