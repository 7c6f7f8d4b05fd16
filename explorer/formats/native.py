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
import os
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


# Our headers are a few hundred kB (a training snapshot's G, G_ema and D); safetensors itself allows 100 MB,
# which parsed as JSON could cost gigabytes.
MAX_HEADER_BYTES = 8 * 2**20


def _json(path: Path, text: str, what: str):
    try:
        return json.loads(text)
    except RecursionError:
        raise CorruptModel(path, f"{what} nests too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        raise CorruptModel(path, f"{what} is not valid JSON ({str(exc)[:80]})") from None


def _json_dict(path: Path, meta: dict, key: str, default: str | None = None) -> dict:
    """A metadata entry holding a JSON object (config, networks, provenance)."""
    if key not in meta and default is not None:
        return _json(path, default, key)
    if key not in meta:
        raise CorruptModel(path, f"metadata has no '{key}' entry")
    value = _json(path, meta[key], f"metadata '{key}'")
    if not isinstance(value, dict):
        raise CorruptModel(path, f"metadata '{key}' is a {type(value).__name__}, not a JSON object")
    return value


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata block alone (cheap: reads only the header)."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CorruptModel(path, "file is truncated")
        size = int.from_bytes(head, "little")
        left = os.fstat(f.fileno()).st_size - 8
        if size > min(MAX_HEADER_BYTES, left):
            raise CorruptModel(path, f"safetensors header declares {size:,} bytes (file has {left:,}; at most "
                                     f"{MAX_HEADER_BYTES:,} accepted)")
        header = f.read(size)
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptModel(path, f"safetensors header is not UTF-8 (byte {exc.start})") from None
    parsed = _json(path, text, "safetensors header")
    meta = parsed.get("__metadata__") if isinstance(parsed, dict) else None
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        if isinstance(parsed, dict) and meta is None:
            meta = {}
        else:
            raise CorruptModel(path, "safetensors header has no string-to-string __metadata__")
    if meta.get("format") != FORMAT_NAME:
        raise NotAModel(path, "a safetensors file, but not a StyleGAN Explorer model (no explorer metadata)")
    if meta.get("format_version") != FORMAT_VERSION:
        version = str(meta.get("format_version"))[:20]
        raise UnsupportedArchitecture(path, f"native format version {version!r} is newer than this program")
    return meta


def read_networks(path: str | Path) -> tuple[dict[str, str], dict[str, tuple[dict, dict[str, torch.Tensor]]]]:
    """Metadata and every network ``{prefix: (config, state_dict)}`` in the file (for training resumes)."""
    path = Path(path)
    meta = read_metadata(path)
    configs = _json_dict(path, meta, "networks")
    if not all(isinstance(config, dict) for config in configs.values()):
        raise CorruptModel(path, "metadata 'networks' holds something other than config objects")
    try:
        tensors = load_bytes(path.read_bytes())
    except (SafetensorError, ValueError, TypeError) as exc:  # offsets, dtypes or shapes the library refuses
        raise CorruptModel(path, f"cannot read tensors ({str(exc)[:160]})") from None
    networks: dict[str, tuple[dict, dict[str, torch.Tensor]]] = {}
    for prefix, config in configs.items():
        start = prefix + "."
        networks[prefix] = (config, {k[len(start):]: v for k, v in tensors.items() if k.startswith(start)})
    return meta, networks


def read(path: str | Path) -> ModelData:
    path = Path(path)
    meta, networks = read_networks(path)
    if RENDER_NET not in networks:
        raise NotAModel(path, "native file holds no G_ema network")
    config, tensors = networks[RENDER_NET]
    provenance = _json_dict(path, meta, "provenance", default="{}")
    provenance = {str(k): v if isinstance(v, (str, int, float, bool, type(None))) else str(v)[:200]
                  for k, v in provenance.items()}
    notes = []
    if provenance.get("source_format") and provenance.get("source_format") != "native":
        notes.append(f"converted from {provenance.get('source_file')} ({provenance['source_format']})")
    return ModelData(config=config, tensors=tensors, source_format="native", notes=notes, provenance=provenance)
