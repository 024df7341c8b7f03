"""The firing-motif part of the main window: the Motifs dock, its View entry and the marks on the raster."""
from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDockWidget

from app.motifs_controller import MotifsController
from app.views.motif_marks import MotifMarks
from app.views.motifs import MotifsView


@dataclass
class MotifsPanel:
    controller: MotifsController
    view: MotifsView
    dock: QDockWidget
    marks: MotifMarks


def install_motifs(window) -> MotifsPanel:
    """Add the Motifs dock (a tab behind Filters) and the raster's occurrence marks to the window."""
    motifs = MotifsController(window.controller)
    view = MotifsView(motifs)
    dock = QDockWidget("Motifs", window)
    dock.setObjectName("dock-Motifs")
    dock.setWidget(view)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.tabifyDockWidget(window.docks["Filters"], dock)
    window.docks["Filters"].raise_()
    window.actions.add_dock_toggle("Motifs", dock)
    return MotifsPanel(motifs, view, dock, MotifMarks(window.raster.plot, motifs))
