"""The Motifs dock on a sorted session with two planted sequences: heat maps, raster marks, one run, errors."""
import numpy as np
import pytest

from motif_sessions import population_session
from qt_windows import CLOSE_TIMEOUT_MS, close_window, make_window

from app.views.motifs import NO_SPIKES
from app.views.motif_marks import motif_span

K = 2
SAMPLING_RATE = 1000.0  # 10 samples a bin: a small silent recording behind the session

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def session(tmp_path):
    path = tmp_path / "population.session.h5"
    population = population_session(path, minutes=3.0, with_recording=True, sampling_rate=SAMPLING_RATE)
    return path, population


@pytest.fixture
def window(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path)
    yield win
    close_window(qtbot, win)


def open_and_find(qtbot, win, session_path):
    view = win.motifs.view
    assert win.open_path(str(session_path))
    view.k_box.setValue(K)
    view.find_button.click()


def wait_idle(qtbot, motifs):
    qtbot.waitUntil(lambda: not motifs.running, timeout=CLOSE_TIMEOUT_MS)


def test_found_motifs_show_as_heat_maps_and_marks_on_the_raster(qtbot, window, session):
    path, population = session
    panel, controller = window.motifs, window.controller
    view, marks = panel.view, panel.marks
    assert not view.find_button.isEnabled() and view.status.text() == NO_SPIKES
    runs = []
    panel.controller.worker.done.connect(lambda: runs.append(1))

    open_and_find(qtbot, window, path)
    assert panel.controller.running and not view.find_button.isEnabled()
    view.find_button.click()
    assert not panel.controller.discover(view.config())  # a second run never starts while one goes on
    wait_idle(qtbot, panel.controller)
    qtbot.wait(200)
    assert len(runs) == 1

    result = panel.controller.found.result
    assert result.k == len(view.images) == len(view.plots) == K
    for index, image in enumerate(view.images):
        np.testing.assert_array_equal(image.image, result.motifs[index].T)
        assert f"{len(result.occurrences[index])} occurrences" in view.plots[index].titleLabel.text
    planted = [set(np.flatnonzero(m.max(axis=1))) for m in population.motifs]
    for motif in result.motifs:
        strongest = set(np.argsort(motif.max(axis=1))[-5:])
        assert max(len(strongest & units) for units in planted) >= 4  # each motif is one planted sequence

    items = window.raster.plot.getPlotItem().items
    assert len(marks.rows) == len(marks.bands) == K and all(item in items for item in marks.rows + marks.bands)
    n_units = controller.spikes.n_units
    for index, (row, motif) in enumerate(zip(marks.rows, result.motifs)):
        x, y = row.getData()
        first, stop = motif_span(motif)
        centres = (result.occurrences[index] + 0.5 * (first + stop)) * result.bin_ms / 1000
        np.testing.assert_allclose(x[::2], centres, rtol=1e-6)
        assert np.all(np.abs(y - (n_units + index)) < 0.5)  # a row of its own above the units
        assert len(result.occurrences[index]) > 0.6 * len(population.onsets[0])

    controller.set_lambda(controller.lam * 2)  # a re-sort: the motifs belonged to the old spikes
    qtbot.waitUntil(lambda: panel.controller.found is None and not marks.rows and not view.images,
                    timeout=CLOSE_TIMEOUT_MS)
    assert not any(item in window.raster.plot.getPlotItem().items for item in marks.bands)


def test_an_engine_error_shows_a_message_then_a_run_works_and_a_new_recording_clears_it(qtbot, window, session,
                                                                                      monkeypatch):
    path, _ = session
    panel, controller = window.motifs, window.controller

    def fail(counts, config, callback=None):
        raise RuntimeError("boom in motif discovery")

    monkeypatch.setattr("app.motifs_controller.discover_motifs", fail)
    with qtbot.waitSignal(controller.errorOccurred, timeout=CLOSE_TIMEOUT_MS):
        open_and_find(qtbot, window, path)
    wait_idle(qtbot, panel.controller)
    assert "boom in motif discovery" in window.last_error and "Traceback" not in window.last_error
    assert "Traceback" in window.log.toPlainText()
    assert panel.view.find_button.isEnabled() and panel.controller.found is None
    monkeypatch.undo()
    panel.view.find_button.click()
    qtbot.waitUntil(lambda: panel.controller.found is not None, timeout=CLOSE_TIMEOUT_MS)
    assert len(panel.view.images) == K

    assert controller.open_recording(controller.recording_path, **controller.recording_args)
    assert panel.controller.found is None and not panel.marks.rows and not panel.view.images
    assert not panel.view.find_button.isEnabled() and panel.view.status.text() == NO_SPIKES


def test_the_motifs_dock_has_a_view_entry_and_comes_back_with_the_default_layout(window):
    dock = window.motifs.dock
    window.actions["view_motifs"].setChecked(True)
    window.actions["view_motifs"].trigger()
    assert dock.isHidden()
    window.actions["reset_layout"].trigger()
    assert not dock.isHidden()
