"""Generator networks in plain PyTorch. No file I/O here: ``explorer.formats`` reads files.

Every generator (StyleGAN2, StyleGAN3) exposes the same surface, which the engine relies on:

- attributes ``z_dim``, ``c_dim``, ``w_dim``, ``img_resolution``, ``img_channels``, ``num_ws``;
- ``mapping(z, c) -> ws`` of shape [N, num_ws, w_dim], *untruncated* (the engine applies truncation,
  per row, toward the buffer ``mapping.w_avg``);
- ``synthesis(ws, noise_mode='const', noise_strength=1.0, noise_generator=None, input_transform=None)``
  -> float32 image [N, img_channels, R, R], nominally in [-1, 1]. ``noise_mode`` is 'const' (stored
  noise maps), 'random' (drawn from ``noise_generator``) or 'none'; ``input_transform`` is the 3x3
  matrix that NVIDIA's code copies into ``synthesis.input.transform`` (ignored without one);
- ``has_input_transform`` (bool) and ``layer_infos()`` -> list[LayerInfo];
- parameter and buffer names identical to NVIDIA's, so ``load_state_dict`` takes their tensors.

A generator is described by a JSON-serialisable *config* dict: ``{"arch": "stylegan2" | "stylegan3",
"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs": {...},
"synthesis_kwargs": {...}}`` (NVIDIA's nested init-kwargs layout). ``build_generator(config)`` builds it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LayerInfo:
    """One synthesis layer as the user sees it (``explorer info``, the style-layer labels)."""

    name: str  # NVIDIA's module name: 'b8.conv0', 'b8.torgb', 'input', 'L3_52_512'
    w_index: int  # the row of W+ that styles this layer
    resolution: int  # output size in pixels (SG3: including the margin)
    channels: int  # output channels
    sampling_rate: int | None = None  # SG3 only


ARCHITECTURES = ("stylegan2", "stylegan3")


def build_generator(config: dict) -> torch.nn.Module:
    """Build an untrained generator from a config dict (see module docstring).

    Raises ``ValueError`` with a one-line reason for configs this code cannot build; the format readers
    turn that into ``UnsupportedArchitecture`` naming the file. Every field is bounds-checked first
    (``explorer.models.limits``), so a config read from a file cannot ask for absurd sizes.
    """
    from explorer.models.limits import check_config

    check_config(config)
    arch = config.get("arch")
    kwargs = {k: v for k, v in config.items() if k != "arch"}
    if arch == "stylegan2":
        from explorer.models.stylegan2 import Generator
    elif arch == "stylegan3":
        from explorer.models.stylegan3 import Generator
    else:
        raise ValueError(f"unknown generator architecture {arch!r} (supported: {', '.join(ARCHITECTURES)})")
    return Generator(**kwargs)


def copy_without_hooks(module: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of ``module`` whose submodules carry no hooks.

    The window's render worker hooks the open generator's modules with its own bound methods (to abandon
    superseded renders); copying them would copy the worker, which cannot be copied, and the copy (a blend,
    a job's private model) is run by whoever holds it. deepcopy's memo maps each hook table to a fresh
    empty one instead, so the original keeps its hooks throughout.
    """
    memo = {}
    for sub in module.modules():
        for name, table in vars(sub).items():
            if name.endswith("hooks") and isinstance(table, dict):
                memo[id(table)] = type(table)()
    return copy.deepcopy(module, memo)
