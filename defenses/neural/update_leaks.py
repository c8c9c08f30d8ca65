"""Update-Leaks: inferring the label of the one record a model was updated on (Salem et al., USENIX Sec 2020).

A service fine-tunes its model on one new private record (x, y); an attacker who queried a fixed *probe
set* P before and after the update observes the change of the outputs

    Δ = logits_θ(P) − logits_θ'(P),    θ' = θ − lr · ∇_θ CE(f_θ(x), y)    (one SGD step, lr = 1e-2)

flattened to ``n_probes · n_classes`` values, and infers y from Δ (docs/attacks.md). It learns how
by simulation: a *shadow* model of the target's architecture and defense, trained on shadow data, is
updated on many shadow records of known label, and an attack MLP (the official
``n_probes·n_classes → 128 → 64 → n_classes``, LeakyReLU 0.2, dropout 0.5) is trained on the
(Δ, label) pairs, then applied to the target's Δ.

For a VIB target (MID) every query draws a fresh latent z = μ + σ ⊙ ε — the update step's forward pass,
the probe pass before and the probe pass after — so Δ carries the sampling noise that is part of the
defense. The update's loss is the cross-entropy alone (no KL term), with the model in eval mode, as in the
official code. One departure: the official script queries the probes *before* once for all updates;
here every simulated update is its own experiment with its own "before" query (fresh latents in both
passes), which for deterministic models is the same number.

Simulating 10,000 one-step updates is the expensive part. :func:`simulate_updates` computes them in
blocks with :mod:`torch.func`: per-sample gradients by ``vmap(grad(·))`` over the block, then one probe
pass of every updated model θ − lr·g_i, written into the parameters of one working copy (a plain loop: on
a CPU it is faster than ``vmap`` or ``functional_call`` over the parameter sets); the "before" pass is computed once (for VIB only the cheap decoder step
is redone per update with fresh ε). :func:`simulate_updates_loop` is the plain reference — a deep copy,
an SGD optimizer step and two probe passes per update — which the tests compare it against. Both draw the
noise of update *i* from generators of its own seeded by (``random_state``, i), so they see the same
noise whatever the block size.

Two departures from the official protocol are options, both off by default:

* **a query budget** (``queries=k``): the attacker queries every probe k times before and k times after
  the update and Δ compares the averages. Against a VIB target, whose every query draws a fresh latent,
  averaging removes the sampling noise that makes up much of the defense; against a deterministic model
  it changes nothing;
* **a private update** (:class:`PrivateUpdate`): the service's update step itself is (ε, δ)-DP for the
  update record — the record's gradient clipped to norm C plus Gaussian noise of standard deviation σC —
  with ε from the exact Gaussian-mechanism profile. DP-SGD on the initial training protects the
  *training* records, not the update record, which enters through the plain step.

A service may release only perturbed probability vectors (output perturbation, :mod:`defenses.output`,
docs/defenses.md): with ``release`` set, the attacker's feature is

    Δ = release(softmax(logits_θ(P))) − release(softmax(logits_θ'(P)))

and the shadow model's updates are simulated through the same release (the attacker knows the
defense). A random release (uniform or Gaussian noise) draws the noise of update *i* — one draw for
the pass before, one for the pass after — from a generator of its own seeded by (``random_state``, i,
1), so batched and loop updates release the same vectors; the release is applied to a whole block of
updates in one call.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mitheory.cli import Progress

from defenses.base import AttributeInference, AttributeInferenceAttack, deprecated_call

from ._torch import as_images, batched, build_module, make_generator, resolve_device, seed_from
from .private_update import PrivateUpdate, sub_seed
from .target import TargetNetwork, as_target

__all__ = ["UPDATE_LR", "UpdateLeaksAttack", "UpdateLeaksMLP", "label_prior_baseline", "simulate_updates",
           "simulate_updates_loop", "updated_model"]

#: The official single-sample update: one SGD step with this learning rate.
UPDATE_LR = 1e-2

#: What a service releases instead of logits: a map of probability vectors (n, n_classes) to released
#: vectors of the same shape — an :class:`defenses.output.OutputPerturbation` or a deterministic callable.
Release = Callable[[np.ndarray], np.ndarray]


# ----------------------------------------------------------------------------------------- the target


def _target_parts(model) -> tuple[TargetNetwork, torch.device]:
    target = as_target(model)
    return target.network().eval(), target.device


def _images(target, arr, name: str) -> torch.Tensor:
    arr = as_images(arr, name)
    if target.input_shape is not None and tuple(arr.shape[1:]) != tuple(target.input_shape):
        raise ValueError(f"{name} has images of shape {arr.shape[1:]}, the model was fit on {target.input_shape}")
    return torch.from_numpy(arr)


def _inputs(model, probes, X, y) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    target = as_target(model)
    X = _images(target, X, "X")
    return _images(target, probes, "probes"), X, torch.from_numpy(_label_index(target, y, len(X)))


def _label_index(target, y, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y must hold one label per update image, got shape {y.shape} for {n} images")
    return target.class_index(y)


def _check_lr(lr) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not np.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    return float(lr)


def _check_positive_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def _check_private(private) -> None:
    if private is not None and not isinstance(private, PrivateUpdate):
        raise ValueError(f"private_update must be None (the official plain SGD step) or a PrivateUpdate, "
                         f"got {private!r}")


def _update_noise(seed: int, index: int, n_probes: int, k: int, queries: int, device: torch.device):
    """Latent noise of update ``index``: the update sample's ε (1, k) from a generator seeded by (``seed``,
    ``index``, 0), and the probes' ε of the ``queries`` passes before and then after it,
    (2·queries·n_probes, k), from one seeded by (``seed``, ``index``)."""
    eps_u = torch.randn((1, k), generator=make_generator(sub_seed(seed, index, 0)), dtype=torch.float32)
    eps_p = torch.randn((2 * queries * n_probes, k), generator=make_generator(sub_seed(seed, index)),
                        dtype=torch.float32)
    return eps_u.to(device), eps_p.to(device)


def _block_noise(seed, start, stop, n_probes, k, queries, device):
    """ε of the update samples (B, k) and of the probe passes before and after (B, queries, n_probes, k)."""
    if k == 0:
        return None, None, None
    parts = [_update_noise(seed, i, n_probes, k, queries, device) for i in range(start, stop)]
    eps_u = torch.cat([u for u, _ in parts])
    eps = torch.stack([p for _, p in parts]).reshape(len(parts), 2, queries, n_probes, k)
    return eps_u, eps[:, 0], eps[:, 1]


def _check_release(release) -> None:
    if release is not None and not callable(release):
        raise ValueError(f"release must be None (raw logits) or a callable on probability vectors such as a "
                         f"defenses.output perturbation, got {release!r}")


def _release_draws(release) -> bool:
    """Whether ``release`` draws noise (then every query of a probe is released differently)."""
    return getattr(release, "draw_noise", None) is not None and \
        release.draw_noise((1, 2), np.random.default_rng(0)) is not None


def _release_noise(release, seed: int, start: int, stop: int, shape: tuple[int, ...]) -> np.ndarray | None:
    """The release noise of updates ``start .. stop−1``, shape ``(B, 2, *shape)`` (passes before, passes
    after), update i's from a generator seeded by (``seed``, i, 1); None for a deterministic release."""
    draw = getattr(release, "draw_noise", None)
    first = None if draw is None else draw((2, *shape), np.random.default_rng([seed, start, 1]))
    if first is None:
        return None
    rest = [draw((2, *shape), np.random.default_rng([seed, i, 1])) for i in range(start + 1, stop)]
    return np.stack([first, *rest])


