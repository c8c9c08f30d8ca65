"""Start-up of the command lines against the imports they cannot avoid (issue 24, item 7).

``python benchmarks/startup.py [--repeat 15]`` prints ``name: value unit`` lines for three whole
processes, each run alternately with its peer (so that drifting load on a shared machine cancels in the
paired ratios), with bytecode caching on as for a user:

* ``python -m mitheory.games --help`` against ``python -c "import numpy, mpmath"`` (target: ratio <= 2);
* ``python -m validation --help`` against ``python -c "import numpy, mpmath"``, and its own CPU seconds
  (target: <= 0.3 s);
* the main command ``python -m mitheory.bounds --eps 0.1 --n 1000`` against ``python -c "import mpmath"``
  (target: ratio <= 1.2).

Ratios are medians of the paired ratios, of wall time and of CPU time (user + system of the child, from
the operating system's accounting).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def pair(name: str, cmd: list[str], peer: list[str], peer_name: str, repeat: int, env: dict[str, str],
         target: str) -> list[tuple[float, float]]:
    for c in (cmd, peer):  # warm the page cache and write the .pyc files
        run(c, env)
    a, b = [], []
    for _ in range(repeat):
        a.append(run(cmd, env))
        b.append(run(peer, env))
    med = statistics.median
    print(f"{name}: {med(w for w, _ in a) * 1e3:.0f} ms wall, {med(c for _, c in a) * 1e3:.0f} ms CPU")
    print(f"{peer_name}: {med(w for w, _ in b) * 1e3:.0f} ms wall, {med(c for _, c in b) * 1e3:.0f} ms CPU")
    print(f"ratio {name} / {peer_name}: {med(x[0] / y[0] for x, y in zip(a, b)):.2f} wall, "
          f"{med(x[1] / y[1] for x, y in zip(a, b)):.2f} CPU (median of {repeat} pairs; target {target})", flush=True)
    return a


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    if args.repeat < 1:
        ap.exit(2, "startup.py: error: --repeat must be >= 1\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    py = sys.executable
    numpy_mpmath = [py, "-c", "import numpy, mpmath"]
    pair("python -m mitheory.games --help", [py, "-m", "mitheory.games", "--help"], numpy_mpmath,
         "import numpy, mpmath", args.repeat, env, "<= 2")
    runs = pair("python -m validation --help", [py, "-m", "validation", "--help"], numpy_mpmath,
                "import numpy, mpmath", args.repeat, env, "none; see the CPU seconds below")
    print(f"python -m validation --help CPU: {statistics.median(c for _, c in runs):.3f} s (target <= 0.3 s)")
    pair("python -m mitheory.bounds --eps 0.1 --n 1000", [py, "-m", "mitheory.bounds", "--eps", "0.1", "--n", "1000"],
         [py, "-c", "import mpmath"], "import mpmath", args.repeat, env, "<= 1.2")
    print(f"load_average_1min: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} cpus)")


if __name__ == "__main__":
    main()
