"""Traces as pixel columns: each channel's min and max in each column of the view, and those spans as an image.

A trace drawn as a line of thousands of points per channel costs the GUI thread a path of every point
(384 channels: 35 ms to draw, again at every scroll); its min-max per pixel column is the same picture,
two numbers a column, and painting it as an image costs a blit. Pure numpy, no Qt.
"""
from __future__ import annotations

import numpy as np

GATHERS = 8  # up to this many points in a column, gathered one by one; more, reduced at once


def column_envelope(x: np.ndarray, values: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(low, high), each (width, channels): the min and max, in each pixel column ``[c, c + 1)``, of the
    line through the points ``(x[i], values[i, k])`` for each channel k.

    ``x`` (n,) is each point's horizontal position in pixels, increasing. A column takes the points inside
    it and the line's values at its two edges, so neighbouring columns share an edge value and the spans
    join without a gap: with many points a column it is each column's min and max (no extreme dropped),
    with fewer points than columns it is the line between the samples. The line is held flat beyond its
    first and last points.
    """
    x = np.asarray(x, dtype=np.float64)
    values = np.asarray(values, dtype=np.float32)
    n = len(x)
    if n == 0:
        raise ValueError("column_envelope needs at least one point")
    edges = np.clip(np.arange(width + 1, dtype=np.float64), x[0], x[-1])
    if n == 1:
        at_edges = np.repeat(values[:1], width + 1, axis=0)
    else:
        j = np.clip(np.searchsorted(x, edges, side="right") - 1, 0, n - 2)
        span = x[j + 1] - x[j]
        w = np.divide(edges - x[j], span, out=np.zeros_like(span), where=span > 0).astype(np.float32)
        at_edges = values[j] + (values[j + 1] - values[j]) * w[:, None]
    low = np.minimum(at_edges[:-1], at_edges[1:])
    high = np.maximum(at_edges[:-1], at_edges[1:])
    ends = np.searchsorted(x, np.arange(width + 1), side="left")  # column c's points: ends[c]:ends[c + 1]
    counts = np.diff(ends)
    held = np.flatnonzero(counts)
    if len(held) == 0:
        return low, high
    if counts.max() > GATHERS:  # many points a column: a reduction over each column's run of points
        points = values[ends[held[0]]:ends[held[-1] + 1]]
        starts = ends[held] - ends[held[0]]
        low[held] = np.minimum(low[held], np.minimum.reduceat(points, starts, axis=0))
        high[held] = np.maximum(high[held], np.maximum.reduceat(points, starts, axis=0))
        return low, high
    # a few points a column (as the loader sends): the j-th point of every column at once, a column's
    # last point standing in for the points it lacks (reduceat along axis 0 costs 9 ms for 384 channels)
    every = len(held) == width
    first, last = ends[held], ends[held + 1] - 1
    lows, highs = (low, high) if every else (low[held], high[held])
    for j in range(int(counts.max())):
        taken = values[np.minimum(first + j, last)]
        np.minimum(lows, taken, out=lows)
        np.maximum(highs, taken, out=highs)
    if not every:
        low[held], high[held] = lows, highs
    return low, high


def line_columns(x: np.ndarray, values: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) as ``column_envelope``, of the line drawn half a pixel wide: column c takes the line over
    ``[c - 0.25, c + 1.25)``, so a step from one column to the next lights a quarter pixel of it in each, as
    QPainter's 1-pixel line does (the loader's min and max a pixel: a band, not a comb of columns)."""
    low, high = column_envelope(4 * np.asarray(x, dtype=np.float64) + 1, values, 4 * width + 2)  # quarters
    parts = [slice(j, j + 4 * width, 4) for j in range(6)]  # column c: quarters 4c to 4c + 5
    return np.minimum.reduce([low[part] for part in parts]), np.maximum.reduce([high[part] for part in parts])


def span_mask(top: np.ndarray, bottom: np.ndarray, height: int) -> np.ndarray:
    """(height, width) bool: pixel row r of column c lit where ``top[c, k] <= r <= bottom[c, k]`` for some
    k (rows counted from the top, floats floored; ``top <= bottom``; spans wholly outside 0..height-1
    left out)."""
    width = top.shape[0]
    top = np.clip(top, 0, height).astype(np.int32)  # truncated: floored, being >= 0
    after = np.clip(bottom + 1, 0, height).astype(np.int32)  # a span wholly outside starts and ends
    cells = (height + 1) * width  # on one row, 0 or height (that row not drawn), so it lights nothing
    columns = np.arange(width, dtype=np.int32)[:, None]
    steps = np.bincount((top * width + columns).ravel(), minlength=cells)
    steps -= np.bincount((after * width + columns).ravel(), minlength=cells)
    return np.cumsum(steps.reshape(height + 1, width)[:height], axis=0) > 0


class ColumnImage:
    """The traces as an image of pixel columns on a grid fixed in time (column g holds the seconds
    ``g * step`` to ``(g + 1) * step``), kept from one window to the next: a window at the same scale
    reuses the columns both show and computes only the ones it adds (a scroll by a tenth of the view: a
    tenth of the work).

    ``pixels`` (rows top down, columns) of 0xAARRGGBB; ``envelopes``: each layer's (low, high), (columns,
    channels); ``first``: the grid index of the first column.
    """

    def __init__(self):
        self.key: tuple | None = None  # what the pixels depend on besides the window: scale, rows, layers
        self.step = 0.0
        self.first, self.pixels, self.envelopes = 0, np.zeros((0, 0), np.uint32), {}

    def clear(self) -> None:
        self.__init__()

    def snap(self, step: float) -> float:
        """``step``, or the kept columns' when it differs only by rounding (a scroll moves both ends)."""
        return self.step if abs(step - self.step) <= 1e-9 * step else step

    def draw(self, times: np.ndarray, layers: list, lo: float, hi: float, step: float, height: int,
             offsets: np.ndarray, scale: float, key: tuple, pen: bool = False) -> bool:
        """The columns of ``lo:hi`` s (``step`` s each) that the window's ``times`` reach, each layer
        ``(name, values (points, channels), colour)`` lit in order, channel k's value v on row
        ``offsets[k] - v * scale``; with ``pen``, the line half a pixel wide (``line_columns``). False
        (and cleared) when the window shows no column."""
        if len(times) == 0:
            self.clear()
            return False
        step, key = self.snap(step), (*key, pen)
        reuse = key == self.key and step == self.step
        first = max(int(np.floor(lo / step)), int(np.floor(times[0] / step)))
        last = min(int(np.ceil(hi / step)), int(np.ceil(times[-1] / step)))
        if last <= first:
            self.clear()
            return False
        # the columns kept: those both show, but the old image's two at each end (the old window may not
        # reach a quarter pixel past them)
        kept_first, kept_last = max(first, self.first + 2), min(last, self.first + self.pixels.shape[1] - 2)
        if not reuse or kept_last <= kept_first:
            kept_first = kept_last = first
        pixels = np.zeros((height, last - first), np.uint32)
        new, old = slice(kept_first - first, kept_last - first), slice(kept_first - self.first, kept_last - self.first)
        if kept_last > kept_first:
            pixels[:, new] = self.pixels[:, old]
        envelopes = {}
        for name, values, _ in layers:
            low = np.empty((last - first, values.shape[1]), np.float32)
            high = np.empty_like(low)
            if name in self.envelopes and kept_last > kept_first:
                old_low, old_high = self.envelopes[name]
                low[new], high[new] = old_low[old], old_high[old]
            envelopes[name] = (low, high)
        x = times / step
        for a, b in ((first, kept_first), (kept_last, last)):  # the new columns, left and right of the kept
            if b <= a:
                continue
            i0 = max(0, int(np.searchsorted(x, a - 0.25, side="right")) - 1)  # and a point on each side
            i1 = min(len(x), int(np.searchsorted(x, b + 0.25, side="left")) + 1)
            for name, values, color in layers:
                low, high = (line_columns if pen else column_envelope)(x[i0:i1] - a, values[i0:i1], b - a)
                envelopes[name][0][a - first:b - first], envelopes[name][1][a - first:b - first] = low, high
                strip = pixels[:, a - first:b - first]
                strip[span_mask(offsets - high * scale, offsets - low * scale, height)] = color
        self.key, self.step, self.first, self.pixels, self.envelopes = key, step, first, pixels, envelopes
        return True
