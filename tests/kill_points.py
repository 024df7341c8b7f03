"""Kill points: a write is run in a forked child that dies, as under SIGKILL, at its k-th function call
(``os._exit``: no ``finally`` block, no clean-up, nothing flushed), for k spread over the whole write.
After each kill, what a reader finds is classified as the old content, the new one, or torn; then the
next open or write of the same target runs and must leave no partial file behind.

Run as a script in a fresh, single-threaded interpreter (forking is then safe); it prints one JSON object:

    python tests/kill_points.py SCENARIO FOLDER [POINTS]      # SCENARIO: session, nwb, phy

The tests and the fault sweep (tests/fault_sweep.py) call ``sweep`` through ``run_sweep``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILLED = 137


def _in_child(work, kill_at: int | None, report_fd: int | None = None) -> None:
    """The child's life: run ``work`` counting calls, die at call ``kill_at`` (or report the count)."""
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1
            if calls == kill_at:
                os._exit(KILLED)

    try:
        sys.setprofile(profile)
        work()
        sys.setprofile(None)
    except BaseException:  # noqa: BLE001 - the child reports failure by its exit status
        os._exit(1)
    if report_fd is not None:
        os.write(report_fd, str(calls).encode())
    os._exit(0)


def fork_and_run(work, kill_at: int | None) -> int:
    """Exit status of a child that ran ``work`` and was killed at call ``kill_at`` (None: not killed)."""
    pid = os.fork()
    if pid == 0:
        _in_child(work, kill_at)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def count_calls(work) -> int:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        _in_child(work, None, write)
    os.close(write)
    count = int(os.read(read, 64) or 0)
    os.close(read)
    os.waitpid(pid, 0)
    return count


def _partials(folder: str) -> list[str]:
    return sorted(name for name in os.listdir(folder) if ".partial-" in name or ".previous-" in name
                  or ".tmp-" in name)


# -- scenarios: (setup, write, what a reader sees, the next open) ------------------------------------------
def _session(recording_path: str, seed: int, labels: dict):
    """A small session (3 units, 4 channels, 500 spikes), built without the trainer (no torch to import)."""
    from engine.io.session import Session
    rng = np.random.default_rng(seed)
    times = np.sort(rng.choice(300_000, 500, replace=False)).astype(np.int64)
    return Session(recording_path=recording_path, recording_args={}, sampling_rate=30_000.0,
                   filters=rng.standard_normal((3, 4, 45)).astype(np.float32), lam=12.5, train_config={},
                   spike_times=times, spike_units=rng.integers(0, 3, 500).astype(np.int64),
                   spike_amplitudes=rng.uniform(50, 150, 500).astype(np.float32),
                   thresholds=np.full(3, 6.25, np.float32), history={"loss": rng.uniform(size=7)},
                   curation={"labels": labels})


def _sessions(folder: str):
    recording = os.path.join(folder, "rec.bin")
    return (_session(recording, 1, {"0": "good", "1": "good", "2": "good"}),
            _session(recording, 2, {"0": "noise", "1": "mua", "2": "unsorted"}))


def _classify(found, old, new) -> str:
    return "old" if found == old else "new" if found == new else "torn"


class SessionScenario:
    def __init__(self, folder):
        from engine.io.session import save_session
        self.old, self.new = _sessions(folder)
        self.path = os.path.join(folder, "S.h5")
        self.setup = lambda: save_session(self.path, self.old)
        self.write = lambda: save_session(self.path, self.new)

    def _key(self, session):
        return session.spike_times.tobytes(), json.dumps(session.curation, sort_keys=True)

    def seen(self) -> str:
        from engine.errors import RecordingError
        from engine.io.session import load_session
        try:
            return _classify(self._key(load_session(self.path)), self._key(self.old), self._key(self.new))
        except (RecordingError, OSError, KeyError):
            return "torn"

    def reopen(self) -> None:
        from engine.io.session import load_session
        load_session(self.path)


