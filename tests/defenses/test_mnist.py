"""MNIST and 8x8 digits loaders on the real files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from defenses.datasets import load_digits, load_mnist


def test_mnist_test_split_shapes_and_labels(data_home):
    ds = load_mnist(data_home, train=False)
    assert ds.data.shape == (10_000, 28, 28) and ds.data.dtype == np.float32
    assert 0.0 <= ds.data.min() and ds.data.max() == 1.0
    assert np.bincount(ds.target).tolist()[:3] == [980, 1135, 1032]  # the well-known t10k class counts


def test_mnist_rejects_a_corrupt_file(tmp_path, no_data):
    (tmp_path / "mnist").mkdir()
    with gzip.open(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(b"\x00\x00\x08\x03" + (2).to_bytes(4, "big") * 3 + b"\x00" * 5)
    with gzip.open(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(b"\x00\x00\x08\x01" + (2).to_bytes(4, "big") + b"\x00\x01")
    with pytest.raises(ValueError, match="header says"):
        load_mnist(tmp_path, train=False)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz not found in"):
        load_mnist(tmp_path / "nowhere", train=False)


def test_digits():
    ds = load_digits()
    assert ds.data.shape == (1797, 8, 8) and ds.data.max() == 1.0 and set(ds.target) == set(range(10))
