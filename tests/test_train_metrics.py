"""FID / KID maths against independent computations (scipy's sqrtm, the plain MMD formula), and the
metric runner end to end with a stub TorchScript feature network."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg
import torch

from explorer.errors import UsageError
from explorer.train.metrics import (
    MetricRunner, fid_from_features, frechet_distance, kid_from_features, load_feature_net, parse_metric,
)


def _features(seed, n=200, d=16, shift=0.0, scale=1.0):
    mix = np.random.default_rng(99).normal(size=(d, d)) * 0.3 + np.eye(d)  # one distribution for all seeds
    return (np.random.default_rng(seed).normal(size=(n, d)) @ mix) * scale + shift


def test_fid_matches_scipy_sqrtm():
    real, gen = _features(0), _features(1, shift=0.3, scale=1.2)
    mu1, s1 = real.mean(0), np.cov(real, rowvar=False)
    mu2, s2 = gen.mean(0), np.cov(gen, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    assert fid_from_features(real, gen) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0, abs=1e-6)


def test_kid_is_unbiased_polynomial_mmd():
    real, gen = _features(2, n=60), _features(3, n=60, shift=0.5)
    d = real.shape[1]

    def k(a, b):
        return (a @ b.T / d + 1) ** 3

    m = 60
    kxx, kyy, kxy = k(gen, gen), k(real, real), k(gen, real)
    expected = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.mean()
    # subsets of the whole set are permutations: every subset gives the exact MMD
    assert kid_from_features(real, gen, num_subsets=5, max_subset_size=1000) == pytest.approx(expected, rel=1e-9)
    same_distribution = kid_from_features(real, _features(4, n=60))
    assert abs(same_distribution) < 0.2 * expected


def test_metric_names():
    assert parse_metric("fid") == ("fid50k_full", "fid", 50000, True)
    assert parse_metric("kid2k") == ("kid2k", "kid", 2000, False)
    assert parse_metric("fid64_full") == ("fid64_full", "fid", 64, True)  # small counts for quick checks
    with pytest.raises(UsageError):
        parse_metric("ppl")


class _StubNet(torch.nn.Module):
    """Mean colour and a few pixel statistics as 'features' (stands in for Inception)."""

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = x.float() / 255
        return torch.cat([x.mean(dim=[2, 3]), x.std(dim=[2, 3]), x[:, :, ::4, ::4].flatten(1)[:, :10]], dim=1)


def test_metric_runner_writes_nvidia_lines(tmp_path):
    from explorer.models import build_generator
    from explorer.train.dataset import ImageDataset
    from tests.test_dataset_tool import make_shapes

    net_path = tmp_path / "stub.pt"
    torch.jit.script(_StubNet()).save(str(net_path))
    data = make_shapes(tmp_path / "src", count=8)
    dataset = ImageDataset(data, resolution=16)
    G = build_generator({"arch": "stylegan2", "z_dim": 8, "c_dim": 0, "w_dim": 8, "img_resolution": 16,
                         "img_channels": 3, "mapping_kwargs": {"num_layers": 1},
                         "synthesis_kwargs": {"channel_base": 64, "channel_max": 8, "num_fp16_res": 0, "conv_clamp": None}})
    logs = []
    runner = MetricRunner(["fid64_full", "kid64_full"], net_path, dataset, "cpu", log=logs.append)
    results = runner.run(G.eval(), tmp_path, "network-snapshot-000000.safetensors")
    assert set(results) == {"fid64_full", "kid64_full"} and results["fid64_full"] > 0
    line = json.loads((tmp_path / "metric-fid64_full.jsonl").read_text().splitlines()[0])
    assert set(line) >= {"results", "metric", "total_time", "total_time_str", "num_gpus", "snapshot_pkl", "timestamp"}
    assert line["snapshot_pkl"] == "network-snapshot-000000.safetensors"

    skipped = []
    assert MetricRunner(["fid"], None, dataset, "cpu", log=skipped.append).run(G, tmp_path, "x") == {}
    assert "no --feature-net" in skipped[0]
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(UsageError, match="not a TorchScript"):
        load_feature_net(tmp_path / "junk.pt")
