"""Waveforms of the selected clusters on their best channels: mean, mean +- std, and real spikes.

The snippets are read on the "views" jobs thread (app/jobs.py), on the channels near the first cluster's
peak only: its filters' largest channel when the filters are those of the sort, else the peak of its
spikes' mean (engine.curation.local). The view draws them when they arrive, unless the selection or the
curation changed meanwhile. On 300 units of a 384-channel hour, reading and band-passing on the GUI
thread took 23-28 s per selection.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt

from app.views.cluster_view import ClusterView
from engine.curation.features import best_channels, read_snippets, sample_spikes
from engine.curation.local import local_snippets, nearby_channels
from engine.curation.positions import filter_energy

SHOWN_SPIKES = 60
CHANNELS = 4


def side_by_side(waves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., taps, channels) -> x, y with channels next to each other and NaN gaps between them."""
    padded = np.concatenate([waves, np.full(waves.shape[:-2] + (1, waves.shape[-1]), np.nan)], axis=-2)
    y = np.swapaxes(padded, -1, -2).reshape(waves.shape[:-2] + (-1,))
    return np.arange(y.shape[-1], dtype=float), y


def peak_channel(filters: np.ndarray, held: list[int]) -> int:
    """The channel where the filters a cluster holds carry the most energy."""
    return int(filter_energy(filters[held]).sum(axis=0).argmax())


def read_waveforms(recording, shown: list[np.ndarray], peak: int | None) -> tuple[np.ndarray, list[np.ndarray]]:
    """(channels, (spikes, taps, channels) snippets of each cluster): the ``CHANNELS`` channels where the first
    cluster's mean is largest, looked for near ``peak`` (or near its spikes' own peak when None)."""
    first = shown[0]
    if not len(first):
        channels = np.arange(min(CHANNELS, recording.n_channels))
        return channels, [read_snippets(recording, times, channels) for times in shown]
    if peak is None:
        snippets, near = local_snippets(recording, first)
    else:
        near = nearby_channels(recording.channel_positions, peak)
        snippets = read_snippets(recording, first, near)
    chosen = best_channels(snippets.mean(axis=0), CHANNELS)
    order = np.argsort(near[chosen])
    channels, chosen = near[chosen][order], chosen[order]
    return channels, [snippets[:, :, chosen], *(read_snippets(recording, times, channels) for times in shown[1:])]


class WaveformView(ClusterView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "µV")
        self.plot.hideAxis("bottom")
        self.layout_.addWidget(self.plot)
        self.means: dict[int, np.ndarray] = {}  # (taps, channels) mean waveform of each shown cluster
        self.channels = np.zeros(0, dtype=np.int64)
        self.computing = False  # snippets on their way from the jobs thread
        self._request = None  # what the job in flight was asked for

    def redraw(self, clusters):
        """Read the snippets on the jobs thread; draw when they arrive."""
        self.plot.clear()
        self.means = {}
        self.computing = bool(clusters)
        if not clusters:
            self._request = None
            return
        c, curation = self.controller, self.curation.curation
        times = c.spikes.times
        shown = [times[sample_spikes(self.curation.spikes_of(k), SHOWN_SPIKES, k)] for k in clusters]
        peak = None
        if c.filters is not None and curation.n_units == len(c.filters) and curation.filters_of(clusters[0]):
            peak = peak_channel(c.filters, curation.filters_of(clusters[0]))
        request = self._request = (list(clusters), curation, curation.revision)
        recording = c.recording
        c.jobs.submit("Reading waveforms", lambda progress: read_waveforms(recording, shown, peak),
                      lambda result: self._draw(request, *result), kind="waveforms", lane="views")

    def _draw(self, request, channels: np.ndarray, waves: list[np.ndarray]) -> None:
        if request is not self._request:
            return  # another selection or curation came since
        self.computing = False
        self.channels = channels
        for c, wave in zip(request[0], waves):
            if not len(wave):
                continue
            x, sample = side_by_side(wave)  # each spike ends in NaNs, so one curve draws them all
            self.plot.addItem(pg.PlotCurveItem(np.tile(x, len(wave)), sample.ravel(), connect="finite",
                                               pen=self.pen(c, alpha=40)))
            mean, spread = wave.mean(axis=0), wave.std(axis=0)
            self.means[c] = mean
            for offset in (spread, -spread):
                pen = self.pen(c)
                pen.setStyle(Qt.PenStyle.DashLine)
                self.plot.plot(*side_by_side(mean + offset), pen=pen)
            self.plot.plot(*side_by_side(mean), pen=self.pen(c, width=3))
        self.plot.setTitle(f"channels {', '.join(map(str, channels))}")
