"""The Similarity view's merge suggestions on a sorted recording with known truth: none pairs two true
units, a unit split in two is suggested with its reasons, and clicking it selects the pair."""
import numpy as np
from PyQt6.QtCore import Qt
from qt_windows import CLOSE_TIMEOUT_MS, sorted_window

from engine.groundtruth.simulate import SimulationConfig


def test_a_split_unit_is_suggested_and_true_units_are_not(qtbot, tmp_path):
    with sorted_window(qtbot, tmp_path, SimulationConfig(minutes=0.5, seed=3)) as win:
        c, view = win.controller, win.curation_docks["Similarity"].widget()
        qtbot.waitUntil(lambda: not c.jobs.busy, timeout=CLOSE_TIMEOUT_MS)
        assert view.suggestions == []  # three true units: nothing to merge
        members = c.curation.spikes_of(1)
        c.set_selected_units([1])
        c.curation.select_spikes(np.random.default_rng(0).permutation(members)[:len(members) // 2])
        win.actions["split"].trigger()  # the user splits unit 1 in two at random: 1 and 3
        qtbot.waitUntil(lambda: [(e.a, e.b) for e in view.suggestions] == [(1, 3)], timeout=CLOSE_TIMEOUT_MS)
        first = view.list.item(0)
        assert first.text().startswith("merge 1 + 3") and "refractory dip" in first.text()
        c.set_selected_units([0])
        view.list.itemClicked.emit(first)
        assert c.selected_units == [1, 3]
        qtbot.keyClick(win, Qt.Key.Key_G)
        qtbot.waitUntil(lambda: not c.jobs.busy, timeout=CLOSE_TIMEOUT_MS)
        assert view.suggestions == [] and win.units.ids == [0, 2, 4]
