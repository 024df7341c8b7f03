"""Whether a cluster of threshold crossings is a unit: decided by its spikes against the noise, not by
its share of the crossings. A low-rate unit is as real as a busy one.

Snippets are in units of each channel's noise, so noise has unit variance on every sample. A cluster
is a unit when its spikes are its template plus noise: after fitting each snippet with the template
scaled and nudged in time (amplitude and sub-sample jitter), what is left on the template's support
is as large as the noise, its median within the chi-square spread of noise on that support over that
many spikes. Overlapping spikes of two units, or noise crossings, leave more.
"""
from __future__ import annotations

import numpy as np

MIN_UNIT_SNIPPETS = 12  # below this a cluster's own spread cannot be judged
SUPPORT_LEVEL = 1.0  # template samples above this many noise deviations are its support
CHI2_SIGMAS = 4.0  # how far above the noise's spread a unit's median residual may lie


def is_unit(snippets: np.ndarray, template: np.ndarray) -> bool:
    """Whether noise-normalised ``snippets`` (n, channels, taps) are ``template`` (scaled, jittered in
    time) plus noise."""
    if len(snippets) < MIN_UNIT_SNIPPETS:
        return False
    support = np.abs(template) > SUPPORT_LEVEL
    m = int(support.sum())
    if m <= 2:
        return False
    slope = np.gradient(template, axis=-1)
    basis = np.stack([template[support], slope[support]], axis=1)  # (m, 2)
    values = snippets[:, support]  # (n, m)
    coefficients, *_ = np.linalg.lstsq(basis, values.T, rcond=None)
    residual = values - (basis @ coefficients).T
    dof = m - 2
    per_sample = np.median((residual ** 2).sum(1)) / dof
    # the median of n chi-square / dof values spreads by about 1.25 sqrt(2 / dof) / sqrt(n)
    return per_sample <= 1.0 + CHI2_SIGMAS * 1.25 * np.sqrt(2.0 / dof) / np.sqrt(len(snippets))
