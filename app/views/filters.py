"""Filters: each unit's learned filter (channels side by side), live while training.

The grid is virtualised: only the plots that fit the view are built (a pool of at most
``MAX_COLUMNS`` x rows that fit), and scrolling (the scroll bar, the wheel, or selecting a unit) shows
other units' filters in the same plots. Building 300 plots took 20 s of the GUI thread on 300 units; the
pool is rebuilt only when the view's size changes its rows or columns, and a new filters array only
updates the data of the plots on screen.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QEvent, Qt, QTimer
from PyQt6.QtWidgets import QHBoxLayout, QScrollBar, QSizePolicy, QWidget

from app.colors import unit_color
from engine.groundtruth.metrics import best_shift, match_filters
from engine.model.amplitude_bands import AmplitudeBands

MIN_PLOT_WIDTH_PX = 175  # a title such as "unit 12 · error 0.014" fits
MIN_PLOT_HEIGHT_PX = 110  # the title and a readable filter
MAX_COLUMNS = 6
MAX_CHANNELS = 16  # a filter is drawn on its largest channels (384 side by side in 175 px cannot be read)
CHANNEL_FLOOR = 0.05  # ... those whose peak is at least this fraction of the filter's largest
RELAYOUT_DELAY_MS = 60


def _flatten(filt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(channels, taps) -> x, y with channels side by side and NaN gaps between them."""
    channels, taps = filt.shape
    y = np.full((channels, taps + 1), np.nan)
    y[:, :taps] = filt
    y = y.ravel()
    return np.arange(len(y), dtype=float), y


def drawn_channels(filt: np.ndarray) -> np.ndarray:
    """The channels a filter is drawn on, in probe order: all of a few, else its largest (at most
    MAX_CHANNELS, each with a peak of at least CHANNEL_FLOOR of the largest; filters confined to a
    neighbourhood are zero beyond it)."""
    n = len(filt)
    if n <= MAX_CHANNELS:
        return np.arange(n)
    peaks = np.abs(filt).max(axis=1)
    largest = np.argsort(-peaks, kind="stable")[:MAX_CHANNELS]
    largest = largest[peaks[largest] >= CHANNEL_FLOOR * peaks.max()] if peaks.max() > 0 else largest[:1]
    return np.sort(largest)


