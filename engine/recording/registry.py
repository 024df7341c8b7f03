"""The reader registry: which formats sparsesort opens, how a file's format is guessed, and the
file dialog's filter. Adding a format is one entry in ``READERS`` and one module in ``readers/``.

Formats not listed here are handed to SpikeInterface by the name of its reader (``openephys``
calls ``spikeinterface.extractors.read_openephys``), when the ``formats`` extra is installed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from engine.errors import RecordingError
from engine.recording.base import Recording


@dataclass(frozen=True)
class ReaderOptions:
    """What ``open_recording`` was given beyond the path; each reader takes the options it knows."""

    sampling_rate: float | None = None
    n_channels: int | None = None
    dtype: str | None = None
    offset: int = 0
    gain: float = 1.0
    dataset: str | None = None
    probe: str | None = None

    @property
    def raw_layout_given(self) -> bool:
        return self.sampling_rate is not None or self.n_channels is not None


@dataclass(frozen=True)
class Reader:
    name: str
    label: str  # for people: the file dialog and messages
    suffixes: tuple[str, ...]
    claims: Callable[[str, bool], bool]  # (path, raw layout given): whether this reader is the guess
    open: Callable[[str, ReaderOptions], Recording]
    takes_probe: bool = False
    needs_layout: bool = False  # the file does not say its sampling rate and channel count


def _suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _is_nwb(path: str) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return "nwb_version" in h5.attrs
    except OSError:
        return False


HDF5_SUFFIXES = (".h5", ".hdf5")
RAW_SUFFIXES = (".bin", ".dat", ".raw")


def _open_nwb(path, options):
    from engine.recording.readers.nwb import NwbRecording
    return NwbRecording(path, series=options.dataset)


def _open_hdf5(path, options):
    from engine.recording.readers.hdf5 import Hdf5Recording
    return Hdf5Recording(path, dataset=options.dataset)


def _spikeglx_pair(path: str) -> str | None:
    """The SpikeGLX binary of ``path`` (a ``.bin`` with its ``.meta`` beside it, or that ``.meta``); else None."""
    root, suffix = os.path.splitext(path)
    if suffix.lower() not in (".bin", ".meta"):
        return None
    pair = (root + ".meta", root + ".bin") if suffix.lower() == ".bin" else (path, root + ".bin")
    return pair[1] if os.path.isfile(pair[0]) and os.path.exists(pair[1]) else None


def _check_layout_against_meta(path: str, recording, options: ReaderOptions) -> None:
    """A raw layout given for a SpikeGLX file (the raw-binary dialog, --n-channels) must agree with its meta."""
    given = {"channel count": (options.n_channels, recording.file_channels),
             "sampling rate": (options.sampling_rate, recording.sampling_rate),
             "dtype": (options.dtype, "int16"), "header offset": (options.offset or None, 0)}
    wrong = [f"{what} {value} (the meta says {meta})" for what, (value, meta) in given.items()
             if value is not None and value != meta]
    if wrong:
        raise RecordingError(path, f"is a SpikeGLX recording, read as its meta file says; leave out the raw "
                                   f"layout given, which disagrees with it: {', '.join(wrong)}")


def _open_spikeglx(path, options):
    from engine.recording.readers.spikeglx import SpikeGlxRecording, meta_path_for, read_meta
    path = _spikeglx_pair(path) or path
    layout = None
    if options.probe is not None:
        from engine.recording.probe import read_probe
        meta = meta_path_for(path)
        n_saved = read_meta(meta).get("nSavedChans") if os.path.exists(meta) else None
        layout = read_probe(options.probe, int(n_saved) if n_saved and n_saved.isdigit() else None)
    recording = SpikeGlxRecording(path, channel_layout=layout)
    _check_layout_against_meta(path, recording, options)
    return recording


def _open_binary(path, options):
    from engine.recording.readers.binary import BinaryRecording
    positions = indices = None
    if options.probe is not None:
        from engine.recording.probe import read_probe
        layout = read_probe(options.probe, options.n_channels)
        positions, indices = layout.positions, layout.channel_indices
    return BinaryRecording(path, sampling_rate=options.sampling_rate, n_channels=options.n_channels,
                           dtype=options.dtype or "int16", offset=options.offset, gain=options.gain,
                           channel_positions=positions, channel_indices=indices)


# In the order a file's format is guessed: the first reader that claims it wins.
READERS: dict[str, Reader] = {reader.name: reader for reader in (
    Reader("nwb", "NWB", (".nwb",), open=_open_nwb,
           claims=lambda path, raw: _suffix(path) == ".nwb" or (_suffix(path) in HDF5_SUFFIXES and _is_nwb(path))),
    Reader("hdf5", "HDF5", HDF5_SUFFIXES, open=_open_hdf5,
           claims=lambda path, raw: _suffix(path) in HDF5_SUFFIXES),
    # a .bin with its .meta is SpikeGLX everywhere, even when a raw layout is given (it must then agree)
    Reader("spikeglx", "SpikeGLX", (".bin", ".meta"), open=_open_spikeglx, takes_probe=True,
           claims=lambda path, raw: _spikeglx_pair(path) is not None),
    Reader("binary", "Raw binary", RAW_SUFFIXES, open=_open_binary, takes_probe=True, needs_layout=True,
           claims=lambda path, raw: _suffix(path) in RAW_SUFFIXES or raw),
)}


def _spikeinterface_guess(path: str) -> str | None:
    from engine.recording.readers.spikeinterface import guess_format
    return guess_format(path)


def guess_format(path: str, raw_args_given: bool = False) -> str | None:
    """The reader for ``path`` from its name and neighbours; None when nothing fits."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return _spikeinterface_guess(path)
    for reader in READERS.values():
        if reader.claims(path, raw_args_given):
            return reader.name
    return _spikeinterface_guess(path)


