"""AT&T / ORL ("Olivetti") faces: 40 identities × 10 grey-scale images, and a seeded per-identity split.

The faces stand in for FaceScrub in the MID paper's Knowledge-Alignment experiment (PAPER.md, Fig. 2(c),
3(a)): a target classifier recognizes identities, an attacker redraws faces from its output vectors.

Two versions are read (``../shared/data/PROVENANCE.md`` §2):

* ``source="olivetti"`` (default): Sam Roweis' 64×64 crop, read exactly as
  :func:`sklearn.datasets.fetch_olivetti_faces` does from ``<data_home>/olivetti/olivetti_py3.pkz``
  (falling back to ``olivettifaces.mat``): images transposed to upright, values shifted and scaled by the
  global minimum/maximum to [0, 1] as float32. Row ``i`` is person ``i // 10``.
* ``source="att"``: the original 112×92 ORL images from ``<data_home>/att_faces/att_faces_92x112.npz``,
  divided by 255.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from ._base import Dataset, get_data_home, require_file

_HOW = "copy ../shared/data/{sub} from the project's shared data (see PROVENANCE.md §2) into data_home"


def _olivetti(home) -> tuple[np.ndarray, np.ndarray]:
    pkz = home / "olivetti" / "olivetti_py3.pkz"
    if pkz.is_file():
        import joblib

        raw = np.asarray(joblib.load(pkz))
    else:
        from scipy.io import loadmat

        mat = require_file(home, "olivetti/olivettifaces.mat", _HOW.format(sub="olivetti/"))
        raw = loadmat(mat)["faces"].T.copy()
    if raw.shape != (400, 4096):
        raise ValueError(f"{home / 'olivetti'} holds an array of shape {raw.shape}, expected (400, 4096)")
    faces = np.float32(raw)
    faces -= faces.min()
    faces /= faces.max()
    images = faces.reshape(400, 64, 64).transpose(0, 2, 1).copy()
    return images, np.repeat(np.arange(40), 10)


def _att(home) -> tuple[np.ndarray, np.ndarray]:
    path = require_file(home, "att_faces/att_faces_92x112.npz", _HOW.format(sub="att_faces/"))
    with np.load(path) as d:
        images = d["images"].astype(np.float32) / 255.0
        target = d["target"].astype(np.int64)
    return images, target


def load_faces(data_home: str | os.PathLike | None = None, *, source: str = "olivetti") -> Dataset:
    """Load the 400 AT&T/Olivetti face images of 40 identities.

    Parameters
    ----------
    data_home : path-like, optional
        Data directory holding ``olivetti/`` and/or ``att_faces/`` (default ``$MID_DATA``, then
        ``~/.cache/mid-toolkit``).
    source : {"olivetti", "att"}
        ``"olivetti"``: 64×64 crop (scikit-learn's version); ``"att"``: original 112×92 images.

    Returns
    -------
    Dataset
        ``data``: float32 array ``(400, H, W)`` in [0, 1]; ``target``: int64 identity 0..39 (10 images
        each, in order); ``sensitive = ("image",)`` — the face itself is what an inversion attack
        recovers; ``extra``: ``source``, ``n_identities``, ``image_no`` (1..10 within an identity).
    """
    if source not in ("olivetti", "att"):
        raise ValueError(f"source must be 'olivetti' or 'att', got {source!r}")
    home = get_data_home(data_home)
    images, target = _olivetti(home) if source == "olivetti" else _att(home)
    desc = (
        "AT&T/ORL faces (Olivetti Research Laboratory; Samaria & Harter 1994): 40 identities x 10 "
        + ("64x64 images (Roweis crop, scikit-learn scaling to [0,1])" if source == "olivetti"
           else "112x92 images (original ORL, /255)")
        + "; no rows dropped."
    )
    return Dataset(
        data=images,
        target=target,
        sensitive=("image",),
        description=desc,
        extra={"source": source, "n_identities": int(target.max()) + 1,
               "image_no": np.tile(np.arange(1, 11), 40)},
    )


class FaceSplit(NamedTuple):
    """Index arrays (into the dataset) of the three disjoint parts of a per-identity split."""

    train: np.ndarray
    """The target model's private training images."""
    test: np.ndarray
    """Held-out images of the same identities (utility, and the attack on non-members)."""
    aux: np.ndarray
    """The attacker's auxiliary images (same identities, disjoint from train and test)."""


def split_faces(
    target: np.ndarray,
    n_train: int = 5,
    n_test: int = 2,
    n_aux: int = 3,
    random_state: int | np.random.Generator | None = 0,
) -> FaceSplit:
    """Split every identity's images into train / held-out test / attacker-auxiliary parts.

    For each identity (in sorted order) its image indices are permuted by one seeded generator
    (``numpy.random.default_rng(random_state)``); the first ``n_train`` go to ``train``, the next
    ``n_test`` to ``test``, the next ``n_aux`` to ``aux``; any remaining images are unused. Every
    identity is therefore present in every part — the FaceScrub setting of the official MID code, where
    the attacker's auxiliary data shows the same people (official: the target's test list) **[ours]**:
    we keep the attacker's images disjoint from the held-out test images so that the attack on
    held-out images measures distributional leakage on images nobody trained on.

    Parameters
    ----------
    target : array of shape (N,)
        Identity labels.
    n_train, n_test, n_aux : int
        Images per identity in each part; their sum must not exceed the smallest identity's count.
    random_state : int, Generator or None
        Seed of the permutation (same seed, same split).

    Returns
    -------
    FaceSplit
        Sorted index arrays ``train``, ``test``, ``aux``.
    """
    target = np.asarray(target)
    for name, v in (("n_train", n_train), ("n_test", n_test), ("n_aux", n_aux)):
        if not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    if n_train < 1:
        raise ValueError(f"n_train must be >= 1, got {n_train}")
    ids, counts = np.unique(target, return_counts=True)
    if n_train + n_test + n_aux > counts.min():
        raise ValueError(
            f"n_train + n_test + n_aux = {n_train + n_test + n_aux} exceeds the {counts.min()} images of "
            f"the smallest identity"
        )
    rng = np.random.default_rng(random_state)
    parts: list[list[np.ndarray]] = [[], [], []]
    for ident in ids:
        idx = rng.permutation(np.flatnonzero(target == ident))
        parts[0].append(idx[:n_train])
        parts[1].append(idx[n_train:n_train + n_test])
        parts[2].append(idx[n_train + n_test:n_train + n_test + n_aux])
    return FaceSplit(*(np.sort(np.concatenate(p)).astype(np.int64) for p in parts))
