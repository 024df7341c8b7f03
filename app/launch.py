"""The ``sparsesort`` command: the engine's commands plus ``gui``; with no command, the window on the demo."""
from __future__ import annotations

from engine.cli.common import Command
from engine.cli.commands import COMMANDS, main as run_commands


def _gui_arguments(p) -> None:
    p.add_argument("file", nargs="?", help="a recording or a session file (default: the demo recording)")


def _run_gui(args) -> int:
    from app import main as app_main  # Qt is loaded only for the window
    return app_main([args.file] if getattr(args, "file", None) else [])


GUI = Command("gui", "open the application", _gui_arguments, _run_gui)


def main(argv=None) -> int:
    return run_commands(argv, commands=(*COMMANDS, GUI), no_command=lambda: _run_gui(None),
                        description="Spike sorting with a convolutional sparse auto-encoder. "
                                    "With no command, opens the application on a demo recording.")
