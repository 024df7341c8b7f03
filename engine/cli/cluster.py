"""``sparsesort cluster``: points (or a unit's spike features) clustered along curved manifolds by K-deep simplex."""
from __future__ import annotations

import json
import os
import time

import numpy as np

from engine.cli.common import TEXT_TABLES, Command, UsageError, read_matrix, read_vector, write_vector
from engine.manifold.k_deep_simplex import ATOMS_PER_CLUSTER, KDSConfig

DEFAULTS = KDSConfig()


def add_arguments(p) -> None:
    p.add_argument("points", help="points x dimensions: .npy, or a .csv / .txt table (e.g. a unit's spike features)")
    p.add_argument("--clusters", type=int, required=True, help="number of clusters")
    p.add_argument("--atoms", type=int, help=f"atoms of the local dictionary (default: {ATOMS_PER_CLUSTER} per cluster)")
    p.add_argument("--lam", type=float, default=DEFAULTS.lam, help="weight of the locality penalty")
    p.add_argument("--train-steps", type=int, default=DEFAULTS.train_steps, help="Adam steps that learn the atoms")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed)
    p.add_argument("--truth", help="true labels, one per point (.npy or text): print the accuracy, and k-means' beside it")
    p.add_argument("--out", help="the labels: .npy, or one a line in a .csv / .txt file (default: POINTS.labels.npy)")
    p.add_argument("--json", action="store_true", help="print one JSON summary")


def default_out(points_path) -> str:
    root, ext = os.path.splitext(os.fspath(points_path))
    return root + ".labels" + (ext if ext.lower() in TEXT_TABLES else ".npy")


def run(args) -> int:
    from engine.io.atomic import check_writable
    from engine.manifold.k_deep_simplex import clustering_accuracy, k_deep_simplex
    for name in ("clusters", "atoms", "train_steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1 (got {value})")
    if not args.lam >= 0:
        raise UsageError(f"--lam must be zero or positive (got {args.lam:g})")
    points = read_matrix(args.points, "points", "dimensions")
    n_atoms = args.atoms or ATOMS_PER_CLUSTER * args.clusters
    if len(points) < max(args.clusters, 2):
        raise UsageError(f"{args.points}: {len(points)} points cannot make {args.clusters} clusters")
    truth = read_vector(args.truth, len(points), "labels", "point") if args.truth else None
    out = args.out or default_out(args.points)
    check_writable(out)
    config = KDSConfig(n_clusters=args.clusters, n_atoms=n_atoms, lam=args.lam, train_steps=args.train_steps,
                       seed=args.seed)
    begin = time.perf_counter()
    result = k_deep_simplex(points, config)
    seconds = time.perf_counter() - begin
    write_vector(out, result.labels.astype(np.int64))
    summary = {"points": os.fspath(args.points), "n_points": len(points), "dimensions": points.shape[1],
               "clusters": args.clusters, "atoms": len(result.atoms), "lambda": args.lam,
               "sizes": np.bincount(result.labels, minlength=args.clusters).tolist(),
               "atoms_per_point": float((result.codes > 1e-6).sum(1).mean()), "seconds": seconds,
               "out": os.fspath(out)}
    if truth is not None:
        from sklearn.cluster import KMeans
        kmeans = KMeans(args.clusters, n_init=10, random_state=args.seed).fit_predict(points)
        summary.update(accuracy=clustering_accuracy(result.labels, truth),
                       kmeans_accuracy=clustering_accuracy(kmeans, truth))
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"K-deep simplex: {len(points)} points of {points.shape[1]} dimensions in {args.clusters} clusters "
          f"({summary['atoms']} atoms, lambda {args.lam:g}), {seconds:.1f} s")
    print(f"  cluster sizes: {', '.join(map(str, summary['sizes']))}; "
          f"{summary['atoms_per_point']:.1f} atoms per point")
    if truth is not None:
        print(f"  accuracy against {args.truth}: {summary['accuracy']:.3f} (k-means: {summary['kmeans_accuracy']:.3f})")
    print(f"  wrote {out}")
    return 0


COMMAND = Command("cluster", "cluster points along curved manifolds with K-deep simplex (local dictionaries)",
                  add_arguments, run)
