"""Files the engine writes: session files, Phy and NWB exports, all written atomically."""
