"""Ground-truth benchmark suite: sparsesort and its peers on a table of simulated recordings.

    python benchmarks/suite.py --list                      # the recordings and their parameters
    python benchmarks/suite.py --generate [NAME ...]       # only generate (all by default)
    python benchmarks/suite.py [--recordings NAME ...] [--sorters sparsesort spykingcircus2 ...]
                               [--out results.json] [--markdown table.md] [--rerun-kilosort4]

Each entry of ``RECORDINGS`` is simulated once with SpikeInterface's generators
(``spikeinterface.core.generate_ground_truth_recording`` for static recordings,
``spikeinterface.generation.generate_drifting_recording`` for drifting ones) and saved under
``benchmarks/data/suite/<name>/``: ``recording/`` (a SpikeInterface binary folder, int16 at
0.1 µV per count), ``truth/`` (the ground-truth sorting, with each unit's peak amplitude) and
``params.json``; a folder that exists is reused. Per-unit firing rates and peak amplitudes
(in multiples of the noise level) are log-spaced over each entry's range, in random order.

Every sorter reads the same saved recording. sparsesort runs
``engine.sorting.spikeinterface.run_sparsesort``; the peers run through
``spikeinterface.sorters.run_sorter`` with their default parameters. Wall time counts from the
loaded recording to the returned sorting. Results are scored with
``spikeinterface.comparison.compare_sorter_to_ground_truth`` (exhaustive ground truth, ±0.4 ms).
Kilosort4 is slow on a CPU, so its results are kept in ``benchmarks/kilosort4_results.json`` and
reused until ``--rerun-kilosort4``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm import tqdm

BENCHMARKS = Path(__file__).resolve().parent
DATA = BENCHMARKS / "data" / "suite"
KILOSORT4_CACHE = BENCHMARKS / "kilosort4_results.json"

PEERS = ("spykingcircus2", "tridesclous2", "mountainsort5", "kilosort4")
SORTERS = ("sparsesort",) + PEERS
PEER_OPTIONS = {"kilosort4": {"torch_device": "cpu"}}

UV_PER_COUNT = 0.1  # int16 step: far below the 4-10 µV noise, and ±3.3 mV of range
MS_BEFORE, MS_AFTER = 1.0, 3.0  # template window around the trough
REFRACTORY_MS = 4.0
UNIT_LOCATIONS = dict(margin_um=10.0, minimum_z=5.0, maximum_z=50.0, minimum_distance=20.0)
NOISE_SPATIAL_DECAY_UM = 25.0  # the drift generator's spatially correlated noise
LINEAR_PITCH_UM = 25.0

WELL_DETECTED = 0.8
MISSED_MIN_AMPLITUDE = 8.0  # x noise
MISSED_MIN_SPIKES = 300
PEER_TOLERANCE = 0.01


@dataclass(frozen=True)
class Drift:
    """Motion along the probe's depth, ±``um`` about the units' rest positions."""

    mode: str  # "zigzag", "bump" or both: "zigzag+bump"
    um: float
    non_rigid: float | None = None  # the end of the probe that moves least moves this fraction; None: rigid
    period_s: float = 120.0  # of the zigzag
    bump_interval_s: tuple[float, float] = (20.0, 60.0)

    def describe(self) -> str:
        kind = "rigid" if self.non_rigid is None else f"non-rigid ({self.non_rigid:g}-1x)"
        return f"{kind} {self.mode} ±{self.um:g} µm"

    def displacement_kwargs(self) -> dict:
        """``generate_drifting_recording``'s ``generate_displacement_vector_kwargs``."""
        modes = self.mode.split("+")
        # each motion spans [-0.5, 0.5] times its amplitude factor; their sum must stay within ±um
        motions = [dict(drift_mode=mode, amplitude_factor=1.0 / len(modes), non_rigid_gradient=self.non_rigid,
                        t_start_drift=0.0, t_end_drift=None, period_s=self.period_s,
                        bump_interval_s=self.bump_interval_s) for mode in modes]
        return dict(displacement_sampling_frequency=5.0, drift_start_um=[0.0, self.um],
                    drift_stop_um=[0.0, -self.um], drift_step_um=1.0, motion_list=motions)


