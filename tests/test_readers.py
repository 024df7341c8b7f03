"""Each reader against a file the test writes: shape, sampling rate, microvolts, geometry."""
import h5py
import numpy as np
import probeinterface
import pytest

from engine.recording.readers.binary import BinaryRecording
from engine.recording.readers.hdf5 import Hdf5Recording
from engine.recording.readers.nwb import NwbRecording
from engine.recording.readers.spikeglx import SpikeGlxRecording
from engine.recording.readers.spikeinterface import SpikeInterfaceRecording
from engine.recording.registry import open_recording

RATE = 30_000.0


def _int16(n_samples, n_channels, seed=0):
    return np.random.default_rng(seed).integers(-300, 300, (n_samples, n_channels)).astype(np.int16)


def test_raw_binary_with_offset_gain_and_dtype(tmp_path):
    data = _int16(2_000, 6)
    path = tmp_path / "rec.dat"
    path.write_bytes(b"H" * 64 + data.tobytes())
    rec = open_recording(path, sampling_rate=RATE, n_channels=6, dtype="int16", offset=64, gain=0.195)
    assert isinstance(rec, BinaryRecording)
    assert (rec.n_samples, rec.n_channels, rec.sampling_rate) == (2_000, 6, RATE)
    np.testing.assert_allclose(rec.traces(100, 300, [4, 1]), 0.195 * data[100:300][:, [4, 1]], rtol=1e-6)
    assert rec.traces(1_990, 5_000).shape == (10, 6)
    assert rec.raw_source().offset == 64 and rec.raw_source().n_channels == 6


def _linear_probe(n_contacts, wiring):
    probe = probeinterface.generate_linear_probe(num_elec=n_contacts, ypitch=25)
    probe.set_device_channel_indices(wiring)
    return probe


@pytest.mark.parametrize("suffix", [".json", ".prb"])
def test_raw_binary_with_probe_skips_channels_not_on_it(tmp_path, suffix):
    data = _int16(1_000, 8)
    path = tmp_path / "rec.bin"
    data.tofile(path)
    # contacts wired to file channels 6, 2, 5, 0; one contact unconnected; channels 1, 3, 4, 7 on no contact
    probe = _linear_probe(5, [6, 2, 5, 0, -1])
    probe_path = tmp_path / f"probe{suffix}"
    if suffix == ".json":
        probeinterface.write_probeinterface(probe_path, probe)
    else:
        probeinterface.write_prb(probe_path, _group(probe))
    rec = open_recording(path, sampling_rate=RATE, n_channels=8, probe=probe_path)
    assert rec.n_channels == 4
    np.testing.assert_array_equal(rec.raw_source().channel_indices, [0, 2, 5, 6])
    np.testing.assert_array_equal(rec.traces(10, 20), data[10:20][:, [0, 2, 5, 6]].astype(np.float32))
    # file channel 0 is contact 3 (y = 75 um), channel 6 is contact 0 (y = 0)
    np.testing.assert_allclose(rec.channel_positions[:, 1], [75, 25, 50, 0])


def _group(probe):
    group = probeinterface.ProbeGroup()
    group.add_probe(probe)
    return group


def write_spikeglx(folder, n_samples=600, n_ap=384, data=None):
    """A Neuropixels 1.0 AP stream: 384 neural channels + 1 sync channel, gains 500 / 1000 alternating."""
    data = _int16(n_samples, n_ap + 1) if data is None else data
    bin_path = folder / "rec_g0_t0.imec0.ap.bin"
    data.tofile(bin_path)
    imro = "(0,384)" + "".join(f"({c} 0 0 {500 if c % 2 == 0 else 1000} 250 1)" for c in range(n_ap))
    meta = {
        "imSampRate": "30000", "nSavedChans": str(n_ap + 1), "snsApLfSy": f"{n_ap},0,1",
        "acqApLfSy": f"{n_ap},{n_ap},1", "snsSaveChanSubset": "all", "typeThis": "imec",
        "imAiRangeMax": "0.6", "imAiRangeMin": "-0.6", "imMaxInt": "512", "imDatPrb_type": "0",
        "imDatPrb_pn": "PRB_1_4_0480_1", "imDatPrb_sn": "1", "imDatApi": "3.0", "firstSample": "0",
        "fileSizeBytes": str(data.nbytes), "fileTimeSecs": str(n_samples / 30000), "fileName": str(bin_path),
        "~imroTbl": imro,
        "~snsChanMap": f"({n_ap},{n_ap},1)" + "".join(f"(AP{c};{c}:{c})" for c in range(n_ap)) + "(SY0;768:768)",
        "~snsShankMap": "(1,2,480)" + "".join(f"(0:{c % 2}:{c // 2}:1)" for c in range(n_ap)),
    }
    (folder / "rec_g0_t0.imec0.ap.meta").write_text("".join(f"{k}={v}\n" for k, v in meta.items()))
    return bin_path, data


def test_spikeglx_reads_gains_and_geometry_from_meta_and_matches_spikeinterface(tmp_path):
    import spikeinterface.extractors as se

    bin_path, data = write_spikeglx(tmp_path)
    rec = open_recording(bin_path)
    assert isinstance(rec, SpikeGlxRecording)
    assert (rec.n_channels, rec.sampling_rate, rec.n_samples) == (384, 30_000.0, 600)  # sync channel left out
    uv_per_bit = 1e6 * 0.6 / 512 / np.where(np.arange(384) % 2 == 0, 500.0, 1000.0)
    np.testing.assert_allclose(rec.traces(0, 50), data[:50, :384] * uv_per_bit, rtol=1e-6)
    reference = se.read_spikeglx(tmp_path, stream_id="imec0.ap")
    np.testing.assert_allclose(rec.traces(100, 200), reference.get_traces(start_frame=100, end_frame=200,
                                                                          return_in_uV=True), rtol=1e-6)
    np.testing.assert_allclose(rec.channel_positions, reference.get_channel_locations())
    assert rec.raw_source().n_channels == 385


