"""One colour per unit, the same in every view."""
from __future__ import annotations

from PyQt6.QtGui import QColor

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f"]


def unit_color(unit: int) -> QColor:
    if unit < len(PALETTE):
        return QColor(PALETTE[unit])
    return QColor.fromHsvF((unit * 0.618034) % 1.0, 0.75, 0.9)
