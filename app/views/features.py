"""PCA features of the selected clusters' spike waveforms; Ctrl + drag lassoes spikes for a split.

Features are computed on the jobs thread, for at most MAX_SPIKES spikes per cluster (a random sample beyond that),
so a lasso here selects among those; the amplitude view selects among all spikes.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.views.cluster_view import ClusterView
from app.views.lasso import LassoViewBox, points_in_polygon
from engine.curation.features import pca_features, read_snippets, sample_spikes
from engine.curation.local import cluster_channels, cluster_means, global_best_channels

MAX_SPIKES = 5000
MEAN_SPIKES = 300  # of each cluster's, whose mean chooses its best channels
CHANNELS = 4


def cluster_features(recording, times, sizes, progress=None) -> np.ndarray:
    """(spikes, 2) PCA scores of the spikes' snippets on the best channels of each group (consecutive
    ``sizes`` spikes per cluster): the mean of a few of each group's spikes is read on its own channels
    (engine.curation.local), then the snippets on those best channels only, so memory does not grow with
    the probe. ``progress(fraction)`` now and then (it may raise to cancel)."""
    progress = progress or (lambda fraction: None)
    bounds = np.cumsum([0, *sizes])
    groups = {k: np.arange(a, b) for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])) if b > a}
    channels = cluster_channels(recording, times, groups, lambda f: progress(0.1 * f))
    few = {k: sample_spikes(g, MEAN_SPIKES, k) for k, g in groups.items()}
    means = cluster_means(recording, times, few, channels, lambda f: progress(0.1 + 0.1 * f))
    best = np.unique(np.concatenate([global_best_channels(means[k], channels[k], CHANNELS) for k in groups]))
    return pca_features(read_snippets(recording, times, best, lambda f: progress(0.2 + 0.8 * f)), 2)


class FeatureView(ClusterView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plot = pg.PlotWidget(viewBox=LassoViewBox(self.lasso))
        self.plot.setLabel("bottom", "PC 1")
        self.plot.setLabel("left", "PC 2")
        self.layout_.addWidget(self.plot)
        self.spikes = np.zeros(0, dtype=np.int64)  # the spike of each point
        self.features = np.zeros((0, 2))
        self.computing = False  # features on their way from the jobs thread
        self.highlight = pg.ScatterPlotItem(size=6, pen=pg.mkPen("w"), brush=None)
        self.curation.spikeSelectionChanged.connect(self._show_spike_selection)

    def redraw(self, clusters):
        """Read the snippets and project them on the jobs thread; draw when they arrive."""
        self.plot.clear()
        self.features = np.zeros((0, 2))
        groups = [sample_spikes(self.curation.spikes_of(c), MAX_SPIKES, c) for c in clusters]
        spikes = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
        self.spikes = spikes
        self.computing = len(spikes) >= 3
        if not self.computing:
            return
        recording, times = self.controller.recording, self.controller.spikes.times[spikes]
        sizes = [len(g) for g in groups]
        self.controller.jobs.submit("Computing features",
                                    lambda progress: cluster_features(recording, times, sizes, progress),
                                    lambda features: self._draw(clusters, spikes, sizes, features), kind="features",
                                    lane="views")

    def _draw(self, clusters, spikes, sizes, features) -> None:
        if spikes is not self.spikes:
            return  # another selection came since
        self.computing = False
        self.features = features
        start = 0
        for c, size in zip(clusters, sizes):
            part = features[start:start + size]
            start += size
            self.plot.addItem(pg.ScatterPlotItem(*part.T, size=3, pen=None, brush=self.brush(c, 160)))
        self.plot.addItem(self.highlight)
        self._show_spike_selection(self.curation.spike_selection)

    def _show_spike_selection(self, spikes) -> None:
        shown = np.isin(self.spikes, spikes) if len(self.features) else np.zeros(0, dtype=bool)
        self.highlight.setData(*self.features[shown].T if shown.any() else ([], []))

    def lasso(self, polygon: np.ndarray) -> None:
        """Select the shown spikes inside a polygon given in (PC 1, PC 2)."""
        if len(self.features):
            inside = points_in_polygon(self.features[:, 0], self.features[:, 1], polygon)
            self.curation.select_spikes(self.spikes[inside])
