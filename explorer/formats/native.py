"""Our native model file: one ``.safetensors`` that says what it is without running anything.

Tensors are stored under a network prefix: ``G_ema.mapping.fc0.weight``; a training snapshot also holds
``G.*`` and ``D.*`` for resuming. The safetensors metadata (string to string) holds:

- ``format``: ``"stylegan-explorer"``, ``format_version``: ``"1"``;
- ``config``: JSON of the G_ema generator config (see ``explorer.models``);
- ``networks``: JSON ``{"G_ema": config, "G": config, "D": d_config}`` for every prefix present;
- ``provenance``: JSON ``{"source_file", "sha256", "source_format"}`` of the model it was made from;
- any extra string entries a writer passes (training writes ``kimg``, ...).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from explorer.errors import CorruptModel, NotAModel, UnsupportedArchitecture
from explorer.fileio import atomic_write_bytes
from explorer.formats import ModelData

FORMAT_NAME = "stylegan-explorer"
FORMAT_VERSION = "1"
RENDER_NET = "G_ema"


def write(
    path: str | Path,
    networks: dict[str, tuple[dict, dict[str, torch.Tensor]]],
    provenance: dict,
    extra_metadata: dict[str, str] | None = None,
) -> None:
    """Write ``{prefix: (config, state_dict)}`` atomically. ``G_ema`` must be among the networks."""
    if RENDER_NET not in networks:
        raise ValueError("a native model file needs a G_ema network")
    tensors: dict[str, torch.Tensor] = {}
    for prefix, (_, state_dict) in networks.items():
        for name, tensor in state_dict.items():
            tensors[f"{prefix}.{name}"] = tensor.detach().to("cpu", torch.float32).contiguous()
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(networks[RENDER_NET][0]),
        "networks": json.dumps({prefix: config for prefix, (config, _) in networks.items()}),
        "provenance": json.dumps(provenance),
        **(extra_metadata or {}),
    }
    atomic_write_bytes(path, save_bytes(tensors, metadata=metadata))


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata block alone (cheap: reads only the header)."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CorruptModel(path, "file is truncated")
        size = int.from_bytes(head, "little")
        if size > 100 * 2**20:
            raise CorruptModel(path, "safetensors header is implausibly large")
        header = f.read(size)
    if len(header) < size:
        raise CorruptModel(path, "file is truncated inside its header")
    try:
        meta = json.loads(header).get("__metadata__") or {}
    except (json.JSONDecodeError, AttributeError):
        raise CorruptModel(path, "safetensors header is not valid JSON") from None
    if meta.get("format") != FORMAT_NAME:
        raise NotAModel(path, "a safetensors file, but not a StyleGAN Explorer model (no explorer metadata)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise UnsupportedArchitecture(path, f"native format version {meta.get('format_version')!r} is newer than this program")
    return meta


def read_networks(path: str | Path) -> tuple[dict[str, str], dict[str, tuple[dict, dict[str, torch.Tensor]]]]:
    """Metadata and every network ``{prefix: (config, state_dict)}`` in the file (for training resumes)."""
    path = Path(path)
    meta = read_metadata(path)
    try:
        tensors = load_bytes(path.read_bytes())
        configs = json.loads(meta["networks"])
    except (SafetensorError, KeyError, json.JSONDecodeError) as exc:
        raise CorruptModel(path, f"cannot read tensors ({exc})") from None
    networks: dict[str, tuple[dict, dict[str, torch.Tensor]]] = {}
    for prefix, config in configs.items():
        start = prefix + "."
        networks[prefix] = (config, {k[len(start):]: v for k, v in tensors.items() if k.startswith(start)})
    return meta, networks


def read(path: str | Path) -> ModelData:
    meta, networks = read_networks(path)
    if RENDER_NET not in networks:
        raise NotAModel(path, "native file holds no G_ema network")
    config, tensors = networks[RENDER_NET]
    provenance = json.loads(meta.get("provenance", "{}"))
    notes = []
    if provenance.get("source_format") and provenance.get("source_format") != "native":
        notes.append(f"converted from {provenance.get('source_file')} ({provenance['source_format']})")
    return ModelData(config=config, tensors=tensors, source_format="native", notes=notes, provenance=provenance)
