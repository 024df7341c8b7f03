"""Command line: ``sparsesort simulate | sort | info | export | motifs | gui``.

Bad input ends with one line naming the file and the problem and exit
status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from tqdm import tqdm

from engine.errors import RecordingError
from engine.metrics import compare_spike_trains, match_filters
from engine.preprocessing import NO_PREPROCESSING, PreprocessingConfig, default_config, preprocess
from engine.recording import open_recording
from engine.session import Session, load_session, recording_info, save_session
from engine.simulate import SimulationConfig, write_simulation
from engine.sorting import default_thresholds, sort_recording
from engine.trainer import TrainConfig, Trainer

EXIT_BAD_INPUT = 2
AUTO_LAMBDA = "auto"


class UsageError(Exception):
    """A problem with the command's arguments or input, reported in one line."""


def _progress_bar(total: int, desc: str, quiet: bool):
    return tqdm(total=total, desc=desc, unit="sample", unit_scale=True, disable=quiet, file=sys.stderr,
                leave=False)


def cmd_simulate(args) -> int:
    config = SimulationConfig(minutes=args.minutes, units=args.units, channels=args.channels,
                              snr_db=args.snr, seed=args.seed, sampling_rate=args.sampling_rate,
                              rate_hz=args.rate)
    n_samples = int(round(config.minutes * 60 * config.sampling_rate))
    with _progress_bar(n_samples, "simulating", args.quiet) as bar:
        truth = write_simulation(args.out, config, progress=bar.update)
    print(f"{args.out}: {config.units} units, {config.channels} channels, {config.minutes:g} min at "
          f"{config.sampling_rate:g} Hz, {len(truth.spike_times)} spikes, SNR {config.snr_db:g} dB")
    return 0


def lambda_option(text: str) -> float | str:
    """``--lambda``: a positive number, or ``auto`` (learned by EM while training)."""
    if text.strip().lower() == AUTO_LAMBDA:
        return AUTO_LAMBDA
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or '{AUTO_LAMBDA}', got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"lambda must be positive, got {text}")
    return value


def _describe_lambda(trainer: Trainer) -> str:
    if trainer.config.lam_auto:
        return f"{trainer.model.lam:.4g} (learned by EM; noise-based {trainer.noise_lambda:.4g})"
    if trainer.config.lam is None:
        return f"{trainer.model.lam:.4g} (noise-based)"
    return f"{trainer.model.lam:.4g}"


def _recording_args(args) -> dict:
    """Keyword arguments of open_recording, as the session stores them to reopen the recording."""
    rec_args = {"sampling_rate": args.sampling_rate, "n_channels": args.n_channels, "dtype": args.dtype,
                "offset": args.offset, "gain": args.gain}
    if args.probe is not None:
        rec_args["probe"] = os.path.abspath(args.probe)
    if args.dataset is not None:
        rec_args["dataset"] = args.dataset
    if args.format is not None:
        rec_args["format"] = args.format
    return rec_args


def _preprocessing_config(args, recording) -> PreprocessingConfig:
    """The auto rule (engine.preprocessing.default_config), then the flags that override it."""
    if args.no_preprocess:
        return NO_PREPROCESSING
    config = default_config(recording)
    if args.bandpass is not None:
        config.bandpass = tuple(args.bandpass)
    elif args.no_bandpass:
        config.bandpass = None
    if args.cmr is not None:
        config.common_reference = args.cmr
    if args.reference is not None:
        config.reference = args.reference
    if args.whiten:
        config.whiten = True
    return config


def _export(session: Session, phy: str | None, nwb: str | None, quiet: bool = False) -> None:
    if phy:
        from engine.export.phy import export_phy
        params = export_phy(session, phy)
        if not quiet:
            print(f"Phy folder: {phy} (open with: phy template-gui {params})")
    if nwb:
        from engine.export.nwb import export_nwb
        export_nwb(session, nwb)
        if not quiet:
            print(f"NWB file: {nwb}")


