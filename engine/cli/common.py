"""What every command shares: the command registry entry, the bad-input error and progress bars."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Callable

from tqdm import tqdm

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """A problem with the command's arguments or input, reported in one line."""


@dataclass(frozen=True)
class Command:
    """One subcommand: its name and help line, its arguments, and what it runs (returns the exit status)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def progress_bar(total: int, desc: str, quiet: bool):
    return tqdm(total=total, desc=desc, unit="sample", unit_scale=True, disable=quiet, file=sys.stderr,
                leave=False)
