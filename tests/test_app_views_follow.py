"""Every view follows the curation and the Traces' window: after a merge the Raster, the Traces, the
Filters and the Units table show the merged unit in its colour; noise is greyed or hidden; the Raster
shows the Traces' time window and its overview strip marks it."""
import numpy as np
import pytest
from PyQt6.QtCore import Qt
from qt_windows import sorted_window

from app.colors import NOISE_COLOR, unit_color
from engine.groundtruth.simulate import SimulationConfig


@pytest.fixture
def window(qtbot, tmp_path):
    with sorted_window(qtbot, tmp_path, SimulationConfig(minutes=0.2, seed=3)) as win:
        yield win


def mark_colors(win):
    return {color.name() for color in win.traces.mark_colors()}


def test_after_a_merge_the_raster_traces_and_filters_show_the_merged_unit(qtbot, window):
    c = window.controller
    qtbot.waitUntil(lambda: len(window.traces.mark_clusters) > 0, timeout=10_000)
    counts = c.curation.curation.counts()
    c.set_selected_units([0, 1])
    qtbot.keyClick(window, Qt.Key.Key_G)  # merge
    assert window.raster.row_ids == [2, 3]
    assert window.raster.spike_counts == [counts[2], counts[0] + counts[1]]
    assert set(window.traces.mark_clusters) <= {2, 3} and 3 in set(window.traces.mark_clusters)
    assert unit_color(3).name() in mark_colors(window) and unit_color(0).name() not in mark_colors(window)
    assert window.filters.titles[0].startswith("unit 3 (filter 0)") and window.filters.titles[1].startswith("unit 3")
    assert window.units.ids == [2, 3]


def test_noise_is_greyed_everywhere_or_hidden_when_the_user_chooses(qtbot, window):
    c = window.controller
    qtbot.waitUntil(lambda: len(window.traces.mark_clusters) > 0, timeout=10_000)
    c.set_selected_units([1])
    window.actions["label_noise"].trigger()
    assert NOISE_COLOR in mark_colors(window)
    assert window.raster.row_pen(1).color().name() == NOISE_COLOR
    assert "noise" in window.filters.titles[1]
    window.actions["hide_noise"].trigger()
    assert window.raster.row_ids == [0, 2] and 1 not in set(window.traces.mark_clusters)
    assert window.units.shown_rows() == [0, 2] and 1 not in window.filters.shown_filters
    window.actions["hide_noise"].trigger()
    assert window.raster.row_ids == [0, 1, 2] and window.units.shown_rows() == [0, 1, 2]


def test_the_raster_shows_and_follows_the_traces_window(qtbot, window):
    traces, raster = window.traces, window.raster
    traces.set_x_range(2.0, 3.0)
    assert np.allclose(raster.window(), (2.0, 3.0))
    assert np.allclose(raster.band.getRegion(), (2.0, 3.0))
    x, _ = raster.ticks.getData()
    spikes = window.controller.spikes
    seconds = spikes.times / spikes.sampling_rate
    assert len(x) == np.count_nonzero((seconds >= 2.0) & (seconds <= 3.0)) > 0  # the window's spikes only
    traces.zoom(0.5)
    traces.scroll(1.0)
    assert np.allclose(raster.window(), traces.x_range())
    raster.band.setRegion((5.0, 5.5))  # dragging the window on the overview strip moves the Traces too
    assert np.allclose(traces.x_range(), (5.0, 5.5))
    edges, density = raster.density.getData()
    assert density.sum() > 0 and edges[-1] == pytest.approx(window.controller.recording.duration, rel=0.02)
