"""Sorting a whole recording with a learned model, and the SpikeInterface entry point."""
