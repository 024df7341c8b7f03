"""Hᵀy, the correlation of every unit's filter with a recording, by FFT.

The active-set encoder (engine.model.active_set) needs Hᵀy once per chunk. Direct
correlation costs taps × channels × units per sample (about 100 ms per
second of a 30 kHz probe with 90-tap filters); in the frequency domain it is
an FFT per channel, channels × units complex products per frequency and an
inverse FFT per unit, whatever the filter length.

Codes at index m place the filter on samples m .. m + taps − 1, so a
segment of n samples has n − taps + 1 codes. Long segments are cut into
overlapping blocks (overlap-save): the circular correlation of a block
equals the linear one on its first block − taps + 1 codes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.model.filter_shape import lives_on

MIN_BLOCK = 4096


def block_length(n_taps: int) -> int:
    """FFT length: a power of two of at least 8 filters, so overlaps cost at most 1/8 of the work."""
    return max(MIN_BLOCK, 1 << (8 * n_taps - 1).bit_length())


class SpectralOperator:
    """Hᵀ· for segments of any length (overlap-save in blocks of ``block_length`` samples).

    Fixed-length blocks keep the filters' spectra small and computed once,
    whatever the length of the chunks correlated with them.
    """

    def __init__(self, weight: torch.Tensor):
        self.n_taps = weight.shape[-1]
        self.block = block_length(self.n_taps)
        self.hop = self.block - self.n_taps + 1  # codes per block
        self._local_units(weight)
        self.spectrum = torch.fft.rfft(weight[self.order], n=self.block).conj()  # (units, channels, freqs)

    def _local_units(self, weight: torch.Tensor) -> None:
        """Filters confined to a neighbourhood (engine.model.filter_shape) are zero on most channels
        of a long probe. Units are taken in the order of the first channel they live on, so that the
        units living on one channel are (nearly) one run ``rows[channel]`` of that order, and only
        those products are computed: the cost grows with units x neighbourhood, not x channels."""
        channels_of = lives_on(weight).cpu()  # (units, channels)
        n_units, n_channels = channels_of.shape
        first = torch.where(channels_of.any(1), channels_of.float().argmax(1), n_channels)
        self.order = torch.argsort(first, stable=True).to(weight.device)
        self.restore = torch.argsort(self.order)
        ordered = channels_of[self.order.cpu()]
        self.rows = []
        for channel in range(n_channels):
            units = torch.nonzero(ordered[:, channel]).ravel()
            self.rows.append((int(units[0]), int(units[-1]) + 1) if len(units) else None)

    def correlate(self, y: torch.Tensor) -> torch.Tensor:
        """Hᵀy: (batch, channels, n) -> (batch, units, n − taps + 1)."""
        batch, _, n = y.shape
        n_codes = n - self.n_taps + 1
        n_blocks = -(-n_codes // self.hop)
        y = F.pad(y, (0, (n_blocks - 1) * self.hop + self.block - n))
        spectrum_y = torch.fft.rfft(y.unfold(2, self.block, self.hop), dim=-1)  # (batch, channels, blocks, freqs)
        # a sum of products per channel, in place: on a CPU a units x channels matrix product per
        # frequency is 10x slower, and out-of-place products 3x
        out = torch.zeros(batch, self.spectrum.shape[0], *spectrum_y.shape[2:], dtype=spectrum_y.dtype,
                          device=y.device)
        for channel, rows in enumerate(self.rows):
            if rows is not None:
                lo, hi = rows
                out[:, lo:hi].addcmul_(self.spectrum[None, lo:hi, channel, None], spectrum_y[:, None, channel])
        codes = torch.fft.irfft(out, n=self.block)[:, self.restore, :, :self.hop]  # (batch, units, blocks, hop)
        return codes.reshape(batch, codes.shape[1], n_blocks * self.hop)[..., :n_codes]
