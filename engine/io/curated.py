"""What the exporters take from a session's curation state: a cluster for every spike and a label per cluster.

A session's ``curation`` is the curation model's ``Curation.to_dict()`` (an
action log replayed onto the spikes: merges, splits, labels). Sessions
written before it kept only labels, in ``curation["labels"]`` or
``metrics["labels"]`` ({unit: label}); then each unit is its own cluster.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.io.session import Session

UNLABELLED = "unsorted"


@dataclass
class Clusters:
    spike_clusters: np.ndarray  # int64, cluster of each spike, in the session's spike order
    labels: dict[int, str]  # every cluster's label

    def main_unit(self, cluster: int, spike_units: np.ndarray) -> int:
        """The sorter's unit (filter) most of the cluster's spikes came from."""
        units = spike_units[self.spike_clusters == cluster]
        return int(np.bincount(units).argmax()) if len(units) else int(cluster)


def curated_clusters(session: Session) -> Clusters:
    n_units = session.filters.shape[0]
    if "done" in session.curation:
        from engine.curation.model import Curation
        curation = Curation.from_dict(session.curation, session.spike_times, session.spike_units, n_units,
                                      session.sampling_rate)
        return Clusters(curation.spike_clusters(), curation.cluster_labels())
    saved = session.curation.get("labels") or session.metrics.get("labels") or {}
    labels = {unit: UNLABELLED for unit in range(n_units)}
    labels.update({int(unit): str(label) for unit, label in saved.items()})
    return Clusters(np.asarray(session.spike_units, dtype=np.int64), labels)
