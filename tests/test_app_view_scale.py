"""Views at many units: the Filters view builds only the plots on screen and scrolls to a selected unit,
the Traces' spike marks (one item, one style per cluster) follow a merge and the scrolled window, and
the Raster's ticks are the window's spikes."""
import numpy as np
import pytest
from PyQt6.QtCore import Qt
from qt_windows import close_window, make_window

from app.colors import unit_color
from app.views.filters import MAX_CHANNELS, drawn_channels
from engine.groundtruth.simulate import SimulationConfig, simulate_recording
from engine.sorting.sorter import SortResult

N_UNITS = 40


@pytest.fixture
def window(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path)
    win.resize(1400, 900)
    c = win.controller
    c.set_recording(simulate_recording(SimulationConfig(minutes=0.1, units=3, channels=8, seed=2)), None, {})
    rng = np.random.default_rng(0)
    rec = c.recording
    c.filters = rng.normal(size=(N_UNITS, rec.n_channels, 30)).astype(np.float32)
    c.lam = 1.0
    n = 20 * N_UNITS
    times = np.sort(rng.integers(0, rec.n_samples, n))
    c.spikes = SortResult(times, np.arange(n) % N_UNITS, np.ones(n, np.float32), rec.sampling_rate, N_UNITS)
    c.sorted_seconds = rec.duration
    c.filtersChanged.emit(c.filters)
    c.spikesChanged.emit(c.spikes)
    qtbot.waitUntil(lambda: win.filters.n_filters == N_UNITS and len(win.traces.mark_clusters) > 0, timeout=10_000)
    qtbot.wait(150)  # the Filters' grid laid out for the dock's size
    try:
        yield win
    finally:
        close_window(qtbot, win)


def test_the_filters_view_builds_the_plots_on_screen_and_scrolls_to_the_selected_unit(qtbot, window):
    view, c = window.filters, window.controller
    assert view.shown_filters == list(range(N_UNITS))
    assert 0 < len(view.plots) < N_UNITS and view.scrollbar.isVisible()
    on_screen = [u for u in view.cell_filters if u >= 0]
    assert on_screen == list(range(len(on_screen)))
    assert view.titles[N_UNITS - 3] == f"unit {N_UNITS - 3}"
    c.set_selected_units([N_UNITS - 3])
    assert N_UNITS - 3 in view.cell_filters  # scrolled into view
    cell = view.cell_filters.index(N_UNITS - 3)
    assert f"unit {N_UNITS - 3}" in view.plots[cell].titleLabel.text and view.plots[cell].isVisible()
    view.scrollbar.setValue(0)
    assert view.cell_filters[0] == 0


def test_a_filter_is_drawn_on_its_largest_channels():
    filt = np.zeros((384, 30), np.float32)
    filt[100:105, 10] = [1.0, -3.0, 0.5, 0.01, 2.0]
    assert list(drawn_channels(filt)) == [100, 101, 102, 104]  # 0.01 is under the floor
    assert len(drawn_channels(np.random.default_rng(0).normal(size=(384, 30)))) == MAX_CHANNELS
    assert list(drawn_channels(filt[:8])) == list(range(8))


def test_marks_and_filters_follow_a_merge_and_the_scrolled_window(qtbot, window):
    c, traces, raster = window.controller, window.traces, window.raster
    c.set_selected_units([0, 1])
    qtbot.keyClick(window, Qt.Key.Key_G)  # merge
    merged = N_UNITS
    assert window.filters.titles[0].startswith(f"unit {merged} (filter 0)")
    assert window.filters.titles[1].startswith(f"unit {merged} (filter 1)")
    clusters = set(traces.mark_clusters.tolist())
    assert merged in clusters and not clusters & {0, 1}
    colors = {color.name() for color in traces.mark_colors()}
    assert unit_color(merged).name() in colors and unit_color(0).name() not in colors
    heights = traces._spike_marks.sizes()
    assert heights[traces.mark_clusters == merged].min() > heights[traces.mark_clusters != merged].max()  # selected
    rate = c.recording.sampling_rate
    with qtbot.waitSignal(c.traceWindowLoaded, timeout=10_000):
        traces.set_x_range(2.0, 2.5)
    qtbot.waitUntil(lambda: traces._window is not None and traces._window.start == int(2.0 * rate), timeout=10_000)
    x, _ = traces._spike_marks.getData()
    seconds = c.spikes.times / rate
    inside = (seconds >= traces._window.start / rate) & (seconds < traces._window.stop / rate)
    assert len(x) == np.count_nonzero(inside) > 0 and np.all((x >= 2.0) & (x <= 2.5 + 1 / rate))
    ticks, rows = raster.ticks.getData()
    assert len(ticks) == np.count_nonzero((seconds >= 2.0) & (seconds <= 2.5))
    assert set(rows.astype(int).tolist()) <= set(range(len(raster.row_ids)))
