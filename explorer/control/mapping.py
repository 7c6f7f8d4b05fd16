"""Mappings: one source value -> one parameter, and the matrix that evaluates them all.

A source value is a number, normally 0..1 (a MIDI CC is value / 127, an audio feature is normalised,
an LFO swings 0..1). A ``Mapping`` takes it from its input range to 0..1 (clamped), inverts it if asked,
smooths it (EMA or slew, in milliseconds), shapes it with a curve and scales it to the output range, by
default the parameter's own range. ``ModulationMatrix.evaluate(values, now)`` does that for every
enabled mapping and returns {address: value} ready for ``ParamRegistry.set``; it keeps the smoothing and
toggle state between calls, and depends only on the times it is given, so a video rendered offline
(now = frame / fps) moves exactly as the live window does.

Text form (``explorer video --map``): ``SOURCE:ADDRESS[:LOW..HIGH][:OPTION]...`` where OPTION is a curve
(``linear``, ``exponential``, ``toggle``, ``step`` or ``step=N``), ``invert``, ``ema=MS``, ``slew=MS`` or
``in=LOW..HIGH``; e.g. ``low:psi:0.5..1.2:ema=80`` or ``onset:edit/0/amount:0..3``.
Nothing here evaluates text as code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from explorer.errors import UsageError

CURVES = ("linear", "exponential", "toggle", "step")
SMOOTHING = ("ema", "slew")
EXP_SHARPNESS = 4.0  # the exponential curve is (e^(kx) - 1) / (e^k - 1): slow start, fast end
MAX_SMOOTHING_MS = 60_000.0
MAX_STEPS = 128


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{what} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Mapping:
    """``source`` (e.g. ``audio/low``, ``midi/cc/0/7``, ``lfo/0``) drives the parameter ``target``."""

    source: str
    target: str
    out_low: float | None = None  # None: the parameter's own range
    out_high: float | None = None
    in_low: float = 0.0
    in_high: float = 1.0
    curve: str = "linear"
    steps: int = 4  # levels of the 'step' curve
    smoothing: str = "ema"
    smoothing_ms: float = 0.0
    invert: bool = False
    enabled: bool = True

    def __post_init__(self):
        for name in ("source", "target"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise UsageError(f"a mapping's {name} must be a short non-empty text, got {value!r}")
        if self.curve not in CURVES:
            raise UsageError(f"unknown curve {self.curve!r} (choose from: {', '.join(CURVES)})")
        if self.smoothing not in SMOOTHING:
            raise UsageError(f"unknown smoothing {self.smoothing!r} (choose from: {', '.join(SMOOTHING)})")
        for name in ("in_low", "in_high", "smoothing_ms"):
            object.__setattr__(self, name, _finite(getattr(self, name), name))
        for name in ("out_low", "out_high"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _finite(getattr(self, name), name))
        if (self.out_low is None) != (self.out_high is None):
            raise UsageError("give both ends of a mapping's output range, or neither")
        if self.in_low == self.in_high:
            raise UsageError(f"a mapping's input range is empty ({self.in_low:g}..{self.in_high:g})")
        if not 0 <= self.smoothing_ms <= MAX_SMOOTHING_MS:
            raise UsageError(f"smoothing must be 0..{MAX_SMOOTHING_MS:g} ms, got {self.smoothing_ms:g}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 2 <= self.steps <= MAX_STEPS:
            raise UsageError(f"a step curve needs 2..{MAX_STEPS} steps, got {self.steps!r}")
        for name in ("invert", "enabled"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"a mapping's {name} must be true or false, got {getattr(self, name)!r}")

    def replace(self, **changes) -> "Mapping":
        return replace(self, **changes)

    def normalise(self, value: float) -> float:
        """The input range -> 0..1, clamped, inverted if asked."""
        x = (value - self.in_low) / (self.in_high - self.in_low)
        x = min(1.0, max(0.0, x))
        return 1.0 - x if self.invert else x

    def shape(self, x: float) -> float:
        """The curve of 0..1 (already smoothed); 'toggle' is handled by the matrix (it has a memory)."""
        if self.curve == "exponential":
            return math.expm1(EXP_SHARPNESS * x) / math.expm1(EXP_SHARPNESS)
        if self.curve == "step":
            return min(math.floor(x * self.steps), self.steps - 1) / (self.steps - 1)
        return x

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def to_text(self) -> str:
        """The text form ``parse_mapping`` reads (``--map``), with every option that is not the default."""
        parts = [self.source, self.target]
        if self.out_low is not None:
            parts.append(f"{self.out_low!r}..{self.out_high!r}")
        if (self.in_low, self.in_high) != (0.0, 1.0):
            parts.append(f"in={self.in_low!r}..{self.in_high!r}")
        if self.curve == "step":
            parts.append(f"step={self.steps}")
        elif self.curve != "linear":
            parts.append(self.curve)
        if self.smoothing_ms:
            parts.append(f"{self.smoothing}={self.smoothing_ms!r}")
        if self.invert:
            parts.append("invert")
        return ":".join(parts)

    @classmethod
    def from_json(cls, data: Any) -> "Mapping":
        if not isinstance(data, dict):
            raise UsageError(f"a mapping must be an object, got {type(data).__name__}")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise UsageError(f"a mapping has unknown field {sorted(unknown)[0]!r}")
        try:
            return cls(**data)
        except TypeError as exc:  # a missing source / target
            raise UsageError(f"a mapping needs a source and a target ({exc})") from None


def mappings_from_json(data: Any) -> tuple[Mapping, ...]:
    """A list of mapping objects (a session's or recipe's "controls" part) checked one by one."""
    if not isinstance(data, list):
        raise UsageError(f"mappings must be a list, got {type(data).__name__}")
    return tuple(Mapping.from_json(item) for item in data)


def _parse_range(text: str, what: str) -> tuple[float, float]:
    low, sep, high = text.partition("..")
    try:
        if not sep:
            raise ValueError
        return _finite(float(low), what), _finite(float(high), what)
    except (ValueError, UsageError):
        raise UsageError(f"{what} must be LOW..HIGH, e.g. 0.5..1.2, got {text!r}") from None


def parse_mapping(text: str, source_aliases: dict[str, str] | None = None) -> Mapping:
    """A mapping from its text form (module docstring); ``source_aliases`` maps short names (``low``)."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise UsageError(f"--map {text!r}: expected SOURCE:ADDRESS[:LOW..HIGH][:OPTION...]")
    source = (source_aliases or {}).get(parts[0], parts[0])
    fields: dict[str, Any] = {"source": source, "target": parts[1]}
    try:
        for option in parts[2:]:
            name, sep, value = option.partition("=")
            if ".." in option and not sep:
                fields["out_low"], fields["out_high"] = _parse_range(option, "an output range")
            elif name == "in" and sep:
                fields["in_low"], fields["in_high"] = _parse_range(value, "an input range")
            elif name in CURVES and (not sep or name == "step"):
                fields["curve"] = name
                if sep:
                    fields["steps"] = int(value)
            elif name in SMOOTHING and sep:
                fields["smoothing"], fields["smoothing_ms"] = name, float(value)
            elif option == "invert":
                fields["invert"] = True
            else:
                raise UsageError(f"unknown option {option!r} (a range LOW..HIGH, {', '.join(CURVES)}, step=N, "
                                 "invert, ema=MS, slew=MS, in=LOW..HIGH)")
        return Mapping(**fields)
    except ValueError:
        raise UsageError(f"--map {text!r}: a number is not a number") from None
    except UsageError as exc:
        raise UsageError(f"--map {text!r}: {exc}") from None


