"""Recordings the suite does not hold: small generated recordings at other seeds, sorted with and
without amplitude bands, each unit's accuracy against its ground truth.

    python benchmarks/unseen_recordings.py --kind single --khz 30 --minutes 5 --seeds 1 2 3
    python benchmarks/unseen_recordings.py --kind tetrode --khz 20 --minutes 5 --seeds 1 2 3 4

A single contact holds three units at 30x, 13x and 6x the noise firing at 20, 4 and 0.5 Hz; a tetrode
six units at 25x to 5x firing at 15 to 0.5 Hz. Template shapes are SpikeInterface's, drawn from the
seed; the noise is 6 µV.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

NOISE_UV = 6.0
KINDS = {"single": ([30, 13, 6], [20, 4, 0.5]), "tetrode": ([25, 15, 10, 8, 6, 5], [15, 8, 4, 2, 1, 0.5])}


def generate(kind: str, khz: float, minutes: float, seed: int):
    import probeinterface as pi
    from spikeinterface.core import generate_ground_truth_recording, generate_sorting, generate_templates
    from spikeinterface.core.generate import generate_unit_locations

    peaks, rates = KINDS[kind]
    probe = pi.generate_linear_probe(num_elec=1) if kind == "single" else pi.generate_tetrode()
    probe.set_device_channel_indices(np.arange(probe.get_contact_count()))
    fs, seconds, n = khz * 1e3, minutes * 60.0, len(peaks)
    sorting = generate_sorting(num_units=n, sampling_frequency=fs, durations=[seconds], firing_rates=rates,
                               refractory_period_ms=4.0, seed=seed)
    if kind == "single":
        locations = np.array([[0.0, 0.0, 20.0]] * n)
    else:
        locations = generate_unit_locations(n, probe.contact_positions, seed=seed, margin_um=10.0, minimum_z=5.0,
                                            maximum_z=50.0, minimum_distance=10.0)

    def templates(alpha):
        return generate_templates(probe.contact_positions, locations, fs, 1.0, 3.0, seed=seed,
                                  unit_params=dict(alpha=alpha))

    alpha = np.asarray(peaks, dtype=float) * NOISE_UV / np.abs(templates(np.ones(n))).max(axis=(1, 2))
    return generate_ground_truth_recording(
        durations=[seconds], sampling_frequency=fs, sorting=sorting, probe=probe, templates=templates(alpha),
        ms_before=1.0, ms_after=3.0, seed=seed, noise_kwargs=dict(noise_levels=NOISE_UV, strategy="on_the_fly"))


def accuracies(recording, truth, bands: bool) -> tuple[np.ndarray, float]:
    from spikeinterface.comparison import compare_sorter_to_ground_truth
    from engine.sorting.spikeinterface import run_sparsesort

    start = time.perf_counter()
    sorting = run_sparsesort(recording, bands=bands)
    seconds = time.perf_counter() - start
    performance = compare_sorter_to_ground_truth(truth, sorting, exhaustive_gt=True).get_performance()
    return performance["accuracy"].astype(float).to_numpy(), seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=sorted(KINDS), default="single")
    parser.add_argument("--khz", type=float, default=30.0)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args(argv)
    print("| recording | seed | bands off | bands on |\n|---|---|---|---|")
    for seed in args.seeds:
        recording, truth = generate(args.kind, args.khz, args.minutes, seed)
        cells = []
        for bands in (False, True):
            acc, seconds = accuracies(recording, truth, bands)
            cells.append(f"{acc.mean():.3f} ({', '.join(f'{a:.2f}' for a in acc)}), {seconds:.1f} s")
        print(f"| {args.kind}, {args.khz:g} kHz, {args.minutes:g} min | {seed} | {cells[0]} | {cells[1]} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
