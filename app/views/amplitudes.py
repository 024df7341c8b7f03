"""Amplitude of every spike of the selected clusters over time; Ctrl + drag lassoes spikes for a split.

All clusters' dots are one MarkItem (app/views/marks.py): a ScatterPlotItem styled per point took
0.1-0.2 s of the GUI thread for the 18,000 spikes of an hour of one 5 Hz unit."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.views.cluster_view import ClusterView
from app.views.lasso import LassoViewBox, points_in_polygon
from app.views.marks import MarkItem

DOT_PX = 3


class AmplitudeView(ClusterView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plot = pg.PlotWidget(viewBox=LassoViewBox(self.lasso))
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setLabel("left", "amplitude")
        self.layout_.addWidget(self.plot)
        self.points = MarkItem("o")
        self.counts: dict[int, int] = {}  # the dots drawn for each cluster
        self.highlight = pg.ScatterPlotItem(size=6, pen=pg.mkPen("w"), brush=None)
        self.highlight.setZValue(10)
        self.plot.addItem(self.points)
        self.plot.addItem(self.highlight)
        self.curation.spikeSelectionChanged.connect(self._show_spike_selection)

    def _spike_xy(self, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.controller.spikes
        return s.times[spikes] / s.sampling_rate, s.amplitudes[spikes]

    def redraw(self, clusters):
        if not clusters:
            self.counts = {}
            self.points.clear()
            self.highlight.setData([], [])
            return
        groups = [self.curation.spikes_of(c) for c in clusters]
        self.counts = {c: len(g) for c, g in zip(clusters, groups)}
        spikes = np.concatenate(groups) if groups else np.zeros(0, np.int64)
        styles = []
        for c in clusters:
            color = self.curation.color(c)
            color.setAlpha(160)
            styles.append((color, DOT_PX, DOT_PX))
        style = np.repeat(np.arange(len(clusters)), [len(g) for g in groups])
        self.points.setData(*self._spike_xy(spikes), style, styles)
        self._show_spike_selection(self.curation.spike_selection)

    def _show_spike_selection(self, spikes) -> None:
        self.highlight.setData(*self._spike_xy(spikes) if len(spikes) else ([], []))

    def lasso(self, polygon: np.ndarray) -> None:
        """Select the shown spikes inside a polygon given in (seconds, amplitude)."""
        spikes = np.concatenate([self.curation.spikes_of(c) for c in self.shown] or [np.zeros(0, np.int64)])
        x, y = self._spike_xy(spikes)
        self.curation.select_spikes(spikes[points_in_polygon(x, y, polygon)])
