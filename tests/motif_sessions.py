"""Sorted sessions whose spikes are a population with planted firing sequences (engine.motifs.simulation)."""
import numpy as np

from engine.motifs.simulation import simulate_population
from engine.io.session import Session, save_session

RAW_ARGS = {"n_channels": 1, "dtype": "int16"}


def population_session(path, n_units=12, minutes=4.0, with_recording=False, sampling_rate=10_000.0):
    """Save a session at ``path`` and return the population; filters are placeholders.

    ``with_recording`` writes a silent raw binary recording beside it, of the
    population's length, so that the application can open the session.
    """
    population = simulate_population(n_units=n_units, minutes=minutes, k=2, units_per_motif=5, motif_rate_hz=1.0,
                                     sampling_rate=sampling_rate, seed=3)
    recording_path, recording_args = None, {}
    if with_recording:
        recording_path = str(path) + ".bin"
        np.zeros(population.n_samples, np.int16).tofile(recording_path)
        recording_args = dict(RAW_ARGS, sampling_rate=sampling_rate)
    save_session(path, Session(
        recording_path=recording_path, recording_args=recording_args, sampling_rate=population.sampling_rate,
        filters=np.ones((n_units, 1, 5), np.float32), lam=1.0, train_config={},
        spike_times=population.spike_times, spike_units=population.spike_units,
        spike_amplitudes=np.ones(len(population.spike_times), np.float32), thresholds=np.ones(n_units, np.float32),
        recording_info={"n_samples": population.n_samples}))
    return population
