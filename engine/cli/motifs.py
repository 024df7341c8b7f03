"""``sparsesort motifs``: recurring firing motifs of a sorted session (a Poisson auto-encoder)."""
from __future__ import annotations

import json
import os

import numpy as np

from engine.cli.common import Command, UsageError
from engine.errors import RecordingError
from engine.io.session import load_session


def add_arguments(p) -> None:
    p.add_argument("session")
    p.add_argument("--k", type=int, default=3, help="number of motifs")
    p.add_argument("--bin-ms", type=float, default=10.0, help="spike-count bin width")
    p.add_argument("--motif-ms", type=float, default=150.0, help="motif length")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON summary")


def run(args) -> int:
    from engine.motifs.discovery import MotifConfig, bin_spikes, discover_motifs
    session = load_session(args.session)
    if args.k < 1:
        raise UsageError(f"--k must be at least 1 (got {args.k})")
    n_units = len(session.filters)
    counts = bin_spikes(session.spike_times, session.spike_units, n_units, session.sampling_rate, args.bin_ms,
                        session.recording_info.get("n_samples"))
    config = MotifConfig(k=args.k, bin_ms=args.bin_ms, motif_ms=args.motif_ms, seed=args.seed)
    try:
        result = discover_motifs(counts, config)
    except ValueError as exc:
        raise RecordingError(args.session, str(exc)) from None
    summary = {"session": os.fspath(args.session), "k": result.k, "bin_ms": result.bin_ms, "lambda": result.lam,
               "occurrences": [len(o) for o in result.occurrences],
               "units": [np.flatnonzero(m.max(1) > 0.5 * m.max()).tolist() for m in result.motifs]}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{result.k} motifs of {config.n_lags} bins ({args.bin_ms:g} ms) over {n_units} units, "
              f"lambda {result.lam:.3g}")
        for i, (count, units) in enumerate(zip(summary["occurrences"], summary["units"])):
            print(f"  motif {i}: {count} occurrences; units {units}")
    return 0


COMMAND = Command("motifs", "learn recurring firing motifs of a sorted session (Poisson auto-encoder)",
                  add_arguments, run)
