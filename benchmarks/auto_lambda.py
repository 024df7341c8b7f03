"""Auto lambda (EM, `lam_auto`) against the noise-based default, on simulated recordings.

For each data set: train with the default lambda and with lambda learned by
EM, sort the whole recording, and report lambda (also over the noise-based
value), the final filter errors and per-unit accuracy.

    python benchmarks/auto_lambda.py [--minutes 17] [--snr 16 12] [--rate 30 10] [--threads N] [--out results.json]

Every combination of --snr and --rate is one data set (the seed's is 16 dB, 30 Hz).
"""
from __future__ import annotations

import argparse
import itertools
import json

import torch

from engine.groundtruth.simulate import SimulationConfig, simulate_recording
from seed_simulation import run_sparsesort

REPORTED = ("lambda", "noise_lambda", "final_filter_error", "accuracy", "precision", "recall", "train_seconds")


def compare(rec, max_steps: int) -> dict:
    runs = {"default": run_sparsesort(rec, 0.05, max_steps),
            "auto": run_sparsesort(rec, 0.05, max_steps, lam_auto=True)}
    report = {name: {key: run[key] for key in REPORTED} for name, run in runs.items()}
    report["auto"]["lambda_over_noise_lambda"] = round(runs["auto"]["lambda"] / runs["auto"]["noise_lambda"], 3)
    report["accuracy_change"] = [round(a - d, 4) for a, d in zip(runs["auto"]["accuracy"], runs["default"]["accuracy"])]
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=17.0)
    parser.add_argument("--snr", type=float, nargs="+", default=[16.0], help="dB")
    parser.add_argument("--rate", type=float, nargs="+", default=[30.0], help="Hz per unit")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {"torch_threads": torch.get_num_threads(), "minutes": args.minutes}
    for snr, rate in itertools.product(args.snr, args.rate):
        rec = simulate_recording(SimulationConfig(minutes=args.minutes, snr_db=snr, rate_hz=rate))
        results[f"{snr:g} dB, {rate:g} Hz"] = compare(rec, args.steps)
        print(json.dumps({f"{snr:g} dB, {rate:g} Hz": results[f"{snr:g} dB, {rate:g} Hz"]}), flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
