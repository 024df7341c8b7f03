"""Where units sit on the probe: the centre of mass of their filters' energy over the contacts.

``filter_energy`` is computed once per set of filters; the positions of every cluster are then one
product of a (clusters, filters) membership matrix with it, whatever the number of units.
"""
from __future__ import annotations

import numpy as np

CHANNEL_ENERGY_FRACTION = 0.25  # a unit's channels: those with at least this share of its largest channel's energy


def filter_energy(filters: np.ndarray) -> np.ndarray:
    """(units, channels) energy of each filter (units, channels, taps), summed over its taps."""
    filters = np.asarray(filters)
    return np.einsum("uct,uct->uc", filters, filters, dtype=np.float64)


def channel_energy(energy: np.ndarray, units) -> np.ndarray:
    """(channels,) energy of the given filters, from their ``filter_energy``."""
    units = list(units)
    return energy[units].sum(axis=0) if units else np.zeros(energy.shape[1])


def unit_positions(energy: np.ndarray, positions: np.ndarray, cluster_filters: dict[int, list[int]]) -> dict:
    """cluster -> (x, y) in the probe's units (µm): the centre of mass of the energy (``filter_energy``) of
    the filters whose spikes it holds; the probe's centre for a cluster without energy."""
    ids = list(cluster_filters)
    positions = np.asarray(positions, dtype=np.float64)
    membership = np.zeros((len(ids), len(energy)))
    for row, cluster in enumerate(ids):
        membership[row, list(cluster_filters[cluster])] = 1.0
    per_cluster = membership @ energy  # (clusters, channels)
    total = per_cluster.sum(axis=1)
    centre = positions.mean(axis=0)
    xy = np.where(total[:, None] > 0, per_cluster @ positions / np.where(total > 0, total, 1.0)[:, None], centre)
    return dict(zip(ids, xy))


def unit_channels(energy: np.ndarray, units) -> np.ndarray:
    """The channels where the given filters (rows of ``filter_energy``) carry most of their energy, largest first."""
    energy = channel_energy(energy, units)
    if energy.max(initial=0) <= 0:
        return np.zeros(0, np.int64)
    keep = np.flatnonzero(energy >= CHANNEL_ENERGY_FRACTION * energy.max())
    return keep[np.argsort(-energy[keep], kind="stable")]
