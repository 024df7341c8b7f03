"""Issue 14, points 4-7: bad input ends with one line naming the file and the problem, exit status 2,
never a traceback; a SpikeGLX file opens as SpikeGLX everywhere."""
import h5py
import numpy as np
import pytest

from engine.cli import main
from engine.errors import RecordingError
from engine.recording.readers.spikeglx import SpikeGlxRecording
from engine.recording.registry import open_recording
from tests.test_readers import write_spikeglx


def one_line_error(capsys, *argv, names) -> str:
    capsys.readouterr()
    assert main(["--quiet", *map(str, argv)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert str(names) in err, err
    return err


@pytest.fixture
def spikeglx(tmp_path):
    bin_path, data = write_spikeglx(tmp_path, n_samples=2 * 77 * 5, n_ap=384)
    meta = bin_path.with_suffix(".meta")
    return bin_path, meta, meta.read_text(), data


@pytest.mark.parametrize("old, new, problem", [
    ("nSavedChans=385", "nSavedChans=77", "nSavedChans is 77"),  # the size still divides
    ("nSavedChans=385", "nSavedChans=5", "nSavedChans is 5"),
    ("snsApLfSy=384,0,1", "snsApLfSy=400,0,1", "snsApLfSy=400,0,1"),
    ("nSavedChans=385", "nSavedChans=abc", "nSavedChans=abc"),
    ("imSampRate=30000", "imSampRate=0", "imSampRate"),
    ("snsApLfSy=384,0,1", "snsApLfSy=384;0", "snsApLfSy"),
])
def test_a_spikeglx_meta_that_contradicts_itself_or_the_file_is_named(spikeglx, capsys, old, new, problem):
    bin_path, meta, text, data = spikeglx
    meta.write_text(text.replace(old, new).replace(f"fileSizeBytes={data.nbytes}\n", ""))
    assert problem in one_line_error(capsys, "sort", bin_path, names=meta)


def test_a_probe_wiring_channels_the_spikeglx_file_lacks_is_named(spikeglx, tmp_path, capsys):
    import probeinterface
    bin_path, _, _, _ = spikeglx
    probe = probeinterface.generate_linear_probe(num_elec=4)
    probe.set_device_channel_indices([0, 1, 2, 400])
    probeinterface.write_probeinterface(tmp_path / "probe.json", probe)
    one_line_error(capsys, "sort", bin_path, "--probe", tmp_path / "probe.json", names=tmp_path / "probe.json")


def test_a_spikeglx_file_opens_as_spikeglx_whatever_door_and_a_contradicting_layout_is_refused(spikeglx):
    bin_path, meta, _, _ = spikeglx
    for door in (bin_path, meta):  # the .bin, or the .meta picked in the file dialog
        rec = open_recording(door)
        assert isinstance(rec, SpikeGlxRecording) and rec.n_channels == 384
    same = open_recording(bin_path, sampling_rate=30_000.0, n_channels=385)  # what the meta says: fine
    assert isinstance(same, SpikeGlxRecording) and same.n_channels == 384
    with pytest.raises(RecordingError, match="channel count 4 .the meta says 385.") as info:
        open_recording(bin_path, sampling_rate=30_000.0, n_channels=4, dtype="int16")  # the dialog's default
    assert str(bin_path) in str(info.value)


def test_the_window_opens_a_spikeglx_file_without_the_raw_binary_dialog(tmp_path, qtbot, monkeypatch):
    from app.dialogs import RawBinaryDialog
    from tests.qt_windows import close_window, make_window

    bin_path, _ = write_spikeglx(tmp_path, n_samples=3000, n_ap=4)  # 60 um of probe: no motion estimate
    monkeypatch.setattr(RawBinaryDialog, "exec", lambda self: pytest.fail("asked for a raw layout"))
    window = make_window(qtbot, tmp_path)
    for door in (bin_path, bin_path.with_suffix(".meta")):
        assert window.open_path(str(door))
        assert window.controller.recording.n_channels == 4 and window.controller.recording_args == {}
    close_window(qtbot, window)


def test_raw_layout_arguments_are_checked_and_name_the_file(tmp_path, capsys):
    raw = tmp_path / "rec.bin"
    np.zeros(4 * 1000, np.int16).tofile(raw)
    layout = ["--sampling-rate", "10000", "--n-channels", "4"]
    assert "offset" in one_line_error(capsys, "sort", raw, *layout, "--offset", "-8", names=raw)
    assert "sampling rate" in one_line_error(capsys, "sort", raw, "--sampling-rate", "nan", "--n-channels", "4",
                                             names=raw)
    assert "gain" in one_line_error(capsys, "sort", raw, *layout, "--gain", "0", names=raw)
    assert "channel count" in one_line_error(capsys, "sort", raw, "--sampling-rate", "1e4", "--n-channels", "-2",
                                             names=raw)


def test_outputs_are_checked_before_the_work_starts(tmp_path, capsys, monkeypatch):
    import engine.cli.sort as sort_command

    monkeypatch.setattr(sort_command, "sort", lambda *a, **k: pytest.fail("the sort ran"))
    raw = tmp_path / "rec.bin"
    np.zeros(4 * 1000, np.int16).tofile(raw)
    layout = ["--sampling-rate", "10000", "--n-channels", "4"]
    missing = tmp_path / "no-such-folder" / "S.h5"
    assert "does not exist" in one_line_error(capsys, "sort", raw, *layout, "--out", missing, names=missing)
    assert "is a folder" in one_line_error(capsys, "sort", raw, *layout, "--out", tmp_path, names=tmp_path)
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    one_line_error(capsys, "sort", raw, *layout, "--phy", a_file, names=a_file)
    one_line_error(capsys, "sort", raw, *layout, "--nwb", tmp_path / "nope" / "u.nwb", names=tmp_path / "nope")


@pytest.mark.parametrize("rate", [0, -30000.0, float("nan"), float("inf")])
@pytest.mark.parametrize("flags", [[], ["--no-preprocess"]])
def test_an_hdf5_sampling_rate_that_is_not_a_rate_is_named(tmp_path, capsys, rate, flags):
    path = tmp_path / "rec.h5"
    with h5py.File(path, "w") as h5:
        h5["traces"] = np.zeros((20_000, 2), np.float32)
        h5["traces"].attrs["sampling_rate"] = rate
    assert "sampling_rate" in one_line_error(capsys, "sort", path, *flags, names=path)


def test_argument_errors_are_one_line(capsys):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_status:
        main(["sort", "x.bin", "--units", "0"])
    assert exit_status.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--units" in err
