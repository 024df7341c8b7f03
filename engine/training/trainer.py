"""Training the auto-encoder: a plain-Python object driven from any thread.

``Trainer.steps()`` yields ``Snapshot``s (at most one per
``snapshot_interval`` seconds, plus the last); ``pause``, ``resume``,
``stop`` and ``set_lambda`` may be called from another thread and take effect
between two steps.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from engine.model.active_set import drop_below, merge_spikes
from engine.training.amplitude_floor import RunningFloors, calibrated_floors, unfloored_spikes
from engine.training.amplitude_modes import add_bands, band_floors, one_neuron_filters, without_bands
from engine.model.device import resolve_device
from engine.training.em_lambda import OnlineLambdaEM
from engine.training.filter_update import LeastSquaresFilterUpdate
from engine.training.initialization import initial_filters, merge_shift, trough_tap
from engine.groundtruth.metrics import match_filters
from engine.model.autoencoder import ConvSparseAutoencoder
from engine.model.filter_shape import FILTER_RADIUS_UM, constrain, filter_support
from engine.recording.noise import universal_lambda
from engine.recording.base import Recording
from engine.training.shifted_copies import copy_units
from engine.training.shared_events import drop_shared_events, shared_channels
from engine.training.unit_evidence import idle_units
from engine.sorting.sorter import REFRACTORY_MS, trough_offsets

SETTLED_STEPS = 3
MAX_BUFFER_SAMPLES = 40_000_000  # training data kept in memory (values, all channels)
MAX_BUFFER_SECONDS = 120.0  # in 32 stretches spread over the recording: variety enough for the batches
MIN_TRAINING_STEPS = 10
DISCOVERY_PIECE_VALUES = 16_000_000  # samples x channels read at once for unit discovery (64 MB)
MAX_TRAINING_STEPS = 30


def training_steps(buffer_seconds: float, batch_seconds: float) -> int:
    """The default training length: enough batches to pass once over the training data (which the
    duration and the channel count bound, see ``MAX_BUFFER_*``), within [MIN, MAX]_TRAINING_STEPS.
    The filters usually settle (``tolerance``) before that."""
    one_pass = int(np.ceil(buffer_seconds / max(batch_seconds, 1e-9)))
    return int(np.clip(one_pass, MIN_TRAINING_STEPS, MAX_TRAINING_STEPS))


@dataclass
class TrainConfig:
    """The one set of training defaults: the command line, the window and the SpikeInterface entry
    point all start from it. Lengths are in milliseconds and seconds; the trainer turns them into
    samples at the recording's rate."""

    n_units: int | None = None  # None: chosen from the data
    filter_ms: float = 3.0  # a spike's trough and repolarisation, at any sampling rate
    n_steps: int = 30  # unrolled FISTA steps (in two reweighted passes)
    update: str = "lstsq"  # "lstsq": closed-form decoder; "adam": backprop through the unrolled encoder
    learning_rate: float = 3e-3  # Adam only
    debias_steps: int = 5
    batch_size: int = 32
    segment_ms: float = 300.0
    max_steps: int | None = None  # None: from the recording's duration and channel count (training_steps)
    tolerance: float = 0.03  # stop once no filter moves by more than this (unit-norm distance) for SETTLED_STEPS steps
    lam: float | None = None  # None: universal threshold from the noise level
    lam_scale: float = 1.3
    lam_auto: bool = False  # learn lambda by EM while training, prior around the noise-based lambda
    lam_prior_weight: float = 4.0  # lam_auto: the prior counts this many times a batch's codes
    init_seconds: float = 300.0  # unit discovery reads this much of the recording (spread over it)
    init_threshold: float = 5.0
    filter_radius_um: float | None = FILTER_RADIUS_UM  # each filter lives within this of its peak channel; None: everywhere
    rank: int | None = None  # 1: rank-1 spatio-temporal filters (one waveform scaled per channel); None: any
    denoise: bool = True  # filters cut to the rank their singular values show above the noise (filter_shape)
    bands: bool = True  # a filter's codes in modes apart become units of their own (amplitude_modes)
    device: str = "auto"
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Snapshot:
    step: int
    elapsed: float
    loss: float
    snr_db: float
    lam: float
    filters: np.ndarray  # numpy copy, (units, channels, taps)
    filter_error: list[float] | None = None  # per true unit, when ground truth is known
    finished: bool = False
    min_amplitudes: np.ndarray | None = None  # per unit, once training has finished (engine.training.amplitude_floor)
    max_steps: int = 0  # the training's length, when it does not stop earlier


