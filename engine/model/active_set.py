"""The encoder's lasso solved on candidate spike positions (an active set).

The dense encoder (``ConvSparseAutoencoder.encode``) updates a code at every
sample of every unit at every FISTA step, although nearly all of them stay
zero: at 30 kHz that is most of the time spent sorting. The solution of the
nonnegative lasso is zero wherever the correlation Hᵀy stays below lambda
and no spike nearby changes it, so this solver works only where spikes can be:

1. the correlations b = Hᵀy, once (FFT);
2. candidates: every local maximum of each unit's b above
   ``CANDIDATE_FRACTION`` of lambda (or of the unit's amplitude floor).
   Keeping only the largest maximum per refractory period lost a spike
   whenever a neighbour's overlapping spike lifted a nearby sample higher
   (on a generated tetrode: recall 0.955 instead of 0.990 for the units
   that overlap most);
3. the same objective as the dense encoder (two reweighted-L1 passes, then
   a refit without penalty on the codes that survive) restricted to the
   candidates. Its Gram matrix is sparse, since two codes interact only
   when less than ``taps`` samples apart, and its entries are the filters'
   cross-correlations;
4. when sorting, the same problem once more over the codes found, the
   samples either side of each (so that a spike falling between two
   samples is fitted by two adjacent codes; ``merge_spikes`` makes them
   one) and the local maxima of the residual correlation Hᵀ(y − Hx) near
   them (``_uncovered_candidates``: small spikes hidden on the flank of a
   larger neighbour's cross-talk).

An earlier version of that residual round, tried before the amplitude
floors and the removal of shifted copies, changed one spike in a minute of
the seed data and none on a generated tetrode; with them, the generated
recordings of benchmarks/peers.py showed 2-5 % of the small units' spikes
hidden that way, and the round, whose HᵀHx is added code by code from the
filters' cross-correlations, recovers them.
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse
from scipy.sparse import linalg as sparse_linalg
from scipy.signal import find_peaks

from engine.model.amplitude_bands import AmplitudeBands
from engine.model.spectral import SpectralOperator

CANDIDATE_FRACTION = 0.5
INTERACTION_FLOOR = 0.02  # largest cross-correlation of two unit-norm filters below which they do not interact
STEPS_PER_PASS = 40
MAX_REFITS = 5
NNLS_STEPS = 200  # projected-gradient steps when the refits run out
CROSS_TALK_BATCH = 1 << 22  # values added at once by the residual's cross-talk (bounds its memory)
RIDGE = 1e-6  # relative to the diagonal: keeps the refit solvable where two codes are nearly parallel
CORRELATIONS_KEPT_BYTES = 256 << 20  # Hᵀy of the last stretches sorted with a key (the window on screen)


@dataclass
class SparseCodes:
    """Nonzero codes: segment, code index, unit and value of each."""
    segment: np.ndarray
    position: np.ndarray
    unit: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.value)

    def to_dense(self, n_segments: int, n_units: int, n_codes: int, device=None) -> torch.Tensor:
        dense = torch.zeros(n_segments, n_units, n_codes, device=device)
        index = (torch.as_tensor(self.segment), torch.as_tensor(self.unit), torch.as_tensor(self.position))
        dense[tuple(i.to(dense.device) for i in index)] = torch.as_tensor(self.value, dtype=torch.float32,
                                                                         device=dense.device)
        return dense


def cross_correlations(weight: torch.Tensor) -> np.ndarray:
    """(units, units, 2 taps − 1): entry [u, v, d + taps − 1] is <h_u at m, h_v at m + d>.

    By FFT, with one units x units matrix product per frequency: ten times
    faster than the direct correlation (conv1d) on a 32-channel probe,
    where it was a tenth of every training step.
    """
    taps = weight.shape[-1]
    n_fft = 1 << (2 * taps - 2).bit_length()  # holds every lag without wrapping
    spectrum = torch.fft.rfft(weight.detach().double().cpu(), n=n_fft).permute(2, 0, 1)  # (freqs, units, channels)
    products = torch.matmul(spectrum, spectrum.conj().transpose(1, 2))  # (freqs, units, units)
    circular = torch.fft.irfft(products.permute(1, 2, 0), n=n_fft)
    return circular[..., (np.arange(2 * taps - 1) - (taps - 1)) % n_fft].numpy()


class ActiveSetProblem:
    """The lasso over the candidates of a batch of segments, on one time axis.

    Segment s, code index m sits at s * stride + m; the stride leaves a gap of
    ``taps`` between segments so that codes of different segments never
    interact.
    """

    def __init__(self, table: np.ndarray, partners: "Partners", n_codes: int):
        self.table = table
        self.partners = partners
        self.n_taps = (table.shape[-1] + 1) // 2
        self.stride = n_codes + self.n_taps

    def gram(self, key: np.ndarray, unit: np.ndarray) -> sparse.csr_matrix:
        """Sparse Gram matrix of candidates sorted by ``key``.

        Each candidate's partners are looked up among the candidates of the units its own unit interacts
        with, not among every candidate within reach: on a long probe most units near in time are far
        apart in space (300 units on 384 channels: 0.8 s of the 1.6 s that sorting 1 s took, now 0.17 s).
        """
        reach = self.n_taps - 1
        n = len(key)
        if n == 0:
            return sparse.csr_matrix((0, 0))
        # candidates ordered by unit, then time, in cells of one unit and ``reach + 1`` samples: a partner's
        # candidates within reach lie in two or three cells, found by indexing rather than by a binary search
        # (which took half of the Gram matrix's time: 39 of 85 ms for 1 s of 300 units on 384 channels)
        width = reach + 1
        by_unit = np.lexsort((key, unit))
        n_cells = int(key[-1]) // width + 2
        cell = unit[by_unit] * n_cells + key[by_unit] // width
        starts = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=self.table.shape[0] * n_cells))])
        rows, other = self.partners.of(unit)
        lo = starts[other * n_cells + np.maximum(key[rows] - reach, 0) // width]
        hi = starts[other * n_cells + (key[rows] + reach) // width + 1]
        rows = np.repeat(rows, hi - lo)
        cols = by_unit[_ranges(lo, hi - lo)]
        near = np.abs(key[cols] - key[rows]) <= reach
        rows, cols = rows[near], cols[near]
        values = self.table[unit[rows], unit[cols], key[cols] - key[rows] + reach]
        gram = sparse.csr_matrix((values, (rows, cols)), shape=(n, n))
        gram.sort_indices()  # the same order of summation in every product, whichever way it was built
        return gram


class Partners:
    """For each unit, the units whose filters overlap its own enough to interact (``INTERACTION_FLOOR``)."""

    def __init__(self, interacts: np.ndarray):
        self.count = interacts.sum(axis=1)
        self.start = np.cumsum(self.count) - self.count
        self.units = np.nonzero(interacts)[1]

    def of(self, unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``unit``, partner unit) for every partner of every entry of ``unit``."""
        counts = self.count[unit]
        return np.repeat(np.arange(len(unit)), counts), self.units[_ranges(self.start[unit], counts)]


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """starts[0] .. starts[0] + counts[0] − 1, then the same for each following entry, as one array."""
    offsets = np.cumsum(counts) - counts
    return np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))


