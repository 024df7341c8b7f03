"""``sparsesort batch``: many recordings sorted as one Dask job (engine.distributed.batch).

Each task is ``sparsesort sort RECORDING`` with the batch's options on a worker, the session
written next to the recording; recordings with a session already are skipped unless ``--force``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from tqdm import tqdm

from engine.cli.common import Command, UsageError
from engine.cli import sort
from engine.errors import RecordingError

EXIT_FAILED = 1  # some recordings failed (the others were sorted)


def add_arguments(p) -> None:
    p.add_argument("recordings", nargs="+", metavar="FOLDER_OR_LIST",
                   help="folders (every recording in them), list files (.txt: one path a line) or recordings")
    sort.add_sort_options(p)
    p.add_argument("--force", action="store_true",
                   help="sort recordings that have a session already (the old one is kept as NAME.backup-DATE.h5)")
    p.add_argument("--json", action="store_true", help="print the rows as one JSON list as the last line")
    sort.add_dask_options(p, "a local Dask cluster of N worker processes, one recording each at a time "
                             "(default: one per core)")


class SortOne:
    """The task of one recording: ``sort`` with the batch's options; a failure becomes the row's message."""

    def __init__(self, options: dict):
        self.options = options

    def arguments(self, path: str) -> argparse.Namespace:
        return argparse.Namespace(**{**self.options, "recording": path, "out": None, "json": True, "quiet": True,
                                     "phy": None, "nwb": None, "workers": None, "scheduler": None})

    def __call__(self, path: str):
        from engine.distributed.batch import FAILED, SORTED, BatchRow

        began = time.perf_counter()
        try:
            summary, _, _ = sort.execute(self.arguments(path))
        except (RecordingError, UsageError, ValueError) as exc:
            return BatchRow(path, FAILED, seconds=time.perf_counter() - began, message=str(exc))
        except Exception as exc:  # noqa: BLE001 - one recording's failure is its row's message
            return BatchRow(path, FAILED, seconds=time.perf_counter() - began,
                            message=f"{type(exc).__name__}: {exc}")
        return BatchRow(path, SORTED, summary["units"], summary["spikes"], time.perf_counter() - began,
                        message=summary["session"])

    def skip(self, path: str):
        from engine.distributed.batch import SKIPPED, BatchRow, session_counts

        session = sort.session_path(self.arguments(path))
        if self.options["force"] or not os.path.exists(session):
            return None
        return BatchRow(path, SKIPPED, *session_counts(session), message="sorted already (--force sorts it again)")


def run(args) -> int:
    from engine.distributed import SchedulerUnreachable, dask_client
    from engine.distributed.batch import FAILED, find_recordings, run_batch, summary_table

    recordings = find_recordings(args.recordings)
    if not recordings:
        raise UsageError(f"no recordings in {' '.join(args.recordings)}")
    options = {k: v for k, v in vars(args).items() if k not in ("recordings", "run", "command")}
    task = SortOne(options)
    skipped = {path: task.skip(path) for path in recordings}
    with tqdm(total=len(recordings), desc="batch", unit="recording", disable=args.quiet, file=sys.stderr) as bar:
        if all(skipped.values()):  # nothing to do: no cluster
            rows = list(skipped.values())
        else:
            try:
                with dask_client(args.workers, args.scheduler) as client:
                    rows = run_batch(client, recordings, task, skipped.get, on_row=lambda row: bar.update(1))
            except SchedulerUnreachable as exc:
                raise UsageError(str(exc)) from None
    print(summary_table(rows))
    if args.json:
        print(json.dumps([row.to_dict() for row in rows]))
    return EXIT_FAILED if any(row.status == FAILED for row in rows) else 0


COMMAND = Command("batch", "sort many recordings as one Dask job, with one summary table", add_arguments, run)
