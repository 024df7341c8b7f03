"""``sparsesort denoise``: a low-photon image, or a stack of frames (a two-photon movie), denoised by the Poisson
convolutional auto-encoder (DCEA)."""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
from tqdm import tqdm

from engine.cli.common import Command, UsageError


def add_arguments(p) -> None:
    p.add_argument("image", help="photon counts: an image or a stack of frames (frames x height x width) in a .npy "
                                 "or a TIFF (multi-page for a stack), or an image file (PNG, ...) whose values are "
                                 "counts")
    p.add_argument("--peak", type=float,
                   help="expected count of the brightest pixels (the noise level: 1 is one photon); default: "
                        "estimated, the median over frames of each frame's 99.9th percentile of its 5 x 5 local "
                        "mean")
    p.add_argument("--untied", action="store_true", help="DCEA-UC (untied encoder) instead of DCEA-C")
    p.add_argument("--model", help="a model saved by engine.imaging.dcea.save_denoiser (default: the bundled one)")
    p.add_argument("--simulate", action="store_true",
                   help="IMAGE is clean (an image or a stack): draw its counts at the peak, denoise them and print "
                        "the PSNRs")
    p.add_argument("--seed", type=int, default=0, help="random seed of --simulate's counts")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--batch-size", type=int,
                   help="frames encoded at a time (default: about 512 MB of encoder, 2 frames of 512 x 512)")
    p.add_argument("--out", help="write the denoised counts (the rate, float32): .npy or .tif, a stack frame by frame "
                                 "in order; or, for an image, another image file (8 bits of rate / peak). Default "
                                 "for a stack: NAME.denoised.npy or .tif beside it")
    p.add_argument("--json", action="store_true", help="print one JSON summary")


def default_output(path) -> str:
    root, ext = os.path.splitext(os.fspath(path))
    return f"{root}.denoised{ext}"


def write_picture(path, denoised: np.ndarray) -> None:
    """An 8-bit image of a denoised image in [0, 1]."""
    from PIL import Image

    from engine.io.atomic import atomic_path
    with atomic_path(path, keep_extension=True) as tmp:
        Image.fromarray(np.round(np.clip(denoised, 0, 1) * 255).astype(np.uint8)).save(tmp)


def run(args) -> int:
    from engine.imaging.dcea import bundled_denoiser, denoise_stack, load_denoiser, poisson_noise, psnr
    from engine.imaging.stacks import check_counts, open_stack, stack_writer
    from engine.model.device import describe_device, resolve_device
    if args.peak is not None and not args.peak > 0:
        raise UsageError(f"--peak must be positive (got {args.peak:g})")
    if args.simulate and args.peak is None:
        raise UsageError("--simulate needs --peak: the counts are drawn at it")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1 (got {args.batch_size})")
    device = resolve_device(args.device)
    with open_stack(args.image) as (frames, image):
        out, as_stack = _output(args, image)
        estimated = check_counts(args.image, frames)  # every frame read once: counts, or a clean image to simulate
        clean = None
        if args.simulate:
            clean = np.asarray(frames[:], np.float64)
            clean = clean / (255.0 if clean.max() > 1 else max(clean.max(), 1e-12))
            frames = poisson_noise(clean, args.peak, np.random.default_rng(args.seed))
        peak = args.peak if args.peak is not None else estimated
        if not peak > 0:
            raise UsageError(f"{args.image}: almost every count is zero, so the peak cannot be estimated: give --peak")
        model = load_denoiser(args.model) if args.model else bundled_denoiser(peak, tied=not args.untied)
        summary = {"image": os.fspath(args.image), "frames": int(frames.shape[0]), "height": int(frames.shape[1]),
                   "width": int(frames.shape[2]), "peak": peak, "peak_estimated": args.peak is None,
                   "model": "DCEA-C" if model.tied else "DCEA-UC", "trained_peak": model.peak,
                   "parameters": model.n_parameters(), "device": describe_device(device)}
        model.to(device)
        model.peak = peak  # the rate over the peak is the image in [0, 1]; a model of another peak is applied as is
        start = time.perf_counter()
        with tqdm(total=frames.shape[0], desc="denoising", unit="frame", disable=args.quiet, file=sys.stderr,
                  leave=False) as bar:
            if as_stack:
                with stack_writer(out, frames.shape, image) as rate:
                    denoise_stack(frames, model, args.batch_size, out=rate, progress=bar.update)
                    summary.update(_psnrs(frames, rate, clean, peak, psnr))
            else:
                rate = denoise_stack(frames, model, args.batch_size, progress=bar.update)
                summary.update(_psnrs(frames, rate, clean, peak, psnr))
                if out:
                    write_picture(out, rate[0] / peak)
    seconds = time.perf_counter() - start
    summary.update(seconds=seconds, frames_per_second=frames.shape[0] / seconds)
    if out:
        summary["out"] = os.fspath(out)
    _report(summary, args.json)
    return 0


def _output(args, image: bool) -> tuple[str | None, bool]:
    """Where the denoised frames go (checked before any work), and whether as a stack file (.npy, .tif) rather
    than an 8-bit picture; a stack without --out goes beside its file."""
    from engine.imaging.stacks import STACK_FORMATS, check_stack_output
    from engine.io.atomic import check_writable
    out = args.out if args.out or image or args.simulate else default_output(args.image)
    as_stack = out is not None and os.path.splitext(out)[1].lower() in STACK_FORMATS
    if as_stack or (out and not image):
        check_stack_output(out)
    elif out:
        check_writable(out)
    return out, as_stack


def _psnrs(counts, rate, clean, peak: float, psnr) -> dict:
    """With --simulate's clean frames: the mean over frames of the PSNR of the counts and of the denoised rate,
    each over the peak."""
    if clean is None:
        return {}
    def mean(estimates) -> float:
        return float(np.mean([psnr(np.clip(e / peak, 0, 1), c) for e, c in zip(estimates, clean)]))
    return {"psnr_noisy": mean(counts), "psnr_denoised": mean(rate)}


def _report(summary: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary))
        return
    stack = f"{summary['frames']} frames of " if summary["frames"] > 1 else ""
    given = " (estimated)" if summary["peak_estimated"] else ""
    print(f"{summary['model']} ({summary['parameters']} parameters, trained at peak {summary['trained_peak']:g}) on "
          f"{stack}{summary['height']} x {summary['width']} pixels at peak {summary['peak']:.3g}{given}, "
          f"{summary['frames_per_second']:.2f} frames/s on {summary['device']}")
    if "psnr_denoised" in summary:
        mean = " (mean over frames)" if summary["frames"] > 1 else ""
        print(f"  PSNR: noisy {summary['psnr_noisy']:.2f} dB, denoised {summary['psnr_denoised']:.2f} dB{mean}")
    if "out" in summary:
        print(f"  wrote {summary['out']}")


COMMAND = Command("denoise", "denoise a low-photon (Poisson) image or stack of frames with the convolutional "
                             "auto-encoder (DCEA)", add_arguments, run)
