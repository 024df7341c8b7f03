"""One reader per file format; ``engine.recording.registry`` lists them."""
