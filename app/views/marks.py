"""Many small marks of many colours as one item: each style (colour, size, symbol) drawn once into an
atlas, and every mark a fragment of it in one ``drawPixmapFragments`` call.

pyqtgraph's ScatterPlotItem does the same when it paints, but its ``setData`` handles a brush or pen
per point in Python (300 units' marks in a window: 20-35 ms a frame); here the styles are a few
hundred and the points an index into them, so a frame's marks cost well under a millisecond to set.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph import functions as fn
from pyqtgraph.Qt import internals
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QImage, QPainter, QPixmap, QPolygonF

ATLAS_COLUMNS = 32


def style_of(lookup: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Each spike's style (or row) from its cluster id by ``lookup``; -1 for ids the lookup does not hold
    (a cluster made after it was built, or one hidden)."""
    style = np.full(len(clusters), -1, dtype=np.int64)
    known = clusters < len(lookup)
    style[known] = lookup[clusters[known]]
    return style


def draw_symbol(painter: QPainter, symbol: str, color: QColor, width: float, height: float) -> None:
    """One mark centred on the painter's origin: "t1" a filled triangle pointing up, "|" a vertical line,
    "o" a filled dot."""
    if symbol == "|":
        painter.setPen(pg.mkPen(color, width=max(1.0, width)))
        painter.drawLine(QPointF(0.0, -height / 2), QPointF(0.0, height / 2))
    elif symbol == "o":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawEllipse(QPointF(0.0, 0.0), width / 2, height / 2)
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPolygon(QPolygonF([QPointF(-width / 2, height / 2), QPointF(0.0, -height / 2),
                                       QPointF(width / 2, height / 2)]))


class MarkItem(pg.GraphicsObject):
    """Marks at (x, y) in data coordinates, each drawn in pixels with one of a list of styles.

    ``setData(x, y, style, styles)``: ``style[i]`` indexes ``styles``, each (QColor, width px, height px).
    Passing the same ``styles`` list again (unchanged) skips looking its styles up in the atlas (300 of
    them cost 3 ms a frame).
    """

    def __init__(self, symbol: str = "t1"):
        super().__init__()
        self.symbol = symbol
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.style = np.zeros(0, np.int64)
        self.styles: list[tuple[QColor, float, float]] = []
        self._cells: dict[tuple, int] = {}  # style key -> atlas cell, kept across frames
        self._cell_px = 0
        self._columns = 1
        self._atlas: QPixmap | None = None
        self._dpr = 1.0
        self._cell_of_style = np.zeros(0, np.int64)
        self._styles_given = None  # the styles list whose cells are in _cell_of_style
        self._fragments = internals.PrimitiveArray(QPainter.PixmapFragment, 10)
        self._bounds = QRectF()
        self._pad_px = 0.0

    # -- data ---------------------------------------------------------------------
    def setData(self, x, y, style, styles) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.style = np.asarray(style, dtype=np.int64)
        if styles is not self._styles_given:
            self.styles = list(styles)
            keys = [self._key(s) for s in self.styles]
            if any(k not in self._cells for k in keys):
                self._render_atlas(keys)
            self._cell_of_style = np.array([self._cells[k] for k in keys], dtype=np.int64)
            self._pad_px = max((max(w, h) for _, w, h in self.styles), default=0.0) / 2 + 1
            self._styles_given = styles
        self.prepareGeometryChange()
        if len(self.x):
            self._bounds = QRectF(float(self.x.min()), float(self.y.min()),
                                  float(self.x.max() - self.x.min()), float(self.y.max() - self.y.min()))
        else:
            self._bounds = QRectF()
        self.informViewBoundsChanged()  # a view box that auto-ranges follows the marks
        self.update()

    def clear(self) -> None:
        self.setData([], [], [], [])

    def getData(self):
        return self.x, self.y

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        """The marks' extent along an axis, for a view box's auto-range."""
        values = self.x if ax == 0 else self.y
        return (float(values.min()), float(values.max())) if len(values) else (None, None)

    def colors(self) -> list[QColor]:
        """The colour of each mark (for tests and tools; not used to draw)."""
        return [self.styles[s][0] for s in self.style]

    def sizes(self) -> np.ndarray:
        """The height in pixels of each mark."""
        heights = np.array([h for _, _, h in self.styles], dtype=float)
        return heights[self.style] if len(self.style) else np.zeros(0)

    @staticmethod
    def _key(style) -> tuple:
        color, width, height = style
        return QColor(color).rgba(), round(float(width), 1), round(float(height), 1)

    def _render_atlas(self, needed: list[tuple]) -> None:
        """All styles seen so far, and the new ones, each in a square cell of the largest mark's size."""
        keys = list(dict.fromkeys([*self._cells, *needed]))
        cell = int(np.ceil(max(max(k[1], k[2]) for k in keys))) + 2
        columns = min(ATLAS_COLUMNS, len(keys))
        rows = -(-len(keys) // columns)
        dpr = self._dpr
        image = QImage(int(columns * cell * dpr), int(rows * cell * dpr), QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(dpr)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._cells = {}
        for i, key in enumerate(keys):
            painter.resetTransform()
            painter.translate((i % columns + 0.5) * cell, (i // columns + 0.5) * cell)
            draw_symbol(painter, self.symbol, QColor.fromRgba(key[0]), key[1], key[2])
            self._cells[key] = i
        painter.end()
        self._atlas, self._cell_px, self._columns = QPixmap.fromImage(image), cell, columns

    # -- drawing ------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        if self._bounds.isNull() and not len(self.x):
            return QRectF()
        px, py = self.pixelVectors()
        pad_x = abs(px.x()) * self._pad_px if px is not None else 0.0
        pad_y = abs(py.y()) * self._pad_px if py is not None else 0.0
        return self._bounds.adjusted(-pad_x, -pad_y, pad_x, pad_y)

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()
        super().viewTransformChanged()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not len(self.x) or self._atlas is None:
            return
        if widget is not None and widget.devicePixelRatioF() != self._dpr:
            self._dpr = widget.devicePixelRatioF()
            self._cells, self._styles_given = {}, None
            self.setData(self.x, self.y, self.style, self.styles)
        points = fn.transformCoordinates(painter.transform(), np.vstack([self.x, self.y]))
        points = np.clip(points, -2 ** 30, 2 ** 30)
        painter.resetTransform()
        cells = self._cell_of_style[self.style]
        cell, dpr = self._cell_px * self._dpr, self._dpr
        self._fragments.resize(len(cells))
        fragments = self._fragments.ndarray()
        fragments[:, 0:2] = points.T
        fragments[:, 2] = (cells % self._columns) * cell
        fragments[:, 3] = (cells // self._columns) * cell
        fragments[:, 4:6] = cell
        fragments[:, 6:10] = [1 / dpr, 1 / dpr, 0.0, 1.0]
        painter.drawPixmapFragments(*self._fragments.drawargs(), self._atlas)
