"""Motion (drift) correction before the model, with SpikeInterface's motion tools.

A probe that moves in the brain moves every unit's footprint along it, and one filter no longer fits
a unit's spikes. ``spikeinterface.preprocessing.correct_motion`` detects and localises peaks,
estimates the displacement over time (and along the probe, when non-rigid) and interpolates the
traces back onto a still probe. It is on by default when the contacts span ``MIN_SPAN_UM`` or more
along the probe; a tetrode or a short probe has nothing to correct.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import RecordingError
from engine.recording.base import Recording

MOTION_CHOICES = ("auto", "none", "rigid", "nonrigid")
NOISE_SEED = 0
PRESET = "dredge_fast"  # rigid too: on generated drifting probes it beat the "rigid_fast" preset (0.99 vs 0.80)
MIN_SPAN_UM = 100.0
# non-rigid motion is estimated in windows this far apart and this wide along the probe (the preset's
# own 400 um would fit once on most probes, i.e. rigid); on the suite's non-rigid drifts (bumps and
# zigzags on 32- and 64-channel probes) rigid correction left units 10-20 um off in the bumps, so each
# became two units, one for each position
NONRIGID_WINDOW_UM = 150.0
NONRIGID_MIN_SPAN_UM = 2 * NONRIGID_WINDOW_UM  # room for windows that differ
# the largest displacement dredge looks for; by default a quarter of the window, which made it 37.5 um
# with the windows above: a bump or zigzag of more was followed only in part (on the suite's +-50 um
# drift, units 10-13 um off), so it is the preset's own 100 um (a quarter of its 400 um windows)
MAX_DISPLACEMENT_UM = 100.0
# every channel stays (the presets' "remove_channels" would drop those the probe moved off, and the
# model's filters need a fixed channel count)
INTERPOLATION = {"border_mode": "force_extrapolate", "spatial_interpolation_method": "kriging", "sigma_um": 20.0,
                 "p": 2}


def probe_span_um(recording: Recording) -> float:
    """The contacts' extent along the probe (the second coordinate), in micrometres."""
    positions = np.asarray(recording.channel_positions, dtype=float)
    return float(np.ptp(positions[:, 1])) if len(positions) > 1 else 0.0


def resolve_motion(choice: str | None, recording: Recording) -> str:
    """'none', 'rigid' or 'nonrigid' for ``choice``, where 'auto' (or None) looks at the probe's span."""
    choice = (choice or "auto").lower()
    if choice not in MOTION_CHOICES:
        raise ValueError(f"unknown motion correction '{choice}' (use {', '.join(MOTION_CHOICES)})")
    if choice == "auto":
        span = probe_span_um(recording)
        return "none" if span < MIN_SPAN_UM else "rigid" if span < NONRIGID_MIN_SPAN_UM else "nonrigid"
    return choice


@dataclass
class MotionEstimate:
    """What motion correction found: the displacement, and the peaks it was estimated from (a drift map)."""

    kind: str  # rigid or nonrigid
    temporal_bins_s: np.ndarray  # (time bins,)
    spatial_bins_um: np.ndarray  # (depth bins,): one for rigid
    displacement_um: np.ndarray  # (time bins, depth bins)
    peak_times_s: np.ndarray  # every detected peak: time, depth along the probe, amplitude
    peak_depths_um: np.ndarray
    peak_amplitudes: np.ndarray

    ARRAYS = ("temporal_bins_s", "spatial_bins_um", "displacement_um", "peak_times_s", "peak_depths_um",
              "peak_amplitudes")

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(getattr(self, name)) for name in self.ARRAYS}

    @classmethod
    def from_arrays(cls, kind: str, arrays: dict) -> "MotionEstimate":
        return cls(kind, **{name: np.asarray(arrays[name]) for name in cls.ARRAYS})


def as_spikeinterface(recording: Recording):
    """A SpikeInterface view of any recording, reading through ``recording.traces``."""
    from spikeinterface.core import BaseRecording, BaseRecordingSegment

    class Segment(BaseRecordingSegment):
        def __init__(self):
            super().__init__(sampling_frequency=recording.sampling_rate, t_start=None)

        def get_num_samples(self):
            return recording.n_samples

        def get_traces(self, start_frame=None, end_frame=None, channel_indices=None):
            channels = None if channel_indices is None else np.arange(recording.n_channels)[channel_indices]
            return recording.traces(start_frame or 0, end_frame, channels)

    view = BaseRecording(recording.sampling_rate, [str(c) for c in range(recording.n_channels)], np.float32)
    view.add_recording_segment(Segment())
    view.set_dummy_probe_from_locations(np.asarray(recording.channel_positions, dtype=float)[:, :2])
    view.set_channel_gains(1.0)
    view.set_channel_offsets(0.0)
    view.annotate(is_filtered=True)
    return view


