"""FID and KID of a generator against its training set, from a feature network the user supplies.

We ship no feature network (NVIDIA's Inception weights are theirs to distribute). ``--feature-net PATH``
takes a TorchScript file called as ``net(uint8 images [N, 3, H, W], return_features=True) -> [N, F]``,
which NVIDIA's ``inception-2015-12-05.pt`` (from the stylegan2-ada-pytorch metrics downloads) is.
Loading TorchScript runs code from that file, so it is only ever done for a path the user gave.
Without a feature network the metrics are skipped with a note in the log.

Metric names follow NVIDIA: ``fid50k_full`` = 50,000 generated images against the whole dataset,
``kid50k_full`` likewise; ``fid10k`` = 10k generated vs 10k reals. ``fid`` / ``kid`` mean the
``50k_full`` variants; smaller counts (``fid2k_full``, even ``fid500_full``) are for quick checks on
small runs (they are biased upward: compare like with like).

Maths:
- FID = |mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r S_g)^(1/2)). tr((S_r S_g)^(1/2)) is computed as the
  sum of square roots of the eigenvalues of S_r^(1/2) S_g S_r^(1/2), which is symmetric PSD, so
  ``eigh`` suffices (more stable than a general matrix square root; tests compare with
  ``scipy.linalg.sqrtm``).
- KID = unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over 100
  random subsets of at most 1000 images (NVIDIA's estimator).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import torch

from explorer.errors import UsageError
from explorer.train.run_dir import append_line
from explorer.train.run_layout import metric_name

MIN_IMAGES = 2  # the fewest images for which a covariance (FID) and the unbiased MMD (KID) exist
_METRIC_RE = re.compile(r"^(fid|kid)(\d+)(k?)(_full)?$")


def parse_metric(name: str) -> tuple[str, str, int, bool]:
    """'fid50k_full' -> ('fid50k_full', 'fid', 50000, True). ``fid``/``kid`` alone mean 50k_full."""
    name = name.strip().lower()
    if name in ("fid", "kid"):
        name += "50k_full"
    match = _METRIC_RE.match(name)
    if not match:
        raise UsageError(f"unknown metric {name!r} (use fid, kid, fid50k_full, kid50k_full, fid10k, ...)")
    kind, number, k, full = match.groups()
    count = int(number) * (1000 if k else 1)
    if count < MIN_IMAGES:
        raise UsageError(f"metric {name}: {kind.upper()} needs at least {MIN_IMAGES} images (a covariance of "
                         f"one image is undefined); use {kind}10 or more")
    return name, kind, count, bool(full)


# ---------------------------------------------------------------------------------------- maths


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    root1 = _psd_sqrt(np.asarray(sigma1, np.float64))
    middle = root1 @ np.asarray(sigma2, np.float64) @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def fid_from_features(real: np.ndarray, gen: np.ndarray) -> float:
    mu_r, s_r = feature_stats(real)
    mu_g, s_g = feature_stats(gen)
    return frechet_distance(mu_r, s_r, mu_g, s_g)


def kid_from_features(real: np.ndarray, gen: np.ndarray, num_subsets: int = 100, max_subset_size: int = 1000, seed: int = 0) -> float:
    real = np.asarray(real, np.float64)
    gen = np.asarray(gen, np.float64)
    d = real.shape[1]
    m = min(real.shape[0], gen.shape[0], max_subset_size)
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(num_subsets):
        x = gen[rng.choice(gen.shape[0], m, replace=False)]
        y = real[rng.choice(real.shape[0], m, replace=False)]
        a = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
        b = (x @ y.T / d + 1) ** 3
        total += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(total / num_subsets / m)


# ------------------------------------------------------------------------------ feature network


def load_feature_net(path: str | Path, device="cpu"):
    """Load a user-supplied TorchScript feature network (this runs code from the file: user's choice)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError(f"{path.name}: feature network file not found (--feature-net)")
    try:
        net = torch.jit.load(str(path), map_location=device)
    except Exception as exc:  # TorchScript raises RuntimeError subclasses with long texts
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{path.name}: not a TorchScript feature network ({first})") from None
    return net.eval()


def extract_features(net, images_uint8: torch.Tensor) -> np.ndarray:
    if images_uint8.shape[1] == 1:
        images_uint8 = images_uint8.repeat(1, 3, 1, 1)
    with torch.no_grad():
        return net(images_uint8, return_features=True).double().cpu().numpy()


def dataset_features(net, dataset, max_items: int | None, device, batch: int = 64, seed: int = 0) -> np.ndarray:
    """Features of the dataset's images (un-mirrored), at most ``max_items`` chosen at random."""
    n = len(dataset.names)
    order = np.arange(n) if max_items is None or max_items >= n else np.random.default_rng(seed).choice(n, max_items, replace=False)
    feats = []
    for start in range(0, len(order), batch):
        imgs = torch.from_numpy(np.stack([dataset.image(int(i)) for i in order[start : start + batch]])).to(device)
        feats.append(extract_features(net, imgs))
    return np.concatenate(feats)


def generator_features(net, G, dataset, count: int, device, batch: int = 32, seed: int = 123) -> np.ndarray:
    """Features of ``count`` generated images: z ~ N(0, I), no truncation, labels drawn from the data."""
    gen = torch.Generator().manual_seed(seed)
    feats = []
    done = 0
    while done < count:
        n = min(batch, count - done)
        z = torch.randn(n, G.z_dim, generator=gen).to(device)
        if G.c_dim:
            idx = torch.randint(len(dataset), (n,), generator=gen)
            c = torch.from_numpy(np.stack([dataset.label(int(i)) for i in idx])).to(device)
        else:
            c = torch.zeros(n, 0, device=device)
        with torch.no_grad():
            img = G.synthesis(G.mapping(z, c), noise_mode="const")
        feats.append(extract_features(net, (img * 127.5 + 128).clamp(0, 255).to(torch.uint8)))
        done += n
    return np.concatenate(feats)


class MetricRunner:
    """Computes the requested metrics for snapshots, caching the dataset features between them."""

    def __init__(self, names: list[str], feature_net_path, dataset, device, log=print):
        self.metrics = [parse_metric(n) for n in names]
        self.dataset, self.device, self.log = dataset, device, log
        self.net = None
        self._real_cache: dict[int | None, np.ndarray] = {}
        if self.metrics and feature_net_path is None:
            log("metrics: no --feature-net given, so " + ", ".join(m[0] for m in self.metrics) + " are skipped")
            self.metrics = []
        elif self.metrics:
            self.net = load_feature_net(feature_net_path, device)

    def run(self, G, run_dir: Path, snapshot_name: str, num_gpus: int = 1) -> dict[str, float]:
        results = {}
        if self.metrics and len(self.dataset.names) < MIN_IMAGES:
            self.log(f"metrics: skipped, the dataset has fewer than {MIN_IMAGES} images")
            return results
        for name, kind, count, full in self.metrics:
            start = time.time()
            max_reals = None if full else count
            if max_reals not in self._real_cache:
                self._real_cache[max_reals] = dataset_features(self.net, self.dataset, max_reals, self.device)
            real = self._real_cache[max_reals]
            gen = generator_features(self.net, G, self.dataset, count, self.device)
            value = fid_from_features(real, gen) if kind == "fid" else kid_from_features(real, gen)
            elapsed = time.time() - start
            line = {
                "results": {name: value},
                "metric": name,
                "total_time": elapsed,
                "total_time_str": _format_time(elapsed),
                "num_gpus": num_gpus,
                "snapshot_pkl": snapshot_name,
                "timestamp": time.time(),
            }
            append_line(Path(run_dir) / metric_name(name), json.dumps(line))
            self.log(f"metric {name} = {value:.4g} ({snapshot_name}, {_format_time(elapsed)})")
            results[name] = value
        return results


def _format_time(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {(s // 60) % 60:02d}m"
