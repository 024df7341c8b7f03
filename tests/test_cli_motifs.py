import json
import subprocess
import sys

import numpy as np

from motif_sessions import population_session


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "engine", "--quiet", *map(str, args)], capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_motifs_command_reports_each_motif(tmp_path):
    session = tmp_path / "population.h5"
    population = population_session(session)
    code, out, err = run_cli("motifs", session, "--k", 2, "--json")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["k"] == 2 and len(summary["occurrences"]) == 2
    planted = [set(np.nonzero(m.max(axis=1))[0]) for m in population.motifs]
    for units in summary["units"]:
        assert max(len(set(units) & p) for p in planted) >= 3  # each motif is made of one planted sequence's units


def test_motifs_command_rejects_a_bad_k(tmp_path):
    session = tmp_path / "population.h5"
    population_session(session)
    code, _, err = run_cli("motifs", session, "--k", 0)
    assert code == 2 and "Traceback" not in err and "--k must be at least 1" in err
