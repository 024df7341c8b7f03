import numpy as np

from engine.recording.registry import open_recording
from engine.groundtruth.simulate import SimulationConfig, simulate_recording, write_simulation


def test_seed_data_set_statistics():
    rec = simulate_recording(SimulationConfig(minutes=1.0, seed=2))
    truth = rec.ground_truth
    assert rec.sampling_rate == 10_000 and rec.n_channels == 1 and rec.duration == 60.0
    assert truth.waveforms.shape == (3, 1, 45)
    for unit in range(3):
        times = truth.unit_times(unit)
        assert 25 < len(times) / 60.0 < 35
        assert np.diff(times).min() >= 20  # 2 ms refractory period
    traces = rec.traces()[:, 0]
    for unit in range(3):  # the mean around each spike is its waveform, trough at the spike time
        times = truth.unit_times(unit)
        times = times[(times > 100) & (times < len(traces) - 100)]
        mean = np.mean([traces[t - truth.trough_index:t - truth.trough_index + 45] for t in times], axis=0)
        assert np.corrcoef(mean, truth.waveforms[unit, 0])[0, 1] > 0.95


def test_tetrode_units_have_spatial_footprints():
    rec = simulate_recording(SimulationConfig(minutes=0.1, channels=4, units=5, seed=3))
    peak = np.abs(rec.ground_truth.waveforms).max(axis=2)  # (units, channels)
    assert peak.shape == (5, 4)
    assert np.all(peak.min(axis=1) < 0.8 * peak.max(axis=1))


def test_written_simulation_reads_back(tmp_path):
    config = SimulationConfig(minutes=0.1, channels=2, seed=4)
    path = tmp_path / "sim.h5"
    truth = write_simulation(path, config)
    rec = open_recording(path)
    assert rec.n_channels == 2 and rec.sampling_rate == 10_000
    np.testing.assert_array_equal(rec.ground_truth.spike_times, truth.spike_times)
    in_memory = simulate_recording(config)
    np.testing.assert_allclose(rec.traces(1000, 3000), in_memory.traces(1000, 3000), rtol=1e-6)


def test_simulation_records_its_simulator_version(tmp_path):
    from engine.groundtruth.simulate import SIMULATOR_VERSION, simulator_version
    path = tmp_path / "sim.h5"
    write_simulation(path, SimulationConfig(minutes=0.01))
    assert simulator_version(path) == SIMULATOR_VERSION
    assert simulator_version(tmp_path / "missing.h5") is None