def test_hdf5_names_one_of_several_datasets(tmp_path):
    path = tmp_path / "several.h5"
    a, b = np.ones((100, 3), np.float32), np.arange(200, dtype=np.float32).reshape(50, 4)
    with h5py.File(path, "w") as h5:
        h5["lfp"] = a
        h5["spikes/wideband"] = b
        h5["spikes/wideband"].attrs["sampling_rate"] = RATE
        h5["spikes/wideband"].attrs["gain"] = 2.0
    rec = open_recording(path, dataset="spikes/wideband")
    assert isinstance(rec, Hdf5Recording)
    assert (rec.n_samples, rec.n_channels, rec.sampling_rate) == (50, 4, RATE)
    np.testing.assert_array_equal(rec.traces(5, 9, [3, 0]), 2.0 * b[5:9][:, [3, 0]])


def write_nwb(path, series):
    """An NWB file with the ElectricalSeries given as {name: (data, conversion)}, 4 electrodes."""
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    nwbfile = NWBFile(session_description="test", identifier="test",
                      session_start_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
    device = nwbfile.create_device(name="probe")
    group = nwbfile.create_electrode_group(name="shank", description="", location="CA1", device=device)
    for i in range(4):
        nwbfile.add_electrode(group=group, location="CA1", rel_x=0.0, rel_y=20.0 * i)
    region = nwbfile.create_electrode_table_region(list(range(4)), "all electrodes")
    for name, (data, conversion) in series.items():
        nwbfile.add_acquisition(ElectricalSeries(name=name, data=data, electrodes=region, rate=RATE,
                                                 conversion=conversion))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)


def test_nwb_electrical_series_in_microvolts_with_positions(tmp_path):
    data = _int16(1_000, 4)
    path = tmp_path / "rec.nwb"
    write_nwb(path, {"raw": (data, 0.195e-6), "other": (data[:, :4] * 0, 1e-6)})
    rec = open_recording(path, dataset="raw")
    assert isinstance(rec, NwbRecording)
    assert (rec.n_samples, rec.n_channels, rec.sampling_rate) == (1_000, 4, RATE)
    np.testing.assert_allclose(rec.traces(10, 30, [2]), 0.195 * data[10:30, [2]], rtol=1e-5)
    np.testing.assert_allclose(rec.channel_positions, [[0, 0], [0, 20], [0, 40], [0, 60]])
    rec.close()


def test_nwb_with_one_series_needs_no_name(tmp_path):
    path = tmp_path / "one.nwb"
    write_nwb(path, {"ElectricalSeries": (_int16(100, 4), 1e-6)})
    assert open_recording(path).n_samples == 100


def test_spikeinterface_folder_and_object(tmp_path):
    import spikeinterface.core as si

    traces = np.random.default_rng(1).standard_normal((3_000, 4)).astype(np.float32)
    si_rec = si.NumpyRecording(traces, sampling_frequency=RATE)
    si_rec.set_dummy_probe_from_locations(np.column_stack([np.zeros(4), 30.0 * np.arange(4)]))
    wrapped = SpikeInterfaceRecording(si_rec)
    np.testing.assert_array_equal(wrapped.traces(10, 20, [3, 1]), traces[10:20][:, [3, 1]])
    si_rec.save(folder=tmp_path / "saved")
    rec = open_recording(tmp_path / "saved")  # a folder SpikeInterface saved: found by its si_folder.json
    assert isinstance(rec, SpikeInterfaceRecording) and rec.n_channels == 4
    np.testing.assert_allclose(rec.traces(100, 200), traces[100:200])
    np.testing.assert_allclose(rec.channel_positions[:, 1], 30.0 * np.arange(4))


def test_the_registry_guesses_each_format_and_asks_the_layout_only_of_raw_binary(tmp_path):
    from engine.recording.registry import READERS, file_dialog_filter, guess_format, needs_layout
    spikeglx, _ = write_spikeglx(tmp_path, n_samples=10, n_ap=4)
    raw = tmp_path / "rec.dat"
    _int16(10, 2).tofile(raw)
    hdf5 = tmp_path / "rec.h5"
    with h5py.File(hdf5, "w") as h5:
        h5["traces"] = np.zeros((10, 2), np.float32)
    assert guess_format(str(spikeglx)) == "spikeglx" and not needs_layout(str(spikeglx))
    assert guess_format(str(spikeglx), raw_args_given=True) == "spikeglx"  # the meta wins (issue 14)
    assert guess_format(str(spikeglx.with_suffix(".meta"))) == "spikeglx"
    assert guess_format(str(raw)) == "binary" and needs_layout(str(raw))
    assert guess_format(str(hdf5)) == "hdf5" and not needs_layout(str(hdf5))
    assert guess_format(str(tmp_path / "x.rhd")) == "intan"
    assert guess_format(str(tmp_path / "x.xyz")) is None
    dialog = file_dialog_filter()
    first = dialog.split(";;")[0]
    for reader in READERS.values():
        assert all(f"*{suffix}" in first for suffix in reader.suffixes), reader.name
    assert "*.nwb" in first and dialog.endswith("All files (*)")
