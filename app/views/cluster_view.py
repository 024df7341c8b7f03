"""Base of the views that judge the selected clusters: they redraw when the selection or the curation changes."""
from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget


MAX_CLUSTERS = 4  # more overlaid clusters are no longer readable
HINT = "Select units (Units table, Raster, Probe or Space) to see them here"


class ClusterView(QWidget):
    wants_selection = True  # the view draws the selected clusters (the Similarity view draws all)

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.curation = controller.curation
        self.shown: list[int] = []  # the clusters drawn last
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.hint = QLabel(HINT)
        self.hint.setStyleSheet("color: #9aa0b4; padding: 2px 6px")
        self.hint.setWordWrap(True)
        self.hint.hide()
        self.layout_.addWidget(self.hint)
        controller.selectionChanged.connect(lambda _: self.on_selection())
        self.curation.changed.connect(self.refresh)

    def selected_clusters(self) -> list[int]:
        live = set(self.curation.shown_ids())
        return [u for u in self.controller.selected_units if u in live][:MAX_CLUSTERS]

    def refresh(self) -> None:
        ready = self.controller.spikes is not None and self.curation.curation is not None
        self.shown = self.selected_clusters() if ready else []
        self.hint.setVisible(ready and not self.shown and self.wants_selection)
        self.redraw(self.shown)

    def on_selection(self) -> None:
        self.refresh()

    def redraw(self, clusters: list[int]) -> None:
        raise NotImplementedError

    # helpers the views share: the cluster's colour everywhere (grey once labelled noise)
    def pen(self, cluster: int, width: float = 1.0, alpha: int = 255):
        color = self.curation.color(cluster)
        color.setAlpha(alpha)
        return pg.mkPen(color, width=width)

    def brush(self, cluster: int, alpha: int = 255):
        color = self.curation.color(cluster)
        color.setAlpha(alpha)
        return pg.mkBrush(color)
