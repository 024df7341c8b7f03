"""The convolutional sparse auto-encoder: its encoders (unrolled FISTA, the active-set solver), the
convolution operators, the priors as activations and the likelihoods, and the torch device."""
