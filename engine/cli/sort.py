"""``sparsesort sort``: learn a recording's filters, sort its spikes, write the session (and exports)."""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

from tqdm import tqdm

from engine.cli.common import Command, UsageError, progress_bar
from engine.cli.sessions import check_export_targets, export_session
from engine.curation.journal import journal_path, set_aside
from engine.errors import RecordingError
from engine.groundtruth.metrics import compare_spike_trains, match_filters
from engine.io.atomic import check_writable
from engine.io.session import Session, back_up_session, recording_info, save_session
from engine.recording.motion import MOTION_CHOICES
from engine.recording.preprocessing import NO_PREPROCESSING, PreprocessingConfig, default_config
from engine.recording.registry import open_recording
from engine.sorting.same_neuron import first_curation
from engine.sorting.pipeline import PipelineSettings, prepare_recording, sort
from engine.sorting.sorter import default_thresholds
from engine.training.trainer import TrainConfig, Trainer

AUTO_LAMBDA = "auto"


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


def _number(kind, test, what):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'") from None
        if not (math.isfinite(value) and test(value)):
            raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'")
        return value
    return parse


positive_int = _number(int, lambda v: v > 0, "a positive whole number")
positive_float = _number(float, lambda v: v > 0, "a positive number")


def radius_option(text: str) -> float | None:
    """``--filter-radius``: micrometres, or ``all`` (filters on every channel)."""
    return None if text.strip().lower() == "all" else positive_float(text)


def session_path(args) -> str:
    return args.out or os.path.splitext(os.fspath(args.recording))[0] + ".sparsesort.h5"


def check_outputs(args) -> str:
    """Check every output before the work starts; returns the session's path. An existing session is
    never overwritten silently: without ``--force`` the sort refuses."""
    out = session_path(args)
    check_writable(out)
    check_export_targets(args.phy, args.nwb)
    if os.path.exists(out) and not args.force:
        raise UsageError(f"{out}: a session already exists there (its curation would be lost); give --force "
                         "to replace it (the old one is kept as a dated backup) or --out another file")
    return out


def make_room(out: str) -> None:
    """Before the new session is written: the old one (with ``--force``) and its journal are kept under a
    dated name; a journal left without its session is set aside, so that it is never replayed into this sort."""
    if os.path.exists(out):
        backup = back_up_session(out)
        print(f"sparsesort: the old session {out} is kept as {backup}", file=sys.stderr)
    if os.path.exists(journal_path(out)):
        kept = set_aside(journal_path(out))
        print(f"sparsesort: the curation journal {journal_path(out)} had no session; set aside as {kept}",
              file=sys.stderr)


def describe_lambda(trainer: Trainer) -> str:
    if trainer.config.lam_auto:
        return f"{trainer.model.lam:.4g} (learned by EM; noise-based {trainer.noise_lambda:.4g})"
    if trainer.config.lam is None:
        return f"{trainer.model.lam:.4g} (noise-based)"
    return f"{trainer.model.lam:.4g}"


def recording_args(args) -> dict:
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


def preprocessing_config(args, recording) -> PreprocessingConfig:
    """The auto rule (engine.recording.preprocessing.default_config), then the flags that override it."""
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


def add_arguments(p) -> None:
    p.add_argument("recording")
    add_sort_options(p)
    p.add_argument("--out", default=None, help="session file (default: next to the recording)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing session file (the old one is kept as NAME.backup-DATE.h5)")
    p.add_argument("--json", action="store_true", help="print one JSON summary as the last line")
    p.add_argument("--phy", default=None, metavar="DIR", help="also export a Phy template-gui folder")
    p.add_argument("--nwb", default=None, metavar="FILE", help="also export the units to an NWB file")
    add_dask_options(p, "sort the chunks on a local Dask cluster of N worker processes (training stays here)")


