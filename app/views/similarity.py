"""Similarity of the clusters' learned filters, and merge suggestions; clicking a suggestion selects the pair."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QListWidget, QListWidgetItem, QSplitter

from app.views.cluster_view import ClusterView
from engine.curation.model import DELETED_LABEL
from engine.curation.similarity import cluster_similarity, filter_similarity, merge_suggestions


class SimilarityView(ClusterView):
    def __init__(self, controller, parent=None):
        super().__init__(controller, parent)
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.image = pg.ImageItem()
        self.image.setLookupTable(pg.colormap.get("viridis").getLookupTable())
        self.plot.addItem(self.image)
        self.list = QListWidget()
        self.list.itemClicked.connect(self._on_suggestion)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.list)
        splitter.setSizes([300, 140])
        self.layout_.addWidget(splitter)
        self.ids: list[int] = []
        self.matrix = np.zeros((0, 0))
        self.suggestions: list[tuple[int, int, float]] = []
        self._filter_sim: tuple[int, np.ndarray] | None = None  # (id of the filters array, its similarity)

    def _filters_similarity(self) -> np.ndarray:
        filters = self.controller.filters
        if self._filter_sim is None or self._filter_sim[0] != id(filters):
            self._filter_sim = (id(filters), filter_similarity(filters))
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
        noise = [c for c, label in curation.cluster_labels().items() if label == DELETED_LABEL]
        self.suggestions = merge_suggestions(self.matrix, self.ids, exclude=noise)
        self.list.clear()
        for a, b, value in self.suggestions:
            item = QListWidgetItem(f"merge {a} + {b}  ({value:.2f})")
            item.setData(Qt.ItemDataRole.UserRole, [a, b])
            self.list.addItem(item)
        self._mark_selection()

    def _mark_selection(self) -> None:
        selected = set(self.controller.selected_units)
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setSelected(set(item.data(Qt.ItemDataRole.UserRole)) == selected)

    def _on_suggestion(self, item: QListWidgetItem) -> None:
        self.controller.set_selected_units(item.data(Qt.ItemDataRole.UserRole))
