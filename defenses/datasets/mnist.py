"""MNIST (LeCun's IDX files, found or fetched by :func:`~defenses.datasets.locate`) and scikit-learn's 8×8 digits."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from pathlib import Path

import numpy as np

from ._base import Dataset
from ._files import DataFileError, content_check, locate, read_verified

_FILES = {
    True: ("mnist/train-images-idx3-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz"),
    False: ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"),
}
_SIZES = {True: 60_000, False: 10_000}


def _read_idx(path: Path, relative: str, shape: tuple[int, ...]) -> np.ndarray:
    """Read a gzipped IDX file (magic ``00 00 08 <ndim>``, big-endian int32 sizes, uint8 data) and check
    it is the published file: the expected shape and the published content digest. The file's bytes are
    read once and checked (:func:`read_verified`) before decompression, which stops one byte past the
    published file's length (a gzip bomb inflates nothing)."""
    data, _ = read_verified(path, relative)
    ndim = len(shape)
    limit = 4 + 4 * ndim + int(np.prod(shape))
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            raw = fh.read(limit + 1)
    except EOFError:
        raise DataFileError(f"{path}: the gzip stream ends early (the file is truncated); "
                            f"delete or replace it") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise DataFileError(f"{path}: not a valid gzip file ({exc}); delete or replace it") from None
    if len(raw) > limit:
        raise DataFileError(f"{path}: decompresses to more than the {limit} bytes of an IDX file of shape {shape}; "
                            f"delete or replace it")
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or raw[3] != ndim:
        raise DataFileError(f"{path} is not an unsigned-byte IDX file with {ndim} dimensions; delete or replace it")
    header = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if header != shape:
        raise DataFileError(f"{path}: header says shape {header}, expected {shape}; delete or replace it")
    data = np.frombuffer(raw, dtype=np.uint8, offset=min(len(raw), 4 + 4 * ndim))
    if data.size != int(np.prod(shape)):
        raise DataFileError(f"{path}: header says {shape} but the file holds {data.size} values (truncated?); "
                            f"delete or replace it")
    content_check(path, relative, hashlib.sha256(raw).hexdigest())
    return data.reshape(shape)


def load_mnist(data_home: str | os.PathLike | None = None, train: bool = True, *, download: bool = True) -> Dataset:
    """MNIST handwritten digits: ``data`` float32 images (N, 28, 28) in [0, 1], ``target`` int64 labels.

    Reads ``mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` from the first of ``data_home``,
    ``$MID_DATA`` and the cache ``~/.cache/mid-toolkit`` that holds them; a missing file is downloaded into
    the cache from the usual MNIST mirrors (``download=False`` forbids it). 60,000 training or 10,000 test
    images, checked against the published files. The sensitive "attribute" of an image classifier is the
    image itself (what an inversion attack redraws).
    """
    images_file, labels_file = _FILES[bool(train)]
    n = _SIZES[bool(train)]
    images_path = locate(images_file, data_home, download=download)
    labels_path = locate(labels_file, data_home, download=download)
    images = _read_idx(images_path, images_file, (n, 28, 28))
    labels = _read_idx(labels_path, labels_file, (n,))
    split = "training" if train else "test"
    return Dataset(images.astype(np.float32) / 255.0, labels.astype(np.int64), ("image",),
                   f"MNIST {split} set ({n} images, 28x28 grey levels scaled to [0, 1]).",
                   extra={"files": [str(images_path), str(labels_path)]})


def load_digits(data_home: str | os.PathLike | None = None) -> Dataset:
    """scikit-learn's 8×8 digits (1,797 images, 10 classes; shipped with scikit-learn), scaled to [0, 1].

    ``data_home`` is accepted for a uniform loader signature and not used.
    """
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    images = (d.images / 16.0).astype(np.float32)
    return Dataset(images, d.target.astype(np.int64), ("image",),
                   "scikit-learn 8x8 digits (UCI optical recognition, 1,797 images), grey levels 0..16 scaled to [0, 1].")