@dataclass(frozen=True)
class Entry:
    name: str
    layout: str  # "single", "tetrode", "linear", "staggered2" (2 columns), "staggered4" (Neuropixels 1.0-like)
    channels: int
    khz: float
    units: int
    minutes: float
    noise_uv: float
    seed: int
    rates_hz: tuple[float, float] = (0.5, 30.0)
    amplitudes: tuple[float, float] = (4.0, 30.0)  # peak amplitude over the noise level
    drift: Drift | None = None

    def params(self) -> dict:
        """The entry as JSON reads it back (tuples as lists), to compare with saved ones."""
        return json.loads(json.dumps(asdict(self)))

    @property
    def megabytes(self) -> float:
        return self.channels * self.khz * 1e3 * self.minutes * 60 * 2 / 1e6


RECORDINGS = [
    Entry("single-10k", "single", 1, 10, 3, minutes=20, noise_uv=5, seed=101, amplitudes=(6, 30)),
    Entry("single-25k-long", "single", 1, 25, 5, minutes=30, noise_uv=8, seed=102),
    Entry("tetrode-20k", "tetrode", 4, 20, 6, minutes=15, noise_uv=6, seed=103, amplitudes=(5, 30)),
    Entry("tetrode-30k-crowded", "tetrode", 4, 30, 12, minutes=10, noise_uv=10, seed=104),
    Entry("linear16-10k", "linear", 16, 10, 10, minutes=20, noise_uv=4, seed=105, amplitudes=(4, 20)),
    Entry("linear16-25k-zigzag", "linear", 16, 25, 12, minutes=10, noise_uv=6, seed=106,
          drift=Drift("zigzag", 15, period_s=150)),
    Entry("staggered32-20k", "staggered2", 32, 20, 20, minutes=6, noise_uv=5, seed=107),
    Entry("linear32-30k", "linear", 32, 30, 25, minutes=5, noise_uv=7, seed=108),
    Entry("staggered32-30k-bumps", "staggered2", 32, 30, 24, minutes=5, noise_uv=6, seed=109,
          drift=Drift("bump", 30, non_rigid=0.4)),
    Entry("linear64-20k-bumps", "linear", 64, 20, 30, minutes=3, noise_uv=9, seed=110, drift=Drift("bump", 10)),
    Entry("npx64-25k", "staggered4", 64, 25, 40, minutes=3, noise_uv=6, seed=111),
    Entry("npx64-30k-zigzag-bumps", "staggered4", 64, 30, 45, minutes=4, noise_uv=8, seed=112,
          drift=Drift("zigzag+bump", 50, non_rigid=0.3, period_s=80)),
    Entry("npx128-30k", "staggered4", 128, 30, 60, minutes=2, noise_uv=7, seed=113),
]
# Neuropixels scale (issue 17), run only when named: a minute of a 384-channel probe, 1.4 GB
LARGE = [
    Entry("npx384-30k-1min", "staggered4", 384, 30, 120, minutes=1, noise_uv=6, seed=201, rates_hz=(1.0, 15.0)),
]
BY_NAME = {entry.name: entry for entry in RECORDINGS + LARGE}


@dataclass
class Result:
    recording: str
    sorter: str
    gt_units: int
    seconds: float | None = None
    accuracy: float | None = None
    precision: float | None = None
    recall: float | None = None
    well_detected: int | None = None
    false_positive: int | None = None
    redundant: int | None = None
    sorted_units: int | None = None
    missed: list[dict] = field(default_factory=list)  # loud, frequent units not well detected (sparsesort)
    error: str = ""
    cached: str = ""  # the date of a reused kilosort4 run


# --- simulation ---

