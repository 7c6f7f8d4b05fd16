"""Undo / redo: every change of the state is one ``SetValueCommand`` on a QUndoStack; so is every edit of
the video timeline (its panel pushes its own values and restore function onto the same stack, so Ctrl+Z
walks back through both in the order they were made).

A continuous gesture (a slider drag, a seed-pad drag, a burst of wheel steps or rapid programmatic changes
to one control) must be *one* undo step. Commands therefore merge (Qt's ``id`` / ``mergeWith``) when they
come from the same control within the same *gesture*: a gesture ends when the control is released
(``end_gesture``), when another control changes, or after ``GESTURE_GAP_S`` without changes, unless the
control is held (``begin_gesture``: a slider is down), which no pause ends.
"""

from __future__ import annotations

import time
import zlib
from typing import Any, Callable

from PySide6.QtGui import QUndoCommand, QUndoStack

from explorer.engine.state import State

GESTURE_GAP_S = 0.8


class SetValueCommand(QUndoCommand):
    """Replace a value (a ``State``, or another immutable value with its own ``apply``) by another."""

    def __init__(self, apply: Callable[[Any], None], old, new, text: str, control: str, gesture: int):
        super().__init__(text)
        self._apply = apply
        self.old, self.new = old, new
        self.control, self.gesture = control, gesture
        self._id = zlib.crc32(control.encode()) & 0x3FFFFFFF if control else -1

    def id(self) -> int:
        return self._id

    def mergeWith(self, other) -> bool:
        same = (isinstance(other, SetValueCommand) and other._apply == self._apply
                and other.control == self.control and other.gesture == self.gesture)
        if not same:
            return False
        self.new = other.new
        if self.new == self.old:
            self.setObsolete(True)
        return True

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class StateHistory:
    """A QUndoStack plus the gesture bookkeeping that decides which changes merge."""

    def __init__(self, apply: Callable[[State], None], parent=None):
        self.stack = QUndoStack(parent)
        self._apply = apply
        self._gesture = 0
        self._last_control = ""
        self._last_time = 0.0
        self._held = False

    def push(self, old, new, text: str, control: str = "", apply: Callable[[Any], None] | None = None) -> None:
        """Apply ``new`` as one undo step (merged into the last one while the same control's gesture
        goes on). ``apply`` restores such values; by default they are states, applied to the window."""
        now = time.monotonic()
        timed_out = now - self._last_time > GESTURE_GAP_S and not self._held
        if not control or control != self._last_control or timed_out:
            self._gesture += 1
        self._last_control, self._last_time = control, now
        self.stack.push(SetValueCommand(apply or self._apply, old, new, text, control, self._gesture))

    def begin_gesture(self) -> None:
        """The user pressed a slider / the seed pad: everything until ``end_gesture`` is one step."""
        self._gesture += 1
        self._last_control = ""
        self._held = True

    def end_gesture(self) -> None:
        """The user let go: the next change starts a new undo step."""
        self._gesture += 1
        self._last_control = ""
        self._held = False
