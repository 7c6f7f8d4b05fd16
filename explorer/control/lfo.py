"""LFOs and tempo: sources that are a function of time alone, so live and offline agree.

An ``Lfo`` swings 0..1 with a ``shape`` (sine, triangle, saw, random-smooth) at ``rate`` cycles per
second (``unit="hz"``) or per beat (``unit="beats"``: 0.25 is one cycle a bar of four, at the tempo's
BPM). ``random-smooth`` passes through a seeded random value at each whole cycle, cosine-eased in between:
it wanders, but the same seed wanders the same way every time. ``TapTempo`` turns taps into a BPM.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from typing import Any

from explorer.errors import UsageError

SHAPES = ("sine", "triangle", "saw", "random-smooth")
UNITS = ("hz", "beats")
DEFAULT_BPM = 120.0
BPM_RANGE = (20.0, 300.0)
MAX_RATE = 100.0
TAP_RESET_S = 2.0  # a pause longer than this starts a new tempo
TAP_MEMORY = 8  # intervals averaged


def check_bpm(bpm: Any) -> float:
    low, high = BPM_RANGE
    if isinstance(bpm, bool) or not isinstance(bpm, (int, float)) or not low <= bpm <= high:
        raise UsageError(f"tempo must be {low:g}..{high:g} BPM, got {bpm!r}")
    return float(bpm)


@dataclass(frozen=True)
class Lfo:
    shape: str = "sine"
    rate: float = 0.25
    unit: str = "hz"
    phase: float = 0.0  # in cycles, 0..1
    seed: int = 0  # random-smooth's path

    def __post_init__(self):
        if self.shape not in SHAPES:
            raise UsageError(f"unknown LFO shape {self.shape!r} (choose from: {', '.join(SHAPES)})")
        if self.unit not in UNITS:
            raise UsageError(f"unknown LFO unit {self.unit!r} (choose from: {', '.join(UNITS)})")
        for name, low, high in (("rate", 0.0, MAX_RATE), ("phase", 0.0, 1.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise UsageError(f"LFO {name} must be {low:g}..{high:g}, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise UsageError(f"LFO seed must be an integer 0..2^32-1, got {self.seed!r}")

    def replace(self, **changes) -> "Lfo":
        return replace(self, **changes)

    def cycles(self, seconds: float, bpm: float = DEFAULT_BPM) -> float:
        per_second = self.rate if self.unit == "hz" else self.rate * bpm / 60.0
        return seconds * per_second + self.phase

    def value(self, seconds: float, bpm: float = DEFAULT_BPM) -> float:
        """0..1 at ``seconds`` since the clock started."""
        c = self.cycles(seconds, bpm)
        u = c - math.floor(c)
        if self.shape == "sine":
            return 0.5 - 0.5 * math.cos(2 * math.pi * u)  # starts at 0, like the others
        if self.shape == "triangle":
            return 1.0 - abs(2.0 * u - 1.0) if u else 0.0
        if self.shape == "saw":
            return u
        n = math.floor(c)
        a, b = self._random_at(n), self._random_at(n + 1)
        return a + (b - a) * (0.5 - 0.5 * math.cos(math.pi * u))

    def _random_at(self, cycle: int) -> float:
        return random.Random(self.seed * 1_000_003 + cycle).random()

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: Any) -> "Lfo":
        if not isinstance(data, dict) or set(data) - set(cls.__dataclass_fields__):
            raise UsageError(f"an LFO must be an object with fields {', '.join(cls.__dataclass_fields__)}")
        return cls(**data)


@dataclass
class TapTempo:
    """Taps (times in seconds) -> BPM, the mean of the last intervals; a long pause starts over."""

    bpm: float = DEFAULT_BPM
    _taps: list[float] = field(default_factory=list)

    def tap(self, now: float) -> float:
        if self._taps and now - self._taps[-1] > TAP_RESET_S:
            self._taps.clear()
        self._taps.append(now)
        del self._taps[:-(TAP_MEMORY + 1)]
        if len(self._taps) >= 2:
            interval = (self._taps[-1] - self._taps[0]) / (len(self._taps) - 1)
            if interval > 0:
                low, high = BPM_RANGE
                self.bpm = min(high, max(low, 60.0 / interval))
        return self.bpm
