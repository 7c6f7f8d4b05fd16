"""NVIDIA's PyTorch network pickles (stylegan2-ada-pytorch and stylegan3), read without running them.

A snapshot written by NVIDIA's training code is a plain ``pickle.dump`` of a dict (``G``, ``D``, ``G_ema``,
``augment_pipe``, ``training_set_kwargs``). Each network in it is a "persistent" object: unpickling it the
NVIDIA way calls ``torch_utils.persistence._reconstruct_persistent_obj(meta)``, which ``exec``s the module
source embedded in ``meta``. Loading such a file with ``pickle.load`` therefore runs whatever code the file
carries. We never do that.

Instead, ``safe_load`` reads the file with ``NvidiaUnpickler``, the generic restricted unpickler of
``explorer.formats.safe_pickle`` (allow-listed inert constructors only, bounded resources) plus:

- a persistent object becomes a ``PersistentNode`` (class name, the module source kept as text only, and the
  object's ``__dict__`` as data). Class names outside the known NVIDIA network classes are refused: the only
  way to give meaning to such an object would be to run its code;
- ``dnnlib.util.EasyDict`` and ``dnnlib.tflib.network.Network`` become plain dict stand-ins.

``read(path)`` then walks the generator's node tree into NVIDIA-named tensors and a config dict (see
``explorer.models``). TensorFlow-era pickles (a 3-tuple of ``dnnlib.tflib.network.Network``) are handed to
``explorer.formats.tf_pickle.read_tf_networks``, which reuses ``safe_load``.
"""

from __future__ import annotations

import math
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.errors import NotAModel, UnsafeModel, UnsupportedArchitecture
from explorer.formats import ModelData, safe_pickle
from explorer.formats.safe_pickle import SafeUnpickler

SOURCE_FORMAT = "nvidia-pickle"

# Every class NVIDIA's stylegan2-ada-pytorch / stylegan3 code pickles with its persistence mechanism
# (training/networks.py, networks_stylegan2.py, networks_stylegan3.py, augment.py). Anything else is code
# we do not know how to read as data.
KNOWN_PERSISTENT_CLASSES = frozenset(
    {
        "FullyConnectedLayer",
        "Conv2dLayer",
        "MappingNetwork",
        "SynthesisInput",
        "SynthesisLayer",
        "ToRGBLayer",
        "SynthesisBlock",
        "SynthesisNetwork",
        "Generator",
        "DiscriminatorBlock",
        "MinibatchStdLayer",
        "DiscriminatorEpilogue",
        "Discriminator",
        "AugmentPipe",
    }
)

# Class names allowed inside a generator, per architecture (forks reuse the top names with other parts).
_GENERATOR_CLASSES = {
    "stylegan2": frozenset(
        {"Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisBlock", "SynthesisLayer", "ToRGBLayer",
         "FullyConnectedLayer", "Conv2dLayer"}
    ),
    "stylegan3": frozenset(
        {"Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisInput", "SynthesisLayer",
         "FullyConnectedLayer"}
    ),
}

# Init kwargs NVIDIA's generators accept (synthesis kwargs flattened in sg3, nested in ada).
_DIM_KEYS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")
_MAPPING_KEYS = {
    "stylegan2": frozenset({"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier",
                            "w_avg_beta"}),
    "stylegan3": frozenset({"num_layers", "lr_multiplier", "w_avg_beta"}),
}
_SYNTHESIS_KEYS = {
    "stylegan2": frozenset({"channel_base", "channel_max", "num_fp16_res", "architecture", "resample_filter",
                            "conv_clamp", "fp16_channels_last", "fused_modconv_default", "kernel_size",
                            "use_noise", "activation"}),
    "stylegan3": frozenset({"channel_base", "channel_max", "num_layers", "num_critical", "first_cutoff",
                            "first_stopband", "last_stopband_rel", "margin_size", "output_scale", "num_fp16_res",
                            "conv_kernel", "filter_size", "lrelu_upsampling", "use_radial_filters", "conv_clamp",
                            "magnitude_ema_beta"}),
}

_SG3_LAYER = re.compile(r"^synthesis\.L\d+_\d+_\d+\.")


