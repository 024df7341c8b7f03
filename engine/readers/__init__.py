"""Readers: one file per recording format, each a ``Recording`` subclass."""
