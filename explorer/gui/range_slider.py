"""A two-handle slider over whole steps (the W+ rows a direction moves): first..last, inclusive.

Qt has no range slider, so this one paints itself: a groove with one tick per step, the chosen span filled,
and a handle at each end. A press grabs the nearer handle (with both on one step, the drag direction
decides which) and drags it; the handles never cross. Arrow keys move the handle last used, Shift+arrows
the whole span. Like the other sliders (widgets.WheelNeedsFocus) it ignores the wheel, so a wheel turn
scrolls the dock. ``set_values`` mirrors a state without emitting.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

HANDLE_RADIUS = 7
MARGIN = HANDLE_RADIUS + 2


class RangeSlider(QWidget):
    rangeChanged = Signal(int, int)  # (first, last) after a change by the user
    sliderPressed = Signal()
    sliderReleased = Signal()

    def __init__(self, minimum: int = 0, maximum: int = 1, parent=None):
        super().__init__(parent)
        self._minimum, self._maximum = minimum, max(maximum, minimum)
        self._first, self._last = self._minimum, self._maximum
        self._active = 1  # the handle that arrow keys move: 0 first, 1 last
        self._dragging: int | None = None
        self._press_x = 0.0
        self._shades: list[QColor] = []
        self.setFocusPolicy(Qt.StrongFocus)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setMinimumWidth(80)

    # ---- values ---------------------------------------------------------------------------------------
    def minimum(self) -> int:
        return self._minimum

    def maximum(self) -> int:
        return self._maximum

    def values(self) -> tuple[int, int]:
        return self._first, self._last

    def set_bounds(self, minimum: int, maximum: int) -> None:
        self._minimum, self._maximum = minimum, max(maximum, minimum)
        self.set_values(self._first, self._last)

    def set_values(self, first: int, last: int) -> None:
        """Show ``first..last`` (clamped to the bounds) without emitting ``rangeChanged``."""
        first = min(max(first, self._minimum), self._maximum)
        last = min(max(last, first), self._maximum)
        if (first, last) != (self._first, self._last):
            self._first, self._last = first, last
            self.update()

    def set_step_shades(self, shades: list[QColor]) -> None:
        """A colour per step, painted under the groove (the coarse / middle / fine groups of the rows)."""
        self._shades = list(shades)
        self.update()

    def _change(self, first: int, last: int) -> None:
        before = self.values()
        self.set_values(first, last)
        if self.values() != before:
            self.rangeChanged.emit(*self.values())

    # ---- geometry -------------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(200, 2 * HANDLE_RADIUS + 10)

    def _span(self) -> int:
        return max(self._maximum - self._minimum, 1)

    def _x_of(self, value: int) -> float:
        return MARGIN + (value - self._minimum) * (self.width() - 2 * MARGIN) / self._span()

    def _value_at(self, x: float) -> int:
        fraction = (x - MARGIN) / max(self.width() - 2 * MARGIN, 1)
        return min(max(round(self._minimum + fraction * self._span()), self._minimum), self._maximum)

    # ---- painting -------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        mid = self.height() / 2
        step = (self.width() - 2 * MARGIN) / self._span()
        for value, shade in zip(range(self._minimum, self._maximum + 1), self._shades):
            x = self._x_of(value)
            p.fillRect(QRectF(x - step / 2, mid - 6, step, 12), shade)
        p.setPen(QPen(QColor(90, 90, 98), 4, Qt.SolidLine, Qt.RoundCap))
        p.drawLine(QPointF(MARGIN, mid), QPointF(self.width() - MARGIN, mid))
        p.setPen(QPen(QColor(130, 130, 138), 1))
        for value in range(self._minimum, self._maximum + 1):
            x = self._x_of(value)
            p.drawLine(QPointF(x, mid + 5), QPointF(x, mid + 8))
        accent = self.palette().highlight().color() if self.isEnabled() else QColor(110, 110, 118)
        p.setPen(QPen(accent, 4, Qt.SolidLine, Qt.RoundCap))
        p.drawLine(QPointF(self._x_of(self._first), mid), QPointF(self._x_of(self._last), mid))
        for handle, value in enumerate(self.values()):
            focused = self.hasFocus() and handle == self._active
            p.setPen(QPen(accent.lighter(150) if focused else QColor(30, 30, 34), 2))
            p.setBrush(QColor(225, 225, 230) if self.isEnabled() else QColor(140, 140, 146))
            p.drawEllipse(QPointF(self._x_of(value), mid), HANDLE_RADIUS - 1, HANDLE_RADIUS - 1)
        p.end()

    # ---- mouse and keys -------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return super().mousePressEvent(event)
        x = event.position().x()
        distances = [abs(x - self._x_of(v)) for v in self.values()]
        # both handles on one step: decide on the first move (left grabs "first", right grabs "last")
        self._dragging = None if self._first == self._last else (0 if distances[0] <= distances[1] else 1)
        self._press_x = x
        self.sliderPressed.emit()
        if self._dragging is not None:
            self._active = self._dragging
            self._drag_to(x)

    def mouseMoveEvent(self, event) -> None:
        x = event.position().x()
        if self._dragging is None and event.buttons() & Qt.LeftButton and abs(x - self._press_x) >= 2:
            self._dragging = self._active = 0 if x < self._press_x else 1
        if self._dragging is not None:
            self._drag_to(x)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            self._dragging = None
            self.sliderReleased.emit()

    def _drag_to(self, x: float) -> None:
        value = self._value_at(x)
        if self._dragging == 0:
            self._change(min(value, self._last), self._last)
        else:
            self._change(self._first, max(value, self._first))

    def keyPressEvent(self, event) -> None:
        delta = {Qt.Key_Left: -1, Qt.Key_Down: -1, Qt.Key_Right: 1, Qt.Key_Up: 1}.get(event.key())
        if delta is None:
            return super().keyPressEvent(event)
        first, last = self.values()
        if event.modifiers() & Qt.ShiftModifier:
            if self._minimum <= first + delta and last + delta <= self._maximum:
                self._change(first + delta, last + delta)
        elif self._active == 0:
            self._change(min(first + delta, last), last)
        else:
            self._change(first, max(last + delta, first))
        self.update()

    def wheelEvent(self, event) -> None:
        event.ignore()  # the dock scrolls (see widgets.WheelNeedsFocus)
