"""The convolutional sparse auto-encoder (CRsAE).

Generative model: y = sum_c h_c * x_c + noise with x_c >= 0 and sparse.
The encoder is T unrolled FISTA steps on
    min_x 1/2 ||y - H x||^2 + lambda ||x||_1,  x >= 0,
the decoder is H x_T with the same (tied) filters.

Shapes: recordings are (batch, channels, samples); filters are
(units, channels, taps); codes are (batch, units, samples - taps + 1), so a
code at index n places the filter on samples n .. n + taps - 1.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.model.active_set import ActiveSetEncoder, SparseCodes
from engine.model.filter_shape import lives_on
from engine.model.correlation import convolve_full, correlate, decoder_weight, toeplitz

POWER_ITERATION_FFT = 1024
REWEIGHT_SCALE = 0.5


def _spectral_gram(weight: torch.Tensor):
    """v -> G(f) v for every frequency f, G(f) = S(f)ᴴ S(f) (units x units), S the filters' spectra
    (channels x units per frequency); and the number of frequencies. Filters confined to a
    neighbourhood (engine.model.filter_shape) are gathered on their own channels, so one product
    costs frequencies x units x neighbourhood instead of x channels (on 384 channels, most of a
    training step's time went here)."""
    n_units, n_channels, _ = weight.shape
    n_freqs = POWER_ITERATION_FFT // 2 + 1
    channels_of = lives_on(weight)
    width = int(channels_of.sum(1).max()) if n_units else 0
    if width * 2 > n_channels:
        spectrum = torch.fft.rfft(weight, n=POWER_ITERATION_FFT)  # (units, channels, freqs)
        s = spectrum.permute(2, 1, 0).contiguous()  # (freqs, channels, units)
        s_conj = s.conj().transpose(1, 2).contiguous()
        return (lambda v: (s_conj @ (s @ v[:, :, None]))[..., 0]), n_freqs
    # each unit's channels, padded with its first one (and zero spectra there)
    channels = torch.zeros(n_units, width, dtype=torch.long)
    valid = torch.zeros(n_units, width, dtype=torch.bool)
    for unit in range(n_units):
        own = torch.nonzero(channels_of[unit]).ravel()
        channels[unit, :len(own)] = own
        channels[unit, len(own):] = own[0] if len(own) else 0
        valid[unit, :len(own)] = True
    own_weights = torch.gather(weight, 1, channels[:, :, None].expand(-1, -1, weight.shape[-1])) * valid[:, :, None]
    gathered = torch.fft.rfft(own_weights, n=POWER_ITERATION_FFT).permute(2, 0, 1).contiguous()  # (freqs, units, width)
    gathered_conj = gathered.conj()
    flat = channels.ravel()

    def apply(v):
        w = torch.zeros(n_freqs, n_channels, dtype=gathered.dtype)
        w.index_add_(1, flat, (gathered * v[:, :, None]).reshape(n_freqs, -1))
        return (gathered_conj * w[:, channels]).sum(-1)

    return apply, n_freqs


class ConvSparseAutoencoder(nn.Module):
    def __init__(self, filters: np.ndarray | torch.Tensor, lam: float, n_steps: int = 30,
                 debias_steps: int = 5, peak_distance: int = 10, support_fraction: float = 0.0,
                 reweight_passes: int = 2):
        super().__init__()
        weight = torch.as_tensor(np.asarray(filters, dtype=np.float32)).clone()
        if weight.ndim != 3:
            raise ValueError("filters must be (units, channels, taps)")
        self.weight = nn.Parameter(weight)
        self.lam = float(lam)
        self.n_steps = int(n_steps)
        self.debias_steps = int(debias_steps)
        self.peak_distance = int(peak_distance)
        self.support_fraction = float(support_fraction)
        self.reweight_passes = max(1, int(reweight_passes))
        self.reweight_scale = REWEIGHT_SCALE
        self.min_amplitudes: np.ndarray | None = None  # per unit, see engine.training.amplitude_floor
        self.support: np.ndarray | None = None  # (units, channels) bool while training, see engine.model.filter_shape
        self._power_vector: torch.Tensor | None = None
        self.normalize_filters()
        self.lipschitz = self.estimate_lipschitz()

    @property
    def n_units(self) -> int:
        return self.weight.shape[0]

    @property
    def n_channels(self) -> int:
        return self.weight.shape[1]

    @property
    def n_taps(self) -> int:
        return self.weight.shape[2]

    def filters(self) -> np.ndarray:
        """A numpy copy of the filters, (units, channels, taps)."""
        return self.weight.detach().cpu().numpy().copy()

    @torch.no_grad()
    def keep_units(self, units: np.ndarray) -> None:
        """Keep only these units (in this order): filters, floors and the step size follow."""
        index = torch.as_tensor(np.asarray(units, dtype=np.int64), device=self.weight.device)
        self.weight = nn.Parameter(self.weight.detach()[index].clone())
        if self.min_amplitudes is not None:
            self.min_amplitudes = np.asarray(self.min_amplitudes)[np.asarray(units, dtype=np.int64)]
        if self.support is not None:
            self.support = self.support[np.asarray(units, dtype=np.int64)]
        self._power_vector = None
        self.lipschitz = self.estimate_lipschitz()

    @torch.no_grad()
    def normalize_filters(self) -> None:
        """Project every filter onto the unit L2 sphere."""
        norms = self.weight.flatten(1).norm(dim=1).clamp_min(1e-12)
        self.weight.div_(norms[:, None, None])

    @torch.no_grad()
    def estimate_lipschitz(self, n_iter: int = 30) -> float:
        """Largest eigenvalue of H^T H by power iteration.

        The iteration runs on the circulant (FFT) version of the operator,
        whose norm bounds that of H^T H on any segment length, so one value
        serves training segments and sorting chunks alike. The vector is kept
        between calls: as the filters move slowly, a few iterations suffice.
        """
        apply_gram, n_freqs = _spectral_gram(self.weight.detach().double().cpu())
        v = self._power_vector
        if v is None or v.shape != (n_freqs, self.n_units):
            gen = torch.Generator().manual_seed(0)
            v = torch.randn(n_freqs, self.n_units, dtype=torch.complex128, generator=gen)
        value = 0.0
        for _ in range(n_iter):
            w = apply_gram(v)
            # per-frequency Rayleigh quotient |G v_f| / |v_f|; the largest over f is the estimate
            value = (torch.linalg.vector_norm(w, dim=1) / torch.linalg.vector_norm(v, dim=1).clamp_min(1e-30)).max().item()
            v = w / w.abs().pow(2).sum(1, keepdim=True).sqrt().clamp_min(1e-30)
        self._power_vector = v
        # Per-frequency Rayleigh quotients converge from below; a small margin
        # keeps the step strictly inside the stable range.
        return float(value) * 1.02 + 1e-8

    def correlate(self, y: torch.Tensor) -> torch.Tensor:
        """H^T y: (batch, channels, n) -> (batch, units, n - taps + 1)."""
        return correlate(y, self.weight)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """H x: (batch, units, n - taps + 1) -> (batch, channels, n)."""
        return convolve_full(codes, self.weight)

    def encode(self, y: torch.Tensor, n_steps: int | None = None, lam: float | None = None,
               codes: torch.Tensor | None = None, debias_steps: int | None = None) -> torch.Tensor:
        """T unrolled FISTA steps with nonnegative soft thresholding, then
        ``debias_steps`` steps without the penalty on the spikes they found.

        The T steps run in ``reweight_passes`` passes; after each, every
        code's threshold becomes lambda / (1 + x / (REWEIGHT_SCALE lambda))
        (reweighted L1, Candes, Wakin & Boyd 2008): a spike already found is
        penalised less, so where two units' spikes overlap within a
        millisecond the lasso's habit of explaining the sum with a third
        unit's filter is undone (on the seed data: fewer missed spikes at
        half the steps of one long pass).

        The lasso spreads one spike of a broad unit over neighbouring samples
        (shifted copies of a smooth filter are nearly parallel), and its L1
        shrinkage leaves, where spikes overlap, a residual that is a multiple
        of no filter; both bias learned filters (filter error 0.05-0.15).
        So the support is reduced to one code per spike (local maxima at
        least ``peak_distance`` apart and above ``support_fraction * lambda``)
        and the amplitudes are refitted there without penalty (a relaxed
        lasso), which also gives spike amplitudes in the data's units.
        ``codes`` warm-starts the iteration. Differentiable with respect to
        the filters (the support itself is a discrete choice).
        """
        n_steps = self.n_steps if n_steps is None else n_steps
        lam = self.lam if lam is None else lam
        debias_steps = self.debias_steps if debias_steps is None else debias_steps
        n_codes = y.shape[-1] - self.n_taps + 1
        if codes is None:
            codes = y.new_zeros(y.shape[0], self.n_units, n_codes)
        threshold = lam / self.lipschitz
        steps_per_pass = max(1, n_steps // self.reweight_passes)
        for index in range(self.reweight_passes):
            codes = self._fista(y, codes, steps_per_pass, threshold, None)
            if index + 1 < self.reweight_passes:
                threshold = (lam / self.lipschitz) / (1.0 + codes / (self.reweight_scale * lam))
        if debias_steps:
            codes = self._fista(y, codes, debias_steps, 0.0, self.spike_support(codes, lam))
        return codes

    def encode_sparse(self, y: torch.Tensor, lam: float | None = None, neighbours: bool = True) -> SparseCodes:
        """The same objective as ``encode`` solved on candidate spike positions only
        (engine.model.active_set): the nonzero codes, several times faster; not differentiable."""
        return ActiveSetEncoder(self, neighbours).encode(y, lam)

    def spike_support(self, codes: torch.Tensor, lam: float | None = None) -> torch.Tensor:
        """Mask of codes that are local maxima of their unit and above ``support_fraction * lambda``."""
        lam = self.lam if lam is None else lam
        radius = max(0, self.peak_distance // 2)
        with torch.no_grad():
            local_max = F.max_pool1d(codes, 2 * radius + 1, stride=1, padding=radius)
            return (codes >= local_max) & (codes > self.support_fraction * lam)

    def _fista(self, y, x, n_steps, threshold, support):
        step = 1.0 / self.lipschitz
        if y.device.type == "cpu":
            encoder_matrix = toeplitz(self.weight)
            decoder_matrix = toeplitz(decoder_weight(self.weight))
        else:
            encoder_matrix = decoder_matrix = None  # cuDNN convolutions need no matrix
        in_place = not torch.is_grad_enabled()  # sorting: fewer passes over memory
        z = x
        t = 1.0
        for _ in range(n_steps):
            reconstruction = convolve_full(z, self.weight, decoder_matrix)
            gradient = correlate(y - reconstruction, self.weight, encoder_matrix)
            if in_place:
                x_next = gradient.mul_(step).add_(z).sub_(threshold).clamp_(min=0.0)
            else:
                x_next = torch.relu(z + step * gradient - threshold)
            if support is not None:
                x_next = x_next * support
            t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
            momentum = (t - 1.0) / t_next
            z = torch.add(x_next, x_next - x, alpha=momentum) if momentum else x_next
            x, t = x_next, t_next
        return x

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.encode(y)
        return self.decode(codes), codes
