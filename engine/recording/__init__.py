"""Recordings: the one interface every format offers, the readers behind it, probes, preprocessing
and the noise level. ``open_recording`` (``engine.recording.registry``) opens any supported file."""
