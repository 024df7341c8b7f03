"""Raster: one row of ticks per cluster of the curation over the Traces' time window, and under it an
overview strip of the firing density over the whole recording with the window marked on it.

The main plot's time window is the Traces' (``follow``): scrolling or zooming either moves
both. Dragging the window's band on the overview strip moves them too. A click on a tick selects its
cluster and centres the Traces on the spike.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QVBoxLayout, QWidget

from app.views.marks import MarkItem, style_of

CLICK_TOLERANCE_PX = 6
TICK_HALF_HEIGHT = 0.4
OVERVIEW_HEIGHT_PX = 46
MAX_TICKS = 30_000
LABEL_SPACING_PX = 13  # the least distance between two unit labels on the axis


BAND_BRUSH = (255, 255, 255, 40)


def tick_row(seconds: np.ndarray, row: float) -> pg.PlotCurveItem:
    """One vertical tick per time, centred on a row of the raster."""
    y = np.tile([row - TICK_HALF_HEIGHT, row + TICK_HALF_HEIGHT], len(seconds))
    return pg.PlotCurveItem(np.repeat(seconds, 2), y, connect="pairs")


class RasterView(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.curation = controller.curation
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "unit")
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.getPlotItem().hideAxis("bottom")
        self.overview = pg.PlotWidget()
        self.overview.setFixedHeight(OVERVIEW_HEIGHT_PX)
        self.overview.setMouseEnabled(x=False, y=False)
        self.overview.hideButtons()
        self.overview.getPlotItem().hideAxis("left")
        self.overview.getAxis("bottom").setHeight(18)
        self.overview.getPlotItem().setContentsMargins(0, 0, 0, 0)
        self.density = self.overview.plot(pen=pg.mkPen("#9aa0b4"), fillLevel=0, brush=(120, 130, 170, 90))
        self.band = pg.LinearRegionItem(brush=BAND_BRUSH, pen=pg.mkPen("#ffffff"))
        self.overview.addItem(self.band)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.overview)
        self.overview.getAxis("left").setWidth(self.plot.getAxis("left").width())
        self.ticks = MarkItem("|")  # one item for every row, a style per row: cheap to redraw
        self.plot.addItem(self.ticks)
        self._spikes = None  # the sort whose spikes' times are kept:
        self._seconds, self._order = np.zeros(0), None  # in seconds and time order, and that order (None: theirs)
        self._row_lookup = np.full(0, -1, np.int64)  # the row of each cluster id, -1 where not shown
        self._pens: list = []
        self._tick_styles: tuple[float, list] | None = None  # (tick height px, each row's style)
        self.row_ids: list[int] = []  # the cluster of each row, bottom up
        self.spike_counts: list[int] = []
        self._band_moving = False
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.getViewBox().sigXRangeChanged.connect(self._show_window)
        self.plot.getViewBox().sigXRangeChanged.connect(lambda *_: self._draw_ticks())
        self.plot.getViewBox().sigResized.connect(lambda *_: self._draw_ticks())
        self.plot.getViewBox().sigResized.connect(lambda *_: self._label_rows())
        self.band.sigRegionChanged.connect(self._on_band)
        self.curation.changed.connect(self.show_clusters)
        self.curation.windowChanged.connect(self._show_window_spikes)
        controller.selectionChanged.connect(lambda _: self._style_rows())
        controller.recordingChanged.connect(self._on_recording)

    def follow(self, plot: pg.PlotWidget) -> None:
        """Show the same time window as another plot (the Traces), both ways: scrolling or zooming either
        moves the other. (Not pyqtgraph's setXLink, which aligns pixels, not ranges, when widths differ.)"""
        mine, theirs = self.plot.getViewBox(), plot.getViewBox()
        syncing = []

        def copy(source, target) -> None:
            if not syncing:
                syncing.append(True)
                target.setXRange(*source.viewRange()[0], padding=0)
                target.updateMatrix()  # its items moved now: one paint, not a second for them (app/views/traces.py)
                syncing.clear()

        theirs.sigXRangeChanged.connect(lambda *_: copy(theirs, mine))
        mine.sigXRangeChanged.connect(lambda *_: copy(mine, theirs))
        copy(theirs, mine)

    def _on_recording(self, rec) -> None:
        self.show_clusters()
        self.overview.setXRange(0, rec.duration, padding=0)
        self.band.setBounds((0, rec.duration))

    def window(self) -> tuple[float, float]:
        return tuple(self.plot.getViewBox().viewRange()[0])

    def _show_window(self, *_) -> None:
        if not self._band_moving:
            self.band.blockSignals(True)
            self.band.setRegion(self.window())
            self.band.blockSignals(False)

    def _on_band(self) -> None:
        lo, hi = self.band.getRegion()
        self._band_moving = True
        self.plot.setXRange(lo, hi, padding=0)
        self._band_moving = False

    def show_clusters(self) -> None:
        """One row per shown cluster. The ticks are the spikes in the time window, looked up when the window
        moves (every spike's row, on an hour of 300 units, is millions of values a change); the overview
        strip sums the shown clusters' firing densities (engine.curation.cluster_table)."""
        self.row_ids, self.spike_counts = [], []
        spikes, table = self.controller.spikes, self.curation.cluster_table()
        if table is None:
            self._row_lookup = np.full(0, -1, np.int64)
            self.ticks.clear()
            self.density.setData([], [])
            return
        self.row_ids = self.curation.shown_ids()
        self._row_lookup = np.full(len(table.counts), -1, np.int64)
        self._row_lookup[self.row_ids] = np.arange(len(self.row_ids))
        self._set_spikes(spikes)
        self.spike_counts = table.counts[self.row_ids].astype(int).tolist()
        self.plot.setYRange(-0.5, len(self.row_ids) - 0.5, padding=0.05)
        self._label_rows()
        counts = table.density_of(self.row_ids)
        self.density.setData(table.edges_s, counts, stepMode="center")
        self.overview.setYRange(0, max(1.0, float(counts.max()) if len(counts) else 1.0), padding=0.05)
        self._style_rows()

    def _show_window_spikes(self) -> None:
        """A window's re-sort: the rows and the overview stand, the window's ticks change."""
        if self.controller.spikes is not None and len(self.row_ids):
            self._set_spikes(self.controller.spikes)
        self._draw_ticks()

    def _label_rows(self) -> None:
        """Each row's unit id on the axis; with more rows than fit, every k-th, so that labels stay
        LABEL_SPACING_PX apart (the axis's own ticks would number the rows, not the units)."""
        n = len(self.row_ids)
        row_px = self.plot.getViewBox().height() / max(n * 1.1, 1)  # the y range is padded by 5 % each side
        step = max(1, int(np.ceil(LABEL_SPACING_PX / max(row_px, 1e-9))))
        self.plot.getAxis("left").setTicks([[(i, str(self.row_ids[i])) for i in range(0, n, step)], []])

    def _set_spikes(self, spikes) -> None:
        """Every spike's time in seconds, in time order, once per sort (the sorter's spikes come sorted)."""
        if self._spikes is spikes:
            return
        seconds = spikes.times / spikes.sampling_rate
        ordered = len(seconds) < 2 or bool(np.all(seconds[1:] >= seconds[:-1]))
        self._order = None if ordered else np.argsort(seconds, kind="stable")
        self._seconds = seconds if ordered else seconds[self._order]
        self._spikes = spikes

    def _style_rows(self) -> None:
        selected = set(self.controller.selected_units)
        self._pens = [pg.mkPen(self.curation.color(c), width=3 if c in selected else 1) for c in self.row_ids]
        self._tick_styles = None
        self._draw_ticks()

    def row_pen(self, row: int):
        return self._pens[row]

    def _draw_ticks(self) -> None:
        """The ticks of the shown clusters' spikes in the window (evenly thinned to MAX_TICKS when zoomed
        far out)."""
        clusters = self.curation.spike_clusters()
        if not len(self.row_ids) or len(clusters) != len(self._seconds):
            self.ticks.clear()
            return
        lo, hi = self.window()
        first, last = np.searchsorted(self._seconds, [lo, hi])
        index = np.arange(first, last)
        if len(index) > MAX_TICKS:
            index = np.linspace(first, last - 1, MAX_TICKS).astype(np.int64)
        spike = index if self._order is None else self._order[index]
        rows = style_of(self._row_lookup, clusters[spike])
        index, rows = index[rows >= 0], rows[rows >= 0]
        box = self.plot.getViewBox()
        low, high = box.viewRange()[1]
        size = max(3.0, 2 * TICK_HALF_HEIGHT * box.height() / max(high - low, 1e-9))
        if self._tick_styles is None or self._tick_styles[0] != size:  # one list while rows and size stay
            self._tick_styles = (size, [(pen.color(), pen.widthF(), size) for pen in self._pens])
        self.ticks.setData(self._seconds[index], rows, rows, self._tick_styles[1])

    def _on_click(self, event) -> None:
        spikes = self.controller.spikes
        box = self.plot.getViewBox()
        if spikes is None or not box.sceneBoundingRect().contains(event.scenePos()):
            return
        point = box.mapSceneToView(event.scenePos())
        index = int(round(point.y()))
        if not 0 <= index < len(self.row_ids):
            return
        cluster = self.row_ids[index]
        seconds = spikes.times[self.curation.spikes_of(cluster)] / spikes.sampling_rate
        if not len(seconds):
            return
        nearest = seconds[np.abs(seconds - point.x()).argmin()]
        seconds_per_px = box.viewPixelSize()[0]
        if abs(nearest - point.x()) <= CLICK_TOLERANCE_PX * seconds_per_px:
            self.controller.set_selected_units([cluster])
            self.controller.center_on(float(nearest))
