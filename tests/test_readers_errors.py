"""One test per bad input: a RecordingError whose message names the file and the problem."""
import os

import h5py
import numpy as np
import pytest

from engine.cli import main
from engine.errors import RecordingError
from engine.recording.preprocessing import PreprocessedRecording, PreprocessingConfig
from engine.recording.base import ArrayRecording
from engine.recording.registry import open_recording
from tests.test_readers import write_nwb, write_spikeglx


def _error(path, **kwargs) -> str:
    with pytest.raises(RecordingError) as info:
        open_recording(path, **kwargs).traces()
    message = str(info.value)
    assert str(path) in message
    return message


def test_missing_file(tmp_path):
    assert "no such file" in _error(tmp_path / "nope.bin", sampling_rate=1e4, n_channels=4)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = tmp_path / "locked.bin"
    np.zeros(100, np.int16).tofile(path)
    path.chmod(0)
    assert "permission denied" in _error(path, sampling_rate=1e4, n_channels=1)


def test_garbage_hdf5(tmp_path):
    path = tmp_path / "broken.h5"
    path.write_bytes(b"not an hdf5 file")
    assert "cannot be read as HDF5" in _error(path)


def test_garbage_nwb(tmp_path):
    path = tmp_path / "broken.nwb"
    path.write_bytes(b"not an nwb file")
    assert "cannot be read as NWB" in _error(path)


def test_unknown_format(tmp_path):
    path = tmp_path / "rec.xyz"
    path.write_bytes(b"123")
    assert "unknown recording format '.xyz'" in _error(path)


def test_plain_folder(tmp_path):
    assert "is a folder" in _error(tmp_path)


def test_size_not_whole_frames_lists_fitting_channel_counts(tmp_path):
    path = tmp_path / "odd.bin"
    np.zeros(3 * 7 * 101, np.int16).tofile(path)
    message = _error(path, sampling_rate=1e4, n_channels=4)
    assert "not a whole number of frames of 4 channels" in message
    assert "channel counts that fit:" in message and "7" in message.split("fit:")[1]


def test_unknown_dtype(tmp_path):
    path = tmp_path / "rec.bin"
    np.zeros(100, np.int16).tofile(path)
    assert "unknown dtype 'int12'" in _error(path, sampling_rate=1e4, n_channels=1, dtype="int12")


def test_spikeglx_meta_does_not_match_binary(tmp_path):
    bin_path, data = write_spikeglx(tmp_path, n_samples=100)
    with open(bin_path, "ab") as f:
        f.write(b"\0" * 770)  # two more frames than the meta says
    message = _error(bin_path)
    assert "does not match its meta file" in message and str(data.nbytes) in message


def test_spikeglx_missing_meta(tmp_path):
    bin_path, _ = write_spikeglx(tmp_path, n_samples=10)
    (tmp_path / "rec_g0_t0.imec0.ap.meta").unlink()
    assert "has no SpikeGLX meta file" in _error(bin_path, format="spikeglx")


def test_hdf5_without_recording_dataset_lists_datasets(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5["labels"] = np.arange(10)
        h5["group/events"] = np.zeros(5)
    message = _error(path)
    assert "has no recording dataset 'traces'" in message and "(datasets: group/events, labels)" in message


def test_hdf5_with_several_datasets_asks_for_one(tmp_path):
    path = tmp_path / "two.h5"
    with h5py.File(path, "w") as h5:
        h5["a"] = np.zeros((10, 2))
        h5["b"] = np.zeros((10, 2))
    assert "name one with --dataset (datasets: a, b)" in _error(path)


def test_nwb_without_the_named_series(tmp_path):
    path = tmp_path / "rec.nwb"
    write_nwb(path, {"raw": (np.zeros((10, 4), np.int16), 1e-6)})
    assert "has no ElectricalSeries 'lfp' (ElectricalSeries: raw)" in _error(path, dataset="lfp")


def test_nan_samples(tmp_path):
    path = tmp_path / "nan.bin"
    data = np.zeros((1_000, 2), np.float32)
    data[700, 1] = np.inf
    data.tofile(path)
    assert "NaN or infinite samples (first at sample 700)" in _error(path, sampling_rate=1e4, n_channels=2,
                                                                    dtype="float32")


def test_probe_wiring_channels_the_file_lacks(tmp_path):
    import probeinterface

    path = tmp_path / "rec.bin"
    np.zeros((10, 4), np.int16).tofile(path)
    probe = probeinterface.generate_linear_probe(num_elec=3)
    probe.set_device_channel_indices([0, 1, 9])
    probe_path = tmp_path / "probe.json"
    probeinterface.write_probeinterface(probe_path, probe)
    with pytest.raises(RecordingError, match="wires channel 9 but the recording has only 4 channels") as info:
        open_recording(path, sampling_rate=1e4, n_channels=4, probe=probe_path)
    assert str(probe_path) in str(info.value)


def test_recording_shorter_than_the_band_pass_filter():
    rec = ArrayRecording(np.zeros((12, 4)), 30_000.0, path="short.bin")
    with pytest.raises(RecordingError, match="short.bin: is 12 samples long, shorter than the band-pass filter"):
        PreprocessedRecording(rec, PreprocessingConfig())


def test_recording_shorter_than_one_model_filter_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "short.bin"
    np.zeros((40, 1), np.int16).tofile(path)
    code = main(["--quiet", "sort", str(path), "--sampling-rate", "10000", "--n-channels", "1", "--no-preprocess"])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and "shorter than two filters" in err
