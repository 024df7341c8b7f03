"""Quality metrics and merge evidence of the clusters in one call (the window runs it in a process of its
own, app/process_jobs.py): each cluster's channels are found once and both read only those."""
from __future__ import annotations

from engine.curation.features import sample_spikes
from engine.curation.local import cluster_channels
from engine.curation.quality import SNIPPETS_PER_CLUSTER, cluster_members, quality_metrics
from engine.curation.suggestions import evaluate_pairs


def measure(recording, times, amplitudes, clusters, ids, noise_sigma, noise, progress):
    """(quality, evidence) of the clusters ``ids``; ``progress(fraction)`` may raise to cancel."""
    members = cluster_members(clusters, ids)
    samples = {c: sample_spikes(m, SNIPPETS_PER_CLUSTER, seed=c) for c, m in members.items() if len(m)}
    channels = cluster_channels(recording, times, samples, lambda f: progress(0.05 * f))
    quality = quality_metrics(recording, times, amplitudes, clusters, ids, noise_sigma, channels=channels,
                              progress=lambda f: progress(0.05 + 0.45 * f))
    evidence = evaluate_pairs(recording, times, amplitudes, clusters, ids, exclude=noise, channels=channels,
                              progress=lambda f: progress(0.5 + 0.5 * f))
    return quality, evidence
