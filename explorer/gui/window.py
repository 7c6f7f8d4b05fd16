"""The explorer window: binds the panels, the canvas and the render thread to one Qt-free ``Document``
(engine/document.py: the state, the model's description, the undo history, the session parts).

Data flow: a panel emits ``(address, value)`` (or a multi-field edit State -> State) -> the document
records it as an undo step and tells its listeners -> ``_on_state_changed`` mirrors the state into the
widgets and asks the render thread for it (latest wins) -> the image comes back as a signal and goes on the
canvas. Nothing in here runs torch.

Errors the user can cause are shown as one line in a banner over the canvas (and the status bar) and
emitted as ``errorOccurred``; nothing here opens a blocking dialog except questions (``ask``) and file
dialogs, which tests replace.

Features (docks, dialogs, canvas tools) install through ``explorer/gui/features.py``'s ``FeatureContext``
and never reach into this class; what they may use of it is what the context offers.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QProgressBar, QScrollArea, QSizePolicy,
    QStackedWidget, QToolButton, QVBoxLayout, QWidget,
)

from explorer import __version__
from explorer.engine import images
from explorer.engine import recipe as recipes
from explorer.engine.describe import ModelDescription
from explorer.engine.document import Document
from explorer.engine.latents import load_wplus_file, save_wplus_npz
from explorer.engine.opening import APPLY, ASK_OPEN, REFUSE, plan_recipe, plan_startup
from explorer.engine.seeds import random_seed, step_seed
from explorer.engine.session import SESSION_FILE, Session, load_session, save_session
from explorer.engine.state import Latent, State
from explorer.errors import ExplorerError
from explorer.fileio import next_free_path
from explorer.formats import BUNDLED_MODEL, MODEL_SUFFIXES
from explorer.gui import settings as prefs
from explorer.gui.canvas import Canvas
from explorer.gui.features import FeatureContext, install_features
from explorer.gui.jobs_indicator import JobsIndicator
from explorer.gui.latent_panel import LatentPanel
from explorer.gui.layers_panel import LayersPanel
from explorer.gui.render_worker import RenderResult, RenderWorker, one_line
from explorer.gui.state_drag import accept_state_drops
from explorer.gui.truncation_panel import TruncationPanel
from explorer.gui.ui_jobs import UiJobRunner
from explorer.gui.welcome import WelcomeView

AUTOSAVE_MS = 30_000
SLOW_RENDER_S = 0.5  # a render pending longer than this is shown as "rendering… N s" over a dimmed image
MODEL_FILTER = "Models (" + " ".join(f"*{s}" for s in MODEL_SUFFIXES) + ")"
OPEN_FILTER = ("Models, images, sessions, W+ (" + " ".join(f"*{s}" for s in MODEL_SUFFIXES)
               + " *.png *.json *.npz *.npy);;" + MODEL_FILTER + ";;Exported images (*.png);;Sessions (*.json)"
               ";;W+ latents (*.npz *.npy);;All files (*)")

SHORTCUTS_HELP = """<table>
<tr><td><b>R</b> / <b>Shift+R</b></td><td>random seed A / B</td></tr>
<tr><td><b>Left</b> / <b>Right</b></td><td>seed A &minus;1 / +1 (while the image has focus: click it)</td></tr>
<tr><td><b>Ctrl+Z</b> / <b>Ctrl+Shift+Z</b> or <b>Ctrl+Y</b></td><td>undo / redo</td></tr>
<tr><td><b>Ctrl+E</b></td><td>export image (auto-numbered PNG with its recipe)</td></tr>
<tr><td><b>Ctrl+Shift+E</b></td><td>export image as&hellip; (choose the file)</td></tr>
<tr><td><b>Ctrl+Alt+E</b></td><td>export video&hellip; (render the timeline)</td></tr>
<tr><td><b>Ctrl+S</b></td><td>save session as&hellip;</td></tr>
<tr><td><b>Ctrl+O</b></td><td>open a model, an exported PNG, a session or a W+ file</td></tr>
<tr><td><b>Ctrl+0</b> / <b>Ctrl+1</b></td><td>zoom to fit / actual pixels</td></tr>
<tr><td>wheel, drag, double-click</td><td>zoom, pan, fit (on the image)</td></tr>
<tr><td><b>Ctrl+D</b></td><td>drag points on the image (DragGAN): click handles, then targets</td></tr>
<tr><td><b>F</b></td><td>add the current state to the favourites</td></tr>
<tr><td><b>P</b> / <b>W</b></td><td>pin the image / split wipe against the pinned image (drag the line)</td></tr>
<tr><td><b>Page Up</b> / <b>Page Down</b></td><td>previous / next page of seeds (in the seed browser)</td></tr>
<tr><td><b>F1</b></td><td>this list</td></tr>
</table>"""


class MainWindow(QMainWindow):
    errorOccurred = Signal(str)  # one line, also shown in the banner
    imageShown = Signal(object)  # RenderResult put on the canvas
    modelLoaded = Signal(object)  # ModelDescription
    imageExported = Signal(str)
    wplusExported = Signal(str)

    def __init__(self, network: str | Path | None = None, restore_session: bool = True, autosave: bool = True,
                 state: State | None = None):
        """``state``, with ``network``: what to show once that model is open (``gui --state``)."""
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("StyleGAN Explorer")
        self._initial_size()
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)

        self.document = Document()
        self.document.add_listener(self._on_state_changed)
        self.generation = 0
        self.last_result: RenderResult | None = None
        self.last_error = ""
        self.export_scale = 1
        self._seq = 0
        self._pending_after_load: State | None = None
        self._render_pending_since: float | None = None  # when the state that is not on screen yet was asked for
        self._pending_assignments: list[str] = []  # ADDRESS=VALUE from the command line, for the first model
        self._loading_path: str | None = None
        self._thumb_requests: dict[str, State] = {}
        self._thumb_shown: dict[str, State] = {}
        self._jobs: dict[int, Callable] = {}
        self._job_token = 0
        self._frame_times: deque[float] = deque(maxlen=120)
        self._session_saved_json: dict | None = None
        self._shut_down = False
        self._docks_fitted = False

        self.history = self.document.history
        self.context = FeatureContext(self)
        self.jobs = UiJobRunner(self)  # long work with progress and cancel (FeatureContext.run_job)
        self.worker = RenderWorker(threads=prefs.thread_preference())
        self.worker.modelLoaded.connect(self._on_model_loaded)
        self.worker.loadFailed.connect(self._on_load_failed)
        self.worker.rendered.connect(self._on_rendered)
        self.worker.renderFailed.connect(self.show_error)
        self.worker.jobDone.connect(self._on_job_done)
        self.worker.busyChanged.connect(self._set_busy)
        self.worker.start()

        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_status()
        self._sync_widgets()
        self.modelLoaded.connect(self.context.modelLoaded)
        self.imageShown.connect(self.context.imageShown)
        self.features = install_features(self.context)

        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.save_session)
        if autosave:
            self._autosave.start()
        self._fps_timer = QTimer(self)
        self._fps_timer.setInterval(500)
        self._fps_timer.timeout.connect(self._update_fps)
        self._fps_timer.start()

        self._startup(network, restore_session, state)

    # ================================================================ building the window
    def _build_central(self) -> None:
        self.canvas = Canvas()
        self.canvas.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.welcome = WelcomeView()
        self.welcome.openRequested.connect(self.open_model_dialog)
        self.welcome.recentChosen.connect(self.open_model)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.canvas)

        self.banner = QWidget()
        self.banner.setObjectName("errorBanner")
        self.banner.setStyleSheet("#errorBanner { background: #5a2222; } QLabel { color: #fdd; }")
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(10, 4, 4, 4)
        self.banner_label = QLabel()
        self.banner_label.setObjectName("errorText")
        self.banner_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # A long message (a path has no spaces to wrap at) must not widen the window and squeeze the docks:
        # the banner wraps and never asks for more width than it is given.
        self.banner_label.setWordWrap(True)
        self.banner_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        close = QToolButton()
        close.setText("\u2715")
        close.setAutoRaise(True)
        close.clicked.connect(self.clear_error)
        row.addWidget(self.banner_label, 1)
        row.addWidget(close)
        self.banner.hide()

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

    def _initial_size(self) -> None:
        """Most of the screen (panels on three sides need room), within 1280x820 .. 1680x1050."""
        from PySide6.QtGui import QGuiApplication

        screen = QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else None
        w = min(1680, max(1280, int(area.width() * 0.85))) if area else 1280
        h = min(1050, max(820, int(area.height() * 0.85))) if area else 820
        if area:
            w, h = min(w, area.width()), min(h, area.height())
        self.resize(w, h)

    def _dock(self, title: str, name: str, widget: QWidget, area, scroll: bool = True) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        if scroll:
            holder = QScrollArea()
            holder.setWidgetResizable(True)
            holder.setFrameShape(QScrollArea.NoFrame)
            holder.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
            holder.setWidget(widget)
            widget = holder
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.latent_panel = LatentPanel()
        self.layers_panel = LayersPanel()
        self.truncation_panel = TruncationPanel()
        self.latent_dock = self._dock("Latent", "latentDock", self.latent_panel, Qt.LeftDockWidgetArea)
        self.truncation_dock = self._dock("Truncation && noise", "truncationDock", self.truncation_panel,
                                          Qt.LeftDockWidgetArea)
        self.layers_dock = self._dock("Style layers", "layersDock", self.layers_panel, Qt.RightDockWidgetArea,
                                      scroll=False)
        self.resizeDocks([self.latent_dock, self.layers_dock], [330, 360], Qt.Horizontal)
        self.resizeDocks([self.latent_dock, self.truncation_dock], [390, 420], Qt.Vertical)
        for side, thumb in (("a", self.latent_panel.thumb_a), ("b", self.latent_panel.thumb_b)):
            # a dragged favourite's latent A becomes this seed; the rest of the state stays
            accept_state_drops(thumb, lambda dropped, side=side: self.set_state(
                self.state.replace(**{side: self._fit_state(dropped).a}), f"Seed {side.upper()} from a favourite"))
        for panel in (self.latent_panel, self.layers_panel, self.truncation_panel):
            panel.param.connect(self.set_param)
            panel.edit.connect(self._on_edit)
            panel.gestureStarted.connect(self.history.begin_gesture)
            panel.gestureEnded.connect(self.history.end_gesture)

    def add_feature_dock(self, widget: QWidget, title: str, name: str, area, scroll: bool,
                         visible: bool) -> QDockWidget:
        """A feature's dock, tabbed behind the first dock of its area so the window's layout stays put."""
        first = next((d for d in self.findChildren(QDockWidget) if self.dockWidgetArea(d) == area
                      and not d.isFloating()), None)
        dock = self._dock(title, name, widget, area, scroll)
        if first is not None:
            self.tabifyDockWidget(first, dock)
        self.view_menu.addAction(dock.toggleViewAction())
        dock.setVisible(visible)
        return dock

    def register_session_part(self, name: str, get: Callable[[], object], set: Callable[[object], None],
                              in_recipes: bool = False) -> None:
        """Let a panel keep its own JSON in the session file (the timeline uses the key "timeline") and,
        with ``in_recipes``, in the recipes of exported PNGs."""
        self.document.register_part(name, get, set, in_recipes)

    @property
    def state(self) -> State:
        return self.document.state

    @property
    def model_info(self) -> ModelDescription | None:
        return self.document.model

    def _action(self, text: str, slot, shortcut=None, tip: str = "", name: str = "",
                scope: QWidget | None = None) -> QAction:
        """An action whose shortcut works whatever widget has focus or, with ``scope``, only while
        focus is in that widget (for keys that sliders and text boxes also use for themselves)."""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        if name:
            action.setObjectName(name)
        action.triggered.connect(lambda _=False: slot())
        if scope is None:
            self.addAction(action)
        else:
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            scope.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open\u2026", self.open_model_dialog, QKeySequence.Open,
                                        "Open a model, an exported PNG, a session or a W+ file", "actionOpen")
        self.export_action = self._action("&Export image", self.export_image, "Ctrl+E",
                                          "Save the image as an auto-numbered PNG that carries its recipe",
                                          "actionExportImage")
        self.export_as_action = self._action("Export image &as\u2026", self.export_image_dialog, "Ctrl+Shift+E")
        self.export_w_action = self._action("Export &W+\u2026", self.export_wplus_dialog,
                                            tip="Save the current W+ in NVIDIA's projected_w.npz layout")
        self.import_w_action = self._action("&Import W+\u2026", self.import_wplus_dialog,
                                            tip="Use a projected_w.npz / .npy as latent A")
        self.save_session_action = self._action("&Save session as\u2026", self.save_session_dialog, QKeySequence.Save)
        self.open_session_action = self._action("Open se&ssion\u2026", self.open_session_dialog)
        self.prefs_action = self._action("&Preferences\u2026", self.preferences_dialog, QKeySequence.Preferences)
        self.quit_action = self._action("&Quit", self.close, QKeySequence.Quit)

        self.undo_action = self._action("&Undo", self.history.undo, [QKeySequence("Ctrl+Z")], name="actionUndo")
        self.redo_action = self._action("&Redo", self.history.redo,
                                        [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")], name="actionRedo")
        self.history.add_listener(self._update_undo_actions)
        self._update_undo_actions()
        self.random_a_action = self._action("Random seed &A", lambda: self.randomize("a"), "R")
        self.random_b_action = self._action("Random seed &B", lambda: self.randomize("b"), "Shift+R")
        # The arrow keys step seed A from the image; on a focused slider or seed box they stay its own.
        self.prev_action = self._action("Previous seed A", lambda: self.step_seed_a(-1), "Left", scope=self.canvas)
        self.next_action = self._action("Next seed A", lambda: self.step_seed_a(+1), "Right", scope=self.canvas)
        self.swap_action = self._action("S&wap A and B", lambda: self.set_state(self.state.swapped(), "Swap A and B"))
        self.fit_action = self._action("Zoom to &fit", self.canvas.zoom_to_fit, "Ctrl+0")
        self.actual_action = self._action("&Actual pixels (1:1)", self.canvas.zoom_actual, "Ctrl+1")
        self.shortcuts_action = self._action("&Keyboard shortcuts", self.show_shortcuts, QKeySequence.HelpContents)
        self.about_action = self._action("&About", self.show_about)

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.export_as_action)
        scale_menu = file_menu.addMenu("Export s&cale")
        self.scale_actions = {}
        for factor in (1, 2, 4):
            a = scale_menu.addAction(f"{factor}\u00d7 (nearest neighbour)" if factor > 1 else "1\u00d7 (model resolution)")
            a.setCheckable(True)
            a.setChecked(factor == 1)
            a.triggered.connect(lambda _=False, f=factor: self.set_export_scale(f))
            self.scale_actions[factor] = a
        file_menu.addSeparator()
        file_menu.addAction(self.export_w_action)
        file_menu.addAction(self.import_w_action)
        self.menu_anchors = {"file": file_menu.addSeparator()}  # features' File entries go above it
        file_menu.addAction(self.open_session_action)
        file_menu.addAction(self.save_session_action)
        file_menu.addSeparator()
        file_menu.addAction(self.prefs_action)
        file_menu.addAction(self.quit_action)

        edit = bar.addMenu("&Edit")
        for a in (self.undo_action, self.redo_action, None, self.random_a_action, self.random_b_action,
                  self.prev_action, self.next_action, self.swap_action):
            edit.addSeparator() if a is None else edit.addAction(a)

        self.view_menu = bar.addMenu("&View")
        self.view_menu.addAction(self.fit_action)
        self.view_menu.addAction(self.actual_action)
        self.view_menu.addSeparator()
        for dock in (self.latent_dock, self.truncation_dock, self.layers_dock):
            self.view_menu.addAction(dock.toggleViewAction())

        self.menus = {"file": file_menu, "edit": edit, "view": self.view_menu}
        for key, title in (("model", "&Model"), ("tools", "&Tools"), ("train", "T&rain")):  # shown once
            self.menus[key] = bar.addMenu(title)                                            # a feature adds to them
            self.menus[key].menuAction().setVisible(False)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)
        self.menus["help"] = help_menu

        tools = self.addToolBar("Main")
        tools.setObjectName("mainToolbar")
        tools.setMovable(False)
        for a in (self.open_action, self.export_action, None, self.undo_action, self.redo_action, None,
                  self.random_a_action, self.swap_action, None, self.fit_action, self.actual_action):
            tools.addSeparator() if a is None else tools.addAction(a)

    def _build_status(self) -> None:
        status = self.statusBar()
        self.busy = QProgressBar()
        self.busy.setObjectName("busyIndicator")
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setMaximumHeight(14)
        self.busy.hide()
        self.model_label = QLabel("no model")
        self.render_label = QLabel("render \u2013 ms")
        self.render_label.setObjectName("renderTime")
        self.fps_label = QLabel("\u2013 fps")
        self.fps_label.setObjectName("fps")
        self.device_label = QLabel("\u2013")
        self.device_label.setObjectName("device")
        self.res_label = QLabel("\u2013")
        self.res_label.setObjectName("resolution")
        self.zoom_label = QLabel("fit")
        metrics = self.fontMetrics()
        for label, widest in ((self.render_label, "render 9999.9 ms"), (self.fps_label, "999 fps"),
                              (self.res_label, "9999\u00d79999"), (self.zoom_label, "9999%")):
            label.setMinimumWidth(metrics.horizontalAdvance(widest) + 8)  # no status-bar relayout per frame
        self.jobs_indicator = JobsIndicator(self.jobs.jobs)
        self.jobs.jobsChanged.connect(self.jobs_indicator.refresh)
        for w in (self.jobs_indicator, self.busy, self.model_label, self.render_label, self.fps_label, self.device_label, self.res_label,
                  self.zoom_label):
            status.addPermanentWidget(w)

    # ================================================================ the state
    def set_state(self, new: State, text: str = "Change", control: str = "") -> None:
        """Make ``new`` the state, as one undo step (merged with the previous one within a gesture)."""
        self.document.set_state(new, text, control)

    def set_param(self, address: str, value) -> None:
        """Set one parameter by its registry address (a panel's slider, a controller): checked by the
        registry, recorded as one undo step per gesture on that address, rendered latest-wins."""
        if self.model_info is None:
            return
        try:
            self.document.set_param(address, value)
        except ExplorerError as exc:
            self.show_error(str(exc))
            self._sync_widgets()
            return
        self.context.paramSet.emit(address)

    def _update_undo_actions(self) -> None:
        for action, word, possible, text in ((self.undo_action, "Undo", self.history.can_undo, self.history.undo_text),
                                             (self.redo_action, "Redo", self.history.can_redo, self.history.redo_text)):
            action.setEnabled(possible)
            action.setText(f"&{word} {text}" if text else f"&{word}")

    def _on_edit(self, fn: Callable[[State], State], control: str, text: str) -> None:
        try:
            new = fn(self.state)
        except (ValueError, ExplorerError) as exc:
            self.show_error(one_line(exc))
            self._sync_widgets()
            return
        self.set_state(new, text, control)

    def _on_state_changed(self, old: State, state: State) -> None:
        """The document's state changed (an edit, undo, a model switch): show it in the widgets, render it."""
        self._sync_widgets(old)
        self._request_render()
        self.context.stateChanged.emit(state)

    def _sync_widgets(self, old: State | None = None) -> None:
        """Mirror the state into the panels; with ``old``, only the panels whose fields changed (a slider
        drag then costs one panel update per step, which keeps the event loop free)."""
        s = self.state

        def changed(*fields):
            return old is None or any(getattr(old, f) != getattr(s, f) for f in fields)

        if changed("a", "b", "class_idx"):
            self.latent_panel.set_state(s)
        if changed("mix", "layer_psi"):
            self.layers_panel.set_state(s)
        if changed("psi", "cutoff", "noise_mode", "noise_seed", "noise_strength", "translate", "rotate"):
            self.truncation_panel.set_state(s)

    def _request_render(self) -> None:
        if self.model_info is None:
            return
        self._seq += 1
        if self._render_pending_since is None:
            self._render_pending_since = time.monotonic()
        self.worker.request_render(self.state, self._seq)
        for key, thumb in (("thumbA", self.state.replace(mix=())),
                           ("thumbB", self.state.replace(a=self.state.b, mix=()))):
            if self._thumb_requests.get(key) != thumb:
                self._thumb_requests[key] = thumb
                self.worker.request_render(thumb, self._seq, key)

    def request_background_render(self, state: State, key: str) -> None:
        """A feature's render (``FeatureContext.request_render``); the result goes to ``context.rendered``."""
        if self.model_info is not None:
            self._seq += 1
            self.worker.request_render(state, self._seq, key)

    def randomize(self, side: str) -> None:
        seed = random_seed()
        self.set_state(self.state.replace(**{side: Latent(seed=seed)}), f"Random seed {side.upper()}")

    def step_seed_a(self, delta: int) -> None:
        self.set_state(self.state.replace(a=Latent(seed=step_seed(self.state.a.seed, delta))),
                       f"Seed A {'+' if delta > 0 else '-'}1", "seedA")

    def set_export_scale(self, factor: int) -> None:
        self.export_scale = factor
        for f, a in self.scale_actions.items():
            a.setChecked(f == factor)

    # ================================================================ results from the render thread
    def _on_rendered(self, result: RenderResult) -> None:
        if result.generation != self.generation:
            return  # made with a model we have since replaced
        if result.key not in ("render", "thumbA", "thumbB"):
            self.context.rendered.emit(result)
            return
        if result.key in ("thumbA", "thumbB"):
            thumb = self.latent_panel.thumb_a if result.key == "thumbA" else self.latent_panel.thumb_b
            thumb.set_array(result.image)
            self._thumb_shown[result.key] = result.state
            return
        self.last_result = result
        self.canvas.set_image(result.image, result.qimage)
        self.canvas.set_message("")
        if self.is_current():
            self._render_pending_since = None
            self.canvas.set_stale(False)
        if self.stack.currentWidget() is not self.canvas:  # the first image: keys go to it (arrow keys)
            self.stack.setCurrentWidget(self.canvas)
            if self.focusWidget() is None or self.welcome.isAncestorOf(self.focusWidget()):
                self.canvas.setFocus()
        self._frame_times.append(time.monotonic())
        self.render_label.setText(f"render {result.ms:.1f} ms")
        self.imageShown.emit(result)

    def _update_fps(self) -> None:
        """Twice a second: frames per second, or, while a slow render is pending, how long it has taken."""
        now = time.monotonic()
        pending = self._render_pending_since
        if pending is not None and now - pending >= SLOW_RENDER_S and self.model_info is not None:
            self.fps_label.setText("rendering\u2026")
            self.render_label.setText(f"rendering {now - pending:.1f} s")
            self.canvas.set_stale(True)
            return
        recent = [t for t in self._frame_times if now - t <= 1.0]
        self.fps_label.setText(f"{len(recent)} fps" if recent else "idle")

    def image_array(self) -> np.ndarray | None:
        """The image on the canvas (for tests and automation)."""
        return self.canvas.image_array()

    def thumbnails_current(self) -> bool:
        return all(self._thumb_shown.get(k) == v for k, v in self._thumb_requests.items())

    def is_current(self) -> bool:
        """True when the canvas shows the image of the current state."""
        return self.last_result is not None and self.last_result.state == self.state and \
            self.last_result.generation == self.generation

    # ================================================================ models
    def open_model(self, path: str | Path, state: State | None = None) -> None:
        """Load a model in the background; ``state`` (if given) is applied once it is loaded."""
        path = str(path)
        self._pending_after_load = state
        self._loading_path = path
        self.canvas.set_message(f"Loading {Path(path).name}\u2026")
        self.worker.request_load(path, prefs.device_preference())

    def set_when_loaded(self, assignments: list[str]) -> None:
        """Apply ``ADDRESS=VALUE`` parameter assignments once the next model is open (``gui --set``)."""
        self._pending_assignments = list(assignments)

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)

    def _on_model_loaded(self, generation: int, info: ModelDescription) -> None:
        self.generation = generation
        self._loading_path = None
        self._thumb_requests.clear()
        self._thumb_shown.clear()
        self.latent_panel.thumb_a.clear()
        self.latent_panel.thumb_b.clear()
        self.last_result = None
        self._render_pending_since = None
        prefs.add_recent_file(info.path)
        self.layers_panel.set_rows(info.rows)
        self.latent_panel.set_class_count(info.c_dim)
        self.truncation_panel.set_model(info.num_ws, info.has_input_transform)
        self.setWindowTitle(f"{info.name} \u2014 StyleGAN Explorer")
        self.model_label.setText(info.name)
        self.model_label.setToolTip(f"{info.path}\nsha256 {info.sha256}\n{info.source_format}")
        self.device_label.setText(info.device)
        self.res_label.setText(f"{info.img_resolution}\u00d7{info.img_resolution}")
        state, self._pending_after_load = self._pending_after_load, None
        assignments, self._pending_assignments = self._pending_assignments, []  # `explorer gui --set A=V`
        self.clear_error()
        try:
            self._say_fitted(info, self.document.open_model(info, state, assignments))
        except ExplorerError as exc:
            self.show_error(str(exc))
        self._sync_widgets()  # every panel: set_rows / set_model above reset their widgets to defaults
        self.canvas.set_message("Rendering\u2026")
        if self.stack.currentWidget() is self.welcome:
            for dock in (self.latent_dock, self.truncation_dock, self.layers_dock):
                dock.show()
        if not self._docks_fitted:  # once: split the left side by what each panel needs
            self._docks_fitted = True
            for dock in (self.latent_dock, self.truncation_dock, self.layers_dock):
                dock.raise_()  # in front of the features' docks tabbed with them
            self.resizeDocks([self.latent_dock, self.truncation_dock],
                             [self.latent_panel.sizeHint().height() + 40,
                              self.truncation_panel.sizeHint().height() + 10], Qt.Vertical)
        self.stack.setCurrentWidget(self.canvas)
        self.modelLoaded.emit(info)

    def _fit_state(self, state: State) -> State:
        """``state`` fitted to the open model (engine/document.py's rules); what changed goes to the status line."""
        fitted = self.document.fit(state)
        self._say_fitted(self.model_info, fitted.notes)
        return fitted.state

    def _say_fitted(self, info: ModelDescription, notes: tuple[str, ...]) -> None:
        if notes:
            self.statusBar().showMessage(f"{info.name}: " + "; ".join(notes), 10000)

    def _on_load_failed(self, path: str, reason: str) -> None:
        self._loading_path = None
        self._pending_after_load = None
        self.show_error(reason)
        if self.model_info is None:
            self.canvas.set_message("")
            self._show_welcome()
        else:
            self.canvas.set_message("")

    def _show_welcome(self) -> None:
        """No model: the welcome page, without the (empty) control docks that would crowd it."""
        self.welcome.set_recent(prefs.recent_files())
        self.stack.setCurrentWidget(self.welcome)
        for dock in (self.latent_dock, self.truncation_dock, self.layers_dock):
            dock.hide()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = prefs.recent_files()
        for p in files:
            self.recent_menu.addAction(Path(p).name, lambda p=p: self.open_model(p)).setToolTip(p)
        if not files:
            self.recent_menu.addAction("(none)").setEnabled(False)

    # ================================================================ opening anything
    def open_path(self, path: str | Path) -> None:
        """Open what a file is: a model, an exported PNG (its recipe), a session / state JSON or a W+ file."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in self.context.handled_suffixes() and (suffix != ".png" or not recipes.has_recipe(path)):
            if self.context.handle_file(str(path)):
                return
        if suffix == ".png":
            self.open_image_recipe(path)
        elif suffix in (".npz", ".npy"):
            self.import_wplus(path)
        elif suffix == ".json":
            self.open_session(path)
        else:
            self.open_model(path)

    def open_model_dialog(self) -> None:
        start = str(Path(self.model_info.path).parent) if self.model_info else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(self, "Open", start, OPEN_FILTER)
        if path:
            self.open_path(path)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_path(files[0])

    def open_image_recipe(self, path: str | Path) -> None:
        """Restore the state an exported PNG carries, offering to open its model when another is loaded."""
        try:
            recipe = recipes.read_recipe(path)
        except Exception as exc:  # whatever the file does, a banner and the previous state kept
            self.show_error(one_line(exc, path))
            return
        for error in self.document.restore_recipe_parts(recipe.parts or {}, Path(path).name):
            self.show_error(error)
        plan = plan_recipe(path, recipe, self.model_info, prefs.recent_files())
        while plan is not None:  # engine/opening.py decides; here the questions are asked
            if plan.action == REFUSE:
                self.show_error(plan.message)
            elif plan.action == ASK_OPEN and self.ask(plan.message):
                self.open_model(plan.model_path, state=recipe.state)
            elif plan.action == ASK_OPEN:
                plan = plan.then
                continue
            elif plan.action == APPLY or self.ask(plan.message):
                self.set_state(self._fit_state(recipe.state), f"Open {Path(path).name}")
            return

    def ask(self, question: str) -> bool:
        """A yes/no question (tests replace this method)."""
        answer = QMessageBox.question(self, "StyleGAN Explorer", question, QMessageBox.Yes | QMessageBox.No)
        return answer == QMessageBox.Yes

    # ================================================================ exports
    def default_export_dir(self) -> Path:
        value = prefs.settings().value("export_dir")
        return Path(value) if value else Path.cwd()

    def export_image(self, folder: str | Path | None = None, scale: int | None = None) -> Path | None:
        """Write the current image as ``<model>-NNNN.png`` in ``folder`` (never overwriting); returns the path.

        If the current state's image is still rendering, it is written when it arrives.
        """
        if self.model_info is None:
            self.show_error("no model is open")
            return None
        folder = Path(folder) if folder is not None else self.default_export_dir()
        path = next_free_path(folder, Path(self.model_info.name).stem, ".png")
        self._export_to(path, scale or self.export_scale, overwrite=False)
        return path

    def export_image_dialog(self) -> None:
        if self.model_info is None:
            self.show_error("no model is open")
            return
        suggestion = next_free_path(self.default_export_dir(), Path(self.model_info.name).stem, ".png")
        path, _ = QFileDialog.getSaveFileName(self, "Export image", str(suggestion), "PNG images (*.png)")
        if path:  # the dialog asked before replacing an existing file
            prefs.settings().setValue("export_dir", str(Path(path).parent))
            self._export_to(Path(path).with_suffix(".png"), self.export_scale, overwrite=True)

    def _export_to(self, path: Path, scale: int, overwrite: bool) -> None:
        """Write the image of the state as it is *now*: the one on screen if it is current, else rendered
        for the export in the render thread (a one-off job, so a later edit cannot change what is saved)."""
        if self.is_current():
            self._write_export(path, self.last_result.state, self.last_result.image, scale, overwrite)
            return
        state = self.state
        self.run_in_render_thread(lambda renderer: renderer.render(state),
                                  lambda image: self._write_export(path, state, image, scale, overwrite))

    def _write_export(self, path: Path, state: State, image: np.ndarray, scale: int, overwrite: bool) -> None:
        info = self.model_info
        recipe = recipes.Recipe(state, info.name, info.sha256, info.source_format, self.document.recipe_parts())
        try:
            recipes.write_png(path, images.upscale_nearest(image, scale), recipe, overwrite=overwrite)
        except FileExistsError:
            self.show_error(f"{path.name}: already exists; not overwritten")
            return
        except OSError as exc:
            self.show_error(f"{path.name}: cannot write ({exc.strerror or exc})")
            return
        self.statusBar().showMessage(f"Saved {path}", 5000)
        self.imageExported.emit(str(path))

    def run_in_render_thread(self, fn: Callable, on_done: Callable) -> None:
        """Run ``fn(renderer)`` in the render thread; ``on_done(result)`` is called in the UI thread."""
        self._job_token += 1
        self._jobs[self._job_token] = on_done
        self.worker.submit(self._job_token, fn)

    def _on_job_done(self, token: int, result, error: str) -> None:
        on_done = self._jobs.pop(token, None)
        if self._shut_down:  # e.g. a job's model copy made while closing: start nothing on a closed window
            return
        if error:
            self.show_error(error)
        elif on_done is not None:
            on_done(result)

    def export_wplus(self, path: str | Path) -> None:
        """Save the current W+ ([1, num_ws, w_dim], projected_w.npz layout); ``wplusExported`` when written."""
        state, path = self.state, Path(path)

        def write(w):
            try:
                save_wplus_npz(path, w[None])
            except OSError as exc:
                self.show_error(f"{path.name}: cannot write ({exc.strerror or exc})")
                return
            self.statusBar().showMessage(f"Saved {path}", 5000)
            self.wplusExported.emit(str(path))

        self.run_in_render_thread(lambda renderer: renderer.wplus(state).detach().cpu().numpy(), write)

    def export_wplus_dialog(self) -> None:
        if self.model_info is None:
            self.show_error("no model is open")
            return
        suggestion = next_free_path(self.default_export_dir(), Path(self.model_info.name).stem + "-w", ".npz")
        path, _ = QFileDialog.getSaveFileName(self, "Export W+", str(suggestion), "W+ (*.npz)")
        if path:
            self.export_wplus(Path(path).with_suffix(".npz"))

    def import_wplus(self, path: str | Path) -> None:
        """Use the first W+ in a .npz / .npy file as latent A (a custom latent)."""
        try:
            w = load_wplus_file(path)
        except ExplorerError as exc:
            self.show_error(str(exc))
            return
        info = self.model_info
        if info is not None and w.shape[1:] != (info.num_ws, info.w_dim):
            self.show_error(f"{Path(path).name}: W+ has shape {tuple(w.shape[1:])}, "
                            f"{info.name} needs ({info.num_ws}, {info.w_dim})")
            return
        latent = Latent(w_plus=tuple(tuple(float(v) for v in row) for row in w[0]))
        self.set_state(self.state.replace(a=latent), f"Import {Path(path).name}")
        if len(w) > 1:
            self.statusBar().showMessage(f"{Path(path).name} holds {len(w)} latents; using the first", 8000)

    def import_wplus_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import W+", str(self.default_export_dir()),
                                              "W+ (*.npz *.npy)")
        if path:
            self.import_wplus(path)

    # ================================================================ sessions
    def session_path(self) -> Path:
        return prefs.session_dir() / SESSION_FILE

    def current_session(self) -> Session:
        return self.document.session(str(self.model_info.path) if self.model_info else None)

    def save_session(self, path: str | Path | None = None) -> None:
        """Save model + state (+ registered parts) atomically; the autosave skips unchanged sessions."""
        session = self.current_session()
        data = session.to_json()
        if path is None and data == self._session_saved_json:
            return
        try:
            save_session(path or self.session_path(), session)
        except OSError as exc:
            self.show_error(f"cannot save the session ({exc.strerror or exc})")
            return
        if path is None:
            self._session_saved_json = data

    def save_session_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", str(self.default_export_dir() / "session.json"),
                                              "Sessions (*.json)")
        if path:
            self.save_session(Path(path).with_suffix(".json"))

    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", str(self.default_export_dir()), "Sessions (*.json)")
        if path:
            self.open_session(path)

    def open_session(self, path: str | Path) -> None:
        try:
            session = load_session(path)
        except Exception as exc:  # whatever the file does, a banner and the previous state kept
            self.show_error(one_line(exc, path))
            return
        self._restore_session(session)

    def _restore_session(self, session: Session) -> None:
        for error in self.document.restore_parts(session):  # one bad part must not lose the rest
            self.show_error(error)
        model = session.model
        same = self.model_info is not None and model is not None and Path(model).resolve() == self.model_info.path
        if model and not same:
            self.open_model(model, state=session.state)
        elif self.model_info is not None:
            self.set_state(self._fit_state(session.state), "Open session")
        else:  # no model yet: shown as it is, fitted when one opens
            self.set_state(session.state, "Open session")

    def _startup(self, network, restore_session: bool, state: State | None) -> None:
        session = None
        if restore_session and self.session_path().exists():
            try:
                session = load_session(self.session_path())
            except ExplorerError as exc:
                self.statusBar().showMessage(f"previous session not restored: {exc}", 8000)
        plan = plan_startup(network, session, [BUNDLED_MODEL, prefs.last_model()])
        if plan.action == "open":
            self.open_model(plan.model_path, state=state if state is not None and network is not None else plan.state)
        elif plan.action == "restore":
            self._restore_session(plan.session)
        else:
            self._show_welcome()

    # ================================================================ errors, dialogs
    def show_error(self, text: str) -> None:
        """One line in the banner and the status bar; ``errorOccurred`` for tests and automation."""
        text = " ".join(str(text).split())
        self.last_error = text
        self.banner_label.setText(text)
        self.banner.show()
        self.statusBar().showMessage(text, 10000)
        self.errorOccurred.emit(text)

    def clear_error(self) -> None:
        self.banner.hide()
        if self.statusBar().currentMessage() == self.last_error:
            self.statusBar().clearMessage()

    def preferences_dialog(self) -> None:
        from explorer.gui.preferences import PreferencesDialog

        dialog = PreferencesDialog(self)
        if dialog.exec():
            device, threads = dialog.values()
            old_device = prefs.device_preference()
            prefs.set_preferences(device, threads)
            self.worker.set_threads(threads)
            if device != old_device and self.model_info is not None:
                self.open_model(self.model_info.path, state=self.state)

    def show_shortcuts(self) -> None:
        box = QMessageBox(QMessageBox.NoIcon, "Keyboard shortcuts", SHORTCUTS_HELP, QMessageBox.Close, self)
        box.setModal(False)
        box.show()

    def show_about(self) -> None:
        QMessageBox.about(self, "About StyleGAN Explorer",
                          f"<b>StyleGAN Explorer</b> {__version__}<p>Explore StyleGAN models: seeds, style mixing, "
                          "truncation, noise; exports carry their recipe.</p>")

    # ================================================================ closing
    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save the session and stop the render thread (idempotent)."""
        if self._shut_down:
            return
        self._shut_down = True
        self.context.closing.emit()
        self._autosave.stop()
        self._fps_timer.stop()
        self.jobs.cancel_all(wait_s=10.0)  # an export removes its temporary file when cancelled
        if self.model_info is not None:
            self.save_session()
        self.worker.stop()
