"""One pipeline: the command line, the SpikeInterface entry point and the window sort alike; drift is corrected."""
import numpy as np
import pytest

from engine.cli import main
from engine.groundtruth.simulate import SimulationConfig, simulate_recording
from engine.io.session import load_session
from engine.recording.base import ArrayRecording
from engine.recording.motion import MIN_SPAN_UM, resolve_motion
from engine.training.trainer import MAX_TRAINING_STEPS, MIN_TRAINING_STEPS, TrainConfig, Trainer, training_steps
from qt_windows import CLOSE_TIMEOUT_MS, close_window, make_window

RATE = 10_000


@pytest.fixture(scope="module")
def raw_tetrode(tmp_path_factory):
    """20 s of a simulated tetrode as a raw int16 file, with nothing to say it is simulated."""
    rec = simulate_recording(SimulationConfig(minutes=1 / 3, channels=4, seed=5))
    path = tmp_path_factory.mktemp("doors") / "tetrode.bin"
    np.round(rec.traces()).astype(np.int16).tofile(path)
    return path


def _spikes_of(times, units):
    order = np.lexsort((units, times))
    return np.asarray(times)[order], np.asarray(units)[order]


def test_the_three_doors_give_the_same_spikes(qtbot, tmp_path, raw_tetrode):
    import spikeinterface.core as si
    from engine.sorting.spikeinterface import run_sparsesort

    session = tmp_path / "cli.h5"
    assert main(["--quiet", "sort", str(raw_tetrode), "--sampling-rate", str(RATE), "--n-channels", "4",
                 "--units", "3", "--out", str(session)]) == 0
    cli = load_session(session)
    cli_spikes = _spikes_of(cli.spike_times, cli.spike_units)
    assert len(cli_spikes[0]) > 500

    sorting = run_sparsesort(si.read_binary(raw_tetrode, RATE, "int16", num_channels=4), n_units=3)
    train = sorting.to_spike_vector()
    si_spikes = _spikes_of(train["sample_index"], train["unit_index"])

    win = make_window(qtbot, tmp_path)
    try:
        c = win.controller
        assert c.open_recording(raw_tetrode, sampling_rate=RATE, n_channels=4, dtype="int16")
        win.training.units.setValue(3)
        win.actions["train"].trigger()
        qtbot.waitUntil(lambda: c.training_state == "idle" and c.spikes is not None
                        and len(c.spikes) > 0 and not win.progress.isVisible(), timeout=CLOSE_TIMEOUT_MS)
        qtbot.wait(200)
        window_spikes = _spikes_of(c.spikes.times, c.spikes.units)
        assert c.train_config.filter_ms == TrainConfig().filter_ms == cli.train_config["filter_ms"]
    finally:
        close_window(qtbot, win)
    for other in (si_spikes, window_spikes):
        np.testing.assert_array_equal(other[0], cli_spikes[0])
        np.testing.assert_array_equal(other[1], cli_spikes[1])


def test_training_length_follows_the_duration_and_channel_count():
    assert training_steps(5.0, 9.6) == MIN_TRAINING_STEPS
    assert training_steps(120.0, 9.6) == 13
    assert training_steps(3600.0, 9.6) == MAX_TRAINING_STEPS
    short = ArrayRecording(np.zeros((10_000 * 20, 1), np.float32), 10_000)
    long = ArrayRecording(np.zeros((10_000 * 200, 1), np.float32), 10_000)
    assert Trainer(short).max_steps == MIN_TRAINING_STEPS < Trainer(long).max_steps


def test_motion_correction_is_on_by_default_only_on_long_probes():
    line = ArrayRecording(np.zeros((100, 8), np.float32), 10_000)  # 8 contacts 20 um apart: 140 um
    tetrode = ArrayRecording(np.zeros((100, 4), np.float32), 10_000,
                             channel_positions=[[0, 0], [20, 0], [0, 20], [20, 20]])
    assert np.ptp(line.channel_positions[:, 1]) >= MIN_SPAN_UM
    assert resolve_motion("auto", line) == "rigid" and resolve_motion("auto", tetrode) == "none"
    long_probe = ArrayRecording(np.zeros((100, 48), np.float32), 10_000)  # 940 um
    assert resolve_motion("auto", long_probe) == "nonrigid"
    assert resolve_motion("rigid", tetrode) == "rigid"
    with pytest.raises(ValueError):
        resolve_motion("sideways", line)
