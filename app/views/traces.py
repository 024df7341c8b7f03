"""Traces: channels stacked, scrolled and zoomed with mouse and keys, spikes marked."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, QTimer
from PyQt6.QtWidgets import QVBoxLayout, QWidget

from app.settings import WINDOW_DEFAULTS
from app.views.marks import MarkItem, style_of
from app.views.trace_envelope import ColumnImage
from app.views.trace_image import TraceImage

MIN_SPAN_S = 0.005
MARK_PX, SELECTED_MARK_PX = 9, 14
REQUEST_DELAY_MS = 30  # coalesces the range changes of one drag into one read
# From this many samples a pixel the loader's min and max are drawn as a line half a pixel wide, so a step
# from one column to the next lights a little of each, as QPainter's line did: a dense trace is a band,
# not a comb of columns. Fewer, zoomed in: the line through the samples, as thin as QPainter's.
DENSE_SAMPLES = 4
LAYERS = (("raw", 0xFFC8C8C8), ("reconstruction", 0xFFFF5555), ("residual", 0xFF55AAFF))  # drawn in this order


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
        # Every channel of every layer as one image of pixel columns, each channel's min-max in each column
        # (app/views/trace_envelope.py): 384 channels' lines as paths cost 35 ms to draw, 95 ms at a scroll.
        self._image = TraceImage()
        self._columns = ColumnImage()  # the image's columns, kept for the next window at the same scale
        self.plot.addItem(self._image)
        self.envelopes: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # layer -> (low, high): (columns, channels)
        self.column_edges = np.zeros(0)  # seconds: the pixel columns drawn, columns + 1 edges
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
        controller.curation.windowChanged.connect(self._draw_spikes)  # the same clusters and styles
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
        # the items moved now, not when the paint starts (pyqtgraph's default): one paint, not a second one
        # for the items it then finds moved
        self.plot.getViewBox().updateMatrix()

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
        # read on the grid of the columns drawn (see _draw_traces), one reduced bin a column, so each
        # column's min and max are its samples' (bins across two columns would light each with a part)
        lo, hi = self.x_range()
        box = self.plot.getViewBox()
        width = max(1, int(np.ceil(box.width() * self.plot.devicePixelRatioF())))
        step = self._columns.snap((hi - lo) / width)
        first, last = int(np.floor(lo / step)), int(np.ceil(hi / step))
        start = max(0, int(np.floor(first * step * rec.sampling_rate)))
        stop = min(rec.n_samples, int(np.ceil(last * step * rec.sampling_rate)) + 1)
        self.controller.set_visible_window(start, stop)
        self.controller.request_traces(start, stop, max(100, last - first), overlay=self.show_overlay)

    def _on_recording(self, rec) -> None:
        self._image.clear()
        self._columns.clear()
        self.envelopes, self.column_edges = {}, np.zeros(0)
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
        self._draw_traces(window)
        self._draw_spikes()

    def _draw_traces(self, window) -> None:
        """The window's layers as one image in the view's device pixels: in each pixel column, each channel
        lit from its min to its max there (channel k offset by k spacings)."""
        box = self.plot.getViewBox()
        (lo, hi), (bottom, top) = box.viewRange()
        ratio = self.plot.devicePixelRatioF()
        width, height = int(np.ceil(box.width() * ratio)), int(np.ceil(box.height() * ratio))
        channels = self.channels()
        every = len(channels) == window.raw.shape[1] and np.array_equal(channels, np.arange(len(channels)))
        shown = {"raw": True, "reconstruction": self.show_overlay, "residual": self.show_overlay}
        layers = [(name, values if every else values[:, channels], color) for name, color in LAYERS
                  if shown[name] and (values := getattr(window, name)) is not None]
        rows_per_unit = height / (top - bottom) if top > bottom else 0.0
        offsets = ((top - np.arange(len(channels)) * self._spacing) * rows_per_unit).astype(np.float32)  # 0s, rows
        request = self.controller.last_trace_request  # this window's, unless a newer one is on its way
        source = object()  # equal to no other: nothing kept, nothing kept for the next window
        n, column = window.stop - window.start, (hi - lo) / max(width, 1) * self.controller.recording.sampling_rate
        if request is not None and request.request_id == window.request_id and (
                len(window.times) >= n or abs(n / request.pixels - column) <= 1):  # the samples, or a bin a column
            source = (request.recording, request.overlay and (request.overlay.version, request.overlay.lam))
        key = (height, bottom, top, self.gain, self._spacing, channels.tobytes(), tuple(name for name, *_ in layers),
               source)  # the kept columns are this window's too while these stay
        columns, step = self._columns, (hi - lo) / max(width, 1)
        times = window.times
        seconds = times[-1] - times[0] if len(times) else 0.0
        pen = (window.stop - window.start) * step >= DENSE_SAMPLES * max(seconds, step)  # samples a pixel
        if 1 < len(times) < window.stop - window.start:  # reduced: each bin's min at its start, max at its middle
            times = times + seconds / (len(times) - 1) / 2  # in the middle of their halves, off the columns' edges
        if width < 1 or height < 1 or hi <= lo or rows_per_unit <= 0 or not columns.draw(
                times, layers, lo, hi, step, height, offsets, self.gain * rows_per_unit, key, pen):
            self._columns.clear()
            self._image.clear()
            self.envelopes, self.column_edges = {}, np.zeros(0)
            return
        self.envelopes = columns.envelopes
        self.column_edges = (columns.first + np.arange(columns.pixels.shape[1] + 1)) * columns.step
        self._image.set_image(columns.pixels, QRectF(self.column_edges[0], bottom,
                                                     self.column_edges[-1] - self.column_edges[0], top - bottom))

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
        style = style_of(lookup, clusters)
        keep = (row[channels] >= 0) & (style >= 0)
        inside, clusters, rows = inside[keep], clusters[keep], row[channels[keep]]
        self.mark_clusters = clusters
        self._spike_marks.setData(spikes.times[inside] / rec.sampling_rate, rows * self._spacing - 0.6 * self._spacing,
                                  style[keep], styles)
