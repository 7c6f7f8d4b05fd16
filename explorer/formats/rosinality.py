"""rosinality/stylegan2-pytorch ``.pt`` checkpoints: reading (weights-only) and writing.

Two layouts exist (checkpoint-formats.md section 1):

- ``convert_weight.py`` output: ``{"g_ema": state_dict, "latent_avg": [style_dim], optional "g", "d"}``;
- ``train.py`` snapshots: ``{"g", "d", "g_ema", "g_optim", "d_optim", "args": argparse.Namespace,
  "ada_aug_p"}``, with no ``latent_avg``.

Files are opened with ``torch.load(weights_only=True)``, which only rebuilds tensors and plain containers;
the one extra class allowed is ``argparse.Namespace`` (train.py's ``args``). Anything else the pickle
asks for is refused as ``UnsafeModel`` naming the global, and nothing in the file is ever run.

rosinality's maths versus NVIDIA's (what the renaming has to preserve), worked out from its formulas:

- EqualLinear keeps ``randn / lr_mul`` and uses ``W * lr_mul / sqrt(in)`` and ``b * lr_mul``: exactly
  NVIDIA's FullyConnectedLayer with ``lr_multiplier`` (0.01 in the mapping, 1 for ``modulation``, whose bias
  starts at 1 like NVIDIA's affine), so mapping and affine tensors copy unchanged.
- ModulatedConv2d multiplies ``W`` by ``1/sqrt(in*k*k)`` before modulation; with demodulation that factor
  cancels (NVIDIA applies none), and in ToRGB (no demodulation) NVIDIA applies the same factor to the
  styles instead. Conv weights therefore only lose their leading batch axis: [1, O, I, k, k] -> [O, I, k, k].
  (Only the 1e-8 demodulation epsilon then acts on a differently scaled sum: a relative effect below 1e-6.)
- The up-sampling conv is ``conv_transpose2d`` with the kernel as stored, then a [1,3,3,1] blur; NVIDIA's
  up-sampling SynthesisLayer also runs the transposed convolution on the unflipped kernel, with the same
  padding (1, 1), so no spatial flip is needed (the conformance test re-implements rosinality to check).
- rosinality's blur / upsample kernels are stored already multiplied by factor**2 = 4; NVIDIA keeps the
  unit-sum filter and applies the gain of 4 at run time: ``resample_filter = kernel / 4``.
- NoiseInjection's weight is [1] (NVIDIA: a scalar), noise buffers are [1, 1, r, r] (NVIDIA: [r, r]),
  ``noises.noise_i`` numbers the layers in order: conv1, then convs.0, convs.1, ...
- FusedLeakyReLU adds its ``bias`` then applies lrelu(0.2) * sqrt(2): NVIDIA's bias_act on the conv bias.
- ToRGB's bias is [1, 3, 1, 1]; the generator is hard-wired to 3 channels, the 'skip' architecture and an
  unconditional mapping with z_dim = w_dim = style_dim.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import pickle
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from explorer.errors import CorruptModel, ModelError, UnsafeModel, UnsupportedArchitecture
from explorer.fileio import atomic_write
from explorer.formats import Model, ModelData
from explorer.formats.safe_pickle import STORAGE_DTYPES, BoundedFile, SafeUnpickler
from explorer.formats.validate import check_tensor, expected_shapes

SUPPORTED = "supported: rosinality/stylegan2-pytorch StyleGAN2 generators (convert_weight.py or train.py checkpoints)"
LR_MLP = 0.01  # rosinality's default lr_mlp; its checkpoints do not record it
W_AVG_SEED, W_AVG_SAMPLES = 123, 10_000
W_AVG_NOTE = "w_avg computed from 10,000 z (RandomState 123): file has no latent_avg"

# The only classes (besides torch's own weights-only set) a rosinality checkpoint needs.
_SAFE_GLOBALS = [argparse.Namespace]

# Fixed part of the two naming schemes; per-block names are generated in _name_pairs.
_TORGB_PARTS = (("conv.weight", "weight"), ("conv.modulation.weight", "affine.weight"),
                ("conv.modulation.bias", "affine.bias"), ("bias", "bias"))
_CONV_PARTS = (("conv.weight", "weight"), ("conv.modulation.weight", "affine.weight"),
               ("conv.modulation.bias", "affine.bias"), ("noise.weight", "noise_strength"),
               ("activate.bias", "bias"))


# --------------------------------------------------------------------------------------------------------------
# Loading the file safely
# --------------------------------------------------------------------------------------------------------------


def _refused_global(message: str) -> str | None:
    """The ``module.name`` that torch's weights-only unpickler refused, parsed from its message."""
    match = re.search(r"GLOBAL ([A-Za-z_][\w.]*)", message)
    return match.group(1) if match else None


