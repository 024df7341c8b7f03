"""Merge suggestions from evidence, each with the reason it is (or is not) made.

Filter shape alone misleads: two neurons of one cell type have filters alike to 0.94. A pair of
clusters is suggested for a merge only when four pieces of evidence agree:

- waveform: their mean waveforms (read back from the recording) are alike in shape (best
  correlation over small shifts) and in size (ratio of their norms);
- refractory dip: their cross-correlogram is nearly empty within +-``REFRACTORY_MS`` against its
  own shoulders (10-50 ms), as one neuron's spikes are; two neurons fire there by chance;
- features: the two clusters do not separate in PCA space (d' along the line joining their
  centres, on their best channels);
- amplitude continuity: over time their amplitudes agree where both fire, or one continues where
  the other stops (a unit split by drift).

Waveforms are read on each cluster's own channels (engine.curation.local), and only clusters sharing
a channel are compared, so 300 units on 384 channels need no all-pairs waveform array.

``evaluate_pairs`` gives the evidence for the most similar pairs, suggested or not, with one
sentence each; ``merge_suggestions`` keeps the suggested ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.curation.features import pca_features, sample_spikes
from engine.curation.local import (cluster_channels, cluster_means, global_best_channels, on_channels,
                                  overlapping_pairs, pair_snippets)
from engine.curation.quality import cluster_members
from engine.groundtruth.metrics import best_shift

REFRACTORY_MS = 1.5
SHOULDER_MS = (10.0, 50.0)
SIMILARITY_MIN = 0.9  # mean waveforms' correlation
CANDIDATE_SIMILARITY = 0.8  # pairs below this are not worth reporting at all
AMPLITUDE_RATIO_MIN = 0.7  # smaller norm over larger
DIP_MAX = 0.3  # CCG counts within the refractory window over what the shoulders predict
MIN_EXPECTED = 5.0  # fewer chance coincidences than this: the CCG cannot tell
SEPARATION_MAX = 2.0  # d' in feature space
CONTINUITY_MAX = 1.5  # amplitude gap in pooled MADs
MIN_SPIKES = 20
SNIPPETS = 300
CHANNELS = 4
TIME_BINS = 20


@dataclass(frozen=True)
class PairEvidence:
    a: int
    b: int
    similarity: float
    amplitude_ratio: float
    refractory_ratio: float  # nan when the CCG cannot tell
    separation: float
    amplitude_gap: float
    suggested: bool
    reason: str


@dataclass
class _Cluster:
    spikes: np.ndarray  # indices into the sort
    sample: np.ndarray  # the spikes whose snippets are read
    channels: np.ndarray  # its channels on the probe (ascending)
    mean: np.ndarray  # (taps, its channels)


def _refractory_ratio(times_a: np.ndarray, times_b: np.ndarray, sampling_rate: float) -> float:
    """CCG counts within +-REFRACTORY_MS over those the shoulders predict; nan when too few to tell."""
    a, b = np.sort(times_a), np.sort(times_b)

    def pairs_within(lag_samples: float) -> int:
        return int((np.searchsorted(b, a + lag_samples, side="right")
                    - np.searchsorted(b, a - lag_samples, side="left")).sum())

    r = REFRACTORY_MS * 1e-3 * sampling_rate
    lo, hi = (s * 1e-3 * sampling_rate for s in SHOULDER_MS)
    shoulder = pairs_within(hi) - pairs_within(lo)
    expected = shoulder * r / (hi - lo)
    if expected < MIN_EXPECTED:
        return float("nan")
    return pairs_within(r) / expected


def _separation(sa_snippets: np.ndarray, sb_snippets: np.ndarray) -> float:
    """d' of the two clusters along the line joining their centres, in PCA space of their best channels."""
    scores = pca_features(np.concatenate([sa_snippets, sb_snippets]), 3)
    sa, sb = scores[:len(sa_snippets)], scores[len(sa_snippets):]
    direction = sa.mean(0) - sb.mean(0)
    norm = np.linalg.norm(direction)
    if norm == 0:
        return 0.0
    pa, pb = sa @ direction / norm, sb @ direction / norm
    spread = np.sqrt(0.5 * (pa.var() + pb.var()))
    return float(abs(pa.mean() - pb.mean()) / max(spread, 1e-12))