# --------------------------------------------------------------------------------------------------------
# Plain stand-ins for the classes a pickle names


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict``: a dict with attribute reads, so dnnlib is never imported."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class TFNetworkStub(dict):
    """Stand-in for ``dnnlib.tflib.network.Network`` (TF-era pickles): collects its ``__setstate__`` dict.

    The fields (version, name, static_kwargs, components, variables, build_module_src, ...) are plain data;
    ``explorer.formats.tf_pickle`` interprets them. The TF build source is never run.
    """

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("TF network state is not a dict")
        self.update(state)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class PersistentNode:
    """One NVIDIA persistent object, as data: what ``_reconstruct_persistent_obj`` would have rebuilt.

    ``module_src`` is the embedded Python source, kept only as text (to fingerprint or show); it is never
    executed. ``state`` is the object's ``__dict__`` (for modules: ``_parameters``, ``_buffers``,
    ``_modules``, ``_init_kwargs`` and plain attributes).
    """

    class_name: str
    module_src: str
    state: dict
    version: int


# --------------------------------------------------------------------------------------------------------
# The restricted unpickler, with NVIDIA's persistence and dnnlib's classes as data


class NvidiaUnpickler(SafeUnpickler):
    """``SafeUnpickler`` plus the few names NVIDIA's pickles use: persistence, EasyDict, TF Network."""

    def _base_globals(self) -> dict[str, Any]:
        return {
            **super()._base_globals(),
            "torch_utils.persistence._reconstruct_persistent_obj": self._reconstruct_persistent_obj,
            "dnnlib.util.EasyDict": EasyDict,
            "dnnlib.tflib.network.Network": TFNetworkStub,
        }

    def _reconstruct_persistent_obj(self, meta: Any) -> PersistentNode:
        """Our ``_reconstruct_persistent_obj``: record the object as data; the source is never executed."""
        if not isinstance(meta, dict) or meta.get("type") != "class":
            raise pickle.UnpicklingError("persistent object with malformed metadata")
        class_name, module_src, state = meta.get("class_name"), meta.get("module_src"), meta.get("state")
        if not isinstance(class_name, str) or not isinstance(module_src, str) or not isinstance(state, dict):
            raise pickle.UnpicklingError("persistent object with malformed metadata")
        if class_name not in KNOWN_PERSISTENT_CLASSES:
            raise UnsafeModel(
                self.path,
                f"refused embedded class '{class_name[:60]}': not a known StyleGAN network class "
                "(reading it would mean running the code it carries)",
            )
        version = meta.get("version")
        if version != 6:
            raise UnsupportedArchitecture(self.path, f"NVIDIA persistence version {str(version)[:20]!r} (only 6 is known)")
        return PersistentNode(class_name=class_name, module_src=module_src, state=state, version=version)

    def build_state(self, inst: Any, state: Any) -> bool:
        if type(inst) is TFNetworkStub:
            inst.__setstate__(state)
            return True
        if type(inst) is EasyDict and state in (None, {}):
            return True  # an empty instance __dict__, as older Pythons write it
        return super().build_state(inst, state)


# --------------------------------------------------------------------------------------------------------
# Loading


def safe_load(path: str | Path) -> Any:
    """Unpickle an NVIDIA pickle as data (see ``safe_pickle.safe_load``): a dict of ``PersistentNode``s for
    PyTorch snapshots, a tuple of ``TFNetworkStub``s for TF-era pickles."""
    return safe_pickle.safe_load(path, NvidiaUnpickler)


def read(path: str | Path) -> ModelData:
    """Read an NVIDIA network pickle (or hand a TF-era one to ``tf_pickle``) into ModelData."""
    path = Path(path)
    obj = safe_load(path)
    if isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(x, TFNetworkStub) for x in obj):
        from explorer.formats import tf_pickle  # written separately; imported only when needed

        return tf_pickle.read_tf_networks(path, obj)
    generator = _pick_generator(obj, path)
    return read_generator_node(generator, path)


def _pick_generator(obj: Any, path: Path) -> PersistentNode:
    """The render network of a snapshot dict: ``G_ema`` (the moving average), else ``G``."""
    if not isinstance(obj, dict):
        raise NotAModel(path, f"the pickle holds a {type(obj).__name__}, not a network snapshot dict")
    for key in ("G_ema", "G"):
        node = obj.get(key)
        if node is not None:
            if not isinstance(node, PersistentNode):
                raise NotAModel(path, f"'{key}' in the pickle is a {type(node).__name__}, not a network")
            return node
    raise NotAModel(path, "the pickle holds a dict without 'G_ema' or 'G'")


