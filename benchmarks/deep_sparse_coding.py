"""Deep sparse coding: dictionary errors against the number of examples, beside the theorem's n = O(max(r1^2, r1 s)).

    python benchmarks/deep_sparse_coding.py [--seeds 0 1] [--methods unrolled sklearn] [--out results.json]

Simulates y = A2 A1 x + noise (engine.deep.deep_sparse_coding.simulate_deep_sparse:
d = 30, r2 = 20, s = 2 nonzeros in x, s_A1 = 3 per column of A1, noise 0.01)
for r1 = 20, 40 and 80, with n = r1^2 / 32 ... 2 r1^2 examples, starts both
dictionaries at filter error 0.3 from the truth (the theorem is local) and
learns them with engine.deep.deep_sparse_coding's defaults. Reports, per
(r1, n), the mean filter error of A1's and A2's atoms, the fraction of A1's
atoms within 0.05, and the fraction of nonzero codes at each layer (the
talk's "increasingly sparse activations up the hierarchy"), averaged over
the seeds.

The peer (``--methods sklearn``): scikit-learn's DictionaryLearning, the
usual one-layer dictionary learning (lasso codes by coordinate descent,
block coordinate descent on the atoms), stacked the same way: A2 learned
from y, then A1 (nonnegative) from the codes of y, from the same start, with
the same lambda, nonnegative codes and 40 rounds a layer.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from engine.deep.deep_sparse_coding import (DeepSparseConfig, dictionary_errors, learn_deep_sparse_coding, perturbed,
                                            simulate_deep_sparse)
from motifs_speed import machine
from poisson_denoising import save_results

D, R2, S, S_A1, NOISE, START_ERROR = 30, 20, 2, 3, 0.01, 0.3
WIDTHS = (20, 40, 80)
FRACTIONS = (1 / 32, 1 / 8, 1 / 2, 1, 2)  # n / r1^2


def problem(r1: int, n: int, seed: int):
    """The simulated examples and the start at filter error START_ERROR, the same for every method."""
    rng = np.random.default_rng(seed)
    sim = simulate_deep_sparse(n, D, R2, r1, S, S_A1, NOISE, rng)
    return sim, (perturbed(sim.a2, START_ERROR, rng), perturbed(sim.a1, START_ERROR, rng))


def unrolled(sim, start):
    model = learn_deep_sparse_coding(sim.y, start)
    return model.dictionaries(), model.encode(sim.y)


def sklearn_layer(data: np.ndarray, start: np.ndarray, lam: float, nonnegative: bool):
    from sklearn.decomposition import DictionaryLearning, sparse_encode
    rounds = DeepSparseConfig().iterations
    codes = sparse_encode(data, start.T, algorithm="lasso_cd", alpha=lam, positive=True)  # dict_init needs code_init
    layer = DictionaryLearning(start.shape[1], alpha=lam, max_iter=rounds, fit_algorithm="cd",
                               transform_algorithm="lasso_cd", transform_alpha=lam, positive_code=True,
                               positive_dict=nonnegative, dict_init=start.T.copy(), code_init=codes, random_state=0)
    return layer.fit_transform(data), layer.components_.T


def sklearn_stacked(sim, start):
    lam = DeepSparseConfig().lam
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # coordinate descent's convergence warnings
        x2, a2 = sklearn_layer(sim.y.astype(np.float64), start[0], lam[0], nonnegative=False)
        x, a1 = sklearn_layer(x2, np.clip(start[1], 0, None), lam[1], nonnegative=True)
    return (a2, a1), (x2, x)


METHODS = {"unrolled": unrolled, "sklearn": sklearn_stacked}


def one_run(r1: int, n: int, seed: int, method: str = "unrolled") -> dict:
    sim, start = problem(r1, n, seed)
    begin = time.process_time()
    (a2, a1), (x2, x) = METHODS[method](sim, start)
    seconds = time.process_time() - begin
    e2, e1 = dictionary_errors(a2, sim.a2), dictionary_errors(a1, sim.a1)
    return {"A2 error": float(e2.mean()), "A1 error": float(e1.mean()), "A1 within 0.05": float(np.mean(e1 < 0.05)),
            "x2 density": float((x2 > 1e-6).mean()), "x density": float((x > 1e-6).mean()),
            "true x2 density": float((sim.x @ sim.a1.T > 0).mean()), "true x density": S / r1, "seconds": seconds}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="deep_sparse_coding")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": []}
    for method in args.methods:
        print(f"\n{method}\n\n| r1 | n | n / max(r1^2, r1 s) | A2 error | A1 error | A1 atoms within 0.05 "
              "| nonzero x2 (true) | nonzero x (true) | seconds |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r1 in WIDTHS:
            for fraction in FRACTIONS:
                n = max(int(fraction * r1 * r1), 2 * r1)
                runs = [one_run(r1, n, seed, method) for seed in args.seeds]
                mean = {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}
                results["runs"].append({"method": method, "r1": r1, "n": n, **mean})
                print(f"| {r1} | {n} | {n / max(r1 * r1, r1 * S):.3g} | {mean['A2 error']:.3f} "
                      f"| {mean['A1 error']:.3f} | {mean['A1 within 0.05']:.2f} "
                      f"| {mean['x2 density']:.3f} ({mean['true x2 density']:.3f}) "
                      f"| {mean['x density']:.3f} ({mean['true x density']:.3f}) | {mean['seconds']:.1f} |", flush=True)
    print(f"\nMachine: {results['machine']}; {results['date']}")
    save_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
