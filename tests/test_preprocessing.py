"""Lazy, chunked preprocessing equals processing the whole array at once."""
import numpy as np
import pytest
from scipy import signal

from engine.cli.commands import build_parser
from engine.cli.sessions import describe_preprocessing as _describe_preprocessing
from engine.cli.sort import preprocessing_config as _preprocessing_config
from engine.recording.preprocessing import (NO_PREPROCESSING, PreprocessedRecording, PreprocessingConfig, default_config,
                                  preprocess)
from engine.recording.base import ArrayRecording, GroundTruth

RATE = 30_000.0


@pytest.fixture(scope="module")
def noisy():
    rng = np.random.default_rng(3)
    data = 20 * rng.standard_normal((90_000, 12)) + 5 * rng.standard_normal((90_000, 1))  # shared component
    data += 200 * np.sin(2 * np.pi * 5 * np.arange(90_000) / RATE)[:, None]  # slow drift, filtered away
    return data.astype(np.float32)


def _whole(data, rec: PreprocessedRecording):
    out = data.astype(np.float64)
    if rec.sos is not None:
        out = signal.sosfiltfilt(rec.sos, out, axis=0)
    if rec.config.common_reference:
        reference = np.median if rec.config.reference == "median" else np.mean
        out = out - reference(out, axis=1, keepdims=True)
    if rec.whitening is not None:
        out = out @ rec.whitening
    return out


@pytest.mark.parametrize("config", [PreprocessingConfig(common_reference=False),
                                    PreprocessingConfig(),
                                    PreprocessingConfig(reference="median"),
                                    PreprocessingConfig(bandpass=None, whiten=True),
                                    PreprocessingConfig(whiten=True, filter_order=5)],
                         ids=["bandpass", "bandpass+car", "bandpass+cmr", "car+whiten", "all"])
def test_chunked_equals_whole_array(noisy, config):
    rec = PreprocessedRecording(ArrayRecording(noisy, RATE), config)
    whole = _whole(noisy, rec)
    chunk = 7_001  # not a divisor: chunks of every phase, and a short last one
    chunked = np.concatenate([rec.traces(s, s + chunk) for s in range(0, rec.n_samples, chunk)])
    scale = np.abs(whole).max()
    np.testing.assert_allclose(chunked, whole, atol=1e-5 * scale)
    np.testing.assert_allclose(rec.traces(12_345, 12_400, [7, 2]), whole[12_345:12_400][:, [7, 2]],
                               atol=1e-5 * scale)


def test_bandpass_removes_drift_and_keeps_the_band(noisy):
    rec = preprocess(ArrayRecording(noisy, RATE), PreprocessingConfig(common_reference=False))
    out = rec.traces(0, 30_000)
    assert abs(out.mean()) < 1.0 and np.abs(out).max() < 150  # the 200 uV drift is gone
    assert 11 < out.std() < 14  # white noise of ~20.6 uV: 38 % of its power lies in 300-6000 Hz


def test_whitening_decorrelates_channels(noisy):
    out = preprocess(ArrayRecording(noisy, RATE), PreprocessingConfig(whiten=True, common_reference=False)).traces()
    corr = np.corrcoef(out, rowvar=False)
    assert np.abs(corr - np.eye(12)).max() < 0.05


def test_high_edge_above_nyquist_gives_a_high_pass():
    rec = PreprocessedRecording(ArrayRecording(np.zeros((5_000, 1)), 10_000.0),
                                PreprocessingConfig(common_reference=False))
    assert len(rec.sos) == 2  # order-3 high-pass: two sections (a band-pass of order 3 has three)


def test_auto_rule():
    truth = GroundTruth(np.zeros((1, 1, 5)), np.zeros(0, np.int64), np.zeros(0, np.int64))
    simulated = ArrayRecording(np.zeros((1_000, 16)), RATE, ground_truth=truth)
    assert default_config(simulated) == NO_PREPROCESSING
    assert preprocess(simulated, default_config(simulated)) is simulated
    assert default_config(_probe(shared=0.5)) == PreprocessingConfig()
    tetrode = default_config(_probe(shared=0.5, channels=4))
    assert tetrode.bandpass == (300.0, 6000.0) and not tetrode.common_reference


