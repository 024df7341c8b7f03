"""A λ change re-sorts the window on screen first: the Traces and the Raster show its spikes at once, and
the views of whole units (Units table, Probe, Filters, judging views) wait for the whole recording's sort."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from qt_windows import CLOSE_TIMEOUT_MS, sorted_window  # noqa: E402
from engine.groundtruth.simulate import SimulationConfig  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _in_window(win, spikes) -> np.ndarray:
    lo, hi = win.raster.window()
    seconds = spikes.times / spikes.sampling_rate
    return (seconds >= lo) & (seconds < hi)


def test_a_window_resort_reaches_the_traces_and_raster_and_the_whole_sort_the_units(qtbot, tmp_path):
    with sorted_window(qtbot, tmp_path, SimulationConfig(minutes=0.25, seed=4)) as win:
        c, curation = win.controller, win.controller.curation
        counts_before = win.units.count_column()
        events = []
        curation.changed.connect(lambda: events.append(("changed", c.spikes_spliced)))
        curation.windowChanged.connect(lambda: events.append(("window", c.spikes_spliced)))
        with qtbot.waitSignal(curation.windowChanged, timeout=CLOSE_TIMEOUT_MS):
            c.set_lambda(c.lam * 2.0)  # fewer spikes pass
        assert events == [("window", True)]
        on_screen = int(_in_window(win, c.spikes).sum())
        assert on_screen > 0
        assert len(win.raster.ticks.x) == on_screen  # the window's new spikes, one tick each
        assert len(win.traces.mark_colors()) == int(
            ((c.spikes.times >= win.traces._window.start) & (c.spikes.times < win.traces._window.stop)).sum())
        assert win.units.count_column() == counts_before  # the whole units' figures wait for the whole sort
        qtbot.waitUntil(lambda: ("changed", False) in events, timeout=CLOSE_TIMEOUT_MS)
        whole = np.bincount(curation.spike_clusters(), minlength=len(counts_before))
        assert win.units.count_column() == [int(whole[k]) for k in win.units.ids]
        assert sum(win.units.count_column()) < sum(counts_before)
