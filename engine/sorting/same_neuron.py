"""Units that are one neuron, merged as the sort's first curation.

Training can give one neuron two filters, and the sort then splits its spikes between them. Two
kinds of evidence say so, both measured against what two independent neurons would show:

- **Drift splits.** Where motion correction leaves a neuron some micrometres off while the probe is
  displaced (a bump the estimate follows only in part), its footprint during the bump gets a filter
  of its own: the neuron fires as one unit at rest and as the other while the bump lasts (on the
  suite's non-rigidly drifting 32-channel probe, four units of 15-28x the noise at recall 0.61
  each). Independent neurons are active in the same seconds as often as their activities give by
  chance; the two halves of one neuron take turns: the 1 s bins in which both fire are fewer than
  independence gives (not none: while the probe moves through the displacement between the two
  footprints the neuron's spikes go to both), and each half fires at the neuron's one rate in the
  bins it has alone (pieces of two neurons, one at rest and one in the bump, take turns too, at their
  own rates: four such pairs on the suite's zigzag-and-bumps probe, none of the nine true ones).
- **One refractory period.** Two filters of one neuron's waveform (its spikes alone, and with a
  small neighbour's on them, trained onto the same shape) split its spikes at random, and no spike
  of one comes within the neuron's refractory period of a spike of the other: their coincidences
  between 0.2 ms (one spike coded twice, engine.sorting.double_codes) and ``REFRACTORY_MS`` are fewer
  than half of what their rates (in 10 s bins) give (on a single contact of the suite a 30 Hz unit
  held by two filters correlated 0.998: 125 such coincidences against 938).

Either test is binomial or Poisson, significant at ``FALSE_ALARM`` over the pairs tested, and only
pairs that could be one neuron are tested (the refractory test not between amplitude bands of one filter,
engine.model.amplitude_bands, which the encoder never codes that close): peak channels within ``NEIGHBOURHOOD_UM`` (over which a
spike is seen) and aligned filters that correlate at least ``FLOOR_FRACTION`` (each would still code
the other's spikes above its amplitude floor). Pairs with too few spikes to show it are not tested.
The merges are curation actions (engine.curation.model), undone as any merge is; the filters stay.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import binom, poisson

from engine.curation.model import DEFAULT_LABEL, Curation
from engine.curation.suggestions import REFRACTORY_MS
from engine.model.amplitude_bands import AmplitudeBands
from engine.sorting.double_codes import coincidence_window
from engine.sorting.sorter import SortResult
from engine.training.amplitude_floor import FLOOR_FRACTION
from engine.training.initialization import merge_shift
from engine.training.local_clusters import NEIGHBOURHOOD_UM
from engine.training.shifted_copies import shift_correlations

ACTIVITY_BIN_S = 1.0  # much shorter than a drift's plateau, long enough for an active unit to fire
RATE_BIN_S = 10.0  # rates for the coincidences independence gives: they change with drift and state
FALSE_ALARM = 1e-3  # chance, over all pairs of one sort, of merging two independent units (each test)
NOTE = "merged automatically: one neuron (its spikes fire in turns or never within its refractory period)"


def aligned_correlations(filters: np.ndarray) -> np.ndarray:
    """Best correlation of every pair of unit-norm filters within ``merge_shift`` samples."""
    table, shifts = shift_correlations(filters)
    return table[:, :, shifts <= merge_shift(np.shape(filters)[-1])].max(axis=2)


def peak_positions(filters: np.ndarray, positions: np.ndarray) -> np.ndarray:
    energy = (np.asarray(filters, dtype=np.float64) ** 2).sum(axis=2)
    return np.asarray(positions, dtype=np.float64)[energy.argmax(axis=1)]


def candidate_pairs(filters: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, second), first < second: units whose peaks are neighbours and whose filters are alike."""
    peaks = peak_positions(filters, positions)
    near = np.linalg.norm(peaks[:, None] - peaks[None], axis=2) <= NEIGHBOURHOOD_UM
    alike = aligned_correlations(filters) >= FLOOR_FRACTION
    return np.nonzero(np.triu(near & alike, k=1))


