"""Compare: pin the image on the canvas and compare the live one against it, and an A | mix | B triptych.

- View > Pin image (P) keeps the canvas image and its state.
- View > Split wipe (W) draws the pinned image over the left part of the canvas, with a line at the split;
  dragging on the canvas moves the split (the middle button still pans).
- View > Compare window shows two or three images side by side, each a ``Canvas`` (zoom and pan as the
  main one): "pinned | live", or "A | mix | B": seed A alone, the image on screen, seed B alone. A and B are
  background renders (``compare:a`` / ``compare:b``) of the state without its mix, so the triptych shows
  what each side brings to the mix.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QVBoxLayout

from explorer.engine.state import State
from explorer.gui.canvas import Canvas, qimage_from_array
from explorer.gui.widgets import ComboBox

KEY_PREFIX = "compare:"
MODES = ("Pinned | live", "A | mix | B")


def side_states(state: State) -> dict[str, State]:
    """What the triptych's outer panes show: each seed alone, with the state's other settings."""
    return {"a": state.replace(mix=()), "b": state.replace(a=state.b, mix=())}


class WipeTool:
    """Canvas tool: dragging sets where the pinned image ends (a fraction of the image's width)."""

    def __init__(self, feature: "CompareFeature"):
        self.feature = feature

    def press(self, x, y, event) -> None:
        self.move(x, y, event)

    def move(self, x, y, event) -> None:
        image = self.feature.ctx.canvas.image()
        if image is not None:
            self.feature.split = min(1.0, max(0.0, x / image.width()))

    def release(self, x, y, event) -> None:
        self.move(x, y, event)

    def paint(self, painter, to_widget, scale) -> None:
        pass  # the overlay draws the split line


class CompareWindow(QDialog):
    """Two or three canvases side by side (non-modal)."""

    def __init__(self, feature: "CompareFeature"):
        super().__init__(feature.ctx.widget)
        self.feature = feature
        self.setWindowTitle("Compare")
        self.setObjectName("compareWindow")
        self.mode = ComboBox()
        self.mode.setObjectName("compareMode")
        self.mode.addItems(MODES)
        self.panes = {name: Canvas() for name in ("left", "middle", "right")}
        self.labels = {name: QLabel() for name in self.panes}
        row = QHBoxLayout()
        for name, canvas in self.panes.items():
            column = QVBoxLayout()
            column.addWidget(self.labels[name], 0, Qt.AlignHCenter)
            column.addWidget(canvas, 1)
            row.addLayout(column, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.mode, 0, Qt.AlignLeft)
        layout.addLayout(row, 1)
        self.resize(900, 360)
        self.mode.currentIndexChanged.connect(lambda _: self.refresh())

    @property
    def triptych(self) -> bool:
        return self.mode.currentIndex() == 1

    def refresh(self) -> None:
        """Lay the panes out for the mode and fill them with what is known now."""
        names = ("seed A alone", "mix (on screen)", "seed B alone") if self.triptych else ("pinned", "live", "")
        for (pane, label), text in zip(self.labels.items(), names):
            label.setText(text)
        self.panes["right"].setVisible(self.triptych)
        self.labels["right"].setVisible(self.triptych)
        live = self.feature.ctx.canvas.image_array()
        if self.triptych:
            self._show("middle", live)
            self.feature.request_sides()
        else:
            self._show("left", self.feature.pinned_image)
            self._show("middle", live)

    def _show(self, pane: str, image) -> None:
        if image is not None:
            self.panes[pane].set_image(image)

    def show_side(self, side: str, image) -> None:
        if self.triptych:
            self._show("left" if side == "a" else "right", image)

    def show_live(self, image) -> None:
        self._show("middle", image)


class CompareFeature:
    def __init__(self, ctx):
        self.ctx = ctx
        self.pinned_image = None
        self.pinned_state: State | None = None
        self._pinned_qimage = None
        self.wipe_action = None  # set by install
        self.split = 0.5
        self._wiping = False
        self._sides: dict[str, State] = {}  # key -> state of a pane render not back yet
        self.window: CompareWindow | None = None
        self._tool = WipeTool(self)
        ctx.imageShown.connect(self._on_image_shown)
        ctx.rendered.connect(self._on_rendered)
        ctx.stateChanged.connect(lambda state: self.request_sides())
        ctx.modelLoaded.connect(lambda info: self.unpin())

    # ---- pin and wipe ---------------------------------------------------------------------------------
    def pin(self) -> None:
        image = self.ctx.canvas.image_array()
        if image is None:
            self.ctx.show_error("nothing to pin yet: no image is shown")
            return
        self.pinned_image, self.pinned_state = image.copy(), self.ctx.state
        self._pinned_qimage = qimage_from_array(self.pinned_image)
        self.ctx.show_status(f"Pinned seed {self.ctx.state.a.seed}: W shows a split wipe against it")
        if self.window is not None and not self.window.triptych:
            self.window.refresh()
        self.ctx.canvas.update()

    def unpin(self) -> None:
        """Forget the pinned image (a new model's images are not comparable pixel for pixel)."""
        self.pinned_image = self.pinned_state = self._pinned_qimage = None
        self.set_wipe(False)

    def set_wipe(self, on: bool) -> None:
        if on and self.pinned_image is None:
            self.pin()
            if self.pinned_image is None:
                on = False
        if on == self._wiping:
            self._sync_action(on)
            return
        self._wiping = on
        canvas = self.ctx.canvas
        if on:
            canvas.add_overlay(self._draw_wipe)
            canvas.set_tool(self._tool)
        else:
            canvas.remove_overlay(self._draw_wipe)
            if canvas.tool() is self._tool:
                canvas.set_tool(None)
        self._sync_action(on)

    @property
    def wiping(self) -> bool:
        return self._wiping

    def _sync_action(self, on: bool) -> None:
        action = self.wipe_action
        if action is not None and action.isChecked() != on:
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)

    def _draw_wipe(self, painter, target: QRectF) -> None:
        """The pinned image over the left ``split`` of the image's rectangle, and the split line."""
        if self.pinned_image is None:
            return
        image = self._pinned_qimage
        width = target.width() * self.split
        source = QRectF(0, 0, image.width() * self.split, image.height())
        painter.setRenderHint(painter.RenderHint.SmoothPixmapTransform, target.width() < image.width())
        painter.drawImage(QRectF(target.x(), target.y(), width, target.height()), image, source)
        painter.setPen(QPen(QColor(255, 255, 255, 220), 1.5))
        x = target.x() + width
        painter.drawLine(QPointF(x, target.top()), QPointF(x, target.bottom()))

    # ---- the compare window ---------------------------------------------------------------------------
    def open_window(self) -> CompareWindow:
        if self.window is None:
            self.window = CompareWindow(self)
        self.window.show()
        self.window.raise_()
        self.window.refresh()
        return self.window

    def request_sides(self) -> None:
        """Render seed A and seed B alone for the triptych (only while it is on screen)."""
        if self.window is None or not self.window.isVisible() or not self.window.triptych:
            return
        if self.ctx.model_info is None:
            return
        for side, state in side_states(self.ctx.state).items():
            key = KEY_PREFIX + side
            self._sides[key] = state
            self.ctx.request_render(state, key)

    def _on_rendered(self, result) -> None:
        if self._sides.get(result.key) == result.state and self.window is not None:
            del self._sides[result.key]
            self.window.show_side(result.key.removeprefix(KEY_PREFIX), result.image)

    def _on_image_shown(self, result) -> None:
        if self.window is not None and self.window.isVisible():
            self.window.show_live(result.image)


def install(ctx) -> CompareFeature:
    feature = CompareFeature(ctx)
    ctx.add_action("view", "Pin image for compare", feature.pin, shortcut="P",
                   tip="Keep the image on the canvas to compare later images with it", name="actionPinImage")
    feature.wipe_action = ctx.add_action(
        "view", "Split wipe against the pinned image", lambda: feature.set_wipe(feature.wipe_action.isChecked()),
        shortcut="W", tip="Pinned image on the left of a line you drag", name="actionSplitWipe", checkable=True)
    ctx.add_action("view", "Compare window (pinned | live, A | mix | B)", feature.open_window,
                   name="actionCompareWindow")
    return feature
