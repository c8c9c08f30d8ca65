"""Speed of the neural defenses on the same faces and architecture: undefended vs VIB vs DP-SGD (Opacus).

``python benchmarks/neural.py [--epochs 3] [--repeats 3] [--device auto] [--threads N] [--image-size 64]``

Prints ``name: value unit`` lines:

* ``epoch_<model>``: seconds per training epoch on split 0 of the faces (200 training images, architecture
  ``cnn-s``, batch 32, no early stopping; median over epochs 2..1+``epochs`` of ``history_[i]["seconds"]``)
  with ratios to undefended; ``fit_overhead_<model>``: the rest of ``fit`` (set-up, Opacus wrapping,
  ε accounting);
* ``step_*``: one forward + backward on a batch of 32 for the plain module, Opacus' ``GradSampleModule``
  (per-sample gradients by hooks), and a full DP-SGD optimizer step (per-sample clipping + noise),
  with the per-sample-gradient overhead as a ratio to the plain step;
* ``epoch_dpsgd_<mode>``: the DP-SGD epoch for each ``grad_sample_mode`` (ghost, hooks, ew) with ratios to the
  undefended epoch;
* ``threads_*``: the undefended epoch at one torch thread vs torch's default (one per core), wall and CPU
  seconds — the thread policy of the sweep engine (one thread per worker process on shared cores).

The best of ``repeats`` fits / steps is reported.

``--update-leaks`` measures instead the Update-Leaks update simulation (:func:`bench_update_leaks`): the
CPU time per update of :func:`defenses.neural.simulate_updates` (for several block sizes; the best one is
its default) and of the deep-copy loop :func:`defenses.neural.simulate_updates_loop`, each as a paired ratio
to the floor of one plain 100-probe forward pass per update — the least any exact method does, since
every updated model needs its own probe pass (the loop runs two) — with the largest |Δ| difference between
the two; and the same ratio when the model releases noised probabilities, when the update is private
(:class:`defenses.neural.PrivateUpdate`) and, for VIB, with a budget of 10 queries per probe.
``python benchmarks/neural.py --gmi [--gmi-iterations 50] [--gmi-dim 32] [--gmi-public N]`` instead times
the GMI attack (docs/attacks.md) on MNIST: ``gmi_batched`` — all 5 private identities × 5 restarts as
one batch (:class:`defenses.neural.GMIAttack`), ``gmi_one_identity_at_a_time`` — the same attack called
once per identity (its 5 restarts batched), as identity-iterations per second with their ratio; and
``wgan_gp_epoch`` — seconds per epoch of the WGAN-GP prior on the public digits (n_critic 5, batch 64).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F


def _best(fn, repeats: int) -> float:
    """Minimum wall time of ``repeats`` calls of ``fn``."""
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def _epoch_seconds(make, Xtr, ytr, args) -> tuple[float, float]:
    """Best-of-``repeats`` median epoch (wall seconds) and the CPU seconds of that fit per epoch."""
    best = (float("inf"), float("inf"))
    for _ in range(args.repeats):
        cpu = time.process_time()
        model = make(1 + args.epochs).fit(Xtr, ytr)
        cpu = (time.process_time() - cpu) / (1 + args.epochs)
        best = min(best, (float(np.median([h["seconds"] for h in model.history_[1:]])), cpu))
    return best


def _grad_sample_modes(DPSGDClassifier, common, Xtr, ytr, args, undefended: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mode in ("ghost", "hooks", "ew"):
            wall, _ = _epoch_seconds(lambda e: DPSGDClassifier(noise_multiplier=1.0, grad_sample_mode=mode,
                                                               classes=np.unique(ytr), **{**common, "epochs": e}),
                                     Xtr, ytr, args)
            print(f"epoch_dpsgd_{mode}: {wall:.3f} s ({wall / undefended:.2f} x undefended)")


def _threads(CNNClassifier, common, Xtr, ytr, args) -> None:
    before = torch.get_num_threads()
    default = max(1, len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    results = {}
    for n in (1, default):
        torch.set_num_threads(n)
        results[n] = _epoch_seconds(lambda e: CNNClassifier(**{**common, "epochs": e}), Xtr, ytr, args)
        print(f"threads_{n}_epoch: {results[n][0]:.3f} s wall, {results[n][1]:.3f} s CPU")
    torch.set_num_threads(before)
    print(f"threads_default_vs_one_wall: {results[default][0] / results[1][0]:.2f} x ({default} threads vs 1)")
    print(f"threads_default_vs_one_cpu: {results[default][1] / results[1][1]:.2f} x")


def gmi_benchmark(args, parser) -> int:
    """The ``--gmi`` section: batched vs one-identity-at-a-time inversion, and WGAN-GP time per epoch."""
    from defenses.neural import CNNClassifier, GMIAttack, WGANGPPrior, resolve_device
    from validation.gmi import GMIConfig, load_gmi_data

    try:
        device = resolve_device(args.device)
        data = load_gmi_data(GMIConfig(private_per_class=200, test_per_class=1, public_limit=args.gmi_public),
                             args.data_home)
    except (ValueError, FileNotFoundError) as exc:
        parser.exit(2, f"benchmarks/neural.py: error: {exc}\n")
    print(f"device: {device}")
    print(f"torch_threads: {torch.get_num_threads()}")
    epochs = 1 + (args.repeats > 1)
    prior = WGANGPPrior(dim=args.gmi_dim, epochs=epochs, device=str(device), random_state=0, progress=False)
    cpu = time.process_time()
    prior.fit(data.X_public)
    cpu = (time.process_time() - cpu) / epochs
    per_epoch = prior.history_[-1]["seconds"]  # the last epoch: no first-call warm-up
    n = len(data.X_public)
    print(f"wgan_gp_epoch: {per_epoch:.2f} s ({n} public images 32x32, dim {args.gmi_dim}, batch 64, n_critic 5)")
    print(f"wgan_gp_epoch_cpu: {cpu:.2f} s (process CPU time per epoch: what a shared machine's load does not inflate)")
    print(f"wgan_gp_images_per_s: {n / per_epoch:.0f} images/s")
    target = CNNClassifier(epochs=1, early_stopping=False, device=str(device), random_state=0,
                           progress=False).fit(data.X_train, data.y_train)
    ids = list(range(5))
    it = args.gmi_iterations

    def batched_attack():
        GMIAttack(prior, iterations=it, random_state=0).fit(target).invert(ids)

    def one_at_a_time():
        for y in ids:
            GMIAttack(prior, iterations=it, identities_per_batch=len(ids), random_state=0).fit(target).invert([y])

    GMIAttack(prior, iterations=2, random_state=0).fit(target).invert(ids)  # warm-up
    cpu = time.process_time()
    t_b = _best(batched_attack, args.repeats)
    cpu_b, cpu = (time.process_time() - cpu) / args.repeats, time.process_time()
    t_s = _best(one_at_a_time, args.repeats)
    cpu_s = (time.process_time() - cpu) / args.repeats
    work = len(ids) * it
    print(f"gmi_batched: {work / t_b:.1f} identity-iterations/s ({len(ids)} identities x 5 restarts in one batch)")
    print(f"gmi_one_identity_at_a_time: {work / t_s:.1f} identity-iterations/s")
    print(f"gmi_batched_vs_one_at_a_time: {t_s / t_b:.2f} x")
    print(f"gmi_batched_vs_one_at_a_time_cpu: {cpu_s / cpu_b:.2f} x (process CPU time)")
    print(f"gmi_full_attack_batched_estimate: {t_b / it * 1500:.0f} s (1,500 iterations, 5 identities x 5 restarts)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--image-size", type=int, default=64, choices=(16, 32, 64))
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--update-leaks", action="store_true",
                        help="benchmark the Update-Leaks update simulation (batched vs loop) instead")
    parser.add_argument("--ul-dataset", choices=("mnist", "digits"), default="mnist",
                        help="images of the Update-Leaks benchmark (default mnist, 28x28)")
    parser.add_argument("--ul-updates", type=int, default=256, help="updates simulated by the batched version")
    parser.add_argument("--ul-loop-updates", type=int, default=64, help="updates simulated by the loop")
    parser.add_argument("--gmi", action="store_true", help="time the GMI attack and its WGAN-GP prior instead")
    parser.add_argument("--gmi-iterations", type=int, default=50, help="inversion iterations timed (default 50)")
    parser.add_argument("--gmi-dim", type=int, default=32, help="width of the WGAN-GP prior (default 32)")
    parser.add_argument("--gmi-public", type=int, default=None, help="public images per WGAN-GP epoch (default all)")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.repeats < 1:
        parser.exit(2, "benchmarks/neural.py: error: --epochs and --repeats must be >= 1\n")
    if args.gmi_iterations < 1 or args.gmi_dim < 1 or (args.gmi_public is not None and args.gmi_public < 64):
        parser.exit(2, "benchmarks/neural.py: error: --gmi-iterations and --gmi-dim must be >= 1, "
                       "--gmi-public >= 64\n")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.update_leaks:
        return bench_update_leaks(parser, args)
    if args.gmi:
        return gmi_benchmark(args, parser)

    from defenses.datasets import load_faces
    from defenses.datasets.faces import split_faces
    from defenses.neural import (
        CNNClassifier,
        DPSGDClassifier,
        VIBClassifier,
        resolve_device,
    )
    from defenses.neural.architectures import Classifier, make_backbone

    try:
        device = resolve_device(args.device)
        d = load_faces(args.data_home)
    except (ValueError, FileNotFoundError) as exc:
        parser.exit(2, f"benchmarks/neural.py: error: {exc}\n")
    f = 64 // args.image_size
    X = d.data.reshape(-1, args.image_size, f, args.image_size, f).mean(axis=(2, 4)).astype(np.float32)
    sp = split_faces(d.target, 5, 2, 3, random_state=0)
    Xtr, ytr = X[sp.train], d.target[sp.train]
    print(f"device: {device}")
    print(f"torch_threads: {torch.get_num_threads()}")
    print(f"train_images: {len(Xtr)} images of {args.image_size}x{args.image_size}")

    common = {"epochs": 1, "batch_size": 32, "early_stopping": False, "progress": False, "random_state": 0, "device": str(device)}
    makers = {
        "undefended": lambda e: CNNClassifier(**{**common, "epochs": e}),
        "vib": lambda e: VIBClassifier(beta=1e-2, **{**common, "epochs": e}),
        "dpsgd": lambda e: DPSGDClassifier(noise_multiplier=1.0, classes=np.unique(ytr), **{**common, "epochs": e}),
    }
    per_epoch = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        makers["undefended"](1).fit(Xtr[:32], ytr[:32])  # warm-up: torch's lazy initialisation
        for name, make in makers.items():
            runs = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                model = make(1 + args.epochs).fit(Xtr, ytr)
                total = time.perf_counter() - t
                epochs = [h["seconds"] for h in model.history_[1:]]  # the first epoch includes warm-up
                runs.append((float(np.median(epochs)), total - sum(h["seconds"] for h in model.history_)))
            per_epoch[name] = min(r[0] for r in runs)
            print(f"epoch_{name}: {per_epoch[name]:.3f} s")
            print(f"fit_overhead_{name}: {min(r[1] for r in runs):.3f} s")
    for name in ("vib", "dpsgd"):
        print(f"epoch_ratio_{name}_vs_undefended: {per_epoch[name] / per_epoch['undefended']:.2f} x")
    _grad_sample_modes(DPSGDClassifier, common, Xtr, ytr, args, per_epoch["undefended"])
    _threads(CNNClassifier, common, Xtr, ytr, args)

    # ---- per-sample gradients: plain step vs Opacus GradSampleModule vs a full DP-SGD step
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    xb = torch.from_numpy(Xtr[:32, None]).to(device)
    yb = torch.from_numpy(np.unique(ytr, return_inverse=True)[1][:32]).to(device)
    net = Classifier(make_backbone("cnn-s", 1, (args.image_size, args.image_size)), 40).to(device)

    def plain():
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(xb), yb).backward()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gsm = GradSampleModule(net)
        opt = DPOptimizer(torch.optim.Adam(gsm.parameters(), lr=1e-3), noise_multiplier=1.0, max_grad_norm=1.0,
                          expected_batch_size=32, generator=torch.Generator(device=device).manual_seed(0))

        def per_sample():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(gsm(xb), yb).backward()

        def dp_step():
            per_sample()
            opt.step()

        gsm.disable_hooks()
        n_rep = max(5, args.repeats)
        plain()
        t_plain = _best(plain, n_rep)
        gsm.enable_hooks()
        per_sample()
        t_ps = _best(per_sample, n_rep)
        t_dp = _best(dp_step, n_rep)
    print(f"step_plain_fwd_bwd: {t_plain * 1e3:.1f} ms")
    print(f"step_opacus_per_sample_grads: {t_ps * 1e3:.1f} ms")
    print(f"step_dpsgd_full: {t_dp * 1e3:.1f} ms")
    print(f"opacus_per_sample_overhead_vs_plain: {t_ps / t_plain:.2f} x")
    print(f"dpsgd_step_vs_plain: {t_dp / t_plain:.2f} x")
    return 0


# ------------------------------------------------------------------------------------------ Update-Leaks


def _cpu(fn) -> float:
    """Process CPU seconds of one call of ``fn`` (one torch thread: insensitive to other processes' load)."""
    t = time.process_time()
    fn()
    return time.process_time() - t


def bench_update_leaks(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Simulated single-sample updates against the floor of one probe pass per update, paired.

    Targets: an undefended CNN and a VIB (β = 1e-2) of architecture ``cnn-strided`` trained for one epoch
    on 2,000 images (on the 8×8 digits: half of them) — the weights do not change the cost; 100 probes
    (10 per class); the update records are the next images. Every ratio is paired: each of ``repeats``
    rounds times, back to back in process CPU time, the floor (``ul-updates`` forward passes of the
    100 probes through the plain module, no gradient: the least any exact method must do, since every
    updated model needs its own probe pass) and the method on ``ul-updates`` updates; the round's ratio is
    method / floor, and the median over rounds is reported with the range. The block size of
    :func:`defenses.neural.simulate_updates` is chosen by that median.
    """
    from defenses.datasets import load_digits, load_mnist
    from defenses.neural import (CNNClassifier, PrivateUpdate, VIBClassifier, resolve_device, simulate_updates,
                                 simulate_updates_loop)
    from defenses.output import add_uniform_noise

    if min(args.ul_updates, args.ul_loop_updates) < 1:
        parser.exit(2, "benchmarks/neural.py: error: --ul-updates and --ul-loop-updates must be >= 1\n")
    try:
        device = resolve_device(args.device)
        d = load_mnist(args.data_home) if args.ul_dataset == "mnist" else load_digits()
    except (ValueError, FileNotFoundError) as exc:
        parser.exit(2, f"benchmarks/neural.py: error: {exc}\n")
    X, y = d.data, d.target
    n_fit = min(2000, len(y) // 2)
    probes = np.concatenate([np.flatnonzero(y[n_fit:] == c)[:10] + n_fit for c in range(10)])
    rest = np.setdiff1d(np.arange(n_fit, len(y)), probes)
    upd = rest[: max(args.ul_updates, args.ul_loop_updates)]
    n, n_loop = args.ul_updates, args.ul_loop_updates
    rounds = max(args.repeats, 5)
    print(f"device: {device}")
    print(f"torch_threads: {torch.get_num_threads()}")
    print(f"ul_images: {args.ul_dataset} {X.shape[1]}x{X.shape[2]}, 100 probes, architecture cnn-strided")
    print(f"ul_timing: process CPU time, median of {rounds} paired rounds (range in brackets)")
    common = {"architecture": "cnn-strided", "epochs": 1, "early_stopping": False, "progress": False,
              "random_state": 0, "device": str(device)}
    models = {"cnn": CNNClassifier(**common), "vib": VIBClassifier(beta=1e-2, **common)}

    def paired(method, floor) -> tuple[float, float, float]:
        ratios = [_cpu(method) / _cpu(floor) for _ in range(rounds)]
        return float(np.median(ratios)), min(ratios), max(ratios)

    def fmt(r) -> str:
        return f"{r[0]:.2f} x [{r[1]:.2f}, {r[2]:.2f}]"

    for name, model in models.items():
        model.fit(X[:n_fit], y[:n_fit])
        P, Xu, yu = X[probes], X[upd], y[upd]
        module = model.module_.eval()
        Pt = torch.from_numpy(P[:, None] if P.ndim == 3 else P).to(device)

        def floor(k: int = n):
            with torch.no_grad():
                for _ in range(k):
                    module(Pt)  # a VIB draws its latent: what one query of the probes costs

        simulate_updates(model, P, Xu[:4], yu[:4])  # warm-up (lazy initialisation, torch.func tracing)
        one = _cpu(lambda: floor(n)) / n
        print(f"ul_probe_pass_{name}: {one * 1e3:.2f} ms CPU (one forward of the 100 probes, no gradient)")
        best = (np.inf, None)
        for bs in (8, 16, 32, 64, 128):
            r = paired(lambda bs=bs: simulate_updates(model, P, Xu[:n], yu[:n], batch_size=bs, random_state=0),
                       floor)
            print(f"ul_batched_{name}_block{bs}_vs_floor: {fmt(r)}")
            best = min(best, (r[0], bs), key=lambda t: t[0])
        bs = best[1]
        print(f"ul_batched_{name}_vs_floor: {best[0]:.2f} x (block {bs}; target <= 1.5 x)")
        loop = paired(lambda: simulate_updates_loop(model, P, Xu[:n_loop], yu[:n_loop], random_state=0),
                      lambda: floor(n_loop))
        print(f"ul_loop_{name}_vs_floor: {fmt(loop)} (two probe passes, a deep copy and an optimizer per update)")
        print(f"ul_batched_vs_loop_{name}: {loop[0] / best[0]:.2f} x")
        noisy = paired(lambda: simulate_updates(model, P, Xu[:n], yu[:n], batch_size=bs, random_state=0,
                                                release=add_uniform_noise(0.1)), floor)
        print(f"ul_batched_{name}_uniform_noise_release_vs_floor: {fmt(noisy)} (block {bs})")
        private = paired(lambda: simulate_updates(model, P, Xu[:n], yu[:n], batch_size=bs, random_state=0,
                                                  private_update=PrivateUpdate(1.0)), floor)
        print(f"ul_batched_{name}_private_update_vs_floor: {fmt(private)} (clipping and Gaussian noise per update)")
        if name == "vib":
            q10 = paired(lambda: simulate_updates(model, P, Xu[:n], yu[:n], batch_size=bs, random_state=0,
                                                  queries=10), floor)
            print(f"ul_batched_vib_queries10_vs_floor: {fmt(q10)} (10 latent draws per probe and pass)")
        k = min(n_loop, 16)
        diff = np.abs(simulate_updates(model, P, Xu[:k], yu[:k], batch_size=bs, random_state=0)
                      - simulate_updates_loop(model, P, Xu[:k], yu[:k], random_state=0)).max()
        print(f"ul_max_abs_delta_difference_{name}: {diff:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
