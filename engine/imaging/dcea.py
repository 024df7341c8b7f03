"""Poisson image denoising with a convolutional exponential-family auto-encoder (DCEA, Tolooshams et al. 2020).

A low-photon image y (photon counts per pixel) is modelled as Poisson with
log rate
    eta = sum_c h_c * x_c + b,
where h_c are 2-D filters, x_c sparse code maps of the image's size, and b
the image's baseline log rate (the link of its mean count, as the firing
motifs' baseline in engine.motifs.discovery). The encoder is the family's
unrolled FISTA (engine.model.family.unrolled_fista) with the Poisson
likelihood of engine.model.likelihoods, the one the motifs' binned spike
counts use, and two-sided soft thresholding (engine.model.activations) as
the sparsity prior on the codes; the denoised image is the decoder's rate
exp(H x_T + b) divided by the peak.

Tied (DCEA-C): the encoder's and the decoder's filters are one bank.
Untied (DCEA-UC): the encoder's synthesis filters (inside the residual),
its analysis filters (the transposed convolution of the gradient step) and
the decoder's filters are three banks. Both are trained supervised, as in
the paper: clean patches, Poisson noise drawn at the peak at every step, and
the mean squared error of the denoised patch, back-propagated through the
unrolled encoder. Each threshold is learned (one per filter), and so is a multiple of the
encoder's step 1 / (L max y). In training a batch of patches shares one step, from its largest
count: 8 patches of 48 x 48 hold about the pixels of a 256 x 256 image, so that step is about an
image's (a step per patch cost 0.17 and 0.32 dB at peak 1, tied and untied, and nothing at 2 and
4). Applied, every image has its own, so a frame is denoised the same alone or in a batch
(``denoise_stack``). Images are
(batch, 1, height, width) tensors in photon counts; clean images are in
[0, 1] and ``peak`` is the expected count of a pixel of value 1.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.io.atomic import atomic_path
from engine.model.activations import SoftThreshold
from engine.model.family import unrolled_fista
from engine.model.likelihoods import Poisson

WEIGHTS = Path(__file__).resolve().parent / "weights"  # bundled models, written by benchmarks/poisson_denoising.py
LIPSCHITZ_GRID = 64  # FFT size on which the filters' operator norm is taken (a bound for any image size)
MIN_MEAN_COUNT = 1e-3
BATCH_BYTES = 2 ** 29  # what the encoder of one batch of frames may hold
CODE_MAPS_PER_FRAME = 8  # measured: the encoder holds about 8 code maps (filters x height x width floats) a frame


@dataclass
class DenoiserConfig:
    peak: float = 1.0
    tied: bool = True
    n_filters: int = 32
    filter_size: int = 11
    n_steps: int = 10  # unrolled FISTA steps
    lam_scale: float = 1.0  # initial threshold of every filter's codes, times sqrt(peak) (the counts' noise level)
    step_scale: float = 2.0  # initial multiple of the encoder step 1 / (L max y), learned
    train_steps: int = 200
    batch_size: int = 8
    patch_size: int = 48
    learning_rate: float = 1e-2  # Adam on the filters
    scalar_learning_rate: float = 5e-2  # Adam on the log thresholds and the log step scale
    seed: int = 0


def baseline(y: torch.Tensor) -> torch.Tensor:
    """b of every image: the Poisson link of its mean count, (batch, 1, 1, 1)."""
    return torch.log(y.mean(dim=(1, 2, 3), keepdim=True).clamp_min(MIN_MEAN_COUNT))


class PoissonImageDCEA(nn.Module):
    """The convolutional Poisson auto-encoder for single-channel images, tied or untied."""

    def __init__(self, filters: np.ndarray, peak: float, tied: bool = True, n_steps: int = 10, lam: float = 0.05,
                 encoder_filters: tuple[np.ndarray, np.ndarray] | None = None, step_scale: float = 1.0):
        super().__init__()
        filters = np.asarray(filters, dtype=np.float32)
        if filters.ndim != 4 or filters.shape[1] != 1 or filters.shape[2] != filters.shape[3] \
                or filters.shape[2] % 2 == 0:
            raise ValueError("filters must be (filters, 1, k, k) with k odd")
        self.peak = float(peak)
        self.tied = bool(tied)
        self.n_steps = int(n_steps)
        self.likelihood = Poisson()
        self.weight = nn.Parameter(torch.as_tensor(filters).clone())
        if not self.tied:
            synthesis, analysis = encoder_filters if encoder_filters is not None else (filters, filters)
            self.synthesis = nn.Parameter(torch.as_tensor(np.asarray(synthesis, np.float32)).clone())
            self.analysis = nn.Parameter(torch.as_tensor(np.asarray(analysis, np.float32)).clone())
        lam = np.broadcast_to(np.asarray(lam, np.float64), (len(filters),))
        self.log_lam = nn.Parameter(torch.as_tensor(np.log(lam), dtype=torch.float32))
        self.log_step_scale = nn.Parameter(torch.tensor(float(np.log(step_scale)), dtype=torch.float32))
        self.refresh()

    @property
    def n_filters(self) -> int:
        return self.weight.shape[0]

    @property
    def filter_size(self) -> int:
        return self.weight.shape[-1]

    def banks(self) -> list[nn.Parameter]:
        """The filter banks: one when tied; the decoder's, the encoder's synthesis and analysis when untied."""
        return [self.weight] if self.tied else [self.weight, self.synthesis, self.analysis]

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @torch.no_grad()
    def refresh(self) -> None:
        """Every filter back on the unit sphere, and the encoder's step size from its banks' operator norms."""
        for bank in self.banks():
            bank.div_(bank.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None, None])
        norms = [_operator_norm_squared(bank) for bank in self.banks()]
        self.lipschitz = math.sqrt(norms[1] * norms[2]) if not self.tied else norms[0]

    def _synthesis(self) -> torch.Tensor:
        return self.weight if self.tied else self.synthesis

    def _analysis(self) -> torch.Tensor:
        return self.weight if self.tied else self.analysis

    def _convolve(self, codes: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
        """sum_c h_c * x_c: (batch, filters, h, w) -> (batch, 1, h, w)."""
        return F.conv_transpose2d(codes, bank, padding=self.filter_size // 2)

    def _correlate(self, image: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
        """H^T r: (batch, 1, h, w) -> (batch, filters, h, w)."""
        return F.conv2d(image, bank, padding=self.filter_size // 2)

    def encode(self, y: torch.Tensor, n_steps: int | None = None, shared_step: bool = False) -> torch.Tensor:
        """Codes (batch, filters, h, w) of counts y (batch, 1, h, w).

        Each image's step is 1 / (L max y) with its own largest count, so an
        image is encoded the same alone or in a batch. ``shared_step`` gives
        the batch one step, from its largest count, as in training.
        """
        n_steps = self.n_steps if n_steps is None else n_steps
        b = baseline(y)
        synthesis, analysis = self._synthesis(), self._analysis()
        if shared_step:
            step = self.log_step_scale.exp() / (self.lipschitz * self.likelihood.curvature(y))
        else:
            bounds = torch.tensor([self.lipschitz * self.likelihood.curvature(image) for image in y], dtype=y.dtype,
                                  device=y.device)
            step = self.log_step_scale.exp() / bounds.view(-1, 1, 1, 1)
        activation = SoftThreshold(self.log_lam.exp()[None, :, None, None])
        codes = y.new_zeros(y.shape[0], self.n_filters, *y.shape[2:])
        return unrolled_fista(y, codes, n_steps, step, self.likelihood, activation,
                              lambda x: self._convolve(x, synthesis) + b,
                              lambda r: self._correlate(r, analysis))

    def rate(self, y: torch.Tensor, shared_step: bool = False) -> torch.Tensor:
        """The decoder's Poisson rate exp(H x_T + b), in counts per pixel."""
        return self.likelihood.mean(self._convolve(self.encode(y, shared_step=shared_step), self.weight) + baseline(y))

    def forward(self, y: torch.Tensor, shared_step: bool = False) -> torch.Tensor:
        """The denoised image in [0, 1]: the rate divided by the peak."""
        return (self.rate(y, shared_step) / self.peak).clamp(0.0, 1.0)

    def state(self) -> dict[str, np.ndarray]:
        """Everything that rebuilds the model (``from_state``), as numpy arrays."""
        out = {name: p.detach().cpu().numpy().copy() for name, p in self.named_parameters()}
        out.update(peak=np.float64(self.peak), tied=np.bool_(self.tied), n_steps=np.int64(self.n_steps))
        return out

    @classmethod
    def from_state(cls, state) -> "PoissonImageDCEA":
        tied = bool(state["tied"])
        encoder = None if tied else (state["synthesis"], state["analysis"])
        model = cls(state["weight"], float(state["peak"]), tied, int(state["n_steps"]),
                    np.exp(np.asarray(state["log_lam"], np.float64)), encoder,
                    float(np.exp(state["log_step_scale"])))
        return model


