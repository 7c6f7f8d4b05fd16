"""NVIDIA's TensorFlow-era StyleGAN2 / StyleGAN2-ADA network pickles, read without TensorFlow.

Such a pickle is a 3-tuple ``(G, D, Gs)`` of ``dnnlib.tflib.network.Network`` objects. The restricted
unpickler in ``explorer.formats.nvidia_pickle`` turns each into a stub holding the object's pickled state
(``version``, ``name``, ``static_kwargs``, ``components``, ``variables`` as ``(name, ndarray)`` pairs and a
build-source string that is never looked at) and hands the tuple to ``read_tf_networks``. Only ``Gs``
(the moving-average generator, the one meant for rendering) is converted: its keyword arguments become our
StyleGAN2 config and its variables are renamed and re-laid-out to our (NVIDIA PyTorch) tensor names.

The renaming follows the facts in stylegan-reference.md section 3.5. The points that are easy to get wrong:

- TF dense weights are [in, out] and conv weights HWIO; ours are [out, in] and OIHW.
- TF's up-sampling convolution (``Conv0_up``, resnet ``Skip``) used a transposed-convolution convention, so
  those kernels are flipped spatially on the way in.
- TF added 1 to the style (``mod_bias``) at run time; our affine layers store the 1 in their bias.
- Noise maps live in the synthesis network as ``noise{n}``, numbered by layer, not inside each layer.
- 'orig' networks: NVIDIA's own converter looks for ``ToRGB_lod*`` names through a kwargs path that does
  not exist, so it fails on them. Here a ``ToRGB`` found either under ``{R}x{R}/`` or as ``ToRGB_lod0``
  (lod n = resolution R / 2**n) becomes ``b{R}.torgb``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from explorer.errors import CorruptModel, UnsupportedArchitecture
from explorer.formats import ModelData
from explorer.formats.validate import expected_shapes

SUPPORTED = "supported: StyleGAN2 and StyleGAN2-ADA TensorFlow generators (configs E/F; 'skip', 'resnet', 'orig')"

# TF static kwarg -> (where it goes in our config, default, value used when the file says None).
# ``None`` as the target section means the top level of the config.
_KWARG_TABLE: dict[str, tuple[str | None, str, object, object]] = {
    "latent_size": (None, "z_dim", 512, None),
    "label_size": (None, "c_dim", 0, None),
    "dlatent_size": (None, "w_dim", 512, None),
    "resolution": (None, "img_resolution", 1024, None),
    "num_channels": (None, "img_channels", 3, None),
    "fmap_base": ("synthesis_kwargs", "channel_base", 16384, None),  # doubled below
    "fmap_max": ("synthesis_kwargs", "channel_max", 512, None),
    "num_fp16_res": ("synthesis_kwargs", "num_fp16_res", 0, None),
    "conv_clamp": ("synthesis_kwargs", "conv_clamp", None, None),
    "architecture": ("synthesis_kwargs", "architecture", "skip", None),
    "resample_kernel": ("synthesis_kwargs", "resample_filter", [1, 3, 3, 1], None),
    "use_noise": ("synthesis_kwargs", "use_noise", True, None),
    "nonlinearity": ("synthesis_kwargs", "activation", "lrelu", None),
    "mapping_layers": ("mapping_kwargs", "num_layers", 8, None),
    "label_fmaps": ("mapping_kwargs", "embed_features", None, None),
    "mapping_fmaps": ("mapping_kwargs", "layer_features", None, None),
    "mapping_nonlinearity": ("mapping_kwargs", "activation", "lrelu", None),
    "mapping_lrmul": ("mapping_kwargs", "lr_multiplier", 0.01, None),
    "w_avg_beta": ("mapping_kwargs", "w_avg_beta", 0.995, 1),
}

# Settings that only steered TF's training graph or run-time defaults; they do not change the weights' meaning.
_IGNORED_KWARGS = frozenset(
    {"truncation_psi", "truncation_cutoff", "style_mixing_prob", "structure", "conditioning", "fused_modconv"}
)

_ARCHITECTURES = ("skip", "resnet", "orig")


# --------------------------------------------------------------------------------------------------------------
# Access to the unpickled Network stubs
# --------------------------------------------------------------------------------------------------------------


def _field(net, key: str, default=None):
    """A field of a Network stub, whatever container the unpickler used (dict, EasyDict or attributes).

    Kept tolerant on purpose: the stub class belongs to the restricted unpickler, and the only contract is
    that it carries the pickled state's fields.
    """
    if isinstance(net, Mapping):
        return net.get(key, default)
    state = getattr(net, "state", None)
    if isinstance(state, Mapping) and key in state:
        return state[key]
    return getattr(net, key, default)


def _is_network(net) -> bool:
    return _field(net, "variables") is not None or _field(net, "components") is not None


def _collect_variables(path: Path, net, prefix: str = "") -> dict[str, np.ndarray]:
    """All variables of ``net`` and its components, named ``component/.../name`` as TF scoped them."""
    found: dict[str, np.ndarray] = {}
    for entry in _field(net, "variables") or []:
        try:
            name, value = entry
        except (TypeError, ValueError):
            raise CorruptModel(path, f"TensorFlow network {prefix or 'Gs'} has a malformed variable entry") from None
        if not isinstance(value, (np.ndarray, np.generic)):  # these hold their bytes; a tensor view could expand
            raise CorruptModel(path, f"TensorFlow variable {prefix}{str(name)[:80]} is a {type(value).__name__}, not an array")
        found[prefix + str(name)] = np.asarray(value)
    for comp_name, comp in dict(_field(net, "components") or {}).items():
        found.update(_collect_variables(path, comp, f"{prefix}{comp_name}/"))
    return found


# --------------------------------------------------------------------------------------------------------------
# What kind of TF network is this?
# --------------------------------------------------------------------------------------------------------------


def _refuse(path: Path, what: str) -> UnsupportedArchitecture:
    return UnsupportedArchitecture(path, f"{what}; {SUPPORTED}")


def _check_kind(path: Path, gs, variables: dict[str, np.ndarray]) -> None:
    """Refuse the TF networks this reader cannot reproduce, naming what they are.

    StyleGAN1 (``G_style`` / ``G_synthesis``) and StyleGAN2 configs A-D (``G_synthesis_stylegan_revised``)
    grow progressively: their synthesis network owns a ``lod`` variable and per-level ``ToRGB_lod*`` layers,
    and StyleGAN1 has AdaIN ``StyleMod`` layers instead of modulated convolutions. None of that maps onto
    our StyleGAN2 generator.
    """
    components = dict(_field(gs, "components") or {})
    func = str(_field(gs, "build_func_name") or "").rsplit(".", 1)[-1]
    synth_func = str(_field(components.get("synthesis", {}), "build_func_name") or "").rsplit(".", 1)[-1]
    stylegan1 = (
        func == "G_style"
        or synth_func == "G_synthesis"
        or any("/StyleMod/" in n or n.endswith("/Noise/weight") for n in variables)
    )
    if stylegan1:
        raise _refuse(path, "this is a StyleGAN1 network (G_style, AdaIN StyleMod layers)")
    if synth_func == "G_synthesis_stylegan_revised" or "synthesis/lod" in variables:
        raise _refuse(path, "this is a progressive-growing StyleGAN2 network (config A-D, 'lod' variables)")
    if "mapping" not in components or "synthesis" not in components:
        names = ", ".join(sorted(components)) or "none"
        raise _refuse(path, f"the generator has components {names}, not mapping + synthesis")
    if "mapping/LabelConcat/weight" in variables:
        raise _refuse(path, "this is a conditional network from the original StyleGAN2 code (LabelConcat)")


# --------------------------------------------------------------------------------------------------------------
# Hyperparameters
# --------------------------------------------------------------------------------------------------------------


def _config_from_kwargs(path: Path, static_kwargs: Mapping) -> dict:
    """Our StyleGAN2 config from TF's static kwargs (the table of stylegan-reference.md section 3.5)."""
    unknown = sorted(set(static_kwargs) - set(_KWARG_TABLE) - _IGNORED_KWARGS)
    if unknown:
        raise _refuse(path, f"unknown TensorFlow generator setting {unknown[0]!r}={static_kwargs[unknown[0]]!r}")
    config: dict = {"arch": "stylegan2", "mapping_kwargs": {}, "synthesis_kwargs": {}}
    for tf_name, (section, name, default, if_none) in _KWARG_TABLE.items():
        value = static_kwargs.get(tf_name, default)
        if value is None:
            value = if_none
        if isinstance(value, (tuple, np.ndarray)):
            value = [v.item() if hasattr(v, "item") else v for v in value]
        elif isinstance(value, np.generic):
            value = value.item()
        target = config if section is None else config[section]
        target[name] = value
    config["synthesis_kwargs"]["channel_base"] = int(config["synthesis_kwargs"]["channel_base"]) * 2
    architecture = config["synthesis_kwargs"]["architecture"]
    if architecture not in _ARCHITECTURES:
        raise _refuse(path, f"unknown synthesis architecture {architecture!r}")
    resolution = config["img_resolution"]
    if not isinstance(resolution, int) or resolution < 4 or resolution & (resolution - 1):
        raise CorruptModel(path, f"resolution {resolution!r} is not a power of two >= 4")
    return config


