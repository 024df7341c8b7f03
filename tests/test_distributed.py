"""Sorting on Dask: a two-process LocalCluster gives the single-process spikes; batch sorts a folder.

One module-scoped cluster serves the tests that go through ``--scheduler``; ``sort --workers 2``
starts (and closes) its own. No worker process may outlive the tests.
"""
import json

import numpy as np
import psutil
import pytest

pytest.importorskip("distributed")

from engine.cli import main  # noqa: E402
from engine.groundtruth.simulate import SimulationConfig, write_simulation  # noqa: E402
from engine.io.session import load_session  # noqa: E402
from engine.model.autoencoder import ConvSparseAutoencoder  # noqa: E402
from engine.recording.registry import open_recording  # noqa: E402
from engine.sorting.sorter import default_chunk, sort_recording  # noqa: E402


def _children() -> set[int]:
    """Child processes, less multiprocessing's resource tracker (one per parent, for its lifetime)."""
    pids = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                pids.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return pids


def _assert_no_new_processes(before: set[int]) -> None:
    new = [psutil.Process(pid) for pid in _children() - before if psutil.pid_exists(pid)]
    psutil.wait_procs(new, timeout=10)
    assert _children() <= before, "worker processes outlived their cluster"


@pytest.fixture(scope="module")
def scheduler():
    """The address of a local cluster of two worker processes, closed (its processes gone) at the end."""
    from engine.distributed.cluster import local_cluster

    before = _children()
    cluster = local_cluster(2)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
        _assert_no_new_processes(before)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Two minutes of the seed's 3 units at 10 kHz (three sorting chunks) and 20 s of a tetrode."""
    folder = tmp_path_factory.mktemp("recordings")
    write_simulation(folder / "seed.h5", SimulationConfig(minutes=2.0, seed=7))
    write_simulation(folder / "tetrode.h5", SimulationConfig(minutes=0.33, channels=4, seed=8))
    return folder


def _spikes(path):
    session = load_session(path)
    return session.spike_times, session.spike_units, session.spike_amplitudes, session.filters


SORT = ["--quiet", "sort", "--units", "3", "--steps", "4", "--json"]


def test_workers_2_spikes_equal_the_single_process_sort(recordings, tmp_path, capsys):
    rec = str(recordings / "seed.h5")
    before = _children()
    assert main(SORT + [rec, "--out", str(tmp_path / "one.h5")]) == 0
    assert main(SORT + [rec, "--out", str(tmp_path / "two.h5"), "--workers", "2"]) == 0
    _assert_no_new_processes(before)
    one, two = _spikes(tmp_path / "one.h5"), _spikes(tmp_path / "two.h5")
    chunk = default_chunk(ConvSparseAutoencoder(one[3], 1.0))
    assert open_recording(rec).n_samples > 2 * chunk, "the recording must span several chunks"
    assert len(one[0]) > 5000
    for a, b in zip(one, two):  # times, units, amplitudes (and the filters: training is the same)
        np.testing.assert_array_equal(a, b)
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert first["spikes"] == second["spikes"] == len(one[0])