def _operator_norm_squared(bank: torch.Tensor) -> float:
    """Largest eigenvalue of H^T H for a bank (filters, 1, k, k): max over frequencies of sum_c |H_c(f)|^2.

    The circulant operator on a grid bounds the one with zero borders on any
    image no larger than ``LIPSCHITZ_GRID`` beyond the filters; the 2 %
    margin is engine.model.autoencoder's.
    """
    spectrum = torch.fft.rfft2(bank.detach().double()[:, 0], s=(LIPSCHITZ_GRID, LIPSCHITZ_GRID))
    return float((spectrum.abs() ** 2).sum(0).max()) * 1.02 + 1e-8


def initial_filters(n_filters: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """The constant filter (the image's local mean) and 2-D DCT-II atoms of increasing frequency, then noise.

    The DCT basis of a k x k patch is the usual start for image dictionaries:
    it covers the low frequencies that carry most of a natural image first.
    """
    grid = np.arange(size)
    basis = [np.cos(np.pi * (grid + 0.5) * f / size) for f in range(size)]
    pairs = sorted(((u, v) for u in range(size) for v in range(size)), key=lambda p: (p[0] + p[1], p))
    atoms = [np.outer(basis[u], basis[v]) for u, v in pairs[:n_filters]]
    while len(atoms) < n_filters:
        atoms.append(rng.normal(size=(size, size)))
    filters = np.stack(atoms)[:, None] + 0.01 * rng.normal(size=(n_filters, 1, size, size))
    return (filters / np.linalg.norm(filters.reshape(n_filters, -1), axis=1)[:, None, None, None]).astype(np.float32)


def random_patches(images: list[np.ndarray], n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """n square patches (n, 1, size, size) drawn uniformly from images (each at least size x size)."""
    out = np.empty((n, 1, size, size), np.float32)
    for index in range(n):
        image = images[rng.integers(len(images))]
        top = rng.integers(0, image.shape[0] - size + 1)
        left = rng.integers(0, image.shape[1] - size + 1)
        out[index, 0] = image[top:top + size, left:left + size]
    return out


def poisson_noise(clean: np.ndarray, peak: float, rng: np.random.Generator) -> np.ndarray:
    """Photon counts of a clean image in [0, 1] at a peak count."""
    return rng.poisson(np.clip(clean, 0.0, None) * peak).astype(np.float32)


def train_denoiser(images: list[np.ndarray], config: DenoiserConfig | None = None,
                   callback=None) -> PoissonImageDCEA:
    """Train DCEA-C (``config.tied``) or DCEA-UC on clean images in [0, 1] at ``config.peak``."""
    config = config or DenoiserConfig()
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    if any(min(image.shape) < config.patch_size for image in images):
        raise ValueError(f"every training image must be at least {config.patch_size} pixels on each side")
    filters = initial_filters(config.n_filters, config.filter_size, rng)
    model = PoissonImageDCEA(filters, config.peak, config.tied, config.n_steps,
                             config.lam_scale * math.sqrt(config.peak), step_scale=config.step_scale)
    optimizer = torch.optim.Adam([{"params": model.banks(), "lr": config.learning_rate},
                                  {"params": [model.log_lam, model.log_step_scale],
                                   "lr": config.scalar_learning_rate}])
    for index in range(config.train_steps):
        clean = random_patches(images, config.batch_size, config.patch_size, rng)
        noisy = torch.as_tensor(poisson_noise(clean, config.peak, rng))
        loss = F.mse_loss(model(noisy, shared_step=True), torch.as_tensor(clean))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        model.refresh()
        if callback is not None:
            callback(index, float(loss.item()))
    return model


def denoise(counts: np.ndarray, model: PoissonImageDCEA) -> np.ndarray:
    """The denoised image in [0, 1] (multiply by the peak for counts) of a counts image (height, width)."""
    return np.clip(denoise_stack(np.asarray(counts)[None], model)[0] / model.peak, 0.0, 1.0)


def batch_frames(model: PoissonImageDCEA, height: int, width: int, budget: int = BATCH_BYTES) -> int:
    """How many frames of height x width one batch takes so that the encoder holds about ``budget`` bytes
    (1 to 64)."""
    per_frame = CODE_MAPS_PER_FRAME * model.n_filters * height * width * 4
    return int(np.clip(budget // per_frame, 1, 64))


def denoise_stack(frames, model: PoissonImageDCEA, batch_size: int | None = None, out=None,
                  progress=None) -> np.ndarray:
    """The denoised rate, in counts per pixel, of a stack of counts frames (frames, height, width).

    ``frames`` is anything with a ``shape`` that slices along its first axis
    into arrays: an array, a ``np.memmap``, or the TIFF pages of
    ``engine.imaging.stacks.open_stack``, read as they are needed.
    ``batch_size`` frames are read and encoded at a time (default
    ``batch_frames``: about 512 MB of encoder, 2 frames of 512 x 512 with 32
    filters, 32 of 128 x 128). Every frame is denoised as it would be alone
    (its own baseline and encoder step), so the result does not depend on the
    batch size. The rate is the decoder's exp(H x_T + b), not clipped at the
    peak, so a frame brighter than the peak (a calcium transient) keeps its
    brightness; ``denoise`` is the single-image view of it in [0, 1]. ``out``
    is where it is written (an array or ``np.memmap`` of the frames' shape;
    default a new float32 array); ``progress(n)`` is called after each batch
    with its number of frames. The frames are encoded on the model's device
    (``model.to("cuda")``).
    """
    batch_size = batch_frames(model, *frames.shape[1:]) if batch_size is None else batch_size
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1 (got {batch_size})")
    out = np.empty(frames.shape, np.float32) if out is None else out
    device = model.weight.device
    with torch.no_grad():
        for start in range(0, frames.shape[0], batch_size):
            batch = torch.from_numpy(np.array(frames[start:start + batch_size], np.float32)).to(device)
            out[start:start + len(batch)] = model.rate(batch[:, None])[:, 0].cpu().numpy()
            if progress is not None:
                progress(len(batch))
    return out


def psnr(estimate: np.ndarray, clean: np.ndarray, peak_value: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB of an estimate of a clean image whose largest value is peak_value."""
    mse = float(np.mean((np.asarray(estimate, np.float64) - np.asarray(clean, np.float64)) ** 2))
    return 10.0 * math.log10(peak_value ** 2 / max(mse, 1e-20))


def save_denoiser(path, model: PoissonImageDCEA, config: DenoiserConfig | None = None) -> None:
    state = model.state()
    if config is not None:
        state.update({f"config_{k}": np.asarray(v) for k, v in asdict(config).items()})
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **state)


def load_denoiser(path) -> PoissonImageDCEA:
    with np.load(path) as data:
        return PoissonImageDCEA.from_state({k: data[k] for k in data.files})


def bundled_name(peak: float, tied: bool) -> str:
    return f"dcea_{'c' if tied else 'uc'}_peak{peak:g}.npz"


def bundled_denoiser(peak: float, tied: bool = True, folder=WEIGHTS) -> PoissonImageDCEA:
    """The bundled model trained at the peak nearest (in ratio) to ``peak``."""
    pattern = re.compile(rf"dcea_{'c' if tied else 'uc'}_peak([0-9.]+)\.npz$")
    trained = {float(m.group(1)): path for path in Path(folder).glob("*.npz") if (m := pattern.match(path.name))}
    if not trained:
        raise ValueError(f"no bundled {'DCEA-C' if tied else 'DCEA-UC'} model in {folder}: give --model, or train one "
                         "with benchmarks/poisson_denoising.py --save-weights")
    nearest = min(trained, key=lambda p: abs(math.log(p / peak)))
    return load_denoiser(trained[nearest])
