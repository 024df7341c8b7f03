"""Lazy preprocessing: a ``Recording`` whose ``traces()`` filters the window it is asked for.

Band-pass (Butterworth, forward-backward with ``scipy.signal.sosfiltfilt``),
then a common reference (the mean over channels by default, or the median),
then optional whitening. Each window is read
with a margin on both sides, long enough for the filter's impulse response
to decay below float32 precision, and the margin is cut off again: the
result equals filtering the whole recording at once (within float tolerance),
and memory is bounded by the window.

Default rule (``auto``): recordings with ground truth (simulated: white,
unfiltered noise) are left as they are; real recordings get the band-pass,
and the common reference when they have at least ``CMR_MIN_CHANNELS``
channels (on a tetrode one spike is on every channel and the reference
would take part of it away) and noise the channels share
(``has_common_noise``).

The reference is not free. The mean over channels holds 1/channels of every
spike, so subtracting it puts a small inverted copy of each spike on every
channel of the probe, far outside the neighbourhood its filter lives on
(engine.model.filter_shape). The copies of a large, busy unit are a pattern
that repeats hundreds of times a minute, and the filters of small nearby
units learned it instead of their own spikes: on the suite's 32-channel
probe, whose generated noise is independent on each channel, the reference
cost four of twenty units (accuracy 0.83, 0.99 without it). So it is applied
only where there is shared noise for it to remove.

The default reference is the mean, not the median most sorters use,
because the model assumes that overlapping spikes add up. Subtracting the
mean is linear, so two overlapping spikes stay the sum of their (referenced)
waveforms. Subtracting the median is not linear, and every overlap distorts
both waveforms differently. On the generated 32-channel probe of
benchmarks/peers.py, whose units spread over many channels, the median
left 1 % of a large unit's spikes with a code on a small neighbour's filter,
and the mean did not. The median resists a single broken or very noisy
channel better; choose it with ``reference="median"``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import signal

from engine.errors import RecordingError
from engine.recording.fast_median import median
from engine.recording.base import RawBinarySource, Recording
from engine.recording.noise import shared_noise_correlation

CMR_MIN_CHANNELS = 8
COMMON_NOISE_PIECES = 10
COMMON_NOISE_SECONDS = 0.2  # each piece: 60 000 samples in all at 30 kHz, enough for a robust level
MARGIN_TOLERANCE = 1e-7  # impulse response left at the margin's end, relative to its peak
WHITENING_SECONDS = 10.0
WHITENING_EPS = 1e-3  # regularisation, relative to the mean eigenvalue
FILTER_BLOCK_VALUES = 1 << 21  # samples x channels filtered at once: sosfiltfilt makes several float64 copies


@dataclass
class PreprocessingConfig:
    bandpass: tuple[float, float] | None = (300.0, 6000.0)  # Hz; None: no band-pass
    filter_order: int = 3
    common_reference: bool = True
    whiten: bool = False
    reference: str = "mean"  # what common_reference subtracts: "mean" or "median" over channels

    def to_dict(self) -> dict:
        d = asdict(self)
        d["bandpass"] = None if self.bandpass is None else list(self.bandpass)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PreprocessingConfig":
        d = dict(d)
        d.setdefault("reference", "median")  # saved before the choice existed, when the median was the only one
        if d.get("bandpass") is not None:
            d["bandpass"] = tuple(d["bandpass"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    @property
    def is_identity(self) -> bool:
        return self.bandpass is None and not self.common_reference and not self.whiten


NO_PREPROCESSING = PreprocessingConfig(bandpass=None, common_reference=False, whiten=False)


def default_config(recording: Recording) -> PreprocessingConfig:
    """The ``auto`` rule (see the module docstring)."""
    if recording.ground_truth is not None:
        return NO_PREPROCESSING
    bandpass = None if recording.is_filtered else PreprocessingConfig.bandpass
    common_reference = (recording.n_channels >= CMR_MIN_CHANNELS
                        and has_common_noise(recording, PreprocessingConfig(bandpass, common_reference=False)))
    return PreprocessingConfig(bandpass=bandpass, common_reference=common_reference)


def has_common_noise(recording: Recording, filtering: "PreprocessingConfig") -> bool:
    """Whether the channels share noise for the common reference to remove, seen through ``filtering``
    on ``COMMON_NOISE_PIECES`` short pieces spread over the recording.

    The median correlation of two channels' noise (engine.recording.noise.shared_noise_correlation)
    is shared / (shared + own) variance. The reference is worth its cost when the shared part is at
    least one channel's share of the mean over channels (correlation 1 / channels), and the
    correlation is clear of its estimate's spread (3 / sqrt(samples)).
    """
    seen = preprocess(recording, filtering)
    piece = int(min(recording.n_samples, COMMON_NOISE_SECONDS * recording.sampling_rate))
    starts = np.unique(np.linspace(0, recording.n_samples - piece, COMMON_NOISE_PIECES).astype(np.int64))
    traces = np.concatenate([seen.traces(int(s), int(s) + piece) for s in starts])
    floor = max(1.0 / recording.n_channels, 3.0 / np.sqrt(len(traces)))
    return shared_noise_correlation(traces) > floor


def bandpass_sos(low: float, high: float, sampling_rate: float, order: int) -> np.ndarray:
    """Band-pass second-order sections; high-pass only when ``high`` is at or above 0.95 Nyquist."""
    nyquist = sampling_rate / 2.0
    if not 0 < low < nyquist:
        raise ValueError(f"band-pass low edge {low:g} Hz must be between 0 and Nyquist ({nyquist:g} Hz)")
    if high >= 0.95 * nyquist:
        return signal.butter(order, low, btype="highpass", fs=sampling_rate, output="sos")
    if high <= low:
        raise ValueError(f"band-pass edges must be increasing, got {low:g}-{high:g} Hz")
    return signal.butter(order, [low, high], btype="bandpass", fs=sampling_rate, output="sos")


def settling_samples(sos: np.ndarray, tolerance: float = MARGIN_TOLERANCE) -> int:
    """Samples after which the filter's impulse response stays below ``tolerance`` of its peak."""
    length = 1024
    while True:
        impulse = np.zeros(length)
        impulse[0] = 1.0
        response = np.abs(signal.sosfilt(sos, impulse))
        above = np.nonzero(response > tolerance * response.max())[0]
        if above[-1] < length // 2 or length >= 1 << 22:
            return int(above[-1]) + 1
        length *= 2


