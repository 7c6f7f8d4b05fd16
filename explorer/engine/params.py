"""Every value an artist can change, by name: the parameter registry.

A ``Param`` has an address (``psi``, ``mix/3``, ``edit/0/amount``), a kind (``continuous``, ``integer``,
``choice``, ``bool``, ``range``: a first..last pair of rows, or ``path``: a file), its range or choices, a default, a group
(for listings and panels) and a pure setter ``(state, value) -> state``. A ``ParamRegistry`` is built for
one model (its rows, classes and input transform decide which addresses exist) and one state (its edits
add theirs). The window's panels, the CLI's state flags and ``--set ADDRESS=VALUE``, live controllers
(OSC addresses are ``/explorer/<address>``) and the video timeline all set values through it, so a value
is validated in one place and a bad one is a one-line error naming the address and its range.

Adding a parameter: add a ``Param`` to the provider that owns its group below, or write a provider
``(model, state) -> iterable of Param`` and append it to ``PROVIDERS``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from explorer.engine.state import BLEND_MAPPINGS, BLEND_MODES, MAX_SEED, NOISE_MODES, Blend, State
from explorer.errors import ParamError

KINDS = ("continuous", "integer", "choice", "bool", "range", "path")
CONTINUOUS_KINDS = ("continuous",)  # what a video interpolates between keyframes; the rest hold until the next
OFF = "off"  # the value that clears an optional parameter (a row's own psi, the blend)
NO_BLEND = "this state has no blend (set blend/model=FILE first)"


@dataclass(frozen=True)
class Param:
    address: str
    kind: str
    label: str
    group: str
    default: Any
    get: Callable[[State], Any]
    set: Callable[[State, Any], State]
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    optional: bool = False  # accepts OFF (None): the parameter then does not apply

    @property
    def range_text(self) -> str:
        if self.kind == "choice":
            text = "one of " + ", ".join(map(str, self.choices))
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "range":
            text = f"rows first-last within {self.low}..{self.high}"
        elif self.kind == "path":
            text = "a file path"
        else:
            text = f"{_number(self.low)}..{_number(self.high)}"
        return text + (f", or {OFF}" if self.optional else "")

    def coerce(self, value: Any) -> Any:
        """``value`` (a number, or text from a command line or a message) checked and converted for ``set``."""
        if self.optional and (value is None or (isinstance(value, str) and value.strip().lower() == OFF)):
            return None
        try:
            converted = _CONVERTERS[self.kind](self, value)
        except (TypeError, ValueError, OverflowError):
            converted = None
        if converted is None:
            within = "within " if self.kind in ("continuous", "integer", "range") else ""
            raise ParamError(self.address, f"must be {within}{self.range_text}, got {value!r}")
        return converted

    def to_json(self) -> dict:
        out = {"address": self.address, "kind": self.kind, "label": self.label, "group": self.group,
               "default": list(self.default) if isinstance(self.default, tuple) else self.default}
        if self.kind == "choice":
            out["choices"] = list(self.choices)
        elif self.kind not in ("bool", "path"):
            out["low"], out["high"] = self.low, self.high
        if self.optional:
            out["optional"] = True
        return out


def _continuous(param: Param, value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    number = float(value.strip()) if isinstance(value, str) else float(value)
    if not math.isfinite(number) or not param.low <= number <= param.high:
        return None
    return number


def _integer(param: Param, value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    number = int(value.strip()) if isinstance(value, str) else int(value)
    return number if param.low <= number <= param.high else None


def _choice(param: Param, value: Any) -> Any:
    for choice in param.choices:
        if value == choice or (isinstance(value, str) and value.strip() == str(choice)):
            return choice
    return None


def _bool(param: Param, value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    return {"true": True, "1": True, "on": True, "yes": True,
            "false": False, "0": False, "off": False, "no": False}.get(text)


def _row_range(param: Param, value: Any) -> tuple[int, int] | None:
    if isinstance(value, str):
        first, _, last = value.strip().partition("-")
        value = (int(first), int(last or first))
    first, last = (int(v) for v in value)
    return (first, last) if param.low <= first <= last <= param.high else None


def _path(param: Param, value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None  # "" is kept: the setter reads it as 'none'


_CONVERTERS = {"continuous": _continuous, "integer": _integer, "choice": _choice, "bool": _bool, "range": _row_range,
               "path": _path}


def _number(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# ---- providers: the parameters of each part of the state -------------------------------------------------

def _latent_params(model, state: State) -> Iterator[Param]:
    for side in ("a", "b"):
        yield Param(f"seed_{side}", "integer", f"Seed {side.upper()}", "latent", 0 if side == "a" else 1,
                    lambda s, side=side: getattr(s, side).seed,
                    lambda s, v, side=side: s.replace(**{side: type(getattr(s, side))(seed=v)}),
                    low=0, high=MAX_SEED)
    if model.c_dim:
        yield Param("class", "integer", "Class", "latent", 0, lambda s: s.class_idx,
                    lambda s, v: s.replace(class_idx=v), low=0, high=model.c_dim - 1)


def _truncation_params(model, state: State) -> Iterator[Param]:
    num_ws = model.num_ws
    yield Param("psi", "continuous", "Truncation psi", "truncation", 1.0, lambda s: s.psi,
                lambda s, v: s.replace(psi=v), low=-1.0, high=2.0)
    yield Param("trunc_cutoff", "integer", "Truncation cutoff (rows)", "truncation", num_ws,
                lambda s: num_ws if s.cutoff is None else s.cutoff,
                lambda s, v: s.replace(cutoff=None if v >= num_ws else v), low=0, high=num_ws)
    for row in range(num_ws):
        yield Param(f"psi/{row}", "continuous", f"Row {row} psi", "truncation", None,
                    lambda s, row=row: s.layer_psi[row] if row < len(s.layer_psi) else None,
                    lambda s, v, row=row: s.replace(layer_psi=_set_row(s.layer_psi, num_ws, row, v, None)),
                    low=-1.0, high=2.0, optional=True)


def _mixing_params(model, state: State) -> Iterator[Param]:
    num_ws = model.num_ws
    for row in range(num_ws):
        yield Param(f"mix/{row}", "continuous", f"Row {row} from B", "mixing", 0.0,
                    lambda s, row=row: s.mix_weights(num_ws)[row],
                    lambda s, v, row=row: s.replace(mix=_set_row(s.mix, num_ws, row, v, 0.0)),
                    low=0.0, high=1.0)


def _noise_params(model, state: State) -> Iterator[Param]:
    yield Param("noise/mode", "choice", "Noise", "noise", "const", lambda s: s.noise_mode,
                lambda s, v: s.replace(noise_mode=v), choices=NOISE_MODES)
    yield Param("noise/seed", "integer", "Noise seed", "noise", 0, lambda s: s.noise_seed,
                lambda s, v: s.replace(noise_seed=v), low=0, high=MAX_SEED)
    yield Param("noise/strength", "continuous", "Noise strength", "noise", 1.0, lambda s: s.noise_strength,
                lambda s, v: s.replace(noise_strength=v), low=0.0, high=5.0)


def _transform_params(model, state: State) -> Iterator[Param]:
    if not model.has_input_transform:
        return
    for axis, index in (("x", 0), ("y", 1)):
        yield Param(f"translate/{axis}", "continuous", f"Translate {axis}", "transform", 0.0,
                    lambda s, index=index: s.translate[index],
                    lambda s, v, index=index: s.replace(translate=_set_pair(s.translate, index, v)),
                    low=-2.0, high=2.0)
    yield Param("rotate", "continuous", "Rotate (degrees)", "transform", 0.0, lambda s: s.rotate,
                lambda s, v: s.replace(rotate=v), low=-360.0, high=360.0)


def _edit_params(model, state: State) -> Iterator[Param]:
    num_ws = model.num_ws
    for k, edit in enumerate(state.edits):
        name = edit.name or f"direction {edit.index}"
        yield Param(f"edit/{k}/amount", "continuous", f"{name} (sigma)", "edits", 0.0,
                    lambda s, k=k: s.edits[k].amount if k < len(s.edits) else 0.0,
                    lambda s, v, k=k: _set_edit(s, k, amount=v), low=-5.0, high=5.0)
        yield Param(f"edit/{k}/layers", "range", f"{name} rows", "edits", (0, num_ws - 1),
                    lambda s, k=k: s.edits[k].rows or (0, num_ws - 1) if k < len(s.edits) else (0, num_ws - 1),
                    lambda s, v, k=k: _set_edit(s, k, rows=v), low=0, high=num_ws - 1)


def _set_row(values: tuple, num_ws: int, row: int, value, fill) -> tuple:
    padded = list(values[:num_ws]) + [fill] * (num_ws - len(values[:num_ws]))
    padded[row] = value
    return tuple(padded)


def _set_pair(pair: tuple[float, float], index: int, value: float) -> tuple[float, float]:
    out = list(pair)
    out[index] = value
    return tuple(out)


def _set_edit(state: State, k: int, **changes) -> State:
    if k >= len(state.edits):  # the edit was removed since the registry was built
        raise ParamError(f"edit/{k}", "no such edit in this state")
    edits = list(state.edits)
    edits[k] = dataclasses.replace(edits[k], **changes)
    return state.replace(edits=tuple(edits))


def _blend_params(model, state: State) -> Iterator[Param]:
    """The model blend: ``blend/model`` (a file; ``off`` or empty removes the blend) and its curve.

    They exist whether or not the state has a blend yet, so that one command line can start one
    (``--set blend/model=B.pkl --set blend/mid=32``); the curve's setters refuse a state without one.
    """
    yield Param("blend/model", "path", "Blend with model", "blend", None,
                lambda s: None if s.blend is None else s.blend.model, _set_blend_model, optional=True)
    yield Param("blend/mode", "choice", "Blend curve", "blend", "sigmoid", lambda s: _blend_field(s, "mode"),
                lambda s, v: _set_blend(s, "blend/mode", mode=v), choices=BLEND_MODES)
    yield Param("blend/mid", "integer", "Blend middle (px)", "blend", 16, lambda s: _blend_field(s, "mid"),
                lambda s, v: _set_blend(s, "blend/mid", mid=v), low=1, high=1 << 16)
    yield Param("blend/width", "continuous", "Blend width (layers)", "blend", 1.0, lambda s: _blend_field(s, "width"),
                lambda s, v: _set_blend(s, "blend/width", width=v), low=0.01, high=16.0)
    yield Param("blend/mapping", "choice", "Mapping from", "blend", "a", lambda s: _blend_field(s, "mapping"),
                lambda s, v: _set_blend(s, "blend/mapping", mapping=v), choices=BLEND_MAPPINGS)
    layer_infos = list(model.layer_infos)
    for k, info in enumerate(layer_infos):
        yield Param(f"blend/layer/{k}", "continuous", f"{info.name} from B", "blend", 0.0,
                    lambda s, k=k: 0.0 if s.blend is None else _blend_curve(s, layer_infos)[k],
                    lambda s, v, k=k: _set_blend_layer(s, layer_infos, k, v), low=0.0, high=1.0)


# what the curve parameters read while a state has no blend: a new blend's defaults
_BLEND_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Blend) if f.default is not dataclasses.MISSING}


def _blend_field(state: State, name: str) -> Any:
    return _BLEND_DEFAULTS[name] if state.blend is None else getattr(state.blend, name)


def _set_blend_model(state: State, path: str | None) -> State:
    """Blend with the model file ``path`` (named by absolute path and sha256), keeping the curve; None
    or empty removes the blend. Architecture is checked where B is opened (rendering, saving)."""
    if not path:
        return state.replace(blend=None)
    from explorer.engine.blend import identify_model_file  # torch-heavy: only when a blend is set
    from explorer.errors import ModelError

    try:
        resolved, sha256 = identify_model_file(path)
    except ModelError as exc:  # no such file, an empty run folder
        raise ParamError("blend/model", str(exc)) from None
    except OSError as exc:
        raise ParamError("blend/model", f"{path}: cannot read ({exc.strerror or exc})") from None
    if state.blend is None:
        return state.replace(blend=Blend(model=resolved, sha256=sha256))
    return _set_blend(state, "blend/model", model=resolved, sha256=sha256)


def _blend_curve(state: State, layer_infos: list) -> list[float]:
    from explorer.engine.blend import blend_weights  # torch-heavy: only when a blend is asked about

    return blend_weights(state.blend, layer_infos)


def _set_blend_layer(state: State, layer_infos: list, k: int, value: float) -> State:
    """One layer's weight; the blend becomes a per-layer one, starting from the curve it had, so that
    moving one layer leaves the others where they were."""
    if state.blend is None:
        raise ParamError(f"blend/layer/{k}", NO_BLEND)
    weights = _blend_curve(state, layer_infos)
    weights[k] = value
    return _set_blend(state, f"blend/layer/{k}", mode="layers", layers=tuple(weights))


def _set_blend(state: State, address: str, **changes) -> State:
    if state.blend is None:
        raise ParamError(address, NO_BLEND)
    return state.replace(blend=dataclasses.replace(state.blend, **changes))


PROVIDERS: list[Callable[[Any, State], Iterable[Param]]] = [
    _latent_params, _truncation_params, _mixing_params, _noise_params, _transform_params, _edit_params,
    _blend_params,
]


class ParamRegistry:
    """The parameters of one model (anything with ``num_ws``, ``c_dim`` and ``has_input_transform``:
    a generator, ``ModelDescription``) and one state, by address."""

    def __init__(self, params: Iterable[Param]):
        self._params = {p.address: p for p in params}

    @classmethod
    def for_model(cls, model, state: State | None = None) -> "ParamRegistry":
        """The parameters of ``model`` (a ``ModelDescription``, or a generator, which is described) and
        ``state`` (its edits and blend add theirs)."""
        from explorer.engine.describe import as_description  # describe imports the model code; params stays light

        model = as_description(model)
        state = state if state is not None else State()
        return cls(p for provider in PROVIDERS for p in provider(model, state))

    def __contains__(self, address: str) -> bool:
        return address in self._params

    def __iter__(self) -> Iterator[Param]:
        return iter(self._params.values())

    def __len__(self) -> int:
        return len(self._params)

    def __getitem__(self, address: str) -> Param:
        param = self._params.get(address)
        if param is None:
            raise ParamError(address, "unknown parameter for this model (`explorer params` lists them)")
        return param

    def value(self, state: State, address: str) -> Any:
        return self[address].get(state)

    def set(self, state: State, address: str, value: Any) -> State:
        """``state`` with ``address`` set to ``value`` (checked against the parameter's range first)."""
        param = self[address]
        try:
            return param.set(state, param.coerce(value))
        except ValueError as exc:  # the state refused a combination the range alone allows
            raise ParamError(address, str(exc)) from None

    def apply(self, state: State, assignments: Iterable[str]) -> State:
        """``state`` with each ``ADDRESS=VALUE`` applied in order (the CLI's ``--set``)."""
        for text in assignments:
            address, sep, value = text.partition("=")
            if not sep or not address.strip():
                raise ParamError(text, "expected ADDRESS=VALUE")
            state = self.set(state, address.strip(), value)
        return state

    def to_json(self) -> list[dict]:
        return [p.to_json() for p in self]
