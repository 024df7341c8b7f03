"""A plot box where Ctrl + drag draws a lasso; the closed polygon goes to a callback."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt


def points_in_polygon(x: np.ndarray, y: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Boolean mask of the points inside a closed polygon ((n, 2) vertices), by ray casting."""
    inside = np.zeros(len(x), dtype=bool)
    px, py = polygon[:, 0], polygon[:, 1]
    for i in range(len(polygon)):
        x0, y0, x1, y1 = px[i - 1], py[i - 1], px[i], py[i]
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < at)
    return inside


class LassoViewBox(pg.ViewBox):
    def __init__(self, on_lasso, **kwargs):
        super().__init__(**kwargs)
        self.on_lasso = on_lasso
        self._points: list[tuple[float, float]] = []
        self._line = pg.PlotCurveItem(pen=pg.mkPen("w", width=1, style=Qt.PenStyle.DashLine))
        self.addItem(self._line, ignoreBounds=True)

    def mouseDragEvent(self, event, axis=None):
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().mouseDragEvent(event, axis)
            return
        event.accept()
        point = self.mapSceneToView(event.scenePos())
        if event.isStart():
            self._points = []
        self._points.append((point.x(), point.y()))
        xs, ys = zip(*self._points)
        self._line.setData(list(xs) + [xs[0]], list(ys) + [ys[0]])
        if event.isFinish():
            self._line.setData([], [])
            if len(self._points) >= 3:
                self.on_lasso(np.array(self._points))
