"""The image view, drawn with QPainter (QOpenGLWidget does not work offscreen, where tests and screenshots run).

Zoom modes: *fit* (default) scales the image to the widget, rounded down to a whole number of device
pixels per image pixel when magnifying so that the generator's pixels stay crisp (as NVIDIA's visualizer);
*1:1* shows one image pixel per device pixel; the wheel zooms freely about the cursor. Magnified images
are drawn nearest-neighbour, reduced ones smoothly. Dragging pans. All sizes are computed in device pixels
(``devicePixelRatioF``) so HiDPI screens get the same pixel-exact result.

Painting cost matters: at 30 frames/s a scaled ``drawImage`` of an RGB888 image took ~6 ms of the UI
thread. The view therefore keeps the image scaled to its on-screen size in the window's native 32-bit
format (``_scaled``; integer magnification by numpy pixel repetition), rebuilt only when the image, the
zoom or the size changes, so a repaint is a plain copy.

Features extend the view in two ways: an *overlay* (``add_overlay(fn)``) draws over the image after it is
painted (a compare wipe, a grid); a *tool* (``set_tool(tool)``, one at a time, e.g. the drag tool's points)
gets the left button's press / move / release in image pixel coordinates and paints its own marks. The
middle button always pans, so a tool never takes navigation away.
"""

from __future__ import annotations

import math
from typing import Callable, Protocol

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from explorer.gui.theme import CANVAS_BACKGROUND


def qimage_from_array(image: np.ndarray) -> QImage:
    """[H, W, 3|4|1] uint8 -> an owning QImage copy (safe to build in the render thread)."""
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    fmt = {1: QImage.Format_Grayscale8, 3: QImage.Format_RGB888, 4: QImage.Format_RGBA8888}[channels]
    return QImage(image.data, w, h, w * channels, fmt).copy()


class CanvasTool(Protocol):
    """A mouse tool on the canvas; coordinates are image pixels (x right, y down, 0..width)."""

    def press(self, x: float, y: float, event) -> None: ...

    def move(self, x: float, y: float, event) -> None: ...

    def release(self, x: float, y: float, event) -> None: ...

    def paint(self, painter: QPainter, to_widget: Callable[[float, float], QPointF], scale: float) -> None:
        """Draw the tool's marks; ``to_widget`` maps image pixels to widget points, ``scale`` is widget
        points per image pixel."""


Overlay = Callable[[QPainter, QRectF], None]  # (painter, the image's rectangle in widget points)