def _released(release, logits: torch.Tensor, noise: np.ndarray | None) -> np.ndarray:
    """What a service releasing ``release(softmax(logits))`` answers: float64, the shape of ``logits``
    (…, n_classes), all rows perturbed in one call (``noise`` of the same shape, or None)."""
    proba = torch.softmax(logits.double(), dim=-1).cpu().numpy()
    flat = proba.reshape(-1, proba.shape[-1])
    out = release(flat) if noise is None else release.apply(flat, noise.reshape(flat.shape))
    out = np.asarray(out, dtype=np.float64)
    if out.shape != flat.shape:
        raise ValueError(f"release must map (n, n_classes) vectors to the same shape, got {out.shape} "
                         f"for {flat.shape}")
    return out.reshape(proba.shape)


def _delta(release, before: torch.Tensor, after: torch.Tensor, noise: np.ndarray | None) -> np.ndarray:
    """Δ rows (B, n_probes·n_classes) of a block from its probe outputs (B, queries, n_probes, n_classes):
    the answers of the queries averaged, before minus after."""
    if release is None:
        return (before.mean(1) - after.mean(1)).flatten(1).cpu().numpy()
    delta = (_released(release, before, None if noise is None else noise[:, 0]).mean(1)
             - _released(release, after, None if noise is None else noise[:, 1]).mean(1))
    return delta.reshape(len(delta), -1).astype(np.float32)


