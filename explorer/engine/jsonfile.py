"""Reading the program's JSON files (states, sessions, timelines, recipe chunks) defensively.

A hostile or damaged file must end in one ``StateError`` naming it: bytes that are not UTF-8 (a file
saved as UTF-16), nesting deep enough to exhaust the parser's recursion, NaN / Infinity (which Python's
json accepts and no field of ours does), or a file far larger than any state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from explorer.errors import StateError

MAX_JSON_BYTES = 256 << 20  # a session with a long timeline of W+ keyframes is a few MB


def _no_constants(name: str):
    raise ValueError(f"{name} is not a number this program accepts")


def parse_json(text: str, source: str | Path | None = None) -> Any:
    """``text`` parsed; a problem is a StateError naming ``source``."""
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise StateError(source, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise StateError(source, "JSON nested too deeply") from None
    except ValueError as exc:  # NaN / Infinity, or an integer with an absurd number of digits
        raise StateError(source, f"not valid JSON ({exc})") from None


def read_json(path: str | Path, what: str) -> Any:
    """The JSON in the file at ``path`` (``what`` names the kind of file for the messages)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise StateError(path, f"{size / 2**20:.0f} MB is far too large for a {what}")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StateError(path, "file not found") from None
    except OSError as exc:
        raise StateError(path, f"cannot read {what} ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StateError(path, f"not UTF-8 text (a {what} is UTF-8 JSON)") from None
    return parse_json(text, path)
