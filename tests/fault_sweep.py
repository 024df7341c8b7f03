"""The fault and bad-input sweep of issue 14: bad inputs, SIGKILLs while curating, writes killed at every
point, and the window's memory on a zoom-out. Prints each part's totals and one JSON line at the end
(the README's "Reliability" section quotes them).

    python tests/fault_sweep.py [--quick] [--out sweep.json]

Not a test (pytest does not collect it): it takes minutes. --quick runs fewer kills and spans.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine.cli import main  # noqa: E402
from tests.kill_points import run_sweep  # noqa: E402
from tests.test_readers import write_spikeglx  # noqa: E402

LAYOUT = ["--sampling-rate", "10000", "--n-channels", "4"]


# -- 1. bad inputs ---------------------------------------------------------------------------------------
def _hdf5(path, data, **attrs):
    with h5py.File(path, "w") as h5:
        if data is not None:
            h5["traces"] = data
            for key, value in attrs.items():
                h5["traces"].attrs[key] = value
    return path


def bad_inputs(folder: str) -> list[tuple[str, list[str], str | None]]:
    """(what, command line, the path the message must name; None for an argument with no file)."""
    j = lambda *parts: os.path.join(folder, *parts)  # noqa: E731
    raw = j("rec.bin")
    np.zeros(4 * 3000, np.int16).tofile(raw)
    odd = j("odd.bin")
    np.zeros(4 * 3000 + 1, np.int16).tofile(odd)
    empty = j("empty.bin")
    open(empty, "wb").close()
    os.makedirs(j("glx"))
    glx, data = write_spikeglx(__import__("pathlib").Path(j("glx")), n_samples=2 * 77 * 5, n_ap=384)
    glx, meta_text = str(glx), open(str(glx)[:-4] + ".meta").read()

    def glx_with(old, new, name):
        folder_ = j(name)
        os.makedirs(folder_)
        target = os.path.join(folder_, os.path.basename(glx))
        os.link(glx, target)
        open(target[:-4] + ".meta", "w").write(meta_text.replace(old, new).replace(
            f"fileSizeBytes={data.nbytes}\n", ""))
        return target, target[:-4] + ".meta"

    h5 = lambda name, data=np.zeros((20_000, 2), np.float32), **a: _hdf5(j(name), data, **a)  # noqa: E731
    good_h5 = h5("good.h5", sampling_rate=10_000.0)
    nan = np.zeros((20_000, 2), np.float32)
    nan[500, 1] = np.nan
    inf = np.zeros((20_000, 2), np.float32)
    inf[19_000, 0] = np.inf
    short = h5("short.h5", np.zeros((50, 2), np.float32), sampling_rate=10_000.0)
    garbage = j("garbage.h5")
    open(garbage, "wb").write(b"not hdf5")
    nwb_garbage = j("garbage.nwb")
    open(nwb_garbage, "wb").write(b"not nwb")
    unknown = j("rec.xyz")
    open(unknown, "wb").write(b"123")
    a_file = j("taken.txt")
    open(a_file, "w").write("x")
    session = j("S.h5")  # written in run_bad_inputs, once the good recording is sorted
    not_session = good_h5
    locked_parent = j("locked")
    os.makedirs(locked_parent)
    probe = j("probe.json")
    _probe(probe, [0, 1, 2, 9])
    lonely = _no_meta(j("lonely"), glx)
    cases = [
        ("missing recording", ["sort", j("nope.h5")], j("nope.h5")),
        ("missing raw binary", ["sort", j("nope.bin"), *LAYOUT], j("nope.bin")),
        ("a folder", ["sort", folder], folder),
        ("unknown suffix", ["sort", unknown], unknown),
        ("raw binary without a layout", ["sort", raw], raw),
        ("raw size not whole frames", ["sort", odd, *LAYOUT], odd),
        ("empty raw file", ["sort", empty, *LAYOUT], empty),
        ("unknown dtype", ["sort", raw, *LAYOUT, "--dtype", "int17"], raw),
        ("negative offset", ["sort", raw, *LAYOUT, "--offset", "-8"], raw),
        ("offset past the end", ["sort", raw, *LAYOUT, "--offset", "999999"], raw),
        ("sampling rate nan", ["sort", raw, "--sampling-rate", "nan", "--n-channels", "4"], raw),
        ("sampling rate 0", ["sort", raw, "--sampling-rate", "0", "--n-channels", "4"], raw),
        ("sampling rate negative", ["sort", raw, "--sampling-rate", "-10000", "--n-channels", "4"], raw),
        ("sampling rate inf", ["sort", raw, "--sampling-rate", "inf", "--n-channels", "4"], raw),
        ("channel count 0", ["sort", raw, "--sampling-rate", "1e4", "--n-channels", "0"], raw),
        ("channel count negative", ["sort", raw, "--sampling-rate", "1e4", "--n-channels", "-3"], raw),
        ("gain 0", ["sort", raw, *LAYOUT, "--gain", "0"], raw),
        ("gain nan", ["sort", raw, *LAYOUT, "--gain", "nan"], raw),
        ("probe wiring a missing channel", ["sort", raw, *LAYOUT, "--probe", probe], probe),
        ("missing probe file", ["sort", raw, *LAYOUT, "--probe", j("nope.json")], j("nope.json")),
        ("probe on an HDF5 file", ["sort", good_h5, "--probe", probe], good_h5),
        ("garbage HDF5", ["sort", garbage], garbage),
        ("garbage NWB", ["sort", nwb_garbage], nwb_garbage),
        ("HDF5 without a dataset", ["sort", _hdf5(j("nodata.h5"), None)], j("nodata.h5")),
        ("HDF5 named dataset missing", ["sort", good_h5, "--dataset", "lfp"], good_h5),
        ("HDF5 1-D dataset", ["sort", h5("oned.h5", np.zeros(100, np.float32), sampling_rate=1e4),
                              "--dataset", "traces"], j("oned.h5")),
        ("HDF5 without sampling_rate", ["sort", h5("norate.h5")], j("norate.h5")),
        ("HDF5 sampling_rate 0", ["sort", h5("rate0.h5", sampling_rate=0)], j("rate0.h5")),
        ("HDF5 sampling_rate 0, no preprocessing", ["sort", j("rate0.h5"), "--no-preprocess"], j("rate0.h5")),
        ("HDF5 sampling_rate negative", ["sort", h5("rateneg.h5", sampling_rate=-5.0)], j("rateneg.h5")),
        ("HDF5 sampling_rate nan", ["sort", h5("ratenan.h5", sampling_rate=np.nan)], j("ratenan.h5")),
        ("HDF5 sampling_rate text", ["sort", h5("ratetext.h5", sampling_rate="fast")], j("ratetext.h5")),
        ("NaN samples", ["sort", h5("nan.h5", nan, sampling_rate=1e4), "--no-preprocess"], j("nan.h5")),
        ("infinite samples", ["sort", h5("inf.h5", inf, sampling_rate=1e4), "--no-preprocess"], j("inf.h5")),
        ("shorter than the band-pass", ["sort", short], short),
        ("shorter than two filters", ["sort", short, "--no-preprocess"], short),
        ("SpikeGLX binary without its meta", ["sort", lonely], lonely),
        ("SpikeGLX nSavedChans=77 (size divides)", ["sort", glx_with("nSavedChans=385", "nSavedChans=77", "g77")[0]],
         "meta"),
        ("SpikeGLX nSavedChans=5 (size divides)", ["sort", glx_with("nSavedChans=385", "nSavedChans=5", "g5")[0]],
         "meta"),
        ("SpikeGLX snsApLfSy > nSavedChans", ["sort", glx_with("snsApLfSy=384,0,1", "snsApLfSy=400,0,1", "gap")[0]],
         "meta"),
        ("SpikeGLX nSavedChans=abc", ["sort", glx_with("nSavedChans=385", "nSavedChans=abc", "gabc")[0]], "meta"),
        ("SpikeGLX imSampRate=0", ["sort", glx_with("imSampRate=30000", "imSampRate=0", "grate")[0]], "meta"),
        ("SpikeGLX malformed snsApLfSy", ["sort", glx_with("snsApLfSy=384,0,1", "snsApLfSy=x", "gx")[0]], "meta"),
        ("SpikeGLX fileSizeBytes wrong", ["sort", glx_with(f"fileSizeBytes={data.nbytes}", "fileSizeBytes=12",
                                                           "gsize")[0]], "bin"),
        ("SpikeGLX with a contradicting layout", ["sort", glx, "--sampling-rate", "30000", "--n-channels", "4"], glx),
        ("SpikeGLX probe wiring a missing channel", ["sort", glx, "--probe", _probe(j("p400.json"), [0, 1, 400])],
         j("p400.json")),
        ("--out into a missing folder", ["sort", good_h5, "--out", j("no", "S.h5")], j("no", "S.h5")),
        ("--out is a folder", ["sort", good_h5, "--out", folder], folder),
        ("--out over an existing session", ["sort", good_h5, "--out", session], session),
        ("--phy is a file", ["sort", good_h5, "--out", j("S2.h5"), "--phy", a_file], a_file),
        ("--phy in a missing folder", ["sort", good_h5, "--out", j("S3.h5"), "--phy", j("no", "phy")], j("no", "phy")),
        ("--nwb in a missing folder", ["sort", good_h5, "--out", j("S4.h5"), "--nwb", j("no", "u.nwb")],
         j("no", "u.nwb")),
        ("--nwb is a folder", ["sort", good_h5, "--out", j("S5.h5"), "--nwb", folder], folder),
        ("--format unknown", ["sort", good_h5, "--format", "nosuch"], good_h5),
        ("--units 0", ["sort", good_h5, "--units", "0"], None),
        ("--steps -1", ["sort", good_h5, "--steps", "-1"], None),
        ("--filter-ms nan", ["sort", good_h5, "--filter-ms", "nan"], None),
        ("--lambda -3", ["sort", good_h5, "--lambda", "-3"], None),
        ("--lambda abc", ["sort", good_h5, "--lambda", "abc"], None),
        ("--motion sideways", ["sort", good_h5, "--motion", "sideways"], None),
        ("export: missing session", ["export", j("none.h5"), "--phy", j("phy")], j("none.h5")),
        ("export: not a session", ["export", not_session, "--phy", j("phy")], not_session),
        ("export: --phy is a file", ["export", session, "--phy", a_file], a_file),
        ("export: --phy a folder of other files", ["export", session, "--phy", j("glx")], j("glx")),
        ("export: nothing asked", ["export", session], None),
        ("info: missing session", ["info", j("none.h5")], j("none.h5")),
        ("info: garbage", ["info", garbage], garbage),
        ("motifs: not a session", ["motifs", not_session], not_session),
        ("motifs: --k 0", ["motifs", session, "--k", "0"], None),
    ]
    return cases


def _probe(path, channels):
    import probeinterface
    probe = probeinterface.generate_linear_probe(num_elec=len(channels))
    probe.set_device_channel_indices(channels)
    probeinterface.write_probeinterface(path, probe)
    return path


def _no_meta(folder, glx):
    os.makedirs(folder)
    target = os.path.join(folder, "lonely.imec0.ap.bin")
    os.link(glx, target)
    return target  # a .bin without its .meta: read as raw binary, which needs a layout


def run_cli(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(["--quiet", *map(str, argv)])
        except SystemExit as exc:
            code = exc.code
        except BaseException as exc:  # noqa: BLE001 - a traceback is what the sweep counts
            import traceback
            traceback.print_exc(file=err)
            code = f"{type(exc).__name__}"
    return code, err.getvalue()


def run_bad_inputs(folder: str) -> dict:
    cases = bad_inputs(folder)
    good = os.path.join(folder, "sim.h5")
    assert main(["--quiet", "simulate", good, "--minutes", "0.05"]) == 0
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--quiet", "sort", good, "--units", "2", "--steps", "2", "--motion", "none",
                     "--out", os.path.join(folder, "S.h5")]) == 0
    rows = []
    for what, argv, names in cases:
        start = time.time()
        code, err = run_cli(argv)
        lines = err.strip().splitlines()
        named = names is None or (names in ("meta", "bin") and f".{names}" in err) or str(names) in err
        clean = code == 2 and len(lines) == 1 and "Traceback" not in err and named
        rows.append({"input": what, "clean": clean, "exit": code, "message": lines[-1] if lines else "",
                     "seconds": round(time.time() - start, 2)})
    rows.append(_gui_with_nan(folder))
    return {"total": len(rows), "clean": sum(r["clean"] for r in rows), "cases": rows}


def _gui_with_nan(folder: str) -> dict:
    """``sparsesort gui FILE`` on a file with NaN samples: the window shows the message, the process ends 0."""
    from tests.test_reliability_window import window_on_a_file
    nan = os.path.join(folder, "nan.h5")
    done = window_on_a_file(nan, folder, timeout=120)
    clean = done.returncode == 0 and f"shown: {nan}" in done.stdout and "Traceback" not in done.stderr
    return {"input": "gui FILE with NaN samples", "clean": clean, "exit": done.returncode,
            "message": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-200:]}


# -- 2. SIGKILLs while curating -----------------------------------------------------------------------------
CURATOR = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from tests.test_curation_journal import TIMES, UNITS, FS, scripted_action
    from tests.kill_points import _session
    from engine.curation.store import fold_journal, open_curation
    from engine.io.session import load_session, save_session
    path = {session!r}
    saved = load_session(path).curation
    c = open_curation(path, saved, TIMES, UNITS, 4, FS)
    step = 0
    while True:
        scripted_action(c, step)
        print(c.revision, flush=True)  # the action has returned: acknowledged
        step += 1
        if step % 15 == 0:  # save now and then: the session takes the curation, the journal restarts
            session = _session("rec.bin", 0, {{}})
            session.curation = c.to_dict()
            save_session(path, session)
            fold_journal(c)
""")


