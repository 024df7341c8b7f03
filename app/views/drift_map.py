"""Drift map: each detected spike's depth along the probe against time, shaded by amplitude, with the
estimated motion drawn over it (one line per depth bin of the non-rigid estimate)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

MAX_POINTS = 150_000  # evenly thinned beyond this: the map stays quick to draw on hours of recording
SHADES = 6  # amplitude levels, each one scatter item with one brush (a brush per point is slow)
MOTION_PEN = pg.mkPen("#ff5a4a", width=2)


def amplitude_levels(amplitudes: np.ndarray, levels: int = SHADES) -> np.ndarray:
    """0 .. levels-1 per spike, by quantiles of the log amplitude: the few large spikes stand out."""
    if len(amplitudes) == 0:
        return np.zeros(0, np.int64)
    logs = np.log(np.maximum(amplitudes, 1e-9))
    edges = np.quantile(logs, np.linspace(0, 1, levels + 1)[1:-1])
    return np.searchsorted(edges, logs)


class DriftMapView(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setLabel("left", "depth (µm)")
        self.note = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.plot, 1)
        self.n_points = 0
        self.n_motion_lines = 0
        controller.motion.changed.connect(self.refresh)
        self.refresh()

    def _note_text(self) -> str:
        motion = self.controller.motion
        if motion.pending:
            return f"Estimating the probe's motion ({motion.kind}) ..."
        if motion.estimate is None:
            return ("No motion correction for this recording: its contacts span less than 100 µm along the "
                    "probe, or motion correction is off.")
        return ""

    def refresh(self) -> None:
        self.plot.clear()
        self.n_points = self.n_motion_lines = 0
        text = self._note_text()
        self.note.setText(text)
        self.note.setVisible(bool(text))
        estimate = self.controller.motion.estimate
        if estimate is None:
            return
        keep = np.arange(len(estimate.peak_times_s))
        if len(keep) > MAX_POINTS:
            keep = np.linspace(0, len(keep) - 1, MAX_POINTS).astype(np.int64)
        times, depths = estimate.peak_times_s[keep], estimate.peak_depths_um[keep]
        levels = amplitude_levels(estimate.peak_amplitudes[keep])
        for level in range(SHADES):
            mine = levels == level
            grey = int(70 + 185 * level / max(1, SHADES - 1))
            self.plot.addItem(pg.ScatterPlotItem(times[mine], depths[mine], size=2, pen=None,
                                                 brush=pg.mkBrush(grey, grey, grey, 200)))
        self.n_points = len(keep)
        for column, depth in enumerate(estimate.spatial_bins_um):
            self.plot.plot(estimate.temporal_bins_s, depth + estimate.displacement_um[:, column], pen=MOTION_PEN)
        self.n_motion_lines = len(estimate.spatial_bins_um)
