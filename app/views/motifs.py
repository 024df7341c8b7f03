"""Motifs: the settings of firing-motif discovery, a Find button, and each motif found as a units x lags heat map."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PyQt6.QtCore import QRectF
from PyQt6.QtWidgets import QDoubleSpinBox, QGridLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from app.colors import motif_color
from engine.motifs.discovery import MotifConfig

MAX_COLUMNS = 4
MAX_UNIT_TICKS = 16
MIN_CANVAS_HEIGHT = 180
COLOR_MAP = "inferno"
NO_SPIKES = "Motifs are learned from sorted spikes: train a model or open a session first."
READY = "Press Find motifs to learn recurring sequences of the sorted units."


def _spin(box, low, high, value, suffix="", tip="", decimals=1):
    if isinstance(box, QDoubleSpinBox):
        box.setDecimals(decimals)
    box.setRange(low, high)
    box.setValue(value)
    box.setSuffix(suffix)
    box.setToolTip(tip)
    return box


class MotifsView(QWidget):
    def __init__(self, motifs, parent=None):
        super().__init__(parent)
        self.motifs = motifs
        defaults = MotifConfig()
        self.k_box = _spin(QSpinBox(), 1, 12, defaults.k, tip="number of motifs to learn")
        self.bin_box = _spin(QDoubleSpinBox(), 1.0, 1000.0, defaults.bin_ms, " ms", "width of the spike-count bins")
        self.length_box = _spin(QDoubleSpinBox(), 10.0, 10_000.0, defaults.motif_ms, " ms", "length of a motif",
                                decimals=0)
        self.find_button = QPushButton("Find motifs")
        self.find_button.clicked.connect(self.find)
        self.status = QLabel()
        self.status.setWordWrap(True)
        controls = QGridLayout()  # two rows: the column of docks it shares stays narrow
        for col, (text, box) in enumerate((("K", self.k_box), ("bin", self.bin_box), ("length", self.length_box))):
            controls.addWidget(QLabel(text), 0, 2 * col)
            controls.addWidget(box, 0, 2 * col + 1)
        controls.addWidget(self.find_button, 1, 0, 1, 6)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setMinimumHeight(MIN_CANVAS_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(self.canvas, stretch=1)
        self.plots: list[pg.PlotItem] = []
        self.images: list[pg.ImageItem] = []
        self._drawn = None
        motifs.changed.connect(self.refresh)
        self.refresh()

    def config(self) -> MotifConfig:
        return MotifConfig(k=self.k_box.value(), bin_ms=self.bin_box.value(), motif_ms=self.length_box.value())

    def find(self) -> None:
        self.motifs.discover(self.config())

    def refresh(self) -> None:
        m = self.motifs
        self.find_button.setEnabled(m.available and not m.running)
        if m.running:
            self.status.setText("Learning motifs ...")
        elif not m.available:
            self.status.setText(NO_SPIKES)
        elif m.found is None:
            self.status.setText(READY)
        else:
            result = m.found.result
            self.status.setText(f"{result.k} motifs over {len(m.found.unit_ids)} units, {result.bin_ms:g} ms bins; "
                                f"their occurrences are marked on the raster")
        if m.found is not self._drawn:
            self._draw(m.found)

    def _draw(self, found) -> None:
        self.canvas.clear()
        self.plots, self.images, self._drawn = [], [], found
        if found is None:
            return
        result, unit_ids = found.result, found.unit_ids
        step = max(1, math.ceil(len(unit_ids) / MAX_UNIT_TICKS))
        ticks = [[(row, str(unit)) for row, unit in enumerate(unit_ids) if row % step == 0]]
        for index, motif in enumerate(result.motifs):
            plot = self.canvas.addPlot(row=index // MAX_COLUMNS, col=index % MAX_COLUMNS)
            plot.setTitle(f"motif {index + 1} · {len(result.occurrences[index])} occurrences",
                          color=motif_color(index).name())
            plot.setLabel("bottom", "lag (ms)")
            plot.setLabel("left", "unit")
            plot.getAxis("left").setTicks(ticks)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            image = pg.ImageItem(motif.T)  # x: lag, y: unit
            image.setColorMap(COLOR_MAP)
            image.setLevels((0.0, max(float(motif.max()), 1e-6)))
            image.setRect(QRectF(0.0, -0.5, motif.shape[1] * result.bin_ms, motif.shape[0]))
            plot.addItem(image)
            plot.setRange(xRange=(0, motif.shape[1] * result.bin_ms), yRange=(-0.5, motif.shape[0] - 0.5),
                          padding=0)
            self.plots.append(plot)
            self.images.append(image)