class NwbScenario(SessionScenario):
    def __init__(self, folder):
        from engine.io.nwb import export_nwb
        self.old, self.new = _sessions(folder)
        self.path = os.path.join(folder, "units.nwb")
        self.setup = lambda: export_nwb(self.old, self.path)
        self.write = lambda: export_nwb(self.new, self.path)

    def _labels(self) -> list[str]:
        from pynwb import NWBHDF5IO
        with NWBHDF5IO(self.path, mode="r") as io:
            return list(io.read().units["label"].data[:])

    def seen(self) -> str:
        from engine.io.curated import curated_clusters
        try:
            found = self._labels()
        except Exception:  # noqa: BLE001 - whatever pynwb raises on a torn file
            return "torn"
        return _classify(found, *[[label for _, label in sorted(curated_clusters(s).labels.items())]
                                  for s in (self.old, self.new)])

    def reopen(self) -> None:
        from engine.io.nwb import export_nwb
        export_nwb(self.new, self.path)  # the next write of the same target


class PhyScenario(SessionScenario):
    FILES = ("spike_clusters.npy", "cluster_group.tsv", "spike_times.npy", "params.py")

    def __init__(self, folder):
        from engine.io.phy import export_phy
        self.old, self.new = _sessions(folder)
        self.old.curation = {"labels": {"0": "good", "1": "good", "2": "good"}}
        # the new export merges units 0 and 1: new spike_clusters with new labels
        from engine.curation.model import Curation
        c = Curation(self.new.spike_times, self.new.spike_units, 3, self.new.sampling_rate)
        c.label([c.merge([0, 1])], "good")
        self.new.curation = c.to_dict()
        self.path = os.path.join(folder, "phy")
        self.setup = lambda: export_phy(self.old, self.path)
        self.write = lambda: export_phy(self.new, self.path)
        self.expected = {}
        for name, session in (("old", self.old), ("new", self.new)):
            reference = os.path.join(folder, f"reference-{name}")
            export_phy(session, reference)
            self.expected[name] = self._contents(reference)

    def _contents(self, folder):
        return {name: open(os.path.join(folder, name), "rb").read() if os.path.exists(os.path.join(folder, name))
                else None for name in self.FILES}

    def seen(self) -> str:
        if not os.path.isdir(self.path):
            return "torn"
        found = self._contents(self.path)
        return _classify(found, self.expected["old"], self.expected["new"])

    def reopen(self) -> None:
        from engine.io.phy import export_phy
        export_phy(self.new, self.path)


SCENARIOS = {"session": SessionScenario, "nwb": NwbScenario, "phy": PhyScenario}


def sweep(name: str, folder: str, points: int) -> dict:
    """Kill the write at ``points`` calls spread over it; after each: what a reader saw, then the next
    write or open, and what partial files remained."""
    os.makedirs(folder, exist_ok=True)
    scenario = SCENARIOS[name](folder)
    scenario.setup()
    total = count_calls(scenario.write)
    kill_points = sorted(set(np.linspace(1, total, points).astype(int).tolist()))
    seen, litter_after_kill, litter_after_next = {"old": 0, "new": 0, "torn": 0}, 0, 0
    for k in kill_points:
        scenario.setup()
        status = fork_and_run(scenario.write, k)
        litter_after_kill += bool(_partials(folder))  # before anything opens the target again
        seen[scenario.seen() if status in (KILLED, 0) else "torn"] += 1
        scenario.reopen()
        litter_after_next += len(_partials(folder))
    return {"scenario": name, "calls": total, "kill_points": len(kill_points), **seen,
            "left_partials": litter_after_kill, "partials_after_next_open": litter_after_next}


def run_sweep(name: str, folder, points: int, timeout: float = 300) -> dict:
    """``sweep`` in a fresh interpreter (forking a process that runs Qt or torch threads is not safe)."""
    done = subprocess.run([sys.executable, os.path.abspath(__file__), name, os.fspath(folder), str(points)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(sweep(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 34)))
