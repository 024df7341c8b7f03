"""Planted low-photon movies: clean frames like a two-photon recording's, for the stack denoiser's tests and benchmark.

Each frame is a smooth dim background (the neuropil) with round Gaussian
cells that drift a little from frame to frame and flicker (calcium
transients), scaled so that the brightest pixel of the movie is 1; counts are
drawn from it at a peak with ``engine.imaging.dcea.poisson_noise``.
"""
from __future__ import annotations

import numpy as np


def planted_frames(n_frames: int = 8, size: int = 128, n_cells: int = 12, cell_radius: float = 4.0,
                   drift: float = 1.0, seed: int = 0) -> np.ndarray:
    """Clean frames (n_frames, size, size) in [0, 1]; ``drift`` is the cells' mean motion in pixels a frame."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size].astype(np.float64)
    background = 0.12 + 0.06 * np.sin(2 * np.pi * rows / size + rng.uniform(0, 2 * np.pi)) \
        * np.cos(2 * np.pi * cols / size + rng.uniform(0, 2 * np.pi))
    margin = 3 * cell_radius
    centres = rng.uniform(margin, size - margin, (n_cells, 2))
    velocity = rng.normal(0.0, drift, (n_cells, 2))
    resting = rng.uniform(0.3, 0.6, n_cells)
    frames = np.empty((n_frames, size, size))
    for t in range(n_frames):
        frame = background.copy()
        active = rng.random(n_cells) < 0.3  # a transient: the cell at up to three times its resting brightness
        brightness = resting * np.where(active, rng.uniform(1.5, 3.0, n_cells), 1.0)
        for (y, x), b in zip(centres + velocity * t, brightness):
            frame += b * np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / (2 * cell_radius ** 2))
        frames[t] = frame
    return frames / frames.max()
