"""The command line (``sparsesort simulate | sort | info | export | motifs``): the engine's top layer.

One module per command; ``engine.cli.commands`` holds their registry. Nothing here imports the GUI:
``app.launch`` adds the ``gui`` command.
"""
from engine.cli.commands import main

__all__ = ["main"]