def _fista(gram: sparse.csr_matrix, b: np.ndarray, x: np.ndarray, weights: np.ndarray, n_steps: int,
           lipschitz: float) -> np.ndarray:
    """Nonnegative FISTA on 1/2 xᵀGx − bᵀx + weightsᵀx."""
    step = 1.0 / lipschitz
    z, t = x, 1.0
    for _ in range(n_steps):
        x_next = np.maximum(z + step * (b - gram @ z - weights), 0.0)
        t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        z = x_next + ((t - 1.0) / t_next) * (x_next - x)
        x, t = x_next, t_next
    return x


def refit(gram: sparse.csr_matrix, b: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Least squares on the support, without penalty and nonnegative: codes that turn negative leave it.

    Near-parallel filters (units of similar waveforms) can keep producing negative codes round after
    round; after ``MAX_REFITS`` the rest is solved as a nonnegative least squares by projected
    gradient from the last round's positive codes. One stubborn group must not empty the chunk it was
    solved with.
    """
    x = np.zeros_like(b)
    index = np.flatnonzero(support)
    for _ in range(MAX_REFITS):
        if len(index) == 0:
            return x
        block = gram[index][:, index].tocsc()
        block = block + sparse.diags(RIDGE * block.diagonal())
        values = np.atleast_1d(sparse_linalg.spsolve(block, b[index]))
        x[:] = 0.0
        x[index] = np.maximum(values, 0.0)
        if (values > 0).all():
            return x
        index = index[values > 0]
    index = np.flatnonzero(support)
    block = gram[index][:, index].tocsr()
    bound = float(abs(block).sum(axis=1).max())  # Gershgorin: no eigenvalue exceeds the largest row sum
    x[index] = _fista(block, b[index], x[index], 0.0, NNLS_STEPS, max(bound, 1e-12))
    return x


def solve_lasso(gram: sparse.csr_matrix, b: np.ndarray, lam: float, reweight_scale: float,
                lipschitz: float, reweight_passes: int = 2) -> np.ndarray:
    """Reweighted nonnegative lasso, then an unpenalised refit on its support.

    The step is the model's global 1/L, not one fitted to these candidates, so
    that every group of interacting codes gets the same iterates whichever
    chunk of the recording it is solved in.
    """
    x = np.zeros_like(b)
    weights = np.full_like(b, lam)
    for _ in range(reweight_passes):
        x = _fista(gram, b, x, weights, STEPS_PER_PASS, lipschitz)
        weights = lam / (1.0 + x / (reweight_scale * lam))
    return refit(gram, b, x > 0)


class ActiveSetEncoder:
    """The active-set solver with the model's current filters.

    Building it transforms the filters once (spectra, cross-correlations);
    sorting builds one per run, training one per step. A model with amplitude
    bands (engine.model.amplitude_bands) is solved with each distinct filter
    once, and its codes carry the leader's unit; ``label`` gives the bands.
    """

    def __init__(self, model, neighbours: bool = True):
        self.model = model
        self.neighbours = neighbours
        weight = model.weight.detach()
        self.bands = AmplitudeBands.of(model.filters())
        self.floors = model.min_amplitudes
        self.lipschitz = model.lipschitz
        if self.bands is not None:
            weight = weight[torch.as_tensor(self.bands.leaders, device=weight.device)]
            self.floors = self.bands.encoding_floors(model.min_amplitudes)
            self.lipschitz = type(model)(weight.cpu(), model.lam).lipschitz  # copies of a filter would lower the step
        self.unit_ids = np.arange(model.n_units) if self.bands is None else self.bands.leaders
        self.n_units = len(weight)
        with torch.no_grad():
            self.operator = SpectralOperator(weight)
        self.table = cross_correlations(weight)
        # units whose filters barely overlap (far apart on a probe) are treated as not interacting
        self.partners = Partners(np.abs(self.table).max(axis=2) >= INTERACTION_FLOOR)
        self._correlations: OrderedDict = OrderedDict()  # key -> Hᵀy, the most recent last
        self._correlations_lock = threading.Lock()  # chunks are encoded on several threads

    def encode(self, y: torch.Tensor, lam: float | None = None, key=None) -> SparseCodes:
        """Codes of segments y (batch, channels, n). With a ``key`` naming y (hashable; equal keys for
        equal data), y's correlation is kept for the next call with the same key: it does not depend on
        lambda, and a λ change re-sorts the same window."""
        model = self.model
        lam = model.lam if lam is None else lam
        n_codes = y.shape[-1] - model.n_taps + 1
        problem = ActiveSetProblem(self.table, self.partners, n_codes)
        correlation = self._correlation(y, key)
        levels = self.candidate_levels(lam)
        segment, position, unit, x = self._solve(problem, correlation, *_candidates(correlation, levels), lam)
        if self.neighbours:
            found = x > 0
            around = _with_neighbours(segment[found], position[found], unit[found], n_codes)
            found_codes = SparseCodes(segment[found], position[found], unit[found], x[found].astype(np.float32))
            uncovered = _uncovered_candidates(correlation, self.table, self.partners, found_codes, levels)
            candidates = _union(around, uncovered, self.n_units, n_codes)
            segment, position, unit, x = self._solve(problem, correlation, *candidates, lam)
        keep = x > 0
        return SparseCodes(segment[keep], position[keep], self.unit_ids[unit[keep]], x[keep].astype(np.float32))

    def _correlation(self, y: torch.Tensor, key) -> np.ndarray:
        with self._correlations_lock:
            kept = self._correlations.get(key) if key is not None else None
            if kept is not None:
                self._correlations.move_to_end(key)
                return kept
        with torch.no_grad():
            correlation = self.operator.correlate(y).cpu().numpy()
        if key is not None:
            correlation.setflags(write=False)  # shared with later calls: nothing may write into it
            with self._correlations_lock:
                self._correlations[key] = correlation
                while (len(self._correlations) > 1 and
                       sum(c.nbytes for c in self._correlations.values()) > CORRELATIONS_KEPT_BYTES):
                    self._correlations.popitem(last=False)  # the oldest; the newest stays
        return correlation

    def label(self, spikes: SparseCodes) -> SparseCodes:
        """Spikes (``merge_spikes`` of ``encode``) with each leader's spike moved to its amplitude band."""
        if self.bands is None:
            return spikes
        units = self.bands.label(spikes.unit, spikes.value, self.model.min_amplitudes)
        return SparseCodes(spikes.segment, spikes.position, units, spikes.value)

    def _solve(self, problem: ActiveSetProblem, correlation: np.ndarray, segment, position, unit, lam: float):
        """The lasso over these candidates: (segment, position, unit, value), sorted in time."""
        key = segment * problem.stride + position
        order = np.argsort(key, kind="stable")
        segment, position, unit, key = segment[order], position[order], unit[order], key[order]
        b = correlation[segment, unit, position].astype(np.float64)
        model = self.model
        x = solve_lasso(problem.gram(key, unit), b, lam, model.reweight_scale, self.lipschitz,
                        model.reweight_passes)
        return segment, position, unit, x

    def candidate_levels(self, lam: float) -> np.ndarray:
        """Correlation a unit's candidate must reach: a fraction of lambda and of the unit's amplitude floor.

        On a probe one large spike lifts the correlation of every neighbouring
        unit's filter; a floor-relative level keeps that cross-talk out of the
        problem.
        """
        levels = np.full(self.n_units, CANDIDATE_FRACTION * lam)
        if self.floors is not None:
            levels = np.maximum(levels, CANDIDATE_FRACTION * self.floors)
        return levels


_ENCODERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # model -> (key, encoder)


def cached_encoder(model) -> ActiveSetEncoder:
    """The model's encoder, kept while its filters (the same tensor, not modified in place: torch's
    version counter), floors and step size stay. Building one transforms the filters (spectra, their
    cross-correlations, the bands' step size): 10 s for 300 filters on 384 channels, where a λ change
    re-sorts the visible window with the same filters."""
    weight, floors = model.weight, model.min_amplitudes
    key = (weight._version, None if floors is None else np.asarray(floors).tobytes(), float(model.lipschitz))
    cached = _ENCODERS.get(model)
    if cached is None or cached[0] is not weight or cached[1] != key:
        encoder = ActiveSetEncoder(model)
        encoder.model = weakref.proxy(model)  # the cache must not keep the model alive
        cached = (weight, key, encoder)
        _ENCODERS[model] = cached
    return cached[2]


def _candidates(correlation: np.ndarray, levels: np.ndarray):
    """(segment, position, unit) of every local maximum of each unit's correlation above its level."""
    segments, positions, units = [], [], []
    for s, rows in enumerate(correlation):
        for u, (row, level) in enumerate(zip(rows, levels)):
            peaks = find_peaks(row, height=level)[0]
            segments.append(np.full(len(peaks), s))
            positions.append(peaks)
            units.append(np.full(len(peaks), u))
    return (np.concatenate(segments).astype(np.int64), np.concatenate(positions).astype(np.int64),
            np.concatenate(units).astype(np.int64))


def _with_neighbours(segment, position, unit, n_codes):
    """These codes and the samples either side of each."""
    position = np.concatenate([position - 1, position, position + 1])
    segment, unit = np.tile(segment, 3), np.tile(unit, 3)
    inside = (position >= 0) & (position < n_codes)
    return segment[inside], position[inside], unit[inside]


def _union(first, second, n_units: int, n_codes: int):
    """(segment, position, unit) of two candidate sets together, without repeats."""
    segment, position, unit = (np.concatenate([a, b]) for a, b in zip(first, second))
    keys = np.unique((segment * n_units + unit) * n_codes + position)
    return keys // (n_units * n_codes), keys % n_codes, (keys // n_codes) % n_units


def _uncovered_candidates(correlation: np.ndarray, table: np.ndarray, partners: Partners, codes: SparseCodes,
                          levels: np.ndarray):
    """Local maxima of the residual correlation Hᵀ(y − Hx) within a filter's reach of the codes found.

    A small spike just before or after a large one of another unit can sit on
    the flank of the large spike's cross-talk in Hᵀy, where it makes no local
    maximum and so never becomes a candidate. Once the large spike's codes
    are known, its cross-talk HᵀHx is subtracted and the small spike shows.
    Only samples within a filter's length of a code change, so only there
    are new candidates looked for. On the generated recordings of
    benchmarks/peers.py this recovered the 2-5 % of small units' spikes that
    fell 5-20 samples from a large unit's (tetrode: a 82 µV unit next to a
    276 µV one went from 0.967 to 0.997 accuracy).
    """
    n_segments, n_units, n_codes = correlation.shape
    reach = (table.shape[-1] - 1) // 2
    residual = correlation - _cross_talk(codes, table, partners, correlation.shape)
    touched = np.zeros((n_segments, n_codes + 2 * reach + 1), dtype=np.int32)
    np.add.at(touched, (codes.segment, codes.position), 1)
    np.add.at(touched, (codes.segment, codes.position + 2 * reach + 1), -1)
    near = np.cumsum(touched, axis=1)[:, reach:reach + n_codes] > 0  # within reach of a code
    middle = residual[..., 1:-1]
    peak = (middle > residual[..., :-2]) & (middle >= residual[..., 2:]) & (middle > levels[None, :, None])
    peak &= near[:, None, 1:-1]
    segment, unit, position = np.nonzero(peak)
    return segment, position + 1, unit


def _cross_talk(codes: SparseCodes, table: np.ndarray, partners: Partners, shape: tuple) -> np.ndarray:
    """HᵀHx, (segments, units, codes): each code's filter correlated with its partners' filters, added
    code by code from the cross-correlation table.

    Only the units that interact are summed, as in the lasso's Gram matrix. A spike adds to a partner's
    correlation over 2 taps − 1 samples, so this costs far less than a correlation of every unit's codes
    with every unit's filters (by FFT: 0.34 s of the 1.6 s that 1 s of 300 units took to sort).
    """
    n_segments, n_units, n_codes = shape
    length = table.shape[-1]
    reach = (length - 1) // 2
    width = n_codes + 2 * reach  # samples reach before the first code and after the last receive too
    explained = torch.zeros(n_segments * n_units * width)
    rows, other = partners.of(codes.unit)
    lags = np.arange(length)
    step = max(1, CROSS_TALK_BATCH // length)
    for lo in range(0, len(rows), step):
        row, unit = rows[lo:lo + step], other[lo:lo + step]
        start = (codes.segment[row] * n_units + unit) * width + codes.position[row]
        talk = (codes.value[row, None] * table[codes.unit[row], unit]).astype(np.float32)
        explained.index_add_(0, torch.from_numpy((start[:, None] + lags).ravel()), torch.from_numpy(talk.ravel()))
    return explained.reshape(n_segments, n_units, width)[..., reach:reach + n_codes].numpy()


def spike_groups(codes: SparseCodes, distance: int) -> np.ndarray:
    """Group number of each code: same-unit codes closer than ``distance`` are one spike."""
    order = np.lexsort((codes.position, codes.unit, codes.segment))
    seg, pos, un = codes.segment[order], codes.position[order], codes.unit[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = (seg[1:] != seg[:-1]) | (un[1:] != un[:-1]) | (pos[1:] - pos[:-1] >= distance)
    groups = np.empty(len(order), dtype=np.int64)
    groups[order] = np.cumsum(new_group) - 1
    return groups


def merge_spikes(codes: SparseCodes, distance: int) -> SparseCodes:
    """One spike per group of same-unit codes closer than ``distance``: summed value, at the largest code.

    When sorting, the encoder solves again with each code's two neighbours, so
    a spike that falls between two samples is fitted by two adjacent codes.
    """
    if len(codes) == 0:
        return codes
    _, peak, total = spike_peaks(codes, distance)
    return SparseCodes(codes.segment[peak], codes.position[peak], codes.unit[peak], total.astype(np.float32))


def spike_peaks(codes: SparseCodes, distance: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``spike_groups``, the index of each group's largest code, and each group's summed value."""
    groups = spike_groups(codes, distance)
    total = np.bincount(groups, weights=codes.value)
    by_value = np.lexsort((codes.value, groups))  # each group's largest code comes last
    peak = by_value[np.flatnonzero(np.r_[groups[by_value][1:] != groups[by_value][:-1], True])]
    return groups, peak, total


def drop_below(codes: SparseCodes, floors: np.ndarray, distance: int) -> SparseCodes:
    """The codes of spikes (groups) whose summed value reaches their unit's floor."""
    if len(codes) == 0:
        return codes
    groups = spike_groups(codes, distance)
    total = np.bincount(groups, weights=codes.value)
    keep = total[groups] >= floors[codes.unit]
    return SparseCodes(codes.segment[keep], codes.position[keep], codes.unit[keep], codes.value[keep])
