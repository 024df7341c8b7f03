"""The seed's experiment: learn 3 spike waveforms from 17 minutes at 10 kHz, then sort.

Reports the seconds sparsesort needs until every filter's error is <= the
target, the final errors, the sorting time and per-unit precision / recall.

With --sporco it also runs sporco's ConvBPDNDictLearn on the same data, from
the same initial filters, until every filter error is <= the target or the
time limit passes. sporco gets the data scaled to unit variance and lambda at
the universal threshold of that scale, as ours; with a lambda well below it
(0.5 in these units) its filters drift away from the truth.

    python benchmarks/seed_simulation.py [--minutes 17] [--sporco --sporco-limit 900] [--out results.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from engine.training.initialization import initial_filters
from engine.groundtruth.metrics import compare_spike_trains, match_filters
from engine.groundtruth.simulate import SimulationConfig, simulate_recording
from engine.sorting.sorter import sort_recording
from engine.training.trainer import TrainConfig, Trainer


def run_sparsesort(rec, target, max_steps, **config):
    """Train (TrainConfig defaults, 3 units, overridden by ``config``), then sort and score."""
    trainer = Trainer(rec, TrainConfig(n_units=3, max_steps=max_steps, device="auto", **config),
                      snapshot_interval=0.0)
    t0 = time.perf_counter()
    trainer.initialize()
    init_seconds = time.perf_counter() - t0
    reached = None
    curve = []
    for snap in trainer.steps():
        seconds = init_seconds + snap.elapsed
        curve.append((snap.step, round(seconds, 2), [round(e, 4) for e in snap.filter_error]))
        if reached is None and max(snap.filter_error) <= target:
            reached = seconds
    train_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = sort_recording(rec, trainer.model)
    sort_seconds = time.perf_counter() - t0
    truth = rec.ground_truth
    scores = compare_spike_trains(truth.spike_times, truth.spike_units, result.times, result.units,
                                  rec.sampling_rate)
    return {
        "device": str(trainer.device),
        "init_seconds": round(init_seconds, 2),
        "seconds_to_target": None if reached is None else round(reached, 2),
        "train_seconds": round(train_seconds, 2),
        "steps": trainer.step,
        "lambda": round(trainer.model.lam, 4),
        "noise_lambda": round(trainer.noise_lambda, 4),
        "final_filter_error": curve[-1][2],
        "sort_seconds": round(sort_seconds, 2),
        "precision": [round(s.precision, 4) for s in scores],
        "recall": [round(s.recall, 4) for s in scores],
        "accuracy": [round(s.accuracy, 4) for s in scores],
        "curve": curve,
    }


def run_sporco(rec, target, time_limit):
    """sporco's convolutional dictionary learning from the same initial filters."""
    from sporco.dictlrn import cbpdndl

    from engine.recording.noise import noise_std, universal_lambda

    traces = rec.traces()[:, 0].astype(np.float64)
    n = int(rec.sampling_rate)  # one-second signals
    scale = traces.std()
    signals = (traces[: len(traces) // n * n] / scale).reshape(-1, n).T  # (samples, signals)
    lam = universal_lambda(float(noise_std(rec.traces()[:, :1])[0]) / scale, 3, n)
    init = initial_filters(rec.traces(0, int(60 * rec.sampling_rate)), 45, 3)
    d0 = init.filters[:, 0, :].T.copy()  # (taps, filters)
    truth = rec.ground_truth.waveforms
    state = {"start": None, "reached": None, "errors": None, "iterations": 0}

    def callback(learner):
        d = np.asarray(learner.getdict()).reshape(d0.shape).T  # (filters, taps)
        _, errors = match_filters(d[:, None, :], truth)
        elapsed = time.perf_counter() - state["start"]
        state["errors"] = [round(float(e), 4) for e in errors]
        state["iterations"] += 1
        if state["reached"] is None and errors.max() <= target:
            state["reached"] = elapsed
            return True
        return elapsed > time_limit

    opt = cbpdndl.ConvBPDNDictLearn.Options({
        "Verbose": False, "MaxMainIter": 100000, "Callback": callback,
        "CBPDN": {"rho": 50.0 * lam + 0.5, "AutoRho": {"Enabled": True}, "NonNegCoef": True},
        "CCMOD": {"ZeroMean": False},
    }, dmethod="cns")
    state["start"] = time.perf_counter()
    learner = cbpdndl.ConvBPDNDictLearn(d0, signals, lam, opt, dmethod="cns", dimK=1, dimN=1)
    learner.solve()
    return {
        "lambda": round(lam, 4),
        "seconds_to_target": None if state["reached"] is None else round(state["reached"], 2),
        "seconds_run": round(time.perf_counter() - state["start"], 2),
        "iterations": state["iterations"],
        "final_filter_error": state["errors"],
        "time_limit": time_limit,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=17.0)
    parser.add_argument("--target", type=float, default=0.05)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--sporco-limit", type=float, default=900.0, help="seconds before sporco is stopped")
    parser.add_argument("--sporco", action="store_true", help="also run sporco's ConvBPDNDictLearn")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    rec = simulate_recording(SimulationConfig(minutes=args.minutes))
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
                   f"torch {torch.__version__}",
        "recording": f"{args.minutes:g} min, 10 kHz, 3 units, {len(rec.ground_truth.spike_times)} spikes",
        "sparsesort": run_sparsesort(rec, args.target, args.steps),
    }
    if args.sporco:
        report["sporco"] = run_sporco(rec, args.target, args.sporco_limit)
        ours = report["sparsesort"]["seconds_to_target"]
        theirs = report["sporco"]["seconds_to_target"] or report["sporco"]["seconds_run"]
        if ours:
            report["speedup_vs_sporco"] = round(theirs / ours, 1)
            report["speedup_is_lower_bound"] = report["sporco"]["seconds_to_target"] is None
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
