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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, Qt, Signal
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
    "explorer.gui.timeline_panel",  # the video timeline under the canvas, File > Export video
    "explorer.gui.training_dialog",  # Train > New run / Open run, the training monitor
    "explorer.gui.blend_dialog",  # Model > Blend with..., Save blended model...
    "explorer.gui.favourites_panel",  # saved states with thumbnails, tags and notes
    "explorer.gui.seed_browser",  # a contact sheet of seeds to pick A / B from
    "explorer.gui.compare",  # pin an image; split wipe, side by side, A | mix | B
    "explorer.gui.directions_dock",  # latent-direction sliders, ranges and previews
    "explorer.gui.controls_dock",  # the Controls dock: OSC / MIDI / LFO live control (docs/live-control.md)
    "explorer.gui.project_dialog",  # File > Project image..., photos opened or dropped on the window
    "explorer.gui.drag_tool",  # Tools > Drag points, the Drag dock (DragGAN)
)

RESERVED_RENDER_KEYS = ("render", "thumbA", "thumbB")  # the window's own slots in the render worker
DOCK_AREAS = {"left": Qt.LeftDockWidgetArea, "right": Qt.RightDockWidgetArea, "bottom": Qt.BottomDockWidgetArea}
MENUS = ("file", "edit", "view", "model", "tools", "train", "help")


class JobHandle:
    """A job asked for with ``FeatureContext.run_job``; it may be cancelled before it has even started."""

    def __init__(self, name: str):
        self.name = name
        self.job: Job | None = None  # set once the model copy is made and the job runs
        self.cancelled = False
        self.detached = False

    def cancel(self, detach: bool = False) -> None:
        """Stop the job at its next check; with ``detach`` its callbacks are dropped too (the dialog that
        asked for it is closing)."""
        self.cancelled = True
        self.detached = self.detached or detach
        if self.job is not None:
            self.job.cancel()