def make_probe(layout: str, channels: int):
    import probeinterface as pi

    if layout == "single":
        probe = pi.generate_linear_probe(num_elec=1)
    elif layout == "tetrode":
        probe = pi.generate_tetrode()
    elif layout == "linear":
        probe = pi.generate_linear_probe(num_elec=channels, ypitch=LINEAR_PITCH_UM)
    elif layout == "staggered2":
        probe = pi.generate_multi_columns_probe(num_columns=2, num_contact_per_column=channels // 2, xpitch=22,
                                                ypitch=25, y_shift_per_column=[0, 12.5])
    elif layout == "staggered4":  # Neuropixels 1.0: 16 µm between columns, 20 µm rows alternating column pairs
        probe = pi.generate_multi_columns_probe(num_columns=4, num_contact_per_column=channels // 4, xpitch=16,
                                                ypitch=40, y_shift_per_column=[0, 20, 0, 20])
    else:
        raise ValueError(f"unknown layout {layout!r}")
    if probe.get_contact_count() != channels:
        raise ValueError(f"a {layout} probe cannot have {channels} channels")
    probe.set_device_channel_indices(np.arange(channels))
    return probe


def log_spread(rng, low: float, high: float, n: int) -> np.ndarray:
    """``n`` values log-spaced from ``low`` to ``high`` in random order: every recording spans its range."""
    return rng.permutation(np.geomspace(low, high, n))


def calibrated_unit_params(entry: Entry, positions, unit_locations, peaks_uv) -> dict:
    """``generate_templates``' unit_params whose templates peak at ``peaks_uv``.

    Templates scale linearly with alpha, and the other unit parameters are drawn from the seed
    alone as long as alpha is an array (a range for alpha would be drawn first and shift them),
    so one pass at alpha = 1 gives each unit's scale.
    """
    from spikeinterface.core import generate_templates

    unit = generate_templates(positions, unit_locations, entry.khz * 1e3, MS_BEFORE, MS_AFTER, seed=entry.seed,
                              unit_params=dict(alpha=np.ones(entry.units)))
    return dict(alpha=peaks_uv / np.abs(unit).max(axis=(1, 2)))


def simulate(entry: Entry):
    """The recording (float µV), the ground-truth sorting with per-unit properties, and the motion or None."""
    from spikeinterface.core import generate_ground_truth_recording, generate_sorting, generate_templates
    from spikeinterface.core.generate import generate_unit_locations
    from spikeinterface.generation import generate_drifting_recording

    rng = np.random.default_rng(entry.seed)
    fs, duration = entry.khz * 1e3, entry.minutes * 60.0
    probe = make_probe(entry.layout, entry.channels)
    positions = probe.contact_positions
    rates = log_spread(rng, *entry.rates_hz, entry.units)
    peaks_uv = log_spread(rng, *entry.amplitudes, entry.units) * entry.noise_uv
    sorting = generate_sorting(num_units=entry.units, sampling_frequency=fs, durations=[duration],
                               firing_rates=rates, refractory_period_ms=REFRACTORY_MS, seed=entry.seed)
    locations = generate_unit_locations(entry.units, positions, seed=entry.seed, **UNIT_LOCATIONS)
    template_kwargs = dict(ms_before=MS_BEFORE, ms_after=MS_AFTER,
                           unit_params=calibrated_unit_params(entry, positions, locations, peaks_uv))
    motion = None
    if entry.drift is None:
        templates = generate_templates(positions, locations, fs, seed=entry.seed, **template_kwargs)
        recording, sorting = generate_ground_truth_recording(
            durations=[duration], sampling_frequency=fs, sorting=sorting, probe=probe, templates=templates,
            ms_before=MS_BEFORE, ms_after=MS_AFTER, seed=entry.seed,
            noise_kwargs=dict(noise_levels=entry.noise_uv, strategy="on_the_fly"))
    else:
        _, recording, sorting, extra = generate_drifting_recording(
            duration=duration, sampling_frequency=fs, probe=probe, unit_locations=locations, sorting=sorting,
            generate_displacement_vector_kwargs=entry.drift.displacement_kwargs(),
            generate_templates_kwargs=template_kwargs,
            generate_noise_kwargs=dict(noise_levels=entry.noise_uv, spatial_decay=NOISE_SPATIAL_DECAY_UM),
            extra_outputs=True, seed=entry.seed)
        templates = extra["templates"].templates_array  # at the rest positions
        motion = dict(unit_displacements_um=extra["unit_displacements"],
                      sampling_frequency=extra["displacement_sampling_frequency"])
        # as generate_ground_truth_recording marks its own: noise and spikes, nothing to band-pass away
        recording.annotate(is_filtered=True)
    peaks = np.abs(templates).max(axis=(1, 2))
    sorting.set_property("firing_rate_hz", rates)
    sorting.set_property("peak_amplitude_uv", peaks)
    sorting.set_property("amplitude_over_noise", peaks / entry.noise_uv)
    return recording, sorting, motion


