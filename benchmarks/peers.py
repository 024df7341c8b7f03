"""sparsesort against the sorters users know, side by side, scored by SpikeInterface.

    python benchmarks/peers.py --out benchmarks/peers_results.md

Generates ground-truth recordings with ``spikeinterface.core.generate_ground_truth_recording``
(a tetrode: 4 channels, 5 units; a 32-channel probe: 20 units; 10 minutes at 30 kHz each), saves
each once to a binary folder that every sorter reads, runs sparsesort and the peers that run on
this machine's CPU in the same process, and scores every result with
``spikeinterface.comparison.compare_sorter_to_ground_truth``. Wall time counts from the saved
recording to the sorting, including each sorter's own preprocessing and file writing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RECORDINGS = {  # name: (channels, units)
    "tetrode": (4, 5),
    "probe32": (32, 20),
}
PEERS = ("mountainsort5", "tridesclous2", "spykingcircus2")
WELL_DETECTED = 0.8


@dataclass
class Row:
    recording: str
    sorter: str
    seconds: float
    accuracy: float
    precision: float
    recall: float
    well_detected: int
    false_positive: int
    redundant: int
    n_units: int
    error: str = ""


def generate(name: str, minutes: float, folder: str, seed: int):
    import spikeinterface.core as sc

    channels, units = RECORDINGS[name]
    recording, truth = sc.generate_ground_truth_recording(
        durations=[minutes * 60.0], sampling_frequency=30_000.0, num_channels=channels, num_units=units, seed=seed)
    path = os.path.join(folder, name)
    if os.path.exists(os.path.join(path, "si_folder.json")):  # saved by an earlier run with --folder
        return sc.load(path), truth
    saved = recording.save(folder=path, n_jobs=min(8, os.cpu_count() or 1), progress_bar=False)
    return saved, truth


def run_sorter(sorter: str, recording, folder: str, threads: int):
    """``sparsesort`` or ``sparsesort:DEVICE`` (cpu, cuda), or a SpikeInterface sorter's name."""
    if sorter.startswith("sparsesort"):
        import torch

        from engine.sorting.spikeinterface import run_sparsesort
        torch.set_num_threads(threads)
        _, _, device = sorter.partition(":")
        return run_sparsesort(recording, device=device or "auto")
    import spikeinterface.sorters as ss
    parallel = {"n_jobs": threads} if sorter == "mountainsort5" else {"job_kwargs": {"n_jobs": threads}}
    return ss.run_sorter(sorter, recording, folder=os.path.join(folder, sorter), remove_existing_folder=True,
                         verbose=False, **parallel)


def score(name: str, sorter: str, seconds: float, sorting, truth) -> Row:
    from spikeinterface.comparison import compare_sorter_to_ground_truth

    comparison = compare_sorter_to_ground_truth(truth, sorting, exhaustive_gt=True)
    performance = comparison.get_performance()
    return Row(name, sorter, seconds, float(performance["accuracy"].mean()),
               float(performance["precision"].mean()), float(performance["recall"].mean()),
               len(comparison.get_well_detected_units(WELL_DETECTED)), int(comparison.count_false_positive_units()),
               int(comparison.count_redundant_units()), len(sorting.get_unit_ids()))


def markdown(rows: list[Row]) -> str:
    lines = ["| recording | sorter | wall time (s) | accuracy | precision | recall | well detected | "
             "false positive | redundant | units |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.error:
            lines.append(f"| {r.recording} | {r.sorter} | failed: {r.error} | | | | | | | |")
        else:
            lines.append(f"| {r.recording} | {r.sorter} | {r.seconds:.1f} | {r.accuracy:.3f} | {r.precision:.3f} | "
                         f"{r.recall:.3f} | {r.well_detected} | {r.false_positive} | {r.redundant} | {r.n_units} |")
    return "\n".join(lines)


def verdict(rows: list[Row], tolerance: float = 0.01, speedup: float = 4.0) -> list[str]:
    """The issue's targets per recording: accuracy >= best peer's - tolerance, time <= fastest comparable peer's / speedup."""
    lines = []
    for name in dict.fromkeys(r.recording for r in rows):
        ours = next((r for r in rows if r.recording == name and r.sorter.startswith("sparsesort") and not r.error),
                    None)
        peers = [r for r in rows if r.recording == name and not r.sorter.startswith("sparsesort") and not r.error]
        if ours is None or not peers:
            continue
        best = max(p.accuracy for p in peers)
        comparable = [p for p in peers if p.accuracy >= ours.accuracy - 0.05] or peers
        fastest = min(comparable, key=lambda p: p.seconds)
        lines.append(f"{name}: accuracy {ours.accuracy:.3f} vs best peer {best:.3f} "
                     f"({'met' if ours.accuracy >= best - tolerance else 'MISSED'}); "
                     f"time {ours.seconds:.1f} s vs {fastest.sorter} {fastest.seconds:.1f} s = "
                     f"{fastest.seconds / ours.seconds:.1f}x ({'met' if ours.seconds * speedup <= fastest.seconds else 'MISSED'})")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", default=",".join(RECORDINGS), help="comma-separated: tetrode,probe32")
    parser.add_argument("--sorters", default=",".join(("sparsesort",) + PEERS),
                        help="comma-separated; sparsesort:cuda or sparsesort:cpu picks sparsesort's device")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2205)
    parser.add_argument("--folder", help="where recordings and sorter outputs go (default: a temporary folder)")
    parser.add_argument("--out", help="write the table (markdown) here and the rows next to it as JSON")
    args = parser.parse_args(argv)

    # imports before any clock starts: module loading is no sorter's work
    import spikeinterface.sorters  # noqa: F401

    import engine.sorting.spikeinterface  # noqa: F401
    folder = args.folder or tempfile.mkdtemp(prefix="sparsesort-peers-")
    rows: list[Row] = []
    try:
        for name in args.recordings.split(","):
            recording, truth = generate(name, args.minutes, folder, args.seed)
            for sorter in args.sorters.split(","):
                t0 = time.perf_counter()
                try:
                    sorting = run_sorter(sorter, recording, os.path.join(folder, name + "-out"), args.threads)
                except Exception as exc:  # a peer that cannot run here is reported, not fatal
                    rows.append(Row(name, sorter, float("nan"), *[float("nan")] * 3, 0, 0, 0, 0,
                                    error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"))
                    print(rows[-1], flush=True)
                    continue
                rows.append(score(name, sorter, time.perf_counter() - t0, sorting, truth))
                print(markdown(rows[-1:]).splitlines()[-1], flush=True)
    finally:
        if not args.folder:
            shutil.rmtree(folder, ignore_errors=True)
    table = markdown(rows)
    summary = verdict(rows)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} threads per sorter"
    print(table)
    print("\n".join(summary))
    if args.out:
        with open(args.out, "w") as f:
            f.write(f"{machine}; {args.minutes:g} min per recording\n\n{table}\n\n" + "\n".join(summary) + "\n")
        with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
            json.dump([r.__dict__ for r in rows], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
