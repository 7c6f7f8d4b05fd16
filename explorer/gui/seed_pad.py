"""The 2-D seed pad: drag to move continuously between seeds, as NVIDIA's visualizer latent widget.

x runs along seeds, y in steps of 100 seeds (``explorer.engine.seeds``); a position between lattice points
blends the neighbouring seeds bilinearly in W. The pad shows the lattice around the current position and
the seed numbers at its points.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from explorer.engine.latents import SEED_PAD_ROW
from explorer.engine.state import MAX_SEED


class SeedPad(QWidget):
    moved = Signal(float, float)  # pad position x, y while dragging
    pressed = Signal()
    released = Signal()

    PIXELS_PER_SEED = 90.0  # a slow drag blends visibly; about 450 px per seed in NVIDIA's at 18 px font

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("seedPad")
        self.setMinimumSize(120, 110)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setFixedHeight(120)
        self.setCursor(Qt.OpenHandCursor)
        self.setToolTip("Drag to blend between neighbouring seeds (x: seed ±1, y: seed ±100)")
        self._x, self._y = 0.0, 0.0
        self._drag: QPointF | None = None

    def set_position(self, x: float, y: float) -> None:
        if self._drag is None:  # the drag owns the position while it lasts
            self._x, self._y = x, y
            self.update()

    def position(self) -> tuple[float, float]:
        return self._x, self._y

    def drag_by(self, dx_px: float, dy_px: float) -> None:
        """Move as a drag of (dx, dy) pixels would (tests and the keyboard use it too)."""
        self._x += dx_px / self.PIXELS_PER_SEED
        self._y += dy_px / self.PIXELS_PER_SEED
        self.update()
        self.moved.emit(self._x, self._y)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            self._drag = event.position()
            self.setCursor(Qt.ClosedHandCursor)
            self.pressed.emit()

    def mouseMoveEvent(self, event) -> None:
        if self._drag is not None:
            delta = event.position() - self._drag
            self._drag = event.position()
            # as NVIDIA's visualizer: dragging right goes to higher seeds, dragging down to seed + 100
            self.drag_by(delta.x(), delta.y())

    def mouseReleaseEvent(self, event) -> None:
        if self._drag is not None:
            self._drag = None
            self.setCursor(Qt.OpenHandCursor)
            self.released.emit()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor(28, 28, 31))
        w, h = self.width(), self.height()
        cx, cy = w / 2, h / 2
        ppu = self.PIXELS_PER_SEED
        x0, y0 = math.floor(self._x - cx / ppu), math.floor(self._y - cy / ppu)
        x1, y1 = math.ceil(self._x + cx / ppu), math.ceil(self._y + cy / ppu)
        font = p.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        p.setFont(font)
        for gx in range(x0, x1 + 1):
            for gy in range(y0, y1 + 1):
                px, py = cx + (gx - self._x) * ppu, cy + (gy - self._y) * ppu
                p.setPen(QPen(QColor(80, 80, 88), 1))
                p.drawEllipse(QPointF(px, py), 2.5, 2.5)
                seed = (gx + SEED_PAD_ROW * gy) % (MAX_SEED + 1)
                if abs(px - cx) < ppu * 0.75 or abs(px - cx) < w / 2 - 30:  # no clipped numbers at the edges
                    p.setPen(QPen(QColor(120, 120, 128)))
                    p.drawText(QRectF(px - ppu / 2, py + 10, ppu, 14), Qt.AlignHCenter | Qt.AlignTop, str(seed))
        p.setPen(QPen(QColor(88, 140, 220), 1.5))
        p.drawLine(QPointF(cx - 8, cy), QPointF(cx + 8, cy))
        p.drawLine(QPointF(cx, cy - 8), QPointF(cx, cy + 8))
        p.drawEllipse(QPointF(cx, cy), 5, 5)
        p.setPen(QPen(QColor(60, 60, 66), 1))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.end()
