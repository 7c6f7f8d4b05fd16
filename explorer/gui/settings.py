"""Persistent preferences (QSettings) and where the session file lives.

Tests and automation isolate both from the user's real files: ``EXPLORER_SETTINGS_DIR`` makes the settings an
INI file in that folder, ``EXPLORER_SESSION_DIR`` moves the session file.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

ORGANISATION = "StyleGAN Explorer"
APPLICATION = "explorer"
MAX_RECENT = 10


def settings() -> QSettings:
    folder = os.environ.get("EXPLORER_SETTINGS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return QSettings(str(Path(folder) / "settings.ini"), QSettings.IniFormat)
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANISATION, APPLICATION)


def session_dir() -> Path:
    folder = os.environ.get("EXPLORER_SESSION_DIR")
    if folder:
        return Path(folder)
    location = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
    return Path(location) if location else Path.home() / ".stylegan-explorer"


def _list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


def recent_files() -> list[str]:
    """Recent model files, most recent first, only those still on disk."""
    return [p for p in _list(settings().value("recent_models")) if Path(p).exists()]


def add_recent_file(path: str | Path) -> None:
    path = str(Path(path).resolve())
    s = settings()
    items = [p for p in _list(s.value("recent_models")) if p != path]
    s.setValue("recent_models", [path] + items[: MAX_RECENT - 1])
    s.setValue("last_model", path)


def last_model() -> str | None:
    value = settings().value("last_model")
    return str(value) if value else None


def device_preference() -> str:
    return str(settings().value("device", "auto"))


def default_threads() -> int:
    """Leave one core to the window: torch in the worker and the UI share the CPU (and partly the GIL)."""
    return max(1, (os.cpu_count() or 2) - 1)


def thread_preference() -> int:
    try:
        return int(settings().value("cpu_threads", default_threads()))
    except (TypeError, ValueError):
        return default_threads()


def set_preferences(device: str, threads: int) -> None:
    s = settings()
    s.setValue("device", device)
    s.setValue("cpu_threads", int(threads))
