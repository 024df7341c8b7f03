"""SpikeGLX recordings: a flat int16 ``.bin`` with its ``.meta`` text file beside it.

The meta gives the sampling rate, the saved channel count, the file size
(checked against the binary) and what turns a sample into volts. Only neural
channels are kept (the sync / digital channels are not on the probe); the
probe geometry comes from probeinterface's reading of the meta when it knows
the probe.
"""
from __future__ import annotations

import os
import re

import numpy as np

from engine.errors import RecordingError
from engine.recording.readers.binary import BinaryRecording, check_sampling_rate

NP2_PROBE_TYPES = {21, 24, 2003, 2004, 2013, 2014}  # fixed gain 80, 14-bit


def meta_path_for(bin_path) -> str:
    return os.path.splitext(os.fspath(bin_path))[0] + ".meta"


def read_meta(path) -> dict[str, str]:
    meta = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if sep:
                meta[key.lstrip("~")] = value
    return meta


def _saved_channels(meta: dict, n_saved: int) -> np.ndarray:
    """Acquisition channel id of each saved channel (snsSaveChanSubset: 'all' or '0:383,768')."""
    subset = meta.get("snsSaveChanSubset", "all")
    if subset == "all":
        return np.arange(n_saved)
    ids = []
    for part in subset.split(","):
        lo, _, hi = part.partition(":")
        ids.extend(range(int(lo), int(hi or lo) + 1))
    return np.asarray(ids, dtype=np.int64)


