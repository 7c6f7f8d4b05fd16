"""Starting the window: the QApplication, the theme, the event loop, and the ``--screenshot`` mode."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from PySide6.QtCore import QtMsgType, QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from explorer.engine.session import load_session
from explorer.gui import settings as prefs
from explorer.gui.theme import apply_dark_theme

SCREENSHOT_TIMEOUT_MS = 120_000
SIGNAL_CHECK_MS = 200  # Python runs signal handlers only between bytecodes: wake it from Qt's loop this often


def application() -> QApplication:
    """The one QApplication (made on first use, themed dark).

    The render thread runs torch's Python-level module code, which holds the GIL between kernels; a 1 ms
    switch interval (default 5 ms) lets the UI thread in sooner, so input and painting do not stall.
    """
    if sys.getswitchinterval() > 0.001:
        sys.setswitchinterval(0.001)
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(prefs.ORGANISATION)
    app.setApplicationName(prefs.APPLICATION)
    app.setApplicationDisplayName("StyleGAN Explorer")
    if not getattr(app, "_explorer_themed", False):
        apply_dark_theme(app)
        app._explorer_themed = True
    return app


# Qt's offscreen platform says this for every window it shows; it means nothing to the user, and the
# screenshot mode's contract is one line on stderr for an error.
_OFFSCREEN_NOISE = ("does not support propagateSizeHints",)


def _quiet_offscreen_noise(kind, context, message: str) -> None:
    if kind == QtMsgType.QtDebugMsg or any(noise in message for noise in _OFFSCREEN_NOISE):
        return
    print(message, file=sys.stderr)


def main_window(network: str | Path | None = None, restore_session: bool = True, autosave: bool = True):
    """Build the main window (not shown, no event loop started). Loading starts in the background."""
    from explorer.gui.window import MainWindow

    application()
    return MainWindow(network, restore_session=restore_session, autosave=autosave)


def run(network: str | None = None, assignments: list[str] | None = None, osc_port: int | None = None,
        osc_host: str = "127.0.0.1", midi_port: str | None = None, osc_send: int | None = None) -> int:
    from explorer.errors import ExplorerError

    app = application()
    window = main_window(network)
    window.set_when_loaded(assignments or [])
    controls = window.features.get("controls_dock")
    try:
        if osc_port is not None:
            controls.listen_osc(osc_port, osc_host)
        if midi_port is not None:
            controls.open_midi(midi_port)
        if osc_send is not None:
            controls.send_osc(osc_send)
    except ExplorerError as exc:
        print(f"explorer gui: error: {exc}", file=sys.stderr)
        window.shutdown()
        return 2
    close_on_terminate(window)
    window.show()
    return app.exec()


def close_on_terminate(window) -> None:
    """SIGTERM (a session manager's logout, ``kill``) and SIGHUP (the terminal went away) close the window
    as its close button does, so the session is saved. A timer lets the interpreter run the handler while
    Qt waits for events."""
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):  # Windows has no SIGHUP
            signal.signal(getattr(signal, name), lambda signum, frame: window.close())
    ticker = QTimer(window)
    ticker.setInterval(SIGNAL_CHECK_MS)
    ticker.timeout.connect(lambda: None)
    ticker.start()


def screenshot(network: str, out: str | Path, state_file: str | Path | None = None,
               size: tuple[int, int] = (1440, 960), assignments: list[str] | None = None) -> int:
    """Open ``network``, wait for the first image of the requested state, save the window as PNG, exit.

    Works offscreen (QT_QPA_PLATFORM=offscreen). Returns 0, or 2 with a one-line error on stderr.
    """
    from explorer.gui.window import MainWindow

    app = application()
    qInstallMessageHandler(_quiet_offscreen_noise)
    state = load_session(state_file).state if state_file else None
    window = MainWindow(network, restore_session=False, autosave=False)
    if state is not None:
        window._pending_after_load = state
    window.set_when_loaded(assignments or [])
    window.resize(*size)
    window.show()
    outcome = {"status": None}

    def finish(status: int, message: str = "") -> None:
        if outcome["status"] is not None:
            return
        outcome["status"] = status
        if message:
            print(f"explorer gui: error: {message}", file=sys.stderr)
        window.shutdown()
        app.quit()

    def shoot() -> None:
        try:
            from explorer.fileio import atomic_write_bytes
            from PySide6.QtCore import QBuffer, QIODevice

            buffer = QBuffer()
            buffer.open(QIODevice.WriteOnly)
            window.grab().save(buffer, "PNG")
            atomic_write_bytes(out, bytes(buffer.data()))
        except OSError as exc:
            finish(2, f"{Path(out).name}: cannot write ({exc.strerror or exc})")
            return
        print(out)
        finish(0)

    def poll() -> None:
        if window.is_current() and window.thumbnails_current():
            poller.stop()
            QTimer.singleShot(150, shoot)  # let the status line and layout settle

    poller = QTimer()
    poller.setInterval(50)
    poller.timeout.connect(poll)
    poller.start()
    # errorOccurred is emitted in this thread once the event loop runs, so a load that failed before this
    # line (the render thread is quick) is still caught
    window.errorOccurred.connect(lambda reason: finish(2, reason))
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: finish(2, "timed out waiting for the first image"))
    app.exec()
    return outcome["status"] or 0
