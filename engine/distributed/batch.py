"""Many recordings as one Dask job: one task per recording, one progress bar, one summary table.

Which files a folder (or a list file) names, the rows of the table and the job itself live here;
what one task does (``sparsesort sort`` of one recording) is the command line's
(``engine.cli.batch``). A recording already sorted is skipped before any task is sent, and a task
that fails gives a row with its message: the other recordings go on.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Sequence

from engine.recording.registry import READERS

LIST_SUFFIXES = (".txt", ".list", ".lst")  # a file of recording paths, one a line (# comments)
SORTED, SKIPPED, FAILED = "sorted", "skipped", "failed"
NOT_RECORDINGS = (".sparsesort.h5", ".meta")  # sessions; a SpikeGLX .meta is named by its .bin


@dataclass
class BatchRow:
    recording: str
    status: str  # sorted, skipped or failed
    units: int | None = None
    spikes: int | None = None
    seconds: float | None = None  # wall time of the recording's task
    message: str = ""  # why it failed or was skipped; the session's path when sorted

    def to_dict(self) -> dict:
        return asdict(self)


def _is_session(path: str) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return "schema_version" in h5.attrs
    except OSError:
        return False


def _folder_recordings(folder: str) -> list[str]:
    suffixes = tuple(s for reader in READERS.values() for s in reader.suffixes)
    found = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        lower = name.lower()
        if not os.path.isfile(path) or not lower.endswith(suffixes) or lower.endswith(NOT_RECORDINGS):
            continue
        if ".backup-" in lower or (lower.endswith((".h5", ".hdf5")) and _is_session(path)):
            continue
        found.append(path)
    return found


def _listed(list_file: str) -> list[str]:
    folder = os.path.dirname(os.path.abspath(list_file))
    with open(list_file, encoding="utf-8") as f:
        lines = [line.split("#", 1)[0].strip() for line in f]
    return [os.path.join(folder, os.path.expanduser(line)) for line in lines if line]


def find_recordings(items: Iterable[str]) -> list[str]:
    """The recordings that folders (every recording file in it, sessions left out), list files
    (``.txt``: one path a line, relative to the list) and paths name, in order, each once."""
    found: list[str] = []
    for item in map(os.fspath, items):
        if os.path.isdir(item):
            found += _folder_recordings(item)
        elif item.lower().endswith(LIST_SUFFIXES):
            found += _listed(item)
        else:
            found.append(item)
    return list(dict.fromkeys(os.path.abspath(path) for path in found))


def session_counts(path: str) -> tuple[int | None, int | None]:
    """(units, spikes) of a session file, read from its layout without loading it."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return int(h5["model/filters"].shape[0]), int(h5["spikes/times"].shape[0])
    except (OSError, KeyError):
        return None, None


def run_batch(client, recordings: Sequence[str], task: Callable[[str], BatchRow],
              skip: Callable[[str], BatchRow | None] = lambda path: None,
              on_row: Callable[[BatchRow], None] | None = None) -> list[BatchRow]:
    """``task(path)`` for each recording on the workers of ``client`` (``skip(path)``, here, may give its
    row instead); the rows in the recordings' order. ``on_row`` sees each row as it comes."""
    from distributed import as_completed

    rows: list[BatchRow | None] = [None] * len(recordings)
    futures = {}
    for i, path in enumerate(recordings):
        rows[i] = skip(path)
        if rows[i] is None:
            futures[client.submit(task, path, pure=False)] = i
        elif on_row is not None:
            on_row(rows[i])
    try:
        for future in as_completed(list(futures), loop=client.loop):
            i = futures[future]
            try:
                rows[i] = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails this recording, not the batch
                rows[i] = BatchRow(recordings[i], FAILED, message=f"{type(exc).__name__}: {exc}")
            if on_row is not None:
                on_row(rows[i])
    finally:
        client.cancel(list(futures))
    return rows


def _cell(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def summary_table(rows: Sequence[BatchRow]) -> str:
    """The rows as a plain-text table: recording, units, spikes, wall time, status (and why)."""
    header = ("recording", "units", "spikes", "wall s", "status")
    cells = [(os.path.basename(r.recording), _cell(r.units), _cell(r.spikes), _cell(r.seconds),
              r.status + (f": {r.message}" if r.message and r.status != SORTED else "")) for r in rows]
    widths = [max(len(row[k]) for row in [header, *cells]) for k in range(4)]
    lines = ["  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(row[:4], widths)))
             + "  " + row[4] for row in [header, *cells]]
    counts = {status: sum(r.status == status for r in rows) for status in (SORTED, SKIPPED, FAILED)}
    lines.append(", ".join(f"{n} {status}" for status, n in counts.items()))
    return "\n".join(lines)
