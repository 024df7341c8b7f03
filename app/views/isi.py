"""Inter-spike-interval histogram of the selected clusters, with the refractory-violation rate."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt

from app.views.cluster_view import ClusterView
from engine.curation.trains import isi_histogram
from engine.curation.quality import ISI_THRESHOLD_MS


class IsiView(ClusterView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "inter-spike interval (ms)")
        self.plot.setLabel("left", "count")
        self.layout_.addWidget(self.plot)
        self.violations: dict[int, float] = {}  # fraction of intervals below the threshold

    def redraw(self, clusters):
        self.plot.clear()
        self.violations = {}
        self.plot.addItem(pg.InfiniteLine(ISI_THRESHOLD_MS, pen=pg.mkPen("#aa3333", style=Qt.PenStyle.DashLine)))
        spikes = self.controller.spikes
        lines = []
        for c in clusters:
            times = spikes.times[self.curation.spikes_of(c)]
            edges, counts = isi_histogram(times, spikes.sampling_rate)
            self.plot.plot(edges, counts, stepMode="center", pen=self.pen(c, 2))
            isi_ms = np.diff(np.sort(times)) * 1e3 / spikes.sampling_rate
            self.violations[c] = float(np.mean(isi_ms < ISI_THRESHOLD_MS)) if len(isi_ms) else 0.0
            lines.append(f"unit {c}: {100 * self.violations[c]:.2f} % < {ISI_THRESHOLD_MS} ms")
        self.plot.setTitle(" · ".join(lines))
