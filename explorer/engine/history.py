"""Undo / redo of a document's values, with gesture merging. Qt-free: the window binds its Undo / Redo
actions to it, and a script or a live controller drives the same history.

Each step holds an old and a new value and the function that applies such values (the document's state
by default; the video timeline pushes its own values and restore function onto the same history, so undo
walks back through both in the order they were made).

A continuous gesture (a slider drag, a seed-pad drag, a burst of wheel steps, a stream of controller
messages) must be *one* step. A change therefore merges into the previous step when it comes from the same
control within the same *gesture*: a gesture ends when the control is released (``end_gesture``), when
another control changes, or after ``GESTURE_GAP_S`` without changes, unless the control is held
(``begin_gesture``: a slider is down), which no pause ends. A merged step that ends where it began is
dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

GESTURE_GAP_S = 0.8
DEFAULT_LIMIT = 500  # steps kept; the oldest go first (a state with an imported W+ is a few kB)


@dataclass
class Step:
    old: Any
    new: Any
    text: str
    control: str
    gesture: int
    apply: Callable[[Any], None]


class History:
    def __init__(self, apply: Callable[[Any], None], limit: int = DEFAULT_LIMIT,
                 clock: Callable[[], float] = time.monotonic):
        self._apply = apply
        self._limit = limit
        self._clock = clock
        self._done: list[Step] = []
        self._undone: list[Step] = []
        self._gesture = 0
        self._last_control = ""
        self._last_time = float("-inf")
        self._held = False
        self._listeners: list[Callable[[], None]] = []

    # ---- recording -----------------------------------------------------------------------------------
    def push(self, old, new, text: str, control: str = "", apply: Callable[[Any], None] | None = None) -> None:
        """Apply ``new`` as one step (merged into the last one while the same control's gesture goes on)."""
        apply = apply or self._apply
        now = self._clock()
        timed_out = now - self._last_time > GESTURE_GAP_S and not self._held
        if not control or control != self._last_control or timed_out:
            self._gesture += 1
        self._last_control, self._last_time = control, now
        last = self._done[-1] if self._done else None
        if last is not None and control and last.control == control and last.gesture == self._gesture \
                and last.apply == apply:
            last.new, last.text = new, text
            if last.new == last.old:
                self._done.pop()
        else:
            self._done.append(Step(old, new, text, control, self._gesture, apply))
            del self._done[:-self._limit]
        self._undone.clear()
        apply(new)
        self._changed()

    def begin_gesture(self) -> None:
        """The user pressed a control: everything until ``end_gesture`` is one step."""
        self._gesture += 1
        self._last_control = ""
        self._held = True

    def end_gesture(self) -> None:
        """The user let go: the next change starts a new step."""
        self._gesture += 1
        self._last_control = ""
        self._held = False

    def clear(self) -> None:
        """Forget every step (a new model: earlier states may not fit it)."""
        self._done.clear()
        self._undone.clear()
        self._changed()

    # ---- walking back and forth ----------------------------------------------------------------------
    def undo(self) -> bool:
        if not self._done:
            return False
        step = self._done.pop()
        self._undone.append(step)
        self._gesture += 1  # a change after an undo never merges into the step before it
        step.apply(step.old)
        self._changed()
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        step = self._undone.pop()
        self._done.append(step)
        self._gesture += 1
        step.apply(step.new)
        self._changed()
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    def __len__(self) -> int:
        return len(self._done)

    # ---- listeners -------------------------------------------------------------------------------------
    def add_listener(self, fn: Callable[[], None]) -> None:
        """``fn()`` after every push, undo, redo and clear (the window updates its Undo / Redo actions)."""
        self._listeners.append(fn)

    def _changed(self) -> None:
        for fn in self._listeners:
            fn()
