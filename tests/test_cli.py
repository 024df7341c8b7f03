import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from engine.cli import main


def run_cli(*args):
    """The real console entry point in a child process: exit status, stdout, stderr."""
    proc = subprocess.run([sys.executable, "-m", "engine", "--quiet", *map(str, args)],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_simulate_then_sort_prints_json_summary(tmp_path):
    rec = tmp_path / "seed.h5"
    assert main(["--quiet", "simulate", str(rec), "--minutes", "0.5", "--seed", "7"]) == 0
    code, out, err = run_cli("sort", rec, "--units", "3", "--steps", "8", "--json", "--out", tmp_path / "s.h5")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["units"] == 3
    assert summary["spikes"] == sum(summary["spikes_per_unit"]) > 1000
    assert summary["train_seconds"] > 0 and summary["sort_seconds"] > 0
    assert len(summary["filter_error"]) == 3 and max(summary["filter_error"]) < 0.2
    assert min(summary["accuracy"]) > 0.8
    assert main(["info", str(tmp_path / "s.h5")]) == 0


def test_sort_reads_raw_binary(tmp_path):
    from engine.groundtruth.simulate import SimulationConfig, simulate_recording
    rec = simulate_recording(SimulationConfig(minutes=0.25, seed=8))
    raw = tmp_path / "rec.dat"
    np.round(rec.traces() / 0.5).astype(np.int16).tofile(raw)
    code, out, err = run_cli("sort", raw, "--sampling-rate", 10000, "--n-channels", 1, "--dtype", "int16",
                             "--gain", 0.5, "--units", 3, "--steps", 3, "--json")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["spikes"] > 500


def _one_line_error(code, err, *fragments):
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.h5"
    code, _, err = run_cli("sort", missing)
    _one_line_error(code, err, str(missing), "no such file")


def test_raw_size_not_whole_frames(tmp_path):
    raw = tmp_path / "odd.bin"
    np.zeros(1001, dtype=np.int16).tofile(raw)
    code, _, err = run_cli("sort", raw, "--sampling-rate", 10000, "--n-channels", 4)
    _one_line_error(code, err, str(raw), "not a whole number of frames", "channel counts that fit")


def test_unknown_dtype(tmp_path):
    raw = tmp_path / "rec.bin"
    np.zeros(1000, dtype=np.int16).tofile(raw)
    code, _, err = run_cli("sort", raw, "--sampling-rate", 10000, "--n-channels", 1, "--dtype", "int17")
    _one_line_error(code, err, str(raw), "unknown dtype 'int17'")


def test_nan_samples(tmp_path):
    path = tmp_path / "nan.h5"
    data = np.random.default_rng(0).standard_normal((50_000, 1)).astype(np.float32)
    data[30_000] = np.nan
    with h5py.File(path, "w") as h5:
        h5["traces"] = data
        h5["traces"].attrs["sampling_rate"] = 10_000.0
    code, _, err = run_cli("sort", path, "--units", 2)
    _one_line_error(code, err, str(path), "NaN", "30000")


@pytest.mark.parametrize("content", [b"not an hdf5 file"])
def test_unreadable_hdf5(tmp_path, content):
    path = tmp_path / "broken.h5"
    path.write_bytes(content)
    code, _, err = run_cli("sort", path)
    _one_line_error(code, err, str(path), "cannot be read as HDF5")


def test_no_bands_sorts_one_unit_per_filter():
    from engine.cli.commands import build_parser
    from engine.cli.sort import train_config

    parser = build_parser()
    assert train_config(parser.parse_args(["sort", "rec.h5"])).bands
    assert not train_config(parser.parse_args(["sort", "rec.h5", "--no-bands"])).bands
    assert not train_config(parser.parse_args(["batch", "folder", "--no-bands"])).bands