def _progress(total: int, progress: bool | None, desc: str) -> Progress:
    return Progress(total, desc=desc, unit="update", disable=progress is False, leave=False)


def _step_direction(private, grads, seed, start, stop):
    """The update's direction per record of a block: the gradient itself, or its private version."""
    if private is None:
        return grads
    noises = [private.noise({n: g[0] for n, g in grads.items()}, seed, i) for i in range(start, stop)]
    return private.privatize(grads, {n: torch.stack([z[n] for z in noises]) for n in grads})


# ----------------------------------------------------------------------------------------- simulation


def _query_shape(net: TargetNetwork, release, queries: int) -> tuple[int, int]:
    """(queries answered differently, passes of the model per update): a deterministic model behind a
    deterministic release answers every query alike, so one query stands for all of them."""
    q = queries if (net.stochastic or _release_draws(release)) else 1
    return q, (q if net.stochastic else 1)


def simulate_updates(model, probes, X, y, *, lr: float = UPDATE_LR, batch_size: int = 64,
                     random_state: int | np.random.Generator | None = None, release: Release | None = None,
                     queries: int = 1, private_update: PrivateUpdate | None = None,
                     progress: bool | None = None) -> np.ndarray:
    """Δ of one single-sample SGD update per record of ``(X, y)``, batched with :mod:`torch.func`.

    Parameters
    ----------
    model : fitted CNNClassifier, VIBClassifier, DPSGDClassifier or any target of :func:`~.target.as_target`
        The model before the update (never modified).
    probes : array (n_probes, H, W) or (n_probes, C, H, W)
        The attacker's probe images.
    X, y : arrays
        The update records (images and labels from ``model.classes_``), one simulated update each.
    lr : float
        Learning rate of the update step (official 1e-2); ``lr = 0`` leaves the model unchanged.
    batch_size : int
        Updates whose per-record gradients are computed together (memory grows with it: one gradient
        copy each); the probe pass of every updated model then runs one update at a time, which on a CPU
        is faster than one batched pass (``benchmarks/neural.py --update-leaks`` measures both).
    random_state : int, numpy Generator or None
        Seeds the latent noise of a VIB target, the noise of a random ``release`` and of a
        ``private_update`` (ignored when none draws any).
    release : callable or None
        What the service releases: None for the logits (the official attack); else a map of probability
        vectors, e.g. ``defenses.output.round_confidences(0.1)``, applied to the softmax of the probe
        logits in both passes. A random :class:`~defenses.output.OutputPerturbation` takes update i's noise
        from a generator seeded by (``random_state``, i, 1), not from its own ``rng``; a plain callable
        must be deterministic.
    queries : int
        The attacker's query budget: every probe is queried ``queries`` times before and after the update
        and Δ compares the averages of the answers (1: the official protocol). Each query of a VIB draws
        its own latent, each query of a random release its own noise; for a deterministic model behind a
        deterministic release every query gives the same answer and ``queries`` changes nothing.
    private_update : PrivateUpdate or None
        The service's update step: None for the official plain SGD step; else the (ε, δ)-DP step of
        :class:`PrivateUpdate` (clipped gradient plus Gaussian noise drawn for update i from a generator
        seeded by (``random_state``, i, 2)).
    progress : bool or None
        Progress on stderr (None or True: a tqdm bar on a terminal, else a line every few seconds).

    Returns
    -------
    ndarray of float32, shape (n_updates, n_probes · n_classes)
        Row i is ``mean_q logits_before(probes) − mean_q logits_after_i(probes)``, probe-major (with
        ``release``: the released vectors' means ``mean_q release(softmax(·))``).
    """
    from torch.func import functional_call, grad, vmap

    lr = _check_lr(lr)
    batch_size = _check_positive_int("batch_size", batch_size)
    queries = _check_positive_int("queries", queries)
    _check_release(release)
    _check_private(private_update)
    net, device = _target_parts(model)
    P, X, y = _inputs(model, probes, X, y)
    P = P.to(device)
    seed = seed_from(random_state)
    q, q_model = _query_shape(net, release, queries)
    params = {name: p.detach() for name, p in net.named_parameters()}

    def update_loss(theta, x, label, eps):
        logits = functional_call(net, theta, (x[None], None if eps is None else eps[None]))
        return F.cross_entropy(logits, label[None])

    # randomness="different": a stochastic module of a user's own draws its noise itself, per update
    per_sample_grads = vmap(grad(update_loss), in_dims=(None, 0, 0, 0 if net.stochastic else None),
                            randomness="different")
    n_out = _n_outputs(net)
    out = np.empty((len(X), P.shape[0] * n_out), dtype=np.float32)
    work = copy.deepcopy(net).eval()  # holds the updated parameters of one update at a time
    slots = [(name, w.requires_grad_(False)) for name, w in work.named_parameters()]
    with torch.no_grad():
        h_before = net.encode(P)
        plain_before = None if net.stochastic else net.head(h_before, None)[None, None]
    bar = _progress(len(X), progress, "simulated updates")
    for sl in batched(len(X), batch_size):
        B = sl.stop - sl.start
        eps_u, eps_b, eps_a = _block_noise(seed, sl.start, sl.stop, P.shape[0], net.noise_dim, q_model, device)
        g = per_sample_grads(params, X[sl].to(device), y[sl].to(device), eps_u)
        with torch.no_grad():
            g = _step_direction(private_update, g, seed, sl.start, sl.stop)
            # One probe pass per updated model, in a plain loop over the block: θ − lr·g_j is written into
            # the parameters of one working copy (no allocation, no parameter swapping), which on a CPU is
            # faster than vmap over the parameter sets or functional_call.
            after = torch.empty((B, q_model, P.shape[0], n_out), device=device)
            for j in range(B):
                for name, w in slots:
                    torch.add(params[name], g[name][j], alpha=-lr, out=w)
                after[j] = work(P, None if eps_a is None else eps_a[j]).reshape(q_model, P.shape[0], n_out)
            before = plain_before.expand(B, 1, -1, -1) if plain_before is not None else net.head(h_before, eps_b)
            if q_model < q:  # a deterministic model behind a random release: the same logits, fresh noise
                after, before = after.expand(-1, q, -1, -1), before.expand(-1, q, -1, -1)
            noise = _release_noise(release, seed, sl.start, sl.stop, (q, P.shape[0], n_out))
            out[sl] = _delta(release, before, after, noise)
        bar.update(B)
    bar.close()
    return out