def _imro_gains(meta: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-channel AP and LF gains from a Neuropixels 1.0 imro table; None for fixed-gain probes."""
    entries = re.findall(r"\(([^)]*)\)", meta.get("imroTbl", ""))
    if len(entries) < 2:
        return None
    rows = [e.split() for e in entries[1:]]
    if any(len(r) != 6 for r in rows):
        return None
    return np.array([float(r[3]) for r in rows]), np.array([float(r[4]) for r in rows])


def _imec_microvolts_per_bit(meta: dict, channel_ids: np.ndarray, n_ap: int) -> np.ndarray:
    probe_type = int(re.findall(r"\(([^)]*)\)", meta.get("imroTbl", "(0)"))[0].split(",")[0] or 0)
    max_int = float(meta.get("imMaxInt", 8192 if probe_type in NP2_PROBE_TYPES else 512))
    volts = float(meta.get("imAiRangeMax", 0.6))
    gains = _imro_gains(meta)
    per_channel = np.full(len(channel_ids), 80.0 if probe_type in NP2_PROBE_TYPES else 500.0)
    if gains is not None:
        ap, lf = gains
        is_lf = channel_ids >= n_ap
        index = np.where(is_lf, channel_ids - n_ap, channel_ids) % len(ap)
        per_channel = np.where(is_lf, lf[index], ap[index])
    return 1e6 * volts / max_int / per_channel


def _nidq_microvolts_per_bit(meta: dict, channel_ids: np.ndarray) -> np.ndarray:
    mn, ma = (int(v) for v in meta.get("snsMnMaXaDw", "0,0,0,0").split(",")[:2])
    volts = float(meta.get("niAiRangeMax", 5.0))
    gain = np.where(channel_ids < mn, float(meta.get("niMNGain", 1.0)),
                    np.where(channel_ids < mn + ma, float(meta.get("niMAGain", 1.0)), 1.0))
    return 1e6 * volts / 32768.0 / gain


def _probe_positions(meta_path: str, n_channels: int) -> np.ndarray | None:
    try:
        import probeinterface
        probe = probeinterface.read_spikeglx(meta_path)
    except Exception:  # an unknown probe or a hand-written meta: fall back to a line of contacts
        return None
    positions = np.asarray(probe.contact_positions, dtype=float)[:, :2]
    return positions if len(positions) == n_channels else None


def _count(meta: dict, key: str, meta_path: str, least: int = 1) -> int:
    text = meta[key]
    if not text.strip().isdigit() or int(text) < least:
        raise RecordingError(meta_path, f"{key}={text} is not a whole number of {least} or more")
    return int(text)


def _counts(meta: dict, key: str, default: str, n: int, meta_path: str) -> list[int]:
    text = meta.get(key, default)
    parts = text.split(",")
    if len(parts) != n or not all(p.strip().isdigit() for p in parts):
        raise RecordingError(meta_path, f"{key}={text} is not {n} whole numbers")
    return [int(p) for p in parts]


def _layout(meta: dict, stream: str, rate_key: str, meta_path: str) -> tuple[int, float, np.ndarray, int]:
    """(saved channels, sampling rate, microvolts per bit of each saved channel, neural channels), each
    checked against the others: a meta that contradicts itself names the keys."""
    n_saved = _count(meta, "nSavedChans", meta_path)
    rate = check_sampling_rate(meta_path, meta[rate_key], rate_key)
    ids = _saved_channels(meta, n_saved)
    if len(ids) != n_saved:
        raise RecordingError(meta_path, f"snsSaveChanSubset lists {len(ids)} channels but nSavedChans "
                                        f"is {n_saved}")
    if stream == "nidq":
        key, groups = "snsMnMaXaDw", _counts(meta, "snsMnMaXaDw", f"{n_saved},0,0,0", 4, meta_path)
        neural = sum(groups[:3])
        uv_per_bit = _nidq_microvolts_per_bit(meta, ids)
    else:
        key, groups = "snsApLfSy", _counts(meta, "snsApLfSy", f"{n_saved},0,0", 3, meta_path)
        neural = groups[0] + groups[1]
        n_ap_total = _counts(meta, "acqApLfSy", f"{max(groups[:2])},0,0", 3, meta_path)[0]
        uv_per_bit = _imec_microvolts_per_bit(meta, ids, n_ap_total)
    if sum(groups) != n_saved:
        raise RecordingError(meta_path, f"{key}={meta.get(key)} counts {sum(groups)} saved channels but "
                                        f"nSavedChans is {n_saved}")
    return n_saved, rate, uv_per_bit, neural


class SpikeGlxRecording(BinaryRecording):
    format_name = "spikeglx"

    def __init__(self, path, channel_layout=None):
        path = os.fspath(path)
        meta_path = meta_path_for(path)
        if not os.path.exists(path):
            raise RecordingError(path, "no such file")
        if not os.path.exists(meta_path):
            raise RecordingError(path, f"has no SpikeGLX meta file beside it ({os.path.basename(meta_path)})")
        self.meta_path = meta_path
        self.meta = meta = read_meta(meta_path)
        stream = meta.get("typeThis", "imec")
        rate_key = "niSampRate" if stream == "nidq" else "imSampRate"
        missing = [k for k in (rate_key, "nSavedChans") if k not in meta]
        if missing:
            raise RecordingError(meta_path, f"is not a SpikeGLX meta file (no {', '.join(missing)})")
        try:
            n_saved, rate, uv_per_bit, neural = _layout(meta, stream, rate_key, meta_path)
        except (ValueError, IndexError) as exc:  # a number that is not one, a malformed list or table
            raise RecordingError(meta_path, f"is not a valid SpikeGLX meta file ({exc})") from None
        size = os.path.getsize(path)
        if "fileSizeBytes" in meta and _count(meta, "fileSizeBytes", meta_path, 0) != size:
            raise RecordingError(path, f"does not match its meta file {meta_path}: the meta says "
                                       f"{int(meta['fileSizeBytes'])} bytes, the file has {size}")
        if size % (2 * n_saved):
            raise RecordingError(path, f"does not match its meta file {meta_path}: {size} bytes is not a whole "
                                       f"number of frames of nSavedChans={n_saved} int16 channels")
        if channel_layout is not None:
            keep, positions = channel_layout.channel_indices, channel_layout.positions
            if len(keep) and (keep.min() < 0 or keep.max() >= n_saved):
                raise RecordingError(path, f"the probe wires channel {int(keep.max())}, but the meta file "
                                           f"{meta_path} says the file has {n_saved} channels")
        else:
            keep = np.arange(neural)
            positions = _probe_positions(meta_path, neural)
        super().__init__(path, rate, n_saved, "int16", 0, uv_per_bit[keep],
                         channel_positions=positions, channel_indices=keep)