def add_dask_options(p, workers_help: str) -> None:
    g = p.add_argument_group("Dask (engine.distributed)")
    g.add_argument("--workers", type=positive_int, default=None, metavar="N", help=workers_help)
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use a running Dask cluster instead: its scheduler's address (tcp://host:8786) or "
                   "scheduler file (.json); the workers must see the recording's path")


def add_sort_options(p) -> None:
    """The options of ``sort`` that apply to every recording (``batch`` takes them too)."""
    p.add_argument("--units", type=positive_int, default=None, help="number of units (default: from the data)")
    p.add_argument("--lambda", dest="lam", type=lambda_option, default=None,
                   help="sparsity weight: a number, or 'auto' to learn it by EM while training "
                   "(default: from the noise level)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--steps", type=positive_int, default=TrainConfig.max_steps,
                   help="training steps (default: one pass over the training data, 10 to 30)")
    p.add_argument("--filter-ms", type=positive_float, default=TrainConfig.filter_ms)
    p.add_argument("--unrolled-steps", type=positive_int, default=TrainConfig.n_steps)
    p.add_argument("--filter-radius", type=radius_option, default=TrainConfig.filter_radius_um, metavar="UM",
                   help="each unit's filter lives on the channels within this many µm of its peak channel, "
                   "or 'all' (default: %(default)s)")
    p.add_argument("--rank", type=int, choices=(1,), default=None,
                   help="1: rank-1 filters, one waveform scaled per channel (default: any shape)")
    p.add_argument("--no-bands", action="store_true",
                   help="one unit per filter: do not cut a filter's codes into amplitude bands (units of one "
                   "waveform shape that differ in size)")
    p.add_argument("--seed", type=int, default=0)
    # the raw layout is checked by the reader, whose messages name the file
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
    g = p.add_argument_group("preprocessing (default: band-pass, plus common average reference from 8 channels "
                             "where the channels share noise, for real recordings; none for simulated recordings "
                             "with ground truth)")
    g.add_argument("--no-preprocess", action="store_true", help="use the recording as it is")
    g.add_argument("--bandpass", nargs=2, type=float, metavar=("LOW", "HIGH"), default=None,
                   help="band-pass edges in Hz (default 300 6000)")
    g.add_argument("--no-bandpass", action="store_true")
    g.add_argument("--cmr", action=argparse.BooleanOptionalAction, default=None,
                   help="common reference: subtract the mean (or --reference median) over channels")
    g.add_argument("--reference", choices=("mean", "median"), default=None,
                   help="what the common reference subtracts (default mean: overlapping spikes stay additive)")
    g.add_argument("--whiten", action="store_true", help="whiten across channels")
    p.add_argument("--motion", choices=MOTION_CHOICES, default="auto",
                   help="drift correction with SpikeInterface's motion tools (default auto: none on probes whose "
                   "contacts span less than 100 um, rigid up to 800 um, non-rigid beyond)")


def run(args) -> int:
    summary, lines, session = execute(args)
    if args.json:
        print(json.dumps(summary))
    else:
        print("\n".join(lines))
    export_session(session, args.phy, args.nwb, quiet=args.json)
    return 0


def on_dask(args) -> bool:
    return bool(getattr(args, "workers", None) or getattr(args, "scheduler", None))


def _sort(args, raw_recording, settings, prepared, rec_args, on_snapshot, progress):
    """The pipeline's sort, or, with --workers or --scheduler, its chunks on a Dask cluster."""
    if not on_dask(args):
        return sort(raw_recording, settings, prepared=prepared, on_snapshot=on_snapshot, progress=progress)
    from engine.distributed import RecordingSource, SchedulerUnreachable, dask_client, train_and_sort
    source = RecordingSource.of_file(os.path.abspath(args.recording), rec_args, prepared.preprocessing,
                                     prepared.motion_estimate)
    try:
        with dask_client(args.workers, args.scheduler) as client:
            return train_and_sort(client, prepared, settings.train, source, on_snapshot=on_snapshot,
                                  progress=progress)
    except SchedulerUnreachable as exc:
        raise UsageError(str(exc)) from None


