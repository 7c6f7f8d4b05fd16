"""A blend curve you can drag: one handle per synthesis layer, B's share from 0 (bottom) to 1 (top).

The widget knows nothing of states or models: ``set_layers`` gives it the layers (name and resolution),
``set_weights`` the curve to show (never emitting), and a drag emits ``weightChanged(layer, weight)``
between ``pressed`` and ``released``. Dragging sideways paints across the handles it passes, as one
drag, so the owner can make the whole stroke one undo step. Up / Down move the focused handle by 0.05
and Left / Right choose it, for the keyboard.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 34, 12, 12, 34  # room for the axis labels
HANDLE_RADIUS = 5
KEY_STEP = 0.05

A_COLOUR, B_COLOUR = QColor(110, 160, 230), QColor(235, 150, 80)


class CurveEditor(QWidget):
    pressed = Signal()
    released = Signal()
    weightChanged = Signal(int, float)  # (layer index, B's share 0..1)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.names: list[str] = []
        self.resolutions: list[int] = []
        self.weights: list[float] = []
        self.current = 0  # the handle the keyboard moves
        self._dragging = False
        self.setMinimumSize(QSize(320, 170))
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)  # tooltips name the layer under the pointer

    # ---- contents ------------------------------------------------------------------------------------
    def set_layers(self, names: Sequence[str], resolutions: Sequence[int]) -> None:
        self.names, self.resolutions = list(names), [int(r) for r in resolutions]
        self.weights = [0.0] * len(self.names)
        self.current = min(self.current, max(len(self.names) - 1, 0))
        self.update()

    def set_weights(self, weights: Sequence[float]) -> None:
        """Show ``weights`` (one per layer; the state's curve). Emits nothing."""
        self.weights = [float(w) for w in weights][:len(self.names)]
        self.weights += [0.0] * (len(self.names) - len(self.weights))
        self.update()

    # ---- geometry ------------------------------------------------------------------------------------
    def _plot(self) -> QRectF:
        return QRectF(MARGIN_LEFT, MARGIN_TOP, max(self.width() - MARGIN_LEFT - MARGIN_RIGHT, 1),
                      max(self.height() - MARGIN_TOP - MARGIN_BOTTOM, 1))

    def handle_pos(self, layer: int) -> QPointF:
        """Where layer ``layer``'s handle is drawn (tests press there)."""
        plot = self._plot()
        step = plot.width() / max(len(self.names), 1)
        return QPointF(plot.left() + step * (layer + 0.5), plot.bottom() - self.weights[layer] * plot.height())

    def _layer_at(self, x: float) -> int:
        plot = self._plot()
        step = plot.width() / max(len(self.names), 1)
        return min(max(int((x - plot.left()) // step), 0), len(self.names) - 1)

    def _weight_at(self, y: float) -> float:
        plot = self._plot()
        return min(max((plot.bottom() - y) / plot.height(), 0.0), 1.0)

    # ---- input ---------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.LeftButton or not self.names or not self.isEnabled():
            return super().mousePressEvent(event)
        self._dragging = True
        self.pressed.emit()
        self._drag_to(event.position())

    def mouseMoveEvent(self, event) -> None:
        if self.names:
            layer = self._layer_at(event.position().x())
            self.setToolTip(f"{self.names[layer]} ({self.resolutions[layer]} px): "
                            f"{self.weights[layer]:.2f} from B")
        if self._dragging:
            self._drag_to(event.position())

    def mouseReleaseEvent(self, event) -> None:
        if self._dragging and event.button() == Qt.LeftButton:
            self._drag_to(event.position())
            self._dragging = False
            self.released.emit()

    def _drag_to(self, pos: QPointF) -> None:
        layer = self._layer_at(pos.x())
        self.current = layer
        self._set(layer, self._weight_at(pos.y()))

    def _set(self, layer: int, weight: float) -> None:
        if weight != self.weights[layer]:
            self.weights[layer] = weight
            self.update()
            self.weightChanged.emit(layer, weight)

    def keyPressEvent(self, event) -> None:
        if not self.names:
            return super().keyPressEvent(event)
        key = event.key()
        if key in (Qt.Key_Left, Qt.Key_Right):
            self.current = min(max(self.current + (1 if key == Qt.Key_Right else -1), 0), len(self.names) - 1)
            self.update()
        elif key in (Qt.Key_Up, Qt.Key_Down):
            step = KEY_STEP if key == Qt.Key_Up else -KEY_STEP
            self.pressed.emit()  # one key press, one undo step
            self._set(self.current, round(min(max(self.weights[self.current] + step, 0.0), 1.0), 4))
            self.released.emit()
        else:
            super().keyPressEvent(event)

    # ---- drawing -------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        plot = self._plot()
        p.fillRect(self.rect(), QColor(30, 30, 33))
        p.fillRect(plot, QColor(22, 22, 24))
        small = QFont(self.font())
        small.setPointSizeF(max(small.pointSizeF() * 0.85, 6.0))
        p.setFont(small)
        for level, text in ((0.0, "A"), (0.5, "½"), (1.0, "B")):  # the weight axis: 0 = A, 1 = B
            y = plot.bottom() - level * plot.height()
            p.setPen(QPen(QColor(60, 60, 66), 1, Qt.DashLine if level == 0.5 else Qt.SolidLine))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(B_COLOUR if level == 1.0 else A_COLOUR if level == 0.0 else QColor(150, 150, 155))
            p.drawText(QRectF(0, y - 8, MARGIN_LEFT - 6, 16), Qt.AlignRight | Qt.AlignVCenter, text)
        if not self.names:
            p.setPen(QColor(150, 150, 155))
            p.drawText(plot, Qt.AlignCenter, "no model")
            p.end()
            return
        enabled = self.isEnabled()
        step = plot.width() / len(self.names)
        metrics = p.fontMetrics()
        free_from = plot.left()  # where the next label may start without overlapping the last one
        for i, resolution in enumerate(self.resolutions):  # one label per resolution, under its first layer
            if i == 0 or resolution != self.resolutions[i - 1]:
                x = plot.left() + step * i
                p.setPen(QPen(QColor(55, 55, 60), 1))
                p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom() + 4))
                if x + 2 >= free_from:  # crowded (many sizes, as StyleGAN3's): the tooltip still names it
                    text = str(resolution)
                    p.setPen(QColor(150, 150, 155))
                    p.drawText(QPointF(x + 2, plot.bottom() + 4 + metrics.ascent()), text)
                    free_from = x + 2 + metrics.horizontalAdvance(text) + 4
        p.setPen(QColor(150, 150, 155))
        p.drawText(QRectF(plot.left(), plot.bottom() + 18, plot.width(), 14), Qt.AlignCenter, "layer resolution (px)")
        points = [self.handle_pos(i) for i in range(len(self.names))]
        path = QPainterPath(points[0])
        for point in points[1:]:
            path.lineTo(point)
        p.setPen(QPen(QColor(200, 200, 205) if enabled else QColor(90, 90, 95), 1.5))
        p.drawPath(path)
        for i, (point, weight) in enumerate(zip(points, self.weights)):
            colour = QColor.fromRgbF(*(a + (b - a) * weight for a, b in zip(A_COLOUR.getRgbF()[:3], B_COLOUR.getRgbF()[:3])))
            p.setBrush(colour if enabled else QColor(80, 80, 85))
            focused = i == self.current and self.hasFocus()
            p.setPen(QPen(QColor(255, 255, 255) if focused else QColor(20, 20, 22), 2 if focused else 1))
            p.drawEllipse(point, HANDLE_RADIUS, HANDLE_RADIUS)
        p.end()

    def sizeHint(self) -> QSize:
        return QSize(max(320, 22 * len(self.names) + MARGIN_LEFT + MARGIN_RIGHT), 190)
