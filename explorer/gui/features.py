"""How features (docks, dialogs, canvas tools) plug into the window.

A feature is a module with ``install(ctx: FeatureContext) -> object``, listed in ``FEATURE_MODULES``. The
window builds one ``FeatureContext`` and calls each ``install`` once, after its own panels and menus exist;
the returned object is kept as ``window.features[name]`` (name = the module's last dotted part), for tests
and for features that talk to each other.

The context is everything a feature may use of the window, and nothing else: read and change the state
(undoable, gesture-merged, latest-wins rendering), know the open model, render in the background, run long
jobs with progress and cancel, add docks / menu entries / file handlers / session parts, and talk to the
user. Features never reach into ``MainWindow`` members, so the window can change without breaking them,
and a new capability is one module plus one line here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

from explorer.engine.describe import ModelDescription
from explorer.engine.jobs import Job, JobContext
from explorer.engine.state import State

if TYPE_CHECKING:
    from explorer.gui.canvas import Canvas
    from explorer.gui.window import MainWindow

# Modules installed into every window, in this order (their docks and menu entries appear in it).
FEATURE_MODULES: tuple[str, ...] = (
    "explorer.gui.project_dialog",
)

RESERVED_RENDER_KEYS = ("render", "thumbA", "thumbB")  # the window's own slots in the render worker
DOCK_AREAS = {"left": Qt.LeftDockWidgetArea, "right": Qt.RightDockWidgetArea, "bottom": Qt.BottomDockWidgetArea}
MENUS = ("file", "edit", "view", "model", "tools", "help")


class _UiCall(QObject):
    """Runs callables in the UI thread: a job's thread emits, Qt queues the call to this object's thread."""

    call = Signal(object)

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self.call.connect(self._run)  # a slot of an object of the UI thread: queued when emitted elsewhere

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        fn()

    def later(self, fn: Callable | None) -> Callable | None:
        """``fn`` wrapped to run in the UI thread whatever thread calls it (None stays None)."""
        if fn is None:
            return None
        return lambda *args: self.call.emit(lambda: fn(*args))


class FeatureContext(QObject):
    """The narrow face of the window that features see (see the module docstring)."""

    stateChanged = Signal(object)  # State now shown by the widgets (every change: edits, undo, loads)
    modelLoaded = Signal(object)  # ModelDescription of the model just opened
    imageShown = Signal(object)  # RenderResult of the main canvas
    rendered = Signal(object)  # RenderResult of a background render asked for with request_render (has .key)
    jobsChanged = Signal()  # a job started, moved or ended (the status bar's jobs indicator listens)

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self._window = window
        self._ui = _UiCall(self)
        self._file_handlers: list[tuple[tuple[str, ...], Callable[[str], bool]]] = []

    # ---- the document -----------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._window.state

    @property
    def model_info(self) -> ModelDescription | None:
        return self._window.model_info

    def set_state(self, new: State, text: str, control: str = "") -> None:
        """Make ``new`` the state as one undo step (merged with the last within one ``control``'s gesture)."""
        self._window.set_state(new, text, control)

    def set_param(self, address: str, value) -> None:
        """Set a registry parameter (checked; a bad value is a banner, the state unchanged)."""
        self._window.set_param(address, value)

    def begin_gesture(self) -> None:
        """A press on a control: every change until ``end_gesture`` is one undo step."""
        self._window.history.begin_gesture()

    def end_gesture(self) -> None:
        self._window.history.end_gesture()

    # ---- rendering and jobs -----------------------------------------------------------------------
    def request_render(self, state: State, key: str) -> None:
        """Render ``state`` in the background; the result comes on ``rendered`` with ``result.key == key``.
        Latest wins per key; the main render always goes first and interrupts background ones."""
        if key in RESERVED_RENDER_KEYS:
            raise ValueError(f"render key {key!r} is the window's own")
        self._window.request_background_render(state, key)

    def cancel_renders(self, prefix: str) -> None:
        """Drop pending background renders whose key starts with ``prefix`` (a page of tiles scrolled away)."""
        self._window.worker.cancel_renders(prefix)

    def run_in_render_thread(self, fn: Callable[[Any], Any], on_done: Callable[[Any], None]) -> None:
        """``fn(renderer)`` in the render thread (short work: it delays renders); ``on_done`` in the UI thread."""
        self._window.run_in_render_thread(fn, on_done)

    def run_job(self, name: str, fn: Callable[[JobContext, Any], Any], *,
                on_done: Callable[[Any], None] | None = None,
                on_error: Callable[[str], None] | None = None,
                on_progress: Callable[[float | None, str], None] | None = None,
                on_preview: Callable[[Any], None] | None = None,
                on_cancelled: Callable[[], None] | None = None) -> None:
        """A long job (projection, PCA, dragging, saving a model) on a thread of its own.

        ``fn(job_ctx, model)`` gets a private copy of the open model (``formats.Model``: its weights may be
        changed and gradients taken without touching what the canvas renders with). Callbacks run in the
        UI thread; an error without ``on_error`` becomes a banner. The status bar lists the job with a
        cancel button. Returns at once; the job starts when the render thread has made the copy.
        """
        window = self._window
        if window.model_info is None:
            self.show_error(f"{name}: no model is open")
            return
        ui = self._ui.later

        def start(model) -> None:
            window.jobs.submit(
                name, lambda job_ctx: fn(job_ctx, model),
                on_done=ui(on_done), on_error=ui(on_error or self.show_error), on_progress=ui(on_progress),
                on_preview=ui(on_preview), on_cancelled=ui(on_cancelled))

        window.run_in_render_thread(lambda renderer: window.worker.private_model(), start)

    def jobs(self) -> list[Job]:
        """Jobs running or waiting, oldest first."""
        return self._window.jobs.jobs()

    # ---- the window's furniture ---------------------------------------------------------------------
    @property
    def widget(self) -> QWidget:
        """The parent for a feature's dialogs."""
        return self._window

    @property
    def canvas(self) -> Canvas:
        """The image view: ``set_tool`` for mouse tools, ``add_overlay`` for drawing over the image."""
        return self._window.canvas

    def add_dock(self, widget: QWidget, title: str, name: str, area: str = "right", scroll: bool = True,
                 visible: bool = True) -> QDockWidget:
        """Dock ``widget`` (tabbed with the area's first dock, which stays in front) and list it in View."""
        return self._window.add_feature_dock(widget, title, name, DOCK_AREAS[area], scroll, visible)

    def add_action(self, menu: str, text: str, slot: Callable[[], None], shortcut: str | None = None,
                   tip: str = "", name: str = "", checkable: bool = False) -> QAction:
        """An entry in one of ``MENUS`` (the Model and Tools menus appear with their first entry)."""
        if menu not in MENUS:
            raise ValueError(f"unknown menu {menu!r}; one of {', '.join(MENUS)}")
        action = QAction(text, self._window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        if name:
            action.setObjectName(name)
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(lambda on: slot())
        else:
            action.triggered.connect(lambda _=False: slot())
        target: QMenu = self._window.menus[menu]
        target.addAction(action)
        target.menuAction().setVisible(True)
        self._window.addAction(action)  # its shortcut works wherever focus is
        return action

    def add_file_handler(self, suffixes: tuple[str, ...], handler: Callable[[str], bool]) -> None:
        """Offer ``handler(path)`` files that the window does not open itself: files with these suffixes
        (lower case, with the dot), and PNGs that carry no recipe. It returns True when it took the file."""
        self._file_handlers.append((tuple(s.lower() for s in suffixes), handler))

    def handle_file(self, path: str) -> bool:
        """Give ``path`` to the first feature that takes it (the window calls this)."""
        suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
        return any(handler(path) for suffixes, handler in self._file_handlers if suffix in suffixes)

    def handled_suffixes(self) -> set[str]:
        return {s for suffixes, _ in self._file_handlers for s in suffixes}

    def register_session_part(self, name: str, get: Callable[[], object], set: Callable[[object], None]) -> None:
        """Keep the feature's JSON under ``name`` in the session file (restored when a session opens)."""
        self._window.register_session_part(name, get, set)

    # ---- talking to the user ----------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        """One line in the banner over the canvas."""
        self._window.show_error(text)

    def show_status(self, text: str, ms: int = 5000) -> None:
        self._window.statusBar().showMessage(text, ms)

    def ask(self, question: str) -> bool:
        """A yes / no question (tests replace ``MainWindow.ask``)."""
        return self._window.ask(question)

    def open_model(self, path: str, state: State | None = None) -> None:
        """Open a model file in the background (the previous one stays if it fails), then show ``state``."""
        self._window.open_model(path, state=state)


def install_features(ctx: FeatureContext, modules: tuple[str, ...] | None = None) -> dict[str, object]:
    """Import and install each feature module (by default ``FEATURE_MODULES``); returns {name: the object
    its install returned}."""
    features = {}
    for module_name in FEATURE_MODULES if modules is None else modules:
        module = importlib.import_module(module_name)
        features[module_name.rsplit(".", 1)[-1]] = module.install(ctx)
    return features
