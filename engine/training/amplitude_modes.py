"""Amplitude bands from the codes of the training data: a filter's codes that fall in modes apart
against their spread, each mode a unit of its own (engine.model.amplitude_bands).

A filter's codes on the training data are first freed of the codes that are another unit's spike
coded twice (the smaller of two codes of different units within ``COINCIDENCE_MS``): those sit at a
fraction of the filter's amplitude and would look like a small neuron. What is left is cut in two by
2-means along the code, and the cut is kept when the halves are separated, as discovery decides two
clusters are two units (engine.training.unit_evidence.SEPARATION: cutting one unit's cloud leaves its
halves about 2.7 spreads apart), and when the codes show two sizes rather than one lopsided one
(``two_sizes``); each half is cut again the same way. A part is a unit when its spikes
are its template plus noise (``is_unit``) and are enough to judge that, and when they fire over the data
as the main part's do (not in turns with them, as the sizes of a drifting neuron do); the part with most spikes keeps
the filter's unit, the others become new units. Band edges lie halfway between the parts' median codes,
and the lowest band's floor is half its median code, as every unit's floor is half its typical code.

Before the bands are looked for, filters whose spikes share one refractory period are made one
(``one_neuron_filters``, the test of engine.sorting.same_neuron): two filters trained onto one
waveform each code a random share of both neurons that have it, and neither's codes show two sizes.
On the suite's 30-minute single contact, a 30 Hz unit at 18x the noise and a 4 Hz one at 6.6x had
templates correlated 1.00 and two such filters; made one, the smaller neuron is a band (0.71 -> 0.88).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.stats import chi2_contingency, skewnorm
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from engine.model.amplitude_bands import AmplitudeBands
from engine.sorting.double_codes import coincidence_window, coincident_pairs, drop_double_codes
from engine.sorting.same_neuron import FALSE_ALARM, candidate_pairs, share_a_refractory_period, union_groups
from engine.sorting.sorter import SortResult, trough_offsets
from engine.training.amplitude_floor import FLOOR_FRACTION
from engine.training.crossings import extract_snippets
from engine.training.unit_evidence import MIN_UNIT_SNIPPETS, apart, is_unit

TIME_BINS = 16
MAX_DEPTH = 2  # at most four bands per filter
MIN_SPLIT = 2 * MIN_UNIT_SNIPPETS  # fewer codes than this are not cut


def cut_codes(values: np.ndarray, depth: int = 0, seed: int = 0) -> list[np.ndarray]:
    """Indices of ``values`` in parts whose neighbours are separated, ascending by median."""
    return _cut(np.asarray(values, dtype=np.float64), np.arange(len(values)), depth, seed)


def _cut(values: np.ndarray, index: np.ndarray, depth: int, seed: int) -> list[np.ndarray]:
    here = values[index]
    if len(index) < MIN_SPLIT or depth >= MAX_DEPTH or np.ptp(here) == 0:
        return [index]
    labels = KMeans(2, n_init=3, random_state=seed).fit_predict(here[:, None])
    halves = sorted((index[labels == 0], index[labels == 1]), key=lambda h: np.median(values[h]))
    if not apart(values[halves[0]], values[halves[1]]) or not two_sizes(here, [values[h] for h in halves]):
        return [index]
    return _cut(values, halves[0], depth + 1, seed) + _cut(values, halves[1], depth + 1, seed)


def two_sizes(values: np.ndarray, halves: list[np.ndarray]) -> bool:
    """Whether ``values`` are two sizes: a mixture of two normal sizes, started from the cut's
    ``halves``, explains them better by the Bayesian information criterion than one skew-normal size.

    One neuron's codes are not always symmetric about its size: where the encoder shares its spikes
    with a filter of a similar shape, or collisions take from them, they trail to one side, and
    2-means cuts the trail off as far as two neurons lie apart. On the suite's 128-channel probe two
    units at 11x and 13x the noise were each cut so in two, with one mode and a tail; the skew-normal
    fits them as well as two sizes do, where the bands of two neurons fit it far worse (the bands
    that held two true units on the suite's single contacts, tetrodes and this probe gained from 20
    to 2200 in BIC, the two cut units lost 6 and 1.5).
    """
    n = len(values)
    spread = values.std()
    if n < MIN_SPLIT or spread == 0:
        return False
    z = ((values - values.mean()) / spread)[:, None]
    starts = [(h - values.mean()) / spread for h in halves]
    mixture = GaussianMixture(2, weights_init=[len(h) / n for h in starts], means_init=[[h.mean()] for h in starts],
                              random_state=0).fit(z)
    two = mixture.score(z) * n
    one = skewnorm.logpdf(z[:, 0], *skewnorm.fit(z[:, 0])).sum()
    return 2.0 * (two - one) > (5 - 3) * np.log(n)  # five parameters against three


def single_codes(result: SortResult) -> SortResult:
    """``result`` without the smaller of every two codes of different units at one event."""
    first, second = coincident_pairs(result.times, coincidence_window(result.sampling_rate))
    other = result.units[first] != result.units[second]
    first, second = first[other], second[other]
    keep = np.ones(len(result), dtype=bool)
    keep[np.where(result.amplitudes[first] < result.amplitudes[second], first, second)] = False
    return SortResult(result.times[keep], result.units[keep], result.amplitudes[keep], result.sampling_rate,
                      result.n_units)


def in_turns(times: np.ndarray, main_times: np.ndarray, n_samples: int) -> bool:
    """Whether a part's spikes come at other times than the main part's beyond chance (chi-square test
    of one time course, in ``TIME_BINS`` over the data): a neuron that drifts changes its amplitude
    with the probe's displacement, and its sizes take turns; two neurons of one shape fire at their
    own times, each throughout."""
    edges = np.linspace(0, n_samples, TIME_BINS + 1)
    table = np.stack([np.histogram(times, edges)[0], np.histogram(main_times, edges)[0]])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return False
    return chi2_contingency(table)[1] < FALSE_ALARM


def band_floors(result: SortResult, filters: np.ndarray, traces: np.ndarray, sigma: np.ndarray,
                support: np.ndarray | None = None, seed: int = 0) -> dict[int, tuple[np.ndarray, int]]:
    """For each unit whose spikes hold more than one unit: the floors of its bands (ascending) and which
    band keeps the unit. ``result`` is the training data sorted without floors, ``traces`` (samples,
    channels) that data, ``sigma`` its noise per channel, ``support`` (units, channels) each filter's
    channels (all when None)."""
    result = single_codes(result)
    normalised = traces / np.maximum(sigma, 1e-12)[None, :]
    offsets = trough_offsets(filters)
    n_taps = filters.shape[-1]
    bands = {}
    for unit in range(len(filters)):
        starts = result.times[result.units == unit] - offsets[unit]
        whole = (starts >= 0) & (starts + n_taps <= len(traces))  # spikes at either end have no snippet
        if whole.sum() < MIN_SPLIT:
            continue
        channels = np.flatnonzero(support[unit]) if support is not None else np.arange(traces.shape[1])
        snippets = extract_snippets(normalised[:, channels], starts[whole], n_taps, 0)
        codes = result.amplitudes[result.units == unit][whole].astype(np.float64)
        parts = cut_codes(codes, seed=seed)
        if len(parts) < 2:
            continue
        main = int(np.argmax([len(p) for p in parts]))
        times = starts[whole]
        kept = [part for index, part in enumerate(parts) if index == main or (
            len(part) >= MIN_UNIT_SNIPPETS and is_unit(snippets[part], np.median(snippets[part], axis=0))
            and not in_turns(times[part], times[parts[main]], len(traces)))]
        if len(kept) < 2:
            continue
        medians = np.array([np.median(codes[p]) for p in kept])
        floors = np.r_[FLOOR_FRACTION * medians[0], (medians[:-1] + medians[1:]) / 2]
        bands[unit] = (floors.astype(np.float32), int(np.argmax([len(p) for p in kept])))
    return bands


def one_neuron_filters(spikes: SortResult, model, positions: np.ndarray, n_samples: int) -> list[list[int]]:
    """Groups of units whose spikes (``unfloored_spikes``, floored here) share one refractory period
    (engine.sorting.same_neuron): filters trained onto one neuron's waveform, each coding a random share
    of its spikes and of a smaller neuron's of the same shape, so that neither filter's codes show the
    two sizes apart."""
    floors = np.asarray(model.min_amplitudes)
    keep = spikes.amplitudes >= floors[spikes.units]
    floored = drop_double_codes(SortResult(spikes.times[keep], spikes.units[keep], spikes.amplitudes[keep],
                                           spikes.sampling_rate, spikes.n_units), n_samples)
    filters = model.filters()
    first, second = candidate_pairs(filters, positions)
    one = share_a_refractory_period(floored, first, second, n_samples)
    return union_groups(model.n_units, first[one], second[one])


def add_bands(model, bands: dict[int, tuple[np.ndarray, int]]) -> None:
    """Give ``model`` the bands: each extra band a copy of its filter appended as a new unit."""
    if not bands:
        return
    floors = np.asarray(model.min_amplitudes, dtype=np.float32).copy()
    rows, extra = [], []
    for unit, (edges, main) in sorted(bands.items()):
        floors[unit] = edges[main]
        for index, edge in enumerate(edges):
            if index != main:
                rows.append(unit)
                extra.append(edge)
    with torch.no_grad():
        weight = model.weight.detach()
        model.weight = torch.nn.Parameter(torch.cat([weight, weight[torch.as_tensor(rows, device=weight.device)]]))
    model.min_amplitudes = np.r_[floors, np.asarray(extra, dtype=np.float32)].astype(np.float32)
    if model.support is not None:
        model.support = np.concatenate([model.support, model.support[rows]])
    model._power_vector = None
    model.lipschitz = model.estimate_lipschitz()


def without_bands(model) -> None:
    """``model`` back to one unit per distinct filter (the leaders), as training left it."""
    bands = AmplitudeBands.of(model.filters())
    if bands is not None:
        model.keep_units(bands.leaders)
