"""The one serializable description of what is on screen.

A ``State`` plus a model reproduces an image exactly. The window, exports (PNG recipes), undo, sessions,
favourites and video keyframes all store states. States are immutable: change one with ``state.replace(...)``
(or ``dataclasses.replace``), which gives a new object, so an undo stack can keep them as they are.

The state is model-agnostic: per-row lists (``mix``, ``layer_psi``) are read through ``mix_weights`` /
``row_psis`` for a given ``num_ws``, which pads or cuts them; translate / rotate are ignored by models
without an input transform.

JSON layout (version 2)::

    {"version": 2,
     "a": {"seed": 0, "offset": [0.0, 0.0], "w_plus": null, "follow_psi": false},
     "b": {"seed": 1, "offset": [0.0, 0.0], "w_plus": null, "follow_psi": false},
     "class_idx": 0, "mix": [0.0, ...], "psi": 1.0, "cutoff": null, "layer_psi": [null, ...],
     "noise_mode": "const", "noise_seed": 0, "noise_strength": 1.0,
     "translate": [0.0, 0.0], "rotate": 0.0,
     "edits": [{"name": "pc0", "set_hash": "...", "index": 0, "vector": [...], "sigma": 1.0,
                "rows": [0, 5] | null, "amount": 0.0}, ...],
     "blend": null | {"model": "/path/B.pkl", "sha256": "...", "mode": "sigmoid", "mid": 16, "width": 1.0,
                      "layers": [], "mapping": "a"}}

A dragged latent also has ``"drags": [{"handles": [[x, y], ...], "targets": [...], "reached": [...],
"steps": 57, "rows": 6, "mask": null | "<encoded>"}, ...]`` (its provenance; absent on every other latent).

Version 1 (the first release) had no ``edits``, ``blend`` or ``follow_psi``; its imported W+ rows were
truncated by the state's psi when rendered, so ``migrate`` marks them ``follow_psi`` and they render exactly
as before. Files of every kind (states, sessions, PNG recipes, timelines) go through ``State.from_json`` and
so through ``migrate``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.engine.jsonfile import parse_json, read_json
from explorer.errors import StateError

STATE_VERSION = 2
MAX_SEED = 2**32 - 1
NOISE_MODES = ("const", "random", "none")
BLEND_MODES = ("step", "sigmoid", "layers")
BLEND_MAPPINGS = ("a", "b")
MAX_EDITS = 64
MAX_DRAGS = 64  # drag rounds recorded on one latent
MAX_DRAG_POINTS = 64  # handle / target pairs in one drag
MAX_DRAG_MASK_CHARS = 1 << 20  # an encoded mask (base64 of compressed bits); 1024 x 1024 fits many times


@dataclass(frozen=True)
class Latent:
    """Where one latent (A or B) comes from.

    ``seed`` is an integer seed as in NVIDIA's tools. ``offset`` is a fractional position on the
    visualizer's 2-D seed pad relative to that seed (x along the seed, y in steps of 100 seeds); a non-zero
    offset blends the up-to-four lattice seeds around it bilinearly in W. ``w_plus`` (rows of W+, as
    nested tuples [num_ws][w_dim]) replaces the seed with an imported latent (projected_w.npz / .npy, a
    projection or a drag result). Imported rows are final: they render as they are, whatever the psi
    (an exported W+ imports to the same image). ``follow_psi`` makes the state's truncation apply to them
    as to a seed's W: for untruncated W such as a video's interpolated curves, and for version 1 files.
    ``drags`` is the provenance of a dragged W+ (explorer/engine/drag.py): one record per drag round, oldest
    first; it documents how the rows were made and never changes how they render.
    """

    seed: int = 0
    offset: tuple[float, float] = (0.0, 0.0)
    w_plus: tuple[tuple[float, ...], ...] | None = None
    follow_psi: bool = False
    drags: tuple["DragRecord", ...] = ()

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
        if not isinstance(self.follow_psi, bool):
            raise ValueError(f"follow_psi must be true or false, got {self.follow_psi!r}")
        drags = tuple(self.drags)
        if len(drags) > MAX_DRAGS or not all(isinstance(d, DragRecord) for d in drags):
            raise ValueError(f"drags must be at most {MAX_DRAGS} drag records")
        object.__setattr__(self, "drags", drags)

    @property
    def is_fractional(self) -> bool:
        return self.offset != (0.0, 0.0)

    def to_json(self) -> dict:
        data = {"seed": self.seed, "offset": list(self.offset),
                "w_plus": None if self.w_plus is None else [list(r) for r in self.w_plus],
                "follow_psi": self.follow_psi}
        if self.drags:  # only dragged latents carry the key: every other file stays as it was
            data["drags"] = [d.to_json() for d in self.drags]
        return data

    @classmethod
    def from_json(cls, data: Any) -> "Latent":
        if not isinstance(data, dict):
            raise ValueError("latent must be an object")
        _only_fields(data, ("seed", "offset", "w_plus", "follow_psi", "drags"), "latent")
        drags = data.get("drags", [])
        if not isinstance(drags, list):
            raise ValueError("latent drags must be a list")
        return cls(seed=data.get("seed", 0), offset=tuple(data.get("offset", (0.0, 0.0))), w_plus=data.get("w_plus"),
                   follow_psi=data.get("follow_psi", False), drags=tuple(DragRecord.from_json(d) for d in drags))


@dataclass(frozen=True)
class DragRecord:
    """One round of point dragging that made a latent's W+ (its provenance; see explorer/engine/drag.py).

    ``handles`` and ``targets`` are the points (x, y) the artist set, in pixels of the model's image;
    ``reached`` is where the tracked handles ended. ``mask`` is the region that was free to change, as
    ``explorer.engine.drag.encode_mask`` writes it (None: everything was free); ``steps`` the optimiser steps
    taken and ``rows`` how many leading W+ rows were optimised.
    """

    handles: tuple[tuple[float, float], ...]
    targets: tuple[tuple[float, float], ...]
    reached: tuple[tuple[float, float], ...]
    steps: int = 0
    rows: int = 0
    mask: str | None = None

    def __post_init__(self):
        for name in ("handles", "targets", "reached"):
            points = tuple(_point(p, f"drag {name[:-1]}") for p in getattr(self, name))
            if not 1 <= len(points) <= MAX_DRAG_POINTS:
                raise ValueError(f"a drag needs 1 to {MAX_DRAG_POINTS} {name}, got {len(points)}")
            object.__setattr__(self, name, points)
        if not len(self.handles) == len(self.targets) == len(self.reached):
            raise ValueError("a drag needs as many targets and reached points as handles")
        for name in ("steps", "rows"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"drag {name} must be a non-negative integer, got {getattr(self, name)!r}")
        if self.mask is not None and (not isinstance(self.mask, str) or len(self.mask) > MAX_DRAG_MASK_CHARS):
            raise ValueError(f"drag mask must be an encoded mask of at most {MAX_DRAG_MASK_CHARS} characters")

    def to_json(self) -> dict:
        return {"handles": [list(p) for p in self.handles], "targets": [list(p) for p in self.targets],
                "reached": [list(p) for p in self.reached], "steps": self.steps, "rows": self.rows,
                "mask": self.mask}

    @classmethod
    def from_json(cls, data: Any) -> "DragRecord":
        if not isinstance(data, dict):
            raise ValueError("drag record must be an object")
        _only_fields(data, ("handles", "targets", "reached", "steps", "rows", "mask"), "drag")
        points = {}
        for name in ("handles", "targets", "reached"):
            value = data.get(name)
            if not isinstance(value, list):
                raise ValueError(f"drag {name} must be a list of [x, y] points")
            points[name] = tuple(value)
        return cls(**points, steps=data.get("steps", 0), rows=data.get("rows", 0), mask=data.get("mask"))


@dataclass(frozen=True)
class Edit:
    """One latent-direction slider: ``w[rows] += amount * sigma * vector`` after truncation and mixing.

    The edit carries its vector and sigma, so a state (and a PNG recipe of it) renders on a machine that
    has not got the direction file; ``set_hash`` and ``index`` say which direction set it came from.
    ``rows`` is an inclusive (first, last) W+ row range, None for every row; ``amount`` is in sigmas.
    """

    vector: tuple[float, ...]
    sigma: float = 1.0
    amount: float = 0.0
    rows: tuple[int, int] | None = None
    name: str = ""
    set_hash: str = ""
    index: int = 0

    def __post_init__(self):
        vector = tuple(_finite(v, "edit vector") for v in self.vector)
        if not vector:
            raise ValueError("edit vector must not be empty")
        object.__setattr__(self, "vector", vector)
        object.__setattr__(self, "sigma", _finite(self.sigma, "edit sigma"))
        object.__setattr__(self, "amount", _finite(self.amount, "edit amount"))
        if self.rows is not None:
            rows = tuple(self.rows)
            if len(rows) != 2 or not all(_is_int(r) and r >= 0 for r in rows) or rows[0] > rows[1]:
                raise ValueError(f"edit rows must be a range first..last of row numbers, got {self.rows!r}")
            object.__setattr__(self, "rows", rows)
        for name in ("name", "set_hash"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"edit {name} must be a string")
        if not _is_int(self.index) or self.index < 0:
            raise ValueError(f"edit index must be a non-negative integer, got {self.index!r}")

    def row_range(self, num_ws: int) -> range:
        """The rows this edit moves in a model with ``num_ws`` rows (a range beyond them is cut)."""
        if self.rows is None:
            return range(num_ws)
        return range(min(self.rows[0], num_ws), min(self.rows[1] + 1, num_ws))

    def to_json(self) -> dict:
        return {"name": self.name, "set_hash": self.set_hash, "index": self.index, "vector": list(self.vector),
                "sigma": self.sigma, "rows": None if self.rows is None else list(self.rows), "amount": self.amount}

    @classmethod
    def from_json(cls, data: Any) -> "Edit":
        if not isinstance(data, dict):
            raise ValueError("edit must be an object")
        _only_fields(data, ("name", "set_hash", "index", "vector", "sigma", "rows", "amount"), "edit")
        if not isinstance(data.get("vector"), list):
            raise ValueError("edit vector must be a list of numbers")
        rows = data.get("rows")
        if rows is not None and not isinstance(rows, list):
            raise ValueError("edit rows must be [first, last] or null")
        return cls(vector=tuple(data["vector"]), sigma=data.get("sigma", 1.0), amount=data.get("amount", 0.0),
                   rows=None if rows is None else tuple(rows), name=data.get("name", ""),
                   set_hash=data.get("set_hash", ""), index=data.get("index", 0))


@dataclass(frozen=True)
class Blend:
    """A second model blended layer by layer into the open one (see explorer/engine/blend.py).

    Each synthesis layer takes ``(1 - a) * A + a * B`` of its tensors, ``a`` from a curve: ``step`` (B from
    resolution ``mid`` up), ``sigmoid`` (rising with resolution, 0.5 at ``mid``, ``width`` layers wide) or
    ``layers`` (one weight per synthesis layer). ``mapping`` says whose mapping network and w_avg are used.
    """

    model: str
    sha256: str = ""
    mode: str = "sigmoid"
    mid: int = 16
    width: float = 1.0
    layers: tuple[float, ...] = ()
    mapping: str = "a"

    def __post_init__(self):
        if not isinstance(self.model, str) or not self.model:
            raise ValueError("blend model must be a path")
        if not isinstance(self.sha256, str):
            raise ValueError("blend sha256 must be a string")
        if self.mode not in BLEND_MODES:
            raise ValueError(f"blend mode must be one of {', '.join(BLEND_MODES)}, got {self.mode!r}")
        if not _is_int(self.mid) or not 1 <= self.mid <= 1 << 16:
            raise ValueError(f"blend mid must be a resolution in pixels, got {self.mid!r}")
        width = _finite(self.width, "blend width")
        if width <= 0:
            raise ValueError(f"blend width must be positive, got {self.width!r}")
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "layers", tuple(_unit(v, "blend layer weight") for v in self.layers))
        if self.mapping not in BLEND_MAPPINGS:
            raise ValueError(f"blend mapping must be 'a' or 'b', got {self.mapping!r}")

    def to_json(self) -> dict:
        return {"model": self.model, "sha256": self.sha256, "mode": self.mode, "mid": self.mid, "width": self.width,
                "layers": list(self.layers), "mapping": self.mapping}

    @classmethod
    def from_json(cls, data: Any) -> "Blend":
        if not isinstance(data, dict):
            raise ValueError("blend must be an object")
        _only_fields(data, ("model", "sha256", "mode", "mid", "width", "layers", "mapping"), "blend")
        layers = data.get("layers", [])
        if not isinstance(layers, list):
            raise ValueError("blend layers must be a list of numbers")
        return cls(model=data.get("model"), sha256=data.get("sha256", ""), mode=data.get("mode", "sigmoid"),
                   mid=data.get("mid", 16), width=data.get("width", 1.0), layers=tuple(layers),
                   mapping=data.get("mapping", "a"))


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
    edits: tuple[Edit, ...] = ()  # latent-direction sliders, applied in order after mixing
    blend: Blend | None = None  # a second model blended into the open one

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
        edits = tuple(self.edits)
        if len(edits) > MAX_EDITS or not all(isinstance(e, Edit) for e in edits):
            raise ValueError(f"edits must be at most {MAX_EDITS} Edit objects")
        object.__setattr__(self, "edits", edits)
        if self.blend is not None and not isinstance(self.blend, Blend):
            raise ValueError("blend must be a Blend or null")

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
            "edits": [e.to_json() for e in self.edits],
            "blend": None if self.blend is None else self.blend.to_json(),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, data: Any, source: str | Path | None = None) -> "State":
        """Build a state from its JSON object; a bad value raises StateError naming ``source``."""
        data = migrate(data, source)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known - {"version"})
        if unknown:
            raise StateError(source, f"unknown state field {unknown[0]!r}")
        try:
            kwargs = {k: v for k, v in data.items() if k in known}
            for side in ("a", "b"):
                if side in kwargs:
                    kwargs[side] = Latent.from_json(kwargs[side])
            for name in ("mix", "layer_psi", "translate", "edits"):
                if name in kwargs:
                    if not isinstance(kwargs[name], list):
                        raise ValueError(f"{name} must be a list")
                    kwargs[name] = tuple(kwargs[name])
            if "edits" in kwargs:
                kwargs["edits"] = tuple(Edit.from_json(e) for e in kwargs["edits"])
            if kwargs.get("blend") is not None:
                kwargs["blend"] = Blend.from_json(kwargs["blend"])
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise StateError(source, f"bad state: {exc}") from None

    @classmethod
    def loads(cls, text: str, source: str | Path | None = None) -> "State":
        return cls.from_json(parse_json(text, source), source)

    @classmethod
    def load(cls, path: str | Path) -> "State":
        return cls.from_json(read_json(path, "state file"), path)


def migrate(data: Any, source: str | Path | None = None) -> dict:
    """A state's JSON object brought to the current version (a copy; the input is not changed)."""
    if not isinstance(data, dict):
        raise StateError(source, "state must be a JSON object")
    version = data.get("version")
    if version == 1:
        data = dict(data)
        for side in ("a", "b"):
            latent = data.get(side)
            # version 1 truncated imported W+ by the state's psi; keep those files rendering as they did
            if isinstance(latent, dict) and latent.get("w_plus") is not None:
                data[side] = {**latent, "follow_psi": True}
        data["version"] = version = 2
    if version != STATE_VERSION:
        raise StateError(source, f"unsupported state version {version!r} (this program reads versions 1 to {STATE_VERSION})")
    return data


def _only_fields(data: dict, names: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ValueError(f"unknown {what} field {unknown[0]!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _point(value: Any, what: str) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{what} must be a point [x, y], got {value!r}")
    return _finite(value[0], what), _finite(value[1], what)


def _unit(value: Any, what: str) -> float:
    value = _finite(value, what)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be within 0..1, got {value!r}")
    return value
