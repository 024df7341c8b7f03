"""A low-photon movie denoised frame by frame: the bundled DCEA-C and DCEA-UC against BM3D after the Anscombe
transform, with the frames per second of the stack path (engine.imaging.dcea.denoise_stack).

    python benchmarks/two_photon_stack.py [--frames 16] [--size 256] [--cells 40] [--peaks 1 2 4]
                                          [--bm3d-frames 4] [--out results.json]

The movie is engine.imaging.simulation.planted_frames (round cells that drift
a pixel a frame and flicker on a dim background, the brightest pixel 1);
each peak gets one draw of Poisson counts (seed 1). The peak is estimated
from the counts as ``sparsesort denoise`` does (engine.imaging.stacks.check_counts)
and picks the bundled model. PSNRs are of the rate over the true peak,
clipped to [0, 1], averaged over frames; BM3D runs on the first
``--bm3d-frames`` frames only (it takes seconds a frame). Frames per second
are wall-clock, reading from memory, with the load average beside them.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from engine.imaging.dcea import bundled_denoiser, denoise_stack, poisson_noise, psnr
from engine.imaging.simulation import planted_frames
from engine.imaging.stacks import check_counts
from motifs_speed import machine
from poisson_denoising import anscombe_bm3d, save_results


def mean_psnr(estimates, clean, peak: float) -> float:
    return float(np.mean([psnr(np.clip(e / peak, 0, 1), c) for e, c in zip(estimates, clean)]))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="two_photon_stack")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--peaks", type=float, nargs="+", default=[1.0, 2.0, 4.0])
    parser.add_argument("--bm3d-frames", type=int, default=4, help="frames BM3D denoises (0: none)")
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    clean = planted_frames(args.frames, args.size, n_cells=args.cells, seed=1)
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "frames": args.frames, "size": args.size, "cells": args.cells, "peaks": {}}
    for peak in args.peaks:
        counts = poisson_noise(clean, peak, np.random.default_rng(1))
        estimated = check_counts("movie", counts)
        row = {"estimated peak": estimated, "noisy": mean_psnr(counts, clean, peak)}
        for tied, label in ((True, "DCEA-C"), (False, "DCEA-UC")):
            model = bundled_denoiser(estimated, tied)
            load = os.getloadavg()[0]
            start, cpu = time.perf_counter(), time.process_time()
            rate = denoise_stack(counts, model)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            row[label] = mean_psnr(rate, clean, peak)
            row[f"{label} trained peak"] = model.peak
            row[f"{label} frames per second"] = args.frames / seconds
            row[f"{label} frames per CPU second"] = args.frames / cpu
            row[f"{label} load"] = (load + os.getloadavg()[0]) / 2
        if args.bm3d_frames:
            n = min(args.bm3d_frames, args.frames)
            start, cpu = time.perf_counter(), time.process_time()
            bm3d = [anscombe_bm3d(c) for c in counts[:n]]
            row["BM3D+Anscombe frames per second"] = n / (time.perf_counter() - start)
            row["BM3D+Anscombe frames per CPU second"] = n / (time.process_time() - cpu)
            row["BM3D+Anscombe"] = mean_psnr(bm3d, clean[:n], peak)
            row["noisy (BM3D frames)"] = mean_psnr(counts[:n], clean[:n], peak)
            row["DCEA-C (BM3D frames)"] = mean_psnr(denoise_stack(counts[:n], bundled_denoiser(estimated)),
                                                     clean[:n], peak)
        results["peaks"][f"{peak:g}"] = row
        print(f"peak {peak:g} (estimated {estimated:.2f}, models of peak {row['DCEA-C trained peak']:g}): noisy "
              f"{row['noisy']:.2f} dB, DCEA-C {row['DCEA-C']:.2f} dB ({row['DCEA-C frames per second']:.2f} frames/s, "
              f"{row['DCEA-C frames per CPU second']:.2f} per CPU second, load {row['DCEA-C load']:.1f}), DCEA-UC "
              f"{row['DCEA-UC']:.2f} dB ({row['DCEA-UC frames per second']:.2f} frames/s)", flush=True)
        if args.bm3d_frames:
            print(f"  on the first {n} frames: noisy {row['noisy (BM3D frames)']:.2f} dB, BM3D+Anscombe "
                  f"{row['BM3D+Anscombe']:.2f} dB ({row['BM3D+Anscombe frames per second']:.2f} frames/s, "
                  f"{row['BM3D+Anscombe frames per CPU second']:.2f} per CPU second), DCEA-C "
                  f"{row['DCEA-C (BM3D frames)']:.2f} dB", flush=True)
    print(f"\nMachine: {results['machine']}; {results['date']}")
    save_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
