"""``sparsesort deep-sparse``: a two-layer sparse dictionary, y = A2 A1 x, learned from a data matrix."""
from __future__ import annotations

import json
import os
import time

import numpy as np

from engine.cli.common import Command, UsageError, read_matrix
from engine.deep.deep_sparse_coding import DeepSparseConfig

DEFAULTS = DeepSparseConfig()
# the priors' weights as fractions of the median example norm (the examples are scaled to a median norm of 1);
# the Python API's 0.1 on benchmarks/deep_sparse_coding.py's examples (median norm 2.2) is 0.045
LAM = (0.05, 0.05)


def add_arguments(p) -> None:
    p.add_argument("data", help="examples x dimensions: .npy, or a .csv / .txt table")
    p.add_argument("--atoms", type=int, nargs=2, metavar=("R2", "R1"),
                   help="atoms of A2 (the layer next to the data) and of A1 (R1 >= R2: an expansion); "
                        "needed without --start")
    p.add_argument("--lam", type=float, nargs=2, default=LAM, metavar=("L2", "L1"),
                   help="sparsity weights of the codes x2 = A1 x and x, as fractions of the median example norm")
    p.add_argument("--iterations", type=int, default=DEFAULTS.iterations,
                   help="alternating-minimisation rounds per layer")
    p.add_argument("--start", help="(A2, A1) to start from, an .npz of this command's --out (the learning is "
                                   "local; default: a start from the examples)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the start from the examples")
    p.add_argument("--out", help="the dictionaries: .npz with a2 (dims x R2) and a1 (R2 x R1) "
                                 "(default: DATA.dictionaries.npz)")
    p.add_argument("--json", action="store_true", help="print one JSON summary")


def read_start(path, dims: int, atoms) -> tuple[np.ndarray, np.ndarray]:
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as saved:  # a .npy array is no context manager: TypeError
            a2, a1 = np.asarray(saved["a2"], np.float64), np.asarray(saved["a1"], np.float64)
    except (ValueError, OSError, EOFError, KeyError, TypeError):
        raise UsageError(f"{path}: not an .npz of dictionaries a2 and a1 (what --out writes)") from None
    if a2.ndim != 2 or a1.ndim != 2 or a2.shape[0] != dims or a1.shape[0] != a2.shape[1]:
        raise UsageError(f"{path}: a2 {a2.shape} and a1 {a1.shape} do not fit {dims}-dimensional examples "
                         f"(a2: {dims} x R2, a1: R2 x R1)")
    if atoms is not None and tuple(atoms) != (a2.shape[1], a1.shape[1]):
        raise UsageError(f"{path}: holds {a2.shape[1]} and {a1.shape[1]} atoms, not the --atoms {atoms[0]} {atoms[1]}")
    if not (np.isfinite(a2).all() and np.isfinite(a1).all()):
        raise UsageError(f"{path}: the dictionaries hold NaN or infinite values")
    return a2, a1


def write_dictionaries(path, a2: np.ndarray, a1: np.ndarray, lam) -> None:
    from engine.io.atomic import atomic_path
    with atomic_path(path, keep_extension=True) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, a2=a2, a1=a1, lam=np.asarray(lam))


def run(args) -> int:
    from engine.deep.deep_sparse_coding import data_start, learn_deep_sparse_coding
    from engine.io.atomic import check_writable
    if args.atoms is None and args.start is None:
        raise UsageError("give --atoms R2 R1, or --start DICTIONARIES.npz")
    if args.atoms is not None and min(args.atoms) < 1:
        raise UsageError(f"--atoms must be at least 1 each (got {args.atoms[0]} {args.atoms[1]})")
    if args.iterations < 1:
        raise UsageError(f"--iterations must be at least 1 (got {args.iterations})")
    if not min(args.lam) >= 0:
        raise UsageError(f"--lam must be zero or positive (got {args.lam[0]:g} {args.lam[1]:g})")
    data = read_matrix(args.data, "examples", "dimensions")
    scale = float(np.median(np.linalg.norm(data, axis=1)))
    if scale == 0:
        raise UsageError(f"{args.data}: most examples are zero")
    start = read_start(args.start, data.shape[1], args.atoms) if args.start else None
    r2, r1 = (start[0].shape[1], start[1].shape[1]) if start else args.atoms
    out = args.out or os.path.splitext(os.fspath(args.data))[0] + ".dictionaries.npz"
    check_writable(out)
    config = DeepSparseConfig(lam=tuple(args.lam), iterations=args.iterations)
    y = data / scale
    begin = time.perf_counter()
    if start is None:
        if np.count_nonzero(np.linalg.norm(y, axis=1)) < r2:
            raise UsageError(f"{args.data}: {len(y)} examples cannot start {r2} atoms (use --start)")
        start = data_start(y, r2, r1, config, np.random.default_rng(args.seed))
    model = learn_deep_sparse_coding(y, start, config)
    x2, x = model.encode(y)
    seconds = time.perf_counter() - begin
    a2, a1 = model.dictionaries()
    write_dictionaries(out, a2, a1, args.lam)
    residual = float(((y - model.decode(x)) ** 2).sum() / (y ** 2).sum())
    summary = {"data": os.fspath(args.data), "examples": len(y), "dimensions": y.shape[1], "atoms": [r2, r1],
               "start": os.fspath(args.start) if args.start else "data", "lambda": list(args.lam),
               "nonzero_x2": float((x2 > 1e-6).mean()), "nonzero_x": float((x > 1e-6).mean()),
               "residual_energy": residual, "seconds": seconds, "out": os.fspath(out)}
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"deep sparse coding: {len(y)} examples of {y.shape[1]} dimensions; A2 {y.shape[1]} x {r2}, A1 {r2} x {r1} "
          f"(started from {'the examples' if not args.start else args.start}), {seconds:.1f} s")
    print(f"  nonzero codes: layer 2 (x2 = A1 x) {100 * summary['nonzero_x2']:.1f} %, "
          f"layer 1 (x) {100 * summary['nonzero_x']:.1f} %")
    print(f"  A2 A1 x leaves {100 * residual:.1f} % of the data's energy")
    print(f"  wrote {out}")
    return 0


COMMAND = Command("deep-sparse", "learn a two-layer (deep) sparse dictionary y = A2 A1 x from a data matrix",
                  add_arguments, run)