def cmd_sort(args) -> int:
    rec_args = _recording_args(args)
    raw_recording = open_recording(args.recording, **rec_args)
    try:
        preprocessing = _preprocessing_config(args, raw_recording)
        recording = preprocess(raw_recording, preprocessing)
    except ValueError as exc:
        raise RecordingError(args.recording, str(exc)) from None
    auto = args.lam == AUTO_LAMBDA
    config = TrainConfig(n_units=args.units, lam=None if auto else args.lam, lam_auto=auto, device=args.device,
                         max_steps=args.steps, filter_ms=args.filter_ms, n_steps=args.unrolled_steps, seed=args.seed)
    trainer = Trainer(recording, config, snapshot_interval=0.5)
    t0 = time.perf_counter()
    try:
        trainer.initialize()
    except ValueError as exc:
        raise RecordingError(args.recording, str(exc)) from None
    with tqdm(total=config.max_steps, desc="learning filters", disable=args.quiet, file=sys.stderr,
              leave=False) as bar:
        for snap in trainer.steps():
            bar.n = snap.step
            bar.set_postfix(loss=f"{snap.loss:.3g}", snr=f"{snap.snr_db:.1f}dB")
    train_seconds = time.perf_counter() - t0
    model = trainer.model
    t0 = time.perf_counter()
    with _progress_bar(recording.n_samples, "sorting", args.quiet) as bar:
        result = sort_recording(recording, model, progress=bar.update)
    sort_seconds = time.perf_counter() - t0

    summary = {
        "recording": os.fspath(args.recording),
        "units": model.n_units,
        "spikes": int(len(result)),
        "spikes_per_unit": result.counts().tolist(),
        "lambda": model.lam,
        "lambda_auto": config.lam_auto,
        "noise_lambda": trainer.noise_lambda,
        "device": str(trainer.device),
        "train_steps": trainer.step,
        "train_seconds": round(train_seconds, 3),
        "sort_seconds": round(sort_seconds, 3),
    }
    truth = recording.ground_truth
    if truth is not None:
        _, errors = match_filters(model.filters(), truth.waveforms)
        scores = compare_spike_trains(truth.spike_times, truth.spike_units, result.times, result.units,
                                      recording.sampling_rate)
        summary["filter_error"] = [round(float(e), 4) for e in errors]
        summary["accuracy"] = [round(s.accuracy, 4) for s in scores]
        summary["precision"] = [round(s.precision, 4) for s in scores]
        summary["recall"] = [round(s.recall, 4) for s in scores]

    out = args.out or os.path.splitext(os.fspath(args.recording))[0] + ".sparsesort.h5"
    h = trainer.history
    session = Session(
        recording_path=os.path.abspath(args.recording), recording_args=rec_args,
        sampling_rate=recording.sampling_rate, filters=model.filters(), lam=model.lam,
        train_config=config.to_dict(), spike_times=result.times, spike_units=result.units,
        spike_amplitudes=result.amplitudes, thresholds=default_thresholds(model),
        history={"step": h.step, "elapsed": h.elapsed, "loss": h.loss, "snr_db": h.snr_db, "lambda": h.lam},
        metrics={k: v for k, v in summary.items() if k in ("filter_error", "accuracy", "precision", "recall")},
        preprocessing={} if preprocessing.is_identity else preprocessing.to_dict(),
        recording_info=recording_info(raw_recording), channel_positions=recording.channel_positions,
        min_amplitudes=model.min_amplitudes,
    )
    save_session(out, session)
    summary["session"] = out
    summary["preprocessing"] = session.preprocessing
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['units']} units, {summary['spikes']} spikes; learned in {train_seconds:.1f} s, "
              f"sorted in {sort_seconds:.1f} s on {summary['device']}; session: {out}")
        print(f"  lambda: {_describe_lambda(trainer)}")
        if truth is not None:
            for i, (e, a) in enumerate(zip(summary["filter_error"], summary["accuracy"])):
                print(f"  true unit {i}: filter error {e:.3f}, accuracy {a:.3f}")
    _export(session, args.phy, args.nwb, quiet=args.json)
    return 0


def _describe_preprocessing(config: dict) -> str:
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


def cmd_info(args) -> int:
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
    print(f"  preprocessing: {_describe_preprocessing(s.preprocessing)}")
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
        from engine.export.curation import curated_clusters
        groups = {}
        for label in curated_clusters(s).labels.values():
            groups[label] = groups.get(label, 0) + 1
        print(f"  curation: {sum(groups.values())} clusters: "
              f"{', '.join(f'{n} {g}' for g, n in sorted(groups.items()))}")
    for key, value in s.metrics.items():
        if key != "labels":
            print(f"  {key}: {value}")
    return 0


def cmd_export(args) -> int:
    if not args.phy and not args.nwb:
        raise UsageError("export needs --phy DIR and/or --nwb FILE")
    _export(load_session(args.session), args.phy, args.nwb)
    return 0


def cmd_motifs(args) -> int:
    from engine.motifs import MotifConfig, bin_spikes, discover_motifs
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


