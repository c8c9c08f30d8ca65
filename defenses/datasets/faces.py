"""AT&T / ORL ("Olivetti") faces: 40 identities × 10 grey-scale images, and a seeded per-identity split.

The faces stand in for FaceScrub in the MID paper's Knowledge-Alignment experiment (PAPER.md, Fig. 2(c),
3(a)): a target classifier recognizes identities, an attacker redraws faces from its output vectors.

Two versions are read (see the data provenance notes shipped with the shared data, §2):

* ``source="olivetti"`` (default): Sam Roweis' 64×64 crop, read as
  :func:`sklearn.datasets.fetch_olivetti_faces` reads it, from ``olivetti/olivettifaces.mat`` (downloaded
  from scikit-learn's figshare source when missing) or else scikit-learn's cache ``olivetti_py3.pkz`` (a
  pickle, opened only when its bytes are the published file's): images transposed to upright, values
  shifted and scaled by the global minimum/maximum to [0, 1] as float32.
  Row ``i`` is person ``i // 10``.
* ``source="att"``: the original 112×92 ORL images from ``att_faces/att_faces_92x112.npz``, divided by 255.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._base import Dataset
from ._files import FILES, DataFileError, content_check, locate, read_verified

_PKZ, _MAT, _NPZ = "olivetti/olivetti_py3.pkz", "olivetti/olivettifaces.mat", "att_faces/att_faces_92x112.npz"


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _unreadable(path: Path, kind: str, exc: Exception) -> DataFileError:
    return DataFileError(f"{path}: not a readable {kind} ({type(exc).__name__}: {exc}); delete or replace it")


def _check_array(path: Path, a: object, shape: tuple[int, ...]) -> np.ndarray:
    if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.shape != shape:
        got = f"{a.dtype} array of shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise DataFileError(f"{path} holds a {got}, expected a uint8 array of shape {shape}; delete or replace it")
    return a


def _olivetti_raw(path: Path) -> np.ndarray:
    """The (400, 4096) uint8 faces from Roweis' ``.mat`` or scikit-learn's cache (``.pkz``, a joblib pickle).

    The ``.pkz`` is unpickled only when its bytes are the published file's (unpickling can run code: a
    planted file runs nothing); the ``.mat`` is parsed by scipy (no code runs) after its header shows the one
    expected variable, and accepted only with the published pixels.
    """
    if path.suffix == ".pkz":
        data, published = read_verified(path, _PKZ)
        if not published:
            raise DataFileError(
                f"{path} is not the published {_PKZ} (SHA-256 {hashlib.sha256(data).hexdigest()[:16]}...): a pickle "
                f"file is never opened unless its bytes are the published ones (unpickling can run code); "
                f"delete it, or use {_MAT}")
        import joblib

        try:
            raw = joblib.load(io.BytesIO(data))
        except Exception as exc:  # joblib/pickle/zlib raise many types on a damaged file
            raise _unreadable(path, "joblib file", exc) from None
        raw = _check_array(path, raw, (400, 4096))
        content_check(path, _PKZ, _digest(raw))
        return raw
    from scipy.io import loadmat, whosmat

    data, _ = read_verified(path, _MAT)
    try:
        header = {name: (shape, kind) for name, shape, kind in whosmat(io.BytesIO(data))}
        if header.get("faces", (None,))[0] not in (None, (4096, 400)):  # read nothing of another size
            raise DataFileError(f"{path}: variable 'faces' has shape {header['faces'][0]}, expected (4096, 400); "
                                f"delete or replace it")
        mat = loadmat(io.BytesIO(data), variable_names=["faces"])
    except DataFileError:
        raise
    except Exception as exc:  # scipy.io raises many types on a damaged file
        raise _unreadable(path, "MATLAB file", exc) from None
    if "faces" not in mat:
        raise DataFileError(f"{path} has no variable 'faces'; delete or replace it")
    raw = _check_array(path, mat["faces"], (4096, 400)).T.copy()
    content_check(path, _MAT, _digest(raw))
    return raw


def _olivetti(data_home, download: bool) -> tuple[np.ndarray, np.ndarray, Path]:
    # The .mat first: in a directory holding both, the pickle is never touched.
    path = locate((_MAT, _PKZ), data_home, download=download)
    faces = np.float32(_olivetti_raw(path))
    faces -= faces.min()
    faces /= faces.max()
    images = faces.reshape(400, 64, 64).transpose(0, 2, 1).copy()
    return images, np.repeat(np.arange(40), 10), path


def _att(data_home, download: bool) -> tuple[np.ndarray, np.ndarray, Path]:
    path = locate(_NPZ, data_home, download=download)
    data, _ = read_verified(path, _NPZ)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # each member inflates to at most its declared size
            big = [i.filename for i in archive.infolist() if i.file_size > FILES[_NPZ].max_bytes]
        if big:
            raise DataFileError(f"{path}: member {big[0]} declares more bytes than the published archive holds; "
                                f"delete or replace it")
        with np.load(io.BytesIO(data), allow_pickle=False) as d:
            images, target = d["images"], d["target"]
    except DataFileError:
        raise
    except Exception as exc:  # zipfile/numpy raise many types on a damaged file
        raise _unreadable(path, ".npz archive with 'images' and 'target'", exc) from None
    _check_array(path, images, (400, 112, 92))
    content_check(path, _NPZ, _digest(images))
    if not np.array_equal(target, np.repeat(np.arange(40), 10)):
        raise DataFileError(f"{path}: 'target' is not the identities 0..39, 10 images each; delete or replace it")
    return images.astype(np.float32) / 255.0, target.astype(np.int64), path


def load_faces(
    data_home: str | os.PathLike | None = None, *, source: str = "olivetti", download: bool = True
) -> Dataset:
    """Load the 400 AT&T/Olivetti face images of 40 identities.

    Parameters
    ----------
    data_home : path-like, optional
        Data directory searched first for ``olivetti/`` or ``att_faces/`` (then ``$MID_DATA``, then the
        cache ``~/.cache/mid-toolkit``).
    source : {"olivetti", "att"}
        ``"olivetti"``: 64×64 crop (scikit-learn's version; fetched as scikit-learn does when missing);
        ``"att"``: original 112×92 images (no public download of the stacked file: supply it).
    download : bool, default True
        Fetch a missing file into the cache.

    Returns
    -------
    Dataset
        ``data``: float32 array ``(400, H, W)`` in [0, 1]; ``target``: int64 identity 0..39 (10 images
        each, in order); ``sensitive = ("image",)`` — the face itself is what an inversion attack
        recovers; ``extra``: ``source``, ``n_identities``, ``image_no`` (1..10 within an identity),
        ``files``.
    """
    if source not in ("olivetti", "att"):
        raise ValueError(f"source must be 'olivetti' or 'att', got {source!r}")
    images, target, path = (_olivetti if source == "olivetti" else _att)(data_home, download)
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
               "image_no": np.tile(np.arange(1, 11), 40), "files": [str(path)]},
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