class Canvas(QWidget):
    """Shows the current image; ``image_array()`` / ``image()`` give it back for tests and exports."""

    zoomChanged = Signal(float)

    MIN_ZOOM, MAX_ZOOM = 1 / 16, 64.0

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(160, 160)
        self.setFocusPolicy(Qt.StrongFocus)
        self._qimage: QImage | None = None
        self._array: np.ndarray | None = None
        self._mode = "fit"  # 'fit' | 'free'
        self._zoom = 1.0  # device pixels per image pixel in 'free' mode
        self._pan = QPointF(0, 0)  # offset of the image centre from the widget centre, logical pixels
        self._drag_from: QPointF | None = None
        self._message = ""
        self._stale = False
        self._scaled: QImage | None = None  # the image at its drawn size, device pixels
        self._scaled_key = None
        self.images_shown = 0
        self._overlays: list[Overlay] = []
        self._tool: CanvasTool | None = None
        self._tool_down = False

    # ---- the image --------------------------------------------------------------------------------
    def set_image(self, array: np.ndarray, qimage: QImage | None = None) -> None:
        self._array = array
        self._qimage = qimage if qimage is not None else qimage_from_array(array)
        self._scaled_key = None
        self.images_shown += 1
        self.update()

    def set_stale(self, stale: bool) -> None:
        """Dim the image while a newer one is being rendered (slow models take seconds per frame)."""
        if stale != self._stale:
            self._stale = stale
            self.update()

    def image_array(self) -> np.ndarray | None:
        """The image on screen as [H, W, C] uint8 (None before the first render)."""
        return self._array

    def image(self) -> QImage | None:
        return self._qimage

    def set_message(self, text: str) -> None:
        """Text drawn over the image ("Loading sg2.pkl ..."); empty to hide."""
        self._message = text
        self.update()

    # ---- extensions -------------------------------------------------------------------------------
    def add_overlay(self, overlay: Overlay) -> None:
        self._overlays.append(overlay)
        self.update()

    def remove_overlay(self, overlay: Overlay) -> None:
        if overlay in self._overlays:
            self._overlays.remove(overlay)
            self.update()

    def set_tool(self, tool: CanvasTool | None) -> None:
        """Give the left button to ``tool`` (None: back to panning)."""
        self._tool, self._tool_down = tool, False
        self.setCursor(Qt.CrossCursor) if tool is not None else self.unsetCursor()
        self.update()

    def tool(self) -> CanvasTool | None:
        return self._tool

    def image_rect(self) -> QRectF | None:
        """Where the image is drawn, in widget points (None before the first image)."""
        return self._target_rect() if self._qimage is not None else None

    def to_image(self, point: QPointF) -> tuple[float, float] | None:
        """A widget point in image pixels (None without an image)."""
        rect = self.image_rect()
        if rect is None:
            return None
        return ((point.x() - rect.x()) * self._qimage.width() / rect.width(),
                (point.y() - rect.y()) * self._qimage.height() / rect.height())

    def to_widget(self, x: float, y: float) -> QPointF:
        """Image pixels -> a widget point."""
        rect = self._target_rect()
        return QPointF(rect.x() + x * rect.width() / self._qimage.width(),
                       rect.y() + y * rect.height() / self._qimage.height())

    # ---- zoom -----------------------------------------------------------------------------------
    def zoom_to_fit(self) -> None:
        self._mode, self._pan = "fit", QPointF(0, 0)
        self.update()
        self.zoomChanged.emit(self.zoom())

    def zoom_actual(self) -> None:
        self._mode, self._zoom, self._pan = "free", 1.0, QPointF(0, 0)
        self.update()
        self.zoomChanged.emit(1.0)

    def zoom(self) -> float:
        """Device pixels per image pixel as drawn now."""
        if self._mode == "free" or self._qimage is None:
            return self._zoom
        dpr = self.devicePixelRatioF()
        iw, ih = self._qimage.width(), self._qimage.height()
        z = min(self.width() * dpr / iw, self.height() * dpr / ih)
        return float(math.floor(z)) if z >= 1 else z

    def _target_rect(self) -> QRectF:
        dpr = self.devicePixelRatioF()
        z = self.zoom()
        w = self._qimage.width() * z / dpr
        h = self._qimage.height() * z / dpr
        cx = self.width() / 2 + self._pan.x()
        cy = self.height() / 2 + self._pan.y()
        # align the top-left corner to a device pixel so nearest-neighbour blocks are all the same size
        x = round((cx - w / 2) * dpr) / dpr
        y = round((cy - h / 2) * dpr) / dpr
        return QRectF(x, y, w, h)

    # ---- painting -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), CANVAS_BACKGROUND)
        if self._qimage is not None:
            target = self._target_rect()
            scaled = self._scaled_image(target)
            if scaled is not None:
                painter.drawImage(target.topLeft(), scaled)
            else:  # zoomed far in: let the painter scale only what is visible
                painter.setRenderHint(QPainter.SmoothPixmapTransform, self.zoom() < 1)
                painter.drawImage(target, self._qimage)
            if self._stale:  # the state changed and its image is not back yet: say so by dimming
                painter.fillRect(target, QColor(0, 0, 0, 110))
            for overlay in self._overlays:
                painter.save()
                overlay(painter, target)
                painter.restore()
            if self._tool is not None:
                painter.save()
                painter.setRenderHint(QPainter.Antialiasing)
                self._tool.paint(painter, self.to_widget, target.width() / self._qimage.width())
                painter.restore()
        if self._message:
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.3)
            painter.setFont(font)
            rect = self.rect().adjusted(10, 10, -10, -10)
            painter.setPen(QPen(QColor(0, 0, 0, 200)))
            for dx, dy in ((1, 1), (-1, -1), (1, -1), (-1, 1)):
                painter.drawText(rect.translated(dx, dy), Qt.AlignCenter | Qt.TextWordWrap, self._message)
            painter.setPen(QPen(QColor(235, 235, 235)))
            painter.drawText(rect, Qt.AlignCenter | Qt.TextWordWrap, self._message)
        painter.end()

    def _scaled_image(self, target: QRectF) -> QImage | None:
        """The image at ``target``'s device size in RGB32, cached; None when far larger than the view."""
        dpr = self.devicePixelRatioF()
        w, h = round(target.width() * dpr), round(target.height() * dpr)
        if w < 1 or h < 1 or w * h > 4 * (self.width() * dpr) * (self.height() * dpr):
            return None
        key = (w, h, dpr)
        if self._scaled_key != key:
            self._scaled = self._build_scaled(w, h)
            self._scaled.setDevicePixelRatio(dpr)
            self._scaled_key = key
        return self._scaled

    def _build_scaled(self, w: int, h: int) -> QImage:
        array, src = self._array, self._qimage
        ih, iw = src.height(), src.width()
        if array is not None and array.ndim == 3 and array.shape[2] == 3 and w % iw == 0 and h % ih == 0 \
                and w // iw == h // ih:
            f = w // iw
            rgb32 = np.empty((ih, iw, 4), np.uint8)  # RGB32 is 0xffRRGGBB: bytes B, G, R, 255 in memory
            rgb32[..., 0], rgb32[..., 1], rgb32[..., 2], rgb32[..., 3] = array[..., 2], array[..., 1], array[..., 0], 255
            big = np.ascontiguousarray(rgb32.repeat(f, axis=0).repeat(f, axis=1))
            return QImage(big.data, w, h, w * 4, QImage.Format_RGB32).copy()
        mode = Qt.SmoothTransformation if w < iw else Qt.FastTransformation
        return src.scaled(w, h, Qt.IgnoreAspectRatio, mode).convertToFormat(QImage.Format_RGB32)

    # ---- mouse: wheel zoom about the cursor, drag to pan, double-click to fit ---------------------------
    def wheelEvent(self, event) -> None:
        if self._qimage is None:
            return
        old = self.zoom()
        factor = 2 ** (event.angleDelta().y() / 240)
        new = min(self.MAX_ZOOM, max(self.MIN_ZOOM, old * factor))
        if new >= 1:  # keep magnification pixel-exact where it is close to a whole number
            new = round(new) if abs(new - round(new)) < 0.15 else new
        cursor = event.position() - QPointF(self.width() / 2, self.height() / 2)
        self._pan = cursor - (cursor - self._pan) * (new / old)
        self._mode, self._zoom = "free", new
        self.update()
        self.zoomChanged.emit(new)

    def mousePressEvent(self, event) -> None:
        if self._tool is not None and event.button() == Qt.LeftButton and self._qimage is not None:
            self._tool_down = True
            self._tool.press(*self.to_image(event.position()), event)
            self.update()
            return
        if event.button() in (Qt.LeftButton, Qt.MiddleButton):
            self._drag_from = event.position()
            self.setCursor(Qt.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        if self._tool_down:
            self._tool.move(*self.to_image(event.position()), event)
            self.update()
            return
        if self._drag_from is not None:
            if self._mode == "fit":
                self._mode, self._zoom = "free", self.zoom()
            self._pan += event.position() - self._drag_from
            self._drag_from = event.position()
            self.update()

    def mouseReleaseEvent(self, event) -> None:
        if self._tool_down and event.button() == Qt.LeftButton:
            self._tool_down = False
            self._tool.release(*self.to_image(event.position()), event)
            self.update()
            return
        self._drag_from = None
        self.setCursor(Qt.CrossCursor) if self._tool is not None else self.unsetCursor()

    def mouseDoubleClickEvent(self, event) -> None:
        self.zoom_to_fit()
