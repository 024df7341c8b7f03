"""Hᵀy, the correlation of every unit's filter with a recording, by FFT.

The active-set encoder (engine.active_set) needs Hᵀy once per chunk. Direct
correlation costs taps × channels × units per sample (about 100 ms per
second of a 30 kHz probe with 90-tap filters); in the frequency domain it is
an FFT per channel, channels × units complex products per frequency and an
inverse FFT per unit, whatever the filter length.

Codes at index m place the filter on samples m .. m + taps − 1, so a
segment of n samples has n − taps + 1 codes. With an FFT length of at least
n the circular correlation equals the linear one on every code.
"""
from __future__ import annotations

import scipy.fft
import torch


def fft_length(n_samples: int) -> int:
    return scipy.fft.next_fast_len(int(n_samples), real=True)


class SpectralOperator:
    """Hᵀ· for segments of ``n_samples`` samples (any batch size)."""

    def __init__(self, weight: torch.Tensor, n_samples: int):
        self.n_samples = int(n_samples)
        self.n_taps = weight.shape[-1]
        self.n_codes = self.n_samples - self.n_taps + 1
        self.n_fft = fft_length(self.n_samples)
        self.spectrum = torch.fft.rfft(weight, n=self.n_fft).conj()  # (units, channels, freqs)

    def correlate(self, y: torch.Tensor) -> torch.Tensor:
        """Hᵀy: (batch, channels, n) -> (batch, units, n − taps + 1)."""
        spectrum_y = torch.fft.rfft(y, n=self.n_fft)  # (batch, channels, freqs)
        # a sum of products per channel: a units x channels matrix product per frequency is slower on a CPU
        out = self.spectrum[None, :, 0] * spectrum_y[:, None, 0]
        for channel in range(1, spectrum_y.shape[1]):
            out += self.spectrum[None, :, channel] * spectrum_y[:, None, channel]
        return torch.fft.irfft(out, n=self.n_fft)[..., :self.n_codes]