def _probe(shared: float, channels: int = 16, seed: int = 0) -> ArrayRecording:
    """Two seconds of noise on each channel (sigma 10) plus ``shared`` x 10 uV of noise on all of them."""
    rng = np.random.default_rng(seed)
    data = 10 * rng.standard_normal((60_000, channels)) + shared * 10 * rng.standard_normal((60_000, 1))
    return ArrayRecording(data.astype(np.float32), RATE)


def test_the_common_reference_is_applied_where_the_channels_share_noise():
    """Subtracting the mean puts a copy of every spike on every channel: only worth it against shared noise."""
    assert not default_config(_probe(shared=0.0)).common_reference
    assert not default_config(_probe(shared=0.0, channels=64, seed=1)).common_reference
    assert not default_config(_probe(shared=0.1)).common_reference  # below one channel's share of the mean
    assert default_config(_probe(shared=0.4)).common_reference
    assert default_config(_probe(shared=0.2, channels=64)).common_reference


def test_spikes_alone_do_not_call_for_the_common_reference():
    """Large spikes on neighbouring channels correlate those channels, not the probe."""
    rng = np.random.default_rng(5)
    data = 10 * rng.standard_normal((60_000, 32)).astype(np.float32)
    waveform = -150 * np.exp(-0.5 * ((np.arange(60) - 20) / 4.0) ** 2)
    for start in rng.integers(0, 60_000 - 60, size=600):  # 300 Hz of 15-sigma spikes, four channels each
        first = rng.integers(0, 28)
        data[start:start + 60, first:first + 4] += waveform[:, None].astype(np.float32)
    assert not default_config(ArrayRecording(data, RATE)).common_reference


def test_command_line_flags_override_the_auto_rule():
    rec = _probe(shared=0.5)
    parse = lambda *flags: _preprocessing_config(build_parser().parse_args(["sort", "x.bin", *flags]), rec)  # noqa
    assert parse() == PreprocessingConfig()
    assert parse("--no-preprocess") == NO_PREPROCESSING
    assert parse("--bandpass", "500", "3000", "--no-cmr", "--whiten") == PreprocessingConfig(
        bandpass=(500.0, 3000.0), common_reference=False, whiten=True)
    assert parse("--no-bandpass").bandpass is None
    assert parse("--reference", "median") == PreprocessingConfig(reference="median")


def test_the_default_reference_keeps_overlapping_spikes_additive():
    """The model adds up overlapping waveforms: the mean reference keeps that true, the median does not."""
    assert PreprocessingConfig().reference == "mean"
    rng = np.random.default_rng(5)
    n = 3_000
    one, other = np.zeros((n, 16), np.float32), np.zeros((n, 16), np.float32)
    waveform = -np.hanning(60)[:, None]
    one[1000:1060, :10] = 150 * waveform * np.linspace(1, 0.3, 10)  # spread over 10 of 16 channels
    other[1010:1070, 6:] = 120 * waveform * np.linspace(0.3, 1, 10)
    noise = rng.standard_normal((n, 16)).astype(np.float32)

    def referenced(data, reference):
        return preprocess(ArrayRecording(data, RATE), PreprocessingConfig(bandpass=None, reference=reference)).traces()

    for reference, additive in (("mean", True), ("median", False)):
        both = referenced(one + other + noise, reference)
        parts = referenced(one, reference) + referenced(other, reference) + referenced(noise, reference)
        assert np.allclose(both, parts, atol=1e-3) == additive, reference


def test_info_names_the_reference_a_session_was_sorted_with():
    config = PreprocessingConfig().to_dict()
    assert "common average reference" in _describe_preprocessing(config)
    older = {key: value for key, value in config.items() if key != "reference"}  # saved when only the median existed
    assert "common median reference" in _describe_preprocessing(older)


def test_unknown_reference_is_refused():
    with pytest.raises(ValueError, match="unknown common reference 'mode'"):
        preprocess(ArrayRecording(np.zeros((1_000, 16)), RATE), PreprocessingConfig(bandpass=None, reference="mode"))


def test_config_round_trips_through_a_dict():
    config = PreprocessingConfig(bandpass=(250.0, 5000.0), whiten=True)
    assert PreprocessingConfig.from_dict(config.to_dict()) == config
    # sessions saved before the reference could be chosen used the median
    older = {key: value for key, value in config.to_dict().items() if key != "reference"}
    assert PreprocessingConfig.from_dict(older).reference == "median"
