"""``ControlHub``: where every live source meets the registry.

Input threads (the OSC socket, the MIDI port's callback, an audio callback) call ``push_param`` (a
parameter's value, e.g. from ``/explorer/psi``) or ``push_source`` (a source's value for the mappings,
e.g. ``midi/cc/0/7``). Both only check the value and store it under a lock: the latest value per address
wins, the stores are bounded, and every message is counted (accepted, replaced before it was applied,
rejected, unknown, dropped). The UI thread calls ``poll(now)`` at its frame rate and gets the
assignments to apply, so a flood of thousands of messages a second costs one state change per poll.
Nothing in a message is ever executed: a value is a number, a bool or a short text that the parameter's
own ``coerce`` accepts, or it is rejected.

Learning: ``learn(address)`` arms the hub; the next source value that arrives becomes a mapping from
that source to the address (over the parameter's whole range), reported once by ``poll``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

from explorer.control.lfo import Lfo, TapTempo
from explorer.control.mapping import Mapping, ModulationMatrix
from explorer.control.targets import MODULATABLE_KINDS, output_ranges, param_value
from explorer.engine.params import ParamRegistry

LEARNABLE_ORIGINS = ("osc", "midi")  # a knob someone moves; a live audio input streams, so it never learns
MAX_SOURCES = 8192  # more than every MIDI control, note and bend of 16 channels
MAX_TEXT = 64  # the longest text value taken from a message (choices, "off", "2-5")
ORIGINS = ("osc", "midi", "lfo", "audio")


@dataclass
class Counters:
    accepted: int = 0  # stored for the next poll
    replaced: int = 0  # overwritten by a newer value before a poll applied it (latest wins)
    rejected: int = 0  # wrong type or out of range
    unknown: int = 0  # no such parameter
    dropped: int = 0  # the store was full, or control is disabled

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Poll:
    """What one ``poll`` gives the UI: assignments in order, a mapping just learned, a beat that began."""

    assignments: list[tuple[str, Any]] = field(default_factory=list)
    learned: Mapping | None = None
    beat: int | None = None


def _plain(value: Any) -> bool:
    """A value a message may carry: a number, a bool, a short text, or a pair of numbers (a row range)."""
    if isinstance(value, (bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return len(value) <= MAX_TEXT
    if isinstance(value, tuple):
        return len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    return False


class ControlHub:
    def __init__(self, registry: ParamRegistry | None = None):
        self._lock = threading.Lock()
        self._registry = registry
        self._ranges = output_ranges(registry) if registry is not None else {}
        self._pending: dict[str, Any] = {}
        self._sources: dict[str, float] = {}
        self._last_seen: dict[str, float] = {}
        self._learn_target: str | None = None
        self._learned: Mapping | None = None
        self._last_outputs: dict[str, Any] = {}
        self._last_beat: int | None = None
        self.counters = Counters()
        self.matrix = ModulationMatrix()
        self.lfos: tuple[Lfo, ...] = ()
        self.tempo = TapTempo()
        self.enabled = True
        self.clock_start = 0.0  # LFO time zero

    # ---- set up (UI thread) ------------------------------------------------------------------------
    def set_registry(self, registry: ParamRegistry) -> None:
        """The parameters of the model and state now shown (rebuilt when either changes)."""
        with self._lock:
            self._registry = registry
            self._ranges = output_ranges(registry)

    @property
    def mappings(self) -> tuple[Mapping, ...]:
        return self.matrix.mappings

    def set_mappings(self, mappings) -> None:
        with self._lock:
            self.matrix.set_mappings(mappings)

    def learn(self, address: str | None) -> None:
        """Arm learning for ``address`` (None cancels)."""
        with self._lock:
            self._learn_target = address

    @property
    def learning(self) -> str | None:
        return self._learn_target

    # ---- input (any thread) ------------------------------------------------------------------------
    def push_param(self, address: str, value: Any, now: float, origin: str = "osc") -> bool:
        """Store ``value`` for the parameter ``address``; False (and counted) when it is refused."""
        with self._lock:
            self._last_seen[origin] = now
            param = self._registry[address] if self._registry is not None and address in self._registry else None
            if param is None:
                self.counters.unknown += 1
                return False
            if not _plain(value):
                self.counters.rejected += 1
                return False
            try:
                value = param.coerce(value)
            except Exception:  # noqa: BLE001 - anything a hostile value provokes is a rejection, never a crash
                self.counters.rejected += 1
                return False
            if not self.enabled:
                self.counters.dropped += 1
                return False
            if address in self._pending:
                self.counters.replaced += 1
            self._pending[address] = value
            self.counters.accepted += 1
            return True

    def push_source(self, source: str, value: Any, now: float, origin: str) -> bool:
        """Store a source's value (a finite number) for the mappings."""
        with self._lock:
            self._last_seen[origin] = now
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not isinstance(source, str) or len(source) > MAX_TEXT:
                self.counters.rejected += 1
                return False
            if source not in self._sources and len(self._sources) >= MAX_SOURCES:
                self.counters.dropped += 1
                return False
            self._sources[source] = float(value)
            self.counters.accepted += 1
            target = self._learn_target
            if target is not None and origin in LEARNABLE_ORIGINS and target in self._ranges \
                    and self._registry[target].kind in MODULATABLE_KINDS:
                self._learned = Mapping(source, target)
                self.matrix.set_mappings(self.matrix.mappings + (self._learned,))
                self._learn_target = None
            return True

    def reject(self, origin: str | None, now: float, count: int = 1) -> None:
        """Count messages refused after all: unreadable (a damaged OSC packet), or refused by the state
        when applied (``origin`` None: they were already seen)."""
        with self._lock:
            if origin is not None:
                self._last_seen[origin] = now
            self.counters.rejected += count

    def last_seen(self, origin: str) -> float | None:
        """When ``origin`` (osc, midi, audio) last sent anything, valid or not."""
        return self._last_seen.get(origin)

    def source_value(self, source: str, now: float) -> float | None:
        """A source's current value (LFOs are computed at ``now``): the Controls dock's meters."""
        with self._lock:
            return self._source_values(now).get(source)

    # ---- output (UI thread) ------------------------------------------------------------------------
    def _source_values(self, now: float) -> dict[str, float]:
        values = dict(self._sources)
        for k, lfo in enumerate(self.lfos):
            values[f"lfo/{k}"] = lfo.value(now - self.clock_start, self.tempo.bpm)
        return values

    def poll(self, now: float) -> Poll:
        """The assignments to apply now: parameters set directly since the last poll, then each mapping
        whose value changed. Values are already checked and of the parameter's kind."""
        with self._lock:
            result = Poll(list(self._pending.items()), self._learned)
            self._pending.clear()
            self._learned = None
            if not self.enabled or self._registry is None:
                return Poll(learned=result.learned)
            outputs = self.matrix.evaluate(self._source_values(now), now, self._ranges)
            for address, number in outputs.items():
                if address not in self._registry:  # an explicit range on an edit that is gone
                    continue
                value = param_value(self._registry[address], number)
                if self._last_outputs.get(address) != value:
                    self._last_outputs[address] = value
                    result.assignments.append((address, value))
            beat = math.floor((now - self.clock_start) * self.tempo.bpm / 60.0)
            if beat != self._last_beat:
                result.beat = self._last_beat = beat
            return result
