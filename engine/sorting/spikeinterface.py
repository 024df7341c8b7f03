"""sparsesort as a step in a SpikeInterface pipeline: a recording in, a sorting out.

    from engine.sorting.spikeinterface import run_sparsesort
    sorting = run_sparsesort(recording)          # any spikeinterface BaseRecording
    compare_sorter_to_ground_truth(gt, sorting)  # or export, curate, ...

The recording is read lazily through engine.recording.readers.spikeinterface, so it may be a file
reader, a preprocessing chain or a generated recording; only its first segment is sorted. It goes
through the same pipeline (engine.sorting.pipeline) and defaults as ``sparsesort sort`` and the window.
"""
from __future__ import annotations

import numpy as np

from engine.recording.preprocessing import PreprocessingConfig
from engine.recording.readers.spikeinterface import SpikeInterfaceRecording
from engine.sorting.same_neuron import merged_labels
from engine.sorting.pipeline import PipelineSettings, SortOutcome, sort
from engine.training.trainer import TrainConfig


def sort_spikeinterface(si_recording, config: TrainConfig | None = None,
                        preprocessing: PreprocessingConfig | None = None, motion: str = "auto") -> SortOutcome:
    """Learn filters on ``si_recording`` and sort it: the pipeline's outcome (result, trainer, recording)."""
    return sort(SpikeInterfaceRecording(si_recording),
                PipelineSettings(config or TrainConfig(), preprocessing, motion))


def run_sparsesort(si_recording, *, preprocessing: PreprocessingConfig | None = None, motion: str = "auto",
                   **train_options):
    """Sort a SpikeInterface recording; a SpikeInterface ``NumpySorting`` with units 0 .. n − 1.

    Keyword arguments go to ``engine.training.trainer.TrainConfig`` (``n_units``, ``lam``,
    ``filter_ms``, ``max_steps``, ``device``, ``seed``, ...), whose defaults are the command line's.
    ``preprocessing`` None applies the auto rule (band-pass unless the recording is marked
    filtered, common average reference from 8 channels on where the channels share noise); ``motion``
    is auto, none, rigid or nonrigid. Spike times are at the trough of each unit's filter. A unit is one neuron: filters
    that are one neuron (split by drift, or sharing one refractory period: engine.sorting.same_neuron)
    are merged, and each unit's ``sparsesort_filters`` property names its filters ("3" or "3,7").
    The lambda used is kept as the sorting's ``sparsesort_lambda`` annotation, the motion correction done as ``sparsesort_motion``.
    """
    from spikeinterface.core import NumpySorting

    outcome = sort_spikeinterface(si_recording, TrainConfig(**train_options), preprocessing, motion)
    result = outcome.result
    labels, filters_of = merged_labels(result.units, result.n_units, result.merges)
    sorting = NumpySorting.from_samples_and_labels([result.times], [labels], result.sampling_rate,
                                                   unit_ids=np.arange(len(filters_of)))
    sorting.set_property("sparsesort_filters", [",".join(map(str, f)) for f in filters_of])
    sorting.annotate(sparsesort_lambda=float(outcome.trainer.model.lam), sparsesort_motion=outcome.prepared.motion)
    return sorting