def _curation_session(path):
    from tests.kill_points import _session
    from tests.test_curation_journal import FS, TIMES, UNITS
    from engine.io.session import save_session
    session = _session("rec.bin", 0, {})
    session.spike_times, session.spike_units, session.sampling_rate = TIMES, UNITS, FS
    session.spike_amplitudes = np.ones(len(TIMES), np.float32)
    session.filters = np.zeros((4, 1, 10), np.float32)
    session.thresholds = np.ones(4, np.float32)
    session.curation = {}
    save_session(path, session)


def run_curation_kills(folder: str, runs: int, seed: int = 14) -> dict:
    from engine.curation.store import open_curation
    from engine.io.session import load_session
    from tests.test_curation_journal import FS, TIMES, UNITS

    rng = random.Random(seed)
    acknowledged = lost = litter = 0
    for run in range(runs):
        path = os.path.join(folder, f"run{run}", "S.h5")
        os.makedirs(os.path.dirname(path))
        _curation_session(path)
        child = subprocess.Popen([sys.executable, "-c", CURATOR.format(root=ROOT, session=path)],
                                 stdout=subprocess.PIPE, text=True, cwd=ROOT)
        last, deadline = 0, time.time() + rng.uniform(1.5, 4.0)
        for line in child.stdout:
            last = int(line)
            if time.time() > deadline:
                break
        child.send_signal(signal.SIGKILL)
        child.wait()
        acknowledged += last
        session = load_session(path)
        # the curation saved in the session, replayed onto the spikes it was made on (the session's own
        # spikes are a stand-in; the journal test's spikes are the ones curated)
        reopened = open_curation(path, session.curation or None, TIMES, UNITS, 4, FS)
        reopened.journal.close()
        lost += max(0, last - reopened.revision)
        litter += sum(".partial-" in name or ".tmp-" in name for name in os.listdir(os.path.dirname(path)))
    return {"runs": runs, "sigkills": runs, "acknowledged_actions": acknowledged, "lost": lost,
            "partials_after_reopening": litter}


