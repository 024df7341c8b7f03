"""Noise level and the sparsity weight lambda derived from it."""
from __future__ import annotations

import math

import numpy as np

MAD_TO_STD = 1.0 / 0.6744897501960817


def noise_std(traces: np.ndarray) -> np.ndarray:
    """Per-channel noise standard deviation from the median absolute deviation.

    traces: (samples, channels). Robust to the spikes riding on the noise.
    """
    centred = traces - np.median(traces, axis=0, keepdims=True)
    return MAD_TO_STD * np.median(np.abs(centred), axis=0)


CLIP_SIGMAS = 3.0  # spikes clipped to this many noise deviations before channels are correlated
MAX_CORRELATED_CHANNELS = 64  # evenly spaced over a larger probe: the median pair is the same, at less cost


def shared_noise_correlation(traces: np.ndarray) -> float:
    """The median correlation between two channels' noise, (samples, channels) traces.

    Noise shared by all channels (the reference electrode, movement, mains) correlates every pair of
    them by shared / (shared + own) variance; spikes correlate only channels near each other, and noise
    that decays with distance only near pairs, so the median over all pairs ignores both. Each channel
    is first clipped at ``CLIP_SIGMAS`` of its noise level, so that large spikes weigh no more than noise.
    """
    channels = traces.shape[1]
    if channels > MAX_CORRELATED_CHANNELS:
        traces = traces[:, np.linspace(0, channels - 1, MAX_CORRELATED_CHANNELS).astype(np.int64)]
    sigma = noise_std(traces)
    centred = traces - np.median(traces, axis=0, keepdims=True)
    bound = CLIP_SIGMAS * np.maximum(sigma, 1e-12)
    clipped = np.clip(centred, -bound, bound).astype(np.float64)
    correlation = np.corrcoef(clipped, rowvar=False)
    pairs = np.triu_indices(traces.shape[1], k=1)
    return float(np.nanmedian(correlation[pairs]))


def universal_lambda(sigma: float, n_units: int, n_codes: int) -> float:
    """Donoho-Johnstone universal threshold sigma * sqrt(2 log(C N)).

    With unit-norm filters the correlation H^T v of white noise v has standard
    deviation sigma, so this lambda leaves pure noise with (almost) no code.
    """
    return float(sigma * math.sqrt(2.0 * math.log(max(2, n_units * n_codes))))