def _n_outputs(net: TargetNetwork) -> int:
    return net.n_outputs


def _sgd_step(net: TargetNetwork, x: torch.Tensor, label: torch.Tensor, eps_u, *, lr: float,
              private: PrivateUpdate | None, seed: int, index: int) -> None:
    """The service's update, in place: one ``torch.optim.SGD`` step on the record (its gradient replaced by
    the private direction with ``private``)."""
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    opt.zero_grad()
    loss = F.cross_entropy(net(x, eps_u), label)
    loss.backward()
    if private is not None:
        named = dict(net.named_parameters())
        grads = {n: p.grad[None] for n, p in named.items()}
        direction = private.privatize(grads, {n: z[None] for n, z in private.noise(
            {n: p.detach() for n, p in named.items()}, seed, index).items()})
        for n, p in named.items():
            p.grad = direction[n][0]
    opt.step()


def simulate_updates_loop(model, probes, X, y, *, lr: float = UPDATE_LR,
                          random_state: int | np.random.Generator | None = None,
                          release: Release | None = None, queries: int = 1,
                          private_update: PrivateUpdate | None = None) -> np.ndarray:
    """The plain reference of :func:`simulate_updates`: per update a deep copy of the model, ``queries``
    probe passes, one ``torch.optim.SGD`` step on the record, ``queries`` more probe passes, and the
    release of each pass.

    Same arguments, same noise (update *i* draws its latent, release and update noise from generators of
    its own) and, up to floating-point rounding, the same Δ. Slow by design: kept as the ground truth the
    batched version is tested against and the baseline of ``benchmarks/neural.py``.
    """
    lr = _check_lr(lr)
    queries = _check_positive_int("queries", queries)
    _check_release(release)
    _check_private(private_update)
    net, device = _target_parts(model)
    P, X, y = _inputs(model, probes, X, y)
    P = P.to(device)
    seed = seed_from(random_state)
    q, q_model = _query_shape(net, release, queries)
    k = net.noise_dim
    rows = []
    for i in range(len(X)):
        eps_u, eps_b, eps_a = _block_noise(seed, i, i + 1, P.shape[0], k, q_model, device)
        copy_ = copy.deepcopy(net).eval()
        with torch.no_grad():
            before = copy_(P, None if eps_b is None else eps_b[0]).reshape(q_model, P.shape[0], -1)
        _sgd_step(copy_, X[i:i + 1].to(device), y[i:i + 1].to(device), None if eps_u is None else eps_u[:1],
                  lr=lr, private=private_update, seed=seed, index=i)
        with torch.no_grad():
            after = copy_(P, None if eps_a is None else eps_a[0]).reshape(q_model, P.shape[0], -1)
        before, after = before.expand(q, -1, -1)[None], after.expand(q, -1, -1)[None]
        noise = _release_noise(release, seed, i, i + 1, tuple(after.shape[1:]))
        rows.append(_delta(release, before, after, noise)[0])
    return np.stack(rows).astype(np.float32)


