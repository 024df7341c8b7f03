"""Export to Phy (loaded back with phylib and SpikeInterface) and to NWB (read back with pynwb)."""
import numpy as np
import pytest

from engine.cli import main
from engine.io.nwb import export_nwb
from engine.io.phy import export_phy
from engine.io.session import load_session
from tests.test_session import make_session

N_FILE_CHANNELS = 5  # the session uses file channels 0-3; channel 4 is not on the probe


@pytest.fixture
def raw_session(tmp_path):
    raw = tmp_path / "rec.bin"
    np.random.default_rng(2).integers(-500, 500, (300_000, N_FILE_CHANNELS)).astype(np.int16).tofile(raw)
    return make_session(str(raw), n_channels=4)


def _spike_trains(times, units):
    return {int(u): np.sort(times[units == u]) for u in np.unique(units)}


def test_phy_folder_loads_in_phylib_and_spikeinterface(tmp_path, raw_session):
    from phylib.io.model import load_model
    import spikeinterface.extractors as se

    folder = tmp_path / "phy"
    params = export_phy(raw_session, folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        "params.py", "spike_times.npy", "spike_templates.npy", "spike_clusters.npy", "amplitudes.npy",
        "templates.npy", "channel_map.npy", "channel_positions.npy", "cluster_group.tsv"])
    assert (folder / "cluster_group.tsv").read_text().splitlines()[:2] == ["cluster_id\tgroup", "0\tgood"]

    model = load_model(params)
    assert model.n_spikes == len(raw_session.spike_times) and model.n_templates == 3
    assert np.load(folder / "spike_times.npy").dtype == np.int64
    np.testing.assert_array_equal(np.round(model.spike_times * model.sample_rate), raw_session.spike_times)
    assert model.sparse_templates.data.shape == (3, 45, 4)
    np.testing.assert_allclose(model.sparse_templates.data[1], raw_session.filters[1].T, rtol=1e-6)
    np.testing.assert_array_equal(model.channel_mapping, [0, 1, 2, 3])
    np.testing.assert_allclose(model.channel_positions, raw_session.channel_positions)
    # params.py references the raw file, nothing copied: phylib reads the same samples
    raw = np.fromfile(raw_session.recording_path, np.int16).reshape(-1, N_FILE_CHANNELS)
    np.testing.assert_array_equal(model.traces[1000:1010], raw[1000:1010, :4])
    assert model.metadata["group"] == {0: "good", 1: "unsorted", 2: "noise"}
    model.close()

    sorting = se.read_phy(folder)
    expected = _spike_trains(raw_session.spike_times, raw_session.spike_units)
    assert sorted(sorting.get_unit_ids()) == sorted(expected)
    for unit, times in expected.items():
        np.testing.assert_array_equal(sorting.get_unit_spike_train(unit), times)


def test_phy_params_for_a_recording_that_is_not_a_flat_binary(tmp_path):
    from phylib.io.model import load_model

    session = make_session("/data/rec.nwb")
    session.recording_info = {"format": "nwb", "n_samples": 300_000, "n_channels": 4, "raw_binary": None}
    params = export_phy(session, tmp_path / "phy")
    text = open(params).read()
    assert "dat_path = ''" in text and "/data/rec.nwb" in text
    model = load_model(params)
    assert model.traces is None and model.n_spikes == len(session.spike_times)
    model.close()


def test_nwb_units_table(tmp_path, raw_session):
    from pynwb import NWBHDF5IO
    import spikeinterface.extractors as se

    path = export_nwb(raw_session, tmp_path / "units.nwb")
    expected = _spike_trains(raw_session.spike_times, raw_session.spike_units)
    with NWBHDF5IO(path, "r") as io:
        nwbfile = io.read()
        units = nwbfile.units.to_dataframe()
        assert list(units.index) == [0, 1, 2]
        for unit, times in expected.items():
            np.testing.assert_allclose(units.loc[unit, "spike_times"], times / 30_000.0)
        scale = np.median(raw_session.spike_amplitudes[raw_session.spike_units == 1])
        np.testing.assert_allclose(units.loc[1, "waveform_mean"], 1e-6 * scale * raw_session.filters[1].T,
                                   rtol=1e-5)
        assert list(units["label"]) == ["good", "unsorted", "noise"]
        assert len(units.loc[2, "electrodes"]) == 4
        np.testing.assert_allclose(nwbfile.electrodes["rel_y"].data[:], raw_session.channel_positions[:, 1])
    sorting = se.read_nwb_sorting(path)
    for unit, times in expected.items():
        np.testing.assert_array_equal(sorting.get_unit_spike_train(unit), times)


