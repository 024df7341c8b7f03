"""Per-unit summary numbers for the units table (pure numpy)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.sorting import SortResult

ISI_VIOLATION_MS = 1.5


@dataclass
class UnitStats:
    unit: int
    count: int
    rate_hz: float
    mean_amplitude: float
    snr: float  # peak of the mean spike on its best channel / noise std there
    isi_violations: float  # fraction of inter-spike intervals shorter than ISI_VIOLATION_MS


def unit_stats(result: SortResult | None, filters: np.ndarray, duration_s: float,
               noise_sigma: np.ndarray | None) -> list[UnitStats]:
    n_units = len(filters)
    stats = []
    refractory = ISI_VIOLATION_MS * 1e-3 * (result.sampling_rate if result is not None else 1.0)
    for unit in range(n_units):
        times = result.unit_times(unit) if result is not None else np.zeros(0, np.int64)
        amps = result.amplitudes[result.units == unit] if result is not None else np.zeros(0)
        mean_amp = float(amps.mean()) if len(amps) else 0.0
        best = int(np.abs(filters[unit]).max(axis=1).argmax())
        peak = float(np.abs(filters[unit, best]).max()) * mean_amp
        sigma = float(noise_sigma[best]) if noise_sigma is not None and len(noise_sigma) > best else 0.0
        isi = np.diff(np.sort(times))
        stats.append(UnitStats(
            unit=unit,
            count=len(times),
            rate_hz=len(times) / duration_s if duration_s > 0 else 0.0,
            mean_amplitude=mean_amp,
            snr=peak / sigma if sigma > 0 else float("nan"),
            isi_violations=float(np.mean(isi < refractory)) if len(isi) else 0.0,
        ))
    return stats