class PreprocessedRecording(Recording):
    """``parent`` seen through band-pass, common reference and whitening, computed lazily."""

    def __init__(self, parent: Recording, config: PreprocessingConfig | None = None):
        self.parent = parent
        self.config = config or PreprocessingConfig()
        self.format_name = parent.format_name
        self.path = parent.path
        self.sampling_rate = parent.sampling_rate
        self.n_channels = parent.n_channels
        self.n_samples = parent.n_samples
        self.channel_positions = parent.channel_positions
        self.ground_truth = parent.ground_truth
        if self.config.common_reference and self.n_channels < 3:
            raise RecordingError(self.path, f"a common reference needs at least 3 channels, the recording "
                                            f"has {self.n_channels}")
        if self.config.reference not in REFERENCES:
            raise ValueError(f"unknown common reference '{self.config.reference}' (use {' or '.join(REFERENCES)})")
        self.sos = None
        self.margin = 0
        if self.config.bandpass is not None:
            self.sos = bandpass_sos(*self.config.bandpass, self.sampling_rate, self.config.filter_order)
            self.margin = settling_samples(self.sos)
            shortest = 3 * (2 * len(self.sos) + 1)  # sosfiltfilt's edge padding
            if self.n_samples <= shortest:
                raise RecordingError(self.path, f"is {self.n_samples} samples long, shorter than the band-pass "
                                                f"filter needs ({shortest + 1} samples)")
        self.whitening = self._whitening_matrix() if self.config.whiten else None

    def raw_source(self) -> RawBinarySource | None:
        return self.parent.raw_source()

    def _needs_all_channels(self) -> bool:
        return self.config.common_reference or self.config.whiten

    def _filtered(self, start: int, stop: int, channels: np.ndarray) -> np.ndarray:
        """Band-passed, referenced samples of ``channels`` (before whitening)."""
        lo, hi = max(0, start - self.margin), min(self.n_samples, stop + self.margin)
        data = self.parent.traces(lo, hi, channels)
        if data.base is not None:  # filtered in place below: never write into a parent's own buffer
            data = data.copy()
        data = self._bandpassed(data)[start - lo:stop - lo]
        if self.config.common_reference:
            data -= REFERENCES[self.config.reference](data)
        return data

    def _bandpassed(self, data: np.ndarray) -> np.ndarray:
        """``data`` (samples, channels) band-passed in place, a block of channels at a time."""
        if self.sos is not None:
            block = max(1, FILTER_BLOCK_VALUES // max(1, len(data)))
            for c in range(0, data.shape[1], block):
                data[:, c:c + block] = signal.sosfiltfilt(self.sos, data[:, c:c + block], axis=0)
        return data

    def _mean_referenced(self, start: int, stop: int, channels: np.ndarray) -> np.ndarray:
        """A few channels minus the mean of all, band-passing only those and the mean: the band-pass is
        linear, so the band-passed mean is the mean of the band-passed channels (a unit's 32 channels of a
        384-channel probe: a tenth of the filtering)."""
        lo, hi = max(0, start - self.margin), min(self.n_samples, stop + self.margin)
        every = self.parent.traces(lo, hi)
        data = np.empty((hi - lo, len(channels) + 1), dtype=np.float32)
        data[:, :-1] = every[:, channels]
        data[:, -1] = every.mean(axis=1, dtype=np.float64)
        data = self._bandpassed(data)[start - lo:stop - lo]
        return data[:, :-1] - data[:, -1:]

    def _read(self, start, stop, channels):
        if stop <= start:
            return np.zeros((0, len(channels)), dtype=np.float32)
        if not self._needs_all_channels():
            return self._filtered(start, stop, channels).astype(np.float32)
        if self.config.reference == "mean" and self.whitening is None and 2 * len(channels) < self.n_channels:
            return self._mean_referenced(start, stop, channels)
        every = np.arange(self.n_channels)
        data = self._filtered(start, stop, every)
        if self.whitening is not None:
            return (data @ self.whitening[:, channels]).astype(np.float32)
        return data if np.array_equal(channels, every) else data[:, channels]

    def _whitening_matrix(self) -> np.ndarray:
        """ZCA whitening from evenly spaced one-second pieces, scaled to keep the median channel's noise level.

        The scale keeps traces near microvolts, so thresholds and lambda keep their usual meaning.
        """
        piece = int(min(self.n_samples, self.sampling_rate))
        n_pieces = max(1, int(WHITENING_SECONDS * self.sampling_rate) // max(piece, 1))
        starts = np.linspace(0, self.n_samples - piece, n_pieces).astype(np.int64)
        every = np.arange(self.n_channels)
        data = np.concatenate([self._filtered(s, s + piece, every) for s in starts]).astype(np.float64)
        cov = np.cov(data, rowvar=False)
        values, vectors = np.linalg.eigh(cov)
        floor = WHITENING_EPS * max(values.mean(), 1e-12)
        # directions without signal (the common reference removes one) are left out, not amplified
        scale = np.where(values > floor, 1.0 / np.sqrt(np.maximum(values, 0) + floor), 0.0)
        zca = vectors @ np.diag(scale) @ vectors.T
        return (zca * np.median(np.sqrt(np.diag(cov)))).astype(np.float32)


def channel_median(data: np.ndarray) -> np.ndarray:
    """Median across channels of each sample, as a column."""
    return median(data, axis=1, keepdims=True)


def channel_mean(data: np.ndarray) -> np.ndarray:
    """Mean across channels of each sample, as a column."""
    return data.mean(axis=1, keepdims=True)


REFERENCES = {"mean": channel_mean, "median": channel_median}


def preprocess(recording: Recording, config: PreprocessingConfig | None) -> Recording:
    """``recording`` seen through ``config``; the recording itself when there is nothing to do."""
    if config is None or config.is_identity:
        return recording
    return PreprocessedRecording(recording, config)