class FeatureContext(QObject):
    """The narrow face of the window that features see (see the module docstring)."""

    stateChanged = Signal(object)  # State now shown by the widgets (every change: edits, undo, loads)
    modelLoaded = Signal(object)  # ModelDescription of the model just opened
    imageShown = Signal(object)  # RenderResult of the main canvas
    paramSet = Signal(str)  # the address a widget has just set (MIDI / OSC learn takes it as the target)
    rendered = Signal(object)  # RenderResult of a background render asked for with request_render (has .key)
    closing = Signal()  # the window is shutting down: close ports, stop timers (the session is saved after)

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self._window = window
        self._file_handlers: list[tuple[tuple[str, ...], Callable[[str], bool]]] = []
        self._features: dict[str, object] = {}  # filled by install_features, in install order

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

    def push_undo(self, old, new, text: str, control: str, apply: Callable[[Any], None]) -> None:
        """Record a change of a feature's own value (the timeline's keyframes) on the window's history:
        ``apply(new)`` now, ``apply(old)`` on undo; merged like state changes within a gesture."""
        self._window.history.push(old, new, text, control, apply=apply)

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

    @property
    def last_result(self):
        """The main canvas's latest ``RenderResult`` of the open model (None after a switch); its ``state``
        says whether it is the current state's image."""
        return self._window.last_result

    def run_in_render_thread(self, fn: Callable[[Any], Any], on_done: Callable[[Any], None]) -> None:
        """``fn(renderer)`` in the render thread (short work: it delays renders); ``on_done`` in the UI thread."""
        self._window.run_in_render_thread(fn, on_done)

    def run_job(self, name: str, fn: Callable[[JobContext, Any], Any], *,
                on_done: Callable[[Any], None] | None = None,
                on_error: Callable[[str], None] | None = None,
                on_progress: Callable[[float | None, str], None] | None = None,
                on_preview: Callable[[Any], None] | None = None,
                on_cancelled: Callable[[], None] | None = None) -> JobHandle:
        """A long job (projection, PCA, dragging, saving a model) on a thread of its own.

        ``fn(job_ctx, model)`` gets a private copy of the open model (``formats.Model``: its weights may be
        changed and gradients taken without touching what the canvas renders with). Callbacks run in the
        UI thread; an error without ``on_error`` becomes a banner. The status bar lists the job with a
        cancel button. Returns a handle at once; the job starts when the render thread has made the copy.
        """
        window = self._window
        handle = JobHandle(name)
        if window.model_info is None:
            self.show_error(f"{name}: no model is open")
            handle.cancelled = True
            return handle

        def unless_detached(fn):  # the owner (a closing dialog) no longer wants to hear
            return None if fn is None else lambda *args: None if handle.detached else fn(*args)

        def start(model) -> None:
            if handle.cancelled:
                if on_cancelled is not None and not handle.detached:
                    on_cancelled()
                return
            handle.job = window.jobs.submit(
                name, lambda job_ctx: fn(job_ctx, model), on_done=unless_detached(on_done),
                on_error=unless_detached(on_error or self.show_error), on_progress=unless_detached(on_progress),
                on_preview=unless_detached(on_preview), on_cancelled=unless_detached(on_cancelled))

        window.run_in_render_thread(lambda renderer: window.worker.private_model(), start)
        return handle

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
        anchor = self._window.menu_anchors.get(menu)  # the File menu keeps sessions and Quit at its end
        target.insertAction(anchor, action) if anchor is not None else target.addAction(action)
        target.menuAction().setVisible(True)
        self._window.addAction(action)  # its shortcut works wherever focus is
        return action

    def add_file_handler(self, suffixes: tuple[str, ...], handler: Callable[[str], bool]) -> None:
        """Offer ``handler(path)`` files that the window does not open itself: files with these suffixes
        (lower case, with the dot), and PNGs that carry no recipe. It returns True when it took the file."""
        self._file_handlers.append((tuple(s.lower() for s in suffixes), handler))

    def handle_file(self, path: str) -> bool:
        """Give ``path`` to the first feature that takes it (the window calls this)."""
        suffix = Path(path).suffix.lower()
        return any(handler(path) for suffixes, handler in self._file_handlers if suffix in suffixes)

    def handled_suffixes(self) -> set[str]:
        return {s for suffixes, _ in self._file_handlers for s in suffixes}

    def feature(self, name: str) -> object | None:
        """Another feature's object, for features that talk to each other (the seed browser adds to the
        favourites); None when it is not installed (while installing, only those listed before are)."""
        return self._features.get(name)

    def register_session_part(self, name: str, get: Callable[[], object], set: Callable[[object], None],
                              in_recipes: bool = False) -> None:
        """Keep the feature's JSON under ``name`` in the session file (restored when a session opens);
        with ``in_recipes`` also in exported PNGs' recipes (restored when such a PNG opens)."""
        self._window.register_session_part(name, get, set, in_recipes)

    # ---- talking to the user ----------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        """One line in the banner over the canvas."""
        self._window.show_error(text)

    def show_status(self, text: str, ms: int = 5000) -> None:
        self._window.statusBar().showMessage(text, ms)

    def clear_error(self) -> None:
        """Take the banner away (a retried export succeeded)."""
        self._window.clear_error()

    def default_export_dir(self) -> Path:
        """Where exports are suggested: the folder last exported to, else the working folder."""
        return self._window.default_export_dir()

    def ask(self, question: str) -> bool:
        """A yes / no question (tests replace ``MainWindow.ask``)."""
        return self._window.ask(question)

    def open_model(self, path: str, state: State | None = None) -> None:
        """Open a model file in the background (the previous one stays if it fails), then show ``state``."""
        self._window.open_model(path, state=state)


def install_features(ctx: FeatureContext, modules: tuple[str, ...] | None = None) -> dict[str, object]:
    """Import and install each feature module (by default ``FEATURE_MODULES``); returns {name: the object
    its install returned}."""
    features = ctx._features  # the context answers ``feature(name)`` for those installed so far
    for module_name in FEATURE_MODULES if modules is None else modules:
        module = importlib.import_module(module_name)
        features[module_name.rsplit(".", 1)[-1]] = module.install(ctx)
    return features
