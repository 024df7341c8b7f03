"""The Traces drawn as pixel columns: each channel's min and max in each column of the view (the line
through the points, no extreme dropped), painted as one image; zoomed in, the raw samples themselves."""
import numpy as np
import pytest
from qt_windows import close_window, make_window

from app.views.trace_envelope import column_envelope, line_columns, span_mask
from engine.recording.base import ArrayRecording

RATE = 30_000.0
SPIKE_CHANNEL, SPIKE_SAMPLE, SPIKE_VALUE = 3, 45_123, -300.0


def brute_envelope(x, values, width, pen=0.0):
    """Column by column: the points inside [c - pen / 2, c + 1 + pen / 2) and the line's values at its
    edges (held flat beyond the first and last points)."""
    low = np.empty((width, values.shape[1]))
    high = np.empty((width, values.shape[1]))
    for c in range(width):
        a, b = c - pen / 2, c + 1 + pen / 2
        for k in range(values.shape[1]):
            ends = [np.interp(edge, x, values[:, k]) for edge in (a, b)]
            inside = values[(x >= a) & (x < b), k]
            low[c, k] = min(min(ends), inside.min(initial=np.inf))
            high[c, k] = max(max(ends), inside.max(initial=-np.inf))
    return low, high


@pytest.mark.parametrize("n, width, spread", [
    (10_007, 100, "regular"),  # many points a column, the width not dividing the count
    (1000, 333, "random"),  # points at random positions, some columns empty
    (37, 100, "regular"),  # the window shorter than the pixel width: fewer points than columns
    (50, 20, "beyond"),  # points before the first column and after the last
    (1, 5, "regular"),  # one point
])
def test_the_column_envelope_is_each_columns_min_and_max_of_the_line(n, width, spread):
    rng = np.random.default_rng(n)
    values = rng.normal(size=(n, 3)).astype(np.float32)
    if spread == "regular":
        x = (np.arange(n) + 0.5) * width / n
    elif spread == "random":
        x = np.sort(rng.uniform(0, width, n))
    else:
        x = np.linspace(-4.5, width + 3.2, n)
    low, high = column_envelope(x, values, width)
    assert low.shape == high.shape == (width, 3)
    assert np.isfinite(low).all() and np.isfinite(high).all() and (low <= high).all()
    expected_low, expected_high = brute_envelope(x, values, width)
    np.testing.assert_allclose(low, expected_low, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(high, expected_high, rtol=1e-5, atol=1e-5)
    pen_low, pen_high = line_columns(x, values, width)  # drawn half a pixel wide
    expected_low, expected_high = brute_envelope(x, values, width, pen=0.5)
    np.testing.assert_allclose(pen_low, expected_low, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pen_high, expected_high, rtol=1e-5, atol=1e-5)
    if spread == "regular" and n > width:  # every column holds points: each point's extreme is kept
        column = np.floor(x).astype(int)
        assert (low[column] <= values).all() and (high[column] >= values).all()


def test_span_mask_lights_each_span_and_leaves_out_the_unseen():
    rng = np.random.default_rng(1)
    width, height, k = 30, 40, 4
    top = rng.uniform(-10, 50, (width, k))
    bottom = top + rng.uniform(0, 8, (width, k))
    mask = span_mask(top, bottom, height)
    expected = np.zeros((height, width), bool)
    for c in range(width):
        for j in range(k):
            a, b = int(np.floor(top[c, j])), int(np.floor(bottom[c, j]))
            if b >= 0:
                expected[max(a, 0):min(b, height - 1) + 1, c] = True
    np.testing.assert_array_equal(mask, expected)


@pytest.fixture
def traces_window(qtbot, tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(0, 10, (int(4 * RATE), 8)).astype(np.float32)
    data[SPIKE_SAMPLE, SPIKE_CHANNEL] = SPIKE_VALUE  # one sample: striding would drop it
    win = make_window(qtbot, tmp_path)
    win.resize(1200, 800)
    win.controller.set_recording(ArrayRecording(data, RATE), None, {})
    qtbot.wait(50)
    try:
        yield win, data
    finally:
        close_window(qtbot, win)


def shown(qtbot, traces, lo, hi):
    traces.set_x_range(lo, hi)
    traces.request_visible()  # at once, for the view's settled width
    qtbot.waitUntil(lambda: traces._window is not None and "raw" in traces.envelopes
                    and traces.controller.last_trace_request.request_id == traces._window.request_id, timeout=10_000)
    window = traces._window
    assert window.start <= lo * RATE and window.stop >= hi * RATE  # the view read whole, on its pixel grid
    return window


def test_the_traces_keep_a_one_sample_spike_and_draw_two_values_a_column(qtbot, traces_window):
    win, data = traces_window
    traces = win.traces
    window = shown(qtbot, traces, 1.0, 2.0)
    box = traces.plot.getViewBox()
    width = int(np.ceil(box.width() * traces.plot.devicePixelRatioF()))
    assert window.stop - window.start > 10 * width  # many more samples than pixels
    low, high = traces.envelopes["raw"]
    assert traces._columns.key[-1]  # dense: the line half a pixel wide (line_columns)
    assert low.shape == (len(traces.column_edges) - 1, 8) and low.shape[0] <= width  # 2 values a column
    column = np.searchsorted(traces.column_edges, SPIKE_SAMPLE / RATE, side="right") - 1
    assert low[column - 1:column + 2, SPIKE_CHANNEL].min() == SPIKE_VALUE  # within a pixel of its time
    assert np.delete(low, np.s_[column - 1:column + 2], axis=0)[:, SPIKE_CHANNEL].min() > -80  # only there
    # painted: the spike's column lit down to the spike's row, the others around the channel's baseline
    (_, _), (bottom, top) = box.viewRange()
    pixels = traces._image.pixels()
    rows_per_unit = pixels.shape[0] / (top - bottom)
    base = (top - SPIKE_CHANNEL * traces._spacing) * rows_per_unit
    spike_row = int(np.floor(base - SPIKE_VALUE * traces.gain * rows_per_unit))
    assert pixels[spike_row, column - 1:column + 2].any()
    assert not pixels[spike_row, :column - 2].any() and not pixels[spike_row, column + 3:].any()
    assert pixels[int(base), :].all()  # no gaps along the channel's line


def test_zoomed_in_the_traces_draw_the_raw_samples(qtbot, traces_window):
    win, data = traces_window
    traces = win.traces
    window = shown(qtbot, traces, 1.5, 1.51)
    np.testing.assert_array_equal(window.raw, data[window.start:window.stop])  # the samples, not reduced
    low, high = traces.envelopes["raw"]
    assert window.stop - window.start < low.shape[0] and not traces._columns.key[-1]  # fewer samples than columns
    column = np.searchsorted(traces.column_edges, window.times, side="right") - 1
    inside = (column >= 0) & (column < low.shape[0])
    raw = window.raw[inside]
    assert ((low[column[inside]] <= raw) & (raw <= high[column[inside]])).all()  # the line passes every sample
    # and between samples it is the straight line joining them: each column spans at most its neighbours
    edges = (traces.column_edges - traces.column_edges[0]) / (traces.column_edges[1] - traces.column_edges[0])
    x = (window.times - traces.column_edges[0]) / (traces.column_edges[1] - traces.column_edges[0])
    assert np.allclose(edges, np.arange(len(edges)))
    expected_low, expected_high = column_envelope(x, window.raw, low.shape[0])
    np.testing.assert_allclose(low, expected_low, atol=1e-4)
    np.testing.assert_allclose(high, expected_high, atol=1e-4)


def test_a_scroll_keeps_the_columns_both_windows_show_and_draws_the_same_picture(qtbot, traces_window):
    win, data = traces_window
    traces = win.traces
    shown(qtbot, traces, 1.5, 1.51)
    before = traces._columns.first, traces._image.pixels().copy()
    traces.scroll(0.1)
    window = shown(qtbot, traces, *traces.x_range())
    first, pixels = traces._columns.first, traces._image.pixels().copy()
    assert 0 < first - before[0] < pixels.shape[1] // 5  # the same grid, a tenth of the view further
    kept = before[1][:, first - before[0] + 1:-1]
    np.testing.assert_array_equal(pixels[:, 1:kept.shape[1] + 1], kept)
    envelopes = {name: (low.copy(), high.copy()) for name, (low, high) in traces.envelopes.items()}
    traces._columns.clear()  # drawn afresh from the window alone
    traces._draw_traces(window)
    assert traces._columns.first == first
    for name, (low, high) in traces.envelopes.items():
        np.testing.assert_allclose(envelopes[name][0], low, atol=1e-3)
        np.testing.assert_allclose(envelopes[name][1], high, atol=1e-3)
    assert (traces._image.pixels() == pixels).mean() > 0.999  # a row may round the other way
