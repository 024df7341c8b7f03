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
  own rates: four such pairs on the suite's zigzag-and-bumps probe, where the suite's twelve true
  pairs fire within 6 % of one rate). Where two neurons fire at one rate, each one's rest piece
  takes turns with the other's bump piece too, and the pieces of one neuron are the most alike:
  pairs are joined most alike first.
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
NOTE = ("merged automatically: one neuron (its pieces fire in turns at one rate, "
        "or never within its refractory period)")


def aligned_correlations(filters: np.ndarray) -> np.ndarray:
    """Best correlation of every pair of unit-norm filters within ``merge_shift`` samples."""
    table, shifts = shift_correlations(filters)
    return table[:, :, shifts <= merge_shift(np.shape(filters)[-1])].max(axis=2)


def peak_positions(filters: np.ndarray, positions: np.ndarray) -> np.ndarray:
    energy = (np.asarray(filters, dtype=np.float64) ** 2).sum(axis=2)
    return np.asarray(positions, dtype=np.float64)[energy.argmax(axis=1)]


def candidate_pairs(filters: np.ndarray, positions: np.ndarray,
                    correlations: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(first, second), first < second: units whose peaks are neighbours and whose filters are alike
    (``correlations``: ``aligned_correlations`` of the filters, computed when not given)."""
    peaks = peak_positions(filters, positions)
    near = np.linalg.norm(peaks[:, None] - peaks[None], axis=2) <= NEIGHBOURHOOD_UM
    alike = (aligned_correlations(filters) if correlations is None else correlations) >= FLOOR_FRACTION
    return np.nonzero(np.triu(near & alike, k=1))


def binned_counts(result: SortResult, bin_samples: int, n_bins: int) -> np.ndarray:
    """(units, bins) spike counts; spikes past the last whole bin are left out."""
    inside = result.times < n_bins * bin_samples
    counts = np.zeros((result.n_units, n_bins))
    np.add.at(counts, (result.units[inside], result.times[inside] // bin_samples), 1.0)
    return counts


def turns_p(active_a: np.ndarray, active_b: np.ndarray) -> float:
    """Chance that the bins in which both fire are as few as seen, were the two independent."""
    chance = active_a.mean() * active_b.mean()
    return float(binom.cdf(np.count_nonzero(active_a & active_b), len(active_a), chance))


def one_rate_p(counts_a: np.ndarray, counts_b: np.ndarray) -> float:
    """Chance (two-sided) of the first unit's share of the spikes in the bins that only one of them
    has, were both to fire at one rate: binomial in its share of those bins."""
    alone_a, alone_b = (counts_a > 0) & (counts_b == 0), (counts_b > 0) & (counts_a == 0)
    spikes_a = int(counts_a[alone_a].sum())
    spikes = spikes_a + int(counts_b[alone_b].sum())
    bins = np.count_nonzero(alone_a | alone_b)
    if spikes == 0:
        return 1.0
    share = np.count_nonzero(alone_a) / bins
    return min(1.0, 2 * min(binom.cdf(spikes_a, spikes, share), binom.sf(spikes_a - 1, spikes, share)))


def join_in_turns(result: SortResult, first, second, n_samples: int, groups: Groups) -> None:
    """Join the groups of pairs that take turns: the 1 s bins in which both fire are beyond chance
    fewer than independence gives, and the two fire at one rate in the bins each has alone.

    A neuron's rate does not change with the filter that codes it, but pieces of two neurons, one
    at rest and one in the bump, take turns too. Pairs are joined in the order given (the most alike
    filters first), and each join is tested between the groups so far, pairs refused once tried again
    after a join: a neuron in three pieces has its spikes in one bin split between two of them, and
    only the two together fire at its rate."""
    bin_samples = max(1, int(round(ACTIVITY_BIN_S * result.sampling_rate)))
    n_bins = int(n_samples // bin_samples)
    if n_bins < 2 or len(first) == 0:
        return
    counts = binned_counts(result, bin_samples, n_bins)
    active = counts > 0
    rates = active.mean(axis=1)
    testable = np.flatnonzero(n_bins * rates[first] * rates[second] >= 1.0)
    tests = max(1, len(testable))
    p = np.array([turns_p(active[first[i]], active[second[i]]) for i in testable]) * tests
    in_turns = testable[p < FALSE_ALARM]
    joined = True
    while joined:  # a pair refused before may be one neuron once either side has grown
        joined = False
        for i in in_turns:
            a, b = groups.members(first[i]), groups.members(second[i])
            if a == b:
                continue
            together_a, together_b = counts[a].sum(axis=0), counts[b].sum(axis=0)
            if (turns_p(together_a > 0, together_b > 0) * tests < FALSE_ALARM
                    and one_rate_p(together_a, together_b) * len(in_turns) >= FALSE_ALARM):
                groups.join(first[i], second[i])
                joined = True


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
        # half, not all, of chance: the encoder codes one of two near-coincident spikes of alike filters, so
        # neighbours of one shape coincide less than chance (on single-25k-long, fewer than chance alone
        # joined a fourth unit to one neuron's three filters: 0.876 -> 0.663)
        verdict[i] = poisson.cdf(seen, 0.5 * expected[i]) * int(testable.sum()) < FALSE_ALARM
    return verdict


class Groups:
    """Units joined into groups, each group named by its smallest unit."""

    def __init__(self, n_units: int):
        self.parent = list(range(n_units))

    def root(self, unit: int) -> int:
        while self.parent[unit] != unit:
            unit = self.parent[unit]
        return unit

    def join(self, a: int, b: int) -> None:
        ra, rb = self.root(int(a)), self.root(int(b))
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def members(self, unit: int) -> list[int]:
        """The units of ``unit``'s group, ascending."""
        root = self.root(int(unit))
        return [u for u in range(len(self.parent)) if self.root(u) == root]

    def groups(self) -> list[list[int]]:
        """Groups of two or more units, each ascending, in order of their smallest unit."""
        by_root: dict[int, list[int]] = {}
        for unit in range(len(self.parent)):
            by_root.setdefault(self.root(unit), []).append(unit)
        return [members for members in by_root.values() if len(members) > 1]


def union_groups(n_units: int, first, second) -> list[list[int]]:
    """Groups (two or more units each, ascending) joined by the pairs (first, second)."""
    groups = Groups(n_units)
    for a, b in zip(first, second):
        groups.join(a, b)
    return groups.groups()


def same_neuron_groups(result: SortResult, filters: np.ndarray, positions: np.ndarray,
                       n_samples: int) -> list[list[int]]:
    """Groups (two or more units each, ascending) of units that are one neuron: first the pieces that
    share one refractory period, then the groups that take turns."""
    n_units = result.n_units
    if n_units < 2 or len(result) == 0:
        return []
    correlations = aligned_correlations(filters)
    first, second = candidate_pairs(filters, positions, correlations)
    # bands of one filter never come within its refractory period: the encoder makes them one spike
    bands = AmplitudeBands.of(filters)
    apart = np.ones(len(first), dtype=bool) if bands is None else ~bands.same_filter(first, second)
    refractory = np.zeros(len(first), dtype=bool)
    refractory[apart] = share_a_refractory_period(result, first[apart], second[apart], n_samples)
    groups = Groups(n_units)
    for a, b in zip(first[refractory], second[refractory]):
        groups.join(a, b)
    # where two neurons each have a piece at rest and one in the bumps, pieces take turns across the
    # neurons as well as within each; a neuron's own pieces are the most alike, so they are tried first
    turns_first, turns_second = first[~refractory], second[~refractory]
    order = np.argsort(-correlations[turns_first, turns_second], kind="stable")
    join_in_turns(result, turns_first[order], turns_second[order], n_samples, groups)
    return groups.groups()


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
