"""Whether a cluster of threshold crossings is a unit: decided by its spikes against the noise, not by
its share of the crossings. A low-rate unit is as real as a busy one.

Snippets are in units of each channel's noise, so noise has unit variance on every sample. A cluster
is a unit when its spikes are its template plus noise: after fitting each snippet with the template
scaled and nudged in time (amplitude and sub-sample jitter), what is left on the template's support
is as large as the noise, its median within the chi-square spread of noise on that support over that
many spikes. Overlapping spikes of two units, or noise crossings, leave more.

Spikes vary in shape too, by a share of their size: a probe that moved leaves residual drift after
motion correction, and interpolating the traces back onto a still probe is not exact. What the units
certain by their spike count show of that (``shape_variation``) is allowed to the rare ones; on a
still probe it is next to nothing.
"""
from __future__ import annotations

import numpy as np

from engine.recording.fast_median import median

MIN_UNIT_SNIPPETS = 12  # below this a cluster's own spread cannot be judged
SUPPORT_LEVEL = 1.0  # template samples above this many noise deviations are its support
CHI2_SIGMAS = 4.0  # how far above the noise's spread a unit's median residual may lie
SHAPE_QUANTILE = 0.9  # a rare unit may vary as much as all but the most varying tenth of the certain units


def _residual(snippets: np.ndarray, template: np.ndarray) -> tuple[float, int, float] | None:
    """Each snippet fitted with the template scaled and nudged in time, on the template's support: the
    median residual per degree of freedom (1 for noise), the degrees of freedom and the template's
    energy there; None where the support is too small to judge."""
    support = np.abs(template) > SUPPORT_LEVEL
    m = int(support.sum())
    if m <= 2:
        return None
    slope = np.gradient(template, axis=-1)
    basis = np.stack([template[support], slope[support]], axis=1)  # (m, 2)
    values = snippets[:, support]  # (n, m)
    coefficients, *_ = np.linalg.lstsq(basis, values.T, rcond=None)
    residual = values - (basis @ coefficients).T
    dof = m - 2
    return float(np.median((residual ** 2).sum(1)) / dof), dof, float((template[support] ** 2).sum())


def is_unit(snippets: np.ndarray, template: np.ndarray, shape_variation: float = 0.0) -> bool:
    """Whether noise-normalised ``snippets`` (n, channels, taps) are ``template`` (scaled, jittered in
    time) plus noise, allowing their shapes to vary about it by ``shape_variation`` of its energy."""
    if len(snippets) < MIN_UNIT_SNIPPETS:
        return False
    fit = _residual(snippets, template)
    if fit is None:
        return False
    per_sample, dof, energy = fit
    # the median of n chi-square / dof values spreads by about 1.25 sqrt(2 / dof) / sqrt(n)
    return per_sample <= (1.0 + shape_variation * energy / dof
                          + CHI2_SIGMAS * 1.25 * np.sqrt(2.0 / dof) / np.sqrt(len(snippets)))


def shape_excess(snippets: np.ndarray, template: np.ndarray) -> float:
    """How much more than the noise the snippets vary about their template (scaled, jittered), as a
    fraction of the template's energy: about 0 for a template plus noise, whatever its size. Drift, and
    interpolation after motion correction, change a unit's shape by a share of its size; two units'
    spikes together differ by a whole spike."""
    fit = _residual(snippets, template)
    if fit is None:
        return 0.0
    per_sample, dof, energy = fit
    return (per_sample - 1.0) * dof / max(energy, 1e-12)


def shape_variation(clusters: list[np.ndarray]) -> float:
    """How much the shapes of these units (noise-normalised snippets each, clusters big enough to be
    units on their count) vary about their templates beyond the noise: the upper decile of their
    ``shape_excess``, and 0 where they are their templates plus noise."""
    excess = [shape_excess(c, median(c, axis=0)) for c in clusters if len(c) >= MIN_UNIT_SNIPPETS]
    return max(0.0, float(np.quantile(excess, SHAPE_QUANTILE))) if excess else 0.0


def idle_units(counts: np.ndarray, coverage: float) -> np.ndarray:
    """Units whose spikes, counted on ``coverage`` (a fraction) of the recording, would number fewer than
    ``MIN_UNIT_SNIPPETS`` over all of it: too few for any test of what they are."""
    return np.flatnonzero(np.asarray(counts) / max(coverage, 1e-12) < MIN_UNIT_SNIPPETS)


SEPARATION = 4.0  # standard deviations along the line joining two clusters


def separated(a: np.ndarray, b: np.ndarray, ta: np.ndarray | None = None, tb: np.ndarray | None = None) -> bool:
    """Whether two aligned clusters of noise-normalised snippets are two units.

    Their spikes are projected on the line joining their templates (on the templates' support), the
    clusters' medians unless ``ta`` and ``tb`` give them. Cutting one unit's cloud in two, as k-means
    does along its widest direction, leaves the halves' centres about 2.7 of their own standard
    deviations apart, whatever the unit's amplitude or spread; two units lie further apart than
    ``SEPARATION`` of them.
    """
    ta = median(a, axis=0) if ta is None else ta
    tb = median(b, axis=0) if tb is None else tb
    support = (np.abs(ta) > SUPPORT_LEVEL) | (np.abs(tb) > SUPPORT_LEVEL)
    direction = (ta - tb)[support]
    norm = np.linalg.norm(direction)
    if norm == 0:
        return False
    return apart(a[:, support] @ (direction / norm), b[:, support] @ (direction / norm))


def apart(pa: np.ndarray, pb: np.ndarray) -> bool:
    """Whether two clusters' values along one line have medians more than ``SEPARATION`` of their pooled
    robust spreads (1.4826 median absolute deviations) apart."""
    spreads = [1.4826 * np.median(np.abs(p - np.median(p))) for p in (pa, pb)]
    pooled = np.sqrt((len(pa) * spreads[0] ** 2 + len(pb) * spreads[1] ** 2) / (len(pa) + len(pb)))
    return abs(np.median(pa) - np.median(pb)) > SEPARATION * max(pooled, 1e-12)