def updated_model(model, X, y, *, lr: float = UPDATE_LR, private_update: PrivateUpdate | None = None,
                  random_state: int | np.random.Generator | None = None, index: int = 0):
    """A copy of the fitted estimator ``model`` after the service's update on one record — the model it
    serves afterwards (e.g. to measure what a private update costs in accuracy).

    ``X`` holds the record's image (shape ``(1, H, W)`` or ``(1, C, H, W)``), ``y`` its label. The update
    is update number ``index`` of :func:`simulate_updates` with the same ``random_state``: the same latent
    draw for the record and the same private noise.
    """
    lr = _check_lr(lr)
    _check_private(private_update)
    index = int(index)
    out = copy.deepcopy(model)
    target = as_target(out)
    net, device = target.network().eval(), target.device
    X = _images(target, X, "X")
    if len(X) != 1:
        raise ValueError(f"updated_model takes one record, got {len(X)} images")
    y_idx = torch.from_numpy(_label_index(target, np.atleast_1d(np.asarray(y)), 1))
    seed = seed_from(random_state)
    eps_u = None
    if net.stochastic:
        eps_u = _update_noise(seed, index, 0, net.noise_dim, 1, device)[0]
    # the network holds the copy's own parameters: the step updates the copy in place
    _sgd_step(net, X.to(device), y_idx.to(device), eps_u, lr=lr, private=private_update, seed=seed, index=index)
    return out


# ----------------------------------------------------------------------------------------- the attack


