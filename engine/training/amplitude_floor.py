"""Per-unit amplitude floors: the smallest code that still counts as a spike of its unit.

A code is a spike's amplitude in the units of its (unit-norm) filter. A
unit's own spikes give codes near its typical amplitude; much smaller codes
of the same unit are something else: the residual of another unit's large
spike that no single filter fits exactly (sub-sample jitter, amplitude
changes), or a small neuron that has no filter of its own. Keeping only
codes above a fraction of the unit's typical amplitude removes them, as
amplitude cut-offs do in template-matching sorters. The typical amplitude is
the energy-weighted median of the unit's codes, which the few large true
spikes dominate even when small spurious codes outnumber them.
"""
from __future__ import annotations

import numpy as np

from engine.recording.base import ArrayRecording
from engine.sorting.sorter import default_thresholds, sort_recording

FLOOR_FRACTION = 0.5
CALIBRATION_SECONDS = 30.0


def typical_amplitudes(values: np.ndarray, units: np.ndarray, n_units: int) -> np.ndarray:
    """Energy-weighted median code of each unit (0 for a unit without codes)."""
    typical = np.zeros(n_units)
    for unit in range(n_units):
        amplitude = np.sort(values[units == unit])
        if len(amplitude) == 0:
            continue
        energy = np.cumsum(amplitude.astype(np.float64) ** 2)
        typical[unit] = amplitude[np.searchsorted(energy, energy[-1] / 2)]
    return typical


def amplitude_floors(values: np.ndarray, units: np.ndarray, n_units: int,
                     fraction: float = FLOOR_FRACTION) -> np.ndarray:
    return (fraction * typical_amplitudes(values, units, n_units)).astype(np.float32)


def unfloored_spikes(model, traces: np.ndarray, sampling_rate: float):
    """The spikes of a (samples, channels) stretch, sorted with lambda's threshold only."""
    return sort_recording(ArrayRecording(traces, sampling_rate), model,
                          thresholds=default_thresholds(model, floors=False))


def calibrated_floors(spikes, n_units: int, seconds: float = CALIBRATION_SECONDS) -> np.ndarray:
    """Floors from the spikes (``unfloored_spikes``) found in the first ``seconds`` of their stretch."""
    early = spikes.times < seconds * spikes.sampling_rate
    return amplitude_floors(spikes.amplitudes[early], spikes.units[early], n_units)


class RunningFloors:
    """Floors during training, from each batch's spikes, smoothed over batches."""

    def __init__(self, n_units: int, smoothing: float = 0.5):
        self.typical = np.full(n_units, np.nan)
        self.smoothing = smoothing

    def update(self, values: np.ndarray, units: np.ndarray) -> np.ndarray:
        batch = typical_amplitudes(values, units, len(self.typical))
        seen = batch > 0
        first = seen & np.isnan(self.typical)
        self.typical[first] = batch[first]
        again = seen & ~first
        self.typical[again] = self.smoothing * self.typical[again] + (1 - self.smoothing) * batch[again]
        return (FLOOR_FRACTION * np.nan_to_num(self.typical)).astype(np.float32)

    def keep(self, units: np.ndarray) -> None:
        self.typical = self.typical[np.asarray(units, dtype=np.int64)]
