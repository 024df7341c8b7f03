"""Raster: one row of ticks per unit over time; a click centres the trace view on a spike."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QVBoxLayout, QWidget

from app.colors import unit_color

CLICK_TOLERANCE_PX = 6
TICK_HALF_HEIGHT = 0.4


def tick_row(seconds: np.ndarray, row: float) -> pg.PlotCurveItem:
    """One vertical tick per time, centred on a row of the raster."""
    y = np.tile([row - TICK_HALF_HEIGHT, row + TICK_HALF_HEIGHT], len(seconds))
    return pg.PlotCurveItem(np.repeat(seconds, 2), y, connect="pairs")


class RasterView(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setLabel("left", "unit")
        self.plot.setMouseEnabled(x=True, y=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self._rows: list[pg.PlotCurveItem] = []
        self.spike_counts: list[int] = []
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        controller.spikesChanged.connect(self.show_spikes)
        controller.selectionChanged.connect(lambda _: self._style_rows())
        controller.recordingChanged.connect(self._on_recording)

    def _on_recording(self, rec) -> None:
        self.show_spikes(None)
        self.plot.setXRange(0, rec.duration, padding=0)

    def show_spikes(self, spikes) -> None:
        for row in self._rows:
            self.plot.removeItem(row)
        self._rows, self.spike_counts = [], []
        if spikes is None:
            return
        for unit in range(spikes.n_units):
            seconds = spikes.unit_times(unit) / spikes.sampling_rate
            row = tick_row(seconds, unit)
            self.plot.addItem(row)
            self._rows.append(row)
            self.spike_counts.append(len(seconds))
        self.plot.setYRange(-0.5, spikes.n_units - 0.5, padding=0.05)
        self._style_rows()

    def _style_rows(self) -> None:
        selected = set(self.controller.selected_units)
        for unit, row in enumerate(self._rows):
            row.setPen(pg.mkPen(unit_color(unit), width=3 if unit in selected else 1))

    def _on_click(self, event) -> None:
        spikes = self.controller.spikes
        box = self.plot.getViewBox()
        if spikes is None or not box.sceneBoundingRect().contains(event.scenePos()):
            return
        point = box.mapSceneToView(event.scenePos())
        unit = int(round(point.y()))
        if not 0 <= unit < spikes.n_units:
            return
        seconds = spikes.unit_times(unit) / spikes.sampling_rate
        if not len(seconds):
            return
        nearest = seconds[np.abs(seconds - point.x()).argmin()]
        seconds_per_px = box.viewPixelSize()[0]
        if abs(nearest - point.x()) <= CLICK_TOLERANCE_PX * seconds_per_px:
            self.controller.set_selected_units([unit])
            self.controller.center_on(float(nearest))
