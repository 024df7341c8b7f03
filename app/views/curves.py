"""Training curves: loss, reconstruction SNR and filter error per unit against the step."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.colors import unit_color
from app.views.canvas import CanvasView


class CurvesView(CanvasView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.loss_plot = self.canvas.addPlot(row=0, col=0, title="loss (MSE)")
        self.snr_plot = self.canvas.addPlot(row=0, col=1, title="SNR (dB)")
        self.error_plot = self.canvas.addPlot(row=0, col=2, title="filter error")
        for plot in (self.loss_plot, self.snr_plot, self.error_plot):
            plot.setLabel("bottom", "step")
            plot.getAxis("bottom").setHeight(32)  # room for the ticks and "step" at any dock height
            plot.getAxis("left").setWidth(44)  # ticks as 0.0123 fit; the three plots line up
            plot.titleLabel.setMaximumHeight(22)
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#e0e0e0", width=2), symbol="o", symbolSize=4)
        self.snr_curve = self.snr_plot.plot(pen=pg.mkPen("#7fd07f", width=2), symbol="o", symbolSize=4)
        self.error_curves: list[pg.PlotDataItem] = []
        controller.historyChanged.connect(self.refresh)

    def refresh(self) -> None:
        h = self.controller.history
        steps = np.asarray(h["step"], dtype=float)
        self.loss_curve.setData(steps, np.asarray(h["loss"], dtype=float))
        self.snr_curve.setData(steps, np.asarray(h["snr_db"], dtype=float))
        errors = [e for e in h["filter_error"] if len(e)]
        errors = np.asarray(errors, dtype=float) if errors and len(errors) == len(steps) else np.zeros((0, 0))
        while len(self.error_curves) < errors.shape[1]:
            unit = len(self.error_curves)
            self.error_curves.append(self.error_plot.plot(pen=pg.mkPen(unit_color(unit), width=2),
                                                          symbol="o", symbolSize=4, symbolBrush=unit_color(unit)))
        for unit, curve in enumerate(self.error_curves):
            if unit < errors.shape[1]:
                curve.setData(steps, errors[:, unit])
            else:
                curve.setData([], [])
