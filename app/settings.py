"""The window's default settings, read from ``resources/defaults.json``.

Training and sorting defaults are not here: they belong to the engine (``TrainConfig``), so that the
window, the command line and the SpikeInterface entry point share them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from app import RESOURCES

DEFAULTS_FILE = RESOURCES / "defaults.json"


@dataclass(frozen=True)
class WindowDefaults:
    window_size: tuple[int, int]
    trace_span_seconds: float
    recent_files_max: int
    demo_trains_on_open: bool  # the demo starts training as it opens (Training > Train the demo as it opens)
    dask_scheduler: str = ""  # the whole-recording sort's Dask scheduler (Training > Dask scheduler...); "": here


def load_window_defaults(path=DEFAULTS_FILE) -> WindowDefaults:
    values = json.loads(path.read_text())
    return WindowDefaults(window_size=tuple(values["window_size"]),
                          trace_span_seconds=float(values["trace_span_seconds"]),
                          recent_files_max=int(values["recent_files_max"]),
                          demo_trains_on_open=bool(values.get("demo_trains_on_open", True)),
                          dask_scheduler=str(values.get("dask_scheduler", "") or "").strip())


WINDOW_DEFAULTS = load_window_defaults()
