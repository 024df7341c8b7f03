"""Similarity of the clusters' learned filters, and the merge suggestions from evidence (each with its
reason; the alike pairs not suggested follow, greyed, with why not); clicking one selects the pair."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QListWidget, QListWidgetItem, QSplitter

from app.views.cluster_view import ClusterView
from app.colors import NOISE_COLOR
from engine.curation.similarity import cluster_similarity, filter_similarity
from engine.curation.suggestions import CANDIDATE_SIMILARITY


class SimilarityView(ClusterView):
    wants_selection = False
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.image = pg.ImageItem()
        self.image.setLookupTable(pg.colormap.get("viridis").getLookupTable())
        self.plot.addItem(self.image)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.itemClicked.connect(self._on_suggestion)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.list)
        splitter.setSizes([220, 260])
        self.layout_.addWidget(splitter)
        self.ids: list[int] = []
        self.matrix = np.zeros((0, 0))
        self.suggestions: list = []  # engine.curation.suggestions.PairEvidence, the suggested ones
        self._filter_sim: tuple[int, np.ndarray] | None = None  # (controller.filters_version, its similarity)
        self.curation.measured.connect(self._list_evidence)

    def _filters_similarity(self) -> np.ndarray:
        version = self.controller.filters_version
        if self._filter_sim is None or self._filter_sim[0] != version:
            self._filter_sim = (version, filter_similarity(self.controller.filters))
        return self._filter_sim[1]

    def on_selection(self) -> None:
        self._mark_selection()  # the matrix depends on the curation only

    def refresh(self) -> None:
        filters, curation = self.controller.filters, self.curation.curation
        # training can remove a unit (engine.training.shifted_copies): wait for the sort with the new filters
        if filters is not None and curation is not None and curation.n_units == len(filters):
            super().refresh()

    def redraw(self, clusters):
        curation = self.curation.curation
        self.ids = curation.cluster_ids()
        self.matrix = cluster_similarity(self._filters_similarity(), {c: curation.filters_of(c) for c in self.ids})
        self.image.setImage(self.matrix.T, levels=(0.0, 1.0))
        ticks = [[(i + 0.5, str(c)) for i, c in enumerate(self.ids)]]
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setTicks(ticks)
        self._list_evidence()

    def _list_evidence(self) -> None:
        live = set(self.curation.shown_ids())
        evidence = [e for e in self.curation.evidence if e.a in live and e.b in live]
        self.suggestions = [e for e in evidence if e.suggested]
        self.list.clear()
        for e in evidence:
            head = f"merge {e.a} + {e.b}" if e.suggested else f"{e.a} + {e.b}"
            item = QListWidgetItem(f"{head}: {e.reason}")
            item.setToolTip(e.reason)
            item.setData(Qt.ItemDataRole.UserRole, [e.a, e.b])
            if not e.suggested:
                item.setForeground(QBrush(QColor(NOISE_COLOR).lighter(160)))
            self.list.addItem(item)
        if not evidence:
            self.list.addItem(f"No two units' mean waveforms are {CANDIDATE_SIMILARITY:.1f} alike or more: "
                              "nothing to merge." if self.curation.curation is not None else "")
        self._mark_selection()

    def _mark_selection(self) -> None:
        selected = set(self.controller.selected_units)
        for row in range(self.list.count()):
            item = self.list.item(row)
            pair = item.data(Qt.ItemDataRole.UserRole)
            item.setSelected(pair is not None and set(pair) == selected)

    def _on_suggestion(self, item: QListWidgetItem) -> None:
        pair = item.data(Qt.ItemDataRole.UserRole)
        if pair is not None:
            self.controller.set_selected_units(pair)
