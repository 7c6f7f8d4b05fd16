"""The one serializable description of what is on screen.

A ``State`` plus a model reproduces an image exactly. The window, exports (PNG recipes), undo, sessions,
presets and video keyframes all store states. States are immutable: change one with ``state.replace(...)``
(or ``dataclasses.replace``), which gives a new object, so an undo stack can keep them as they are.

The state is model-agnostic: per-row lists (``mix``, ``layer_psi``) are read through ``mix_weights`` /
``row_psis`` for a given ``num_ws``, which pads or cuts them; translate / rotate are ignored by models
without an input transform.

JSON layout (version 1)::

    {"version": 1,
     "a": {"seed": 0, "offset": [0.0, 0.0], "w_plus": null},
     "b": {"seed": 1, "offset": [0.0, 0.0], "w_plus": null},
     "class_idx": 0, "mix": [0.0, ...], "psi": 1.0, "cutoff": null, "layer_psi": [null, ...],
     "noise_mode": "const", "noise_seed": 0, "noise_strength": 1.0,
     "translate": [0.0, 0.0], "rotate": 0.0}
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.errors import StateError

STATE_VERSION = 1
MAX_SEED = 2**32 - 1
NOISE_MODES = ("const", "random", "none")


@dataclass(frozen=True)
class Latent:
    """Where one latent (A or B) comes from.

    ``seed`` is an integer seed as in NVIDIA's tools. ``offset`` is a fractional position on the
    visualizer's 2-D seed pad relative to that seed (x along the seed, y in steps of 100 seeds); a non-zero
    offset blends the up-to-four lattice seeds around it bilinearly in W. ``w_plus`` (rows of W+, as
    nested tuples [num_ws][w_dim]) replaces the seed with an imported latent (projected_w.npz / .npy).
    """

    seed: int = 0
    offset: tuple[float, float] = (0.0, 0.0)
    w_plus: tuple[tuple[float, ...], ...] | None = None

    def __post_init__(self):
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be an integer in 0..{MAX_SEED}, got {self.seed!r}")
        offset = tuple(float(v) for v in self.offset)
        if len(offset) != 2 or not all(math.isfinite(v) for v in offset):
            raise ValueError(f"seed offset must be two finite numbers, got {self.offset!r}")
        object.__setattr__(self, "offset", offset)
        if self.w_plus is not None:
            rows = tuple(tuple(float(v) for v in row) for row in self.w_plus)
            if not rows or len({len(r) for r in rows}) != 1:
                raise ValueError("w_plus must be a non-empty [num_ws][w_dim] table")
            object.__setattr__(self, "w_plus", rows)

    @property
    def is_fractional(self) -> bool:
        return self.offset != (0.0, 0.0)

    def to_json(self) -> dict:
        return {"seed": self.seed, "offset": list(self.offset),
                "w_plus": None if self.w_plus is None else [list(r) for r in self.w_plus]}

    @classmethod
    def from_json(cls, data: Any) -> "Latent":
        if not isinstance(data, dict):
            raise ValueError("latent must be an object")
        return cls(seed=data.get("seed", 0), offset=tuple(data.get("offset", (0.0, 0.0))), w_plus=data.get("w_plus"))


@dataclass(frozen=True)
class State:
    """Everything the artist has set. See the module docstring for the JSON layout."""

    a: Latent = field(default_factory=Latent)
    b: Latent = field(default_factory=lambda: Latent(seed=1))
    class_idx: int = 0  # conditional models: the one-hot class given to the mapping network
    mix: tuple[float, ...] = ()  # per W+ row: 0 takes A's row, 1 takes B's, between blends linearly
    psi: float = 1.0  # truncation toward w_avg
    cutoff: int | None = None  # psi applies to rows < cutoff (None: all rows)
    layer_psi: tuple[float | None, ...] = ()  # per-row psi overriding psi/cutoff where not None
    noise_mode: str = "const"
    noise_seed: int = 0  # for noise_mode 'random'
    noise_strength: float = 1.0  # multiplies every noise input
    translate: tuple[float, float] = (0.0, 0.0)  # image widths, models with an input transform only
    rotate: float = 0.0  # degrees, models with an input transform only

    def __post_init__(self):
        if isinstance(self.class_idx, bool) or not isinstance(self.class_idx, int) or self.class_idx < 0:
            raise ValueError(f"class_idx must be a non-negative integer, got {self.class_idx!r}")
        object.__setattr__(self, "mix", tuple(_unit(v, "mix weight") for v in self.mix))
        object.__setattr__(self, "psi", _finite(self.psi, "psi"))
        if self.cutoff is not None and (isinstance(self.cutoff, bool) or not isinstance(self.cutoff, int) or self.cutoff < 0):
            raise ValueError(f"cutoff must be a non-negative integer or null, got {self.cutoff!r}")
        object.__setattr__(self, "layer_psi", tuple(None if v is None else _finite(v, "layer psi") for v in self.layer_psi))
        if self.noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {self.noise_mode!r}")
        if isinstance(self.noise_seed, bool) or not isinstance(self.noise_seed, int) or not 0 <= self.noise_seed <= MAX_SEED:
            raise ValueError(f"noise_seed must be an integer in 0..{MAX_SEED}, got {self.noise_seed!r}")
        object.__setattr__(self, "noise_strength", _finite(self.noise_strength, "noise_strength"))
        translate = tuple(_finite(v, "translate") for v in self.translate)
        if len(translate) != 2:
            raise ValueError(f"translate must be two numbers, got {self.translate!r}")
        object.__setattr__(self, "translate", translate)
        object.__setattr__(self, "rotate", _finite(self.rotate, "rotate"))

    # ---- reading per-row values for a model with num_ws rows ----------------------------------------
    def mix_weights(self, num_ws: int) -> tuple[float, ...]:
        """The A-to-B weight of each of ``num_ws`` rows (missing rows take A)."""
        return tuple(self.mix[i] if i < len(self.mix) else 0.0 for i in range(num_ws))

    def row_psis(self, num_ws: int) -> tuple[float, ...]:
        """The truncation psi of each row: its own psi if set, else ``psi`` below the cutoff, else 1."""
        out = []
        for i in range(num_ws):
            own = self.layer_psi[i] if i < len(self.layer_psi) else None
            if own is not None:
                out.append(own)
            elif self.cutoff is None or i < self.cutoff:
                out.append(self.psi)
            else:
                out.append(1.0)
        return tuple(out)

    @property
    def has_transform(self) -> bool:
        return self.translate != (0.0, 0.0) or self.rotate != 0.0

    # ---- convenience edits, each returning a new state ------------------------------------------------
    def replace(self, **changes) -> "State":
        return dataclasses.replace(self, **changes)

    def with_mix(self, num_ws: int, rows, weight: float) -> "State":
        """Set the A-to-B weight of ``rows`` (indices) to ``weight``, keeping the others."""
        mix = list(self.mix_weights(num_ws))
        for i in rows:
            mix[i] = weight
        return self.replace(mix=tuple(mix))

    def swapped(self) -> "State":
        """A and B exchanged (the mix weights stay, so each row still shows the same mix side)."""
        return self.replace(a=self.b, b=self.a)

    # ---- serialisation -------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "version": STATE_VERSION,
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "class_idx": self.class_idx,
            "mix": list(self.mix),
            "psi": self.psi,
            "cutoff": self.cutoff,
            "layer_psi": list(self.layer_psi),
            "noise_mode": self.noise_mode,
            "noise_seed": self.noise_seed,
            "noise_strength": self.noise_strength,
            "translate": list(self.translate),
            "rotate": self.rotate,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, data: Any, source: str | Path | None = None) -> "State":
        """Build a state from its JSON object; a bad value raises StateError naming ``source``."""
        if not isinstance(data, dict):
            raise StateError(source, "state must be a JSON object")
        version = data.get("version")
        if version != STATE_VERSION:
            raise StateError(source, f"unsupported state version {version!r} (this program reads version {STATE_VERSION})")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known - {"version"})
        if unknown:
            raise StateError(source, f"unknown state field {unknown[0]!r}")
        try:
            kwargs = {k: v for k, v in data.items() if k in known}
            for side in ("a", "b"):
                if side in kwargs:
                    kwargs[side] = Latent.from_json(kwargs[side])
            for name in ("mix", "layer_psi", "translate"):
                if name in kwargs:
                    kwargs[name] = tuple(kwargs[name])
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise StateError(source, f"bad state: {exc}") from None

    @classmethod
    def loads(cls, text: str, source: str | Path | None = None) -> "State":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateError(source, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_json(data, source)

    @classmethod
    def load(cls, path: str | Path) -> "State":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise StateError(path, f"cannot read state file ({exc.strerror or exc})") from None
        return cls.loads(text, path)


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _unit(value: Any, what: str) -> float:
    value = _finite(value, what)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be within 0..1, got {value!r}")
    return value