# -- 3. writes killed at every point ------------------------------------------------------------------------
def run_write_kills(folder: str, points: dict) -> dict:
    return {name: run_sweep(name, os.path.join(folder, name), n, timeout=1800) for name, n in points.items()}


# -- 4. the window's memory on a zoom-out --------------------------------------------------------------------
ZOOM = textwrap.dedent("""
    import json, os, resource, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    sys.path.insert(0, {root!r})
    from app.trace_loader import TraceLoader, TraceRequest
    from engine.recording.preprocessing import default_config, preprocess
    from engine.recording.registry import open_recording
    raw = open_recording({path!r}, sampling_rate=30000, n_channels=32)
    recording = preprocess(raw, default_config(raw)) if {preprocess!r} else raw
    loader = TraceLoader()
    loader.failed.connect(print)
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB
    rows = [{{"span_s": 0, "peak_rss_mib": round(peak())}}]
    for span in {spans!r}:
        start = time.time()
        loader.load(TraceRequest(1, recording, 0, min(raw.n_samples, int(span * 30000)), 1366))
        rows.append({{"span_s": span, "peak_rss_mib": round(peak()), "seconds": round(time.time() - start, 1)}})
    print(json.dumps(rows))
""")


def run_zoom(folder: str, spans: list[float], preprocess: bool) -> dict:
    path = os.path.join(folder, "big.bin")
    size = 4 * 2**30
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.truncate(size)
    done = subprocess.run([sys.executable, "-c", ZOOM.format(root=ROOT, path=path, spans=spans,
                                                             preprocess=preprocess)],
                          capture_output=True, text=True, timeout=3600, cwd=ROOT)
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    return {"file_gib": size / 2**30, "channels": 32, "sampling_rate": 30000, "preprocessed": preprocess,
            "rows": rows, "growth_mib": rows[-1]["peak_rss_mib"] - rows[0]["peak_rss_mib"]}