def as_int16(recording):
    import spikeinterface.preprocessing as spre

    scaled = spre.scale(recording, gain=1.0 / UV_PER_COUNT, dtype="int16")
    scaled.set_channel_gains(UV_PER_COUNT)
    scaled.set_channel_offsets(0.0)
    return scaled


def generate(entry: Entry) -> Path:
    """The entry's folder, simulated and saved unless it exists."""
    folder = DATA / entry.name
    if folder.exists():
        if json.loads((folder / "params.json").read_text()) != entry.params():
            raise SystemExit(f"{folder} was generated with other parameters; delete it to regenerate")
        return folder
    partial = folder.with_name(entry.name + ".partial")  # renamed once complete: no half-written reuse
    shutil.rmtree(partial, ignore_errors=True)
    with warnings.catch_warnings():
        # a single contact or a tetrode has no room for units 20 µm apart; their amplitudes are set anyway
        warnings.filterwarnings("ignore", message="generate_unit_locations")
        # generated objects hold their arrays in memory: the saved data makes their provenance moot
        warnings.filterwarnings("ignore", message="The extractor is not serializable")
        recording, sorting, motion = simulate(entry)
        as_int16(recording).save(folder=partial / "recording", format="binary", progress_bar=False)
        sorting.save(folder=partial / "truth")
    if motion is not None:
        np.savez(partial / "motion.npz", **motion)
    (partial / "params.json").write_text(json.dumps(entry.params(), indent=1))
    partial.rename(folder)
    return folder


def load(entry: Entry):
    import spikeinterface as si

    folder = generate(entry)
    return si.load(folder / "recording"), si.load(folder / "truth")


# --- sorting and scoring ---

def run_sorter(sorter: str, recording, folder: Path):
    if sorter == "sparsesort":
        from engine.sorting.spikeinterface import run_sparsesort

        return run_sparsesort(recording)
    import spikeinterface.sorters as ss

    return ss.run_sorter(sorter, recording, folder=folder, remove_existing_folder=True, verbose=False,
                         **PEER_OPTIONS.get(sorter, {}))


def missed_units(truth, performance) -> list[dict]:
    """Ground-truth units that are loud (>= 8x noise) and frequent (>= 300 spikes) but not well detected."""
    counts = truth.count_num_spikes_per_unit(outputs="dict")
    ratios = truth.get_property("amplitude_over_noise")
    rates = truth.get_property("firing_rate_hz")
    missed = []
    for unit, ratio, rate in zip(truth.unit_ids, ratios, rates):
        row = performance.loc[unit]
        if ratio >= MISSED_MIN_AMPLITUDE and counts[unit] >= MISSED_MIN_SPIKES and row["accuracy"] < WELL_DETECTED:
            missed.append(dict(unit=str(unit), amplitude_over_noise=round(float(ratio), 1), spikes=int(counts[unit]),
                               rate_hz=round(float(rate), 2),
                               **{key: round(float(row[key]), 3) for key in ("accuracy", "precision", "recall")}))
    return missed


