"""The window corrects a drifting probe's motion on its own thread and shows it in the Drift map."""
import pytest

from engine.recording.motion import MotionCorrectedRecording
from qt_windows import close_window, make_window

pytest.importorskip("spikeinterface.generation")
MOTION_TIMEOUT_MS = 120_000


def test_a_drifting_probe_gets_its_motion_corrected_and_drawn_and_the_session_keeps_it(qtbot, tmp_path):
    from test_motion import drifting_probe

    recording, _ = drifting_probe(seconds=30.0)
    folder = tmp_path / "drifting"
    recording.save(folder=folder, format="binary", n_jobs=1, progress_bar=False)
    win = make_window(qtbot, tmp_path)
    try:
        c = win.controller
        assert win.drift_map.n_points == 0 and "No motion correction" in win.drift_map.note.text()
        assert c.open_recording(folder)
        assert c.motion.pending and "Estimating" in win.drift_map.note.text()
        qtbot.waitUntil(lambda: not c.motion.pending, timeout=MOTION_TIMEOUT_MS)
        assert c.motion.kind == "nonrigid" and c.motion.estimate is not None  # 300 um: two windows and more
        assert isinstance(c.recording, MotionCorrectedRecording)
        windows = len(c.motion.estimate.spatial_bins_um)
        assert win.drift_map.n_points > 1000 and win.drift_map.n_motion_lines == windows > 1  # one per window
        assert not win.drift_map.note.isVisible()
        drift = c.motion.estimate.displacement_um
        assert drift.max() - drift.min() > 30  # the generated zigzag spans 50 um
        c.filters = c.recording.traces(0, 60)[None, :, :].transpose(0, 2, 1).copy()  # any model will do
        c.lam = 1.0
        session = tmp_path / "drifting.session.h5"
        assert c.save_session(session)
    finally:
        close_window(qtbot, win)
    again = make_window(qtbot, tmp_path / "again")
    try:
        assert again.controller.load_session(str(session))
        motion = again.controller.motion
        assert not motion.pending and motion.kind == "nonrigid"
        assert isinstance(again.controller.recording, MotionCorrectedRecording)
        assert again.drift_map.n_points == win.drift_map.n_points
    finally:
        close_window(qtbot, again)
