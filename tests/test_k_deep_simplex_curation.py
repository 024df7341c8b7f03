"""The window's re-cluster split (Shift+K, Shift+Alt+K) with k-means or K-deep simplex, on two planted units."""
import numpy as np
import pytest

from app.curation_controller import recluster_groups
from engine.recording.base import ArrayRecording

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def two_units(rng):
    """4 channels, 10 kHz, 30 s: unit 0 on channels 0-1, unit 1 (a third of the spikes) on channels 2-3."""
    n = 300_000
    traces = rng.normal(size=(n, 4)).astype(np.float32)
    shape = -np.exp(-0.5 * (np.arange(-10, 20) / 3.0) ** 2)
    times = np.sort(rng.choice(np.arange(50, n - 50, 60), 300, replace=False))
    units = (rng.random(300) < 1 / 3).astype(int)
    for time_, unit in zip(times, units):
        traces[time_ - 10:time_ + 20, 2 * unit:2 * unit + 2] += 10.0 * shape[:, None]
    return ArrayRecording(traces, 10_000.0), times, units


@pytest.mark.parametrize("method", ["kmeans", "kds"])
def test_the_split_sets_the_smaller_unit_apart(method, rng):
    recording, times, units = two_units(rng)
    spikes = np.arange(len(times)) + 1000  # the cluster's spike indices in the session
    (group,) = recluster_groups(recording, times, spikes, method)
    np.testing.assert_array_equal(np.sort(group), spikes[units == 1])
