"""Re-clustering a unit's spikes into parts (the curation's split, Shift+K): k-means or K-deep simplex.

A registry maps each method's name to a function of (features, parts, seed)
that returns one part per spike. k-means cuts a cluster into convex cells,
so a unit whose features lie along a curve (amplitude that decays within
bursts, a waveform that drifts with the probe) is cut across the curve;
K-deep simplex (engine.manifold.k_deep_simplex) follows the curve with local
atoms and clusters the points by the atoms they share.
"""
from __future__ import annotations

import numpy as np

RECLUSTER_PARTS = 2
KDS_MAX_SPIKES = 5000  # spikes that learn the atoms; the others are encoded with them


def kmeans_parts(features: np.ndarray, parts: int, seed: int = 0) -> np.ndarray:
    from sklearn.cluster import KMeans
    return KMeans(parts, n_init=4, random_state=seed).fit_predict(features)


def k_deep_simplex_parts(features: np.ndarray, parts: int, seed: int = 0) -> np.ndarray:
    """K-deep simplex on features scaled to unit spread; atoms learned on at most KDS_MAX_SPIKES spikes."""
    from engine.manifold.k_deep_simplex import KDSConfig, k_deep_simplex
    scaled = (features - features.mean(0)) / max(float(features.std(0).mean()), 1e-12)
    return k_deep_simplex(scaled, KDSConfig(n_clusters=parts, seed=seed, max_train_points=KDS_MAX_SPIKES)).labels


RECLUSTER_METHODS = {"kmeans": kmeans_parts, "kds": k_deep_simplex_parts}
METHOD_NAMES = {"kmeans": "k-means", "kds": "K-deep simplex"}


def recluster(features: np.ndarray, method: str = "kmeans", parts: int = RECLUSTER_PARTS, seed: int = 0) -> np.ndarray:
    """One part (0 .. parts - 1) per row of features (spikes, dims) by the named method."""
    if method not in RECLUSTER_METHODS:
        raise ValueError(f"unknown re-clustering method '{method}' (use {', '.join(RECLUSTER_METHODS)})")
    features = np.asarray(features, dtype=np.float64)
    if len(features) < 2 * parts:
        raise ValueError(f"{len(features)} spikes are too few to split into {parts}")
    return np.asarray(RECLUSTER_METHODS[method](features, parts, seed))
