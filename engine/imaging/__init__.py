"""Images: Poisson (low-photon) denoising with the family\x27s convolutional auto-encoder (engine.imaging.dcea)."""