@dataclass
class History:
    step: list[int] = field(default_factory=list)
    elapsed: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    snr_db: list[float] = field(default_factory=list)
    lam: list[float] = field(default_factory=list)
    filter_error: list[list[float]] = field(default_factory=list)  # one per snapshot, not per step

    def to_dict(self) -> dict:
        """The per-step curves, under the names a session file stores (engine.io.session.HISTORY_CURVES)."""
        return {"step": self.step, "elapsed": self.elapsed, "loss": self.loss, "snr_db": self.snr_db,
                "lam": self.lam}


class Trainer:
    def __init__(self, recording: Recording, config: TrainConfig | None = None,
                 snapshot_interval: float = 0.05):
        self.recording = recording
        self.config = config or TrainConfig()
        self.snapshot_interval = snapshot_interval
        self.device = resolve_device(self.config.device)
        self.n_taps = max(3, int(round(self.config.filter_ms * recording.sampling_rate / 1000.0)))
        self.segment = max(2 * self.n_taps, int(round(self.config.segment_ms * recording.sampling_rate / 1000.0)))
        self.max_steps = self.config.max_steps or training_steps(
            self._buffer_budget() / recording.sampling_rate, self.config.batch_size * self.segment / recording.sampling_rate)
        self.history = History()
        self.model: ConvSparseAutoencoder | None = None
        self.sigma: np.ndarray | None = None
        self.step = 0
        self._buffer: torch.Tensor | None = None
        self._rng = np.random.default_rng(self.config.seed)
        self._run = threading.Event()
        self._run.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending_lambda: float | None = None
        self._pending_auto: bool | None = None
        self.lambda_auto = self.config.lam_auto
        self.lambda_em: OnlineLambdaEM | None = None
        self.noise_lambda: float | None = None  # lam_scale x the universal threshold

    # -- control from any thread -------------------------------------------------
    def pause(self) -> None:
        self._run.clear()

    def resume(self) -> None:
        self._run.set()

    def stop(self) -> None:
        self._stop.set()
        self._run.set()

    @property
    def paused(self) -> bool:
        return not self._run.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def set_lambda(self, value: float) -> None:
        """A fixed lambda from the next step on (EM lambda, if on, stops)."""
        with self._lock:
            self._pending_lambda = float(value)
            self._pending_auto = False

    def set_auto_lambda(self, enabled: bool) -> None:
        """Learn lambda by EM from the next step on, starting from the current value."""
        with self._lock:
            self._pending_auto = bool(enabled)

    def _apply_controls(self) -> None:
        with self._lock:
            if self._pending_lambda is not None:
                self.model.lam = self._pending_lambda
                self._pending_lambda = None
            if self._pending_auto is not None:
                self.lambda_auto = self._pending_auto
                self._pending_auto = None

    # -- setup ----------------------------------------------------------------
    def _buffer_budget(self) -> int:
        """Samples of training data kept: the whole recording if it fits the bounds."""
        rec = self.recording
        budget = max(self.segment * 64, min(MAX_BUFFER_SAMPLES // rec.n_channels,
                                            int(MAX_BUFFER_SECONDS * rec.sampling_rate)))
        return min(budget, rec.n_samples)

    def _training_window(self) -> np.ndarray:
        """Training data, (channels, samples): the whole recording if it fits, else evenly spaced
        stretches, each copied straight into place (on 384 channels the window is 0.9 GB)."""
        rec = self.recording
        budget = self._buffer_budget()
        if rec.n_samples <= budget:
            return np.ascontiguousarray(rec.traces(0, rec.n_samples).T)
        n_pieces = 32
        piece = budget // n_pieces
        starts = np.linspace(0, rec.n_samples - piece, n_pieces).astype(np.int64)
        window = np.empty((rec.n_channels, n_pieces * piece), dtype=np.float32)
        for index, start in enumerate(starts):
            window[:, index * piece:(index + 1) * piece] = rec.traces(start, start + piece).T
        return window

    def _discovery_pieces(self):
        """``init_seconds`` of the recording (all of it if shorter) in pieces spread evenly over it, read
        one at a time: discovery sees more spikes of rare units than the training buffer holds."""
        rec = self.recording
        total = min(rec.n_samples, int(self.config.init_seconds * rec.sampling_rate))
        piece = max(4 * self.n_taps, min(total, DISCOVERY_PIECE_VALUES // rec.n_channels))
        n_pieces = max(1, int(np.ceil(total / piece)))
        starts = np.linspace(0, rec.n_samples - piece, n_pieces).astype(np.int64) if n_pieces > 1 else [0]
        for start in starts:
            yield rec.traces(int(start), min(rec.n_samples, int(start) + piece))

    def initialize(self) -> ConvSparseAutoencoder:
        cfg = self.config
        rec = self.recording
        if rec.n_samples < 2 * self.n_taps:
            raise ValueError(f"the recording ({rec.n_samples} samples) is shorter than two filters "
                             f"({self.n_taps} samples each)")
        data = self._training_window()
        init = initial_filters(data.T, self.n_taps, cfg.n_units, pieces=self._discovery_pieces(),
                               positions=rec.channel_positions, threshold=cfg.init_threshold, seed=cfg.seed)
        self.sigma = init.sigma
        sigma = float(np.median(init.sigma))
        self.noise_lambda = cfg.lam_scale * universal_lambda(sigma, len(init.filters), int(rec.sampling_rate))
        lam = cfg.lam if cfg.lam is not None else self.noise_lambda
        torch.manual_seed(cfg.seed)
        peak_distance = max(1, int(round(REFRACTORY_MS * rec.sampling_rate / 1000.0)))
        self.lambda_em = OnlineLambdaEM(sigma, self.noise_lambda, peak_distance, cfg.lam_prior_weight)
        support = filter_support(init.filters, rec.channel_positions, cfg.filter_radius_um)
        filters = constrain(torch.tensor(init.filters, dtype=torch.float32), support, cfg.rank, cfg.denoise)
        self.model = ConvSparseAutoencoder(filters, lam, cfg.n_steps, cfg.debias_steps,
                                           peak_distance).to(self.device)
        self.model.support = support
        self._buffer = torch.from_numpy(data).to(self.device)
        if cfg.update == "adam":
            self._optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.learning_rate)
        elif cfg.update == "lstsq":
            self._lstsq = LeastSquaresFilterUpdate()
            self._floors = RunningFloors(self.model.n_units)
        else:
            raise ValueError(f"unknown filter update '{cfg.update}' (use lstsq or adam)")
        return self.model

    def _batch(self) -> torch.Tensor:
        n = self._buffer.shape[1]
        seg = min(self.segment, n)
        starts = self._rng.integers(0, n - seg + 1, size=self.config.batch_size)
        index = torch.as_tensor(starts[:, None] + np.arange(seg)[None, :], device=self.device)
        return self._buffer[:, index].permute(1, 0, 2)  # (batch, channels, seg)

    # -- training -------------------------------------------------------------
    def train_step(self) -> tuple[float, float]:
        model = self.model
        self._apply_controls()
        y = self._batch()
        if self.config.update == "adam":
            codes = model.encode(y)
            loss = torch.mean((y - model.decode(codes)) ** 2)
            self._optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for group in self._optimizer.param_groups:
                group["lr"] = self.learning_rate_at(self.step)
            self._optimizer.step()
            self._constrain()
        else:
            with torch.no_grad():
                found = model.encode_sparse(y, neighbours=False)
                spikes = merge_spikes(found, model.peak_distance)
                model.min_amplitudes = self._floors.update(spikes.value, spikes.unit)
                kept = drop_below(found, model.min_amplitudes, model.peak_distance)
                kept = drop_shared_events(kept, trough_offsets(model.filters()),
                                          shared_channels(model.support, model.n_units), model.peak_distance,
                                          self.recording.sampling_rate)
                codes = kept.to_dense(y.shape[0], model.n_units, y.shape[-1] - model.n_taps + 1, y.device)
                model.weight.copy_(self._lstsq(model.weight, y, codes, model.support))
                self._constrain()
                loss = torch.tensor(self._lstsq.residual / y.numel())
            self._drop_copies()
        if self.lambda_auto:
            model.lam = self.lambda_em.update(codes)
        model.normalize_filters()
        model.lipschitz = model.estimate_lipschitz(n_iter=5)
        with torch.no_grad():
            snr = 10.0 * torch.log10(torch.mean(y ** 2) / loss.clamp_min(1e-30)).item()
        self.step += 1
        return float(loss.item()), float(snr)

    @torch.no_grad()
    def _constrain(self) -> None:
        """Filters back onto their support and rank (engine.model.filter_shape), then unit norm."""
        constrain(self.model.weight, self.model.support, self.config.rank, self.config.denoise)
        self.model.normalize_filters()

    def _drop_copies(self) -> None:
        """Remove units whose filter has become a shifted copy of a larger unit's (engine.training.shifted_copies)."""
        model = self.model
        if self.config.n_units is not None or model.n_units < 2:
            return
        typical = np.nan_to_num(self._floors.typical)
        copies = copy_units(model.filters(), typical, merge_shift(model.n_taps), trough_tap(model.n_taps))
        if len(copies) == 0:
            return
        self._keep_units(np.setdiff1d(np.arange(model.n_units), copies))

    def _keep_units(self, keep: np.ndarray) -> None:
        self.model.keep_units(keep)
        if self.config.update == "lstsq":
            self._floors.keep(keep)
            self._lstsq.keep(keep, self.model.n_taps)

    def learning_rate_at(self, step: int) -> float:
        """Cosine decay from the configured rate to 1 % of it over ``max_steps``.

        Adam moves every coefficient by about the learning rate per step
        whatever the gradient's size, so near the optimum a constant rate
        makes the filters random-walk away from it; the decay stops that.
        """
        cfg = self.config
        progress = min(1.0, step / max(1, self.max_steps))
        return cfg.learning_rate * (0.01 + 0.99 * 0.5 * (1.0 + np.cos(np.pi * progress)))

    def _filter_change(self, before: torch.Tensor) -> float:
        """Largest distance any (unit-norm) filter moved in the last step (infinite if units were removed)."""
        if self.model.weight.shape != before.shape:
            return float("inf")
        return float((self.model.weight.detach() - before).flatten(1).norm(dim=1).max())

    def calibrate_floors(self) -> None:
        """Each unit's amplitude floor from the codes of the training data (engine.training.amplitude_floor);
        then, units too idle to be units and filters of one neuron left out, the amplitude bands
        (engine.training.amplitude_modes)."""
        traces = self._buffer.T.cpu().numpy()
        rate = self.recording.sampling_rate
        spikes = unfloored_spikes(self.model, traces, rate)
        self.model.min_amplitudes = calibrated_floors(spikes, self.model.n_units)
        counts = np.bincount(spikes.units[spikes.amplitudes >= self.model.min_amplitudes[spikes.units]],
                             minlength=self.model.n_units)
        dropped = set()
        if self.config.n_units is None:
            # fewer spikes over the whole recording than a unit's spread can be judged from: a filter
            # whose spikes the others took (on the suite's 128-channel probe, units of 1-3 spikes)
            dropped |= set(idle_units(counts, len(traces) / self.recording.n_samples).tolist())
        if self.config.bands:
            groups = one_neuron_filters(spikes, self.model, self.recording.channel_positions, len(traces))
            dropped |= {unit for group in groups for unit in group if unit != group[int(np.argmax(counts[group]))]}
        if dropped and len(dropped) < self.model.n_units:
            self._keep_units(np.setdiff1d(np.arange(self.model.n_units), sorted(dropped)))
            spikes = unfloored_spikes(self.model, traces, rate)
            self.model.min_amplitudes = calibrated_floors(spikes, self.model.n_units)
        if self.config.bands:
            add_bands(self.model, band_floors(spikes, self.model.filters(), traces, self.sigma,
                                              self.model.support, self.config.seed))

    def filter_errors(self) -> list[float] | None:
        truth = self.recording.ground_truth
        if truth is None:
            return None
        _, errors = match_filters(self.model.filters(), truth.waveforms)
        return [float(e) for e in errors]

    def snapshot(self, loss: float, snr: float, elapsed: float, finished: bool = False) -> Snapshot:
        errors = self.filter_errors()
        h = self.history
        h.filter_error.append(errors or [])
        return Snapshot(self.step, elapsed, loss, snr, self.model.lam, self.model.filters(), errors, finished,
                        self.model.min_amplitudes, self.max_steps)

    def steps(self, max_steps: int | None = None, time_limit: float | None = None):
        """Train, yielding throttled snapshots; returns when done or stopped."""
        if self.model is None:
            self.initialize()
        without_bands(self.model)  # training moves filters: the bands are found again when it ends
        max_steps = self.max_steps if max_steps is None else max_steps
        start = time.perf_counter()
        paused_time = 0.0
        last_snapshot = -np.inf
        loss = snr = float("nan")
        final = self.step + max_steps
        settled = 0  # consecutive steps that moved no filter by more than the tolerance
        while self.step < final and not self._stop.is_set():
            if not self._run.is_set():
                t0 = time.perf_counter()
                self._run.wait()
                paused_time += time.perf_counter() - t0
                continue
            before = self.model.weight.detach().clone()
            loss, snr = self.train_step()
            settled = settled + 1 if self._filter_change(before) < self.config.tolerance else 0
            elapsed = time.perf_counter() - start - paused_time
            h = self.history
            h.step.append(self.step)
            h.elapsed.append(elapsed)
            h.loss.append(loss)
            h.snr_db.append(snr)
            h.lam.append(self.model.lam)
            if (time_limit is not None and elapsed >= time_limit) or settled >= SETTLED_STEPS:
                break
            if elapsed - last_snapshot >= self.snapshot_interval and self.step < final:
                last_snapshot = elapsed
                yield self.snapshot(loss, snr, elapsed)
        self.calibrate_floors()
        yield self.snapshot(loss, snr, time.perf_counter() - start - paused_time, finished=True)

    def run(self, callback=None, **kwargs) -> ConvSparseAutoencoder:
        for snap in self.steps(**kwargs):
            if callback is not None:
                callback(snap)
        return self.model
