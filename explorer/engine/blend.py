"""Blending two models of one architecture layer by layer (Pinkney's "network blending", issue 17).

Each synthesis layer ``l`` takes ``(1 - a_l) * A + a_l * B`` of all its learned tensors (affine, weight,
bias, noise strength, toRGB; SG3's ``magnitude_ema`` too, since it scales the layer's input at render
time). The mapping network and ``w_avg`` come whole from one side; the fixed buffers (noise constants,
resampling filters, SG3's input transform, frequencies and phases) come from A.

``layer_weights`` turns a curve (step / sigmoid / explicit) into one ``a_l`` per entry of
``generator.layer_infos()``. ``ModelBlend`` keeps both weight sets on the device and lerps them in place
into one blended copy, so moving the curve costs one ``torch.lerp`` per tensor, never a rebuild.
``StateBlend`` is what a renderer keeps for a state's ``Blend``: model B opened once, the curve re-applied
from the state on every render. ``save_blended_model`` writes a state's blend as a native model file (the
CLI's ``explorer blend`` and the window's "Save blended model..."). ``identify_model_file`` gives the
(path, sha256) a ``Blend`` names, hashing each file once per size and modification time.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from pathlib import Path

import torch

from explorer.engine.jobs import JobContext
from explorer.engine.latents import MappingCache
from explorer.engine.state import BLEND_MAPPINGS, BLEND_MODES, Blend
from explorer.errors import ModelError, UnsupportedArchitecture
from explorer.formats import Model, load_model, native, resolve_model_path, sha256_of
from explorer.formats.validate import name_difference
from explorer.models import copy_without_hooks

# Buffers that belong to a layer's learned state rather than to its fixed set-up: lerped like parameters.
LERPED_BUFFERS = ("magnitude_ema",)

# Below this correlation of the two models' synthesis weights they are taken for unrelated models.
RELATED_MIN_CORRELATION = 0.5


def layer_weights(layer_infos: Sequence, mode: str, mid: int = 16, width: float = 1.0,
                  layers: Sequence[float] = ()) -> list[float]:
    """One weight of B per synthesis layer (0 = all A, 1 = all B).

    ``step``: 0 below resolution ``mid``, 1 from it up. ``sigmoid``: as Pinkney's blend_models.py, a
    logistic curve over log2(resolution), 0.5 at ``mid``; ``width`` is in resolution steps (one StyleGAN2
    block = one doubling), smaller is sharper. ``layers``: the given weights in layer order, padded with 0
    (A) or cut to the number of layers, as the state's other per-row lists are.
    """
    if mode not in BLEND_MODES:
        raise ValueError(f"blend mode must be one of {', '.join(BLEND_MODES)}, got {mode!r}")
    if mode == "layers":
        given = [float(v) for v in layers][:len(layer_infos)]
        return given + [0.0] * (len(layer_infos) - len(given))
    if mode == "step":
        return [1.0 if info.resolution >= mid else 0.0 for info in layer_infos]
    if width <= 0:
        raise ValueError(f"blend width must be positive, got {width!r}")
    return [1.0 / (1.0 + math.exp(-(math.log2(info.resolution) - math.log2(mid)) / width)) for info in layer_infos]


def check_same_architecture(gen_a: torch.nn.Module, gen_b: torch.nn.Module, path_a: Path, path_b: Path) -> None:
    """Refuse, in one line naming B, two generators whose tensors differ in name or shape."""
    tensors_a, tensors_b = gen_a.state_dict(), gen_b.state_dict()
    where = f"cannot blend with {Path(path_a).name}"
    difference = name_difference(tensors_a, tensors_b, f"only in {Path(path_a).name}", f"only in {Path(path_b).name}")
    if difference:
        raise UnsupportedArchitecture(path_b, f"{where}: different architecture, {difference}")
    for name, tensor in tensors_a.items():
        if tensor.shape != tensors_b[name].shape:
            raise UnsupportedArchitecture(path_b, f"{where}: tensor {name} has shape {tuple(tensors_b[name].shape)}, "
                                                  f"expected {tuple(tensor.shape)}")


def weight_correlation(gen_a: torch.nn.Module, gen_b: torch.nn.Module) -> float:
    """Pearson correlation of the two models' synthesis weights, all tensors together.

    A model fine-tuned from another keeps most of its weights (correlation near 1); two models trained
    from different random starts are uncorrelated (near 0), and their layers do not line up.
    """
    tensors_b = gen_b.state_dict()
    pairs = [(t.flatten(), tensors_b[n].flatten()) for n, t in gen_a.named_parameters() if n.startswith("synthesis.")]
    a = torch.cat([p[0] for p in pairs]).double()
    b = torch.cat([p[1] for p in pairs]).double().to(a.device)
    a, b = a - a.mean(), b - b.mean()
    return float((a @ b) / (a.norm() * b.norm()).clamp_min(1e-30))


def ancestry_warning(gen_a: torch.nn.Module, gen_b: torch.nn.Module, name_a: str, name_b: str) -> str | None:
    """A one-line warning when the two models do not look like relatives, else None."""
    corr = weight_correlation(gen_a, gen_b)
    if corr >= RELATED_MIN_CORRELATION:
        return None
    return (f"{name_a} and {name_b} do not seem to share an ancestor (weight correlation {corr:.2f}); "
            "their layers may not line up and the blend may be noise")


def _layer_of(tensor_name: str, layer_names: Sequence[str]) -> int:
    """Index of the synthesis layer a tensor belongs to.

    ``synthesis.b16.conv0.affine.weight`` -> layer ``b16.conv0``; a block-level tensor such as StyleGAN2's
    ``synthesis.b4.const`` goes with the first layer of its block (it feeds that layer).
    """
    local = tensor_name.removeprefix("synthesis.")
    for i, layer in enumerate(layer_names):
        if local.startswith(layer + "."):
            return i
    block = local.split(".", 1)[0]
    for i, layer in enumerate(layer_names):
        if layer.split(".", 1)[0] == block:
            return i
    raise ValueError(f"synthesis tensor {tensor_name} belongs to no layer of layer_infos()")


class ModelBlend:
    """A blended copy of generator A, kept up to date from A's and B's weights, all on A's device.

    ``generator`` is the copy to render with. ``set_curve(weights, mapping)`` rewrites it in place:
    each blended tensor is ``torch.lerp(A, B, a_l)``; the mapping network is copied from the chosen side.
    """

    def __init__(self, gen_a: torch.nn.Module, gen_b: torch.nn.Module):
        device = next(gen_a.parameters()).device
        self.generator = copy_without_hooks(gen_a)
        self.layer_infos = list(gen_a.layer_infos())
        layer_names = [info.name for info in self.layer_infos]
        tensors_a, tensors_b = gen_a.state_dict(), gen_b.state_dict()
        out = self.generator.state_dict()  # shares storage with the copy: writing into it updates it
        learned = {n for n, _ in gen_a.named_parameters()}
        learned |= {n for n, _ in gen_a.named_buffers() if n.rsplit(".", 1)[-1] in LERPED_BUFFERS}
        # (layer index, A, B, target) for every blended synthesis tensor
        self._lerped = [(_layer_of(n, layer_names), tensors_a[n], tensors_b[n].to(device), out[n])
                        for n in sorted(learned) if n.startswith("synthesis.")]
        self._mapping = [(tensors_a[n], tensors_b[n].to(device), out[n]) for n in out if n.startswith("mapping.")]
        self.weights: list[float] = []
        self.mapping = "a"

    @torch.no_grad()
    def set_curve(self, weights: Sequence[float], mapping: str = "a") -> None:
        """Blend with ``weights`` (one per layer of ``layer_infos``) and the mapping of side ``mapping``."""
        weights = [float(w) for w in weights]
        if len(weights) != len(self.layer_infos):
            raise ValueError(f"blend needs {len(self.layer_infos)} layer weights, got {len(weights)}")
        if mapping not in BLEND_MAPPINGS:
            raise ValueError(f"blend mapping must be 'a' or 'b', got {mapping!r}")
        for layer, a, b, target in self._lerped:
            if not self.weights or weights[layer] != self.weights[layer]:
                torch.lerp(a, b, weights[layer], out=target)
        if mapping != self.mapping:
            for a, b, target in self._mapping:
                target.copy_(a if mapping == "a" else b)
        self.weights, self.mapping = weights, mapping


def blend_weights(blend: Blend, layer_infos: Sequence) -> list[float]:
    """The per-layer weights a state's ``Blend`` asks for."""
    return layer_weights(layer_infos, blend.mode, blend.mid, blend.width, blend.layers)