def setup_filter(taps) -> torch.Tensor:
    """The 2-D FIR filter NVIDIA's code keeps as ``resample_filter``: outer product, normalised to sum 1."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    if f.ndim == 1:
        f = f[:, None] * f[None, :]
    return f / f.sum()


# --------------------------------------------------------------------------------------------------------------
# Variables -> our tensor names
# --------------------------------------------------------------------------------------------------------------


class _Source:
    """The TF variables, handing each out once so that leftovers (unknown variants) can be reported."""

    def __init__(self, path: Path, variables: dict[str, np.ndarray]):
        self.path = path
        self.variables = dict(variables)
        self.used: set[str] = set()

    def take(self, name: str) -> np.ndarray:
        if name not in self.variables:
            raise CorruptModel(self.path, f"TensorFlow variable {name} is missing")
        value = self.variables[name]
        if value.dtype.kind != "f":
            raise CorruptModel(self.path, f"TensorFlow variable {name} has dtype {value.dtype}, expected floating point")
        self.used.add(name)
        return value

    def leftovers(self) -> list[str]:
        return sorted(set(self.variables) - self.used)


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _dense_weight(array: np.ndarray) -> torch.Tensor:
    """TF dense [in, out] -> ours [out, in]."""
    return _tensor(np.asarray(array).T)


def _conv_weight(array: np.ndarray, flip: bool = False) -> torch.Tensor:
    """TF conv HWIO -> ours OIHW; ``flip`` for kernels TF applied as a transposed convolution."""
    array = np.asarray(array)
    if flip:
        array = array[::-1, ::-1]
    return _tensor(array.transpose(3, 2, 0, 1))


def _map_modulated_layer(src: _Source, tf_scope: str, prefix: str, flip: bool, noise_index: int | None) -> dict:
    """One modulated layer: a SynthesisLayer, or a ToRGB when ``noise_index`` is None (ToRGBs have no noise).

    The noise map is fetched from the synthesis network's global ``noise{n}`` list, where TF kept it.
    """
    out = {
        f"{prefix}.weight": _conv_weight(src.take(f"{tf_scope}/weight"), flip),
        f"{prefix}.bias": _tensor(src.take(f"{tf_scope}/bias")),
        f"{prefix}.affine.weight": _dense_weight(src.take(f"{tf_scope}/mod_weight")),
        f"{prefix}.affine.bias": _tensor(src.take(f"{tf_scope}/mod_bias") + 1),
    }
    if noise_index is not None:
        out[f"{prefix}.noise_strength"] = _tensor(src.take(f"{tf_scope}/noise_strength")).reshape([])
        out[f"{prefix}.noise_const"] = _tensor(src.take(f"synthesis/noise{noise_index}")[0, 0])
    return out


def _torgb_scope(src: _Source, res: int, img_resolution: int) -> str:
    """Where the ToRGB of block ``res`` lives: ``{r}x{r}/ToRGB``, or 'orig'-style ``ToRGB_lod{n}``."""
    scoped = f"synthesis/{res}x{res}/ToRGB"
    if f"{scoped}/weight" in src.variables:
        return scoped
    lod = int(math.log2(img_resolution // res))
    return f"synthesis/ToRGB_lod{lod}"


def _map_variables(path: Path, config: dict, variables: dict[str, np.ndarray]) -> tuple[dict, list[str]]:
    """Rename and re-lay-out every TF variable of Gs; returns (tensors, notes)."""
    src = _Source(path, variables)
    synth = config["synthesis_kwargs"]
    mapping = config["mapping_kwargs"]
    architecture = synth["architecture"]
    use_noise = bool(synth["use_noise"])
    resolution = config["img_resolution"]
    filt = setup_filter(synth["resample_filter"])
    tensors: dict[str, torch.Tensor] = {"mapping.w_avg": _tensor(src.take("dlatent_avg"))}

    if config["c_dim"]:
        tensors["mapping.embed.weight"] = _dense_weight(src.take("mapping/LabelEmbed/weight"))
        tensors["mapping.embed.bias"] = _tensor(src.take("mapping/LabelEmbed/bias"))
    for i in range(int(mapping["num_layers"])):
        tensors[f"mapping.fc{i}.weight"] = _dense_weight(src.take(f"mapping/Dense{i}/weight"))
        tensors[f"mapping.fc{i}.bias"] = _tensor(src.take(f"mapping/Dense{i}/bias"))

    log2_res = int(math.log2(resolution))
    for res in (2**k for k in range(2, log2_res + 1)):
        tf_block, block = f"synthesis/{res}x{res}", f"synthesis.b{res}"
        log2_r = int(math.log2(res))
        tensors[f"{block}.resample_filter"] = filt.clone()
        if res == 4:
            tensors[f"{block}.const"] = _tensor(src.take(f"{tf_block}/Const/const")[0])
            tensors.update(_map_modulated_layer(src, f"{tf_block}/Conv", f"{block}.conv1", False, 0 if use_noise else None))
            tensors[f"{block}.conv1.resample_filter"] = filt.clone()
        else:
            conv0_noise = 2 * log2_r - 5 if use_noise else None
            conv1_noise = 2 * log2_r - 4 if use_noise else None
            tensors.update(_map_modulated_layer(src, f"{tf_block}/Conv0_up", f"{block}.conv0", True, conv0_noise))
            tensors.update(_map_modulated_layer(src, f"{tf_block}/Conv1", f"{block}.conv1", False, conv1_noise))
            tensors[f"{block}.conv0.resample_filter"] = filt.clone()
            tensors[f"{block}.conv1.resample_filter"] = filt.clone()
            if architecture == "resnet":
                tensors[f"{block}.skip.weight"] = _conv_weight(src.take(f"{tf_block}/Skip/weight"), flip=True)
                tensors[f"{block}.skip.resample_filter"] = filt.clone()
        if architecture == "skip" or res == resolution:
            tensors.update(_map_modulated_layer(src, _torgb_scope(src, res, resolution), f"{block}.torgb", False, None))

    notes = []
    leftovers = src.leftovers()
    # Tolerated leftovers: G_main's own 'lod' (always 0 after training) and, in 'orig' networks, the
    # lower-resolution ToRGB_lod* layers that only a growing network would blend in.
    ignorable = {"lod"}
    unused_torgb = [n for n in leftovers if re.fullmatch(r"synthesis/ToRGB_lod[1-9]\d*/\w+", n)]
    if architecture == "orig" and unused_torgb:
        notes.append(f"ignored {len(unused_torgb)} lower-resolution ToRGB_lod variables of the 'orig' network")
        ignorable.update(unused_torgb)
    unknown = [n for n in leftovers if n not in ignorable]
    if unknown:
        raise _refuse(path, f"unexpected TensorFlow variable {unknown[0]} ({len(unknown)} unknown in all)")
    return tensors, notes


# --------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------


def read_tf_networks(path: str | Path, obj) -> ModelData:
    """Convert the unpickled ``(G, D, Gs)`` tuple of a TF-era pickle into ModelData for ``Gs``."""
    path = Path(path)
    if not (isinstance(obj, tuple) and len(obj) == 3 and all(_is_network(n) for n in obj)):
        raise CorruptModel(path, "a 3-tuple pickle, but not the (G, D, Gs) TensorFlow networks of StyleGAN2")
    gs = obj[2]
    variables = _collect_variables(path, gs)
    _check_kind(path, gs, variables)  # first: StyleGAN1 files are also older versions, and that says less
    version = _field(gs, "version")
    if not isinstance(version, int) or version < 4:
        raise _refuse(path, f"TensorFlow network format version {version!r} is too old (need 4 or later)")
    config = _config_from_kwargs(path, dict(_field(gs, "static_kwargs") or {}))
    if any(re.fullmatch(r"synthesis/ToRGB_lod\d+/weight", n) for n in variables) and not any(
        re.fullmatch(r"synthesis/\d+x\d+/ToRGB/weight", n) for n in variables
    ):
        config["synthesis_kwargs"]["architecture"] = "orig"  # only 'orig' networks name their ToRGB by lod
    expected_shapes(path, config)  # bounds and parameter budget before any variable is converted
    try:
        tensors, notes = _map_variables(path, config, variables)
    except (ValueError, IndexError, TypeError) as exc:  # wrong rank or dtype inside a variable
        raise CorruptModel(path, f"malformed TensorFlow variable: {exc}") from None
    arch = config["synthesis_kwargs"]["architecture"]
    notes.insert(0, f"converted from a TensorFlow StyleGAN2 pickle ('{arch}' architecture)")
    return ModelData(config=config, tensors=tensors, source_format="tf-pickle", notes=notes)
