"""What every command shares: the command registry entry, the bad-input error, progress bars, and reading and
writing the data matrices of the commands that take one (points, examples, labels)."""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
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


TEXT_TABLES = (".csv", ".txt", ".tsv")


def read_array(path) -> np.ndarray:
    """The numbers in a .npy file or a text table (.csv: commas; .txt or .tsv: white space; a first line that is
    not numbers is taken for column names), as float; any problem is a UsageError naming the file."""
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such file")
    text = str(path).lower().endswith(TEXT_TABLES)
    try:
        data = _read_table(path) if text else np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        if not text:
            raise UsageError(f"{path}: not a .npy array file (or give a .csv / .txt table)") from None
        raise UsageError(f"{path}: not a table of numbers ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, np.ndarray):  # an .npz archive
        data.close()
        raise UsageError(f"{path}: not a .npy array file (or give a .csv / .txt table)")
    if not (np.issubdtype(data.dtype, np.number) or data.dtype == bool):
        raise UsageError(f"{path}: holds {data.dtype}, not numbers")
    if data.size and not np.isfinite(data).all():
        raise UsageError(f"{path}: row {int(np.argwhere(~np.isfinite(data))[0][0])} holds NaN or infinite values")
    return np.asarray(data, dtype=np.float64)


def read_matrix(path, rows: str = "rows", columns: str = "columns") -> np.ndarray:
    """A 2-D array (rows, columns) of finite numbers (see read_array); ``rows`` and ``columns`` name the axes
    in the message when it is not one."""
    data = read_array(path)
    if data.ndim != 2 or data.size == 0:
        raise UsageError(f"{path}: expected a 2-D array of {rows} x {columns}, got shape {data.shape}")
    return data


def read_vector(path, length: int, what: str, per: str) -> np.ndarray:
    """``length`` finite numbers, one per ``per`` (a 1-D array, or a table of one column)."""
    data = read_array(path)
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if data.ndim != 1 or len(data) != length:
        raise UsageError(f"{path}: expected {length} {what}, one per {per}, got shape {data.shape}")
    return data


def _read_table(path) -> np.ndarray:
    delimiter = "," if str(path).lower().endswith(".csv") else None
    with open(path) as handle:
        first = handle.readline()
    try:
        [float(field) for field in first.replace(",", " ").split()]
        header = 0
    except ValueError:
        header = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty table is reported by its shape
        return np.loadtxt(path, delimiter=delimiter, skiprows=header, ndmin=2)


def write_vector(path, values: np.ndarray) -> None:
    """Write a 1-D array atomically: .npy, or one value a line in a text file."""
    from engine.io.atomic import atomic_path
    with atomic_path(path, keep_extension=True) as tmp:
        if str(path).lower().endswith(TEXT_TABLES):
            np.savetxt(tmp, values, fmt="%d" if np.issubdtype(values.dtype, np.integer) else "%.9g")
        else:
            with open(tmp, "wb") as handle:
                np.save(handle, values)
