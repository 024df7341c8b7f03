"""The Probe view: contacts where the recording's channels are, each unit at its filters' centre of mass;
a click on a unit selects it, its channels light up and can be chosen for the Traces."""
import numpy as np
import pytest
from PyQt6.QtCore import QPoint, Qt
from qt_windows import sorted_window

from engine.groundtruth.simulate import SimulationConfig


@pytest.fixture
def window(qtbot, tmp_path):
    with sorted_window(qtbot, tmp_path, SimulationConfig(minutes=0.2, units=3, channels=5, seed=3)) as win:
        win.docks["Probe"].raise_()
        yield win


def click_unit(qtbot, probe, cluster, modifier=Qt.KeyboardModifier.NoModifier):
    x, y = probe.positions[cluster]
    scene = probe.plot.getViewBox().mapViewToScene(pg_point(x, y))
    view = probe.plot.mapFromScene(scene)
    qtbot.mouseClick(probe.plot.viewport(), Qt.MouseButton.LeftButton, modifier, QPoint(int(view.x()), int(view.y())))


def pg_point(x, y):
    from PyQt6.QtCore import QPointF
    return QPointF(float(x), float(y))


def test_units_sit_on_their_channels_and_a_click_selects(qtbot, window):
    probe, c = window.probe, window.controller
    assert len(probe.contacts.data) == 5
    assert set(probe.positions) == {0, 1, 2}
    truth = c.recording.ground_truth.waveforms  # (units, channels, taps)
    for unit, (x, y) in probe.positions.items():
        loudest = int(np.abs(truth[unit]).max(axis=1).argmax())
        assert abs(y - c.recording.channel_positions[loudest, 1]) <= 30.0  # within a contact or so
    click_unit(qtbot, probe, 2)
    assert c.selected_units == [2]
    assert len(probe.highlighted) and probe.to_traces.isEnabled()
    highlighted = [b.color().name() for b in probe.contacts.data["brush"]]
    assert highlighted.count("#e8d44d") == len(probe.highlighted)
    click_unit(qtbot, probe, 0, Qt.KeyboardModifier.ControlModifier)
    assert c.selected_units == [0, 2]


def test_the_probe_chooses_the_traces_channels(qtbot, window):
    probe, c, traces = window.probe, window.controller, window.traces
    c.set_selected_units([1])
    chosen = list(probe.highlighted)
    assert 0 < len(chosen) < 5
    qtbot.mouseClick(probe.to_traces, Qt.MouseButton.LeftButton)
    assert c.trace_channels == chosen and list(traces.channels()) == chosen
    qtbot.waitUntil(lambda: "raw" in traces.envelopes and traces.envelopes["raw"][0].shape[1] == len(chosen))
    assert np.isfinite(traces.envelopes["raw"][0]).all() and traces._image.pixels().any()
    qtbot.mouseClick(probe.all_channels, Qt.MouseButton.LeftButton)
    assert c.trace_channels is None and len(traces.channels()) == 5
