"""Time to learn firing motifs from one hour of 100 units, and whether the planted ones come back.

    python benchmarks/motifs_speed.py [--minutes 60] [--units 100] [--k 4] [--out results.json]

Simulates Poisson firing at --rate-hz per unit with --k planted sequences of
--units-per-motif units each (every member fires at its own lag, with
probability 0.9, at --motif-rate-hz occurrences per second), bins it
(--bin-ms, 10 ms: 360,000 bins an hour) and times engine.motifs.discovery.discover_motifs
with its default settings. Reports the wall time of each phase, the
process's CPU time (on a shared machine, wall time also counts the others'
work) and, per planted motif, the filter error of the learned motif matched
to it and the fractions of occurrences found within one bin.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from engine.motifs.simulation import match_planted, simulate_population
from engine.motifs.discovery import MotifConfig, bin_spikes, discover_motifs


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"load average {os.getloadavg()[0]:.2f}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="motifs_speed")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--k", type=int, default=4, help="planted motifs, and motifs learned")
    parser.add_argument("--units-per-motif", type=int, default=10)
    parser.add_argument("--rate-hz", type=float, default=5.0, help="background firing rate of every unit")
    parser.add_argument("--motif-rate-hz", type=float, default=0.5, help="occurrences per second of each motif")
    parser.add_argument("--bin-ms", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the figures as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(machine(), flush=True)

    population = simulate_population(n_units=args.units, minutes=args.minutes, k=args.k,
                                      units_per_motif=args.units_per_motif, n_lags=10,
                                      motif_rate_hz=args.motif_rate_hz, baseline_hz=args.rate_hz,
                                      bin_ms=args.bin_ms, seed=args.seed)
    start = time.perf_counter()
    counts = bin_spikes(population.spike_times, population.spike_units, args.units, population.sampling_rate,
                        args.bin_ms, population.n_samples)
    binned = time.perf_counter()
    print(f"{len(population.spike_times):,} spikes of {args.units} units over {args.minutes:g} min: "
          f"{counts.shape[1]:,} bins of {args.bin_ms:g} ms, binned in {binned - start:.2f} s", flush=True)
    step_times: list[float] = []
    cpu_start = time.process_time()
    result = discover_motifs(counts, MotifConfig(k=args.k, bin_ms=args.bin_ms),
                             callback=lambda step, loss: step_times.append(time.perf_counter()))
    end = time.perf_counter()
    cpu_seconds = time.process_time() - cpu_start
    match = match_planted(result, population)
    figures = {
        "machine": machine(), "minutes": args.minutes, "units": args.units, "bins": int(counts.shape[1]),
        "spikes": int(len(population.spike_times)), "k": args.k,
        "seconds": {"binning": binned - start, "discovery": end - binned, "discovery_cpu": cpu_seconds,
                    "seeding_and_first_step": step_times[0] - binned,
                    "training": step_times[-1] - step_times[0], "encoding_session": end - step_times[-1]},
        "filter_errors": match.errors.round(4).tolist(),
        "occurrences_found_within_a_bin": match.found.round(4).tolist(),
        "found_occurrences_that_are_planted": match.genuine.round(4).tolist(),
        "occurrences": [len(o) for o in result.occurrences], "planted": [len(o) for o in population.onsets],
    }
    seconds = figures["seconds"]
    print(f"discovery {seconds['discovery']:.1f} s wall, {cpu_seconds:.1f} s CPU (seeding and first step "
          f"{seconds['seeding_and_first_step']:.1f} s, "
          f"training {seconds['training']:.1f} s, encoding the session {seconds['encoding_session']:.1f} s)")
    print(f"filter error per planted motif: {figures['filter_errors']}")
    print(f"planted occurrences found within a bin: {figures['occurrences_found_within_a_bin']}; "
          f"found ones that are planted: {figures['found_occurrences_that_are_planted']}")
    if args.out:
        with open(args.out, "w") as out:
            json.dump(figures, out, indent=1)
    return figures


if __name__ == "__main__":
    main()
