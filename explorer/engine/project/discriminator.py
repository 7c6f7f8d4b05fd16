"""The discriminator of a model file, for the ``d`` loss: our training snapshots and NVIDIA's pickles hold one.

Render-only files (the bundled ``default.safetensors``, converted models, rosinality's exports) do not.
A render-only export that sits beside the training run it came from (the bundled model and
``checkpoints/training/avatars-64/``) takes D from that run's snapshot: the one whose provenance is the
export's (both name the same training snapshot).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from explorer.errors import ModelError
from explorer.formats import detect_format, resolve_model_path


class NoDiscriminator(ModelError):
    kind = "no discriminator"


# NVIDIA's Discriminator keyword arguments that our networks_d.Discriminator takes as they are.
_FLAT_KWARGS = ("c_dim", "img_resolution", "img_channels", "channel_base", "channel_max", "num_fp16_res",
                "conv_clamp", "cmap_dim", "architecture")


def discriminator_file_for(model) -> Path:
    """Where the d loss takes D from for an open ``formats.Model``: the training snapshot that a render-only
    native export was made from, if it lies in ``training/*/`` beside the export, else the model's file."""
    from explorer.formats import native

    source = (model.provenance or {}).get("source_file")
    if model.source_format == "native" and source:
        for candidate in sorted(model.path.parent.glob("training/*/network-snapshot-*.safetensors")):
            try:
                provenance = json.loads(native.read_metadata(candidate).get("provenance", "{}"))
            except (ModelError, ValueError):
                continue
            if provenance == model.provenance:
                return candidate
    return model.path


def load_discriminator(path: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The frozen D of a native snapshot or an NVIDIA pickle; ``NoDiscriminator`` for any other file."""
    from explorer.train.networks_d import build_discriminator

    path = resolve_model_path(path)
    kind = detect_format(path)
    if kind == "native":
        config, tensors = _native_d(path)
    elif kind == "pickle":
        config, tensors = _nvidia_d(path)
    else:
        raise NoDiscriminator(path, "this kind of file holds only a generator; give a training snapshot for the d loss")
    try:
        d = build_discriminator(config)
    except (TypeError, ValueError) as exc:
        raise NoDiscriminator(path, f"its discriminator cannot be built here ({' '.join(str(exc).split())[:160]})") from None
    own = d.state_dict()
    for name, tensor in own.items():
        if name.endswith("resample_filter"):
            continue  # fixed blur taps, built by the network itself
        if name not in tensors or tuple(tensors[name].shape) != tuple(tensor.shape):
            found = "missing" if name not in tensors else f"{tuple(tensors[name].shape)}"
            raise NoDiscriminator(path, f"its discriminator's {name} is {found}, expected {tuple(tensor.shape)}")
        with torch.no_grad():
            tensor.copy_(tensors[name].float())
    return d.eval().requires_grad_(False).to(device)


def _native_d(path: Path) -> tuple[dict, dict]:
    from explorer.formats import native

    _, networks = native.read_networks(path)
    if "D" not in networks:
        raise NoDiscriminator(path, "the file holds only a generator; give a training snapshot "
                                    "(network-snapshot-*.safetensors) for the d loss")
    return networks["D"]


def _nvidia_d(path: Path) -> tuple[dict, dict]:
    from explorer.formats import nvidia_pickle

    obj = nvidia_pickle.safe_load(path)
    node = obj.get("D") if isinstance(obj, dict) else None
    if not isinstance(node, nvidia_pickle.PersistentNode) or node.class_name != "Discriminator":
        raise NoDiscriminator(path, "the pickle holds no 'D' network (a generator-only export?)")
    kwargs = dict(node.state.get("_init_kwargs") or {})
    config = {key: kwargs[key] for key in _FLAT_KWARGS if key in kwargs}
    epilogue = kwargs.get("epilogue_kwargs") or {}
    mapping = kwargs.get("mapping_kwargs") or {}
    for ours, theirs, source in (("mbstd_group_size", "mbstd_group_size", epilogue),
                                 ("mbstd_num_channels", "mbstd_num_channels", epilogue),
                                 ("mapping_layers", "num_layers", mapping)):
        if theirs in source:
            config[ours] = source[theirs]
    tensors: dict[str, torch.Tensor] = {}
    nvidia_pickle._collect(node, "", tensors, {}, path)  # the same walk the generator reader uses
    return config, tensors
