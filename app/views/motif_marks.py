"""Occurrences of the found firing motifs on the raster.

Each motif gets a row of ticks above the units' rows (visible at any zoom)
and, behind the spikes, a translucent band over its span at each occurrence
(which shows, zoomed in, the spikes that make it up); both in the motif's
colour. The rows are labelled on the raster's unit axis.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from app.colors import motif_color
from app.views.raster import tick_row

BAND_ALPHA = 50
LABEL_HEIGHT_PX = 14  # a row label needs about this much room on the axis
SUPPORT_FRACTION = 0.1  # lags whose strongest entry is below this fraction of the motif's peak are not drawn


def motif_span(motif: np.ndarray) -> tuple[int, int]:
    """First and one-past-last lag of a (units x lags) motif that holds part of its pattern."""
    strength = motif.max(axis=0)
    lags = np.flatnonzero(strength >= SUPPORT_FRACTION * strength.max())
    return int(lags[0]), int(lags[-1]) + 1


def row_labels(n_units: int, k: int, px_per_row: float) -> list[tuple[float, str]]:
    """Labels for the unit rows and, above them, the motif rows, as dense as the rows' height allows."""
    rows_per_label = LABEL_HEIGHT_PX / max(px_per_row, 1e-9)
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, math.inf) if s >= rows_per_label)
    if step == math.inf:
        return []
    motif_rows = [(n_units + i, f"M{i + 1}") for i in range(0, k, step)]
    return [(u, str(u)) for u in range(0, n_units - step + 1, step)] + motif_rows


class MotifMarks:
    def __init__(self, plot: pg.PlotWidget, motifs):
        self.plot = plot
        self.motifs = motifs
        self.rows: list[pg.PlotCurveItem] = []  # per motif: its occurrences' ticks
        self.bands: list[pg.BarGraphItem] = []  # per motif: its occurrences' spans over the units
        self._drawn = None
        motifs.changed.connect(self.refresh)
        box = plot.getViewBox()
        box.sigResized.connect(self._label_rows)
        box.sigYRangeChanged.connect(self._label_rows)

    def refresh(self) -> None:
        found = self.motifs.found
        if found is self._drawn:
            return
        for item in (*self.rows, *self.bands):
            self.plot.removeItem(item)
        self.rows, self.bands, self._drawn = [], [], found
        spikes = self.motifs.controller.spikes
        if found is None or spikes is None:
            self.plot.getAxis("left").setTicks(None)
            return
        result, n_units = found.result, spikes.n_units
        bin_s = result.bin_ms / 1000.0
        for index, motif in enumerate(result.motifs):
            color = motif_color(index)
            first, stop = motif_span(motif)
            starts = (result.occurrences[index] + first) * bin_s
            row = tick_row(starts + 0.5 * (stop - first) * bin_s, n_units + index)
            row.setPen(pg.mkPen(color, width=2))
            color.setAlpha(BAND_ALPHA)
            band = pg.BarGraphItem(x0=starts, width=(stop - first) * bin_s, y0=-0.5, height=n_units, brush=color,
                                   pen=pg.mkPen(None))
            band.setZValue(-10)
            for item in (row, band):
                self.plot.addItem(item)
            self.rows.append(row)
            self.bands.append(band)
        self.plot.setYRange(-0.5, n_units + result.k - 0.5, padding=0.05)
        self._label_rows()

    def _label_rows(self) -> None:
        spikes = self.motifs.controller.spikes
        if not self.rows or spikes is None:
            return
        box = self.plot.getViewBox()
        low, high = box.viewRange()[1]
        labels = row_labels(spikes.n_units, len(self.rows), box.height() / max(high - low, 1e-9))
        self.plot.getAxis("left").setTicks([labels])
