"""Filters: each unit's learned filter (channels side by side), live while training."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.colors import unit_color
from app.views.canvas import CanvasView
from engine.groundtruth.metrics import best_shift, match_filters

MIN_PLOT_WIDTH_PX = 175  # a title such as "unit 12 · error 0.014" fits
MAX_COLUMNS = 6


def _flatten(filt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(channels, taps) -> x, y with channels side by side and NaN gaps between them."""
    channels, taps = filt.shape
    y = np.concatenate([np.append(filt[c], np.nan) for c in range(channels)])
    return np.arange(len(y), dtype=float), y


def aligned_truth(filt: np.ndarray, wave: np.ndarray) -> np.ndarray:
    """The true waveform on the filter's taps (it may be longer or lag by a few taps), unit norm, same sign."""
    correlation, shift = best_shift(filt, wave, max(filt.shape[-1], wave.shape[-1]) // 4)
    source = np.arange(wave.shape[-1])
    target = source + shift  # the filter's features come ``shift`` taps after the waveform's
    inside = (target >= 0) & (target < filt.shape[-1])
    out = np.zeros(filt.shape, dtype=float)
    out[:, target[inside]] = wave[:, source[inside]]
    return np.sign(correlation or 1.0) * out / max(np.linalg.norm(wave), 1e-12)


class FilterView(CanvasView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plots: list[pg.PlotItem] = []
        self._learned: list[pg.PlotDataItem] = []
        self._truth: list[pg.PlotDataItem] = []
        self.titles: dict[int, str] = {}  # filter -> its plot's title
        self._columns = 1
        self.errors: dict[int, float] = {}  # learned unit -> error against its matched true unit
        controller.filtersChanged.connect(self.show_filters)
        controller.selectionChanged.connect(lambda _: self._update_titles())
        controller.curation.changed.connect(self._update_titles)
        controller.recordingChanged.connect(lambda _: self._rebuild(0))

    def _rebuild(self, n_units: int) -> None:
        self.canvas.clear()
        self.plots, self._learned, self._truth = [], [], []
        self._columns = self.columns()
        for unit in range(n_units):
            plot = self.canvas.addPlot(row=unit // self._columns, col=unit % self._columns)
            plot.hideAxis("bottom")
            plot.hideAxis("left")
            plot.setMouseEnabled(x=False, y=False)
            self._truth.append(plot.plot(pen=pg.mkPen("#888888", width=2, style=pg.QtCore.Qt.PenStyle.DashLine)))
            self._learned.append(plot.plot(pen=pg.mkPen(unit_color(unit), width=2)))
            self.plots.append(plot)

    def columns(self) -> int:
        """As many columns as the width gives each plot room for its title (decided when the plots are made:
        re-laying them out on every resize fed back into the layout's size and never settled)."""
        return int(np.clip(self.width() // MIN_PLOT_WIDTH_PX, 1, MAX_COLUMNS))

    def show_filters(self, filters: np.ndarray) -> None:
        if len(filters) != len(self.plots):
            self._rebuild(len(filters))
        truth = self.controller.recording.ground_truth if self.controller.recording is not None else None
        matched = {}
        self.errors = {}
        if truth is not None and truth.waveforms.shape[1] == filters.shape[1]:
            assignment, errors = match_filters(filters, truth.waveforms)
            for true_unit, learned in enumerate(assignment):
                if learned >= 0:
                    matched[int(learned)] = truth.waveforms[true_unit]
                    self.errors[int(learned)] = float(errors[true_unit])
        for unit, filt in enumerate(filters):
            self._learned[unit].setData(*_flatten(filt))
            wave = matched.get(unit)
            if wave is not None:
                wave = aligned_truth(filt, wave)
                self._truth[unit].setData(*_flatten(wave))
            self._truth[unit].setVisible(wave is not None)
        self._update_titles()

    def _update_titles(self) -> None:
        """Each filter titled and coloured by the cluster that holds its spikes (merged, split, labelled)."""
        selected = set(self.controller.selected_units)
        curation = self.controller.curation
        owners = curation.filter_clusters() if curation.curation is not None and \
            curation.curation.n_units == len(self.plots) else {}
        shown = set(curation.shown_ids()) if owners else set()
        self.titles = {}
        for unit, plot in enumerate(self.plots):
            cluster = owners.get(unit, unit)
            error = self.errors.get(unit)
            label = curation.label_of(cluster) if owners else None
            text = f"unit {cluster}" + (f" (filter {unit})" if cluster != unit else "") + \
                (f" · {label}" if label and label != "unsorted" else "") + \
                (f" · error {error:.3f}" if error is not None else "")
            self.titles[unit] = text
            color = curation.color(cluster) if owners else unit_color(unit)
            weight = "bold" if cluster in selected else "normal"
            plot.setTitle(f"<span style='color:{color.name()}; font-weight:{weight}'>{text}</span>")
            plot.getViewBox().setBackgroundColor("#2a2a40" if cluster in selected else None)
            self._learned[unit].setPen(pg.mkPen(color, width=2))
            plot.setVisible(not owners or cluster in shown)
