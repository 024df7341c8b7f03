"""``sparsesort simulate``: a simulated recording with its ground truth, as HDF5."""
from __future__ import annotations

from engine.cli.common import Command, progress_bar
from engine.groundtruth.simulate import SimulationConfig, write_simulation


def add_arguments(p) -> None:
    defaults = SimulationConfig()
    p.add_argument("out")
    p.add_argument("--minutes", type=float, default=defaults.minutes)
    p.add_argument("--units", type=int, default=defaults.units)
    p.add_argument("--channels", type=int, default=defaults.channels)
    p.add_argument("--snr", type=float, default=defaults.snr_db, help="dB, trough amplitude over noise std")
    p.add_argument("--rate", type=float, default=defaults.rate_hz, help="firing rate per unit, Hz")
    p.add_argument("--sampling-rate", type=float, default=defaults.sampling_rate)
    p.add_argument("--seed", type=int, default=defaults.seed)


def run(args) -> int:
    config = SimulationConfig(minutes=args.minutes, units=args.units, channels=args.channels,
                              snr_db=args.snr, seed=args.seed, sampling_rate=args.sampling_rate,
                              rate_hz=args.rate)
    n_samples = int(round(config.minutes * 60 * config.sampling_rate))
    with progress_bar(n_samples, "simulating", args.quiet) as bar:
        truth = write_simulation(args.out, config, progress=bar.update)
    print(f"{args.out}: {config.units} units, {config.channels} channels, {config.minutes:g} min at "
          f"{config.sampling_rate:g} Hz, {len(truth.spike_times)} spikes, SNR {config.snr_db:g} dB")
    return 0


COMMAND = Command("simulate", "write a simulated recording with ground truth (HDF5)", add_arguments, run)
