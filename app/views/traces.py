"""Traces: channels stacked, scrolled and zoomed with mouse and keys, spikes marked."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QVBoxLayout, QWidget

from app.settings import WINDOW_DEFAULTS
from app.views.marks import MarkItem

MIN_SPAN_S = 0.005
MARK_PX, SELECTED_MARK_PX = 9, 14
REQUEST_DELAY_MS = 30  # coalesces the range changes of one drag into one read


class TraceView(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.gain = 1.0
        self.show_overlay = False
        self._spacing = 1.0
        self._window = None
        self.mark_clusters = np.zeros(0, np.int64)  # the cluster of each spike mark drawn
        self._best: tuple[int, np.ndarray] | None = None  # (filters_version, each filter's largest channel)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.getPlotItem().hideAxis("left")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        # One curve per layer for all channels, a NaN between one channel and the next: drawing 384
        # channels as one path costs a fraction of 384 separate items.
        self._raw_curve, self._recon_curve, self._residual_curve = (
            pg.PlotCurveItem(pen=pg.mkPen(color, width=1)) for color in ("#c8c8c8", "#ff5555", "#55aaff"))
        for curve in (self._raw_curve, self._recon_curve, self._residual_curve):
            self.plot.addItem(curve)
        # All marks as one item drawn from an atlas of their styles (a ScatterPlotItem with a brush per
        # point cost 35 ms a frame for 300 units' marks).
        self._spike_marks = MarkItem("t1")
        self._styles: tuple[np.ndarray, list] | None = None  # (style of each cluster, styles): see _style_table
        self._sorted_times: tuple[object, bool] | None = None  # (spike times array, whether sorted)
        self._spike_marks.setZValue(10)
        self.plot.addItem(self._spike_marks)
        self._request_timer = QTimer(self, singleShot=True, interval=REQUEST_DELAY_MS)
        self._request_timer.timeout.connect(self.request_visible)
        self.plot.getViewBox().sigXRangeChanged.connect(lambda *_: self._request_timer.start())
        self.plot.getViewBox().sigResized.connect(lambda *_: self._request_timer.start())  # two points a pixel
        controller.recordingChanged.connect(self._on_recording)
        controller.traceWindowLoaded.connect(self._on_window)
        controller.curation.changed.connect(self._on_curation)
        controller.traceChannelsChanged.connect(lambda _: self._on_channels())
        controller.selectionChanged.connect(lambda _: self._on_curation())
        controller.centerRequested.connect(self.center_on)
        if controller.recording is not None:
            self._on_recording(controller.recording)

    # -- navigation (also bound to actions) -------------------------------------
    def x_range(self) -> tuple[float, float]:
        return tuple(self.plot.getViewBox().viewRange()[0])

    def set_x_range(self, lo: float, hi: float) -> None:
        rec = self.controller.recording
        if rec is None:
            return
        span = min(max(hi - lo, MIN_SPAN_S), rec.duration)
        lo = min(max(0.0, lo), rec.duration - span)
        self.plot.setXRange(lo, lo + span, padding=0)

    def scroll(self, fraction: float) -> None:
        lo, hi = self.x_range()
        shift = fraction * (hi - lo)
        self.set_x_range(lo + shift, hi + shift)

    def zoom(self, factor: float) -> None:
        lo, hi = self.x_range()
        mid, half = (lo + hi) / 2, (hi - lo) * factor / 2
        self.set_x_range(mid - half, mid + half)

    def center_on(self, seconds: float) -> None:
        lo, hi = self.x_range()
        half = (hi - lo) / 2
        self.set_x_range(seconds - half, seconds + half)

    def change_gain(self, factor: float) -> None:
        self.gain *= factor
        self._redraw()

    def set_overlay(self, shown: bool) -> None:
        self.show_overlay = bool(shown)
        self.request_visible()

    # -- data ---------------------------------------------------------------------
    def request_visible(self) -> None:
        rec = self.controller.recording
        if rec is None:
            return
        lo, hi = self.x_range()
        start = max(0, int(np.floor(lo * rec.sampling_rate)))
        stop = min(rec.n_samples, int(np.ceil(hi * rec.sampling_rate)) + 1)
        self.controller.set_visible_window(start, stop)
        pixels = max(100, self.plot.getViewBox().width())
        self.controller.request_traces(start, stop, pixels, overlay=self.show_overlay)

    def _on_recording(self, rec) -> None:
        for curve in (self._raw_curve, self._recon_curve, self._residual_curve):
            curve.setData([], [])
        sigma = self.controller.noise_sigma
        self._spacing = float(np.median(sigma)) * 12 if sigma is not None and np.median(sigma) > 0 else 100.0
        self.plot.getViewBox().setLimits(xMin=0, xMax=rec.duration)
        self.plot.setYRange(-self._spacing, len(self.channels()) * self._spacing, padding=0.02)
        self._window = None
        self.set_x_range(0, min(WINDOW_DEFAULTS.trace_span_seconds, rec.duration))
        self.request_visible()

    def channels(self) -> np.ndarray:
        """The channels shown, bottom up."""
        rec, chosen = self.controller.recording, self.controller.trace_channels
        n = rec.n_channels if rec is not None else 0
        return np.asarray(chosen if chosen is not None else range(n), dtype=np.int64)

    def _on_channels(self) -> None:
        self.plot.setYRange(-self._spacing, len(self.channels()) * self._spacing, padding=0.02)
        self._redraw()

    def _on_window(self, window) -> None:
        self._window = window
        self._redraw()

    def _redraw(self) -> None:
        window = self._window
        if window is None:
            return
        layers = [(self._raw_curve, window.raw, True),
                  (self._recon_curve, window.reconstruction, self.show_overlay),
                  (self._residual_curve, window.residual, self.show_overlay)]
        for curve, values, shown in layers:
            if shown and values is not None:
                curve.setData(*self._stacked(window.times, values[:, self.channels()]), connect="finite",
                              skipFiniteCheck=True)
            curve.setVisible(shown and values is not None)
        self._draw_spikes()

    def _stacked(self, times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All channels as one path, channel k offset by k spacings, each channel's points followed by a
        NaN (pyqtgraph builds such a path of separate lines 6x faster than one with a connect array)."""
        n_points, n_channels = values.shape
        x = np.empty((n_channels, n_points + 1))
        x[:, :-1], x[:, -1] = times, np.nan
        y = np.empty((n_channels, n_points + 1), dtype=np.float32)
        y[:, :-1] = values.T * self.gain + (np.arange(n_channels, dtype=np.float32) * self._spacing)[:, None]
        y[:, -1] = np.nan
        return x.ravel(), y.ravel()

    def _best_channels(self) -> np.ndarray:
        """Each filter's largest channel, once per filter update (300 filters on 384 channels: 10 ms a frame)."""
        c = self.controller
        if c.filters is None:
            return np.zeros(0, np.int64)
        if self._best is None or self._best[0] != c.filters_version:
            self._best = (c.filters_version, np.abs(c.filters).max(axis=2).argmax(axis=1))
        return self._best[1]

    def _on_curation(self) -> None:
        self._styles = None
        self._draw_spikes()

    def _style_table(self) -> tuple[np.ndarray, list]:
        """(each cluster id's style, -1 for the hidden; the styles: colour and size), once per curation or
        selection change, so a frame passes the marks the same styles list (app/views/marks.py)."""
        if self._styles is None:
            curation, selected = self.controller.curation, set(self.controller.selected_units)
            shown = curation.shown_ids()
            lookup = np.full(max(shown, default=-1) + 1, -1, dtype=np.int64)
            lookup[shown] = np.arange(len(shown))
            sizes = [SELECTED_MARK_PX if k in selected else MARK_PX for k in shown]
            self._styles = (lookup, [(curation.color(k), size, size) for k, size in zip(shown, sizes)])
        return self._styles

    def _window_spikes(self, spikes, start: int, stop: int) -> np.ndarray:
        """The indices of the spikes in samples start:stop (a binary search when the times are sorted,
        as the sorter's are: 5.4 M spikes compared every frame cost 15 ms)."""
        times = spikes.times
        if self._sorted_times is None or self._sorted_times[0] is not times:
            self._sorted_times = (times, bool(len(times) < 2 or np.all(times[1:] >= times[:-1])))
        if self._sorted_times[1]:
            first, last = np.searchsorted(times, [start, stop])
            return np.arange(first, last)
        return np.flatnonzero((times >= start) & (times < stop))

    def mark_colors(self) -> list:
        """The colour of each spike mark drawn."""
        return self._spike_marks.colors()

    def _draw_spikes(self) -> None:
        """A mark per spike in the window, on its filter's channel, in its cluster's colour (noise grey or
        hidden); the selected clusters' marks larger."""
        spikes, rec, window = self.controller.spikes, self.controller.recording, self._window
        curation = self.controller.curation
        if spikes is None or rec is None or window is None or curation.curation is None \
                or len(curation.curation.times) != len(spikes):
            self._spike_marks.clear()
            return
        inside = self._window_spikes(spikes, window.start, window.stop)
        clusters = curation.spike_clusters()[inside]
        best = self._best_channels()
        channels = best[spikes.units[inside]] if len(best) == spikes.n_units else np.zeros(len(inside), int)
        shown = self.channels()
        row = np.full(rec.n_channels, -1)
        row[shown] = np.arange(len(shown))
        lookup, styles = self._style_table()
        style = np.full(len(clusters), -1, dtype=np.int64)
        known = clusters < len(lookup)
        style[known] = lookup[clusters[known]]
        keep = (row[channels] >= 0) & (style >= 0)
        inside, clusters, rows = inside[keep], clusters[keep], row[channels[keep]]
        self.mark_clusters = clusters
        self._spike_marks.setData(spikes.times[inside] / rec.sampling_rate, rows * self._spacing - 0.6 * self._spacing,
                                  style[keep], styles)