def read_generator_node(generator: PersistentNode, path: Path) -> ModelData:
    """Turn a generator node into ModelData: tensors by NVIDIA name, config, notes."""
    if generator.class_name != "Generator":
        raise UnsupportedArchitecture(path, f"the generator is a '{generator.class_name}', not a Generator")
    tensors: dict[str, torch.Tensor] = {}
    classes: dict[str, str] = {}
    _collect(generator, "", tensors, classes, path)
    arch = _identify_arch(tensors, path)
    strange = sorted({c for c in classes.values() if c not in _GENERATOR_CLASSES[arch]})
    if strange:
        raise UnsupportedArchitecture(path, f"{arch} generator contains unknown part '{strange[0]}' (a fork?)")
    config = _config_from_kwargs(generator, arch, path)
    _complete_from_attributes(config, generator, arch, path)
    _check_dims(config, generator, arch, path)
    notes = _notes(config, generator, arch)
    return ModelData(config=config, tensors=tensors, source_format=SOURCE_FORMAT, notes=notes)


def _collect(node: PersistentNode, prefix: str, tensors: dict, classes: dict, path: Path) -> None:
    """Walk ``_modules`` recursively, collecting ``_parameters`` and persistent ``_buffers`` (None skipped)."""
    state = node.state
    classes[prefix.rstrip(".") or "<root>"] = node.class_name
    skip = state.get("_non_persistent_buffers_set") or set()
    for group in ("_parameters", "_buffers"):
        entries = state.get(group) or {}
        if not isinstance(entries, dict):
            raise UnsupportedArchitecture(path, f"module {prefix or 'G'} has a malformed {group}")
        for name, tensor in entries.items():
            if tensor is None or (group == "_buffers" and name in skip):
                continue
            if not isinstance(tensor, torch.Tensor):
                raise UnsupportedArchitecture(path, f"{prefix}{name} is a {type(tensor).__name__}, not a tensor")
            tensors[prefix + str(name)] = tensor
    children = state.get("_modules") or {}
    if not isinstance(children, dict):
        raise UnsupportedArchitecture(path, f"module {prefix or 'G'} has malformed submodules")
    for name, child in children.items():
        if child is None:
            continue
        if not isinstance(child, PersistentNode):
            raise UnsupportedArchitecture(path, f"submodule {prefix}{name} is a {type(child).__name__}")
        _collect(child, f"{prefix}{name}.", tensors, classes, path)


def _identify_arch(tensors: dict, path: Path) -> str:
    """StyleGAN2 has ``synthesis.b4.const``; StyleGAN3 has ``synthesis.input.freqs`` and ``synthesis.L*``."""
    sg2 = "synthesis.b4.const" in tensors
    sg3 = "synthesis.input.freqs" in tensors and any(_SG3_LAYER.match(name) for name in tensors)
    if sg2 and not sg3:
        return "stylegan2"
    if sg3 and not sg2:
        return "stylegan3"
    raise UnsupportedArchitecture(path, "the generator's tensors match neither StyleGAN2 nor StyleGAN3 (a fork?)")


