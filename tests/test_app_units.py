"""Pure helpers of the app: decimation, unit statistics, the lambda slider scale, the demo path."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from app.trace_loader import minmax_decimate  # noqa: E402
from app.views.training import lambda_to_tick, tick_to_lambda  # noqa: E402


def test_minmax_decimation_keeps_extremes_and_two_points_per_pixel():
    data = np.zeros((10_000, 2), np.float32)
    data[1234, 0], data[8000, 1] = -500.0, 300.0
    times, values = minmax_decimate(data, 100, 1000.0, pixels=200)
    assert len(values) <= 400 and values.shape[1] == 2
    assert values[:, 0].min() == -500.0 and values[:, 1].max() == 300.0
    assert times[0] == 0.1 and np.all(np.diff(times) >= 0)


def test_short_windows_are_not_decimated():
    data = np.arange(30, dtype=np.float32)[:, None]
    times, values = minmax_decimate(data, 0, 10.0, pixels=100)
    assert np.array_equal(values, data) and len(times) == 30


def test_lambda_slider_scale_is_logarithmic_and_invertible():
    for value in (0.05, 1.0, 67.0, 5000.0):
        assert abs(np.log10(tick_to_lambda(lambda_to_tick(value))) - np.log10(value)) < 0.01
    assert lambda_to_tick(10.0) - lambda_to_tick(1.0) == lambda_to_tick(100.0) - lambda_to_tick(10.0)
