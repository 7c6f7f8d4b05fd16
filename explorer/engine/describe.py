"""A plain-data description of a model: for ``explorer info``, the window's labels and the About box."""

from __future__ import annotations

from explorer.engine.layers import style_rows
from explorer.formats import Model


def w_rows(generator) -> list[dict]:
    """One entry per W+ row: the layers it styles, the resolution it drives and its coarse / middle / fine
    group, as the window's "Style layers" panel shows them (engine/layers.py is the one style-row model)."""
    return [{"w_index": row.index, "layers": list(row.layers), "resolution": row.resolution, "group": row.group}
            for row in style_rows(generator.layer_infos(), generator.num_ws)]


def describe_model(model: Model) -> dict:
    g = model.generator
    config = model.config
    notes = list(model.notes)
    if not g.has_input_transform:
        notes.append("no input transform: the state's translate and rotate are ignored for this model")
    return {
        "file": str(model.path),
        "source_format": model.source_format,
        "sha256": model.sha256,
        "provenance": model.provenance,
        "architecture": _architecture_name(config),
        "img_resolution": g.img_resolution,
        "img_channels": g.img_channels,
        "z_dim": g.z_dim,
        "w_dim": g.w_dim,
        "c_dim": g.c_dim,
        "num_ws": g.num_ws,
        "mapping_layers": int(config.get("mapping_kwargs", {}).get("num_layers", _default_mapping_layers(config))),
        "parameters": sum(p.numel() for p in g.parameters()),
        "has_input_transform": bool(g.has_input_transform),
        "notes": notes,
        "w_rows": w_rows(g),
        "layers": [
            {"name": l.name, "w_index": l.w_index, "resolution": l.resolution, "channels": l.channels,
             "sampling_rate": l.sampling_rate}
            for l in g.layer_infos()
        ],
    }


def _default_mapping_layers(config: dict) -> int:
    return 2 if config.get("arch") == "stylegan3" else 8


def _architecture_name(config: dict) -> str:
    synthesis = config.get("synthesis_kwargs", {})
    if config.get("arch") == "stylegan2":
        return f"StyleGAN2 ({synthesis.get('architecture', 'skip')})"
    radial = synthesis.get("use_radial_filters", False) or synthesis.get("conv_kernel", 3) == 1
    return f"StyleGAN3-{'R' if radial else 'T'}"