def train_config(args) -> TrainConfig:
    """The training settings the sort options give."""
    auto = args.lam == AUTO_LAMBDA
    return TrainConfig(n_units=args.units, lam=None if auto else args.lam, lam_auto=auto, device=args.device,
                       max_steps=args.steps, filter_ms=args.filter_ms, n_steps=args.unrolled_steps, seed=args.seed,
                       filter_radius_um=args.filter_radius, rank=args.rank, bands=not args.no_bands)


def execute(args):
    """Sort ``args.recording`` and write its session: (the JSON summary, the lines for people, the session)."""
    out = check_outputs(args)
    rec_args = recording_args(args)
    raw_recording = open_recording(args.recording, **rec_args)
    config = train_config(args)
    try:
        settings = PipelineSettings(config, preprocessing_config(args, raw_recording), args.motion)
        prepared = prepare_recording(raw_recording, settings)
        recording = prepared.recording
        with tqdm(total=None, desc="learning filters", disable=args.quiet, file=sys.stderr, leave=False) as steps, \
                progress_bar(recording.n_samples, "sorting", args.quiet) as sorted_samples:
            def show_training(snap):
                steps.total, steps.n = snap.max_steps, snap.step
                steps.set_postfix(loss=f"{snap.loss:.3g}", snr=f"{snap.snr_db:.1f}dB")

            outcome = _sort(args, raw_recording, settings, prepared, rec_args, show_training,
                            sorted_samples.update)
    except ValueError as exc:
        raise RecordingError(args.recording, str(exc)) from None
    trainer, result, model = outcome.trainer, outcome.result, outcome.trainer.model
    train_seconds, sort_seconds = outcome.train_seconds, outcome.sort_seconds
    preprocessing = prepared.preprocessing

    summary = {
        "recording": os.fspath(args.recording),
        "units": model.n_units,
        "spikes": int(len(result)),
        "spikes_per_unit": result.counts().tolist(),
        "merged_units": result.merges,
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

    session = Session(
        recording_path=os.path.abspath(args.recording), recording_args=rec_args,
        sampling_rate=recording.sampling_rate, filters=model.filters(), lam=model.lam,
        train_config=config.to_dict(), spike_times=result.times, spike_units=result.units,
        spike_amplitudes=result.amplitudes, thresholds=default_thresholds(model),
        history=trainer.history.to_dict(),
        metrics={k: v for k, v in summary.items() if k in ("filter_error", "accuracy", "precision", "recall")},
        preprocessing={} if preprocessing.is_identity else preprocessing.to_dict(),
        recording_info=recording_info(raw_recording), channel_positions=recording.channel_positions,
        min_amplitudes=model.min_amplitudes, motion={"choice": args.motion, "kind": prepared.motion},
        motion_estimate=prepared.motion_estimate,
        curation=first_curation(result),
    )
    make_room(out)
    save_session(out, session)
    summary["session"] = out
    summary["preprocessing"] = session.preprocessing
    summary["motion"] = prepared.motion
    where = f"{summary['device']} (chunks on Dask)" if on_dask(args) else summary["device"]
    lines = [f"{summary['units']} units, {summary['spikes']} spikes; learned in {train_seconds:.1f} s, "
             f"sorted in {sort_seconds:.1f} s on {where}; session: {out}",
             f"  lambda: {describe_lambda(trainer)}"]
    if result.merges:
        lines.append("  merged in the curation, one neuron each: "
                     + "; ".join("units " + ", ".join(map(str, group)) for group in result.merges))
    if truth is not None:
        lines += [f"  true unit {i}: filter error {e:.3f}, accuracy {a:.3f}"
                  for i, (e, a) in enumerate(zip(summary["filter_error"], summary["accuracy"]))]
    return summary, lines, session


COMMAND = Command("sort", "learn the filters of a recording and sort its spikes", add_arguments, run)
