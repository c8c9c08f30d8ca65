"""The default thread policy against one thread per worker, at idle and under load (issue 24, item 1).

``python benchmarks/threads.py [--figures theory bounds ...] [--estimators] [--pairs 3] [--modes idle loaded]
[--load N]`` prints ``name: value unit`` lines.

* Figures: each quick figure as a whole process, ``python -m paper_figs FIG --quick`` with the default
  threads (no ``--threads``; the engine's policy decides) and with ``--threads 1``, run alternately
  ``--pairs`` times, each into a fresh output directory (a figure resumes from its store otherwise). The
  children get the environment a user has: ``MID_THREADS``, ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``
  and ``MKL_NUM_THREADS`` removed. Reported: median wall and CPU seconds (CPU of the figure's whole process
  tree, from the operating system's accounting of the reaped children) of each setting, and the median of
  the paired ratios default / one thread — above 1 means the default is slower.
* ``--estimators``: the estimators' ``fit`` in a child process with the same clean environment, at the
  libraries' defaults (whatever thread counts BLAS and torch — or the estimator's own ``n_threads`` —
  choose) and with one thread (``threadpoolctl`` limit 1, ``torch.set_num_threads(1)``, ``n_threads=1``
  where the estimator takes it), alternately, in the same process: MID regression and AdaSSP on IWPC,
  ID3 and DP-ID3 on the steak survey, and (with torch) the CNN, VIB and DP-SGD on 200 faces at 32x32
  (3 epochs). A fit shorter than 0.3 s is timed over enough repeated fits to last about that long.
* Modes: ``idle`` runs on the machine as it is (its load average is printed: on a shared machine "idle"
  means no load of ours); ``loaded`` first starts ``--load`` busy processes of our own (default: one per
  usable core, each a Python loop), measures, and stops them.

The policy to confirm: the default is never slower than one thread per worker by more than 10 % (ratio
<= 1.10) on every quick figure and estimator, in both modes.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREAD_VARIABLES = ("MID_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
NON_NEURAL = ["theory", "bounds", "advantage", "fig2a", "fig2b", "fig4c"]


def clean_env() -> dict[str, str]:
    """The environment of a user who set no thread variables (and the repository importable first)."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_process(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``cmd`` and every descendant it waited for; raises on a non-zero exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {res.returncode}: {res.stderr.strip()[-300:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@contextmanager
