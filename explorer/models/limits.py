"""Sane bounds for a generator config, checked before anything is built from it.

Configs come from files (NVIDIA kwargs, TF static kwargs, our metadata, shapes of rosinality tensors), so
a hostile or broken file must not be able to ask for a 10**9-wide layer, a 2**40-pixel image or a tensor
where a number belongs. ``check_config`` raises ``ValueError`` naming the field; ``explorer.formats`` turns
that into a one-line error naming the file. The bounds are far above every published StyleGAN model
(the largest: w_dim 512, 1024 px, 8 mapping layers, 512 channels).
"""

from __future__ import annotations

import math

TOP_KEYS = frozenset({"arch", "z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs",
                      "synthesis_kwargs"})

# field -> (lowest, highest) for integer fields; None allowed where the model has a default for it.
INT_LIMITS = {
    "z_dim": (0, 8192),
    "c_dim": (0, 65536),
    "w_dim": (1, 8192),
    "img_resolution": (4, 8192),
    "img_channels": (1, 4),
    "mapping_kwargs.num_layers": (1, 64),
    "mapping_kwargs.embed_features": (1, 8192),
    "mapping_kwargs.layer_features": (1, 8192),
    "mapping_kwargs.freeze_layers": (0, 64),
    "synthesis_kwargs.channel_base": (1, 1 << 24),
    "synthesis_kwargs.channel_max": (1, 16384),
    "synthesis_kwargs.num_fp16_res": (0, 32),
    "synthesis_kwargs.kernel_size": (1, 7),
    "synthesis_kwargs.num_layers": (1, 64),
    "synthesis_kwargs.num_critical": (0, 64),
    "synthesis_kwargs.margin_size": (0, 256),
    "synthesis_kwargs.conv_kernel": (1, 7),
    "synthesis_kwargs.filter_size": (1, 64),
    "synthesis_kwargs.lrelu_upsampling": (1, 8),
}
FLOAT_FIELDS = frozenset({
    "mapping_kwargs.lr_multiplier", "mapping_kwargs.w_avg_beta", "synthesis_kwargs.conv_clamp",
    "synthesis_kwargs.first_cutoff", "synthesis_kwargs.first_stopband", "synthesis_kwargs.last_stopband_rel",
    "synthesis_kwargs.output_scale", "synthesis_kwargs.magnitude_ema_beta",
})
MAX_FLOAT = 1e6
MAX_FILTER_TAPS = 16


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_plain(value, field: str, depth: int = 0) -> None:
    """JSON-like values only (a tensor or an object where an option belongs is refused), small and shallow."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, str) and len(value) > 64:
            raise ValueError(f"{field} is a string of {len(value)} characters")
        return
    if isinstance(value, (list, tuple)) and depth < 1 and len(value) <= MAX_FILTER_TAPS:
        for item in value:
            _check_plain(item, field, depth + 1)
        return
    raise ValueError(f"{field} is a {type(value).__name__}, not a plain number, string or short list")


def check_config(config) -> None:
    """Raise ``ValueError("<field> ...")`` unless ``config`` is a plain config within the bounds above."""
    if not isinstance(config, dict):
        raise ValueError(f"config is a {type(config).__name__}, not a dict")
    unknown = sorted(map(str, set(config) - TOP_KEYS))
    if unknown:
        raise ValueError(f"unknown config field {unknown[0][:40]!r}")
    fields: dict[str, object] = {k: v for k, v in config.items() if not k.endswith("_kwargs")}
    for section in ("mapping_kwargs", "synthesis_kwargs"):
        options = config.get(section) or {}
        if not isinstance(options, dict) or len(options) > 64:
            raise ValueError(f"{section} is not a small dict of options")
        fields.update({f"{section}.{key}": value for key, value in options.items()})
    for field, value in fields.items():
        _check_plain(value, field)
        if field in INT_LIMITS and not (value is None and "." in field):
            low, high = INT_LIMITS[field]
            if not _is_int(value) or not low <= value <= high:
                raise ValueError(f"{field} is {value!r}, expected a whole number in {low}..{high}")
        if field in FLOAT_FIELDS and value is not None:
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                    or abs(value) > MAX_FLOAT:
                raise ValueError(f"{field} is {value!r}, expected a finite number")
    taps = fields.get("synthesis_kwargs.resample_filter")
    if taps is not None:
        if not isinstance(taps, (list, tuple)) or not taps or not all(
                isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) for t in taps) \
                or sum(taps) == 0:
            raise ValueError(f"synthesis_kwargs.resample_filter is {taps!r}, expected 1..{MAX_FILTER_TAPS} finite taps")


# The discriminator's config (snapshots' "D" network, training options' D_kwargs), bounded the same way.
D_KEYS = frozenset({"arch", "c_dim", "img_resolution", "img_channels", "channel_base", "channel_max", "num_fp16_res",
                    "conv_clamp", "cmap_dim", "mbstd_group_size", "mbstd_num_channels", "mapping_layers",
                    "architecture"})
D_INT_LIMITS = {
    "c_dim": (0, 65536),
    "img_resolution": (4, 8192),
    "img_channels": (1, 4),
    "channel_base": (1, 1 << 24),
    "channel_max": (1, 16384),
    "num_fp16_res": (0, 32),
    "cmap_dim": (0, 8192),
    "mbstd_group_size": (1, 1024),
    "mbstd_num_channels": (0, 64),
    "mapping_layers": (0, 64),
}


def check_discriminator_config(config) -> None:
    """Raise ``ValueError("<field> ...")`` unless ``config`` is a plain D config within bounds."""
    if not isinstance(config, dict):
        raise ValueError(f"discriminator config is a {type(config).__name__}, not a dict")
    unknown = sorted(map(str, set(config) - D_KEYS))
    if unknown:
        raise ValueError(f"unknown discriminator config field {unknown[0][:40]!r}")
    for field, value in config.items():
        _check_plain(value, f"D.{field}")
        if field in D_INT_LIMITS and value is not None:
            low, high = D_INT_LIMITS[field]
            if not _is_int(value) or not low <= value <= high:
                raise ValueError(f"D.{field} is {value!r}, expected a whole number in {low}..{high}")
    clamp = config.get("conv_clamp")
    if clamp is not None and (isinstance(clamp, bool) or not isinstance(clamp, (int, float))
                              or not math.isfinite(clamp) or abs(clamp) > MAX_FLOAT):
        raise ValueError(f"D.conv_clamp is {clamp!r}, expected a finite number")