def _allow_namespace():
    """A context allowing ``_SAFE_GLOBALS`` (torch >= 2.5; 2.4 only has the process-wide ``add_safe_globals``)."""
    scoped = getattr(torch.serialization, "safe_globals", None)
    if scoped is not None:
        return scoped(_SAFE_GLOBALS)
    add = getattr(torch.serialization, "add_safe_globals", None)
    if add is not None:
        add(_SAFE_GLOBALS)
    return contextlib.nullcontext()


# A rosinality data.pkl (names, shapes, optimiser state; no tensor bytes) is well under a megabyte.
MAX_ZIP_PICKLE_BYTES = 16 * 2**20
MAX_ZIP_ENTRIES = 100_000
MAX_KERNEL_TAPS = 256


def _check_zip(path: Path) -> None:
    """Refuse a torch zip container whose entries could cost more than the file holds (a zip bomb).

    torch writes every entry uncompressed; anything compressed, or entries adding up to more bytes than
    the file has, is not a torch.save output.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, NotImplementedError) as exc:
        raise CorruptModel(path, f"not a readable torch zip container ({str(exc)[:100]})") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise CorruptModel(path, f"the zip container has {len(entries):,} entries")
    size = path.stat().st_size
    for entry in entries:
        if entry.compress_type != zipfile.ZIP_STORED:
            raise CorruptModel(path, f"zip entry {entry.filename[:80]} is compressed (torch.save never compresses)")
        if entry.filename.endswith(".pkl") and entry.file_size > MAX_ZIP_PICKLE_BYTES:
            raise CorruptModel(path, f"zip entry {entry.filename[:80]} is {entry.file_size:,} bytes of pickle")
    if sum(entry.file_size for entry in entries) > size:
        raise CorruptModel(path, "the zip container's entries declare more bytes than the file holds")


class _Inert(dict):
    """What every global becomes while a legacy header is scanned: takes any arguments and keeps none
    (a dict, so that the items an OrderedDict would receive have somewhere to go)."""

    def __init__(self, *args, **kwargs):
        super().__init__()


class _LegacyScan(SafeUnpickler):
    """Runs a legacy ``torch.save`` header only to learn which storages it declares; builds nothing.

    Every global is ``_Inert`` (storage types excepted), so nothing in the file can run; each storage
    record is noted as {key: bytes}.
    """

    def __init__(self, file, path: Path, storages: dict[str, int]):
        super().__init__(file, path)
        self.storages = storages

    def find_class(self, module: str, name: str):
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        return _Inert

    def _callable(self, func):
        if func is not _Inert:
            raise UnsafeModel(self.path, f"refused to call a {type(func).__name__}")
        return func

    def build_state(self, inst, state) -> bool:
        return isinstance(inst, _Inert)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and isinstance(pid[4], int) and pid[4] >= 0):
            raise CorruptModel(self.path, "malformed storage record")
        if not isinstance(pid[1], torch.dtype):
            raise CorruptModel(self.path, "storage record names no storage type")
        self.storages[str(pid[2])] = pid[4] * torch.empty((), dtype=pid[1]).element_size()
        return _Inert()


def _check_legacy(path: Path) -> None:
    """Refuse a pre-1.6 ``torch.save`` file whose storages declare more bytes than follow them.

    torch allocates each storage at its declared size before reading it, so a few bytes could ask for
    terabytes; here every declaration is checked against the bytes that are really there.
    """
    storages: dict[str, int] = {}
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        try:
            for _ in range(4):  # magic number, protocol version, system info, the checkpoint itself
                _LegacyScan(BoundedFile(f, path), path, storages).load()
            keys = _LegacyScan(BoundedFile(f, path), path, storages).load()
        except ModelError:
            raise
        except Exception as exc:
            raise CorruptModel(path, f"unreadable legacy torch container ({type(exc).__name__})") from None
        if not isinstance(keys, list):
            raise CorruptModel(path, "legacy torch container has no storage key list")
        for key in keys:
            declared = storages.get(str(key))
            count = f.read(8)
            if declared is None or len(count) < 8:
                raise CorruptModel(path, "legacy torch container's storages do not match their records")
            if declared > size - f.tell():
                raise CorruptModel(path, f"a storage declares {declared:,} bytes where the file has "
                                         f"{size - f.tell():,} left")
            f.seek(declared, os.SEEK_CUR)


def _load(path: Path):
    """``torch.load`` in weights-only mode with exactly argparse.Namespace allowed on top of torch's set."""
    if zipfile.is_zipfile(path):
        _check_zip(path)
    else:
        _check_legacy(path)
    try:
        with _allow_namespace():
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        name = _refused_global(str(exc))
        if name:
            raise UnsafeModel(path, f"the checkpoint asks for {name}, which a weights-only load never runs") from None
        first = next((line for line in str(exc).splitlines() if "error" in line.lower()), str(exc)[:120])
        raise UnsafeModel(path, f"weights-only load refused the content ({first.strip()[:160]})") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CorruptModel(path, f"cannot read the torch checkpoint ({first.split('. ')[0][:160]})") from None


