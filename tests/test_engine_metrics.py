import numpy as np
import pytest

from engine.groundtruth.metrics import compare_spike_trains, count_matches, filter_error, match_filters


def test_filter_error_ignores_scale_and_small_shifts(rng):
    g = rng.standard_normal((2, 40))
    g[:, :5] = 0
    shifted = np.roll(g, -3, axis=1)
    assert filter_error(3.0 * g, g) == pytest.approx(0.0, abs=1e-6)
    assert filter_error(shifted, g) == pytest.approx(0.0, abs=1e-6)
    orthogonal = rng.standard_normal((2, 40))
    orthogonal -= (orthogonal * g).sum() / (g * g).sum() * g
    assert filter_error(orthogonal, g, max_shift=0) == pytest.approx(1.0, abs=1e-6)


def test_matching_finds_the_permutation(rng):
    truth = rng.standard_normal((3, 1, 30))
    learned = truth[[2, 0, 1]] + 0.01 * rng.standard_normal((3, 1, 30))
    assigned, errors = match_filters(learned, truth)
    assert list(assigned) == [1, 2, 0]
    assert np.all(errors < 0.05)


def test_spike_comparison_counts():
    truth_times = np.array([100, 200, 300, 400, 500, 1000, 1100])
    truth_units = np.array([0, 0, 0, 0, 0, 1, 1])
    sorted_times = np.array([101, 203, 310, 400, 450, 1000, 1098, 1300])
    sorted_units = np.array([7, 7, 7, 7, 7, 3, 3, 3])
    scores = compare_spike_trains(truth_times, truth_units, sorted_times, sorted_units, 10_000, delta_ms=0.4)
    unit0, unit1 = scores
    assert (unit0.sorted_unit, unit0.true_positives) == (7, 3)  # 310 and 450 are out of +-4 samples
    assert unit0.precision == pytest.approx(3 / 5) and unit0.recall == pytest.approx(3 / 5)
    assert unit0.accuracy == pytest.approx(3 / 7)
    assert (unit1.sorted_unit, unit1.true_positives) == (3, 2)
    assert unit1.accuracy == pytest.approx(2 / 3)
    assert count_matches(np.array([10, 12]), np.array([11]), 4) == 1