class UpdateLeaksMLP(nn.Module):
    """The official attack network: Linear(d, 128) → LeakyReLU(0.2) → Linear(128, 64) → LeakyReLU(0.2)
    → Dropout(0.5) → Linear(64, n_classes).

    Dropout draws its mask from an explicit ``generator`` (never the global RNG) and only in training.
    """

    def __init__(self, n_inputs: int, n_classes: int, hidden: Sequence[int] = (128, 64),
                 negative_slope: float = 0.2, dropout: float = 0.5):
        super().__init__()
        sizes = [n_inputs, *hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], n_classes)
        self.negative_slope = negative_slope
        self.dropout = dropout

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for layer in self.hidden:
            x = F.leaky_relu(layer(x), self.negative_slope)
        if self.training and self.dropout > 0:
            keep = torch.rand(x.shape, generator=generator, device=x.device) >= self.dropout
            x = x * keep / (1.0 - self.dropout)
        return self.out(x)


class UpdateLeaksAttack(AttributeInferenceAttack):
    """Single-sample label inference from a model update (Salem et al. 2020; MID paper Fig. 2(d), 3(b)).

    ``fit(shadow, probes, X, y)`` simulates one update of the shadow model (any target of
    :func:`~defenses.neural.target.as_target`) per shadow record and trains the attack MLP on the
    (Δ, label) pairs (:meth:`fit_deltas` trains on given pairs); ``observe(target, X, y)`` is what the
    attacker sees when the service updates the target on each private record — only Δ on the probes;
    ``infer(deltas)`` returns an :class:`~defenses.base.AttributeInference` of the updates' labels
    (scores: the attack network's softmax). With
    ``release`` the service releases perturbed probability vectors instead of logits; the shadow updates
    are simulated through the same release (the attacker knows the defense).

    Parameters
    ----------
    update_lr : float
        Learning rate of the simulated single-sample SGD step (official 1e-2).
    update_batch_size : int
        Updates simulated together by :func:`simulate_updates`.
    release : callable or None
        What the target releases, and what the shadow is simulated with: None for the logits (official),
        else a map of probability vectors (:mod:`defenses.output`; see :func:`simulate_updates`).
    queries : int
        The attacker's query budget: each probe is queried this many times before and after an update and
        Δ averages the answers (1: the official protocol; see :func:`simulate_updates`). The shadow updates
        are simulated with the same budget, so the attack MLP learns on Δ's of the kind it will observe.
    private_update : PrivateUpdate or None
        The service's update step (None: the official plain SGD step), simulated on the shadow model too.
    hidden, negative_slope, dropout
        The attack MLP (official (128, 64), 0.2, 0.5).
    lr, batch_size : float, int
        Adam learning rate and mini-batch size of the attack MLP (official 1e-3, 64).
    rounds, epochs_per_round : int
        The official schedule: ``rounds`` rounds of ``epochs_per_round`` epochs of the same network
        (10 × 30); a snapshot is kept after each round (:meth:`infer_rounds`).
    device : str
        Where the attack MLP trains (the simulated updates run on the model's own device).
    random_state : int, numpy Generator or None
        Seeds the shadow updates' latent noise, the MLP's initialisation, batch order and dropout.
    progress : bool or None
        Progress on stderr (None or True: tqdm bars on a terminal, else a line every few seconds).

    Attributes
    ----------
    net_ : UpdateLeaksMLP
        The attack network after the last round.
    classes_ : ndarray
        The labels (the shadow model's classes).
    probes_ : ndarray
        The probe images.
    history_ : list of dict
        Per epoch: ``round``, ``epoch``, ``train_loss``; per round end also ``train_accuracy``
        (eval mode, on the shadow updates).
    """

    def __init__(self, *, update_lr: float = UPDATE_LR, update_batch_size: int = 64, release: Release | None = None,
                 queries: int = 1, private_update: PrivateUpdate | None = None, hidden: Sequence[int] = (128, 64), negative_slope: float = 0.2, dropout: float = 0.5,
                 lr: float = 1e-3, batch_size: int = 64, rounds: int = 10, epochs_per_round: int = 30,
                 device: str = "auto", random_state: int | np.random.Generator | None = None,
                 progress: bool | None = None):
        self.update_lr = update_lr
        self.update_batch_size = update_batch_size
        self.release = release
        self.queries = queries
        self.private_update = private_update
        self.hidden = hidden
        self.negative_slope = negative_slope
        self.dropout = dropout
        self.lr = lr
        self.batch_size = batch_size
        self.rounds = rounds
        self.epochs_per_round = epochs_per_round
        self.device = device
        self.random_state = random_state
        self.progress = progress
        self._check_params()

    def _check_params(self) -> None:
        _check_lr(self.update_lr)
        _check_release(self.release)
        _check_private(self.private_update)
        for name in ("update_batch_size", "queries", "batch_size", "rounds", "epochs_per_round"):
            _check_positive_int(name, getattr(self, name))
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not (isinstance(self.negative_slope, (int, float)) and self.negative_slope >= 0):
            raise ValueError(f"negative_slope must be >= 0, got {self.negative_slope!r}")
        if not self.hidden or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1
                                  for h in self.hidden):
            raise ValueError(f"hidden must be a non-empty sequence of positive integers, got {self.hidden!r}")

    # ------------------------------------------------------------------ fit
    def fit(self, shadow, probes, X, y) -> UpdateLeaksAttack:
        """Simulate one update of ``shadow`` per record of ``(X, y)`` and train the attack MLP on them."""
        self._check_params()
        if len(X) < 2:
            raise ValueError("fit needs at least two shadow updates")
        probes = as_images(probes, "probes")
        deltas = simulate_updates(shadow, probes, X, y, lr=self.update_lr, batch_size=self.update_batch_size,
                                  random_state=seed_from(self.random_state) + 1, release=self.release,
                                  queries=self.queries, private_update=self.private_update, progress=self.progress)
        return self.fit_deltas(deltas, y, probes=probes, classes=as_target(shadow).classes_)

    def fit_deltas(self, deltas, labels, *, probes, classes) -> UpdateLeaksAttack:
        """Train the attack MLP on given (Δ, label) pairs — e.g. Δ's simulated once and reused, or pooled
        from several shadow models. ``probes`` are the images the Δ's were read on, ``classes`` the labels."""
        self._check_params()
        seed = seed_from(self.random_state)
        D = np.asarray(deltas, dtype=np.float32)
        labels = np.asarray(labels)
        self.classes_ = np.asarray(classes).copy()
        self.probes_ = as_images(probes, "probes").copy()
        if D.ndim != 2 or len(D) < 2 or labels.shape != (len(D),) or not np.isfinite(D).all():
            raise ValueError(f"deltas must be a finite (n >= 2, d) array with one label each, got {D.shape} "
                             f"and {labels.shape}")
        idx = np.searchsorted(self.classes_, labels).clip(0, len(self.classes_) - 1)
        if not np.array_equal(self.classes_[idx], labels):
            raise ValueError("labels must be drawn from classes")
        self.n_features_in_ = D.shape[1]
        self.device_ = resolve_device(self.device)
        self._train(torch.from_numpy(D), torch.from_numpy(idx.astype(np.int64)), seed)
        return self

    def _train(self, D: torch.Tensor, labels: torch.Tensor, seed: int) -> None:
        dev = self.device_
        net = build_module(lambda: UpdateLeaksMLP(D.shape[1], len(self.classes_), tuple(self.hidden),
                                                  self.negative_slope, self.dropout), make_generator(seed), dev)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        g_data, g_drop = make_generator(seed + 2), make_generator(seed + 3, dev)
        D, labels = D.to(dev), labels.to(dev)
        self.history_: list[dict[str, float]] = []
        self._snapshots: list[dict[str, torch.Tensor]] = []
        bar = Progress(self.rounds * self.epochs_per_round, desc="update-leaks attack", unit="epoch",
                       disable=self.progress is False, leave=False)
        for r in range(self.rounds):
            for e in range(self.epochs_per_round):
                net.train()
                perm = torch.randperm(len(D), generator=g_data).to(dev)
                total = 0.0
                for sl in batched(len(D), self.batch_size):
                    idx = perm[sl]
                    loss = F.cross_entropy(net(D[idx], g_drop), labels[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(idx)
                self.history_.append({"round": r + 1, "epoch": e + 1, "train_loss": total / len(D)})
                bar.update(1)
            net.eval()
            with torch.no_grad():
                acc = float((self._predict_idx(net, D) == labels).float().mean())
            self.history_[-1]["train_accuracy"] = acc
            self._snapshots.append({k: v.detach().clone() for k, v in net.state_dict().items()})
        bar.close()
        self.net_ = net

    @staticmethod
    def _predict_idx(net: nn.Module, D: torch.Tensor) -> torch.Tensor:
        return torch.cat([net(D[sl]).argmax(1) for sl in batched(len(D), 4096)])

    # ------------------------------------------------------------------ queries
    def observe(self, target, X, y, random_state: int | np.random.Generator | None = None) -> np.ndarray:
        """What the attacker sees when the service updates ``target`` on each record of ``(X, y)``: the
        flattened change of the target's logits — or of its released vectors, with ``release`` — on the
        probes (:func:`simulate_updates`)."""
        self._check_fitted("net_")
        self._check_classes(target)
        return simulate_updates(target, self.probes_, X, y, lr=self.update_lr, batch_size=self.update_batch_size,
                                random_state=random_state, release=self.release, queries=self.queries,
                                private_update=self.private_update, progress=self.progress)

    def _check_classes(self, target) -> None:
        if not np.array_equal(np.asarray(as_target(target).classes_), self.classes_):
            raise ValueError("the target's classes differ from the shadow model's")

    def _deltas(self, deltas) -> torch.Tensor:
        D = np.asarray(deltas, dtype=np.float32)
        if D.ndim != 2 or D.shape[1] != self.n_features_in_ or not np.isfinite(D).all():
            raise ValueError(f"deltas must be a finite array (n, {self.n_features_in_}) from observe(), "
                             f"got shape {D.shape}")
        return torch.from_numpy(D).to(self.device_)

    def infer(self, X_known, y=None, *old) -> AttributeInference:
        """The attack's guess of each update record's label from the Δ's ``X_known`` that :meth:`observe`
        returned (``y`` is not used: the label is what the attack infers)."""
        if old or y is not None and not isinstance(X_known, np.ndarray):  # the old shape infer(target, deltas)
            return self._old_infer(X_known, y)
        self._check_fitted("net_")
        D = self._deltas(X_known)
        self.net_.eval()
        with torch.no_grad():
            proba = torch.cat([torch.softmax(self.net_(D[sl]), dim=1) for sl in batched(len(D), 4096)]).cpu().numpy()
            idx = self._predict_idx(self.net_, D).cpu().numpy()
        return AttributeInference(guesses=self.classes_[idx], scores=proba, values=self.classes_)

    @deprecated_call("UpdateLeaksAttack.infer(target, deltas)", "UpdateLeaksAttack.infer(deltas).guesses")
    def _old_infer(self, target, deltas) -> np.ndarray:
        self._check_fitted("net_")
        self._check_classes(target)
        return self.infer(deltas).guesses

    @torch.no_grad()
    def infer_rounds(self, deltas, *old) -> np.ndarray:
        """Guesses of the network as it was after each round, shape (rounds, n): the official metric
        averages the accuracy over these."""
        if old:  # the old shape infer_rounds(target, deltas)
            self._check_classes(deltas)
            deltas = old[0]
        self._check_fitted("net_")
        D = self._deltas(deltas)
        net = copy.deepcopy(self.net_).eval()
        out = []
        for state in self._snapshots:
            net.load_state_dict(state)
            out.append(self.classes_[self._predict_idx(net, D).cpu().numpy()])
        return np.stack(out)


def label_prior_baseline(y_known, y_true) -> tuple[np.ndarray, float]:
    """The attacker without a model: always guess the most frequent label of ``y_known`` (the shadow
    updates' labels). Returns the guesses for ``y_true`` and their accuracy."""
    y_known, y_true = np.asarray(y_known), np.asarray(y_true)
    if y_known.size == 0 or y_true.size == 0:
        raise ValueError("label_prior_baseline needs non-empty label arrays")
    values, counts = np.unique(y_known, return_counts=True)
    guess = np.full(y_true.shape, values[np.argmax(counts)])
    return guess, float(np.mean(guess == y_true))
