"""The Drag tool: DragGAN point dragging on the canvas (the engine is explorer/engine/drag.py).

Tools > Drag points (or the panel's button) gives the canvas's left button to the tool. In *Points* mode a
click sets a handle (red), the next click its target (blue), and so on; a press on a point moves it. In
*Mask* / *Erase* mode the brush paints or erases the region that may change (shown tinted; no mask: all
may change). Start runs the drag as a job on a private copy of the model (progress and cancel in the
status bar); the canvas shows every step. Stop ends it early keeping what it has. The result becomes the
state's W+ latent as one undoable step ("Drag"); the handles then sit where they were tracked to, the
targets and the mask stay, ready for another round. The points and the mask are kept in the session.
With *Record steps* checked, Start first asks for a video file and writes every step into it (the
command line's step video: handles red, targets blue).
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from explorer.engine.drag import STEP_VIDEO_FPS, DragSpec, decode_mask, drag, dragged_state, encode_mask, step_frame
from explorer.engine.images import watchable_factor
from explorer.engine.render import Renderer
from explorer.errors import ExplorerError
from explorer.gui.widgets import SpinBox
from explorer.video.encoders import format_of, open_writer


HANDLE_COLOUR, TARGET_COLOUR, MASK_TINT = QColor(235, 50, 50), QColor(50, 110, 255), QColor(255, 210, 0, 90)
GRAB_DISTANCE = 8.0  # widget points: a press this near a point moves it
MODES = ("points", "mask", "erase")


def install(ctx) -> "DragTool":
    return DragTool(ctx)


class DragPoints:
    """The tool's document: handle / target pairs and the mask, in the engine's pixel coordinates
    ((0, 0) the top-left pixel's centre; the canvas's image coordinates are 0.5 more)."""

    def __init__(self):
        self.clear()

    def clear(self) -> None:
        self.handles: list[tuple[float, float]] = []
        self.targets: list[tuple[float, float]] = []
        self.mask: np.ndarray | None = None  # bool [H, W], True where the image may change

    def fit(self, size: int) -> None:
        """Keep what fits an image of ``size`` pixels: pairs inside it, a mask of its size."""
        inside = lambda p: 0 <= p[0] <= size - 1 and 0 <= p[1] <= size - 1  # noqa: E731
        keep = [i for i, h in enumerate(self.handles)
                if inside(h) and (i >= len(self.targets) or inside(self.targets[i]))]
        self.targets = [self.targets[i] for i in keep if i < len(self.targets)]
        self.handles = [self.handles[i] for i in keep]
        if self.mask is not None and self.mask.shape != (size, size):
            self.mask = None

    def add(self, point: tuple[float, float]) -> None:
        """A handle, or the target of the last handle if it has none yet."""
        if len(self.targets) < len(self.handles):
            self.targets.append(point)
        else:
            self.handles.append(point)

    def nearest(self, point: tuple[float, float], within: float) -> tuple[str, int] | None:
        """("handles" | "targets", index) of the point nearest ``point`` within ``within`` pixels."""
        best, found = within, None
        for kind in ("targets", "handles"):
            for i, (x, y) in enumerate(getattr(self, kind)):
                d = float(np.hypot(x - point[0], y - point[1]))
                if d <= best:
                    best, found = d, (kind, i)
        return found

    def brush(self, size: int, a: tuple[float, float], b: tuple[float, float], radius: float, free: bool) -> None:
        """Paint (``free``) or erase the mask along the segment a-b with a round brush."""
        if self.mask is None:
            if not free:
                return  # no mask: everything is free already
            self.mask = np.zeros((size, size), bool)
        yy, xx = np.mgrid[0:size, 0:size]
        ab = np.subtract(b, a)
        t = np.clip(((xx - a[0]) * ab[0] + (yy - a[1]) * ab[1]) / max(float(ab @ ab), 1e-9), 0, 1)
        near = (xx - a[0] - t * ab[0]) ** 2 + (yy - a[1] - t * ab[1]) ** 2 <= radius**2
        self.mask[near] = free

    def pairs(self) -> tuple[tuple, tuple]:
        """The complete pairs (an unmatched last handle is left out)."""
        n = len(self.targets)
        return tuple(self.handles[:n]), tuple(self.targets)

    def to_json(self) -> dict:
        return {"handles": [list(p) for p in self.handles], "targets": [list(p) for p in self.targets],
                "mask": None if self.mask is None else encode_mask(self.mask)}

    def load_json(self, data) -> None:
        """Points from a session; anything malformed leaves the tool empty."""
        self.clear()
        try:
            self.handles = [(float(x), float(y)) for x, y in data.get("handles", [])]
            self.targets = [(float(x), float(y)) for x, y in data.get("targets", [])][:len(self.handles)]
            self.mask = decode_mask(data["mask"]) if data.get("mask") else None
        except (AttributeError, TypeError, ValueError, ExplorerError):
            self.clear()


class DragTool:
    """The canvas tool (explorer.gui.canvas.CanvasTool) and the panel's controller."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.points = DragPoints()
        self.mode = "points"
        self.brush_radius = 4
        self._moving: tuple[str, int] | None = None
        self._last: tuple[float, float] | None = None
        self._stop = threading.Event()
        self._running = False
        self._shown_before: np.ndarray | None = None
        self._writer = None  # the step video being recorded
        self._mask_image: QImage | None = None
        self.panel = DragPanel(self)
        self.dock = ctx.add_dock(self.panel, "Drag", "dragDock", area="right", visible=False)
        self.action = ctx.add_action("tools", "Drag points", self._toggled, shortcut="Ctrl+D", name="actionDragTool",
                                     tip="Drag points on the canvas to move what is under them (DragGAN)",
                                     checkable=True)
        ctx.modelLoaded.connect(self._model_loaded)
        ctx.register_session_part("drag", self.points.to_json, self._restore)

    # ---- on and off -------------------------------------------------------------------------------
    def set_active(self, on: bool) -> None:
        self.action.setChecked(on)

    def _toggled(self) -> None:
        on = self.action.isChecked()
        self.ctx.canvas.set_tool(self if on else None)
        self.panel.active_button.setChecked(on)
        if on:
            self.dock.show()
            self.dock.raise_()

    def _model_loaded(self, info) -> None:
        """Another model: points outside its image and a mask of another size go."""
        self.points.fit(info.img_resolution)
        self._mask_image = None
        self._changed()

    # ---- the canvas tool --------------------------------------------------------------------------
    def _size(self) -> int:
        info = self.ctx.model_info
        return info.img_resolution if info is not None else 0

    def press(self, x: float, y: float, event) -> None:
        point = (x - 0.5, y - 0.5)
        if self.mode == "points":
            rect = self.ctx.canvas.image_rect()
            scale = rect.width() / self._size() if rect is not None and self._size() else 1.0
            self._moving = self.points.nearest(point, GRAB_DISTANCE / scale)
            if self._moving is None:
                self.points.add(self._clamped(point))
        else:
            self._last = point
            self._paint_mask(point)
        self._changed()

    def move(self, x: float, y: float, event) -> None:
        point = (x - 0.5, y - 0.5)
        if self._moving is not None:
            kind, i = self._moving
            getattr(self.points, kind)[i] = self._clamped(point)
        elif self._last is not None:
            self._paint_mask(point)
        self._changed()

    def release(self, x: float, y: float, event) -> None:
        self._moving = self._last = None

    def _clamped(self, point: tuple[float, float]) -> tuple[float, float]:
        top = self._size() - 1
        return (min(max(round(point[0]), 0), top), min(max(round(point[1]), 0), top))

    def _paint_mask(self, point: tuple[float, float]) -> None:
        size = self._size()
        if size:
            self.points.brush(size, self._last, point, self.brush_radius, free=self.mode == "mask")
            self._last = point
            self._mask_image = None

    def paint(self, painter: QPainter, to_widget, scale: float) -> None:
        size = self._size()
        if self.points.mask is not None and size:
            if self._mask_image is None:
                tint = np.zeros((size, size, 4), np.uint8)
                tint[self.points.mask] = (MASK_TINT.red(), MASK_TINT.green(), MASK_TINT.blue(), MASK_TINT.alpha())
                self._mask_image = QImage(tint.data, size, size, 4 * size, QImage.Format_RGBA8888).copy()
            painter.drawImage(QRectF(to_widget(0, 0), to_widget(size, size)), self._mask_image)
        radius = max(3.0, min(6.0, scale * 0.6))
        centre = lambda p: to_widget(p[0] + 0.5, p[1] + 0.5)  # noqa: E731
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255, 200), 1.5))
        for h, t in zip(self.points.handles, self.points.targets):
            painter.drawLine(centre(h), centre(t))
        for points, colour in ((self.points.handles, HANDLE_COLOUR), (self.points.targets, TARGET_COLOUR)):
            painter.setBrush(colour)
            for p in points:
                painter.drawEllipse(centre(p), radius, radius)

    # ---- editing ----------------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.mode = mode

    def reset_points(self) -> None:
        self.points.handles.clear()
        self.points.targets.clear()
        self._changed()

    def clear_mask(self) -> None:
        self.points.mask, self._mask_image = None, None
        self._changed()

    def _restore(self, data) -> None:
        self.points.load_json(data)
        if self.ctx.model_info is not None:  # else the model, once open, fits them
            self.points.fit(self._size())
        self._mask_image = None
        self._changed()

    def _changed(self) -> None:
        self.ctx.canvas.update()
        self.panel.show_points(self.points, self._running)

    # ---- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._running or self.ctx.model_info is None:
            return
        handles, targets = self.points.pairs()
        if not handles:
            self.ctx.show_error("Drag: set a handle and its target on the canvas first (Tools > Drag points)")
            return
        try:
            spec = DragSpec(handles=handles, targets=targets, mask=self.points.mask, steps=self.panel.steps.value())
            spec.check((self._size(), self._size()))
        except ExplorerError as exc:
            self.ctx.show_error(f"Drag: {exc}")
            return
        if self.panel.record.isChecked() and not self._open_video():
            return
        state = self.ctx.state
        self._stop.clear()
        self._running = True
        self._shown_before = self.ctx.canvas.image_array()
        self._changed()

        def job(job_ctx, model):
            return drag(job_ctx, Renderer(model), state, spec, should_stop=self._stop.is_set)

        def done(result) -> None:
            video = self._finish(keep_video=True)
            self.points.handles[:len(result.handles)] = list(result.handles)  # ready for another round
            self.ctx.set_state(dragged_state(state, result, spec), "Drag")
            verdict = "reached its targets" if result.reached else "stopped"
            recorded = f"; steps recorded in {video}" if video is not None else ""
            self.ctx.show_status(f"Drag {verdict} after {result.steps} steps{recorded}")
            self._changed()

        self._targets = spec.targets
        self.ctx.run_job("Drag", job, on_done=done, on_preview=self._show_step, on_error=self._failed,
                         on_cancelled=self._cancelled)

    def ask_video_path(self) -> str:
        """Where to record the step video ("" to give up; tests replace this)."""
        path, _ = QFileDialog.getSaveFileName(self.ctx.widget, "Record drag steps", "drag.mp4",
                                              "Videos (*.mp4 *.webm *.gif)")
        return path

    def _open_video(self) -> bool:
        path = self.ask_video_path()
        if not path:
            return False
        size = self._size() * watchable_factor(self._size())
        try:
            # the file dialog has asked before replacing a file
            self._writer = open_writer(path, format_of(path), STEP_VIDEO_FPS, size, size, overwrite=True)
        except (ExplorerError, OSError) as exc:
            self.ctx.show_error(f"Drag: cannot record the steps: {exc}")
            return False
        return True

    def stop(self) -> None:
        """End the running drag after its current step, keeping the result so far."""
        self._stop.set()

    def _show_step(self, step) -> None:
        if not self._running:
            return
        self.ctx.canvas.set_image(step.image)
        self.panel.show_step(step)
        if self._writer is not None:
            try:
                self._writer.write(step_frame(step, self._targets))
            except OSError as exc:  # a full disk: the drag goes on, the recording stops
                self._writer.abort()
                self._writer = None
                self.ctx.show_error(f"Drag: recording the steps stopped: {exc}")

    def _finish(self, keep_video: bool = False):
        """The drag is over: close the step video (kept or dropped); returns its path if kept."""
        self._running = False
        self._shown_before = None
        writer, self._writer = self._writer, None
        if writer is None:
            return None
        if keep_video:
            return writer.finish()
        writer.abort()
        return None

    def _cancelled(self) -> None:
        if self._shown_before is not None:
            self.ctx.canvas.set_image(self._shown_before)  # the state did not change: show it again
        self._finish()
        self._changed()

    def _failed(self, text: str) -> None:
        self._cancelled()
        self.ctx.show_error(text)