@dataclass
class _Memory:
    """What a mapping remembers between evaluations."""

    value: float | None = None  # smoothed 0..1
    time: float | None = None
    toggled: bool = False
    was_high: bool = False


@dataclass
class ModulationMatrix:
    """Mappings plus their memories; ``evaluate`` gives each enabled mapping's parameter value.

    ``ranges`` gives a target's default output range (the parameter's low..high); a target missing from
    it, and without an explicit output range, is skipped (an edit that no longer exists).
    """

    mappings: tuple[Mapping, ...] = ()
    _memory: dict[int, _Memory] = field(default_factory=dict)

    def set_mappings(self, mappings) -> None:
        """New mappings; memories are kept for mappings that did not change (by position and value)."""
        old = {(i, m): self._memory.get(i) for i, m in enumerate(self.mappings)}
        self.mappings = tuple(mappings)
        self._memory = {i: old[(i, m)] for i, m in enumerate(self.mappings) if old.get((i, m)) is not None}

    def reset(self) -> None:
        """Forget smoothing and toggles (a new render starts from scratch)."""
        self._memory.clear()

    def evaluate(self, values: dict[str, float], now: float,
                 ranges: dict[str, tuple[float, float]]) -> dict[str, float]:
        out: dict[str, float] = {}
        for i, mapping in enumerate(self.mappings):
            if not mapping.enabled or mapping.source not in values:
                continue
            if mapping.out_low is not None:
                low, high = mapping.out_low, mapping.out_high
            elif mapping.target in ranges:
                low, high = ranges[mapping.target]
            else:
                continue
            memory = self._memory.setdefault(i, _Memory())
            x = self._smoothed(mapping, memory, mapping.normalise(float(values[mapping.source])), now)
            if mapping.curve == "toggle":
                high_now = x >= 0.5
                if high_now and not memory.was_high:  # a press flips it; the release does nothing
                    memory.toggled = not memory.toggled
                memory.was_high = high_now
                y = 1.0 if memory.toggled else 0.0
            else:
                y = mapping.shape(x)
            out[mapping.target] = low + (high - low) * y
        return out

    @staticmethod
    def _smoothed(mapping: Mapping, memory: _Memory, x: float, now: float) -> float:
        if memory.value is None or mapping.smoothing_ms <= 0 or memory.time is None:
            memory.value, memory.time = x, now
            return x
        dt = max(0.0, now - memory.time)
        tau = mapping.smoothing_ms / 1000.0
        if mapping.smoothing == "ema":
            memory.value += (x - memory.value) * (1.0 - math.exp(-dt / tau))
        else:  # slew: at most the whole range per smoothing_ms
            step = dt / tau
            memory.value += max(-step, min(step, x - memory.value))
        memory.time = now
        return memory.value