def _plain(value: Any, path: Path, where: str) -> Any:
    """A JSON-serialisable copy: EasyDicts -> dicts, numpy scalars/arrays -> Python numbers/lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v, path, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, path, where) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise UnsupportedArchitecture(path, f"generator option {where} is a {type(value).__name__}")


def _config_from_kwargs(generator: PersistentNode, arch: str, path: Path) -> dict:
    """The nested config from ``_init_kwargs`` (sg3: synthesis kwargs flattened; ada: nested)."""
    state = generator.state
    kwargs = dict(state.get("_init_kwargs") or {})
    args = state.get("_init_args") or ()
    if not isinstance(args, (tuple, list)) or len(args) > len(_DIM_KEYS):
        raise UnsupportedArchitecture(path, "the generator was built with unexpected positional arguments")
    kwargs.update(zip(_DIM_KEYS, args))
    kwargs.pop("class_name", None)
    mapping = _plain(kwargs.pop("mapping_kwargs", None) or {}, path, "mapping_kwargs")
    synthesis = _plain(kwargs.pop("synthesis_kwargs", None) or {}, path, "synthesis_kwargs")
    dims = {key: _plain(kwargs.pop(key, state.get(key)), path, key) for key in _DIM_KEYS}
    synthesis.update(_plain(kwargs, path, "init_kwargs"))  # whatever is left is a flattened synthesis kwarg
    for options, known, kind in ((mapping, _MAPPING_KEYS[arch], "mapping"),
                                 (synthesis, _SYNTHESIS_KEYS[arch], "synthesis")):
        unknown = sorted(set(options) - known)
        if unknown:
            raise UnsupportedArchitecture(path, f"unknown {arch} {kind} option '{unknown[0]}' (a fork?)")
    for key, value in dims.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise UnsupportedArchitecture(path, f"generator {key} is {value!r}")
    return {"arch": arch, **dims, "mapping_kwargs": mapping, "synthesis_kwargs": synthesis}


def _child(node: PersistentNode, *names: str) -> PersistentNode | None:
    for name in names:
        modules = node.state.get("_modules") or {}
        node = modules.get(name)
        if not isinstance(node, PersistentNode):
            return None
    return node


def _complete_from_attributes(config: dict, generator: PersistentNode, arch: str, path: Path) -> None:
    """Make render-relevant options explicit from the layers' own attributes.

    ada and sg3 differ in defaults (conv_clamp None vs 256, num_fp16_res 0 vs 4); the stored layers know
    what they were built with, so a kwargs dict that omits a value cannot make us guess wrong.
    """
    synthesis = config["synthesis_kwargs"]
    if arch == "stylegan2":
        first = _child(generator, "synthesis", "b4", "conv1")
    else:
        layers = _sg3_layers(generator)
        first = layers[0][1] if layers else None
    if "conv_clamp" not in synthesis and first is not None and "conv_clamp" in first.state:
        synthesis["conv_clamp"] = _plain(first.state["conv_clamp"], path, "conv_clamp")
    if "num_fp16_res" not in synthesis:
        synthesis["num_fp16_res"] = len(_fp16_resolutions(generator, arch))


def _sg3_layers(generator: PersistentNode) -> list[tuple[str, PersistentNode]]:
    synthesis = _child(generator, "synthesis")
    if synthesis is None:
        return []
    modules = synthesis.state.get("_modules") or {}
    return [(n, m) for n, m in modules.items() if isinstance(m, PersistentNode) and re.match(r"L\d+_", n)]


def _fp16_resolutions(generator: PersistentNode, arch: str) -> list[int]:
    """The output resolutions (SG2 blocks) or sampling rates (SG3 layers) built as fp16."""
    found: set[int] = set()
    synthesis = _child(generator, "synthesis")
    if synthesis is None:
        return []
    for name, module in (synthesis.state.get("_modules") or {}).items():
        if not isinstance(module, PersistentNode) or not module.state.get("use_fp16"):
            continue
        if arch == "stylegan2" and str(name).startswith("b"):
            found.add(int(str(name)[1:]) if str(name)[1:].isdigit() else -1)
        elif arch == "stylegan3":
            rate = module.state.get("out_sampling_rate")
            found.add(int(rate) if isinstance(rate, (int, float, np.number)) else -1)
    return sorted(found)


def _check_dims(config: dict, generator: PersistentNode, arch: str, path: Path) -> None:
    """Cross-check the kwargs against the generator's stored attributes and the num_ws rule."""
    state = generator.state
    for key in _DIM_KEYS:
        stored = state.get(key)
        if stored is not None and _plain(stored, path, key) != config[key]:
            raise UnsupportedArchitecture(path, f"generator {key} {stored} disagrees with its init kwargs")
    resolution = config["img_resolution"]
    if arch == "stylegan2":
        if resolution < 4 or resolution & (resolution - 1):
            raise UnsupportedArchitecture(path, f"StyleGAN2 resolution {resolution} is not a power of two")
        expected = 2 * int(math.log2(resolution)) - 2
    else:
        expected = int(config["synthesis_kwargs"].get("num_layers", 14)) + 2
    stored = state.get("num_ws")
    if stored is not None and int(stored) != expected:
        raise UnsupportedArchitecture(
            path, f"generator has {stored} style vectors; {arch} at {resolution} px has {expected}"
        )


def _notes(config: dict, generator: PersistentNode, arch: str) -> list[str]:
    """Facts for ``explorer info``: which NVIDIA code wrote it, precision on CPU, SG3 config."""
    notes = []
    nested = "synthesis_kwargs" in (generator.state.get("_init_kwargs") or {})
    writer = "stylegan2-ada-pytorch" if nested else "stylegan3"
    notes.append(f"written by NVIDIA's {writer} code (embedded source not run)")
    if arch == "stylegan3":
        synthesis = config["synthesis_kwargs"]
        radial = synthesis.get("conv_kernel") == 1 or synthesis.get("use_radial_filters")
        notes.append("StyleGAN3-R (rotation equivariant)" if radial else "StyleGAN3-T (translation equivariant)")
    if arch == "stylegan2":
        fp16 = _fp16_resolutions(generator, arch)
        if fp16:
            notes.append(f"fp16 layers at the {len(fp16)} highest resolutions run in fp32 on CPU")
    else:
        layers = _sg3_layers(generator)
        fp16_layers = sum(1 for _, layer in layers if layer.state.get("use_fp16"))
        if fp16_layers:
            notes.append(f"fp16 in {fp16_layers} of {len(layers)} synthesis layers; they run in fp32 on CPU")
    if config["c_dim"]:
        notes.append(f"class-conditional: {config['c_dim']} classes")
    return notes