def busy_load(processes: int):
    """``processes`` CPU-bound Python loops of our own, stopped (by their ids) on exit."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        time.sleep(1.0)
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def report(name: str, default: list[tuple[float, float]], one: list[tuple[float, float]]) -> None:
    med = statistics.median
    print(f"{name}_default: {med(w for w, _ in default):.2f} s wall, {med(c for _, c in default):.2f} s CPU")
    print(f"{name}_one_thread: {med(w for w, _ in one):.2f} s wall, {med(c for _, c in one):.2f} s CPU")
    wall = med(a[0] / b[0] for a, b in zip(default, one))
    cpu = med(a[1] / b[1] for a, b in zip(default, one))
    verdict = "ok" if wall <= 1.10 else "default slower by more than 10 %"
    print(f"{name}_default_vs_one_thread: {wall:.2f} x wall, {cpu:.2f} x CPU (median of {len(one)} pairs; {verdict})",
          flush=True)


def bench_figures(figures: list[str], pairs: int, mode: str) -> None:
    env = clean_env()
    for fig in figures:
        runs: dict[str, list[tuple[float, float]]] = {"default": [], "one": []}
        for _ in range(pairs):
            for setting, extra in (("default", []), ("one", ["--threads", "1"])):
                with tempfile.TemporaryDirectory() as out:
                    runs[setting].append(run_process(
                        [sys.executable, "-m", "paper_figs", fig, "--quick", "--out", out, *extra], env))
        report(f"{mode}_{fig}", runs["default"], runs["one"])


_ESTIMATORS = textwrap.dedent('''
    import json, sys, time, warnings
    import numpy as np
    from threadpoolctl import threadpool_limits
    pairs = int(sys.argv[1])
    warnings.simplefilter("ignore")
    from validation.linear import IWPCProblem
    from defenses.linear import AdaSSPRegression, MIDLinearRegression
    from defenses.datasets import load_steak_survey
    from defenses.tree import DPID3Classifier, ID3Classifier
    iwpc, steak = IWPCProblem(), load_steak_survey()
    cases = {
        "mid_linear_fit": (lambda: MIDLinearRegression(mid_lambda=1.0), iwpc.X, iwpc.y),
        "adassp_fit": (lambda: AdaSSPRegression(epsilon=1.0, x_bound=iwpc.x_bound, y_bound=iwpc.y_bound,
                                                random_state=0), iwpc.X, iwpc.y),
        "id3_fit": (lambda: ID3Classifier(max_depth=5), steak.data, steak.target),
        "dp_id3_fit": (lambda: DPID3Classifier(epsilon=1.0, max_depth=5, random_state=0), steak.data, steak.target),
    }
    try:
        import torch
        from defenses.datasets import load_faces
        from defenses.neural import CNNClassifier, DPSGDClassifier, VIBClassifier
    except ImportError:
        torch = None
    if torch is not None:
        faces = load_faces()
        keep = np.flatnonzero(faces.target < 40)[:200]
        X = faces.data[keep].reshape(-1, 32, 2, 32, 2).mean(axis=(2, 4)).astype(np.float32)
        y = faces.target[keep]
        kw = {"epochs": 3, "batch_size": 32, "early_stopping": False, "progress": False, "random_state": 0}
        cases.update({
            "cnn_fit": (lambda: CNNClassifier(**kw), X, y),
            "vib_fit": (lambda: VIBClassifier(beta=1e-2, **kw), X, y),
            "dpsgd_fit": (lambda: DPSGDClassifier(noise_multiplier=1.0, **kw), X, y),
        })
    def fit(make, X, y, one, repeats=1):
        """Wall and CPU seconds of one fit (the mean of ``repeats``)."""
        models = [make() for _ in range(repeats)]
        for model in models:
            if one and "n_threads" in model.get_params():
                model.set_params(n_threads=1)
        before = torch.get_num_threads() if torch is not None else None
        try:
            if one and torch is not None:
                torch.set_num_threads(1)
            with threadpool_limits(1 if one else None):
                c, w = time.process_time(), time.perf_counter()
                for model in models:
                    model.fit(X, y)
                return (time.perf_counter() - w) / repeats, (time.process_time() - c) / repeats
        finally:
            if torch is not None:
                torch.set_num_threads(before)
    out = {}
    for name, (make, X, y) in cases.items():
        warm, _ = fit(make, X, y, False)  # lazy imports and initialisation; fits under 0.3 s are repeated
        repeats = max(1, round(0.3 / max(warm, 1e-4)))
        out[name] = {"default": [], "one": []}
        for _ in range(pairs):
            out[name]["default"].append(fit(make, X, y, False, repeats))
            out[name]["one"].append(fit(make, X, y, True, repeats))
    print(json.dumps(out))
''')


def bench_estimators(pairs: int, mode: str) -> None:
    import json

    res = subprocess.run([sys.executable, "-c", _ESTIMATORS, str(pairs)], env=clean_env(), cwd=ROOT,
                         capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(f"estimator benchmark failed: {res.stderr.strip()[-500:]}")
    for name, runs in json.loads(res.stdout.strip().splitlines()[-1]).items():
        report(f"{mode}_{name}", runs["default"], runs["one"])


def main() -> None:
    from paper_figs import FIGURES

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--figures", nargs="*", default=list(FIGURES), metavar="FIG",
                    help=f"quick figures to time (default: all; the non-neural ones: {' '.join(NON_NEURAL)})")
    ap.add_argument("--estimators", action="store_true", help="also time the estimators' fit")
    ap.add_argument("--pairs", type=int, default=3, help="alternating default / one-thread runs (default 3)")
    ap.add_argument("--modes", nargs="+", choices=("idle", "loaded"), default=["idle", "loaded"])
    ap.add_argument("--load", type=int, default=None, help="busy processes in the loaded mode (default: cores)")
    args = ap.parse_args()
    unknown = [f for f in args.figures if f not in FIGURES]
    if unknown or args.pairs < 1 or (args.load is not None and args.load < 1):
        ap.exit(2, f"threads.py: error: unknown figure {unknown[0]!r}\n" if unknown else
                "threads.py: error: --pairs and --load must be >= 1\n")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    for mode in args.modes:
        load = (args.load or cores) if mode == "loaded" else 0
        with busy_load(load):
            print(f"{mode}: {load} busy processes of ours; load average {os.getloadavg()[0]:.2f} on {cores} cores",
                  flush=True)
            if args.estimators:
                bench_estimators(args.pairs, mode)
            bench_figures(args.figures, args.pairs, mode)


if __name__ == "__main__":
    main()
