"""Poisson image denoising: DCEA-C and DCEA-UC against BM3D after the Anscombe transform, at peaks 1, 2 and 4.

    python benchmarks/poisson_denoising.py [--peaks 1 2 4] [--steps 200] [--save-weights engine/imaging/weights]
                                           [--out results.json]

Set12 and BSD68 cannot be fetched here, so the images are those that ship
with scikit-image and scikit-learn, in grey levels scaled to [0, 1]:
test on six photographs resized to 256 x 256 (camera, astronaut, chelsea,
coffee, coins, clock: Set12's size and kind), training on ten others (rocket,
moon, brick, grass, gravel, immunohistochemistry, page, text and
scikit-learn's china and flower, halved where larger than 400 pixels). For
every peak each model is trained (engine.imaging.dcea.train_denoiser, the
config's defaults) and every test image gets one draw of Poisson counts
(seed 1) that every method denoises. BM3D (the ``bm3d`` package, in the
``bench`` extra) runs on the Anscombe transform 2 sqrt(y + 3/8) with unit
noise and is inverted with the closed-form approximation of the exact
unbiased inverse (Makitalo & Foi 2011). Prints a Markdown table of mean
PSNRs beside the talk's figures on Set12, the parameter counts and the
times; --save-weights writes the trained models as the command's bundled
ones.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from engine.imaging.dcea import (DenoiserConfig, bundled_name, denoise, poisson_noise, psnr, save_denoiser,
                                 train_denoiser)
from motifs_speed import machine

TEST_IMAGES = ("camera", "astronaut", "chelsea", "coffee", "coins", "clock")
TRAIN_IMAGES = ("rocket", "moon", "brick", "grass", "gravel", "immunohistochemistry", "page", "text")
TEST_SIZE = 256
TALK_SET12 = {"DCEA-C": {1: 20.39, 2: 21.70, 4: 22.56}, "DCEA-UC": {1: 20.72, 2: 22.02, 4: 23.51},
              "CA": {1: 21.51, 2: 22.97, 4: 24.40}}
TALK_PARAMETERS = {"DCEA-C": "20K", "DCEA-UC": "61K", "CA": "655K", "SPDA": "160K"}


def grey(image: np.ndarray) -> np.ndarray:
    from skimage import color
    image = np.asarray(image)
    if image.ndim == 3:
        image = color.rgb2gray(image[..., :3])
    image = image.astype(np.float64)
    return image / 255.0 if image.max() > 1.0 else image


def image_sets() -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    from skimage import data, transform
    from sklearn.datasets import load_sample_images
    test = {name: transform.resize(grey(getattr(data, name)()), (TEST_SIZE, TEST_SIZE), anti_aliasing=True)
            for name in TEST_IMAGES}
    train = [grey(getattr(data, name)()) for name in TRAIN_IMAGES] + [grey(i) for i in load_sample_images().images]
    train = [transform.rescale(t, 0.5, anti_aliasing=True) if min(t.shape) >= 400 else t for t in train]
    return test, train


def anscombe_bm3d(counts: np.ndarray) -> np.ndarray:
    """BM3D on the Anscombe transform, then the closed-form approximation of the exact unbiased inverse."""
    import bm3d
    d = np.maximum(bm3d.bm3d(2.0 * np.sqrt(counts + 3.0 / 8.0), sigma_psd=1.0), 1e-3)
    inverse = 0.25 * d ** 2 + 0.25 * np.sqrt(1.5) / d - 11.0 / 8.0 / d ** 2 + 5.0 / 8.0 * np.sqrt(1.5) / d ** 3 - 0.125
    return np.maximum(inverse, 0.0)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="poisson_denoising")
    parser.add_argument("--peaks", type=float, nargs="+", default=[1.0, 2.0, 4.0])
    parser.add_argument("--steps", type=int, default=DenoiserConfig.train_steps)
    parser.add_argument("--save-weights", help="folder to write the trained models to, as the bundled ones")
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    test, train = image_sets()
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "test_images": list(TEST_IMAGES), "train_images": list(TRAIN_IMAGES) + ["china", "flower"],
               "peaks": {}}
    for peak in args.peaks:
        rng = np.random.default_rng(1)
        counts = {name: poisson_noise(image, peak, rng) for name, image in test.items()}
        row = {"noisy": {n: psnr(np.clip(c / peak, 0, 1), test[n]) for n, c in counts.items()}}
        start = time.process_time()
        row["BM3D+Anscombe"] = {n: psnr(np.clip(anscombe_bm3d(c) / peak, 0, 1), test[n]) for n, c in counts.items()}
        row["BM3D+Anscombe seconds per image"] = (time.process_time() - start) / len(counts)
        for tied, label in ((True, "DCEA-C"), (False, "DCEA-UC")):
            config = DenoiserConfig(peak=peak, tied=tied, train_steps=args.steps)
            start = time.process_time()
            model = train_denoiser(train, config)
            row[f"{label} training seconds"] = time.process_time() - start
            row[f"{label} parameters"] = model.n_parameters()
            start = time.process_time()
            row[label] = {n: psnr(denoise(c, model), test[n]) for n, c in counts.items()}
            row[f"{label} seconds per image"] = (time.process_time() - start) / len(counts)
            if args.save_weights:
                save_denoiser(os.path.join(args.save_weights, bundled_name(peak, tied)), model, config)
        results["peaks"][f"{peak:g}"] = row
        print(f"peak {peak:g}: " + ", ".join(f"{m} {np.mean(list(row[m].values())):.2f} dB"
                                             for m in ("noisy", "BM3D+Anscombe", "DCEA-C", "DCEA-UC")), flush=True)
    print_table(results)
    save_results(args.out, results)
    return results


def save_results(path, results: dict) -> None:
    """Write a benchmark's results as JSON (nothing without a path); the other seed benchmarks use it too."""
    if path:
        with open(path, "w") as handle:
            json.dump(results, handle, indent=1)


def print_table(results: dict) -> None:
    peaks = list(results["peaks"])
    print("\n| method | parameters | " + " | ".join(f"peak {p}" for p in peaks) + " | talk, Set12 |")
    print("|---|---|" + "---|" * len(peaks) + "---|")
    for method in ("noisy", "BM3D+Anscombe", "DCEA-C", "DCEA-UC"):
        first = results["peaks"][peaks[0]]
        parameters = first.get(f"{method} parameters", "")
        cells = [f"{np.mean(list(results['peaks'][p][method].values())):.2f}" for p in peaks]
        talk = TALK_SET12.get(method, {})
        talk_cells = " / ".join(f"{talk[float(p)]:.2f}" for p in peaks if float(p) in talk)
        talk_parameters = TALK_PARAMETERS.get(method, "")
        print(f"| {method} | {parameters}{f' (talk {talk_parameters})' if talk_parameters else ''} | "
              + " | ".join(cells) + f" | {talk_cells} |")
    print(f"\nMachine: {results['machine']}; {results['date']}")


if __name__ == "__main__":
    main()
