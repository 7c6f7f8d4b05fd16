"""The window's session file: which model was open and the state on screen (and later the timeline).

JSON layout (version 1)::

    {"version": 1, "model": "/abs/path/model.pkl" | null, "state": {...State JSON...}, "timeline": null | {...}}

Unknown top-level keys are kept (``extra``) so that a newer program's fields survive a round trip through an
older one. Qt-free: the window decides where the file lives; the CLI can read it (``--state`` accepts a
session file or a bare state file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.engine.jsonfile import read_json
from explorer.engine.state import State
from explorer.errors import StateError
from explorer.fileio import atomic_write_text

SESSION_VERSION = 1
SESSION_FILE = "session.json"


@dataclass(frozen=True)
class Session:
    model: str | None = None
    state: State = field(default_factory=State)
    timeline: Any = None  # owned by the video timeline panel; stored as given (JSON-serialisable)
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {**self.extra, "version": SESSION_VERSION, "model": self.model, "state": self.state.to_json(),
                "timeline": self.timeline}


def save_session(path: str | Path, session: Session) -> None:
    """Write atomically (a crash mid-write leaves the previous session intact)."""
    atomic_write_text(path, json.dumps(session.to_json(), indent=1))


def parse_session(data: Any, source: str | Path | None = None) -> Session:
    """A session from its JSON object; a bare state object is accepted as a session without a model."""
    if not isinstance(data, dict):
        raise StateError(source, "session must be a JSON object")
    if "state" not in data:  # a bare state file
        return Session(None, State.from_json(data, source))
    if data.get("version") != SESSION_VERSION:
        raise StateError(source, f"unsupported session version {data.get('version')!r}")
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise StateError(source, "session 'model' must be a path or null")
    extra = {k: v for k, v in data.items() if k not in ("version", "model", "state", "timeline")}
    return Session(model, State.from_json(data["state"], source), data.get("timeline"), extra)


def load_session(path: str | Path) -> Session:
    return parse_session(read_json(path, "session"), path)