_IDENTITIES: dict[tuple[str, int, int], str] = {}  # (resolved path, size, mtime_ns) -> sha256
_IDENTITIES_LOCK = threading.Lock()  # the window's render thread and UI thread both set blends


def identify_model_file(path: str | Path) -> tuple[str, str]:
    """The absolute file ``path`` opens as a model (a run directory: its latest snapshot) and its sha256.

    Hashing a big pickle takes seconds, and a registry set (a drag, a keyframe) may ask again and again:
    the digest is kept per (path, size, mtime), so an unchanged file is hashed once.
    """
    resolved = resolve_model_path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    with _IDENTITIES_LOCK:
        digest = _IDENTITIES.get(key)
    if digest is None:
        digest = sha256_of(resolved)
        with _IDENTITIES_LOCK:
            _IDENTITIES[key] = digest
    return str(resolved), digest


def open_blend_partner(model_a: Model, blend: Blend) -> Model:
    """Model B of ``blend`` on A's device, checked: the file it names (sha256) and A's architecture."""
    model_b = load_model(blend.model, model_a.device)
    if blend.sha256 and blend.sha256 != model_b.sha256:
        raise ModelError(model_b.path, "not the file this blend was made with (its sha256 differs)")
    check_same_architecture(model_a.generator, model_b.generator, model_a.path, model_b.path)
    return model_b