def _similarity(ca: _Cluster, cb: _Cluster) -> tuple[float, float]:
    """(shape correlation over small shifts, norm ratio) of two mean waveforms on the union of their
    channels, each zero off its own."""
    union = np.union1d(ca.channels, cb.channels)
    ma, mb = on_channels(ca.mean, ca.channels, union), on_channels(cb.mean, cb.channels, union)
    correlation, _ = best_shift(ma.T, mb.T, ma.shape[0] // 4)
    na, nb = np.linalg.norm(ma), np.linalg.norm(mb)
    return float(max(0.0, correlation)), float(min(na, nb) / max(na, nb, 1e-12))


def _mad(x: np.ndarray) -> float:
    return float(np.median(np.abs(x - np.median(x)))) * 1.4826 if len(x) else 0.0


def _amplitude_gap(times_a, amps_a, times_b, amps_b, duration_samples: int) -> float:
    """How far apart the two clusters' amplitudes are, in pooled MADs: the median gap over the time
    bins where both fire, or across the hand-off when they never fire in the same bin."""
    edges = np.linspace(0, max(duration_samples, 1), TIME_BINS + 1)
    bin_a, bin_b = np.digitize(times_a, edges), np.digitize(times_b, edges)
    spread = max(np.sqrt(0.5 * (_mad(amps_a) ** 2 + _mad(amps_b) ** 2)), 1e-12)
    shared = np.intersect1d(bin_a, bin_b)
    if len(shared):
        gaps = [abs(np.median(amps_a[bin_a == k]) - np.median(amps_b[bin_b == k])) for k in shared]
        return float(np.median(gaps) / spread)
    if times_a.mean() > times_b.mean():  # a fires first
        bin_a, amps_a, bin_b, amps_b = bin_b, amps_b, bin_a, amps_a
    end_of_first, start_of_second = amps_a[bin_a == bin_a.max()], amps_b[bin_b == bin_b.min()]
    return float(abs(np.median(end_of_first) - np.median(start_of_second)) / spread)


def _reason(e: dict) -> tuple[bool, str]:
    why, against = [], []
    (why if e["similarity"] >= SIMILARITY_MIN else against).append(f"waveforms {e['similarity']:.2f} alike")
    (why if e["amplitude_ratio"] >= AMPLITUDE_RATIO_MIN else against).append(
        f"sizes {e['amplitude_ratio']:.2f} of each other")
    ratio = e["refractory_ratio"]
    if ratio != ratio:
        why.append("too few spikes for the CCG to tell")
    elif ratio <= DIP_MAX:
        why.append(f"CCG refractory dip ({ratio:.2f} of chance within ±{REFRACTORY_MS:g} ms)")
    else:
        against.append(f"no refractory dip in the CCG ({ratio:.2f} of chance)")
    (why if e["separation"] < SEPARATION_MAX else against).append(
        f"{'not separated' if e['separation'] < SEPARATION_MAX else 'separated'} in features (d' {e['separation']:.1f})")
    (why if e["amplitude_gap"] < CONTINUITY_MAX else against).append(
        f"amplitudes {'continuous' if e['amplitude_gap'] < CONTINUITY_MAX else 'apart'} over time "
        f"({e['amplitude_gap']:.1f} MAD)")
    if against:
        return False, "not suggested: " + "; ".join(against)
    return True, "; ".join(why)


def evaluate_pairs(recording, times, amplitudes, clusters, ids, exclude=(), progress=None,
                   channels=None) -> list[PairEvidence]:
    """The evidence for every pair of clusters whose mean waveforms are alike (most alike first).

    times, amplitudes, clusters: per spike of the sort (trough sample, amplitude, cluster id);
    ``exclude``: clusters left out (labelled noise); ``progress(fraction)`` is called as it goes;
    ``channels``: cluster -> its probe channels (by default those near its peak channel). Waveforms are
    read on each cluster's channels only, and only pairs sharing a channel are compared.
    """
    times, amplitudes, clusters = (np.asarray(x) for x in (times, amplitudes, clusters))
    excluded = set(int(c) for c in exclude)
    step = (lambda lo, hi: (lambda f: progress(lo + (hi - lo) * f))) if progress is not None else (lambda lo, hi: None)
    usable = [int(c) for c in ids if int(c) not in excluded]
    members = {c: m for c, m in cluster_members(clusters, usable).items() if len(m) >= MIN_SPIKES}
    samples = {c: sample_spikes(m, SNIPPETS, c) for c, m in members.items()}
    if channels is None:
        channels = cluster_channels(recording, times, samples, step(0.0, 0.1))
    means = cluster_means(recording, times, samples, channels, step(0.1, 0.5))
    info = {c: _Cluster(members[c], samples[c], np.asarray(channels[c]), means[c]) for c in members}
    candidates = []
    pairs = overlapping_pairs({c: info[c].channels for c in info})
    for done, (a, b) in enumerate(pairs):
        similarity, ratio = _similarity(info[a], info[b])
        if similarity >= CANDIDATE_SIMILARITY:
            candidates.append((a, b, similarity, ratio))
        if progress is not None and done % 64 == 0:
            progress(0.5 + 0.25 * done / max(1, len(pairs)))
    requests = [(a, b, np.union1d(global_best_channels(info[a].mean, info[a].channels, CHANNELS),
                                  global_best_channels(info[b].mean, info[b].channels, CHANNELS)))
                for a, b, _, _ in candidates]
    separation = {r: _separation(sa, sb) for r, sa, sb in pair_snippets(recording, times, samples, requests,
                                                                        step(0.75, 1.0))}
    out = []
    for r, (a, b, similarity, ratio) in enumerate(candidates):
        ca, cb = info[a], info[b]
        e = dict(similarity=similarity, amplitude_ratio=ratio,
                 refractory_ratio=_refractory_ratio(times[ca.spikes], times[cb.spikes], recording.sampling_rate),
                 separation=separation[r],
                 amplitude_gap=_amplitude_gap(times[ca.spikes], amplitudes[ca.spikes], times[cb.spikes],
                                              amplitudes[cb.spikes], recording.n_samples))
        suggested, reason = _reason(e)
        out.append(PairEvidence(a, b, **e, suggested=suggested, reason=reason))
    return sorted(out, key=lambda p: (not p.suggested, -p.similarity))


def merge_suggestions(evidence: list[PairEvidence]) -> list[PairEvidence]:
    return [e for e in evidence if e.suggested]
