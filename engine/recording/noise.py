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


def universal_lambda(sigma: float, n_units: int, n_codes: int) -> float:
    """Donoho-Johnstone universal threshold sigma * sqrt(2 log(C N)).

    With unit-norm filters the correlation H^T v of white noise v has standard
    deviation sigma, so this lambda leaves pure noise with (almost) no code.
    """
    return float(sigma * math.sqrt(2.0 * math.log(max(2, n_units * n_codes))))