# --------------------------------------------------------------------------------------------------------------
# Telling a rosinality generator from other .pt files
# --------------------------------------------------------------------------------------------------------------


def _is_rosinality_state(sd) -> bool:
    return isinstance(sd, Mapping) and "input.input" in sd and "style.1.weight" in sd and "conv1.conv.weight" in sd


def _describe_other(checkpoint) -> str:
    """A short guess at what a non-rosinality .pt holds, for the refusal message."""
    if not isinstance(checkpoint, Mapping):
        return f"the file holds a {type(checkpoint).__name__}, not a checkpoint dict"
    keys = set(map(str, checkpoint))
    if "GAN" in keys:
        return "a lucidrains stylegan2-pytorch checkpoint"
    if "state_dict" in keys and "opts" in keys:
        return "a pSp/e4e encoder checkpoint"
    if keys and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return f"a plain state dict with unfamiliar names (first: {sorted(keys)[0]})"
    return f"a checkpoint with keys {', '.join(sorted(keys)[:5])}"


def _pick_generator(path: Path, checkpoint) -> tuple[Mapping, list[str]]:
    """The generator state dict to render (g_ema, else g, else a bare generator state dict)."""
    notes: list[str] = []
    if isinstance(checkpoint, Mapping) and _is_rosinality_state(checkpoint.get("g_ema")):
        state = checkpoint["g_ema"]
    elif isinstance(checkpoint, Mapping) and _is_rosinality_state(checkpoint.get("g")):
        state = checkpoint["g"]
        notes.append("the checkpoint has no g_ema; rendering the raw training generator g")
    elif _is_rosinality_state(checkpoint):
        state = checkpoint
        notes.append("a bare rosinality generator state dict")
    else:
        raise UnsupportedArchitecture(path, f"{_describe_other(checkpoint)}; {SUPPORTED}")
    if any(".iwt." in k or ".dwt." in k for k in state) or (
        isinstance(checkpoint, Mapping) and getattr(checkpoint.get("args"), "arch", "stylegan2") == "swagan"
    ):
        raise UnsupportedArchitecture(path, f"a rosinality SWAGAN (wavelet) generator; {SUPPORTED}")
    return state, notes


# --------------------------------------------------------------------------------------------------------------
# Geometry: the config implied by the tensors
# --------------------------------------------------------------------------------------------------------------


def _index_count(path: Path, state: Mapping, pattern: str) -> int:
    """How many indices ``pattern`` (one ``(\\d+)`` group) has among the names; they must run 0.. or 1.. unbroken."""
    found = sorted({int(m.group(1)) for k in state if (m := re.fullmatch(pattern, k))})
    if found and found[-1] - found[0] + 1 != len(found):
        raise CorruptModel(path, f"generator layers are not numbered consecutively (indices {found[0]}..{found[-1]})")
    return len(found)


