"""Latent maths that does not need a model: seeds, the seed pad lattice, truncation, W+ files."""

import numpy as np
import pytest
import torch

from explorer.engine.latents import lattice_seeds, load_wplus_file, save_wplus_npz, seed_to_z, truncate
from explorer.errors import StateError


def test_seed_to_z_is_numpy_legacy_randn():
    z = seed_to_z(1234, 8)
    assert z.shape == (1, 8) and z.dtype == np.float64
    assert np.array_equal(z, np.random.RandomState(1234).randn(1, 8))
    assert np.array_equal(seed_to_z(2**32 - 1, 4), np.random.RandomState(2**32 - 1).randn(1, 4))


def test_lattice_integer_position_is_one_seed():
    assert lattice_seeds(7, (0.0, 0.0)) == [(7, 1.0)]


def test_lattice_bilinear_weights():
    corners = dict(lattice_seeds(10, (0.25, 0.5)))
    assert corners == pytest.approx({10: 0.375, 11: 0.125, 110: 0.375, 111: 0.125})
    assert sum(corners.values()) == pytest.approx(1.0)


def test_lattice_wraps_negative_seeds_to_unsigned():
    corners = dict(lattice_seeds(0, (-0.5, 0.0)))
    assert corners == pytest.approx({2**32 - 1: 0.5, 0: 0.5})


def test_truncate_rows():
    ws = torch.ones(3, 2)
    w_avg = torch.zeros(2)
    out = truncate(ws, w_avg, (0.5, 1.0, 0.0))
    assert torch.equal(out, torch.tensor([[0.5, 0.5], [1.0, 1.0], [0.0, 0.0]]))


def test_wplus_npz_round_trip(tmp_path):
    w = np.random.RandomState(0).randn(2, 8, 4).astype(np.float32)
    save_wplus_npz(tmp_path / "projected_w.npz", w)
    assert np.array_equal(load_wplus_file(tmp_path / "projected_w.npz"), w)
    np.save(tmp_path / "one.npy", w[0])
    assert load_wplus_file(tmp_path / "one.npy").shape == (1, 8, 4)


@pytest.mark.parametrize("content", ["garbage", "wrongkey", "nan", "shape"])
def test_bad_wplus_files(tmp_path, content):
    path = tmp_path / ("w.npz" if content in ("garbage", "wrongkey") else "w.npy")
    if content == "garbage":
        path.write_bytes(b"not numpy at all")
    elif content == "wrongkey":
        np.savez(path, latent=np.zeros((1, 2, 2)))
    elif content == "nan":
        np.save(path, np.full((2, 2), np.nan, np.float32))
    else:
        np.save(path, np.zeros(5, np.float32))
    with pytest.raises(StateError) as info:
        load_wplus_file(path)
    assert path.name in str(info.value)
