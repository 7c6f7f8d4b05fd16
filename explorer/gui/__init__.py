"""The window (PySide6). Qt lives only in this package; it drives ``explorer.engine``.

``main_window(network=None)`` builds the main window for tests and automation; ``run`` starts the app.
"""

from __future__ import annotations


def main_window(network=None, restore_session: bool = True, autosave: bool = True):
    from explorer.gui.app import main_window as build

    return build(network, restore_session=restore_session, autosave=autosave)


def run(network=None) -> int:
    from explorer.gui.app import run as start

    return start(network)
