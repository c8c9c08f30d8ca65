"""The AT&T/Olivetti faces loader and the seeded per-identity split."""

from __future__ import annotations

import numpy as np
import pytest

from defenses.datasets import load_faces
from defenses.datasets.faces import split_faces


@pytest.fixture(scope="module")
def faces(data_home):
    return load_faces(data_home)


def test_load_faces_shapes_range_and_identity_order(faces):
    assert faces.data.shape == (400, 64, 64) and faces.data.dtype == np.float32
    assert faces.data.min() == 0.0 and faces.data.max() == 1.0
    np.testing.assert_array_equal(faces.target, np.repeat(np.arange(40), 10))
    assert faces.extra["n_identities"] == 40 and faces.sensitive == ("image",)


def test_load_faces_equals_sklearn_fetcher(faces, data_home):
    from sklearn.datasets import fetch_olivetti_faces

    ref = fetch_olivetti_faces(data_home=data_home / "olivetti", download_if_missing=False)
    np.testing.assert_array_equal(ref.images, faces.data)


def test_mat_fallback_gives_the_same_images(faces, data_home, tmp_path):
    (tmp_path / "olivetti").mkdir()
    (tmp_path / "olivetti" / "olivettifaces.mat").symlink_to(data_home / "olivetti" / "olivettifaces.mat")
    np.testing.assert_array_equal(load_faces(tmp_path).data, faces.data)


def test_att_source_is_original_resolution(data_home):
    d = load_faces(data_home, source="att")
    assert d.data.shape == (400, 112, 92) and 0.0 <= d.data.min() and d.data.max() <= 1.0


def test_missing_data_and_bad_source_raise_clearly(tmp_path, no_data):
    with pytest.raises(FileNotFoundError, match="olivettifaces.mat not found"):
        load_faces(tmp_path)
    with pytest.raises(ValueError, match="source"):
        load_faces(tmp_path, source="celeba")


def test_split_is_disjoint_per_identity_and_seeded(faces):
    s = split_faces(faces.target, 5, 2, 3, random_state=7)
    parts = [s.train, s.test, s.aux]
    assert [len(p) for p in parts] == [200, 80, 120]
    assert len(np.unique(np.concatenate(parts))) == 400
    for p, k in zip(parts, (5, 2, 3)):
        np.testing.assert_array_equal(np.bincount(faces.target[p]), np.full(40, k))
    again = split_faces(faces.target, 5, 2, 3, random_state=7)
    other = split_faces(faces.target, 5, 2, 3, random_state=8)
    assert all(np.array_equal(a, b) for a, b in zip(s, again))
    assert not np.array_equal(s.train, other.train)


def test_split_rejects_impossible_sizes(faces):
    with pytest.raises(ValueError, match="exceeds"):
        split_faces(faces.target, 8, 2, 3)
    with pytest.raises(ValueError, match="n_train"):
        split_faces(faces.target, 0, 2, 3)
