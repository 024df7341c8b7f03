"""Probe: the contacts (probeinterface geometry from the recording's channel positions) and each unit at
the centre of mass of its filters' energy, in its colour. Clicking a unit selects it (Ctrl adds to the
selection); the selected units' channels are highlighted and can be chosen for the Traces."""
from __future__ import annotations

import numpy as np
import probeinterface
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.curation.positions import filter_energy, unit_channels, unit_positions

CONTACT_BRUSH, HIGHLIGHT_BRUSH = pg.mkBrush("#3a3f4e"), pg.mkBrush("#e8d44d")
MIN_VIEW_UM = 120.0  # a tetrode or a single wire is not blown up to fill the view


def probe_of(positions: np.ndarray) -> probeinterface.Probe:
    """A probeinterface probe with square contacts at the channel positions, sized from their spacing."""
    positions = np.asarray(positions, dtype=float)
    spacing = 20.0
    if len(positions) > 1:
        gaps = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
        gaps[gaps == 0] = np.inf
        spacing = float(gaps.min())
    probe = probeinterface.Probe(ndim=2, si_units="um")
    probe.set_contacts(positions, shapes="square", shape_params={"width": 0.6 * spacing})
    return probe


class ProbeView(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.curation = controller.curation
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        self.plot.setLabel("left", "depth (µm)")
        self.plot.setLabel("bottom", "x (µm)")
        self.contacts = pg.ScatterPlotItem(pxMode=False, symbol="s", pen=pg.mkPen("#70768a"))
        self.units = pg.ScatterPlotItem(size=16, pen=pg.mkPen("#101014", width=1.5), hoverable=True)
        self.units.setZValue(10)
        self.units.sigClicked.connect(self._on_unit_clicked)
        self.plot.addItem(self.contacts)
        self.plot.addItem(self.units)
        self.to_traces = QPushButton("Traces: these channels")
        self.to_traces.setToolTip("Show only the selected units' channels in the Traces")
        self.all_channels = QPushButton("all channels")
        self.to_traces.clicked.connect(lambda: controller.set_trace_channels(self.highlighted))
        self.all_channels.clicked.connect(lambda: controller.set_trace_channels(None))
        self.note = QLabel("One channel: every unit sits on it.")
        self.note.setStyleSheet("color: #9aa0b4; padding: 2px 6px")
        self.note.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.to_traces)
        buttons.addWidget(self.all_channels)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.plot, 1)
        layout.addLayout(buttons)
        self.probe: probeinterface.Probe | None = None
        self.positions: dict[int, np.ndarray] = {}  # cluster -> (x, y)
        self.highlighted = np.zeros(0, np.int64)
        self._shown: tuple | None = None  # (ids, colours, positions) of the units drawn
        self._energy: tuple[int, np.ndarray] | None = None  # (controller.filters_version, filter_energy)
        controller.recordingChanged.connect(self._on_recording)
        controller.filtersChanged.connect(lambda _: self.refresh())
        self.curation.changed.connect(self.refresh)
        controller.selectionChanged.connect(lambda _: self._highlight())

    def _on_recording(self, rec) -> None:
        self.probe = probe_of(rec.channel_positions)
        width = self.probe.contact_shape_params[0]["width"]
        self.contacts.setData(pos=self.probe.contact_positions, size=width)
        lo, hi = self.probe.contact_positions.min(axis=0), self.probe.contact_positions.max(axis=0)
        centre, half = (lo + hi) / 2, np.maximum((hi - lo) / 2 + width, MIN_VIEW_UM / 2)
        self.plot.setRange(xRange=(centre[0] - half[0], centre[0] + half[0]),
                           yRange=(centre[1] - half[1], centre[1] + half[1]), padding=0.05)
        self.note.setVisible(rec.n_channels == 1)
        self.refresh()

    def energy(self) -> np.ndarray:
        """Each filter's energy per channel, once per filter update."""
        c = self.controller
        if self._energy is None or self._energy[0] != c.filters_version:
            self._energy = (c.filters_version, filter_energy(c.filters))
        return self._energy[1]

    def refresh(self) -> None:
        c = self.controller
        self.positions = {}
        if self.probe is not None and c.filters is not None and self.curation.curation is not None \
                and self.curation.curation.n_units == len(c.filters):
            held = self.curation.curation.cluster_filters()
            clusters = {k: held.get(k, []) for k in self.curation.shown_ids()}
            self.positions = unit_positions(self.energy(), self.probe.contact_positions, clusters)
        ids = list(self.positions)
        colors = [self.curation.color(k).rgba() for k in ids]
        points = np.array([self.positions[k] for k in ids]).reshape(-1, 2)
        shown = (ids, colors, points.tobytes())
        if shown != self._shown:  # a re-sort of the same clusters moves nothing: 300 symbols redrawn cost 40 ms
            self.units.setData(pos=points, data=ids, brush=[pg.mkBrush(self.curation.color(k)) for k in ids])
            self._shown = shown
        self._highlight()

    def _highlight(self) -> None:
        c = self.controller
        selected = [k for k in c.selected_units if k in self.positions]
        filters = sorted({f for k in selected for f in self.curation.curation.filters_of(k)}) if selected else []
        self.highlighted = np.sort(unit_channels(self.energy(), filters)) if filters else np.zeros(0, np.int64)
        if self.probe is not None:
            brushes = [CONTACT_BRUSH] * self.probe.get_contact_count()
            for ch in self.highlighted:
                brushes[ch] = HIGHLIGHT_BRUSH
            self.contacts.setBrush(brushes)
        self.units.setSize([22 if k in selected else 16 for k in self.positions] or 16)
        self.to_traces.setEnabled(len(self.highlighted) > 0)

    def select_at(self, cluster: int, add: bool = False) -> None:
        units = set(self.controller.selected_units) | {cluster} if add else {cluster}
        self.controller.set_selected_units(units)

    def _on_unit_clicked(self, _item, points, event) -> None:
        if len(points):
            add = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self.select_at(int(points[0].data()), add)
