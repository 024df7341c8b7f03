"""Recurring firing motifs of sorted units (a Poisson convolutional auto-encoder) and their simulation."""