def score(result: Result, truth, sorting) -> None:
    from spikeinterface.comparison import compare_sorter_to_ground_truth

    comparison = compare_sorter_to_ground_truth(truth, sorting, exhaustive_gt=True)
    performance = comparison.get_performance().astype(float)
    result.accuracy = float(performance["accuracy"].mean())
    result.precision = float(performance["precision"].mean())
    result.recall = float(performance["recall"].mean())
    result.well_detected = len(comparison.get_well_detected_units(well_detected_score=WELL_DETECTED))
    result.false_positive = int(comparison.count_false_positive_units())
    result.redundant = int(comparison.count_redundant_units())
    result.sorted_units = len(sorting.unit_ids)
    if result.sorter == "sparsesort":
        result.missed = missed_units(truth, performance)


def one_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # run_sorter wraps a sorter's failure in its traceback: the last "SomeError: ..." line is the cause
    causes = [line for line in lines if re.match(r"[\w.]+(Error|Exception): ", line)]
    cause = causes[-1] if causes else (lines[0] if lines else "")
    return f"{type(exc).__name__}: {cause}"[:300]


def evaluate(entry: Entry, sorter: str, recording, truth) -> Result:
    """Sort and score; a sorter that is missing or fails gives a result with its error."""
    result = Result(entry.name, sorter, gt_units=len(truth.unit_ids))
    with tempfile.TemporaryDirectory(prefix=f"suite-{entry.name}-{sorter}-") as tmp:
        try:
            start = time.perf_counter()
            sorting = run_sorter(sorter, recording, Path(tmp) / "output")
            result.seconds = time.perf_counter() - start
            score(result, truth, sorting)  # inside the folder: a peer's sorting may be read from it
        except Exception as exc:  # a peer that cannot run here is reported, not fatal
            result.error = one_line(exc)
    return result


# --- the kilosort4 cache ---

def read_kilosort4_cache() -> dict:
    return json.loads(KILOSORT4_CACHE.read_text()) if KILOSORT4_CACHE.exists() else {}


def cached_kilosort4(entry: Entry) -> Result | None:
    """A cached run on this recording, generated with the same parameters."""
    record = read_kilosort4_cache().get(entry.name)
    if record is None or record["params"] != entry.params():
        return None
    result = Result(**record["result"])
    result.cached = record["date"]
    return result


def store_kilosort4(entry: Entry, result: Result, environment: dict) -> None:
    cache = read_kilosort4_cache()
    cache[entry.name] = dict(params=entry.params(), result=asdict(result),
                             date=datetime.datetime.now().isoformat(timespec="seconds"), **environment)
    KILOSORT4_CACHE.write_text(json.dumps(cache, indent=1) + "\n")


# --- the environment ---

