"""MIDI as sources: control changes, notes (velocity and gate) and pitch bend, each a 0..1 value.

Source names (channels 0..15 as mido numbers them):

- ``midi/cc/CH/N``: control change N, value / 127;
- ``midi/note/CH/N``: the note's velocity / 127 while it is held, 0 when released;
- ``midi/gate/CH/N``: 1 while the note is held, 0 when released;
- ``midi/bend/CH``: pitch bend, 0 (down) .. 0.5 (centre) .. 1 (up).

``MidiInput`` opens a port through mido's python-rtmidi backend when it is installed; without one the
app still runs and ``backend_problem()`` says why MIDI is off. ``feed(hub, message)`` is what the port's
callback does, so injected mido messages (tests, a virtual port) go the same way.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from explorer.control.hub import ControlHub
from explorer.errors import UsageError

BEND_SPAN = 16383.0  # mido's pitch runs -8192..8191


def sources_of(message: Any) -> list[tuple[str, float]]:
    """The (source, value) pairs one mido message sets; other messages (clock, sysex) set none."""
    kind = getattr(message, "type", None)
    channel = getattr(message, "channel", 0)
    if kind == "control_change":
        return [(f"midi/cc/{channel}/{message.control}", message.value / 127.0)]
    if kind in ("note_on", "note_off"):
        velocity = message.velocity / 127.0 if kind == "note_on" else 0.0
        held = 1.0 if velocity > 0 else 0.0
        return [(f"midi/note/{channel}/{message.note}", velocity), (f"midi/gate/{channel}/{message.note}", held)]
    if kind == "pitchwheel":
        return [(f"midi/bend/{channel}", (message.pitch + 8192) / BEND_SPAN)]
    return []


def feed(hub: ControlHub, message: Any, now: float) -> None:
    """Push one mido message's sources into ``hub`` (learn takes the first: the velocity of a note)."""
    for source, value in sources_of(message):
        hub.push_source(source, value, now, origin="midi")


def backend_problem() -> str | None:
    """Why MIDI input cannot work here, or None when it can."""
    try:
        import mido
    except ImportError:
        return "MIDI needs mido and python-rtmidi (pip install 'stylegan-explorer[live]')"
    try:
        mido.get_input_names()
    except Exception as exc:  # noqa: BLE001 - mido reports a missing backend as ImportError or its own errors
        return f"MIDI is off: no backend (install python-rtmidi; {type(exc).__name__})"
    return None


def input_names() -> list[str]:
    """The MIDI input ports there are now (empty without a backend)."""
    if backend_problem() is not None:
        return []
    import mido

    return list(mido.get_input_names())


class MidiInput:
    """An open MIDI input port feeding ``hub`` from mido's callback thread until ``close``."""

    def __init__(self, hub: ControlHub, name: str, clock: Callable[[], float] = time.monotonic):
        problem = backend_problem()
        if problem is not None:
            raise UsageError(problem)
        import mido

        self.hub, self.name, self.clock = hub, name, clock
        try:
            self._port = mido.open_input(name, callback=lambda message: feed(hub, message, clock()))
        except (OSError, IOError, ValueError) as exc:
            names = ", ".join(input_names()) or "none"
            raise UsageError(f"MIDI port {name!r}: cannot open ({exc}); ports: {names}") from None

    def close(self) -> None:
        self._port.close()
