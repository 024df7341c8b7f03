"""benchmarks/gpu_check.py: its quick mode on the CPU (the logic CI can check without a card)."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

from engine.sorting.sorter import SortResult

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_compare_sorts_counts_shifted_and_missing_spikes():
    gpu_check = load_script()
    times = np.array([100, 200, 300, 400], dtype=np.int64)
    units = np.array([0, 1, 0, 1], dtype=np.int64)
    amplitudes = np.array([10.0, 20.0, 30.0, 40.0], dtype=np.float32)
    reference = SortResult(times, units, amplitudes, 30_000.0, 2)
    # one spike a sample late, one missing, one amplitude off by 1e-3
    other = SortResult(np.array([101, 200, 300]), np.array([0, 1, 0]), np.array([10.0, 20.02, 30.0], np.float32),
                       30_000.0, 2)
    report = gpu_check.compare_sorts(reference, other)
    assert report["exact"] == 2 and report["within_tolerance"] == 3
    assert report["fraction_matched"] == 3 / 4 and report["fraction_exact"] == 2 / 4
    assert np.isclose(report["amplitude_max_relative"], 1e-3, rtol=1e-2)
    assert gpu_check.compare_sorts(reference, reference)["fraction_exact"] == 1.0


def test_quick_cpu_mode_runs_every_stage(tmp_path, capsys, one_torch_thread):
    """In this process (a child would import torch and SpikeInterface again: 4-6 s of a 2-core machine)."""
    out = tmp_path / "report.json"
    status = load_script().main(["--device", "cpu", "--quick", "--cache", str(tmp_path), "--json", str(out)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    report = json.loads(out.read_text())
    equality = report["equality"]
    assert equality["passed"] and equality["fraction_exact"] == 1.0 and equality["reference_spikes"] > 100
    assert [row["recording"].split(",")[0] for row in report["rows"]] == ["seed", "12-channel probe", "24-channel probe"]
    for row in report["rows"]:
        assert row["device"] == "cpu" and row["train_seconds"] > 0 and row["sort_seconds"] > 0 and row["spikes"] > 0
    assert report["rows"][0]["accuracy"] > 0.9  # the seed's three units, even after 3 steps
    assert "| recording | device | preparation (s) | learning (s) | sorting (s) |" in printed
    assert report["card"].startswith("CPU")
