"""Units that are one neuron split by drift: merged as the sort's first curation.

Where motion correction leaves a neuron some micrometres off while the probe is displaced (a bump
the estimate follows only in part), its footprint during the bump differs from the one at rest, and
training gives each its own filter. The neuron then fires as one unit at rest and as the other
while the bump lasts: each holds part of its spikes (on the suite's non-rigidly drifting 32-channel
probe, four units of 15-28x the noise at recall 0.61 each).

Two independent neurons are active in the same seconds as often as their activities give by chance;
the two halves of one neuron take turns. Two units are merged when
- their peak channels are neighbours (within ``NEIGHBOURHOOD_UM``, over which a spike is seen),
- their filters, aligned, correlate at least ``FLOOR_FRACTION``: each unit's filter would still
  code the other's spikes above its amplitude floor, so one neuron's two footprints are what they
  can be, and
- the seconds in which both fire are fewer than half of what independence gives, beyond chance
  (binomial, corrected for the number of pairs tested).
Only units active in enough seconds to show it are tested. The merges are curation actions
(engine.curation.model): they are undone as any merge is, and the filters stay as they were.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.stats import binom

from engine.curation.model import DEFAULT_LABEL, Curation
from engine.model.active_set import cross_correlations
from engine.sorting.sorter import SortResult
from engine.training.amplitude_floor import FLOOR_FRACTION
from engine.training.initialization import merge_shift
from engine.training.local_clusters import NEIGHBOURHOOD_UM

ACTIVITY_BIN_S = 1.0  # much shorter than a drift's plateau, long enough for an active unit to fire
FALSE_ALARM = 1e-3  # chance, over all pairs of one sort, of merging two independent units
NOTE = "merged automatically: one neuron split by drift (they fire in turns)"


def aligned_correlations(filters: np.ndarray) -> np.ndarray:
    """Best correlation of every pair of unit-norm filters within ``merge_shift`` samples."""
    weight = torch.as_tensor(np.asarray(filters, dtype=np.float32))
    norms = weight.flatten(1).norm(dim=1).clamp_min(1e-12)
    table = cross_correlations(weight / norms[:, None, None])
    taps = weight.shape[-1]
    near = np.abs(np.arange(2 * taps - 1) - (taps - 1)) <= merge_shift(taps)
    return table[:, :, near].max(axis=2)


def peak_positions(filters: np.ndarray, positions: np.ndarray) -> np.ndarray:
    energy = (np.asarray(filters, dtype=np.float64) ** 2).sum(axis=2)
    return np.asarray(positions, dtype=np.float64)[energy.argmax(axis=1)]


def drift_split_groups(result: SortResult, filters: np.ndarray, positions: np.ndarray,
                       n_samples: int) -> list[list[int]]:
    """Groups (two or more units each, ascending) of units that are one neuron split by drift."""
    n_units = result.n_units
    bin_samples = int(round(ACTIVITY_BIN_S * result.sampling_rate))
    n_bins = int(n_samples // max(1, bin_samples))
    if n_units < 2 or n_bins < 2 or len(result) == 0:
        return []
    inside = result.times < n_bins * bin_samples
    active = np.zeros((n_units, n_bins), dtype=bool)
    active[result.units[inside], result.times[inside] // bin_samples] = True
    peaks = peak_positions(filters, positions)
    near = np.linalg.norm(peaks[:, None] - peaks[None], axis=2) <= NEIGHBOURHOOD_UM
    alike = aligned_correlations(filters) >= FLOOR_FRACTION
    first, second = np.nonzero(np.triu(near & alike, k=1))
    occupancy = active.mean(axis=1)
    chance = occupancy[first] * occupancy[second]
    testable = n_bins * chance >= 1.0
    first, second, chance = first[testable], second[testable], chance[testable]
    both = (active[first] & active[second]).sum(axis=1)
    in_turns = binom.cdf(both, n_bins, 0.5 * chance) * max(1, len(first)) < FALSE_ALARM
    parent = list(range(n_units))

    def root(unit: int) -> int:
        while parent[unit] != unit:
            unit = parent[unit]
        return unit

    for a, b in zip(first[in_turns], second[in_turns]):
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for unit in range(n_units):
        groups.setdefault(root(unit), []).append(unit)
    return [members for members in groups.values() if len(members) > 1]


def merged_labels(units: np.ndarray, n_units: int, groups: list[list[int]]) -> tuple[np.ndarray, list[list[int]]]:
    """Each spike's neuron (0 .. neurons - 1, in order of their first filter) and each neuron's filters."""
    owner = np.arange(n_units)
    for members in groups:
        owner[members] = min(members)
    kept, label_of = np.unique(owner, return_inverse=True)
    filters_of = [np.flatnonzero(owner == k).tolist() for k in kept]
    return label_of[np.asarray(units, dtype=np.int64)], filters_of


def merge_in_curation(curation, groups: list[list[int]]) -> list[int]:
    """Merge each group in ``curation`` (engine.curation.model.Curation) whose units are all still the
    sorter's own clusters (not merged, split or labelled by hand); returns the new clusters."""
    made = []
    for members in groups:
        live = set(curation.cluster_ids())
        if all(unit in live and curation.filters_of(unit) == [unit] and not curation.note_of(unit)
               and curation.label_of(unit) == DEFAULT_LABEL for unit in members):
            made.append(curation.merge(members, note=NOTE))
    return made


def first_curation(result: SortResult) -> dict:
    """A new sort's curation (``Curation.to_dict``): its drift splits merged, nothing else."""
    curation = Curation(result.times, result.units, result.n_units, result.sampling_rate)
    merge_in_curation(curation, result.merges)
    return curation.to_dict()