def test_chunks_on_a_running_cluster_equal_sort_recording_with_preprocessing(recordings, scheduler):
    """The workers open the file themselves, band-passed and referenced as here; small chunks, many tasks."""
    from engine.distributed import RecordingSource, dask_client, sort_on_cluster
    from engine.recording.preprocessing import PreprocessingConfig, preprocess

    path = str(recordings / "tetrode.h5")
    config = PreprocessingConfig(bandpass=(300.0, 3000.0), common_reference=True)
    recording = preprocess(open_recording(path), config)
    model = ConvSparseAutoencoder(recording.ground_truth.waveforms, lam=20.0, peak_distance=10)
    expected = sort_recording(recording, model, chunk=20_000)
    done = []
    with dask_client(scheduler=scheduler) as client:
        got = sort_on_cluster(client, recording, model, RecordingSource.of_file(path, {}, config), chunk=20_000,
                              progress=done.append)
    assert len(expected) > 500
    n_codes = recording.n_samples - model.n_taps + 1
    assert sum(done) == n_codes and len(done) == -(-n_codes // 20_000)
    np.testing.assert_array_equal(expected.times, got.times)
    np.testing.assert_array_equal(expected.units, got.units)
    np.testing.assert_array_equal(expected.amplitudes, got.amplitudes)


def test_batch_skips_sorted_recordings_and_reports_a_bad_file(recordings, scheduler, tmp_path, capsys):
    import shutil

    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(recordings / "tetrode.h5", folder / "a.h5")
    shutil.copy(recordings / "tetrode.h5", folder / "b.h5")
    (folder / "c.h5").write_bytes(b"not a recording")
    batch = ["--quiet", "batch", str(folder), "--units", "3", "--steps", "3", "--scheduler", scheduler, "--json"]
    assert main(SORT + [str(folder / "a.h5")]) == 0  # a is sorted already: its session is beside it
    capsys.readouterr()
    assert main(batch) == 1  # c failed
    out = capsys.readouterr().out
    rows = {row["recording"].rsplit("/", 1)[-1]: row for row in json.loads(out.strip().splitlines()[-1])}
    assert [rows[n]["status"] for n in ("a.h5", "b.h5", "c.h5")] == ["skipped", "sorted", "failed"]
    assert "c.h5" in rows["c.h5"]["message"] and "HDF5" in rows["c.h5"]["message"]
    assert rows["b.h5"]["units"] == 3 and rows["b.h5"]["spikes"] == len(load_session(folder / "b.sparsesort.h5")
                                                                          .spike_times)
    assert rows["a.h5"]["spikes"] == len(load_session(folder / "a.sparsesort.h5").spike_times)
    table = out.split("[{")[0]
    assert "recording" in table and "wall s" in table and "1 sorted, 1 skipped, 1 failed" in table
    assert "sparsesort.h5" not in table  # sessions in the folder are not recordings
    # again: nothing left but the bad file; --force sorts a and b again
    assert main(batch + ["--force"]) == 1
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [row["status"] for row in rows] == ["sorted", "sorted", "failed"]
    # a list file names recordings relative to itself; all sorted already: no cluster is needed
    (folder / "list.txt").write_text("b.h5\n# a comment\n\na.h5  # and another\n")
    assert main(["--quiet", "batch", str(folder / "list.txt"), "--scheduler", "tcp://127.0.0.1:9", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [(row["recording"].rsplit("/", 1)[-1], row["status"]) for row in rows] == [("b.h5", "skipped"),
                                                                                       ("a.h5", "skipped")]


def test_an_unreachable_scheduler_is_one_line(recordings, monkeypatch, capsys):
    from engine.distributed import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    code = main(["--quiet", "sort", str(recordings / "tetrode.h5"), "--units", "3", "--steps", "1",
                 "--out", "/tmp/never-written.h5", "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err[0]


# -- the window's sort worker ----------------------------------------------------------------------

def _window_request(path):
    from app.workers import ModelSpec, SortRequest

    recording = open_recording(path)
    spec = ModelSpec(recording.ground_truth.waveforms, 20.0, n_steps=30, debias_steps=5)
    return recording, SortRequest(1, recording, spec)


def _collect(worker):
    got = {"sorted": [], "failed": [], "progress": []}
    worker.sorted.connect(lambda request, result: got["sorted"].append(result))
    worker.failed.connect(got["failed"].append)
    worker.progress.connect(lambda generation, percent: got["progress"].append(percent))
    return got


def test_the_window_sorts_the_whole_recording_on_a_configured_scheduler(qapp, recordings, scheduler):
    from app.settings import WINDOW_DEFAULTS
    from app.workers import SortWorker
    from engine.distributed import RecordingSource
    from engine.sorting.double_codes import drop_double_codes

    assert WINDOW_DEFAULTS.dask_scheduler == ""  # by default the window sorts in its own process
    path = str(recordings / "tetrode.h5")
    recording, request = _window_request(path)
    worker = SortWorker()
    got = _collect(worker)
    worker.scheduler = scheduler
    worker.source_of = lambda rec: RecordingSource.of_file(path)
    worker.sort(request)
    expected = drop_double_codes(sort_recording(recording, request.spec.build(recording.sampling_rate)),
                                 recording.n_samples)  # as the pipeline does
    assert got["failed"] == [] and len(got["sorted"]) == 1 and got["progress"][-1] >= 99  # of the samples (the codes end a filter early)
    np.testing.assert_array_equal(got["sorted"][0].times, expected.times)
    np.testing.assert_array_equal(got["sorted"][0].units, expected.units)


def test_the_window_survives_an_unreachable_scheduler_with_a_clear_message(qapp, recordings, monkeypatch):
    import app.workers
    from app.workers import SortWorker

    monkeypatch.setattr(app.workers, "DASK_CONNECT_TIMEOUT_S", 1.0)
    _, request = _window_request(str(recordings / "tetrode.h5"))
    worker = SortWorker()
    got = _collect(worker)
    worker.scheduler = "tcp://127.0.0.1:9"
    worker.sort(request)
    assert got["sorted"] == [] and len(got["failed"]) == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in got["failed"][0]
    assert "Dask scheduler..." in got["failed"][0]  # where to change it