def test_sort_with_phy_and_nwb_in_one_go_then_export_and_info(tmp_path, capsys):
    rec = tmp_path / "sim.h5"
    assert main(["--quiet", "simulate", str(rec), "--minutes", "0.1", "--channels", "4", "--seed", "3"]) == 0
    session_path, phy, nwb = tmp_path / "s.h5", tmp_path / "phy", tmp_path / "u.nwb"
    assert main(["--quiet", "sort", str(rec), "--units", "3", "--steps", "2", "--unrolled-steps", "20",
                 "--out", str(session_path), "--phy", str(phy), "--nwb", str(nwb)]) == 0
    session = load_session(session_path)
    assert session.preprocessing == {}  # simulated, with ground truth: used as it is
    assert session.recording_info["format"] == "hdf5"
    assert len(np.load(phy / "spike_times.npy")) == len(session.spike_times) > 100
    assert nwb.exists()
    assert main(["export", str(session_path), "--phy", str(tmp_path / "phy2")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "phy2" / "spike_clusters.npy"),
                                  np.load(phy / "spike_clusters.npy"))
    capsys.readouterr()
    assert main(["info", str(session_path)]) == 0
    out = capsys.readouterr().out
    assert "schema 2" in out and "format: hdf5" in out and "preprocessing: none" in out and "history:" in out


def test_export_needs_a_target(tmp_path, capsys):
    session_path = tmp_path / "s.h5"
    from engine.io.session import save_session
    save_session(session_path, make_session())
    assert main(["export", str(session_path)]) == 2
    assert "--phy DIR and/or --nwb FILE" in capsys.readouterr().err


def test_exports_follow_the_curation_model(tmp_path, raw_session, capsys):
    from engine.curation.model import Curation
    import spikeinterface.extractors as se

    s = raw_session
    curation = Curation(s.spike_times, s.spike_units, 3, s.sampling_rate)
    merged = curation.merge([0, 2])
    curation.label([merged], "good")
    s.curation = curation.to_dict()
    params = export_phy(s, tmp_path / "phy")
    groups = dict(line.split("\t") for line in (tmp_path / "phy" / "cluster_group.tsv").read_text().splitlines()[1:])
    assert groups == {"1": "unsorted", str(merged): "good"}
    from phylib.io.model import load_model
    model = load_model(params)  # what Phy itself opens: the curated clusters and their labels
    assert sorted(np.unique(model.spike_clusters)) == [1, merged]
    assert model.metadata["group"] == {1: "unsorted", merged: "good"}
    np.testing.assert_array_equal(np.load(tmp_path / "phy" / "spike_templates.npy"), s.spike_units)
    sorting = se.read_phy(tmp_path / "phy")
    np.testing.assert_array_equal(sorting.get_unit_spike_train(merged), s.spike_times[s.spike_units != 1])
    from pynwb import NWBHDF5IO
    with NWBHDF5IO(export_nwb(s, tmp_path / "u.nwb"), "r") as io:
        units = io.read().units.to_dataframe()
        assert sorted(units.index) == [1, merged] and units.loc[merged, "label"] == "good"
        assert len(units.loc[merged, "spike_times"]) == int(np.sum(s.spike_units != 1))
    from engine.io.session import save_session
    save_session(tmp_path / "s.h5", s)
    assert main(["info", str(tmp_path / "s.h5")]) == 0
    assert "curation: 2 clusters: 1 good, 1 unsorted" in capsys.readouterr().out
