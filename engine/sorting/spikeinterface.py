"""sparsesort as a step in a SpikeInterface pipeline: a recording in, a sorting out.

    from engine.sorting.spikeinterface import run_sparsesort
    sorting = run_sparsesort(recording)          # any spikeinterface BaseRecording
    compare_sorter_to_ground_truth(gt, sorting)  # or export, curate, ...

The recording is read lazily through engine.recording.readers.spikeinterface, so it
may be a file reader, a preprocessing chain or a generated recording. Only
its first segment is sorted.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.recording.preprocessing import NO_PREPROCESSING, PreprocessingConfig, default_config, preprocess
from engine.recording.readers.spikeinterface import SpikeInterfaceRecording
from engine.sorting.sorter import SortResult, sort_recording
from engine.training.trainer import TrainConfig, Trainer

DEFAULT_FILTER_MS = 3.0  # long enough for a spike's trough and repolarisation at any sampling rate
DEFAULT_MAX_STEPS = 10  # 96 s of data: on generated probes, as accurate as 30 steps
DEFAULT_TOLERANCE = 0.03  # stop once no filter moved more than this in three steps (batch noise: 0.01-0.03)


def preprocessing_for(si_recording, recording) -> PreprocessingConfig:
    """The application's auto rule, without a second band-pass on a recording SpikeInterface already filtered."""
    config = default_config(recording)
    if config is not NO_PREPROCESSING and si_recording.is_filtered():
        config = replace(config, bandpass=None)
    return config


def sort_spikeinterface(si_recording, config: TrainConfig | None = None,
                        preprocessing: PreprocessingConfig | None = None) -> tuple[SortResult, Trainer]:
    """Learn filters on ``si_recording`` and sort it; the result and the trainer (model, history)."""
    recording = SpikeInterfaceRecording(si_recording)
    preprocessing = preprocessing_for(si_recording, recording) if preprocessing is None else preprocessing
    recording = preprocess(recording, preprocessing)
    trainer = Trainer(recording, config or TrainConfig(filter_ms=DEFAULT_FILTER_MS))
    trainer.run()
    return sort_recording(recording, trainer.model), trainer


def run_sparsesort(si_recording, *, n_units: int | None = None, filter_ms: float = DEFAULT_FILTER_MS,
                   lam: float | None = None, device: str = "auto", seed: int = 0,
                   max_steps: int = DEFAULT_MAX_STEPS, tolerance: float = DEFAULT_TOLERANCE,
                   preprocessing: PreprocessingConfig | None = None, **train_options):
    """Sort a SpikeInterface recording; a SpikeInterface ``NumpySorting`` with units 0 .. n − 1.

    ``n_units`` None chooses the unit count from the data; ``lam`` None takes
    lambda from the noise level; ``preprocessing`` None applies the
    application's auto rule (band-pass unless the recording is marked
    filtered, common average reference from 8 channels on). Training stops
    after ``max_steps`` or once the filters have settled to within
    ``tolerance``. Further keyword
    arguments go to ``engine.training.trainer.TrainConfig``. Spike times are at the
    trough of each unit's filter. The lambda used is kept as the sorting's
    ``sparsesort_lambda`` annotation.
    """
    from spikeinterface.core import NumpySorting

    config = TrainConfig(n_units=n_units, filter_ms=filter_ms, lam=lam, device=device, seed=seed,
                         max_steps=max_steps, tolerance=tolerance, **train_options)
    result, trainer = sort_spikeinterface(si_recording, config, preprocessing)
    sorting = NumpySorting.from_samples_and_labels([result.times], [result.units], result.sampling_rate,
                                                   unit_ids=np.arange(result.n_units))
    sorting.annotate(sparsesort_lambda=float(trainer.model.lam))
    return sorting
