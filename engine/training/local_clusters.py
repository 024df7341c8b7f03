"""Clusters of threshold crossings found channel by channel, each on its neighbourhood.

A spike's waveform lives on the few channels around its peak channel; elsewhere its snippet is noise.
Principal components of the whole probe are taken up by the largest units, and a small unit's
difference from its neighbours is lost in them. So crossings are grouped by the channel where they
are deepest and clustered on the features of that channel's neighbourhood only: the contacts within
``NEIGHBOURHOOD_UM`` of it, the distance over which an extracellular spike falls to the noise. A
tetrode or a single contact is one neighbourhood. The same unit seen peaking on two neighbouring
channels makes a cluster in each; the merge over the whole probe that follows joins them by their
full waveforms.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from engine.recording.fast_median import median

NEIGHBOURHOOD_UM = 60.0
FEATURES_PER_CHANNEL = 3
MIN_FEATURES = 6  # a single contact still needs a few components to tell waveforms apart
MAX_FEATURES = 12
SPIKES_PER_CLUSTER = 40  # k-means over-splits each group to about this many crossings a cluster
MAX_CLUSTERS_PER_GROUP = 32
MIN_GROUP = 8  # fewer crossings peak on a channel than this: not clustered there
KMEANS_RESTARTS = 3


def neighbourhoods(positions: np.ndarray, radius_um: float = NEIGHBOURHOOD_UM) -> list[np.ndarray]:
    """For each channel, the channels within ``radius_um`` of it (itself included), in channel order."""
    positions = np.asarray(positions, dtype=float)
    distance = np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)
    return [np.flatnonzero(row <= radius_um) for row in distance]


@dataclass
class LocalClusters:
    templates: list[np.ndarray]  # (channels, taps) each, median snippet in microvolts, all channels
    sizes: list[int]
    members: list[np.ndarray]  # each cluster's snippets in noise units, all channels


def local_clusters(snippets: np.ndarray, sigma: np.ndarray, peak_tap: int, positions: np.ndarray,
                   seed: int = 0) -> LocalClusters:
    """Over-split clusters of ``snippets`` (n, channels, taps, microvolts), grouped by peak channel."""
    normalised = (snippets / sigma[None, :, None]).astype(np.float32)
    peak_channel = normalised[:, :, peak_tap].argmin(axis=1)
    out = LocalClusters([], [], [])
    for channel, neighbours in enumerate(neighbourhoods(positions)):
        index = np.flatnonzero(peak_channel == channel)
        if len(index) < MIN_GROUP:
            continue
        local = normalised[index][:, neighbours, :].reshape(len(index), -1)
        n_features = min(MAX_FEATURES, max(MIN_FEATURES, FEATURES_PER_CHANNEL * len(neighbours)),
                         local.shape[1], len(index))
        # both exact: the eigenvectors of the features' covariance cost d³ whatever the count n, an SVD of
        # the snippets n²d (1,400 features of 300 crossings: 0.46 against 0.04 s on one core)
        solver = "covariance_eigh" if len(index) >= local.shape[1] else "full"
        features = PCA(n_features, svd_solver=solver).fit_transform(local)
        n_clusters = int(np.clip(len(index) // SPIKES_PER_CLUSTER, 1, MAX_CLUSTERS_PER_GROUP))
        labels = (np.zeros(len(index), dtype=int) if n_clusters == 1 else
                  KMeans(n_clusters, n_init=KMEANS_RESTARTS, random_state=seed).fit_predict(features))
        for k in range(n_clusters):
            members = index[labels == k]
            if len(members):
                out.templates.append(median(snippets[members], axis=0))
                out.sizes.append(len(members))
                out.members.append(normalised[members])
    return out
