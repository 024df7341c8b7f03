"""Firing rate of the selected clusters over the recording."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.views.cluster_view import ClusterView
from engine.curation.trains import firing_rate

BINS = 100  # across the recording, whatever its length


class FiringRateView(ClusterView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setLabel("left", "rate", units="Hz")
        self.layout_.addWidget(self.plot)
        self.rates: dict[int, np.ndarray] = {}

    def redraw(self, clusters):
        self.plot.clear()
        self.rates = {}
        spikes, duration = self.controller.spikes, self.controller.recording.duration if clusters else 0.0
        for c in clusters:
            starts, rate = firing_rate(spikes.times[self.curation.spikes_of(c)], spikes.sampling_rate, duration,
                                       bin_s=max(duration / BINS, 1e-3))
            self.rates[c] = rate
            self.plot.plot(starts, rate, pen=self.pen(c, 2))
