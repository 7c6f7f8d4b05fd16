"""Dragging a whole state between widgets: a favourite onto seed A / B or onto the timeline.

A drag carries the state as JSON under ``STATE_MIME`` (and, for other applications, a PNG with its recipe
as a file URL). ``accept_state_drops(widget, on_drop)`` makes any widget a target: it takes drags that carry
a state and hands the dropped ``State`` to ``on_drop``; other drags (files, a list's own reordering) pass by.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEvent, QMimeData, QObject, QUrl

from explorer.engine.state import State
from explorer.errors import ExplorerError

STATE_MIME = "application/x-stylegan-explorer-state"


def state_mime(state: State, png: Path | None = None) -> QMimeData:
    mime = QMimeData()
    mime.setData(STATE_MIME, json.dumps(state.to_json()).encode())
    if png is not None:
        mime.setUrls([QUrl.fromLocalFile(str(png))])
    return mime


def state_from_mime(mime: QMimeData) -> State | None:
    """The state a drag carries (None when it carries none, or a damaged one)."""
    if not mime.hasFormat(STATE_MIME):
        return None
    try:
        return State.from_json(json.loads(bytes(mime.data(STATE_MIME)).decode()), "dragged state")
    except (ValueError, ExplorerError):
        return None


class _StateDropFilter(QObject):
    def __init__(self, widget, on_drop: Callable[[State], None]):
        super().__init__(widget)
        self._on_drop = on_drop

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind in (QEvent.DragEnter, QEvent.DragMove) and event.mimeData().hasFormat(STATE_MIME):
            event.acceptProposedAction()
            return True
        if kind == QEvent.Drop:
            state = state_from_mime(event.mimeData())
            if state is not None:
                event.acceptProposedAction()
                self._on_drop(state)
                return True
        return False


def accept_state_drops(widget, on_drop: Callable[[State], None]) -> None:
    """Let ``widget`` take dragged states (item views: pass their viewport, where the drops land)."""
    widget.setAcceptDrops(True)
    widget.installEventFilter(_StateDropFilter(widget, on_drop))
