"""The default layout's proportions: the Traces take half the height of the middle column (the Raster and
the Curves a quarter each), the left column is wide enough for the Units table's first six columns,
the right column holds the Filters over the judging views. The window's default size fills most of the
screen, never more."""
from __future__ import annotations

from PyQt6.QtCore import Qt

SCREEN_FRACTION = 0.92
LEFT_WIDTH = (0.2, 340, 480)  # fraction of the window, least and most pixels
RIGHT_FRACTION = 0.27
MIDDLE_HEIGHTS = {"Traces": 0.46, "Raster": 0.26, "Curves": 0.28}
LEFT_HEIGHTS = {"Training": 0.45, "Units": 0.55}
RIGHT_HEIGHTS = {"Filters": 0.34, "Waveforms": 0.33, "Amplitudes": 0.33}


def default_window_size(configured: tuple[int, int], available=None) -> tuple[int, int]:
    """The configured size, grown to most of a large screen, and never larger than the screen."""
    width, height = configured
    if available is not None:
        width = min(available.width(), max(width, int(SCREEN_FRACTION * available.width())))
        height = min(available.height(), max(height, int(SCREEN_FRACTION * available.height())))
    return width, height


def apply_default_proportions(window) -> None:
    docks = {**window.docks, **window.curation_docks}
    width, height = window.width(), window.height()
    fraction, least, most = LEFT_WIDTH
    left = int(min(most, max(least, fraction * width)))
    right = int(RIGHT_FRACTION * width)
    window.resizeDocks([docks["Training"], docks["Traces"], docks["Filters"]], [left, width - left - right, right],
                       Qt.Orientation.Horizontal)
    for heights in (MIDDLE_HEIGHTS, LEFT_HEIGHTS, RIGHT_HEIGHTS):
        window.resizeDocks([docks[name] for name in heights], [int(f * height) for f in heights.values()],
                           Qt.Orientation.Vertical)
