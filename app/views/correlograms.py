"""Auto-correlograms (diagonal) and cross-correlograms of the selected clusters."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.views.cluster_view import ClusterView
from engine.curation.trains import correlogram

BIN_MS = 1.0
WINDOW_MS = 50.0


class CorrelogramView(ClusterView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.canvas = pg.GraphicsLayoutWidget()
        self.layout_.addWidget(self.canvas)
        self.counts: dict[tuple[int, int], np.ndarray] = {}

    def redraw(self, clusters):
        self.canvas.clear()
        self.counts = {}
        spikes = self.controller.spikes
        times = {c: spikes.times[self.curation.spikes_of(c)] for c in clusters}
        for i, a in enumerate(clusters):
            for j, b in enumerate(clusters):
                centres, counts = correlogram(times[a], times[b], spikes.sampling_rate, BIN_MS, WINDOW_MS,
                                              same=a == b)
                self.counts[a, b] = counts
                plot = self.canvas.addPlot(row=i, col=j)
                plot.hideAxis("left")
                if i < len(clusters) - 1:
                    plot.hideAxis("bottom")
                edges = np.append(centres - BIN_MS / 2, centres[-1] + BIN_MS / 2)
                color = a if a == b else b
                plot.plot(edges, counts, stepMode="center", fillLevel=0, brush=self.brush(color, 150),
                          pen=self.pen(color))
                plot.setTitle(f"{a}" if a == b else f"{a} × {b}", size="8pt")