def needs_layout(path: str) -> bool:
    """Whether the file must be given its sampling rate and channel count (a raw binary file)."""
    reader = READERS.get(guess_format(path) or "")
    return reader is not None and reader.needs_layout


def recording_suffixes() -> tuple[str, ...]:
    """Every file ending sparsesort recognises, its own readers' and SpikeInterface's."""
    from engine.recording.readers.spikeinterface import SUFFIX_FORMATS
    ours = [s for reader in READERS.values() for s in reader.suffixes]
    return tuple(dict.fromkeys(ours + list(SUFFIX_FORMATS)))


def file_dialog_filter() -> str:
    """A Qt file-dialog filter: all recordings, then one entry per reader, then all files."""
    from engine.recording.readers.spikeinterface import SUFFIX_FORMATS

    def globs(suffixes):
        return " ".join(f"*{s}" for s in suffixes)

    entries = [f"Recordings ({globs(recording_suffixes())})"]
    labels: dict[str, list[str]] = {}
    for reader in READERS.values():
        labels.setdefault(reader.label, []).extend(reader.suffixes)
    entries += [f"{label} ({globs(suffixes)})" for label, suffixes in labels.items()]
    entries.append(f"Through SpikeInterface ({globs(SUFFIX_FORMATS)})")
    entries.append("All files (*)")
    return ";;".join(entries)


def _unknown_format(path: str) -> RecordingError:
    if os.path.isdir(path):
        return RecordingError(path, "is a folder, not a recording file (nor an Open Ephys or SpikeInterface "
                                    "folder; name its format with --format)")
    ours = tuple(dict.fromkeys(s for reader in READERS.values() for s in reader.suffixes))
    return RecordingError(path, f"unknown recording format '{_suffix(path)}' (expected one of "
                                f"{', '.join(ours)}, a SpikeGLX .bin with its .meta, or --format NAME)")


def open_recording(path, sampling_rate: float | None = None, n_channels: int | None = None,
                   dtype: str | None = None, offset: int = 0, gain: float = 1.0,
                   dataset: str | None = None, probe=None, format: str | None = None) -> Recording:
    """Open any supported recording by its file (or folder) name.

    ``format`` overrides the guess from the name: a name in ``READERS`` or the name of a
    SpikeInterface reader (openephys, intan, ...). ``dataset`` names the HDF5 dataset or the NWB
    ElectricalSeries when the file holds several. ``probe`` is a probeinterface JSON or PRB file
    giving the geometry of a raw binary or SpikeGLX recording; file channels not on the probe are
    left out.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise RecordingError(path, "no such file")
    options = ReaderOptions(sampling_rate=sampling_rate, n_channels=n_channels, dtype=dtype, offset=offset,
                            gain=gain, dataset=dataset, probe=None if probe is None else os.fspath(probe))
    format = format or guess_format(path, options.raw_layout_given)
    if format is None:
        raise _unknown_format(path)
    reader = READERS.get(format)
    if probe is not None and not (reader and reader.takes_probe):
        takers = " and ".join(r.label for r in READERS.values() if r.takes_probe)
        raise RecordingError(path, f"a probe file applies to {takers} recordings, not {format}")
    if reader is None:
        from engine.recording.readers.spikeinterface import SpikeInterfaceRecording, read_with_spikeinterface
        return SpikeInterfaceRecording(read_with_spikeinterface(path, format), path=path)
    if reader.takes_probe and os.path.isdir(path):
        raise RecordingError(path, "is a folder, not a recording file")
    try:
        return reader.open(path, options)
    except (OverflowError, ValueError) as exc:  # a reader's own checks missed it: still one line naming the file
        raise RecordingError(path, f"cannot be read as {reader.label} ({exc})") from None