def cmd_gui(args) -> int:
    from app import main as app_main  # the GUI is imported only when asked for
    return app_main([args.file] if args.file else [])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sparsesort", description="Spike sorting with a convolutional "
                                     "sparse auto-encoder. With no command, opens the application on a demo.")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("simulate", help="write a simulated recording with ground truth (HDF5)")
    p.add_argument("out")
    p.add_argument("--minutes", type=float, default=17.0)
    p.add_argument("--units", type=int, default=3)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--snr", type=float, default=16.0, help="dB, trough amplitude over noise std")
    p.add_argument("--rate", type=float, default=30.0, help="firing rate per unit, Hz")
    p.add_argument("--sampling-rate", type=float, default=10_000.0)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("sort", help="learn the filters of a recording and sort its spikes")
    p.add_argument("recording")
    p.add_argument("--units", type=int, default=None, help="number of units (default: from the data)")
    p.add_argument("--lambda", dest="lam", type=lambda_option, default=None,
                   help="sparsity weight: a number, or 'auto' to learn it by EM while training "
                   "(default: from the noise level)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--steps", type=int, default=TrainConfig.max_steps, help="training steps")
    p.add_argument("--filter-ms", type=float, default=TrainConfig.filter_ms)
    p.add_argument("--unrolled-steps", type=int, default=TrainConfig.n_steps)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="session file (default: next to the recording)")
    p.add_argument("--json", action="store_true", help="print one JSON summary as the last line")
    p.add_argument("--sampling-rate", type=float, default=None, help="raw binary: Hz")
    p.add_argument("--n-channels", type=int, default=None, help="raw binary: channel count")
    p.add_argument("--dtype", default=None, help="raw binary: int16 (default), uint16, int32, float32, float64")
    p.add_argument("--offset", type=int, default=0, help="raw binary: header bytes")
    p.add_argument("--gain", type=float, default=1.0, help="raw binary: microvolts per unit")
    p.add_argument("--probe", default=None, help="raw binary / SpikeGLX: probeinterface JSON or PRB file "
                   "(geometry; channels not on the probe are skipped)")
    p.add_argument("--dataset", default=None, help="HDF5: dataset name; NWB: ElectricalSeries name")
    p.add_argument("--format", default=None, help="binary, spikeglx, hdf5, nwb or a SpikeInterface reader "
                   "(openephys, intan, ...); default: from the file name")
    g = p.add_argument_group("preprocessing (default: band-pass, plus common average reference from 8 channels, "
                             "for real recordings; none for simulated recordings with ground truth)")
    g.add_argument("--no-preprocess", action="store_true", help="use the recording as it is")
    g.add_argument("--bandpass", nargs=2, type=float, metavar=("LOW", "HIGH"), default=None,
                   help="band-pass edges in Hz (default 300 6000)")
    g.add_argument("--no-bandpass", action="store_true")
    g.add_argument("--cmr", action=argparse.BooleanOptionalAction, default=None,
                   help="common reference: subtract the mean (or --reference median) over channels")
    g.add_argument("--reference", choices=("mean", "median"), default=None,
                   help="what the common reference subtracts (default mean: overlapping spikes stay additive)")
    g.add_argument("--whiten", action="store_true", help="whiten across channels")
    p.add_argument("--phy", default=None, metavar="DIR", help="also export a Phy template-gui folder")
    p.add_argument("--nwb", default=None, metavar="FILE", help="also export the units to an NWB file")
    p.set_defaults(func=cmd_sort)

    p = sub.add_parser("info", help="summarise a session file")
    p.add_argument("session")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("export", help="export a session to Phy and/or NWB")
    p.add_argument("session")
    p.add_argument("--phy", default=None, metavar="DIR", help="Phy template-gui folder to write")
    p.add_argument("--nwb", default=None, metavar="FILE", help="NWB file to write (units table)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("motifs", help="learn recurring firing motifs of a sorted session (Poisson auto-encoder)")
    p.add_argument("session")
    p.add_argument("--k", type=int, default=3, help="number of motifs")
    p.add_argument("--bin-ms", type=float, default=10.0, help="spike-count bin width")
    p.add_argument("--motif-ms", type=float, default=150.0, help="motif length")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON summary")
    p.set_defaults(func=cmd_motifs)

    p = sub.add_parser("gui", help="open the application")
    p.add_argument("file", nargs="?")
    p.set_defaults(func=cmd_gui)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args.file = None
        return cmd_gui(args)
    try:
        return args.func(args)
    except (RecordingError, UsageError) as exc:
        print(f"sparsesort: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as exc:
        print(f"sparsesort: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("sparsesort: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