def aligned_truth(filt: np.ndarray, wave: np.ndarray) -> np.ndarray:
    """The true waveform on the filter's taps (it may be longer or lag by a few taps), unit norm, same sign."""
    correlation, shift = best_shift(filt, wave, max(filt.shape[-1], wave.shape[-1]) // 4)
    source = np.arange(wave.shape[-1])
    target = source + shift  # the filter's features come ``shift`` taps after the waveform's
    inside = (target >= 0) & (target < filt.shape[-1])
    out = np.zeros(filt.shape, dtype=float)
    out[:, target[inside]] = wave[:, source[inside]]
    return np.sign(correlation or 1.0) * out / max(np.linalg.norm(wave), 1e-12)


class FilterView(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.canvas = pg.GraphicsLayoutWidget()
        # the plots' sizes never feed back into the dock's (re-laying out on every resize never settled)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.canvas.viewport().installEventFilter(self)
        self.scrollbar = QScrollBar(Qt.Orientation.Vertical)
        self.scrollbar.setVisible(False)
        self.scrollbar.valueChanged.connect(lambda _: self._fill())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.scrollbar)
        self.plots: list[pg.PlotItem] = []  # the pool: the plots on screen, in grid order
        self._learned: list[pg.PlotDataItem] = []
        self._truth: list[pg.PlotDataItem] = []
        self.cell_filters: list[int] = []  # the filter each plot of the pool shows (-1: none)
        self.filters: np.ndarray | None = None
        self.titles: dict[int, str] = {}  # filter -> its plot's title
        self._leader_of: np.ndarray | None = None  # each filter's leader when some are amplitude bands
        self._styles: dict[int, tuple] = {}  # filter -> (cluster, colour, selected)
        self.shown_filters: list[int] = []  # the filters in the grid (not those of hidden clusters), in order
        self._columns, self._rows = 1, 0
        self.errors: dict[int, float] = {}  # learned unit -> error against its matched true unit
        self._matched: dict[int, np.ndarray] = {}
        self._curves: dict[int, tuple] = {}  # filter -> (x, y, truth y or None), built when first shown
        self._relayout = QTimer(self, singleShot=True, interval=RELAYOUT_DELAY_MS)
        self._relayout.timeout.connect(self._layout_cells)
        controller.filtersChanged.connect(self.show_filters)
        controller.selectionChanged.connect(lambda _: self._on_selection())
        controller.curation.changed.connect(self._update_titles)
        controller.recordingChanged.connect(lambda _: self._clear())

    @property
    def n_filters(self) -> int:
        return 0 if self.filters is None else len(self.filters)

    def columns(self) -> int:
        """As many columns as the width gives each plot room for its title."""
        return int(np.clip(self.canvas.width() // MIN_PLOT_WIDTH_PX, 1, MAX_COLUMNS))

    def visible_rows(self) -> int:
        return max(1, self.canvas.height() // MIN_PLOT_HEIGHT_PX)

    def first_filter(self) -> int:
        """The grid position (in shown_filters) of the top-left plot."""
        return self.scrollbar.value() * self._columns

    # -- the pool of plots ----------------------------------------------------------------
    def _clear(self) -> None:
        self.filters, self.errors, self._matched, self._curves = None, {}, {}, {}
        self.shown_filters, self.titles, self._styles = [], {}, {}
        self._layout_cells()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout.start()

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Wheel and self.scrollbar.isVisible():
            steps = event.angleDelta().y() / 120
            self.scrollbar.setValue(self.scrollbar.value() - int(np.sign(steps) * max(1, abs(round(steps)))))
            return True
        return super().eventFilter(watched, event)

    def _layout_cells(self) -> None:
        """Columns and rows from the view's size; the plots built again only when their number or grid
        changes; the scroll bar when the shown filters do not all fit."""
        columns = self.columns()
        n = len(self.shown_filters)
        rows_fit = self.visible_rows()
        rows = -(-n // columns) if n <= columns * rows_fit else rows_fit
        pool = min(n, columns * rows)
        if (columns, rows, pool) != (self._columns, self._rows, len(self.plots)):
            self._build(columns, rows, pool)
        total_rows = -(-n // columns)
        self.scrollbar.blockSignals(True)
        self.scrollbar.setRange(0, max(0, total_rows - rows))
        self.scrollbar.setPageStep(max(1, rows))
        self.scrollbar.blockSignals(False)
        self.scrollbar.setVisible(total_rows > rows)
        self._fill()

    def _build(self, columns: int, rows: int, pool: int) -> None:
        self.canvas.clear()
        self.plots, self._learned, self._truth = [], [], []
        self._columns, self._rows = columns, rows
        for cell in range(pool):
            plot = self.canvas.addPlot(row=cell // columns, col=cell % columns)
            plot.hideAxis("bottom")
            plot.hideAxis("left")
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            self._truth.append(plot.plot(pen=pg.mkPen("#888888", width=2, style=Qt.PenStyle.DashLine)))
            self._learned.append(plot.plot(pen=pg.mkPen(unit_color(cell), width=2)))
            self.plots.append(plot)
        self.cell_filters = [-1] * pool

    def _curve(self, unit: int) -> tuple:
        if unit not in self._curves:
            filt = self.filters[unit]
            channels = drawn_channels(filt)
            x, y = _flatten(filt[channels])
            wave = self._matched.get(unit)
            truth = _flatten(aligned_truth(filt, wave)[channels])[1] if wave is not None else None
            self._curves[unit] = (x, y, truth)
        return self._curves[unit]

    def _fill(self) -> None:
        """The pool's plots show the filters from the scroll position on: data, title, colour."""
        first = self.first_filter()
        for cell, plot in enumerate(self.plots):
            index = first + cell
            if index >= len(self.shown_filters):
                plot.setVisible(False)
                self.cell_filters[cell] = -1
                continue
            unit = self.shown_filters[index]
            x, y, truth = self._curve(unit)
            self._learned[cell].setData(x, y)
            if truth is not None:
                self._truth[cell].setData(x, truth)
            self._truth[cell].setVisible(truth is not None)
            self._style_cell(cell, unit, force=self.cell_filters[cell] != unit)
            self.cell_filters[cell] = unit
            plot.setVisible(True)

    def _style_cell(self, cell: int, unit: int, force: bool = False) -> None:
        cluster, color, selected = self._styles.get(unit, (unit, unit_color(unit), False))
        style = (self.titles.get(unit, f"unit {unit}"), color.name(), selected)
        plot = self.plots[cell]
        if not force and getattr(plot, "_shown_style", None) == style:
            return
        plot._shown_style = style
        weight = "bold" if selected else "normal"
        plot.setTitle(f"<span style='color:{style[1]}; font-weight:{weight}'>{style[0]}</span>")
        plot.getViewBox().setBackgroundColor("#2a2a40" if selected else None)
        self._learned[cell].setPen(pg.mkPen(color, width=2))

    # -- data -----------------------------------------------------------------------------
    def show_filters(self, filters: np.ndarray) -> None:
        n_before = self.n_filters
        self.filters = np.asarray(filters)
        bands = AmplitudeBands.of(self.filters) if len(self.filters) else None
        self._leader_of = None if bands is None else bands.leader_of
        self._curves = {}
        truth = self.controller.recording.ground_truth if self.controller.recording is not None else None
        self._matched, self.errors = {}, {}
        if truth is not None and truth.waveforms.shape[1] == filters.shape[1]:
            assignment, errors = match_filters(filters, truth.waveforms)
            for true_unit, learned in enumerate(assignment):
                if learned >= 0:
                    self._matched[int(learned)] = truth.waveforms[true_unit]
                    self.errors[int(learned)] = float(errors[true_unit])
        if len(filters) != n_before:
            self._update_titles()  # the shown filters and the grid change
        else:
            self._titles_only()
            self._fill()

    def _filter_owners(self) -> dict[int, int]:
        """The cluster that holds most of each filter's spikes (engine.curation.model.Curation.filter_owners)."""
        curation = self.controller.curation
        if curation.curation is None or curation.curation.n_units != self.n_filters:
            return {}
        return curation.curation.filter_owners()

    def _titles_only(self) -> None:
        """Each filter's title and colour from the cluster that holds its spikes (merged, split, labelled)."""
        selected = set(self.controller.selected_units)
        curation = self.controller.curation
        owners = self._filter_owners()
        self.titles, self._styles = {}, {}
        for unit in range(self.n_filters):
            cluster = owners.get(unit, unit)
            error = self.errors.get(unit)
            label = curation.label_of(cluster) if owners else None
            leader = unit if self._leader_of is None else int(self._leader_of[unit])
            self.titles[unit] = f"unit {cluster}" + (f" (filter {unit})" if cluster != unit else "") + \
                (f" · band of {leader}" if leader != unit else "") + \
                (f" · {label}" if label and label != "unsorted" else "") + \
                (f" · error {error:.3f}" if error is not None else "")
            color = curation.color(cluster) if owners else unit_color(unit)
            self._styles[unit] = (cluster, color, cluster in selected)
        return owners

    def _update_titles(self) -> None:
        """Titles and colours, and the grid: the filters of hidden clusters leave it."""
        owners = self._titles_only()
        shown = set(self.controller.curation.shown_ids()) if owners else None
        self.shown_filters = [u for u in range(self.n_filters) if shown is None or owners.get(u, u) in shown]
        self._layout_cells()

    def _on_selection(self) -> None:
        """Titles in bold for the selected clusters, and their first filter scrolled into view."""
        self._titles_only()
        selected = set(self.controller.selected_units)
        cells = [i for i, u in enumerate(self.shown_filters) if self._styles[u][0] in selected]
        if cells and self.scrollbar.isVisible():
            first, last = self.first_filter(), self.first_filter() + len(self.plots)
            if not any(first <= i < last for i in cells):
                self.scrollbar.setValue(cells[0] // self._columns)  # _fill runs on the change
                return
        for cell, unit in enumerate(self.cell_filters):
            if unit >= 0:
                self._style_cell(cell, unit)