def _channel_layout(path: Path, channels: dict[int, int]) -> tuple[int, int]:
    """(channel_base, channel_max) with min(base // r, max) == channels[r] for every resolution r.

    rosinality fixes 512 channels up to 32x32 and scales the rest by channel_multiplier; multipliers 1 and 2
    (the ones in use) fit NVIDIA's rule exactly. Others cannot be expressed and are refused.
    """
    channel_max = max(channels.values())
    below = [r for r in sorted(channels) if channels[r] < channel_max]
    channel_base = channels[below[0]] * below[0] if below else max(32768, channel_max * max(channels))
    if all(min(channel_base // r, channel_max) == c for r, c in channels.items()):
        return channel_base, channel_max
    table = ", ".join(f"{r}:{c}" for r, c in sorted(channels.items()))
    raise UnsupportedArchitecture(path, f"channel widths {table} do not follow min(base/r, max); {SUPPORTED}")


def _infer_geometry(path: Path, state: Mapping) -> dict:
    """size, style_dim, n_mlp, channel widths (and the multiplier where it shows) from tensor shapes."""
    n_rgbs = _index_count(path, state, r"to_rgbs\.(\d+)\.conv\.weight")
    n_convs = _index_count(path, state, r"convs\.(\d+)\.conv\.weight")
    n_mlp = _index_count(path, state, r"style\.(\d+)\.weight")
    if n_convs != 2 * n_rgbs or n_mlp < 1:
        raise CorruptModel(path, f"inconsistent generator: {n_convs} convs, {n_rgbs} to_rgbs, {n_mlp} style layers")
    style_weight = state["style.1.weight"]
    style_dim = int(style_weight.shape[0])
    if style_weight.ndim != 2 or style_weight.shape[1] != style_dim:
        raise UnsupportedArchitecture(
            path, f"mapping input width {tuple(style_weight.shape)} differs from style_dim (a conditional model?); {SUPPORTED}"
        )
    size = 2 ** (n_rgbs + 2)
    channels = {4: int(state["input.input"].shape[1])}
    for k in range(n_rgbs):
        channels[2 ** (k + 3)] = int(state[f"convs.{2 * k}.conv.weight"].shape[1])
    img_channels = int(state["to_rgb1.conv.weight"].shape[1])
    if img_channels != 3:
        raise UnsupportedArchitecture(path, f"ToRGB has {img_channels} output channels (rosinality's is 3); {SUPPORTED}")
    multiplier = channels[64] // 256 if 64 in channels else None
    return {"size": size, "style_dim": style_dim, "n_mlp": n_mlp, "channels": channels, "channel_multiplier": multiplier}


def _check_args(path: Path, args, geometry: dict) -> None:
    """train.py's recorded args must describe the weights found; disagreement means a broken file."""
    if args is None:
        return
    claims = {
        "size": geometry["size"],
        "n_mlp": geometry["n_mlp"],
        "latent": geometry["style_dim"],
        "channel_multiplier": geometry["channel_multiplier"],
    }
    for name, found in claims.items():
        said = getattr(args, name, None)
        if said is None or found is None:
            continue
        if said != found:
            raise CorruptModel(path, f"its args say {name}={said!r} but the weights are for {name}={found!r}")


def _config(path: Path, geometry: dict) -> dict:
    channel_base, channel_max = _channel_layout(path, geometry["channels"])
    dim = geometry["style_dim"]
    return {
        "arch": "stylegan2",
        "z_dim": dim,
        "c_dim": 0,
        "w_dim": dim,
        "img_resolution": geometry["size"],
        "img_channels": 3,
        "mapping_kwargs": {"num_layers": geometry["n_mlp"], "lr_multiplier": LR_MLP},
        "synthesis_kwargs": {
            "channel_base": channel_base,
            "channel_max": channel_max,
            "num_fp16_res": 0,
            "conv_clamp": None,
            "architecture": "skip",
        },
    }


# --------------------------------------------------------------------------------------------------------------
# Names: one table used in both directions
# --------------------------------------------------------------------------------------------------------------


def _name_pairs(size: int, n_mlp: int) -> list[tuple[str, str]]:
    """(rosinality name, NVIDIA name) for every learned tensor and noise buffer of a generator."""
    pairs = []
    for i in range(n_mlp):
        pairs += [(f"style.{i + 1}.weight", f"mapping.fc{i}.weight"), (f"style.{i + 1}.bias", f"mapping.fc{i}.bias")]
    pairs.append(("input.input", "synthesis.b4.const"))
    pairs += [(f"conv1.{a}", f"synthesis.b4.conv1.{b}") for a, b in _CONV_PARTS]
    pairs.append(("noises.noise_0", "synthesis.b4.conv1.noise_const"))
    pairs += [(f"to_rgb1.{a}", f"synthesis.b4.torgb.{b}") for a, b in _TORGB_PARTS]
    for k in range(int(math.log2(size)) - 2):
        block = f"synthesis.b{2 ** (k + 3)}"
        for j, layer in ((2 * k, "conv0"), (2 * k + 1, "conv1")):
            pairs += [(f"convs.{j}.{a}", f"{block}.{layer}.{b}") for a, b in _CONV_PARTS]
            pairs.append((f"noises.noise_{j + 1}", f"{block}.{layer}.noise_const"))
        pairs += [(f"to_rgbs.{k}.{a}", f"{block}.torgb.{b}") for a, b in _TORGB_PARTS]
    return pairs


def _filter_names(size: int) -> list[str]:
    """Our resample_filter buffers (rosinality keeps only the ones it uses, as blur/upsample kernels)."""
    names = ["synthesis.b4.resample_filter", "synthesis.b4.conv1.resample_filter"]
    for k in range(int(math.log2(size)) - 2):
        block = f"synthesis.b{2 ** (k + 3)}"
        names += [f"{block}.resample_filter", f"{block}.conv0.resample_filter", f"{block}.conv1.resample_filter"]
    return names


def _to_nvidia_shape(nv_name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Drop rosinality's extra leading axes ([1,O,I,k,k] weights, [1,C,4,4] const, [1] noise weight, ...)."""
    t = tensor.detach().to("cpu", torch.float32)
    if nv_name.endswith("noise_strength"):
        return t.reshape([])
    if nv_name.endswith("noise_const"):
        return t.reshape(t.shape[-2:])
    if nv_name.endswith(".const") or (nv_name.endswith(".weight") and t.ndim == 5):
        return t[0]
    if nv_name.endswith(".bias"):  # ToRGB's is [1, 3, 1, 1]; some copies of FusedLeakyReLU keep [1, C, 1, 1] too
        return t.reshape(-1)
    return t


def _to_rosinality_shape(ros_name: str, tensor: torch.Tensor) -> torch.Tensor:
    """The inverse of _to_nvidia_shape."""
    t = tensor.detach().to("cpu", torch.float32).contiguous()
    if ros_name.endswith("noise.weight"):
        return t.reshape([1])
    if ros_name.startswith("noises."):
        return t.reshape([1, 1, *t.shape[-2:]])
    if ros_name == "input.input" or ros_name.endswith("conv.weight"):
        return t.unsqueeze(0)
    if re.fullmatch(r"to_rgbs?\d*\.(\d+\.)?bias", ros_name):
        return t.reshape(1, -1, 1, 1)
    return t


def _filter_from_state(state: Mapping) -> torch.Tensor:
    """NVIDIA's unit-sum resample_filter from rosinality's kernels (stored x4)."""
    for name in ("convs.0.conv.blur.kernel", "to_rgbs.0.upsample.kernel"):
        if name in state:
            return state[name].detach().to("cpu", torch.float32) / 4
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = f[:, None] * f[None, :]
    return f / f.sum()


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------


def _convert_state(path: Path, state: Mapping, size: int, n_mlp: int, expected: dict) -> dict[str, torch.Tensor]:
    """rosinality names -> ours, refusing leftovers (a different network with some familiar names).

    Each tensor must hold as many values as its NVIDIA counterpart before it is reshaped (a stride-0 view
    of one value could otherwise claim, and on reshaping allocate, gigabytes).
    """
    pairs = _name_pairs(size, n_mlp)
    missing = [ros for ros, _ in pairs if ros not in state]
    if missing:
        raise CorruptModel(path, f"generator tensor {missing[0]} is missing ({len(missing)} in all)")
    known = {ros for ros, _ in pairs}
    kernels = [k for k in state if re.fullmatch(r"(convs\.\d+\.conv\.blur|to_rgbs\.\d+\.upsample)\.kernel", k)]
    for name in kernels:
        check_tensor(path, name, state[name])
        if state[name].ndim != 2 or state[name].numel() > MAX_KERNEL_TAPS:
            raise CorruptModel(path, f"{name} has shape {tuple(state[name].shape)}, not a small 2-D kernel")
    known.update(kernels)
    unknown = sorted(set(state) - known)
    if unknown:
        raise UnsupportedArchitecture(path, f"unexpected tensor {unknown[0]} for a rosinality StyleGAN2 generator; {SUPPORTED}")
    for ros, nv in pairs:
        check_tensor(path, ros, state[ros])
        if state[ros].numel() != expected[nv].numel():
            raise UnsupportedArchitecture(path, f"tensor {ros} has shape {tuple(state[ros].shape)}, which does not fit "
                                                f"{nv} {tuple(expected[nv])}")
    tensors = {nv: _to_nvidia_shape(nv, state[ros]) for ros, nv in pairs}
    filt = _filter_from_state(state)
    for name in _filter_names(size):
        tensors[name] = filt.clone()
    return tensors


def _mapping_network(path: Path, data: ModelData) -> torch.nn.Module:
    """Our StyleGAN2 mapping network holding the file's tensors (the synthesis network is not needed here).

    Built on its own because a whole generator at 1024x1024 costs seconds of random initialisation.
    """
    from explorer.models.stylegan2 import MappingNetwork

    config = data.config
    mapping = MappingNetwork(z_dim=config["z_dim"], c_dim=config["c_dim"], w_dim=config["w_dim"], num_ws=None,
                             **config["mapping_kwargs"])
    mapping.load_state_dict({k[len("mapping."):]: v for k, v in data.tensors.items() if k.startswith("mapping.")})
    return mapping.eval().requires_grad_(False)


def _mean_w(path: Path, data: ModelData) -> torch.Tensor:
    """Average W over 10,000 fixed z, with our own generator's mapping: the stand-in for latent_avg."""
    mapping = _mapping_network(path, data)
    z = torch.from_numpy(np.random.RandomState(W_AVG_SEED).randn(W_AVG_SAMPLES, data.config["z_dim"])).float()
    total = torch.zeros(data.config["w_dim"], dtype=torch.float64)
    with torch.no_grad():
        for chunk in z.split(2000):
            total += mapping(chunk, torch.zeros([len(chunk), 0])).double().sum(dim=0)
    return (total / W_AVG_SAMPLES).float()


def read(path: str | Path) -> ModelData:
    """Open a rosinality checkpoint as ModelData (NVIDIA names), never running anything in the file."""
    path = Path(path)
    checkpoint = _load(path)
    state, notes = _pick_generator(path, checkpoint)
    geometry = _infer_geometry(path, state)
    args = checkpoint.get("args") if isinstance(checkpoint, Mapping) else None
    _check_args(path, args, geometry)
    config = _config(path, geometry)
    expected = expected_shapes(path, config)  # bounds and parameter budget before any tensor is converted
    tensors = _convert_state(path, state, geometry["size"], geometry["n_mlp"], expected)
    latent_avg = checkpoint.get("latent_avg") if isinstance(checkpoint, Mapping) else None
    data = ModelData(config=config, tensors=tensors, source_format="rosinality", notes=notes)
    if isinstance(latent_avg, torch.Tensor):
        if latent_avg.numel() != geometry["style_dim"]:
            raise CorruptModel(path, f"latent_avg has {latent_avg.numel()} values, style_dim is {geometry['style_dim']}")
        tensors["mapping.w_avg"] = latent_avg.detach().to("cpu", torch.float32).reshape(-1)
    else:
        tensors["mapping.w_avg"] = torch.zeros(geometry["style_dim"])
        tensors["mapping.w_avg"] = _mean_w(path, data)
        notes.append(W_AVG_NOTE)
    return data


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------


def _source_of(model_data_or_model) -> tuple[dict, dict[str, torch.Tensor]]:
    if isinstance(model_data_or_model, ModelData):
        return model_data_or_model.config, model_data_or_model.tensors
    if isinstance(model_data_or_model, Model):
        return model_data_or_model.config, model_data_or_model.generator.state_dict()
    raise TypeError("rosinality.write takes a ModelData or a Model")


def _check_writable(path: Path, config: dict) -> tuple[int, int]:
    """Refuse what rosinality's Generator cannot express; returns (size, n_mlp)."""
    synth, mapping = config.get("synthesis_kwargs", {}), config.get("mapping_kwargs", {})
    problems = []
    if config.get("arch") != "stylegan2":
        problems.append(f"architecture {config.get('arch')!r} (rosinality has StyleGAN2 only)")
    if config.get("c_dim", 0):
        problems.append("a conditional model")
    if config.get("img_channels", 3) != 3:
        problems.append(f"{config.get('img_channels')} image channels")
    if synth.get("architecture", "skip") != "skip":
        problems.append(f"the '{synth.get('architecture')}' synthesis architecture")
    if config.get("z_dim") != config.get("w_dim"):
        problems.append("z_dim != w_dim")
    if mapping.get("layer_features") not in (None, config.get("w_dim")):
        problems.append("mapping layers narrower or wider than w_dim")
    if synth.get("activation", "lrelu") != "lrelu" or mapping.get("activation", "lrelu") != "lrelu":
        problems.append("a non-lrelu activation")
    if problems:
        raise UnsupportedArchitecture(path, f"cannot write rosinality format: {problems[0]}")
    size = int(config["img_resolution"])
    if size > 1024:
        raise UnsupportedArchitecture(path, f"cannot write rosinality format: {size}x{size} (its Generator stops at 1024)")
    channels = {r: min(synth.get("channel_base", 32768) // r, synth.get("channel_max", 512)) for r in _resolutions(size)}
    multiplier = channels[64] // 256 if 64 in channels else 2
    expected = {r: 512 if r <= 32 else int(2 ** (14 - math.log2(r)) * multiplier) for r in channels}
    if channels != expected:
        raise UnsupportedArchitecture(path, "cannot write rosinality format: channel widths do not match a channel_multiplier")
    n_mlp = int(mapping.get("num_layers", 8))
    return size, n_mlp


def _resolutions(size: int) -> list[int]:
    return [2**k for k in range(2, int(math.log2(size)) + 1)]


def write(path: str | Path, model_data_or_model, overwrite: bool = True) -> None:
    """Write a rosinality ``.pt`` (``g_ema`` in rosinality naming + ``latent_avg``) atomically.

    The inverse of ``read``. rosinality's code assumes lr_mlp = 0.01, so a mapping trained with another
    lr_multiplier is rescaled to give the same effective weights. Without noise (use_noise False) the
    noise strengths are written as 0. A conv_clamp has no rosinality counterpart and is dropped.
    """
    path = Path(path)
    config, tensors = _source_of(model_data_or_model)
    size, n_mlp = _check_writable(path, config)
    lr = float(config.get("mapping_kwargs", {}).get("lr_multiplier", LR_MLP))
    use_noise = config.get("synthesis_kwargs", {}).get("use_noise", True)
    out: dict[str, torch.Tensor] = {}
    for ros, nv in _name_pairs(size, n_mlp):
        if nv in tensors:
            value = tensors[nv].detach().to("cpu", torch.float32)
        elif not use_noise and ("noise_const" in nv or "noise_strength" in nv):
            value = torch.zeros([]) if "noise_strength" in nv else torch.zeros(_noise_shape(nv))
        else:
            raise UnsupportedArchitecture(path, f"cannot write rosinality format: tensor {nv} is missing")
        if nv.startswith("mapping.fc"):
            value = value * (lr / LR_MLP)  # W*lr/sqrt(in) and b*lr stay the same under lr_mlp 0.01
        out[ros] = _to_rosinality_shape(ros, value)
    kernel = tensors.get("synthesis.b4.resample_filter", _filter_from_state({})).detach().to("cpu", torch.float32) * 4
    for k in range(len(_resolutions(size)) - 1):
        out[f"convs.{2 * k}.conv.blur.kernel"] = kernel.clone()
        out[f"to_rgbs.{k}.upsample.kernel"] = kernel.clone()
    checkpoint = {"g_ema": out}
    if "mapping.w_avg" in tensors:  # absent only for models built without w_avg tracking
        checkpoint["latent_avg"] = tensors["mapping.w_avg"].detach().to("cpu", torch.float32).reshape(-1).clone()
    with atomic_write(path, overwrite=overwrite) as handle:
        torch.save(checkpoint, handle)


def _noise_shape(nv_name: str) -> list[int]:
    res = int(re.match(r"synthesis\.b(\d+)\.", nv_name).group(1))
    return [res, res]
