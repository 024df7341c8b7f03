"""Hᵀy (correlation) and Hx (decoder) on the CPU: block-Toeplitz matrix products vs torch conv1d.

    python benchmarks/correlation_speed.py
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from engine.model.correlation import convolve_full, correlate

SHAPES = [(1, 3, 45, 200_000), (4, 5, 45, 100_000), (32, 20, 45, 50_000)]  # channels, units, taps, samples


def seconds(fn, repeats=20):
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main():
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("channels units taps samples | corr conv1d ms | corr toeplitz ms | decode conv_transpose1d ms | "
          "decode toeplitz ms")
    for channels, units, taps, n in SHAPES:
        y = torch.randn(1, channels, n)
        w = torch.randn(units, channels, taps)
        x = torch.randn(1, units, n - taps + 1)
        with torch.no_grad():
            row = [seconds(lambda: F.conv1d(y, w)), seconds(lambda: correlate(y, w)),
                   seconds(lambda: F.conv_transpose1d(x, w)), seconds(lambda: convolve_full(x, w))]
        print(f"{channels} {units} {taps} {n} | " + " | ".join(f"{1e3 * s:.2f}" for s in row))


if __name__ == "__main__":
    main()
