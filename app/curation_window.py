"""The curation part of the main window: the judging views' docks and the curation keys."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDockWidget

from app.views.amplitudes import AmplitudeView
from app.views.correlograms import CorrelogramView
from app.views.features import FeatureView
from app.views.firing_rate import FiringRateView
from app.views.isi import IsiView
from app.views.similarity import SimilarityView
from app.views.waveforms import WaveformView

VIEWS = (("Waveforms", WaveformView), ("Features", FeatureView), ("Similarity", SimilarityView),
         ("Amplitudes", AmplitudeView), ("ISI", IsiView), ("Correlograms", CorrelogramView),
         ("Firing rate", FiringRateView))


def install_curation(window) -> dict[str, QDockWidget]:
    """Add the judging views (under the Filters, in the right column) and the curation actions to the window."""
    docks = {}
    right = Qt.DockWidgetArea.RightDockWidgetArea
    for name, view_class in VIEWS:
        dock = QDockWidget(name, window)
        dock.setObjectName(f"dock-{name}")
        dock.setWidget(view_class(window.controller))
        window.addDockWidget(right, dock)
        docks[name] = dock
    window.splitDockWidget(window.docks["Filters"], docks["Waveforms"], Qt.Orientation.Vertical)
    window.splitDockWidget(docks["Waveforms"], docks["Amplitudes"], Qt.Orientation.Vertical)
    for first, *others in (("Waveforms", "Features", "Similarity"), ("Amplitudes", "ISI", "Correlograms",
                                                                      "Firing rate")):
        for other in others:
            window.tabifyDockWidget(docks[first], docks[other])
        docks[first].raise_()
    _add_actions(window, docks)
    return docks


def _add_actions(window, docks) -> None:
    add, curation = window.actions.add, window.controller.curation
    add("merge", "&Curation", "&Merge selected units", "G", lambda: curation.merge())
    add("split", "&Curation", "&Split unit by the selected spikes", "K", curation.split)
    add("recluster", "&Curation", "Split unit by &re-clustering", "Shift+K", lambda: curation.recluster())
    add("recluster_kds", "&Curation", "Split unit by re-clustering along curves (K-deep simplex)", "Shift+Alt+K",
        lambda: curation.recluster("kds"))
    for label, key in (("good", "Alt+G"), ("mua", "Alt+M"), ("noise", "Alt+N")):
        add(f"label_{label}", "&Curation", f"Label {label}", key, lambda _=False, x=label: curation.label(x))
    add("undo", "&Curation", "&Undo", "Ctrl+Z", curation.undo)
    add("redo", "&Curation", "&Redo", "Ctrl+Shift+Z", curation.redo)
    add("next_unit", "&Curation", "Next unit", "Space", lambda: curation.step_selection(1))
    add("previous_unit", "&Curation", "Previous unit", "Shift+Space", lambda: curation.step_selection(-1))
    for name, dock in docks.items():
        window.actions.add_dock_toggle(name, dock)
