"""Merge suggestions from evidence on recordings with known truth: a split unit is suggested, two
neurons never are, and each suggestion says why."""
import numpy as np
import pytest

from engine.curation.suggestions import evaluate_pairs, merge_suggestions
from engine.groundtruth.simulate import SimulationConfig, simulate_recording


@pytest.fixture(scope="module")
def six_units():
    """Six units on four channels: several pairs of one cell type with alike waveforms."""
    return simulate_recording(SimulationConfig(minutes=1.0, units=6, channels=4, seed=5))


def truth_sort(recording):
    truth = recording.ground_truth
    return truth.spike_times, truth.amplitudes, truth.spike_units.copy()


def split(clusters, unit, new_id, rng, by_time=False, times=None):
    members = np.flatnonzero(clusters == unit)
    moved = members[times[members] > np.median(times[members])] if by_time else rng.permutation(members)[
        : len(members) // 2]
    clusters[moved] = new_id
    return clusters


@pytest.mark.parametrize("fixture", ["seed_minute", "six_units"])
def test_a_unit_split_in_two_is_suggested_and_no_two_neurons_are(request, fixture, rng):
    recording = request.getfixturevalue(fixture)
    times, amplitudes, clusters = truth_sort(recording)
    n = int(clusters.max()) + 1
    clusters = split(clusters, 0, n, rng)
    evidence = evaluate_pairs(recording, times, amplitudes, clusters, range(n + 1))
    suggested = {(e.a, e.b) for e in merge_suggestions(evidence)}
    assert suggested == {(0, n)}
    first = evidence[0]
    assert first.suggested and "refractory dip" in first.reason and "not separated" in first.reason
    assert all(e.reason.startswith("not suggested") for e in evidence if not e.suggested)


def test_a_unit_split_by_time_is_suggested_and_noise_is_left_out(seed_minute, rng):
    times, amplitudes, clusters = truth_sort(seed_minute)
    clusters = split(clusters, 2, 3, rng, by_time=True, times=times)
    evidence = evaluate_pairs(seed_minute, times, amplitudes, clusters, range(4))
    assert [(e.a, e.b) for e in merge_suggestions(evidence)] == [(2, 3)]
    assert "continuous" in evidence[0].reason
    assert merge_suggestions(evaluate_pairs(seed_minute, times, amplitudes, clusters, range(4), exclude=[3])) == []


def test_two_neurons_with_alike_waveforms_are_not_suggested_and_say_why(six_units):
    times, amplitudes, clusters = truth_sort(six_units)
    evidence = evaluate_pairs(six_units, times, amplitudes, clusters, range(6))
    assert any(e.similarity >= 0.9 for e in evidence)  # alike enough for a filter-shape rule to suggest
    assert merge_suggestions(evidence) == []
    for e in evidence:
        assert "not suggested" in e.reason
