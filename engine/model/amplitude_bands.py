"""Units that share one filter and differ in amplitude: a filter's codes cut into bands.

On a single contact or a tetrode, two neurons can have one waveform shape and differ only in size
(on the suite's single contacts, templates correlated 0.95-1.00 at 6x and 13x the noise). One unit-
norm filter per neuron cannot hold them apart: two filters of one shape make the lasso's choice
between them arbitrary. So such neurons are one filter with its codes cut into amplitude bands, each
band a unit (engine.training.amplitude_modes finds them).

A band is stored as a copy of its filter: units whose filters are identical row for row are the bands
of one filter, the first of them its leader, and each band's amplitude floor (``min_amplitudes``) is
its lower edge. Everything that handles filters per unit (views, sessions, exports, other processes)
carries the bands without knowing of them. The encoder solves with the leaders only and a spike of a
leader goes to the band whose lower edge is the highest its code reaches.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class AmplitudeBands:
    leaders: np.ndarray  # (filters,) the first unit of each distinct filter, ascending
    leader_of: np.ndarray  # (units,) the leader of every unit (itself for a leader)

    @classmethod
    def of(cls, filters: np.ndarray) -> "AmplitudeBands | None":
        """The bands of these filters, None when every filter is distinct."""
        flat = np.ascontiguousarray(np.asarray(filters).reshape(len(filters), -1))
        # rows by their bytes (np.unique(axis=0) sorts the rows' fields: 270 ms for 300 filters of 384
        # channels, on every filter update the window shows)
        first_of: dict[bytes, int] = {}
        leader_of = np.array([first_of.setdefault(row.tobytes(), unit) for unit, row in enumerate(flat)],
                             dtype=np.int64)
        if len(first_of) == len(flat):
            return None
        return cls(np.array(sorted(first_of.values()), dtype=np.int64), leader_of)

    @property
    def n_units(self) -> int:
        return len(self.leader_of)

    def encoding_floors(self, floors: np.ndarray | None) -> np.ndarray | None:
        """Each leader's lowest band edge: the smallest code its filter still has to find."""
        if floors is None:
            return None
        lowest = np.full(self.n_units, np.inf)
        np.minimum.at(lowest, self.leader_of, np.asarray(floors, dtype=np.float64))
        return lowest[self.leaders].astype(np.float32)

    def label(self, units: np.ndarray, values: np.ndarray, floors: np.ndarray | None) -> np.ndarray:
        """The band of each spike of a leader: the highest lower edge its value reaches (the lowest
        band where it reaches none, for the detection threshold to drop)."""
        units = np.asarray(units, dtype=np.int64).copy()
        if floors is None:
            return units
        floors = np.asarray(floors, dtype=np.float64)
        banded = self.leader_of != np.arange(self.n_units)
        for leader in np.unique(self.leader_of[banded]):
            members = np.flatnonzero(self.leader_of == leader)
            members = members[np.argsort(floors[members], kind="stable")]
            mine = np.flatnonzero(units == leader)
            band = np.searchsorted(floors[members], values[mine], side="right") - 1
            units[mine] = members[np.maximum(band, 0)]
        return units

    def same_filter(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Of each pair, whether both are bands of one filter."""
        return self.leader_of[np.asarray(first, dtype=np.int64)] == self.leader_of[np.asarray(second, dtype=np.int64)]
