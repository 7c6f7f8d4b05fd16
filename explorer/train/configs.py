"""The ``--cfg`` presets: network sizes and hyper-parameters that are known to work together.

- ``paper256``, ``paper512``, ``stylegan2``: NVIDIA's stylegan2-ada ``train.py`` specs (reference §2.7):
  their batch, minibatch-std group, channel base (fmaps x 32768), learning rate, R1 gamma, G EMA
  half-life and mapping depth. ``ref_gpus`` is what their figures assume; we do not force it.
- ``tiny``: for tests, demos and the GUI's "try it" button: 32x32-class models that train at tens of
  images per second on the CPU. Thin channels (cbase 1024, cmax 64: 32 channels at 32x32, 64 below),
  64-d latents, 2 mapping layers, no path-length regularisation (its double backward is the costliest
  part per image). Measured at 32x32, batch 32, one thread: 41-48 img/s (cmax 128: ~30; cbase 512:
  85-170), so two cores clear 30 img/s with room to spare -- provided OpenMP threads do not spin
  against other busy processes (see ``--threads`` / OMP_WAIT_POLICY=PASSIVE in ``loop``).
- ``small``: the CPU config for a real 64x64 model in a few hours (what our bundled default model is
  trained with): 4x the tiny channels, 256-d latents, 4 mapping layers, and path-length
  regularisation on, because a smooth W is what makes a model pleasant to explore (its lazy, half-batch
  form costs ~15%). R1 gamma follows NVIDIA's ``auto`` rule of thumb (0.0002 * res^2 / batch), doubled
  for small datasets; EMA 10 kimg with a 5% ramp-up so short runs already show a smoothed G.

fp16 with clamping (``num_fp16_res`` 4, ``conv_clamp`` 256) applies on CUDA only; CPU runs fp32
without clamps (``networks_for_device``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from explorer.errors import UsageError


@dataclass(frozen=True)
class CfgSpec:
    name: str
    ref_gpus: int
    kimg: float
    batch: int
    mbstd: int
    channel_base: int
    channel_max: int
    lrate: float
    gamma: float
    ema_kimg: float
    ema_rampup: float | None
    map_layers: int
    z_dim: int = 512
    w_dim: int = 512
    pl_weight: float = 2.0
    style_mixing_prob: float = 0.9
    tick_kimg: float = 4.0
    snap_ticks: int = 50
    grid_max: tuple[int, int] | None = None  # cap on the image-grid size (gw, gh)
    resolution_hint: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


CONFIGS: dict[str, CfgSpec] = {
    "tiny": CfgSpec(
        "tiny", ref_gpus=1, kimg=100, batch=32, mbstd=4, channel_base=1024, channel_max=64, lrate=0.0025,
        gamma=0.01, ema_kimg=10, ema_rampup=0.05, map_layers=2, z_dim=64, w_dim=64, pl_weight=0.0,
        tick_kimg=1, snap_ticks=10, grid_max=(8, 4), resolution_hint=32,
    ),
    "small": CfgSpec(
        "small", ref_gpus=1, kimg=3000, batch=32, mbstd=4, channel_base=2048, channel_max=128, lrate=0.0025,
        gamma=0.05, ema_kimg=10, ema_rampup=0.05, map_layers=4, z_dim=256, w_dim=256, pl_weight=2.0,
        tick_kimg=1, snap_ticks=10, grid_max=(12, 8), resolution_hint=64,
    ),
    "paper256": CfgSpec(
        "paper256", ref_gpus=8, kimg=25000, batch=64, mbstd=8, channel_base=16384, channel_max=512, lrate=0.0025,
        gamma=1, ema_kimg=20, ema_rampup=None, map_layers=8, resolution_hint=256,
    ),
    "paper512": CfgSpec(
        "paper512", ref_gpus=8, kimg=25000, batch=64, mbstd=8, channel_base=32768, channel_max=512, lrate=0.0025,
        gamma=0.5, ema_kimg=20, ema_rampup=None, map_layers=8, resolution_hint=512,
    ),
    "stylegan2": CfgSpec(
        "stylegan2", ref_gpus=8, kimg=25000, batch=32, mbstd=4, channel_base=32768, channel_max=512, lrate=0.002,
        gamma=10, ema_kimg=10, ema_rampup=None, map_layers=8, resolution_hint=1024,
    ),
}


def get_cfg(name: str) -> CfgSpec:
    try:
        return CONFIGS[name]
    except KeyError:
        raise UsageError(f"unknown --cfg {name!r} (choose {', '.join(CONFIGS)})") from None


def generator_config(spec: CfgSpec, resolution: int, img_channels: int, c_dim: int, cuda: bool) -> dict:
    """Our generator config (see ``explorer.models``) for a preset, a dataset and a device."""
    return {
        "arch": "stylegan2",
        "z_dim": spec.z_dim,
        "c_dim": c_dim,
        "w_dim": spec.w_dim,
        "img_resolution": resolution,
        "img_channels": img_channels,
        "mapping_kwargs": {"num_layers": spec.map_layers},
        "synthesis_kwargs": {
            "channel_base": spec.channel_base,
            "channel_max": spec.channel_max,
            "num_fp16_res": 4 if cuda else 0,
            "conv_clamp": 256 if cuda else None,
        },
    }


def discriminator_config(spec: CfgSpec, resolution: int, img_channels: int, c_dim: int, cuda: bool, mbstd_group: int | None = None) -> dict:
    return {
        "arch": "stylegan2-resnet-d",
        "c_dim": c_dim,
        "img_resolution": resolution,
        "img_channels": img_channels,
        "channel_base": spec.channel_base,
        "channel_max": spec.channel_max,
        "num_fp16_res": 4 if cuda else 0,
        "conv_clamp": 256 if cuda else None,
        "mbstd_group_size": mbstd_group or spec.mbstd,
        "mapping_layers": spec.map_layers,
    }
