"""Multichannel correlation and convolution as block-Toeplitz matrix products.

On a CPU, torch's conv1d runs at a few GFLOP/s for the small channel counts
of spike sorting (1-32 channels in, 3-20 units out), while a matrix product
runs at tens of GFLOP/s. Writing the correlation of blocks of ``block``
output samples as one matrix product does ~(block + K - 1) / K times more
arithmetic but runs 3-6x faster overall (see benchmarks/README.md). On CUDA,
cuDNN's conv1d is used directly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

BLOCK = 16


def toeplitz(weight: torch.Tensor, block: int = BLOCK) -> torch.Tensor:
    """(out, in, K) weights -> (out*block, in*(block+K-1)) matrix.

    Building it costs about as much as one short correlation, so callers
    that correlate many times with the same weights build it once.
    """
    shifted = [F.pad(weight, (p, block - 1 - p)) for p in range(block)]
    t = torch.stack(shifted, dim=1)  # (out, block, in, block+K-1)
    out_ch, _, in_ch, width = t.shape
    return t.reshape(out_ch * block, in_ch * width)


def correlate(x: torch.Tensor, weight: torch.Tensor, matrix: torch.Tensor | None = None) -> torch.Tensor:
    """Valid cross-correlation, the same function as ``F.conv1d(x, weight)``.

    x: (batch, in, n); weight: (out, in, K) -> (batch, out, n - K + 1).
    ``matrix`` is ``toeplitz(weight)`` when the caller has it already (unused
    when the output has few channels x taps for its input channels, see
    ``_correlate_by_taps``).
    """
    if x.device.type != "cpu":
        return F.conv1d(x, weight)
    batch, in_ch, n = x.shape
    out_ch, _, k = weight.shape
    if out_ch * k <= in_ch:
        return _correlate_by_taps(x, weight)
    n_out = n - k + 1
    n_blocks = -(-n_out // BLOCK)
    pad = n_blocks * BLOCK - n_out
    if pad:
        x = F.pad(x, (0, pad))
    blocks = x.unfold(2, BLOCK + k - 1, BLOCK)  # (batch, in, n_blocks, width)
    blocks = blocks.permute(0, 2, 1, 3).reshape(batch, n_blocks, -1)
    if matrix is None:
        matrix = toeplitz(weight)
    out = blocks @ matrix.t()  # (batch, n_blocks, out*BLOCK)
    out = out.reshape(batch, n_blocks, out_ch, BLOCK).permute(0, 2, 1, 3)
    out = out.reshape(batch, out_ch, n_blocks * BLOCK)
    return out[..., :n_out] if pad else out


def _correlate_by_taps(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Valid cross-correlation as one product of every (output, tap) row of the weights with the input,
    then the sum over taps of those rows shifted by their tap.

    No arithmetic is wasted and the input is not copied, but the products
    take out x taps rows per sample: the better way when that is no more than
    the input's channels (firing motifs: 100 units in, 4 motifs x 15 lags
    out, 2-3x faster than the block-Toeplitz product).
    """
    batch, in_ch, n = x.shape
    out_ch, _, k = weight.shape
    n_out = n - k + 1
    per_tap = torch.matmul(weight.permute(0, 2, 1).reshape(out_ch * k, in_ch), x).view(batch, out_ch, k, n)
    out = per_tap[:, :, 0, :n_out].clone()
    for tap in range(1, k):
        out += per_tap[:, :, tap, tap:tap + n_out]
    return out


def decoder_weight(weight: torch.Tensor) -> torch.Tensor:
    """The (channels, units, K) weights whose correlation is the decoder."""
    return weight.flip(-1).transpose(0, 1)


def convolve_full(codes: torch.Tensor, weight: torch.Tensor, matrix: torch.Tensor | None = None) -> torch.Tensor:
    """Sum over units of codes convolved with their filters.

    codes: (batch, units, n - K + 1); weight: (units, channels, K)
    -> (batch, channels, n). Same as ``F.conv_transpose1d(codes, weight)``.
    ``matrix`` is ``toeplitz(decoder_weight(weight))`` when the caller has it.
    """
    k = weight.shape[-1]
    return correlate(F.pad(codes, (k - 1, k - 1)), decoder_weight(weight), matrix)
