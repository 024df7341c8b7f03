"""sparsesort's engine: recordings, the convolutional sparse auto-encoder, training, sorting,
curation, motifs, the seed's other systems (Poisson image denoising, K-deep simplex, deep sparse
coding), files and ground truth. Qt-free; usable from scripts and notebooks::

    import engine
    rec = engine.open_recording("seed.h5")
    trainer = engine.Trainer(rec, engine.TrainConfig(n_units=3))
    model = trainer.run()
    result = engine.sort_recording(rec, model)

The names below are imported on first use, so ``import engine`` itself stays light.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "engine.errors": ("RecordingError",),
    "engine.recording.base": ("Recording", "ArrayRecording", "GroundTruth"),
    "engine.recording.registry": ("open_recording", "guess_format", "READERS"),
    "engine.recording.preprocessing": ("PreprocessingConfig", "preprocess"),
    "engine.model.autoencoder": ("ConvSparseAutoencoder",),
    "engine.training.trainer": ("TrainConfig", "Trainer"),
    "engine.sorting.sorter": ("SortResult", "sort_recording"),
    "engine.sorting.spikeinterface": ("run_sparsesort",),
    "engine.curation.model": ("Curation",),
    "engine.motifs.discovery": ("MotifConfig", "discover_motifs"),
    "engine.imaging.dcea": ("DenoiserConfig", "train_denoiser", "denoise", "denoise_stack", "bundled_denoiser"),
    "engine.imaging.stacks": ("open_stack",),
    "engine.manifold.k_deep_simplex": ("KDSConfig", "k_deep_simplex"),
    "engine.deep.deep_sparse_coding": ("DeepSparseConfig", "learn_deep_sparse_coding"),
    "engine.io.session": ("Session", "load_session", "save_session", "reopen_recording"),
    "engine.io.phy": ("export_phy",),
    "engine.io.nwb": ("export_nwb",),
    "engine.groundtruth.simulate": ("SimulationConfig", "simulate_recording", "write_simulation"),
    "engine.groundtruth.metrics": ("compare_spike_trains", "match_filters", "filter_error"),
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'engine' has no attribute '{name}'")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
