"""The built-in demo: the seed's simulated data set, written once to the user's cache folder."""
from __future__ import annotations

import os
from pathlib import Path

from engine.groundtruth.simulate import SIMULATOR_VERSION, SimulationConfig, simulator_version, write_simulation

DEMO_CONFIG = SimulationConfig()  # 3 units, 1 channel, 10 kHz, 17 min, with ground truth


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sparsesort"


def demo_path(progress=None) -> Path:
    """The demo recording, simulated on first use and again when the simulator changed; ``progress``
    (a fraction) is called as it is written (the window runs this on its jobs thread)."""
    path = cache_dir() / "demo.h5"
    if simulator_version(path) != SIMULATOR_VERSION:
        path.parent.mkdir(parents=True, exist_ok=True)
        total = DEMO_CONFIG.minutes * 60.0 * DEMO_CONFIG.sampling_rate
        written = 0

        def step(n_samples: int) -> None:
            nonlocal written
            written += n_samples
            if progress is not None:
                progress(written / total)

        write_simulation(path, DEMO_CONFIG, progress=step)
    return path
