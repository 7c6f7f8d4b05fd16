"""Small helpers shared by the panels."""

from __future__ import annotations

import contextlib

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSignalBlocker, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QSlider, QSpinBox

from explorer.gui.canvas import qimage_from_array


@contextlib.contextmanager
def blocked(*widgets):
    """Update widgets from the state without their signals turning into new edits."""
    blockers = [QSignalBlocker(w) for w in widgets]
    try:
        yield
    finally:
        for b in blockers:
            b.unblock()


def show_value(box, value) -> None:
    """Mirror ``value`` into a spin box unless it already holds it.

    ``setValue`` reformats the text even when the value is unchanged, so writing the state back on every
    keystroke turned a half-typed "0." into "0.000" and the next digits were lost. A box whose text already
    means the state's value is being typed into (or already shows it): leave its text alone.
    """
    if box.value() != value:
        box.setValue(value)


class WheelNeedsFocus:
    """Mixin: the wheel changes the control only once it has focus (a click or Tab gives it).

    The docks scroll; with Qt's default (wheel focus) a wheel turn meant to scroll the dock changed whichever
    box happened to pass under the pointer, e.g. noise mode switched to "none". Unfocused, the event is
    ignored so it reaches the scroll area around the control.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setFocusPolicy(Qt.StrongFocus)

    def wheelEvent(self, event) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class SpinBox(WheelNeedsFocus, QSpinBox):
    pass


class DoubleSpinBox(WheelNeedsFocus, QDoubleSpinBox):
    pass


class ComboBox(WheelNeedsFocus, QComboBox):
    pass


class Slider(WheelNeedsFocus, QSlider):
    pass


class Thumbnail(QLabel):
    """A small square preview; magnified nearest-neighbour so tiny models' pixels stay visible."""

    def __init__(self, size: int = 56, parent=None):
        super().__init__(parent)
        self._size = size
        self.setFixedSize(QSize(size, size))
        self.setAlignment(Qt.AlignCenter)
        self.setStyleSheet("background: #18181a; border: 1px solid #444;")
        self.array: np.ndarray | None = None

    def clear(self) -> None:
        """Show nothing (a model switch: the old model's preview would be a lie)."""
        self.array = None
        super().clear()

    def set_array(self, array: np.ndarray) -> None:
        self.array = array
        dpr = self.devicePixelRatioF()
        side = int((self._size - 2) * dpr)
        image = qimage_from_array(array)
        mode = Qt.FastTransformation if image.width() <= side else Qt.SmoothTransformation
        pixmap = QPixmap.fromImage(image.scaled(side, side, Qt.KeepAspectRatio, mode))
        pixmap.setDevicePixelRatio(dpr)
        self.setPixmap(pixmap)


def dice_icon(size: int = 32) -> QIcon:
    """A die face drawn with QPainter (fonts rarely carry the die glyphs, and no image files are needed)."""
    pixmap = QPixmap(size * 2, size * 2)  # drawn at 2x for HiDPI
    pixmap.fill(Qt.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.Antialiasing)
    s = size * 2
    p.setPen(QPen(QColor(200, 200, 205), s * 0.06))
    p.setBrush(QColor(70, 70, 78))
    p.drawRoundedRect(QRectF(s * 0.1, s * 0.1, s * 0.8, s * 0.8), s * 0.16, s * 0.16)
    p.setPen(Qt.NoPen)
    p.setBrush(QColor(235, 235, 240))
    for fx, fy in ((0.3, 0.3), (0.7, 0.3), (0.5, 0.5), (0.3, 0.7), (0.7, 0.7)):
        p.drawEllipse(QPointF(s * fx, s * fy), s * 0.07, s * 0.07)
    p.end()
    pixmap.setDevicePixelRatio(2.0)
    return QIcon(pixmap)
