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


def similarity_matrix(filters, units, clusters, ids, filter_sim=None, positions=None) -> tuple[np.ndarray, np.ndarray]:
    """(filter similarity, cluster similarity over ``ids``): a cluster is as alike as its best filter; filters
    are compared only where their channels overlap on the probe (``positions``)."""
    filter_sim = filter_similarity(filters, positions) if filter_sim is None else filter_sim
    n = len(filters)
    pairs = np.unique(np.asarray(clusters, dtype=np.int64) * n + np.asarray(units, dtype=np.int64))
    held: dict[int, list[int]] = {}
    for cluster, unit in zip((pairs // n).tolist(), (pairs % n).tolist()):
        held.setdefault(cluster, []).append(unit)
    return filter_sim, cluster_similarity(filter_sim, {c: held.get(c, []) for c in ids})


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
        self._matrix_key = None  # what the last matrix job was computed from
        self.curation.measured.connect(self._list_evidence)

    def _draw_matrix(self, version: int, ids: list[int], filter_sim: np.ndarray, matrix: np.ndarray) -> None:
        if version != self.controller.filters_version or ids != self.curation.cluster_ids():
            return  # the filters or the clusters changed while it was computed: a newer job follows
        self._filter_sim, self.ids, self.matrix = (version, filter_sim), ids, matrix
        self.image.setImage(matrix.T, levels=(0.0, 1.0))
        ticks = [[(i + 0.5, str(c)) for i, c in enumerate(ids)]] if len(ids) <= 40 else None
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setTicks(ticks)

    def on_selection(self) -> None:
        self._mark_selection()  # the matrix depends on the curation only

    def refresh(self) -> None:
        filters, curation = self.controller.filters, self.curation.curation
        # training can remove a unit (engine.training.shifted_copies): wait for the sort with the new filters
        if filters is not None and curation is not None and curation.n_units == len(filters):
            super().refresh()

    def redraw(self, clusters):
        """The matrix is computed on the jobs thread (300 units' filters on 384 channels take seconds)."""
        curation, version = self.curation.curation, self.controller.filters_version
        ids = curation.cluster_ids()
        key = (version, curation, curation.revision, curation.times)  # holds the objects: no id() reused
        last = self._matrix_key
        if last is not None and last[0] == version and last[1] is curation and last[2] == curation.revision \
                and last[3] is curation.times:  # nothing the matrix depends on changed
            self._list_evidence()
            return
        self._matrix_key = key
        cached = self._filter_sim[1] if self._filter_sim is not None and self._filter_sim[0] == version else None
        recording = self.controller.recording
        positions = recording.channel_positions if recording is not None else None
        args = (self.controller.filters, curation.units, self.curation.spike_clusters(), ids, cached, positions)
        self.controller.jobs.submit("Comparing filters", lambda progress: similarity_matrix(*args),
                                    lambda result: self._draw_matrix(version, ids, *result), kind="similarity",
                                    lane="views")
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
