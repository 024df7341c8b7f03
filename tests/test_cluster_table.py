"""The per-cluster figures the Units table and the Raster show, counted once per curation state."""
import numpy as np

from engine.curation.cluster_table import DENSITY_BINS, ClusterTable
from engine.curation.model import Curation

FS = 1000.0
N_SAMPLES = 60_000  # a minute


def _curation(rng):
    times = np.sort(rng.choice(N_SAMPLES, 5000, replace=False))
    units = rng.integers(0, 4, len(times))
    return Curation(times, units, 4, FS), rng.gamma(4.0, 10.0, len(times)).astype(np.float32)


def test_counts_means_and_density_match_a_pass_per_cluster():
    rng = np.random.default_rng(3)
    curation, amplitudes = _curation(rng)
    merged = curation.merge([0, 2])
    part = curation.spikes_of(1)[:100]
    split = curation.split(1, part)
    clusters = curation.spike_clusters()
    table = ClusterTable.of(clusters, curation.filter_counts(), curation.times, amplitudes, N_SAMPLES, FS)
    edges = np.linspace(0, N_SAMPLES / FS, DENSITY_BINS + 1)
    for cluster in curation.cluster_ids():
        mine = clusters == cluster
        assert table.counts[cluster] == mine.sum()
        assert np.isclose(table.mean_amplitudes[cluster], amplitudes[mine].mean(), rtol=1e-6)
        per_second = np.histogram((curation.times[mine] + 0.5) / FS, edges)[0] / (edges[1] - edges[0])  # off the edges
        assert np.allclose(table.density[cluster], per_second)
    # the merged-away clusters hold nothing; the shown clusters' density is the sum of theirs
    assert table.counts[0] == table.counts[2] == 0
    assert np.allclose(table.density_of([merged, split]), table.density[merged] + table.density[split])
    assert table.counts[split] == 100 and table.edges_s[-1] == N_SAMPLES / FS


def test_filter_owners_follow_merges_and_splits():
    curation, _ = _curation(np.random.default_rng(4))
    assert curation.filter_owners() == {0: 0, 1: 1, 2: 2, 3: 3}
    merged = curation.merge([1, 3])
    owners = curation.filter_owners()
    assert owners[1] == owners[3] == merged and curation.cluster_filters()[merged] == [1, 3]
    # most of filter 0's spikes moved to a new cluster: it owns filter 0 now
    spikes = curation.spikes_of(0)
    moved = curation.split(0, spikes[: int(0.8 * len(spikes))])
    assert curation.filter_owners()[0] == moved
    assert curation.filter_counts()[moved, 0] == int(0.8 * len(spikes))
