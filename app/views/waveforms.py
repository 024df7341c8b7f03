"""Waveforms of the selected clusters on their best channels: mean, mean +- std, and real spikes."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt

from app.views.cluster_view import ClusterView
from engine.curation.features import best_channels, read_snippets, sample_spikes
from engine.curation.local import local_snippets

SHOWN_SPIKES = 60
CHANNELS = 4


def side_by_side(waves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., taps, channels) -> x, y with channels next to each other and NaN gaps between them."""
    padded = np.concatenate([waves, np.full(waves.shape[:-2] + (1, waves.shape[-1]), np.nan)], axis=-2)
    y = np.swapaxes(padded, -1, -2).reshape(waves.shape[:-2] + (-1,))
    return np.arange(y.shape[-1], dtype=float), y


class WaveformView(ClusterView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "µV")
        self.plot.hideAxis("bottom")
        self.layout_.addWidget(self.plot)
        self.means: dict[int, np.ndarray] = {}  # (taps, channels) mean waveform of each shown cluster
        self.channels = np.zeros(0, dtype=np.int64)

    def redraw(self, clusters):
        self.plot.clear()
        self.means = {}
        recording = self.controller.recording
        if not clusters:
            return
        times = self.controller.spikes.times
        shown = {c: times[sample_spikes(self.curation.spikes_of(c), SHOWN_SPIKES, c)] for c in clusters}
        first = shown[clusters[0]]
        if len(first):  # the first cluster's best channels, found among the channels near its peak only
            first_snippets, near = local_snippets(recording, first)
            self.channels = np.sort(near[best_channels(first_snippets.mean(axis=0), CHANNELS)])
        else:
            self.channels = np.arange(min(CHANNELS, recording.n_channels))
        for c in clusters:
            waves = read_snippets(recording, shown[c], self.channels)
            if not len(waves):
                continue
            x, sample = side_by_side(waves)  # each spike ends in NaNs, so one curve draws them all
            self.plot.addItem(pg.PlotCurveItem(np.tile(x, len(waves)), sample.ravel(), connect="finite",
                                               pen=self.pen(c, alpha=40)))
            mean, spread = waves.mean(axis=0), waves.std(axis=0)
            self.means[c] = mean
            for offset, style in ((spread, Qt.PenStyle.DashLine), (-spread, Qt.PenStyle.DashLine)):
                pen = self.pen(c)
                pen.setStyle(style)
                self.plot.plot(*side_by_side(mean + offset), pen=pen)
            self.plot.plot(*side_by_side(mean), pen=self.pen(c, width=3))
        self.plot.setTitle(f"channels {', '.join(map(str, self.channels))}")
