"""Session files: nothing lost on a round trip, old files still load, writes are atomic."""
import json

import h5py
import numpy as np
import pytest

from engine.errors import RecordingError
from engine.recording.preprocessing import PreprocessedRecording, PreprocessingConfig
from engine.recording.readers.binary import BinaryRecording
from engine.io.session import Session, load_session, recording_info, reopen_recording, save_session
from engine.training.trainer import TrainConfig


def make_session(recording_path="/data/rec.bin", n_units=3, n_channels=4, n_spikes=500, seed=0) -> Session:
    rng = np.random.default_rng(seed)
    times = np.sort(rng.choice(300_000, n_spikes, replace=False)).astype(np.int64)
    return Session(
        recording_path=recording_path,
        recording_args={"sampling_rate": 30_000.0, "n_channels": n_channels + 1, "dtype": "int16", "offset": 0,
                        "gain": 0.195, "probe": "/data/probe.json"},
        sampling_rate=30_000.0,
        filters=rng.standard_normal((n_units, n_channels, 45)).astype(np.float32),
        lam=12.5,
        train_config=TrainConfig(n_units=n_units, max_steps=7).to_dict(),
        spike_times=times,
        spike_units=rng.integers(0, n_units, n_spikes).astype(np.int64),
        spike_amplitudes=rng.uniform(50, 150, n_spikes).astype(np.float32),
        thresholds=np.full(n_units, 6.25, np.float32),
        history={"step": np.arange(7), "loss": rng.uniform(size=7), "filter_error": rng.uniform(size=(7, 3))},
        metrics={"accuracy": [0.9, 0.8, 0.95]},
        curation={"labels": {"0": "good", "2": "noise"}, "journal": [{"op": "merge", "units": [1, 4]}]},
        preprocessing=PreprocessingConfig().to_dict(),
        recording_info={"format": "binary", "n_samples": 300_000, "n_channels": n_channels,
                        "raw_binary": {"path": recording_path, "dtype": "int16", "n_channels": n_channels + 1,
                                       "offset": 0, "channel_indices": list(range(n_channels))}},
        channel_positions=np.column_stack([np.zeros(n_channels), 20.0 * np.arange(n_channels)]),
        min_amplitudes=rng.uniform(20, 80, n_units).astype(np.float32),
    )


def _assert_same(a: Session, b: Session):
    for name, value in vars(a).items():
        other = getattr(b, name)
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(other, value, err_msg=name)
            assert other.dtype == value.dtype, name
        elif name == "history":
            assert value.keys() == other.keys()
            for key in value:
                np.testing.assert_array_equal(other[key], value[key], err_msg=key)
        else:
            assert other == value, name


def test_round_trip_loses_nothing(tmp_path):
    session = make_session()
    path = tmp_path / "s.h5"
    save_session(path, session)
    _assert_same(session, load_session(path))
    assert [p.name for p in tmp_path.iterdir()] == ["s.h5"]  # no temporary file left


def test_large_curation_state_is_kept(tmp_path):
    session = make_session()
    session.curation = {"journal": [{"op": "label", "unit": i, "label": "good"} for i in range(5_000)]}
    save_session(tmp_path / "s.h5", session)  # ~200 kB: more than an HDF5 attribute may hold
    assert load_session(tmp_path / "s.h5").curation == session.curation


def test_existing_positional_callers_still_work(tmp_path):
    s = make_session()
    old_style = Session(s.recording_path, s.recording_args, s.sampling_rate, s.filters, s.lam, s.train_config,
                        s.spike_times, s.spike_units, s.spike_amplitudes, s.thresholds, s.history, s.metrics)
    save_session(tmp_path / "old.h5", old_style)
    loaded = load_session(tmp_path / "old.h5")
    assert loaded.curation == {} and loaded.preprocessing == {} and loaded.channel_positions is None


def test_schema_1_files_still_load(tmp_path):
    s = make_session()
    path = tmp_path / "v1.h5"
    with h5py.File(path, "w") as h5:  # the layout schema 1 wrote: settings as attributes
        h5.attrs["schema_version"] = 1
        h5.attrs["recording_path"] = s.recording_path
        h5.attrs["recording_args"] = json.dumps(s.recording_args)
        h5.attrs["sampling_rate"] = s.sampling_rate
        h5.attrs["train_config"] = json.dumps(s.train_config)
        h5.attrs["metrics"] = json.dumps(s.metrics)
        h5["model/filters"] = s.filters
        h5["model"].attrs["lambda"] = s.lam
        h5["model/thresholds"] = s.thresholds
        for key, value in (("times", s.spike_times), ("units", s.spike_units), ("amplitudes", s.spike_amplitudes)):
            h5[f"spikes/{key}"] = value
        h5.create_group("history")
    loaded = load_session(path)
    assert loaded.schema_version == 1 and loaded.train_config == s.train_config and loaded.curation == {}
    np.testing.assert_array_equal(loaded.spike_times, s.spike_times)


def test_failed_write_keeps_the_previous_session(tmp_path):
    path = tmp_path / "s.h5"
    save_session(path, make_session())
    broken = make_session()
    broken.curation = {"not json": object()}
    with pytest.raises(TypeError):
        save_session(path, broken)
    assert load_session(path).curation == make_session().curation
    assert [p.name for p in tmp_path.iterdir()] == ["s.h5"]


def test_not_a_session(tmp_path):
    path = tmp_path / "rec.h5"
    with h5py.File(path, "w") as h5:
        h5["traces"] = np.zeros((10, 2))
    with pytest.raises(RecordingError, match="is not a sparsesort session file"):
        load_session(path)


def test_reopen_recording_restores_reader_options_and_preprocessing(tmp_path):
    raw = tmp_path / "rec.bin"
    np.random.default_rng(0).integers(-100, 100, (20_000, 9)).astype(np.int16).tofile(raw)
    session = make_session(str(raw), n_channels=8)
    session.recording_args = {"sampling_rate": 30_000.0, "n_channels": 9, "dtype": "int16", "gain": 0.5}
    save_session(tmp_path / "s.h5", session)
    rec = reopen_recording(load_session(tmp_path / "s.h5"))
    assert isinstance(rec, PreprocessedRecording) and isinstance(rec.parent, BinaryRecording)
    assert rec.config == PreprocessingConfig() and rec.n_channels == 9 and rec.parent.gain[0] == 0.5
    info = recording_info(rec)
    assert info["format"] == "binary" and info["raw_binary"]["n_channels"] == 9


def test_a_lambda_curve_stored_under_its_old_name_is_read_as_lam(tmp_path):
    session = make_session()
    session.history = {"step": np.arange(3), "lambda": np.array([3.0, 2.5, 2.0])}
    save_session(tmp_path / "old.h5", session)
    assert np.allclose(load_session(tmp_path / "old.h5").history["lam"], [3.0, 2.5, 2.0])