class MotionCorrectedRecording(Recording):
    """A recording read through SpikeInterface's motion interpolation; everything else is the source's."""

    def __init__(self, source: Recording, corrected):
        self.source, self.corrected = source, corrected
        self.format_name, self.path = source.format_name, source.path
        self.sampling_rate, self.n_channels, self.n_samples = source.sampling_rate, source.n_channels, source.n_samples
        self.channel_positions = source.channel_positions
        self.ground_truth = source.ground_truth

    def _read(self, start, stop, channels):
        return self.corrected.get_traces(segment_index=0, start_frame=start, end_frame=stop,
                                         channel_ids=self.corrected.get_channel_ids()[channels])

    def raw_source(self):
        return self.source.raw_source()


def _spikeinterface_motion(path):
    try:
        import spikeinterface.preprocessing as spre
        from spikeinterface.core.motion import Motion
        from spikeinterface.sortingcomponents.motion.motion_interpolation import interpolate_motion
    except ImportError:
        raise RecordingError(path, "motion correction needs SpikeInterface (pip install 'sparsesort[formats]'), "
                                   "or use --motion none") from None
    return spre.correct_motion, Motion, interpolate_motion


def _estimate_kwargs(kind: str) -> dict:
    if kind == "rigid":
        return {"rigid": True, "max_disp_um": MAX_DISPLACEMENT_UM}
    return {"rigid": False, "win_step_um": NONRIGID_WINDOW_UM, "win_scale_um": NONRIGID_WINDOW_UM,
            "max_disp_um": MAX_DISPLACEMENT_UM}


def _keep_compiled_kernels() -> None:
    """Have numba keep SpikeInterface's peak detection, compiled, on disk: it is compiled on its first
    call in every process otherwise, 2-3 s of each ``sparsesort sort`` on a probe (a 20 s recording's
    motion correction: 3.9 s the first time in a process, 2.2 s with the kernel kept, 1.2-1.6 s after)."""
    try:
        from numba.core.caching import NullCache
        from spikeinterface.sortingcomponents.peak_detection import locally_exclusive

        kernel = locally_exclusive.detect_peaks_numba_locally_exclusive_on_chunk
        if isinstance(kernel._cache, NullCache):
            kernel.enable_caching()
    except (ImportError, AttributeError, RuntimeError):  # another numba or SpikeInterface, or nowhere to write
        pass


def correct_motion(recording: Recording, kind: str, n_jobs: int = 1) -> tuple[Recording, MotionEstimate]:
    """The recording with its motion interpolated away, and the estimate. ``kind``: rigid or nonrigid."""
    si_correct_motion, _, _ = _spikeinterface_motion(recording.path)
    _keep_compiled_kernels()
    view = as_spikeinterface(recording)
    # SpikeInterface measures the noise for its peak detection on randomly drawn chunks, unseeded:
    # measured here with a fixed seed (it keeps the value on the recording), so that the same recording
    # gets the same peaks, the same motion and the same sort every time
    from spikeinterface.core import get_noise_levels
    get_noise_levels(view, return_in_uV=False, random_slices_kwargs={"seed": NOISE_SEED}, progress_bar=False)
    corrected, motion, info = si_correct_motion(view, preset=PRESET,
                                                estimate_motion_kwargs=_estimate_kwargs(kind),
                                                output_motion=True, output_motion_info=True,
                                                interpolate_motion_kwargs=INTERPOLATION,
                                                n_jobs=n_jobs, progress_bar=False)
    peaks, locations = info["peaks"], info["peak_locations"]
    estimate = MotionEstimate(
        kind=kind, temporal_bins_s=np.asarray(motion.temporal_bins_s[0]),
        spatial_bins_um=np.asarray(motion.spatial_bins_um), displacement_um=np.asarray(motion.displacement[0]),
        peak_times_s=peaks["sample_index"] / recording.sampling_rate,
        peak_depths_um=np.asarray(locations["y"], dtype=np.float32),
        peak_amplitudes=np.abs(np.asarray(peaks["amplitude"], dtype=np.float32)))
    return MotionCorrectedRecording(recording, corrected), estimate


def apply_motion(recording: Recording, estimate: MotionEstimate) -> Recording:
    """The recording corrected by a motion estimated before (a session reopened): no re-estimation."""
    _, Motion, interpolate_motion = _spikeinterface_motion(recording.path)
    motion = Motion(displacement=[estimate.displacement_um], temporal_bins_s=[estimate.temporal_bins_s],
                    spatial_bins_um=estimate.spatial_bins_um)
    return MotionCorrectedRecording(recording, interpolate_motion(as_spikeinterface(recording), motion,
                                                                  **INTERPOLATION))
