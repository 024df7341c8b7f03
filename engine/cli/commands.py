"""The command line's top: the registry of subcommands, the parser, and bad input as one line.

``app.launch`` adds the ``gui`` command; the engine's commands run without Qt.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from engine.cli import motifs, sessions, simulate, sort
from engine.cli import batch, cluster, deep_sparse, denoise
from engine.cli.common import EXIT_BAD_INPUT, Command, UsageError
from engine.errors import RecordingError

COMMANDS: tuple[Command, ...] = (simulate.COMMAND, sort.COMMAND, sessions.INFO, sessions.EXPORT, motifs.COMMAND)
COMMANDS += (denoise.COMMAND, batch.COMMAND, cluster.COMMAND, deep_sparse.COMMAND)
DESCRIPTION = "Spike sorting with a convolutional sparse auto-encoder."


class OneLineParser(argparse.ArgumentParser):
    """An argument error is one line and exit status 2 (argparse's usage block stays behind --help)."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_global_options(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--quiet", action="store_true", default=default, help="no progress bars")


def build_parser(commands: Sequence[Command] = COMMANDS, description: str = DESCRIPTION) -> argparse.ArgumentParser:
    parser = OneLineParser(prog="sparsesort", description=description)
    _add_global_options(parser, default=False)
    sub = parser.add_subparsers(dest="command", parser_class=OneLineParser)
    for command in commands:
        p = sub.add_parser(command.name, help=command.help)
        command.add_arguments(p)
        # after the subcommand too; SUPPRESS keeps a --quiet given before it
        _add_global_options(p, default=argparse.SUPPRESS)
        p.set_defaults(run=command.run)
    return parser


def main(argv=None, commands: Sequence[Command] = COMMANDS, no_command: Callable[[], int] | None = None,
         description: str = DESCRIPTION) -> int:
    """Run one command; bad input ends with one line on stderr and exit status 2, never a traceback."""
    parser = build_parser(commands, description)
    args = parser.parse_args(argv)
    if args.command is None:
        if no_command is not None:
            return no_command()
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return args.run(args)
    except (RecordingError, UsageError, ValueError) as exc:
        print(f"sparsesort: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("sparsesort: interrupted", file=sys.stderr)
        return 130
