"""Simulated recordings with known truth, and the metrics that score a sort against it."""
