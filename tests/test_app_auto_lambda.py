"""The λ "auto" switch: training learns λ by EM, the λ box follows the snapshots, a manual λ ends it."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402
from PyQt6.QtCore import Qt  # noqa: E402

from engine.groundtruth.simulate import SimulationConfig, simulate_recording  # noqa: E402
from engine.training.trainer import TrainConfig  # noqa: E402
from tests.qt_windows import CLOSE_TIMEOUT_MS, close_window, make_window  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def recording():
    return simulate_recording(SimulationConfig(minutes=0.25, seed=1))


@pytest.fixture
def window(qtbot, tmp_path, recording):
    win = make_window(qtbot, tmp_path)
    win.controller.set_recording(recording)
    yield win
    close_window(qtbot, win)


def train(win, max_steps):
    win.training.show_config(TrainConfig(max_steps=max_steps, batch_size=8, tolerance=0.0))
    win.actions["train"].trigger()


def test_ticking_auto_while_training_lets_em_move_lambda_and_the_box_follows(qtbot, window):
    c, panel = window.controller, window.training
    seen = []  # λ of every snapshot
    c.snapshotReceived.connect(lambda snap: seen.append(snap.lam))

    def next_lambdas(count):
        start = len(seen)
        qtbot.waitUntil(lambda: len(seen) >= start + count, timeout=CLOSE_TIMEOUT_MS)
        return seen[start:start + count]

    train(window, max_steps=100_000)
    fixed = next_lambdas(2)
    assert fixed[0] == fixed[1]
    qtbot.mouseClick(panel.lambda_auto, Qt.MouseButton.LeftButton)
    assert panel.lambda_auto.isChecked() and c.lambda_auto and c.train_config.lam_auto
    moved = next_lambdas(4)
    assert len(set(moved)) > 1 and moved[-1] != fixed[-1]
    qtbot.waitUntil(lambda: panel.lambda_box.value() == pytest.approx(c.lam, abs=1e-3), timeout=CLOSE_TIMEOUT_MS)

    panel.lambda_box.setValue(77.0)  # typing a value turns auto off
    qtbot.waitUntil(lambda: not c.lambda_auto, timeout=CLOSE_TIMEOUT_MS)
    assert not panel.lambda_auto.isChecked()
    qtbot.waitUntil(lambda: seen[-1] == 77.0, timeout=CLOSE_TIMEOUT_MS)
    assert next_lambdas(2) == [77.0, 77.0] and panel.lambda_box.value() == 77.0
    window.actions["stop"].trigger()


def test_auto_ticked_before_training_is_the_run_setting_and_the_learned_value_is_reported(qtbot, window):
    c, panel = window.controller, window.training
    panel.lambda_auto.setChecked(True)
    train(window, max_steps=6)
    qtbot.waitUntil(lambda: c.training_state == "idle" and c.spikes is not None, timeout=CLOSE_TIMEOUT_MS)
    assert c.train_config.lam_auto
    assert len(set(c.history["lam"])) > 1
    assert panel.lambda_box.value() == pytest.approx(c.lam, abs=1e-3) == pytest.approx(c.history["lam"][-1], abs=1e-3)
    assert f"lambda learned by EM: {c.lam:.4g}" in window.log.toPlainText()
    session = c.build_session()
    assert session.train_config["lam_auto"] and session.lam == c.lam
