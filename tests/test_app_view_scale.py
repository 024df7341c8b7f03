"""Views at many units: the Filters view builds only the plots on screen and scrolls to a selected unit,
the Traces' spike marks (one item, one style per cluster) follow a merge and the scrolled window, and
the Raster's ticks are the window's spikes; a selection's waveforms are read off the GUI thread, even
while the units are measured; the Probe view and the Units table follow the spikes and a merge."""
import threading

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QComboBox
from qt_windows import close_window, make_window

from app.colors import unit_color
from app.views import waveforms as waveforms_module
from app.views.filters import MAX_CHANNELS, drawn_channels
from app.views.units import COLUMNS
from engine.curation.features import read_snippets, sample_spikes
from engine.curation.local import nearby_channels
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
    amplitudes = rng.uniform(1.0, 3.0, n).astype(np.float32)
    c.spikes = SortResult(times, np.arange(n) % N_UNITS, amplitudes, rec.sampling_rate, N_UNITS)
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


def test_a_selections_waveforms_are_read_off_the_gui_thread_while_the_units_are_measured(qtbot, window, monkeypatch):
    c, view = window.controller, window.curation_docks["Waveforms"].widget()
    readers = []

    def recording_reader(*args):
        readers.append(threading.current_thread() is threading.main_thread())
        return read_snippets(*args)

    monkeypatch.setattr(waveforms_module, "read_snippets", recording_reader)
    gate = threading.Event()
    c.jobs.submit("Measuring (held)", lambda progress: gate.wait(20), kind="held")  # long work in flight
    try:
        unit = 7
        c.set_selected_units([unit])
        assert view.computing and unit not in view.means  # nothing read yet on the GUI thread
        qtbot.waitUntil(lambda: unit in view.means, timeout=10_000)
        assert not gate.is_set() and readers and not any(readers)  # read on the views' thread, not after the work
        peak = int((c.filters[unit] ** 2).sum(axis=1).argmax())
        near = nearby_channels(c.recording.channel_positions, peak)
        assert len(view.channels) == 4 and set(view.channels) <= set(near)
        times = c.spikes.times[sample_spikes(c.curation.spikes_of(unit), waveforms_module.SHOWN_SPIKES, unit)]
        np.testing.assert_allclose(view.means[unit], read_snippets(c.recording, times, view.channels).mean(axis=0),
                                   atol=1e-4)
        c.set_selected_units([3])
        c.set_selected_units([5])  # the answer for unit 3, if it comes, is dropped
        qtbot.waitUntil(lambda: 5 in view.means, timeout=10_000)
        assert list(view.means) == [5]
    finally:
        gate.set()


def test_the_probe_and_the_units_table_follow_the_spikes_and_a_merge(qtbot, window):
    c, probe, units = window.controller, window.probe, window.units
    positions = c.recording.channel_positions
    energy = (c.filters.astype(np.float64) ** 2).sum(axis=2)

    def centre(filters):
        weights = energy[filters].sum(axis=0)
        return weights @ positions / weights.sum()

    assert sorted(probe.positions) == list(range(N_UNITS))
    for unit in range(N_UNITS):
        np.testing.assert_allclose(probe.positions[unit], centre([unit]))
    spikes = c.spikes
    assert units.ids == list(range(N_UNITS))
    assert units.count_column() == np.bincount(spikes.units, minlength=N_UNITS).tolist()
    amplitude = units.model.index(4, COLUMNS.index("amp."))
    assert units.model.data(amplitude) == f"{spikes.amplitudes[spikes.units == 4].mean():.1f}"
    c.set_selected_units([0, 1])
    qtbot.keyClick(window, Qt.Key.Key_G)  # merge
    merged = N_UNITS
    assert merged in probe.positions and 0 not in probe.positions
    np.testing.assert_allclose(probe.positions[merged], centre([0, 1]))
    assert units.ids == [*range(2, N_UNITS), merged] and units.count_column()[-1] == 40
    label = units.model.index(len(units.ids) - 1, COLUMNS.index("label"))
    units.table.edit(label)  # a double-click opens the labels' box
    box = units.table.viewport().findChild(QComboBox)
    box.setCurrentText("good")
    box.activated.emit(box.currentIndex())
    assert c.curation.curation.label_of(merged) == "good" and units.labels()[-1] == "good"


def test_an_amplitude_band_says_whose_filter_it_shares(qtbot, window):
    view, c = window.filters, window.controller
    c.filters = c.filters.copy()
    c.filters[N_UNITS - 1] = c.filters[2]  # the last unit is a band of unit 2 (engine.model.amplitude_bands)
    c.filtersChanged.emit(c.filters)
    qtbot.waitUntil(lambda: "band of 2" in view.titles.get(N_UNITS - 1, ""), timeout=5_000)
    assert "band" not in view.titles[2] and "band" not in view.titles[N_UNITS - 2]


def test_the_raster_labels_its_rows_with_unit_ids_that_do_not_overlap(qtbot, window):
    raster = window.raster
    box = raster.plot.getViewBox()

    def labels():
        major, _ = raster.plot.getAxis("left")._tickLevels
        return major

    raster.plot.setFixedHeight(200)  # 40 rows in about 150 px: not every row has room for its label
    qtbot.waitUntil(lambda: box.height() < 200, timeout=5_000)
    shown = labels()
    assert 1 < len(shown) < N_UNITS
    rows = [row for row, _ in shown]
    assert all(text == str(raster.row_ids[row]) for row, text in shown)  # the units' ids, not row numbers
    px_per_row = box.height() / (np.ptp(box.viewRange()[1]))
    assert min(np.diff(rows)) * px_per_row >= 12
    raster.plot.setFixedHeight(1400)  # room for every label
    qtbot.waitUntil(lambda: len(labels()) == N_UNITS, timeout=5_000)
