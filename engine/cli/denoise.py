"""``sparsesort denoise``: a low-photon image denoised by the Poisson convolutional auto-encoder (DCEA)."""
from __future__ import annotations

import json
import os

import numpy as np

from engine.cli.common import Command, UsageError


def add_arguments(p) -> None:
    p.add_argument("image", help="photon counts: .npy, or an image file (PNG, TIFF, ...) whose values are counts")
    p.add_argument("--peak", type=float, required=True,
                   help="expected count of the brightest pixel (the noise level: 1 is one photon)")
    p.add_argument("--untied", action="store_true", help="DCEA-UC (untied encoder) instead of DCEA-C")
    p.add_argument("--model", help="a model saved by engine.imaging.dcea.save_denoiser (default: the bundled one)")
    p.add_argument("--simulate", action="store_true",
                   help="IMAGE is a clean image: draw its counts at the peak, denoise them and print the PSNRs")
    p.add_argument("--seed", type=int, default=0, help="random seed of --simulate's counts")
    p.add_argument("--out", help="write the denoised image: .npy (rate in counts) or an image file (8 bits)")
    p.add_argument("--json", action="store_true", help="print one JSON summary")


def read_image(path) -> np.ndarray:
    """A single-channel image as float (height, width); colour images are averaged over their channels."""
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    if str(path).endswith(".npy"):
        image = np.load(path)
    else:
        try:
            from PIL import Image
        except ImportError:
            raise UsageError(f"{path}: reading image files needs Pillow (pip install pillow), or give a .npy") from None
        try:
            image = np.asarray(Image.open(path))
        except OSError as exc:
            raise UsageError(f"{path}: not an image ({exc})") from None
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        image = image[..., :3].mean(-1)
    if image.ndim != 2 or min(image.shape) < 8:
        raise UsageError(f"{path}: expected a 2-D image of at least 8 x 8 pixels, got shape {image.shape}")
    return image


def write_image(path, denoised: np.ndarray, peak: float) -> None:
    from engine.io.atomic import atomic_path, check_writable
    check_writable(path)
    if str(path).endswith(".npy"):
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, (denoised * peak).astype(np.float32))
        return
    from PIL import Image
    with atomic_path(path, keep_extension=True) as tmp:
        Image.fromarray(np.round(np.clip(denoised, 0, 1) * 255).astype(np.uint8)).save(tmp)


def run(args) -> int:
    from engine.imaging.dcea import bundled_denoiser, denoise, load_denoiser, poisson_noise, psnr
    if not args.peak > 0:
        raise UsageError(f"--peak must be positive (got {args.peak:g})")
    image = read_image(args.image)
    model = load_denoiser(args.model) if args.model else bundled_denoiser(args.peak, tied=not args.untied)
    summary = {"image": os.fspath(args.image), "peak": args.peak, "model": "DCEA-C" if model.tied else "DCEA-UC",
               "trained_peak": model.peak, "parameters": model.n_parameters()}
    if args.simulate:
        clean = image / (255.0 if image.max() > 1 else max(image.max(), 1e-12))
        counts = poisson_noise(clean, args.peak, np.random.default_rng(args.seed))
    else:
        clean, counts = None, image
        if counts.min() < 0:
            raise UsageError(f"{args.image}: photon counts cannot be negative")
    model.peak = args.peak  # the output is the rate over the peak; a model trained at another peak is applied as is
    denoised = denoise(counts, model)
    if clean is not None:
        summary.update(psnr_noisy=psnr(np.clip(counts / args.peak, 0, 1), clean), psnr_denoised=psnr(denoised, clean))
    if args.out:
        write_image(args.out, denoised, args.peak)
        summary["out"] = os.fspath(args.out)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['model']} ({summary['parameters']} parameters, trained at peak {summary['trained_peak']:g}) "
              f"on {image.shape[0]} x {image.shape[1]} pixels at peak {args.peak:g}")
        if clean is not None:
            print(f"  PSNR: noisy {summary['psnr_noisy']:.2f} dB, denoised {summary['psnr_denoised']:.2f} dB")
        if args.out:
            print(f"  wrote {args.out}")
    return 0


COMMAND = Command("denoise", "denoise a low-photon (Poisson) image with the convolutional auto-encoder (DCEA)",
                  add_arguments, run)
