"""How the window feels: lambda change -> redrawn visible window, and scrolling a long wide file.

    QT_QPA_PLATFORM=offscreen python benchmarks/app_latency.py [--trials 20] [--frames 100]

1. On the demo data set (3 units, 10 kHz, 17 min, simulated in memory), after a short training:
   the time from ``Controller.set_lambda`` to the trace view's spikes redrawn for the new lambda
   (the visible window's re-sort arrives, the view redraws and repaints), with no background sort
   and no job (quality metrics, merge evidence) in flight.
2. On a one-hour, 384-channel, 30 kHz int16 file (a sparse file: no disk space, reads hit no disk),
   scrolling the trace view by a tenth of its width per frame: the GUI thread's time per frame
   (the scroll, the redraw of 384 decimated channels and their painting, ``painted``) and the latency from the
   scroll to the new window on screen (including the read on the loader thread).
3. The same two with 300 units (``--units 300``): the lambda change on 10 simulated seconds of 300 units
   on 384 channels sorted with their true waveforms (each on the channels within the filters' radius of
   its peak, as training leaves them), and the scrolling with 300 random filters and an
   hour of 5 Hz spikes for each (5.4 M spikes) in the Traces, the Raster and the Units table; and the
   GUI thread's time for the Filters view to show the 300 filters when they arrive (built, drawn).
   ``--noise`` writes Gaussian noise (sigma 30 steps) into the stretch scrolled through, so the 384
   channels' path is drawn from traces that move (the sparse file alone is zeros: flat lines).
4. With ``--units`` and ``--selections N``, after the scrolling: the GUI thread's time for the spikes'
   arrival (``spikesChanged``: every view that follows the curation, and the repaint), the Probe view's
   and the Units table's refresh alone, and N selections of one unit: the GUI thread's time for the
   selection (every view, repaint) and the time until the Waveforms view shows the unit's waveforms
   (read on a jobs thread).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PyQt6.QtCore import QSettings  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from engine.groundtruth.simulate import SimulationConfig, simulate_recording  # noqa: E402
from engine.model.filter_shape import filter_support  # noqa: E402
from engine.recording.noise import universal_lambda  # noqa: E402
from engine.sorting.sorter import SortResult  # noqa: E402
from engine.training.trainer import TrainConfig  # noqa: E402


def wait_until(condition, timeout=120.0):
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not reach the expected state")
        QApplication.processEvents()
        time.sleep(0.0005)


def new_window() -> MainWindow:
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)  # the default layout, not the user's
    window.resize(1600, 1000)
    window.show()
    return window


def lambda_latency(trials: int, n_units: int = 0) -> list[float]:
    window = new_window()
    c = window.controller
    progress = {"percent": 0}
    c.sortProgress.connect(lambda p: progress.__setitem__("percent", p))
    if n_units:  # many units: their true waveforms on their neighbourhoods as filters (as training leaves
        # them), no training; on a probe as long as a Neuropixels column (384 channels 20 um apart)
        c.set_recording(simulate_recording(SimulationConfig(minutes=1 / 6, units=n_units, channels=384,
                                                            rate_hz=5.0)), None, {})
        waveforms = c.recording.ground_truth.waveforms.astype(np.float32)
        support = filter_support(waveforms, c.recording.channel_positions)
        c.filters = waveforms * support[:, :, None]
        c.lam = universal_lambda(float(c.noise_sigma.max()), len(c.filters), int(c.recording.sampling_rate))
        c.filtersChanged.emit(c.filters)
        c.sort_all()
    else:
        c.set_recording(simulate_recording(SimulationConfig()), None, {})
        c.start_training(TrainConfig(n_units=3, max_steps=8, device="cpu"))
    wait_until(lambda: c.training_state == "idle" and c.spikes is not None and progress["percent"] == 100, 600)
    wait_until(lambda: c.curation.settled and not c.jobs.busy, 600)
    base = c.lam
    latencies = []
    for i in range(trials):
        progress["percent"] = 0
        changed = {"n": 0}
        slot = lambda _: changed.__setitem__("n", changed["n"] + 1)  # noqa: E731
        c.spikesChanged.connect(slot)
        start = time.perf_counter()
        c.set_lambda(base * (0.7 if i % 2 == 0 else 1.4))
        wait_until(lambda: changed["n"] >= 1)  # the visible window's re-sort, drawn by the trace view
        window.traces.plot.repaint()
        latencies.append(time.perf_counter() - start)
        c.spikesChanged.disconnect(slot)
        wait_until(lambda: progress["percent"] == 100, 600)  # let the background sort finish ...
        wait_until(lambda: c.curation.settled and not c.jobs.busy, 600)  # ... and the units' measurements
    window.close()
    wait_until(lambda: c.finished, 60)
    return latencies


def fake_sorting(c, n_units: int, rng=np.random.default_rng(0)) -> None:
    """n_units random filters and 5 Hz of spikes for each over the whole recording, shown as sorted."""
    rec = c.recording
    c.filters = rng.normal(size=(n_units, rec.n_channels, 30)).astype(np.float32)
    c.lam = 1.0
    n = int(5.0 * rec.duration) * n_units
    times = np.sort(rng.integers(0, rec.n_samples, n))
    c.spikes = SortResult(times, rng.integers(0, n_units, n), np.ones(n, np.float32), rec.sampling_rate, n_units)
    c.sorted_seconds = rec.duration
    c.filtersChanged.emit(c.filters)
    c.spikesChanged.emit(c.spikes)


def painted(action) -> float:
    """GUI-thread seconds of ``action`` and of painting what it changed: the plots' scenes are updated and
    painted by the event loop (``QWidget.repaint`` alone paints a plot before its scene has the new data,
    so it left out building and drawing the traces' path)."""
    start = time.perf_counter()
    action()
    for _ in range(2):  # the scene's dirty items, then the widgets they mark dirty
        QApplication.processEvents()
    return time.perf_counter() - start


def gui_time(action, repaint) -> float:
    start = time.perf_counter()
    action()
    repaint()
    return time.perf_counter() - start


def arrival_and_selection(window, selections: int) -> None:
    """The GUI thread's time for the spikes' arrival and a unit's selection, and the selection's waveforms."""
    c = window.controller
    arrivals = [gui_time(lambda: c.spikesChanged.emit(c.spikes), window.repaint) for _ in range(3)]
    probe = [gui_time(window.probe.refresh, window.probe.repaint) for _ in range(3)]
    units = [gui_time(window.units.refresh, window.units.repaint) for _ in range(3)]
    print(f"{c.spikes.n_units} units: the spikes arrive, GUI thread:", describe(arrivals), "; the Probe view:",
          describe(probe), "; the Units table:", describe(units), f"load {os.getloadavg()}", flush=True)
    waveforms = window.curation_docks["Waveforms"].widget()
    selected, shown = [], []
    for k in range(selections):
        unit = (37 * k + 5) % c.spikes.n_units
        start = time.perf_counter()
        selected.append(gui_time(lambda: c.set_selected_units([unit]), window.repaint))
        wait_until(lambda: unit in waveforms.means, 600)
        window.repaint()
        shown.append(time.perf_counter() - start)
    print(f"{c.spikes.n_units} units: selecting a unit, GUI thread:", describe(selected),
          "; selection -> its waveforms shown:", describe(shown), f"load {os.getloadavg()}", flush=True)


def scrolling(frames: int, n_units: int = 0, noise: bool = False,
              selections: int = 0) -> tuple[list[float], list[float]]:
    fs, channels, seconds = 30_000, 384, 3600
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "hour_384ch.dat")
    with open(path, "wb") as fh:
        fh.truncate(fs * seconds * channels * 2)
        if noise:  # the seconds scrolled through (from 600 s, a tenth of a 1 s window a frame)
            block = np.random.default_rng(1).normal(0, 30, (fs, channels)).astype(np.int16).tobytes()
            for second in range(599, 602 + int(np.ceil(frames / 10))):
                fh.seek(second * fs * channels * 2)
                fh.write(block)
    window = new_window()
    c = window.controller
    assert c.open_recording(path, sampling_rate=fs, n_channels=channels, dtype="int16", estimate_motion=False)
    if n_units:
        fake_sorting(c, n_units)
        # measured while the 300 units' quality metrics and merge evidence are computed (in a process)
        own, every = [], []
        for _ in range(3):  # a new filters array for the same units, as while training
            start = time.perf_counter()
            window.filters.show_filters(c.filters.copy())  # the Filters view alone
            window.filters.canvas.repaint()
            own.append(time.perf_counter() - start)
            start = time.perf_counter()
            c.filtersChanged.emit(c.filters.copy())  # every view that follows the filters
            window.repaint()
            every.append(time.perf_counter() - start)
        print(f"{n_units} units: new filters, the Filters view:", describe(own), "; all views:", describe(every),
              flush=True)
    traces = window.traces
    loaded = {"n": 0}
    c.traceWindowLoaded.connect(lambda _: loaded.__setitem__("n", loaded["n"] + 1))
    wait_until(lambda: loaded["n"] >= 1)
    traces.set_x_range(600.0, 601.0)
    gui_times, latencies = [], []
    for _ in range(frames):
        before = loaded["n"]
        start = time.perf_counter()
        scroll_cost = painted(lambda: traces.scroll(0.1))
        wait_until(lambda: loaded["n"] > before)
        latencies.append(time.perf_counter() - start)
        gui_times.append(scroll_cost + painted(traces._redraw))  # the redraw ran in the loaded handler: again
    if n_units and selections:
        arrival_and_selection(window, selections)
    label = (f"{n_units} units: " if n_units else "") + ("noise: " if noise else "")
    if frames:
        print(f"{label}scrolling 1 h x 384 channels, GUI thread per frame:", describe(gui_times), flush=True)
        print(f"{label}scrolling 1 h x 384 channels, scroll -> new window drawn:", describe(latencies),
              f"load {os.getloadavg()}", flush=True)
    window.close()
    wait_until(lambda: c.finished, 900)  # a measurement of 300 units on the jobs thread ends first
    os.remove(path)
    return gui_times, latencies


def describe(values: list[float]) -> str:
    ms = np.array(values) * 1000
    return (f"median {statistics.median(ms):.1f} ms, 90th percentile {np.percentile(ms, 90):.1f} ms, "
            f"max {ms.max():.1f} ms (n={len(ms)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--units", type=int, default=0, help="also measure with this many units (e.g. 300)")
    parser.add_argument("--noise", action="store_true", help="noise, not zeros, in the stretch scrolled through")
    parser.add_argument("--selections", type=int, default=0,
                        help="with --units: time the spikes' arrival and this many selections of a unit")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Qt platform {app.platformName()}, "
          f"load {os.getloadavg()}")
    if args.trials:
        print("lambda change -> visible window re-sorted and redrawn:", describe(lambda_latency(args.trials)))
    if args.frames:
        scrolling(args.frames, noise=args.noise)
    if args.units:
        if args.trials:
            print(f"{args.units} units: lambda change -> visible window re-sorted and redrawn:",
                  describe(lambda_latency(args.trials, args.units)))
        if args.frames or args.selections:
            scrolling(args.frames, args.units, noise=args.noise, selections=args.selections)


if __name__ == "__main__":
    main()