def git_commit() -> str:
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=BENCHMARKS, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def package_versions(sorters) -> dict:
    import spikeinterface.sorters as ss

    versions = {}
    for package in ("sparsesort", "spikeinterface", "probeinterface", "torch", "numpy", "scipy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    versions["sparsesort_commit"] = git_commit()
    for name in (s for s in sorters if s in PEERS):
        try:
            cls = ss.sorter_dict[name]
            versions[name] = cls.get_sorter_version() if cls.is_installed() else "not installed"
        except Exception as exc:  # a broken install reports itself here rather than stopping the suite
            versions[name] = f"unknown ({one_line(exc)})"
    return versions


def machine(n_jobs: int) -> dict:
    import torch

    return dict(platform=platform.platform(), processor=platform.processor() or platform.machine(),
                python=platform.python_version(), cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
                spikeinterface_n_jobs=n_jobs)


# --- the summary and the outputs ---

def summarize(results: list[Result]) -> dict:
    ok = [r for r in results if not r.error]
    by_sorter = {}
    for sorter in dict.fromkeys(r.sorter for r in results):
        accuracies = [r.accuracy for r in ok if r.sorter == sorter]
        by_sorter[sorter] = dict(mean_accuracy=float(np.mean(accuracies)) if accuracies else None,
                                 recordings=len(accuracies))
    gaps = {}
    for name in dict.fromkeys(r.recording for r in results):
        ours = [r.accuracy for r in ok if r.recording == name and r.sorter == "sparsesort"]
        peers = [r.accuracy for r in ok if r.recording == name and r.sorter != "sparsesort"]
        if ours and peers:
            gaps[name] = max(peers) - ours[0]
    worst = max(gaps, key=gaps.get) if gaps else None
    return dict(by_sorter=by_sorter, gap_to_best_peer=gaps,
                worst_gap=dict(recording=worst, gap=gaps[worst]) if worst else None,
                within_tolerance=sum(gap <= PEER_TOLERANCE for gap in gaps.values()), compared=len(gaps))


def number(value, digits=3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def results_table(results: list[Result]) -> list[str]:
    lines = ["| recording | sorter | wall time (s) | accuracy | precision | recall | well detected | "
             "false positive | redundant | sorted units |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r.error:
            lines.append(f"| {r.recording} | {r.sorter} | failed: {r.error.replace('|', '/')} | | | | | | | |")
            continue
        cached = f" (cached {r.cached[:10]})" if r.cached else ""
        lines.append(f"| {r.recording} | {r.sorter}{cached} | {number(r.seconds, 1)} | {number(r.accuracy)} | "
                     f"{number(r.precision)} | {number(r.recall)} | {r.well_detected}/{r.gt_units} | "
                     f"{r.false_positive} | {r.redundant} | {r.sorted_units} |")
    return lines


def missed_table(results: list[Result]) -> list[str]:
    rows = [(r.recording, unit) for r in results if r.sorter == "sparsesort" for unit in r.missed]
    if not rows:
        return []
    lines = [f"sparsesort's missed units (>= {MISSED_MIN_AMPLITUDE:g}x noise, >= {MISSED_MIN_SPIKES} spikes, "
             f"accuracy < {WELL_DETECTED}):", "",
             "| recording | unit | amplitude (x noise) | spikes | rate (Hz) | accuracy | precision | recall |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {name} | {u['unit']} | {u['amplitude_over_noise']} | {u['spikes']} | {u['rate_hz']} | "
              f"{number(u['accuracy'])} | {number(u['precision'])} | {number(u['recall'])} |" for name, u in rows]
    return lines


def summary_lines(summary: dict) -> list[str]:
    lines = [f"- {sorter}: mean accuracy {number(s['mean_accuracy'])} over {s['recordings']} recordings"
             if s["recordings"] else f"- {sorter}: no successful run" for sorter, s in summary["by_sorter"].items()]
    if summary["worst_gap"]:
        worst = summary["worst_gap"]
        lines.append(f"- sparsesort's worst gap to the best peer: {worst['gap']:+.3f} ({worst['recording']})")
        lines.append(f"- sparsesort within {PEER_TOLERANCE} of the best peer or better on "
                     f"{summary['within_tolerance']} of {summary['compared']} recordings")
    return lines


def markdown(report: dict, results: list[Result]) -> str:
    m, load = report["machine"], report["load_average"]
    versions = ", ".join(f"{k} {v}" for k, v in report["versions"].items())
    header = [f"Ground-truth suite, {report['date']}: {m['processor']}, {m['cpu_count']} cores, {m['platform']}; "
              f"load average {load['start'][0]:.2f} at the start, {load['end'][0]:.2f} at the end.", "",
              f"Versions: {versions}.", ""]
    missed = missed_table(results)
    return "\n".join(header + results_table(results) + [""] + summary_lines(report["summary"])
                     + ([""] + missed if missed else [])) + "\n"


def recordings_table(entries) -> str:
    lines = ["| name | channels | layout | kHz | units | rates (Hz) | amplitude (x noise) | noise (µV) | minutes | "
             "drift | MB | saved |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        lines.append(f"| {e.name} | {e.channels} | {e.layout} | {e.khz:g} | {e.units} | "
                     f"{e.rates_hz[0]:g}-{e.rates_hz[1]:g} | {e.amplitudes[0]:g}-{e.amplitudes[1]:g} | "
                     f"{e.noise_uv:g} | {e.minutes:g} | {e.drift.describe() if e.drift else 'none'} | "
                     f"{e.megabytes:.0f} | {'yes' if (DATA / e.name).exists() else 'no'} |")
    return "\n".join(lines)


# --- the command line ---

def sort_suite(entries, sorters, rerun_kilosort4: bool, environment: dict) -> list[Result]:
    results = []
    progress = tqdm(entries, desc="recordings", unit="recording")
    for entry in progress:
        progress.set_postfix_str(f"{entry.name}: generating")
        recording, truth = load(entry)
        for sorter in sorters:
            progress.set_postfix_str(f"{entry.name}: {sorter}")
            result = None if sorter != "kilosort4" or rerun_kilosort4 else cached_kilosort4(entry)
            if result is None:
                result = evaluate(entry, sorter, recording, truth)
                if sorter == "kilosort4" and not result.error:
                    store_kilosort4(entry, result, environment)
            results.append(result)
            tqdm.write(results_table([result])[-1], file=sys.stderr)
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the recordings and exit")
    parser.add_argument("--generate", nargs="*", metavar="NAME", help="only generate these recordings (default all)")
    parser.add_argument("--recordings", nargs="+", metavar="NAME", default=[e.name for e in RECORDINGS],
                        help="default: all but the large ones (" + ", ".join(e.name for e in LARGE) + ")")
    parser.add_argument("--sorters", nargs="+", choices=SORTERS, default=list(SORTERS), metavar="SORTER",
                        help=f"of {', '.join(SORTERS)}; default: all")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--markdown", help="write the table as Markdown here")
    parser.add_argument("--rerun-kilosort4", action="store_true", help=f"ignore {KILOSORT4_CACHE.name}")
    parser.add_argument("--n-jobs", type=int, default=os.cpu_count() or 1,
                        help="SpikeInterface's job count (saving, peers' parallel steps); default: all cores")
    args = parser.parse_args(argv)
    unknown = [n for n in (args.generate or []) + args.recordings if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown recordings {', '.join(unknown)}; --list shows them")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        print(recordings_table(RECORDINGS + LARGE))
        return 0
    import spikeinterface as si

    si.set_global_job_kwargs(n_jobs=args.n_jobs, progress_bar=False)
    if args.generate is not None:
        start = time.perf_counter()
        names = args.generate or [e.name for e in RECORDINGS]
        for entry in tqdm([BY_NAME[n] for n in names], desc="generating", unit="recording"):
            generate(entry)
        print(f"recordings ready under {DATA} in {time.perf_counter() - start:.0f} s")
        return 0

    # imports before any clock starts: module loading is no sorter's work
    import spikeinterface.comparison  # noqa: F401
    import spikeinterface.sorters  # noqa: F401
    if "sparsesort" in args.sorters:
        import engine.sorting.spikeinterface  # noqa: F401

    load_start = os.getloadavg()
    environment = dict(machine=machine(args.n_jobs), versions=package_versions(args.sorters))
    results = sort_suite([BY_NAME[n] for n in args.recordings], args.sorters, args.rerun_kilosort4, environment)
    report = dict(date=datetime.datetime.now().isoformat(timespec="seconds"), command=sys.argv, **environment,
                  load_average=dict(start=load_start, end=os.getloadavg()),
                  recordings=[BY_NAME[n].params() for n in args.recordings],
                  summary=summarize(results), results=[asdict(r) for r in results])
    table = markdown(report, results)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
