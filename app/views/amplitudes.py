"""Amplitude of every spike of the selected clusters over time; Ctrl + drag lassoes spikes for a split."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.views.cluster_view import ClusterView
from app.views.lasso import LassoViewBox, points_in_polygon


class AmplitudeView(ClusterView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plot = pg.PlotWidget(viewBox=LassoViewBox(self.lasso))
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setLabel("left", "amplitude")
        self.layout_.addWidget(self.plot)
        self.points: dict[int, pg.ScatterPlotItem] = {}
        self.highlight = pg.ScatterPlotItem(size=6, pen=pg.mkPen("w"), brush=None)
        self.curation.spikeSelectionChanged.connect(self._show_spike_selection)

    def _spike_xy(self, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.controller.spikes
        return s.times[spikes] / s.sampling_rate, s.amplitudes[spikes]

    def redraw(self, clusters):
        self.plot.clear()
        self.points = {}
        for c in clusters:
            x, y = self._spike_xy(self.curation.spikes_of(c))
            self.points[c] = pg.ScatterPlotItem(x, y, size=3, pen=None, brush=self.brush(c, 160))
            self.plot.addItem(self.points[c])
        self.plot.addItem(self.highlight)
        self._show_spike_selection(self.curation.spike_selection)

    def _show_spike_selection(self, spikes) -> None:
        self.highlight.setData(*self._spike_xy(spikes) if len(spikes) else ([], []))

    def lasso(self, polygon: np.ndarray) -> None:
        """Select the shown spikes inside a polygon given in (seconds, amplitude)."""
        spikes = np.concatenate([self.curation.spikes_of(c) for c in self.shown] or [np.zeros(0, np.int64)])
        x, y = self._spike_xy(spikes)
        self.curation.select_spikes(spikes[points_in_polygon(x, y, polygon)])
