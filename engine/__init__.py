"""sparsesort's engine: recordings, the convolutional sparse auto-encoder,
training, sorting and metrics. Qt-free; usable from scripts and notebooks."""

__version__ = "0.1.0"
