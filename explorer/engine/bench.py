"""Render speed, measured against what this machine can do at all.

``bench_generator`` times full renders (mapping + synthesis) and counts the FLOPs (2 x multiply-adds) of
one render. StyleGAN2 runs its convolutions as written, so torch's FlopCounterMode counts them (every
convolution and matrix product). StyleGAN3 runs Winograd and polyphase forms that do less arithmetic than
the maths they compute, so its synthesis reports the nominal count of its convolutions and filters
(``synthesis.nominal_flops()``), and the counter adds the mapping network. ``conv_ceiling`` measures the machine's GFLOP/s on one 3x3 convolution of
256 to 256 channels at 64x64, batch 1: the best a batch-1 generator can hope for. efficiency = achieved /
ceiling.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

# Random-weight generators for measuring speed without a model file (``explorer bench --synthetic NAME``).
SYNTHETIC_CONFIGS = {
    "sg2-256": dict(arch="stylegan2", img_resolution=256, synthesis_kwargs=dict(channel_base=16384, channel_max=512),
                    mapping_kwargs=dict(num_layers=8)),
    "sg2-1024": dict(arch="stylegan2", img_resolution=1024, synthesis_kwargs=dict(channel_base=32768, channel_max=512),
                     mapping_kwargs=dict(num_layers=8)),
    "sg3t-64": dict(arch="stylegan3", img_resolution=64, synthesis_kwargs=dict(channel_base=4096, channel_max=128),
                    mapping_kwargs=dict(num_layers=2)),
    "sg3t-256": dict(arch="stylegan3", img_resolution=256, synthesis_kwargs=dict(channel_base=32768, channel_max=512),
                     mapping_kwargs=dict(num_layers=2)),
    "sg3r-256": dict(arch="stylegan3", img_resolution=256,
                     synthesis_kwargs=dict(channel_base=65536, channel_max=1024, conv_kernel=1, use_radial_filters=True),
                     mapping_kwargs=dict(num_layers=2)),
}


@dataclass
class BenchResult:
    ms_per_image: float
    gflop_per_image: float
    gflops: float
    gflops_ceiling: float
    efficiency: float
    batch: int
    iters: int
    device: str
    threads: int


def synthetic_generator(name: str) -> torch.nn.Module:
    from explorer.models import build_generator

    config = dict(z_dim=512, c_dim=0, w_dim=512, img_channels=3, **SYNTHETIC_CONFIGS[name])
    return build_generator(config).eval().requires_grad_(False)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _median_seconds(fn, device: torch.device, iters: int, warmup: int = 2) -> float:
    with torch.inference_mode():
        for _ in range(warmup):
            fn()
        _sync(device)
        times = []
        for _ in range(iters):
            start = time.perf_counter()
            fn()
            _sync(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def conv_ceiling(device: torch.device, iters: int = 10) -> float:
    """GFLOP/s of one 3x3, 256->256 convolution at 64x64, batch 1, fp32."""
    x = torch.randn(1, 256, 64, 64, device=device)
    weight = torch.randn(256, 256, 3, 3, device=device)
    flop = 2 * 256 * 256 * 9 * 64 * 64
    seconds = _median_seconds(lambda: torch.nn.functional.conv2d(x, weight, padding=1), device, max(iters, 5))
    return flop / seconds / 1e9


def bench_generator(generator: torch.nn.Module, device: torch.device, batch: int = 1, iters: int = 10) -> BenchResult:
    generator = generator.to(device)
    z = torch.from_numpy(np.random.RandomState(0).randn(batch, generator.z_dim)).float().to(device)
    c = torch.zeros(batch, generator.c_dim, device=device)
    if generator.c_dim:
        c[:, 0] = 1

    def render():
        return generator.synthesis(generator.mapping(z, c), noise_mode="const")

    nominal = getattr(generator.synthesis, "nominal_flops", None)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        generator.mapping(z, c) if nominal else render()
    gflop_per_image = (counter.get_total_flops() / batch + (nominal() if nominal else 0)) / 1e9
    seconds = _median_seconds(render, device, iters)
    ceiling = conv_ceiling(device, iters)
    ms = seconds / batch * 1e3
    achieved = gflop_per_image / (ms / 1e3)
    return BenchResult(
        ms_per_image=ms,
        gflop_per_image=gflop_per_image,
        gflops=achieved,
        gflops_ceiling=ceiling,
        efficiency=achieved / ceiling,
        batch=batch,
        iters=iters,
        device=str(device),
        threads=torch.get_num_threads(),
    )


def result_dict(result: BenchResult) -> dict:
    return asdict(result)
