"""Reading and writing model files. No network definitions here (see ``explorer.models``).

``load_model(path)`` detects the format from the file's *content* (never from running it), reads it
into a ``ModelData`` (config + NVIDIA-named tensors), builds our own generator and copies the tensors in.
Every failure is an ``explorer.errors.ModelError`` subclass with a one-line message naming the file.

Readers (each a function ``read(path) -> ModelData`` in its own module):
- ``native``: our ``.safetensors`` with the config JSON in its metadata;
- ``nvidia_pickle``: NVIDIA's PyTorch network pickles (stylegan2-ada-pytorch and stylegan3), read by a
  restricted unpickler that never executes embedded source;
- ``tf_pickle``: NVIDIA's TensorFlow-era StyleGAN2 pickles (same restricted unpickler);
- ``rosinality``: rosinality/stylegan2-pytorch ``.pt`` checkpoints (torch's weights-only loader).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from explorer.errors import CorruptModel, ModelError, ModelFileMissing, NotAModel

# Extensions the Open dialog offers; detection itself is by content.
MODEL_SUFFIXES = (".safetensors", ".pkl", ".pt", ".pth")

# The model shipped with the program (checkpoints/README.md is its model card).
BUNDLED_MODEL = Path(__file__).resolve().parents[2] / "checkpoints" / "default.safetensors"


@dataclass
class ModelData:
    """What a reader returns: enough to build and fill a generator, nothing executed."""

    config: dict  # see explorer.models: {"arch", "z_dim", ..., "mapping_kwargs", "synthesis_kwargs"}
    tensors: dict[str, torch.Tensor]  # the render generator's (G_ema's) tensors, NVIDIA names
    source_format: str  # 'native', 'nvidia-pickle', 'tf-pickle', 'rosinality'
    notes: list[str] = field(default_factory=list)  # facts worth telling the user (`explorer info`)
    provenance: dict | None = None  # native files carry the provenance of what they were made from


@dataclass
class Model:
    """A ready generator with what is known about where it came from."""

    generator: torch.nn.Module
    config: dict
    path: Path
    sha256: str  # of the file opened
    source_format: str
    provenance: dict  # {"source_file", "sha256", "source_format"} of the original model file
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_SNAPSHOT_PATTERNS = (
    re.compile(r"network-snapshot-(\d+)\.(pkl|safetensors)$"),
    re.compile(r"snapshot-(\d+)\.safetensors$"),
    re.compile(r"(\d+)\.pt$"),  # rosinality's checkpoint/012000.pt
)


def latest_snapshot(run_dir: Path) -> Path:
    """The newest snapshot in a training-run directory (ours, NVIDIA's or rosinality's)."""
    found: list[tuple[int, str, Path]] = []
    for candidate in list(run_dir.iterdir()) + list((run_dir / "checkpoint").glob("*")):
        for pattern in _SNAPSHOT_PATTERNS:
            match = pattern.search(candidate.name)
            if match and candidate.is_file():
                found.append((int(match.group(1)), candidate.name, candidate))
                break
    if not found:
        raise NotAModel(run_dir, "folder holds no network snapshot (network-snapshot-*.pkl / *.safetensors)")
    return max(found)[2]


# torch.save's pre-1.6 container opens with a protocol-2 pickle of the magic number 0x1950a86a20f9469cfc6c.
_LEGACY_TORCH_SAVE = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


def detect_format(path: Path) -> str:
    """Name the reader for a file from its first bytes."""
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) < 2:
        raise CorruptModel(path, "file is empty or truncated")
    if head[:2] == b"PK" or head.startswith(_LEGACY_TORCH_SAVE):
        return "rosinality"  # torch.save container (zip, or the pre-1.6 pickle stream)
    # safetensors: a little-endian u64 header length, then the JSON header. Tested before the pickle
    # opcode because that length's low byte may itself be 0x80.
    if len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < path.stat().st_size:
        return "native"
    if head[0] == 0x80:  # pickle protocol 2+
        return "pickle"
    raise NotAModel(path, "unrecognised file content (expected .safetensors, a network pickle or a .pt checkpoint)")


# Tests set this to True so that a reader's programming error surfaces as itself instead of as a
# one-line CorruptModel (the fuzz tests assert that only ExplorerError escapes a reader).
RAISE_UNEXPECTED = False


def _reader(kind: str):
    if kind == "native":
        from explorer.formats import native as reader
    elif kind == "rosinality":
        from explorer.formats import rosinality as reader
    else:
        from explorer.formats import nvidia_pickle as reader
    return reader.read


def read_model_data(path: str | Path) -> ModelData:
    """Read a model file or run directory into ModelData without building anything.

    Every failure is a one-line ``ModelError`` naming the file: an exception no reader anticipated is
    turned into ``CorruptModel`` here, at the one boundary every reader goes through.
    """
    path = resolve_model_path(path)
    try:
        return _reader(detect_format(path))(path)
    except ModelError:
        raise
    except (OSError, EOFError) as exc:
        raise CorruptModel(path, str(exc) or type(exc).__name__) from None
    except RecursionError:
        raise CorruptModel(path, "the file nests too deeply") from None
    except MemoryError:
        raise CorruptModel(path, "the file asks for more memory than is available") from None
    except Exception as exc:
        if RAISE_UNEXPECTED:
            raise
        raise CorruptModel(path, f"unreadable ({type(exc).__name__}: {exc})"[:300]) from None


def resolve_model_path(path: str | Path) -> Path:
    """The file that ``load_model`` would open for ``path`` (a run directory resolves to its latest snapshot)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileMissing(path, "no such file or folder")
    return latest_snapshot(path) if path.is_dir() else path


def build_model(data: ModelData, path: Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Build our generator for ``data`` and copy its tensors in, checking every name, shape and dtype first."""
    from explorer.formats.validate import check_generator
    from explorer.models import build_generator

    check_generator(path, data.config, data.tensors)  # bounds and tensors, before anything is allocated
    generator = build_generator(data.config)
    generator.load_state_dict({k: v.float() for k, v in data.tensors.items()})
    return generator.eval().requires_grad_(False).to(device)


def load_model(path: str | Path, device: str | torch.device = "cpu") -> Model:
    """Open any supported model file (or run directory) as a ready, eval-mode generator on ``device``."""
    path = resolve_model_path(path)
    data = read_model_data(path)
    generator = build_model(data, path, device)
    digest = sha256_of(path)
    provenance = data.provenance or {
        "source_file": path.name,
        "sha256": digest,
        "source_format": data.source_format,
    }
    return Model(
        generator=generator,
        config=data.config,
        path=path.resolve(),
        sha256=digest,
        source_format=data.source_format,
        provenance=provenance,
        notes=list(data.notes),
    )