def binned_counts(result: SortResult, bin_samples: int, n_bins: int) -> np.ndarray:
    """(units, bins) spike counts; spikes past the last whole bin are left out."""
    inside = result.times < n_bins * bin_samples
    counts = np.zeros((result.n_units, n_bins))
    np.add.at(counts, (result.units[inside], result.times[inside] // bin_samples), 1.0)
    return counts


def fire_in_turns(result: SortResult, first, second, n_samples: int) -> np.ndarray:
    """Of each pair, whether the 1 s bins in which both fire are beyond chance fewer than their
    activities give, at one rate: each unit fires as often in the bins it has alone as the other does
    in its own."""
    bin_samples = max(1, int(round(ACTIVITY_BIN_S * result.sampling_rate)))
    n_bins = int(n_samples // bin_samples)
    if n_bins < 2:
        return np.zeros(len(first), dtype=bool)
    counts = binned_counts(result, bin_samples, n_bins)
    active = counts > 0
    chance = active.mean(axis=1)[first] * active.mean(axis=1)[second]
    testable = n_bins * chance >= 1.0
    both = (active[first] & active[second]).sum(axis=1)
    p = binom.cdf(both, n_bins, chance) * max(1, int(testable.sum()))
    in_turns = testable & (p < FALSE_ALARM)
    in_turns[in_turns] = one_rate(counts, first[in_turns], second[in_turns])
    return in_turns


def one_rate(counts: np.ndarray, first, second) -> np.ndarray:
    """Of each pair of units that take turns, whether they fire at one rate in the bins each has alone.

    Two neurons whose drift pieces take turns (one active while the probe is displaced, the other
    at rest) are in turns too, but a neuron's rate does not change with the filter that codes it: on
    the suite's zigzag-and-bumps probe a 2.2 Hz neuron's piece and a 21 Hz neuron's took turns. Given
    the spikes of both in the bins that only one of them has, the first unit's share is binomial in
    its share of those bins; a share beyond chance (two-sided, ``FALSE_ALARM`` over the pairs) says
    two rates."""
    alone_first = (counts[first] > 0) & (counts[second] == 0)
    alone_second = (counts[second] > 0) & (counts[first] == 0)
    spikes_first = (counts[first] * alone_first).sum(axis=1)
    spikes = spikes_first + (counts[second] * alone_second).sum(axis=1)
    bins_first, bins = alone_first.sum(axis=1), (alone_first | alone_second).sum(axis=1)
    share = np.divide(bins_first, bins, out=np.full(len(bins), 0.5), where=bins > 0)
    tail = np.minimum(binom.cdf(spikes_first, spikes, share), binom.sf(spikes_first - 1, spikes, share))
    return np.minimum(1.0, 2 * tail) * max(1, len(first)) >= FALSE_ALARM


def coincidences(times_a: np.ndarray, times_b: np.ndarray, low: int, high: int) -> int:
    """Pairs (a, b) with ``low < |b - a| <= high`` samples; ``times_a`` sorted."""
    after = np.searchsorted(times_a, times_b + high, "right") - np.searchsorted(times_a, times_b + low, "right")
    before = np.searchsorted(times_a, times_b - low, "left") - np.searchsorted(times_a, times_b - high, "left")
    return int(after.sum() + before.sum())


def share_a_refractory_period(result: SortResult, first, second, n_samples: int) -> np.ndarray:
    """Of each pair, whether their spikes come within ``REFRACTORY_MS`` of each other (beyond a
    double code's ``COINCIDENCE_MS``) beyond chance fewer than half as often as their rates give."""
    rate = result.sampling_rate
    low = coincidence_window(rate)
    high = int(round(REFRACTORY_MS * 1e-3 * rate))
    bin_samples = int(round(RATE_BIN_S * rate))
    n_bins = max(1, int(n_samples // bin_samples))
    counts = binned_counts(result, bin_samples, n_bins)
    expected = (counts[first] * counts[second]).sum(axis=1) * 2 * (high - low) / bin_samples
    testable = expected >= 1.0
    trains = [np.sort(result.unit_times(unit)) for unit in range(result.n_units)]
    verdict = np.zeros(len(first), dtype=bool)
    for i in np.flatnonzero(testable):
        seen = coincidences(trains[first[i]], trains[second[i]], low, high)
        verdict[i] = poisson.cdf(seen, 0.5 * expected[i]) * int(testable.sum()) < FALSE_ALARM
    return verdict


def union_groups(n_units: int, first, second) -> list[list[int]]:
    """Groups (two or more units each, ascending) joined by the pairs (first, second)."""
    parent = list(range(n_units))

    def root(unit: int) -> int:
        while parent[unit] != unit:
            unit = parent[unit]
        return unit

    for a, b in zip(first, second):
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for unit in range(n_units):
        groups.setdefault(root(unit), []).append(unit)
    return [members for members in groups.values() if len(members) > 1]


def same_neuron_groups(result: SortResult, filters: np.ndarray, positions: np.ndarray,
                       n_samples: int) -> list[list[int]]:
    """Groups (two or more units each, ascending) of units that are one neuron."""
    n_units = result.n_units
    if n_units < 2 or len(result) == 0:
        return []
    first, second = candidate_pairs(filters, positions)
    one = fire_in_turns(result, first, second, n_samples)
    # bands of one filter never come within its refractory period: the encoder makes them one spike
    bands = AmplitudeBands.of(filters)
    apart = np.ones(len(first), dtype=bool) if bands is None else ~bands.same_filter(first, second)
    one[apart] |= share_a_refractory_period(result, first[apart], second[apart], n_samples)
    return union_groups(n_units, first[one], second[one])


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
    """A new sort's curation (``Curation.to_dict``): its units that are one neuron merged, nothing else."""
    curation = Curation(result.times, result.units, result.n_units, result.sampling_rate)
    merge_in_curation(curation, result.merges)
    return curation.to_dict()
