"""Ground-truth recordings: known spike waveforms and spike trains in noise.

The default reproduces the seed's data set: 3 neurons, 10 kHz, ~30 Hz
Poisson firing with a refractory period, 17 minutes, distinct waveforms
4.5 ms long. Each spike has a random amplitude (+-10 %). Spikes start on the
sample grid, as in the seed; ``subsample_jitter`` starts them at random
fractions of a sample instead, which makes every spike a slightly different
shape (at 10 kHz a half-sample shift of a narrow spike is a filter error of
about 0.2), so that no single waveform is the exact truth.
SNR is 20 log10(mean trough amplitude / noise standard deviation) on the
unit's largest channel.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import h5py
import numpy as np

from engine.io.atomic import atomic_path
from engine.recording.base import ArrayRecording, GroundTruth

SIMULATOR_VERSION = 2  # bump when the same config would give different data
NOISE_STD_UV = 10.0
TROUGH_MS = 1.3
SUBSAMPLE_STEPS = 16
BLOCK_SECONDS = 10.0

# (pre-bump amplitude, trough width ms, after-peak delay ms, after-peak width ms, after-peak amplitude)
SEED_SHAPES = [
    (0.00, 0.15, 0.35, 0.22, 0.70),  # narrow, fast-spiking interneuron: sharp after-peak
    (0.00, 0.32, 1.10, 0.70, 0.22),  # broad pyramidal cell: slow recovery
    (0.90, 0.24, 0.90, 0.60, 0.10),  # large positive first phase (axonal)
]


@dataclass
class SimulationConfig:
    minutes: float = 17.0
    units: int = 3
    channels: int = 1
    sampling_rate: float = 10_000.0
    rate_hz: float = 30.0
    refractory_ms: float = 2.0
    snr_db: float = 16.0
    waveform_ms: float = 4.5
    amplitude_jitter: float = 0.1
    subsample_jitter: bool = False
    seed: int = 0


def _shape_parameters(n_units: int, rng: np.random.Generator) -> list[tuple]:
    shapes = list(SEED_SHAPES[:n_units])
    while len(shapes) < n_units:
        shapes.append((rng.uniform(0, 0.3), rng.uniform(0.15, 0.3), rng.uniform(0.3, 0.8),
                       rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.5)))
    return shapes


def _waveform(t_ms: np.ndarray, shape: tuple) -> np.ndarray:
    pre, width, delay, after_width, after = shape
    g = lambda centre, w: np.exp(-0.5 * ((t_ms - centre) / w) ** 2)  # noqa: E731
    wave = pre * g(TROUGH_MS - 0.4, 0.15) - g(TROUGH_MS, width) + after * g(TROUGH_MS + delay, after_width)
    return wave


def channel_layout(n_channels: int) -> np.ndarray:
    """Tetrode square for 4 channels, else a vertical line 20 um apart."""
    if n_channels == 4:
        return np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0], [20.0, 20.0]])
    return np.column_stack([np.zeros(n_channels), 20.0 * np.arange(n_channels)])


def _footprints(positions: np.ndarray, n_units: int, rng: np.random.Generator):
    """Per unit and channel: gain (1 on the best channel) and delay in ms."""
    lo, hi = positions.min(0) - 15.0, positions.max(0) + 15.0
    somas = rng.uniform(lo, hi, size=(n_units, 2))
    depth = 15.0
    distance = np.sqrt(((somas[:, None, :] - positions[None]) ** 2).sum(-1) + depth ** 2)
    gains = (depth / distance) ** 1.5
    gains /= gains.max(1, keepdims=True)
    delays = 0.002 * (distance - distance.min(1, keepdims=True))  # ~0.2 ms per 100 um
    return gains, delays


class _SpikeBank:
    """Waveforms of every unit sampled at SUBSAMPLE_STEPS onset fractions."""

    def __init__(self, config: SimulationConfig, positions: np.ndarray, rng: np.random.Generator):
        n_taps = int(round(config.waveform_ms * config.sampling_rate / 1000.0))
        self.n_taps = n_taps
        self.trough_index = int(round(TROUGH_MS * config.sampling_rate / 1000.0))
        shapes = _shape_parameters(config.units, rng)
        gains, delays = _footprints(positions, config.units, rng) if config.channels > 1 else (
            np.ones((config.units, 1)), np.zeros((config.units, 1)))
        t = np.arange(n_taps) * 1000.0 / config.sampling_rate
        taper = np.minimum(1.0, np.minimum(np.arange(n_taps), np.arange(n_taps)[::-1]) / 4.0)
        bank = np.zeros((SUBSAMPLE_STEPS, config.units, config.channels, n_taps))
        for f in range(SUBSAMPLE_STEPS):
            shift = f / SUBSAMPLE_STEPS * 1000.0 / config.sampling_rate
            for u, shape in enumerate(shapes):
                for ch in range(config.channels):
                    bank[f, u, ch] = gains[u, ch] * _waveform(t - shift - delays[u, ch], shape) * taper
        amplitude = NOISE_STD_UV * 10 ** (config.snr_db / 20.0)
        unit_scale = np.linspace(0.85, 1.15, config.units) if config.units > 1 else np.ones(1)
        rng.shuffle(unit_scale)
        self.unit_amplitude = amplitude * unit_scale / np.abs(bank[0].min(axis=(1, 2)))
        self.bank = bank.astype(np.float32)

    @property
    def waveforms(self) -> np.ndarray:
        return (self.bank[0] * self.unit_amplitude[:, None, None]).astype(np.float32)


def _spike_trains(config: SimulationConfig, n_samples: int, margin: int, rng: np.random.Generator):
    """Onsets (continuous, in samples), units and amplitudes, sorted in time."""
    duration = n_samples / config.sampling_rate
    refractory = config.refractory_ms / 1000.0
    mean_gap = 1.0 / config.rate_hz - refractory
    onsets, units = [], []
    for u in range(config.units):
        n_draw = int(duration * config.rate_hz * 1.3 + 20)
        gaps = refractory + rng.exponential(mean_gap, size=n_draw)
        times = np.cumsum(gaps) + rng.uniform(0, 1.0 / config.rate_hz)
        times = times[times * config.sampling_rate < n_samples - margin]
        onsets.append(times * config.sampling_rate)
        units.append(np.full(len(times), u))
    onsets = np.concatenate(onsets)
    units = np.concatenate(units)
    order = np.argsort(onsets, kind="stable")
    onsets, units = onsets[order], units[order]
    scale = np.clip(1.0 + config.amplitude_jitter * rng.standard_normal(len(onsets)), 0.5, 1.5)
    return onsets, units, scale


def simulate(config: SimulationConfig | None = None, progress=None):
    """Yield (start, block) pieces of the recording and return the ground truth.

    A generator, so a long simulation never holds more than one block.
    ``progress`` is called with the number of samples written.
    """
    config = config or SimulationConfig()
    rng = np.random.default_rng(config.seed)
    positions = channel_layout(config.channels)
    bank = _SpikeBank(config, positions, rng)
    n_samples = int(round(config.minutes * 60.0 * config.sampling_rate))
    onsets, units, scale = _spike_trains(config, n_samples, bank.n_taps + 1, rng)
    if not config.subsample_jitter:
        onsets = np.floor(onsets)
    starts = np.floor(onsets).astype(np.int64)
    fractions = np.minimum(((onsets - starts) * SUBSAMPLE_STEPS).astype(np.int64), SUBSAMPLE_STEPS - 1)
    amplitudes = scale * bank.unit_amplitude[units]
    block = int(BLOCK_SECONDS * config.sampling_rate)
    n_taps = bank.n_taps
    first = 0
    carry = np.zeros((n_taps, config.channels), dtype=np.float32)  # spike tails into the next block
    for block_start in range(0, n_samples, block):
        block_stop = min(n_samples, block_start + block)
        data = (NOISE_STD_UV * rng.standard_normal((block_stop - block_start + n_taps, config.channels))
                ).astype(np.float32)
        data[block_stop - block_start:] = 0.0
        while first < len(starts) and starts[first] + n_taps <= block_start:
            first += 1
        i = first
        while i < len(starts) and starts[i] < block_stop:
            offset = starts[i] - block_start
            wave = amplitudes[i] * bank.bank[fractions[i], units[i]].T  # (taps, channels)
            lo = max(0, -offset)
            data[offset + lo:offset + n_taps] += wave[lo:]
            i += 1
        data[:n_taps] += carry
        carry = data[block_stop - block_start:block_stop - block_start + n_taps].copy()
        yield block_start, data[:block_stop - block_start]
        if progress is not None:
            progress(block_stop - block_start)
    truth = GroundTruth(
        waveforms=bank.waveforms,
        spike_times=starts + bank.trough_index + np.round(onsets - starts).astype(np.int64),
        spike_units=units.astype(np.int64),
        amplitudes=amplitudes.astype(np.float32),
        trough_index=bank.trough_index,
    )
    return truth


def _drain(config: SimulationConfig, sink, progress=None) -> GroundTruth:
    gen = simulate(config, progress)
    while True:
        try:
            start, data = next(gen)
        except StopIteration as done:
            return done.value
        sink(start, data)


def simulate_recording(config: SimulationConfig | None = None) -> ArrayRecording:
    """The whole simulated recording in memory."""
    config = config or SimulationConfig()
    n_samples = int(round(config.minutes * 60.0 * config.sampling_rate))
    traces = np.empty((n_samples, config.channels), dtype=np.float32)

    def sink(start, data):
        traces[start:start + len(data)] = data

    truth = _drain(config, sink)
    return ArrayRecording(traces, config.sampling_rate, channel_layout(config.channels), truth)


def simulator_version(path) -> int | None:
    """Version of the simulator that wrote ``path``, or None if it is not a simulation."""
    try:
        with h5py.File(path, "r") as h5:
            return int(h5["ground_truth"].attrs.get("simulator_version", 1))
    except (OSError, KeyError):
        return None


def write_simulation(path, config: SimulationConfig | None = None, progress=None) -> GroundTruth:
    """Write a simulated recording and its ground truth to HDF5, atomically."""
    config = config or SimulationConfig()
    path = os.fspath(path)
    n_samples = int(round(config.minutes * 60.0 * config.sampling_rate))
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        ds = h5.create_dataset("traces", shape=(n_samples, config.channels), dtype="float32",
                               chunks=(min(n_samples, 65536), config.channels))
        ds.attrs["sampling_rate"] = config.sampling_rate
        ds.attrs["units"] = "uV"
        h5["channel_positions"] = channel_layout(config.channels)

        def sink(start, data):
            ds[start:start + len(data)] = data

        truth = _drain(config, sink, progress)
        group = h5.create_group("ground_truth")
        group["waveforms"] = truth.waveforms
        group["spike_times"] = truth.spike_times
        group["spike_units"] = truth.spike_units
        group["amplitudes"] = truth.amplitudes
        group.attrs["trough_index"] = truth.trough_index
        group.attrs["noise_std_uv"] = NOISE_STD_UV
        group.attrs["simulator_version"] = SIMULATOR_VERSION
        for key, value in vars(config).items():
            group.attrs[key] = value
    return truth
