"""MNIST (from the IDX files in the data directory) and scikit-learn's 8×8 digits (for quick runs)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ._base import Dataset, get_data_home, require_file

_FILES = {
    True: ("mnist/train-images-idx3-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz"),
    False: ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"),
}


def _read_idx(path: Path, expected_ndim: int) -> np.ndarray:
    """Read a gzipped IDX file (LeCun's format: magic 0x0000 08 <ndim>, big-endian int32 sizes, uint8 data)."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != expected_ndim:
        raise ValueError(f"{path} is not an unsigned-byte IDX file with {expected_ndim} dimensions")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(expected_ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * expected_ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but the file holds {data.size} values")
    return data.reshape(shape)


def load_mnist(data_home: str | os.PathLike | None = None, train: bool = True) -> Dataset:
    """MNIST handwritten digits: ``data`` float32 images (N, 28, 28) in [0, 1], ``target`` int64 labels.

    Reads ``mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` under the data directory
    (``data_home``, else ``$MID_DATA``, else ``~/.cache/mid-toolkit``); 60,000 training or 10,000 test images.
    The sensitive "attribute" of an image classifier is the image itself (what an inversion attack redraws).
    """
    home = get_data_home(data_home)
    how = "place the MNIST IDX files (train-images-idx3-ubyte.gz, ...) in <data_home>/mnist/"
    images = _read_idx(require_file(home, _FILES[train][0], how), 3)
    labels = _read_idx(require_file(home, _FILES[train][1], how), 1)
    if len(images) != len(labels):
        raise ValueError(f"MNIST: {len(images)} images but {len(labels)} labels")
    split = "training" if train else "test"
    return Dataset(images.astype(np.float32) / 255.0, labels.astype(np.int64), ("image",),
                   f"MNIST {split} set ({len(images)} images, 28x28 grey levels scaled to [0, 1]).")


def load_digits(data_home: str | os.PathLike | None = None) -> Dataset:
    """scikit-learn's 8×8 digits (1,797 images, 10 classes; shipped with scikit-learn), scaled to [0, 1].

    ``data_home`` is accepted for a uniform loader signature and not used.
    """
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    images = (d.images / 16.0).astype(np.float32)
    return Dataset(images, d.target.astype(np.int64), ("image",),
                   "scikit-learn 8x8 digits (UCI optical recognition, 1,797 images), grey levels 0..16 scaled to [0, 1].")
