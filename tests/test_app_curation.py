"""Curation in the window: keys merge, split and label the selected units, every view follows, undo restores."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PyQt6.QtCore import Qt  # noqa: E402

from qt_windows import close_window, make_window, sort_with_true_filters  # noqa: E402
from engine.curation.journal import journal_path, read_journal  # noqa: E402
from engine.groundtruth.simulate import SimulationConfig, write_simulation  # noqa: E402

torch.set_num_threads(1)
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def recording_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("curation") / "rec.h5"
    write_simulation(path, SimulationConfig(minutes=0.25, seed=1))
    return str(path)


@pytest.fixture
def window(qtbot, tmp_path, recording_path):
    win = make_window(qtbot, tmp_path)
    sort_with_true_filters(qtbot, win, recording_path)
    yield win
    close_window(qtbot, win)


def judging_views(win):
    return [dock.widget() for dock in win.curation_docks.values()]


def press(qtbot, win, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(win, key, modifier)


def test_keys_merge_label_undo_and_redo_and_every_view_follows(qtbot, window):
    c = window.controller
    total = len(c.spikes)
    assert window.units.ids == [0, 1, 2] and sum(window.units.count_column()) == total
    c.set_selected_units([0, 2])
    assert all(view.shown == [0, 2] for view in judging_views(window) if view is not window.curation_docks[
        "Similarity"].widget())
    assert set(window.curation_docks["Correlograms"].widget().counts) == {(0, 0), (0, 2), (2, 0), (2, 2)}
    press(qtbot, window, Qt.Key.Key_G)  # merge
    assert window.units.ids == [1, 3] and c.selected_units == [3]
    assert sum(window.units.count_column()) == total
    for view in judging_views(window):
        if view is not window.curation_docks["Similarity"].widget():
            assert view.shown == [3]
    qtbot.waitUntil(lambda: window.curation_docks["Similarity"].widget().ids == [1, 3], timeout=TIMEOUT_MS)
    merged_count = window.units.count_column()[1]
    assert window.curation_docks["Amplitudes"].widget().counts[3] == merged_count
    press(qtbot, window, Qt.Key.Key_G, Qt.KeyboardModifier.AltModifier)  # label good
    assert window.units.labels() == ["unsorted", "good"]
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the label
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the merge
    assert window.units.ids == [0, 1, 2] and c.selected_units == [0, 2]
    assert window.units.labels() == ["unsorted"] * 3
    assert all(view.shown == [0, 2] for view in judging_views(window)[:2])
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.units.ids == [1, 3] and c.selected_units == [3]


def test_lasso_in_the_amplitude_view_then_split_key(qtbot, window):
    c, amplitudes = window.controller, window.curation_docks["Amplitudes"].widget()
    c.set_selected_units([1])
    before = window.units.count_column()[1]
    half = c.recording.duration / 2
    amplitudes.lasso(np.array([[0.0, -1e9], [half, -1e9], [half, 1e9], [0.0, 1e9]]))
    chosen = c.curation.spike_selection
    assert 0 < len(chosen) < before
    press(qtbot, window, Qt.Key.Key_K)  # split
    assert window.units.ids == [0, 1, 2, 3] and c.selected_units == [1, 3]
    assert window.units.count_column()[1:] == [before - len(chosen), window.units.count_column()[2],
                                               len(chosen)]
    assert window.curation_docks["Firing rate"].widget().rates[3][-1] == 0.0  # the split-off half is early
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.units.ids == [0, 1, 2] and window.units.count_column()[1] == before


def test_feature_lasso_recluster_next_unit_and_noise(qtbot, window):
    c = window.controller
    c.set_selected_units([0])
    features = window.curation_docks["Features"].widget()
    qtbot.waitUntil(lambda: len(features.features) == window.units.count_column()[0], timeout=TIMEOUT_MS)
    features.lasso(np.array([[0.0, -1e9], [1e9, -1e9], [1e9, 1e9], [0.0, 1e9]]))  # PC 1 > 0
    chosen = c.curation.spike_selection
    assert 0 < len(chosen) < len(features.features) and np.all(np.isin(chosen, c.curation.spikes_of(0)))
    press(qtbot, window, Qt.Key.Key_K, Qt.KeyboardModifier.ShiftModifier)  # re-cluster into two (jobs thread)
    qtbot.waitUntil(lambda: window.units.ids == [0, 1, 2, 3], timeout=TIMEOUT_MS)
    assert c.selected_units == [0, 3]
    press(qtbot, window, Qt.Key.Key_Space)
    assert c.selected_units == [0]  # after the last unit (3) comes the first
    press(qtbot, window, Qt.Key.Key_Space)
    assert c.selected_units == [1]
    press(qtbot, window, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    assert window.units.labels()[1] == "noise"
    assert c.curation.curation.cluster_labels()[1] == "noise"
    qtbot.waitUntil(lambda: set(c.curation.quality) == {0, 1, 2, 3}, timeout=TIMEOUT_MS)  # on the jobs thread
    assert all(q.presence_ratio > 0.5 for q in c.curation.quality.values())


def test_actions_are_journaled_and_a_reopened_session_has_them(qtbot, tmp_path, window):
    c = window.controller
    session = str(tmp_path / "rec.session.h5")
    assert c.save_session(session)
    c.set_selected_units([0, 1])
    window.actions["merge"].trigger()
    window.actions["label_mua"].trigger()
    _, entries = read_journal(journal_path(session))
    assert [e["op"] for e in entries][-2:] == ["merge", "label"]
    labels = c.curation.curation.cluster_labels()
    # no save: a second window (as after a crash) replays the journal onto the saved session
    other = make_window(qtbot, tmp_path)
    try:
        assert other.open_path(session)
        qtbot.waitUntil(lambda: other.units.ids == [2, 3], timeout=TIMEOUT_MS)
        assert other.controller.curation.curation.cluster_labels() == labels
        other.actions["save_session"].trigger()  # saves to the session in use, no dialog
        assert read_journal(journal_path(session))[1] == []  # saving folded the journal into the session
    finally:
        close_window(qtbot, other)


def test_units_split_by_drift_arrive_merged_once_and_an_undo_stays(qtbot, window):
    import dataclasses

    from engine.sorting.same_neuron import NOTE

    c = window.controller
    split = dataclasses.replace(c.spikes, merges=[[0, 2]])  # as a whole sort that found them reports them
    c.spikes = split
    c.spikesChanged.emit(split)
    assert window.units.ids == [1, 3]
    assert c.curation.curation.note_of(3) == NOTE and c.curation.curation.filters_of(3) == [0, 2]
    model = window.units.model
    assert model.data(model.index(window.units.ids.index(3), 0), Qt.ItemDataRole.ToolTipRole) == NOTE
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo takes it back
    assert window.units.ids == [0, 1, 2]
    again = dataclasses.replace(c.spikes, merges=[[0, 2]])  # the next sort of the same filters
    c.spikes = again
    c.spikesChanged.emit(again)
    assert window.units.ids == [0, 1, 2]  # the user kept them apart