def main_sweep() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None)
    parser.add_argument("--parts", default="inputs,curation,writes,zoom")
    args = parser.parse_args()
    parts = args.parts.split(",")
    results = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="fault-sweep-") as folder:
        if "inputs" in parts:
            os.makedirs(os.path.join(folder, "inputs"))
            results["bad_inputs"] = r = run_bad_inputs(os.path.join(folder, "inputs"))
            for row in r["cases"]:
                print(f"{'ok ' if row['clean'] else 'BAD'} {row['input']}: exit {row['exit']}: {row['message']}")
            print(f"bad inputs handled cleanly: {r['clean']} of {r['total']}", flush=True)
        if "curation" in parts:
            os.makedirs(os.path.join(folder, "curation"))
            results["curation"] = r = run_curation_kills(os.path.join(folder, "curation"), 8 if args.quick else 40)
            print(f"curation: {r['lost']} of {r['acknowledged_actions']} acknowledged actions lost over "
                  f"{r['sigkills']} SIGKILLs; partial files after reopening: {r['partials_after_reopening']}",
                  flush=True)
        if "writes" in parts:
            points = {"session": 12, "phy": 12, "nwb": 4} if args.quick else {"session": 34, "phy": 34, "nwb": 12}
            results["writes"] = r = run_write_kills(os.path.join(folder, "writes"), points)
            for name, row in r.items():
                print(f"{name}: {row['kill_points']} kill points: old {row['old']}, new {row['new']}, torn "
                      f"{row['torn']}; left partials in {row['left_partials']}, after the next open "
                      f"{row['partials_after_next_open']}", flush=True)
        if "zoom" in parts:
            spans = [60, 300] if args.quick else [60, 300, 1000, 2236]
            results["zoom"] = z = run_zoom(folder, spans, preprocess=False)
            results["zoom_preprocessed"] = zp = run_zoom(folder, [60, 300], preprocess=True)
            for run in (z, zp):
                print(f"zoom-out on a {run['file_gib']:g} GiB, 32-channel file (preprocessed: {run['preprocessed']}):"
                      f" {run['rows']}; peak RSS growth {run['growth_mib']} MiB", flush=True)
    text = json.dumps(results)
    if args.out:
        open(args.out, "w").write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main_sweep())
