"""Where units sit on the probe: the centre of mass of their filters' energy over the contacts."""
from __future__ import annotations

import numpy as np

CHANNEL_ENERGY_FRACTION = 0.25  # a unit's channels: those with at least this share of its largest channel's energy


def channel_energy(filters: np.ndarray, units) -> np.ndarray:
    """(channels,) energy of the given filters (units, channels, taps) summed over taps and units."""
    units = list(units)
    if not units:
        return np.zeros(filters.shape[1])
    return (np.asarray(filters[units], dtype=np.float64) ** 2).sum(axis=(0, 2))


def centre_of_mass(energy: np.ndarray, positions: np.ndarray) -> np.ndarray:
    total = energy.sum()
    if total <= 0:
        return np.asarray(positions, dtype=float).mean(axis=0)
    return (energy[:, None] * positions).sum(axis=0) / total


def unit_positions(filters: np.ndarray, positions: np.ndarray, cluster_filters: dict[int, list[int]]) -> dict:
    """cluster -> (x, y) in the probe's units (µm), from the energy of the filters whose spikes it holds."""
    return {c: centre_of_mass(channel_energy(filters, fs), positions) for c, fs in cluster_filters.items()}


def unit_channels(filters: np.ndarray, units) -> np.ndarray:
    """The channels where the given filters carry most of their energy, largest first."""
    energy = channel_energy(filters, units)
    if energy.max(initial=0) <= 0:
        return np.zeros(0, np.int64)
    keep = np.flatnonzero(energy >= CHANNEL_ENERGY_FRACTION * energy.max())
    return keep[np.argsort(-energy[keep], kind="stable")]
