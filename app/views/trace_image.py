"""An ARGB image over a rectangle of data coordinates, painted as a blit in device pixels: the Traces'
pixel columns (app/views/trace_envelope.py) drawn at the view's range and shifted as it scrolls."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF
from PyQt6.QtGui import QImage


class TraceImage(pg.GraphicsObject):
    def __init__(self):
        super().__init__()
        self._rect = QRectF()
        self._pixels = np.zeros((0, 0), np.uint32)  # kept alive: the QImage reads its buffer
        self._image: QImage | None = None

    def set_image(self, pixels: np.ndarray, rect: QRectF) -> None:
        """``pixels`` (rows top down, columns) of 0xAARRGGBB premultiplied, over ``rect`` (data coordinates)."""
        self.prepareGeometryChange()
        self._pixels = np.ascontiguousarray(pixels, dtype=np.uint32)
        height, width = self._pixels.shape
        self._image = QImage(self._pixels.data, width, height, 4 * width, QImage.Format.Format_ARGB32_Premultiplied)
        self._rect = QRectF(rect)
        self.update()

    def clear(self) -> None:
        self.set_image(np.zeros((0, 0), np.uint32), QRectF())

    def pixels(self) -> np.ndarray:
        return self._pixels

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect)

    def paint(self, painter, *_):
        if self._image is None or self._pixels.size == 0:
            return
        target = painter.transform().mapRect(self._rect)  # device pixels, top down whatever the y axis
        painter.save()
        painter.resetTransform()
        painter.drawImage(target, self._image)
        painter.restore()
