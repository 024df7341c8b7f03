"""K-deep simplex against k-means and scikit-learn's spectral clustering, and in the curation's re-cluster split.

    python benchmarks/k_deep_simplex.py [--out results.json]

Part 1, clustering (one run, one thread, the same machine for every method):
scikit-learn's digits (1,797 images of 8 x 8 pixels, 10 classes, scaled to
[0, 1]), two moons (1,000 points, noise 0.05) and concentric circles (1,000
points, noise 0.05, factor 0.5). K-deep simplex runs with
engine.manifold.k_deep_simplex's defaults and 15 atoms per cluster; k-means
with 10 restarts; spectral clustering with scikit-learn's default RBF
affinity and with its 10-nearest-neighbour graph. Accuracy is that of the
best one-to-one matching of clusters to classes; times are process CPU
seconds.

Part 2, the curation's split (engine.curation.recluster, the Shift+K action):
a generated 4-channel recording (10 kHz, 120 s, unit noise) holds a bursting,
drifting unit A (bursts of 2-5 spikes 4 ms apart whose amplitude falls by a
factor 0.7 from spike to spike; its footprint moves from channel 0 to
channel 2 over the recording) and a steady unit B whose footprint is A's at
mid-recording with a wider waveform. The unit's cluster holds both; the
split is made from the same features the window uses (3 PCA components of
the snippets) by k-means and by K-deep simplex, and scored against the two
true units, on three recordings (seeds 0, 1, 2). Also reported: how each splits unit A alone (a correct split
does not exist there; the figure is how evenly A is cut).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.datasets import load_digits, make_circles, make_moons

from engine.curation.features import pca_features, read_snippets
from engine.curation.recluster import recluster
from engine.manifold.k_deep_simplex import ATOMS_PER_CLUSTER, KDSConfig, clustering_accuracy, k_deep_simplex
from engine.recording.base import ArrayRecording
from motifs_speed import machine
from poisson_denoising import save_results

RATE = 10_000.0
SPLIT_SEEDS = (0, 1, 2)  # generated recordings of part 2


def data_sets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    digits = load_digits()
    return {"digits": (digits.data / 16.0, digits.target),
            "two moons": make_moons(1000, noise=0.05, random_state=0),
            "circles": make_circles(1000, noise=0.05, factor=0.5, random_state=0)}


def timed(function):
    start = time.process_time()
    labels = function()
    return labels, time.process_time() - start


def clustering(seed: int = 0) -> dict:
    methods = {
        "K-deep simplex": lambda x, k: k_deep_simplex(x, KDSConfig(n_clusters=k, n_atoms=ATOMS_PER_CLUSTER * k,
                                                                   seed=seed)).labels,
        "k-means": lambda x, k: KMeans(k, n_init=10, random_state=seed).fit_predict(x),
        "spectral (RBF)": lambda x, k: SpectralClustering(k, random_state=seed).fit_predict(x),
        "spectral (10-NN)": lambda x, k: SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=10,
                                                            random_state=seed).fit_predict(x),
    }
    out = {}
    for name, (points, truth) in data_sets().items():
        k = len(np.unique(truth))
        out[name] = {}
        for method, run in methods.items():
            labels, seconds = timed(lambda: run(points, k))
            out[name][method] = {"accuracy": clustering_accuracy(labels, truth), "seconds": seconds}
            print(f"{name}: {method} {out[name][method]['accuracy']:.3f} in {seconds:.1f} s", flush=True)
    return out


def waveform(t_ms: np.ndarray, width_ms: float) -> np.ndarray:
    """A trough and a slower rebound, peak -1."""
    trough = -np.exp(-0.5 * (t_ms / (0.25 * width_ms)) ** 2)
    rebound = 0.35 * np.exp(-0.5 * ((t_ms - 0.8 * width_ms) / (0.5 * width_ms)) ** 2)
    return trough + rebound


def drifting_bursting_recording(rng: np.random.Generator, seconds: float = 120.0):
    """The recording of part 2 and the two units' spike times (trough samples)."""
    n = int(seconds * RATE)
    taps = np.arange(-20, 40)
    t_ms = taps / RATE * 1000.0
    traces = rng.normal(size=(n, 4)).astype(np.float32)
    channels = np.arange(4)

    def footprint(centre):
        return np.exp(-0.5 * ((channels - centre) / 0.8) ** 2)

    def place(times, amplitudes, centres, width_ms):
        shape = waveform(t_ms, width_ms)
        for time_, amplitude, centre in zip(times, amplitudes, centres):
            traces[time_ + taps] += (amplitude * shape[:, None] * footprint(centre)[None]).astype(np.float32)

    bursts = np.sort(rng.uniform(0.01, seconds - 0.1, int(4 * seconds)))
    a_times, a_amplitudes = [], []
    for start in bursts:
        for k in range(rng.integers(2, 6)):
            a_times.append(int((start + 0.004 * k) * RATE))
            a_amplitudes.append(12.0 * 0.7 ** k)
    a_times = np.asarray(a_times)
    a_centres = a_times / n * 2.0  # channel 0 to channel 2 over the recording
    place(a_times, a_amplitudes, a_centres, 1.0)
    b_times = np.sort(rng.choice(np.arange(100, n - 100), int(8 * seconds), replace=False))
    b_times = b_times[np.min(np.abs(b_times[:, None] - a_times[None]), axis=1) > 60]  # no overlaps
    place(b_times, np.full(len(b_times), 8.0), np.full(len(b_times), 1.0), 1.6)
    return ArrayRecording(traces, RATE), a_times, b_times


def curation_split(seed: int = 0) -> dict:
    recording, a_times, b_times = drifting_bursting_recording(np.random.default_rng(seed))
    times = np.concatenate([a_times, b_times])
    truth = np.r_[np.zeros(len(a_times), int), np.ones(len(b_times), int)]
    out = {"spikes of A": len(a_times), "spikes of B": len(b_times)}
    for label, keep in (("A and B", np.ones(len(times), bool)), ("A alone", truth == 0)):
        features = pca_features(read_snippets(recording, times[keep]), 3)
        for method in ("kmeans", "kds"):
            parts, seconds = timed(lambda: recluster(features, method, seed=seed))
            entry = {"seconds": seconds, "smaller part": float(min(np.bincount(parts, minlength=2)) / len(parts))}
            if label == "A and B":
                entry["accuracy"] = clustering_accuracy(parts, truth)
            out[f"{label}: {method}"] = entry
            print(f"split of {label} by {method}: {entry}", flush=True)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="k_deep_simplex")
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "clustering": clustering(), "curation split": {seed: curation_split(seed) for seed in SPLIT_SEEDS}}
    print("\n| data | " + " | ".join(results["clustering"]["digits"]) + " |")
    print("|---|" + "---|" * len(results["clustering"]["digits"]))
    for name, row in results["clustering"].items():
        print(f"| {name} | " + " | ".join(f"{v['accuracy']:.3f} ({v['seconds']:.1f} s)" for v in row.values()) + " |")
    for seed, row in results["curation split"].items():
        print(f"recording {seed}: A and B split by k-means {row['A and B: kmeans']['accuracy']:.3f}, "
              f"by K-deep simplex {row['A and B: kds']['accuracy']:.3f}")
    save_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
