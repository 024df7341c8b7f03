import json
import subprocess
import sys

import numpy as np

from engine.motifs import simulate_population
from engine.session import Session, save_session


def sorted_population_session(path, n_units=12):
    """A session whose spikes are a population with planted sequences (filters are placeholders)."""
    population = simulate_population(n_units=n_units, minutes=4.0, k=2, units_per_motif=5, motif_rate_hz=1.0,
                                     seed=3)
    save_session(path, Session(
        recording_path=None, recording_args={}, sampling_rate=population.sampling_rate,
        filters=np.ones((n_units, 1, 5), np.float32), lam=1.0, train_config={},
        spike_times=population.spike_times, spike_units=population.spike_units,
        spike_amplitudes=np.ones(len(population.spike_times), np.float32), thresholds=np.ones(n_units, np.float32),
        recording_info={"n_samples": population.n_samples}))
    return population


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "engine", "--quiet", *map(str, args)], capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_motifs_command_reports_each_motif(tmp_path):
    session = tmp_path / "population.h5"
    population = sorted_population_session(session)
    code, out, err = run_cli("motifs", session, "--k", 2, "--json")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["k"] == 2 and len(summary["occurrences"]) == 2
    planted = [set(np.nonzero(m.max(axis=1))[0]) for m in population.motifs]
    for units in summary["units"]:
        assert max(len(set(units) & p) for p in planted) >= 3  # each motif is made of one planted sequence's units


def test_motifs_command_rejects_a_bad_k(tmp_path):
    session = tmp_path / "population.h5"
    sorted_population_session(session)
    code, _, err = run_cli("motifs", session, "--k", 0)
    assert code == 2 and "Traceback" not in err and "--k must be at least 1" in err