def blend_provenance(model_a: Model, model_b: Model, blend: Blend, weights: Sequence[float],
                     layer_infos: Sequence) -> dict:
    """The provenance of a blended model file: both parents (path and sha256) and the curve."""
    curve = {"mode": blend.mode, "mid": blend.mid, "width": blend.width, "mapping": blend.mapping,
             "layers": {info.name: w for info, w in zip(layer_infos, weights)}}
    return {
        "source_file": f"blend of {model_a.name} and {model_b.name}",
        "sha256": model_a.sha256,  # the base model: its mapping, buffers and architecture
        "source_format": "blend",
        "parents": [{"role": role, "source_file": m.name, "path": str(m.path), "sha256": m.sha256}
                    for role, m in (("a", model_a), ("b", model_b))],
        "blend": curve,
    }


def save_blended_model(ctx: JobContext, model_a: Model, blend: Blend, output: str | Path) -> str | None:
    """Write ``model_a`` blended as ``blend`` says into the native file ``output`` (atomically).

    Returns the ancestry warning, if the two models do not look related (the file is written anyway).
    Overwriting is the caller's decision (the CLI's --force, the window's file dialog).
    """
    model_b = open_blend_partner(model_a, blend)  # before any progress, so a refusal is the only line
    ctx.check()
    ctx.progress(0.3, f"blending {model_a.name} and {model_b.name}")
    warning = ancestry_warning(model_a.generator, model_b.generator, model_a.name, model_b.name)
    mixed = ModelBlend(model_a.generator, model_b.generator)
    weights = blend_weights(blend, mixed.layer_infos)
    mixed.set_curve(weights, blend.mapping)
    ctx.check()
    ctx.progress(0.7, f"writing {Path(output).name}")
    provenance = blend_provenance(model_a, model_b, blend, weights, mixed.layer_infos)
    native.write(output, {native.RENDER_NET: (model_a.config, mixed.generator.state_dict())}, provenance)
    ctx.progress(1.0, f"wrote {Path(output).name}")
    return warning


class StateBlend:
    """Model B of a state's blend, opened on A's device, with the blended generator and B's mapping cache
    (the W of ``mapping 'b'`` comes from B's mapping network and w_avg)."""

    def __init__(self, model_a: Model, blend: Blend):
        model_b = open_blend_partner(model_a, blend)
        self.source = (blend.model, blend.sha256)
        self.model_a = model_a
        self.model_b = model_b
        self.blend = ModelBlend(model_a.generator, model_b.generator)
        self.mapping_cache_b = MappingCache(model_b.generator)

    def ancestry_warning(self) -> str | None:
        """``ancestry_warning`` of the two models (a one-line note, or None when they look related)."""
        return ancestry_warning(self.model_a.generator, self.model_b.generator, self.model_a.name,
                                self.model_b.name)

    def serves(self, blend: Blend) -> bool:
        """Whether this holds the model file ``blend`` names (the curve may differ: ``apply`` sets it)."""
        return self.source == (blend.model, blend.sha256)

    def apply(self, blend: Blend) -> torch.nn.Module:
        """The blended generator, lerped to ``blend``'s curve (only the layers whose weight changed)."""
        self.blend.set_curve(blend_weights(blend, self.blend.layer_infos), blend.mapping)
        return self.blend.generator
