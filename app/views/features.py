"""PCA features of the selected clusters' spike waveforms; Ctrl + drag lassoes spikes for a split.

Features are computed for at most MAX_SPIKES spikes per cluster (a random sample beyond that),
so a lasso here selects among those; the amplitude view selects among all spikes.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.views.cluster_view import ClusterView
from app.views.lasso import LassoViewBox, points_in_polygon
from engine.curation.features import best_channels, pca_features, read_snippets, sample_spikes

MAX_SPIKES = 5000
CHANNELS = 4


class FeatureView(ClusterView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plot = pg.PlotWidget(viewBox=LassoViewBox(self.lasso))
        self.plot.setLabel("bottom", "PC 1")
        self.plot.setLabel("left", "PC 2")
        self.layout_.addWidget(self.plot)
        self.spikes = np.zeros(0, dtype=np.int64)  # the spike of each point
        self.features = np.zeros((0, 2))
        self.highlight = pg.ScatterPlotItem(size=6, pen=pg.mkPen("w"), brush=None)
        self.curation.spikeSelectionChanged.connect(self._show_spike_selection)

    def redraw(self, clusters):
        self.plot.clear()
        groups = [sample_spikes(self.curation.spikes_of(c), MAX_SPIKES, c) for c in clusters]
        self.spikes = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
        self.features = np.zeros((0, 2))
        if len(self.spikes) < 3:
            return
        snippets = read_snippets(self.controller.recording, self.controller.spikes.times[self.spikes])
        channels = np.unique(np.concatenate([best_channels(snippets[self._group_mask(groups, i)].mean(0), CHANNELS)
                                             for i in range(len(groups)) if len(groups[i])]))
        self.features = pca_features(snippets[..., channels], 2)
        for i, c in enumerate(clusters):
            mask = self._group_mask(groups, i)
            self.plot.addItem(pg.ScatterPlotItem(*self.features[mask].T, size=3, pen=None, brush=self.brush(c, 160)))
        self.plot.addItem(self.highlight)
        self._show_spike_selection(self.curation.spike_selection)

    def _group_mask(self, groups, i: int) -> np.ndarray:
        start = sum(len(g) for g in groups[:i])
        mask = np.zeros(len(self.spikes), dtype=bool)
        mask[start:start + len(groups[i])] = True
        return mask

    def _show_spike_selection(self, spikes) -> None:
        shown = np.isin(self.spikes, spikes) if len(self.features) else np.zeros(0, dtype=bool)
        self.highlight.setData(*self.features[shown].T if shown.any() else ([], []))

    def lasso(self, polygon: np.ndarray) -> None:
        """Select the shown spikes inside a polygon given in (PC 1, PC 2)."""
        if len(self.features):
            inside = points_in_polygon(self.features[:, 0], self.features[:, 1], polygon)
            self.curation.select_spikes(self.spikes[inside])
