"""One colour per unit, the same in every view; one per firing motif."""
from __future__ import annotations

from PyQt6.QtGui import QColor

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f"]


def unit_color(unit: int) -> QColor:
    if unit < len(PALETTE):
        return QColor(PALETTE[unit])
    return QColor.fromHsvF((unit * 0.618034) % 1.0, 0.75, 0.9)


NOISE_COLOR = "#5c5c5c"  # clusters labelled noise, when shown


def cluster_color(cluster: int, label: str | None = None) -> QColor:
    """A cluster's colour in every view: its own, or grey once labelled noise."""
    return QColor(NOISE_COLOR) if label == "noise" else unit_color(cluster)


MOTIF_PALETTE = ["#ffd92f", "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#e5c494", "#b3b3b3"]


def motif_color(motif: int) -> QColor:
    """Firing motifs get their own colours, apart from the units' (their marks lie over the units' spikes)."""
    if motif < len(MOTIF_PALETTE):
        return QColor(MOTIF_PALETTE[motif])
    return QColor.fromHsvF((0.13 + motif * 0.618034) % 1.0, 0.45, 1.0)
