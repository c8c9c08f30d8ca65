"""Figure 1: the "two-pronged" effect of the MID regulariser on a stochastic (VIB) face classifier.

``python -m paper_figs fig1 [--quick]`` trains :class:`~defenses.neural.VIBClassifier` for several β on the
training images of split 0 of the AT&T/Olivetti faces (5 per identity) and draws

* (a) for every held-out image of one identity (its 5 images not used for training) and 20 latent draws
  each: the output on the label class vs the sum of the outputs on the other classes — outputs become
  more concentrated as β grows (lower H(Ŷ));
* (b) for one held-out image, the distribution of the label-class output over 1000 latent draws — its
  spread grows with β (higher H(Ŷ | X)).

"Confidence" is the classifier's released output vector as in the official MID code, i.e. the decoder
logits (a softmax vector would put every point of (a) on the line x + y = 1) **[ours]**; the softmax
label confidence is summarised in the JSON as well. Writes ``fig1.json`` and ``fig1.png``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from defenses.datasets import load_faces
from defenses.datasets.faces import split_faces
from defenses.neural import VIBClassifier
from paper_figs._claims import Replication, claim, trend
from paper_figs._common import check_seeds, deviation, pyplot, replication, save, with_scale
from validation.configs import settings_of
from validation.engine import Executor, Unit, run_units
from validation.store import ResultStore, write_json_atomic

NAME = "fig1"
CONFIGS: dict[str, dict[str, Any]] = {
    "full": {"betas": [1e-4, 1e-2, 3e-2, 0.1], "epochs": 80, "patience": 20, "draws_a": 20, "draws_b": 1000},
    "quick": {"betas": [1e-4, 1e-2, 3e-2], "epochs": 20, "patience": 20, "draws_a": 20, "draws_b": 1000},
}
#: Seeds (the VIB's initialisation and latent draws; the split and the identity are fixed): the trend of each
#: seed is one stratum of the test, and 3 strata of 3 settings can reach p < 0.05, 2 cannot.
SEEDS = {"full": 5, "quick": 3}
#: Per-seed summaries kept for the claims (the scatter and histogram data are kept for seed 0 only).
SUMMARIES = ("utility", "kl_nats", "a_spread", "b_label_output_std", "b_softmax_label_mean", "b_softmax_label_std")
IDENTITY = 0
SPLIT_SEED = 0


def _sample_logits(model: VIBClassifier, X: np.ndarray, n: int, seed: int) -> np.ndarray:
    return model.sample_logits(X, n, random_state=seed)  # (n, N, K)


class _Fig1Unit:
    """One β of Figure 1 (a unit of the engine): train the VIB on split 0 and sample its outputs."""

    def __init__(self, cfg: dict[str, Any], device: str, data_home):
        self.cfg, self.device, self.data_home = cfg, device, data_home

    def __call__(self, unit: Unit) -> dict[str, Any]:
        cfg, beta = self.cfg, unit.setting.value
        d = load_faces(self.data_home)
        sp = split_faces(d.target, 5, 2, 3, random_state=SPLIT_SEED)
        X, y = d.data, d.target
        ident_idx = _identity_images(sp, y)
        seed = unit.index  # seed 0 is the original figure's model; every seed shares split 0
        model = VIBClassifier(beta=beta, epochs=cfg["epochs"], patience=cfg["patience"], device=self.device,
                              random_state=seed, progress=False).fit(X[sp.train], y[sp.train])
        label = int(np.flatnonzero(model.classes_ == IDENTITY)[0])
        la = _sample_logits(model, X[ident_idx], cfg["draws_a"], seed=1 + 10 * seed)   # (draws, n_img, K)
        on_label = la[..., label].ravel()
        others = (la.sum(-1) - la[..., label]).ravel()
        lb = _sample_logits(model, X[ident_idx[:1]], cfg["draws_b"], seed=2 + 10 * seed)[:, 0]  # (draws, K)
        pb = torch.softmax(torch.from_numpy(lb), -1).numpy()[:, label]
        test_acc = float(np.mean(model.predict(X[sp.test], random_state=3 + 10 * seed) == y[sp.test]))
        return {
            "knob": beta, "utility": test_acc, "kl_nats": model.kl_divergence(X[sp.test]),
            "a_label_output": on_label.tolist(), "a_others_sum": others.tolist(),
            "a_spread": float(np.sqrt(np.var(on_label) + np.var(others))),
            "b_label_output": lb[:, label].tolist(),
            "b_label_output_std": float(lb[:, label].std()),
            "b_softmax_label_mean": float(pb.mean()), "b_softmax_label_std": float(pb.std()),
        }


def _identity_images(sp, y: np.ndarray) -> np.ndarray:
    held = np.concatenate([sp.test, sp.aux])
    return held[y[held] == IDENTITY]


def compute(*, quick: bool, device: str, data_home, store_path: str | os.PathLike | None = None,
            executor: Executor | None = None, seeds: int | None = None) -> dict[str, Any]:
    cfg = CONFIGS["quick" if quick else "full"]
    n_seeds = check_seeds(seeds) or SEEDS["quick" if quick else "full"]
    d = load_faces(data_home)
    ident_idx = _identity_images(split_faces(d.target, 5, 2, 3, random_state=SPLIT_SEED), d.target)
    settings = settings_of("VIB", cfg["betas"])
    units = [Unit(NAME, s, k) for s in settings for k in range(n_seeds)]
    store = None if store_path is None else ResultStore(store_path, {"figure": NAME, **cfg, "identity": IDENTITY,
                                                                     "split_seed": SPLIT_SEED})
    runs = run_units(units, _Fig1Unit(cfg, device, data_home), store, executor=executor, desc=NAME).results
    points = []
    for s in settings:
        rows = [runs[Unit(NAME, s, k).key] for k in range(n_seeds)]
        point = dict(rows[0])  # seed 0's draws for the picture
        point["values"] = {m: [r[m] for r in rows] for m in SUMMARIES}
        point.update({m: float(np.mean(point["values"][m])) for m in SUMMARIES})
        point["runs"] = n_seeds
        points.append(point)
    return {
        "figure": NAME,
        "title": "Fig. 1: effect of the MID regulariser (VIB) on outputs — (a) concentration, (b) variance",
        "dataset": "AT&T/Olivetti faces, split 0 (5 training images per identity)",
        "settings": {**cfg, "identity": IDENTITY, "split_seed": SPLIT_SEED, "heldout_images": ident_idx.tolist(),
                     "quick": quick, "n_seeds": n_seeds},
        "replication": replication("seeds", n_seeds, redraws="the VIB's initialisation and its latent draws",
                                   fixed="split 0 of the faces and identity 0's held-out images"),
        "deviations": [deviation("dataset", "a face data set (not named for Fig. 1)",
                                 "AT&T/Olivetti faces, split 0, identity 0's five held-out images"),
                       deviation("confidence", "\"confidence\" on the label class", "the decoder's logits (the "
                                 "official code's released output); a softmax would put every point of (a) on "
                                 "x + y = 1")],
        "series": [{"defense": "VIB", "knob": "beta", "points": points}],
        "baseline": {"chance": 1.0 / 40},
        "metrics": {"utility": "test accuracy (held-out faces, one latent draw), mean over seeds",
                    "values": f"per-seed values of {', '.join(SUMMARIES)}; the (a) and (b) draws are seed 0's",
                    "a": "label-class logit vs sum of other logits, held-out images of one identity",
                    "b": "label-class logit over latent draws for one held-out image",
                    "a_spread": "sqrt(var x + var y) of the points in (a)",
                    "kl_nats": "mean KL(p(z|x) || N(0,I)) on test images (upper bound on I(X;Z))"},
    }


def plot(doc: dict[str, Any], path: str | os.PathLike) -> Path:
    plt = pyplot()

    pts = doc["series"][0]["points"]
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(pts)))
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.3), dpi=120)
    for p, c in zip(pts, colors):
        lab = f"β={p['knob']:g} (acc {p['utility']:.2f})"
        a.scatter(p["a_label_output"], p["a_others_sum"], s=8, alpha=0.6, color=c, label=lab)
        b.hist(p["b_label_output"], bins=40, density=True, histtype="step", lw=1.5, color=c,
               label=f"β={p['knob']:g} (sd {p['b_label_output_std']:.2f})")
    a.set_xlabel("output on the label class (logit)")
    a.set_ylabel("sum of outputs on the other classes")
    a.set_title(f"(a) held-out images of identity {doc['settings']['identity']}", fontsize=9)
    b.set_xlabel("output on the label class (logit)")
    b.set_ylabel("density over latent draws")
    b.set_title("(b) one held-out image, 1000 draws of z", fontsize=9)
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(doc["title"], fontsize=10)
    return save(fig, path)


@with_scale
def make(out_dir: str | os.PathLike, *, quick: bool = False, device: str = "auto", data_home=None,
         executor: Executor | None = None, seeds: int | None = None) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store = out_dir / f"{NAME}{'_quick' if quick else ''}.runs.jsonl"
    doc = compute(quick=quick, device=device, data_home=data_home, store_path=store, executor=executor, seeds=seeds)
    doc["png"] = plot(doc, out_dir / f"{NAME}.png").name
    return write_json_atomic(out_dir / f"{NAME}.json", doc)


def _trend(doc: dict, key: str, direction: int, what: str) -> dict:
    """Does ``key`` move in ``direction`` (+1 up, −1 down) as β grows? Spearman's ρ of (β, ``key``) within
    each seed, combined over seeds by a stratified permutation test (:func:`paper_figs._claims.trend`)."""
    pts = sorted(doc["series"][0]["points"], key=lambda p: p["knob"])
    n = len(pts[0]["values"][key])
    strata = [(f"seed {k}", [p["knob"] for p in pts], [p["values"][key][k] for p in pts]) for k in range(n)]
    r = doc.get("replication") or {}
    v = trend(strata, claim_sign=direction, what=f"β vs {what}",
              r=Replication(n, "seeds", 0.0, r.get("redraws", "")), rule_prefix="seed")
    v["measurement"] = (f"{what}, mean over {n} seeds, as β grows: "
                        + ", ".join(f"β={p['knob']:g}: {p[key]:.3g}" for p in pts) + "; " + v["measurement"])
    v["detail"] += "; test accuracy: " + ", ".join(f"{p['utility']:.2f}" for p in pts)
    return v


CLAIMS = [
    claim("fig1a-concentration", NAME, "Figure 1 (a) plots the confidence value on the label class versus the sum of "
          "confidence on other classes for all test data with a particular label. It demonstrates that the "
          "regularizer will lead to more concentrated model outputs.",
          lambda doc: _trend(doc, "a_spread", -1, "spread of the outputs in (a) (sqrt of the summed variances)")),
    claim("fig1b-variance", NAME, "We can see an increased trend of prediction variance for this input with increased "
          "λ, i.e. the strength of the MID regularizer.",
          lambda doc: _trend(doc, "b_label_output_std", +1, "std of the label-class output over latent draws")),
]
