"""``sparsesort info`` and ``sparsesort export``: what a session holds, and its Phy / NWB exports."""
from __future__ import annotations

import json

import numpy as np

from engine.cli.common import Command, UsageError
from engine.io.session import Session, load_session


def check_export_targets(phy: str | None, nwb: str | None) -> None:
    """Refuse outputs that cannot be written, before any work is done."""
    if phy:
        from engine.io.phy import check_phy_target
        check_phy_target(phy)
    if nwb:
        from engine.io.atomic import check_writable
        check_writable(nwb)


def export_session(session: Session, phy: str | None, nwb: str | None, quiet: bool = False) -> None:
    if phy:
        from engine.io.phy import export_phy
        params = export_phy(session, phy)
        if not quiet:
            print(f"Phy folder: {phy} (open with: phy template-gui {params})")
    if nwb:
        from engine.io.nwb import export_nwb
        export_nwb(session, nwb)
        if not quiet:
            print(f"NWB file: {nwb}")


def describe_preprocessing(config: dict) -> str:
    if not config:
        return "none"
    parts = []
    if config.get("bandpass"):
        parts.append(f"band-pass {config['bandpass'][0]:g}-{config['bandpass'][1]:g} Hz "
                     f"(order {config.get('filter_order')})")
    if config.get("common_reference"):
        parts.append("common median reference" if config.get("reference", "median") == "median"
                     else "common average reference")
    if config.get("whiten"):
        parts.append("whitening")
    return ", ".join(parts) or "none"


def info(args) -> int:
    s = load_session(args.session)
    n_units, n_channels, n_taps = s.filters.shape
    counts = np.bincount(s.spike_units, minlength=n_units) if len(s.spike_units) else np.zeros(n_units, int)
    info = s.recording_info
    print(f"session {args.session} (schema {s.schema_version})")
    print(f"  recording: {s.recording_path}")
    if info:
        print(f"  format: {info.get('format')}; {info.get('n_channels')} channels, {s.sampling_rate:g} Hz, "
              f"{info.get('n_samples', 0) / s.sampling_rate:.1f} s")
    reader_options = {k: v for k, v in s.recording_args.items() if v not in (None, 0, 1.0)}
    if reader_options:
        print(f"  reader options: {json.dumps(reader_options)}")
    print(f"  preprocessing: {describe_preprocessing(s.preprocessing)}")
    print(f"  units: {n_units} filters of {n_channels} channels x {n_taps} taps "
          f"({1000 * n_taps / s.sampling_rate:.2g} ms)")
    how = " (learned by EM)" if s.train_config.get("lam_auto") else ""
    print(f"  lambda: {s.lam:.4g}{how}; spikes: {len(s.spike_times)} ({', '.join(str(int(c)) for c in counts)})")
    if s.train_config:
        print(f"  training: {', '.join(f'{k}={v}' for k, v in s.train_config.items())}")
    steps = s.history.get("step")
    if steps is not None and len(steps):
        last = {k: float(np.asarray(v)[-1]) for k, v in s.history.items()
                if k in ("loss", "snr_db") and len(v)}
        print(f"  history: {len(steps)} steps; last " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()))
    if s.curation or s.metrics.get("labels"):
        from engine.io.curated import curated_clusters
        groups = {}
        for label in curated_clusters(s).labels.values():
            groups[label] = groups.get(label, 0) + 1
        print(f"  curation: {sum(groups.values())} clusters: "
              f"{', '.join(f'{n} {g}' for g, n in sorted(groups.items()))}")
    for key, value in s.metrics.items():
        if key != "labels":
            print(f"  {key}: {value}")
    return 0


def export(args) -> int:
    if not args.phy and not args.nwb:
        raise UsageError("export needs --phy DIR and/or --nwb FILE")
    check_export_targets(args.phy, args.nwb)
    export_session(load_session(args.session), args.phy, args.nwb)
    return 0


def _info_arguments(p) -> None:
    p.add_argument("session")


def _export_arguments(p) -> None:
    p.add_argument("session")
    p.add_argument("--phy", default=None, metavar="DIR", help="Phy template-gui folder to write")
    p.add_argument("--nwb", default=None, metavar="FILE", help="NWB file to write (units table)")


INFO = Command("info", "summarise a session file", _info_arguments, info)
EXPORT = Command("export", "export a session to Phy and/or NWB", _export_arguments, export)