class DragPanel(QWidget):
    """The Drag dock: the tool's switch, mode and brush, steps, Start / Stop / Reset."""

    def __init__(self, tool: DragTool):
        super().__init__()
        self.setObjectName("dragPanel")
        self.tool = tool
        layout = QVBoxLayout(self)
        self.active_button = QPushButton("Drag tool")
        self.active_button.setCheckable(True)
        self.active_button.setObjectName("dragActive")
        self.active_button.toggled.connect(tool.set_active)
        layout.addWidget(self.active_button)

        modes = QHBoxLayout()
        self.mode_group = QButtonGroup(self)
        for mode, text in zip(MODES, ("Points", "Mask", "Erase")):
            button = QRadioButton(text)
            button.setObjectName(f"dragMode_{mode}")
            button.setChecked(mode == "points")
            button.toggled.connect(lambda on, m=mode: on and tool.set_mode(m))
            self.mode_group.addButton(button)
            modes.addWidget(button)
        layout.addLayout(modes)

        form = QFormLayout()
        self.brush = SpinBox()
        self.brush.setRange(1, 256)
        self.brush.setValue(tool.brush_radius)
        self.brush.setSuffix(" px")
        self.brush.valueChanged.connect(lambda v: setattr(tool, "brush_radius", v))
        form.addRow("Brush radius", self.brush)
        self.steps = SpinBox()
        self.steps.setObjectName("dragSteps")
        self.steps.setRange(1, 5000)
        self.steps.setValue(200)
        form.addRow("Most steps", self.steps)
        layout.addLayout(form)
        self.record = QCheckBox("Record steps as a video")
        self.record.setObjectName("dragRecord")
        layout.addWidget(self.record)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("dragStart")
        self.start_button.clicked.connect(tool.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("dragStop")
        self.stop_button.clicked.connect(tool.stop)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        layout.addLayout(buttons)
        resets = QHBoxLayout()
        self.reset_button = QPushButton("Reset points")
        self.reset_button.setObjectName("dragReset")
        self.reset_button.clicked.connect(tool.reset_points)
        self.clear_mask_button = QPushButton("Clear mask")
        self.clear_mask_button.clicked.connect(tool.clear_mask)
        resets.addWidget(self.reset_button)
        resets.addWidget(self.clear_mask_button)
        layout.addLayout(resets)
        self.info = QLabel()
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        layout.addStretch(1)
        self.show_points(tool.points, False)

    def show_points(self, points: DragPoints, running: bool) -> None:
        pairs = len(points.targets)
        self.start_button.setEnabled(pairs > 0 and not running)
        self.stop_button.setEnabled(running)
        self.reset_button.setEnabled(not running)
        if not running:
            mask = "no mask (all may change)" if points.mask is None else f"mask: {int(points.mask.sum())} px free"
            self.info.setText(f"{pairs} handle{'s' if pairs != 1 else ''} with targets; {mask}")

    def show_step(self, step) -> None:
        self.info.setText(f"step {step.step} of at most {step.steps}: {step.distance:.1f} px to go")
