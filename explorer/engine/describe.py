"""The one description of a model: plain data about what it is, never the torch objects.

``explorer info`` prints it, the window shows it (title, status bar, style-row labels) and hands it to
features, and the parameter registry and the state-fitting rules read its shape (rows, W size, classes,
input transform, layers). The render thread builds it when it opens a model, so the UI thread knows the
model without touching torch.

``describe(model)`` describes an opened file completely; ``describe_generator(g)`` gives the shape of a
bare generator (tests, synthetic benchmarks), with no file identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from explorer.engine.layers import StyleRow, style_rows
from explorer.formats import Model
from explorer.models import LayerInfo


@dataclass(frozen=True)
class ModelDescription:
    # shape: what parameters, state fitting and the style-row panel depend on
    num_ws: int
    w_dim: int
    c_dim: int
    img_resolution: int
    has_input_transform: bool
    layer_infos: tuple[LayerInfo, ...] = ()
    z_dim: int = 512
    img_channels: int = 3
    # identity: where the model came from (None for a bare generator)
    path: Path | None = None
    sha256: str = ""
    source_format: str = ""
    provenance: dict = field(default_factory=dict, hash=False, compare=False)
    architecture: str = ""
    mapping_layers: int = 0
    parameters: int = 0
    device: str = "cpu"
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "(generator)"

    @property
    def rows(self) -> list[StyleRow]:
        """One entry per W+ row: the layers it styles, its resolution and its coarse / middle / fine group."""
        return style_rows(self.layer_infos, self.num_ws)

    def to_json(self) -> dict:
        """What ``explorer info --json`` prints."""
        return {
            "file": str(self.path), "source_format": self.source_format, "sha256": self.sha256,
            "provenance": self.provenance, "architecture": self.architecture,
            "img_resolution": self.img_resolution, "img_channels": self.img_channels, "z_dim": self.z_dim,
            "w_dim": self.w_dim, "c_dim": self.c_dim, "num_ws": self.num_ws, "mapping_layers": self.mapping_layers,
            "parameters": self.parameters, "has_input_transform": self.has_input_transform,
            "notes": list(self.notes),
            "w_rows": [{"w_index": r.index, "layers": list(r.layers), "resolution": r.resolution, "group": r.group}
                       for r in self.rows],
            "layers": [{"name": l.name, "w_index": l.w_index, "resolution": l.resolution, "channels": l.channels,
                        "sampling_rate": l.sampling_rate} for l in self.layer_infos],
        }


def describe_generator(g) -> ModelDescription:
    """The shape of a generator (no file behind it)."""
    return ModelDescription(
        num_ws=int(g.num_ws), w_dim=int(g.w_dim), c_dim=int(g.c_dim), img_resolution=int(g.img_resolution),
        has_input_transform=bool(getattr(g, "has_input_transform", False)), layer_infos=tuple(g.layer_infos()),
        z_dim=int(g.z_dim), img_channels=int(g.img_channels))


def describe(model: Model) -> ModelDescription:
    """Everything known about an opened model file."""
    g = model.generator
    notes = list(model.notes)
    if not g.has_input_transform:
        notes.append("no input transform: the state's translate and rotate are ignored for this model")
    shape = describe_generator(g)
    return ModelDescription(
        **{name: getattr(shape, name) for name in ("num_ws", "w_dim", "c_dim", "img_resolution",
                                                    "has_input_transform", "layer_infos", "z_dim", "img_channels")},
        path=Path(model.path), sha256=model.sha256, source_format=model.source_format,
        provenance=dict(model.provenance), architecture=_architecture_name(model.config),
        mapping_layers=int(model.config.get("mapping_kwargs", {}).get("num_layers",
                                                                      _default_mapping_layers(model.config))),
        parameters=sum(p.numel() for p in g.parameters()), device=str(model.device), notes=tuple(notes))


def as_description(model) -> ModelDescription:
    """A description as it is; a generator (or anything with ``layer_infos()``) described."""
    return model if isinstance(model, ModelDescription) else describe_generator(model)


def _default_mapping_layers(config: dict) -> int:
    return 2 if config.get("arch") == "stylegan3" else 8


def _architecture_name(config: dict) -> str:
    synthesis = config.get("synthesis_kwargs", {})
    if config.get("arch") == "stylegan2":
        return f"StyleGAN2 ({synthesis.get('architecture', 'skip')})"
    radial = synthesis.get("use_radial_filters", False) or synthesis.get("conv_kernel", 3) == 1
    return f"StyleGAN3-{'R' if radial else 'T'}"
