"""Refit the calibrated score's curves (``indexer/search/calibration.py``) on a BEIR train split.

    python -m bench.calibrate --dataset ../shared/bench/scifact [--lexical-weight 1.0]

For every judged query, the passages each mode would score (the top 100 chunks of the dense list,
of the lexical list, and their union for hybrid) are labelled 1 when their document is judged
relevant, and a logistic curve is fitted by maximum likelihood over each mode's feature (cosine;
BM25 share of the query's IDF mass; ``cosine + lexical_weight * share``), the two classes weighted
equally: a score is the chance of relevance at even odds, not at SciFact's 1 relevant candidate in
65 (a base rate that belongs to that collection and its candidate depth, not to the passage).
Printed: the ``CALIBRATION`` constant to paste into ``indexer/search/calibration.py``, and each
curve's held-out (class-weighted) log-loss and calibration error under 5-fold cross-validation (fit
on 4 folds, score the 5th).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.features import Features, QueryScores, compute
from bench.ranking_cv import DEPTH, folds_of, top_rows
from indexer.config import MODES, load_settings
from indexer.evaluation import load_beir
from indexer.search.calibration import CALIBRATION, Logistic, bm25_share

Floats = npt.NDArray[np.float64]


def candidates(q: QueryScores, mode: str, depth: int = DEPTH) -> npt.NDArray[np.int64]:
    dense = top_rows(q.cosine, depth)
    lexical = top_rows(q.bm25, depth, positive=True)
    if mode == "dense":
        return dense
    if mode == "lexical":
        return lexical
    return np.union1d(dense, lexical)


def feature(q: QueryScores, rows: npt.NDArray[np.int64], mode: str, lexical_weight: float) -> Floats:
    cosine = q.cosine[rows].astype(np.float64)
    share = bm25_share(q.bm25[rows], q.idf_mass)
    if mode == "dense":
        return cosine
    if mode == "lexical":
        return share
    return cosine + lexical_weight * share


def samples(
    features: Features, queries: Sequence[int], mode: str, lexical_weight: float
) -> tuple[Floats, Floats]:
    """Every candidate passage's feature and label (1: its document is judged relevant)."""
    xs, ys = [], []
    for i in queries:
        q = features.queries[i]
        rows = candidates(q, mode)
        xs.append(feature(q, rows, mode, lexical_weight))
        ys.append(np.isin(features.doc_of_row[rows], list(q.relevant)).astype(np.float64))
    return np.concatenate(xs), np.concatenate(ys)


def balanced(y: Floats) -> Floats:
    """Sample weights giving both classes the same total weight."""
    positives = max(float(y.sum()), 1.0)
    negatives = max(float(len(y) - y.sum()), 1.0)
    return np.where(y > 0, len(y) / (2 * positives), len(y) / (2 * negatives))


def fit(x: Floats, y: Floats, iterations: int = 100) -> Logistic:
    """Class-balanced maximum-likelihood logistic regression of ``y`` on ``x`` (Newton's method)."""
    design = np.stack([np.ones_like(x), x], axis=1)
    weights = balanced(y)
    w = np.zeros(2)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(design @ w, -60, 60)))
        hessian = design.T @ (design * (weights * p * (1 - p))[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, design.T @ (weights * (p - y)))
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return Logistic(intercept=float(w[0]), slope=float(w[1]))


def log_loss(p: Floats, y: Floats) -> float:
    """Class-balanced log-loss (ln 2 = 0.693 is a coin's)."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(np.average(losses, weights=balanced(y)))


def calibration_error(p: Floats, y: Floats, bins: int = 10) -> float:
    """Expected calibration error at even odds: over equal-width bins of ``p``, the class-balanced
    share of relevant passages against the mean prediction, weighted by the bins' balanced mass."""
    weights = balanced(y)
    which = np.minimum((p * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            mass = weights[inside].sum()
            observed = (weights[inside] * y[inside]).sum() / mass
            error += mass / weights.sum() * abs(np.average(p[inside], weights=weights[inside]) - observed)
    return float(error)


def cross_validated(features: Features, mode: str, lexical_weight: float) -> tuple[float, float]:
    """Held-out log-loss and calibration error, pooled over the 5 folds."""
    probabilities, labels = [], []
    everything = np.arange(len(features.queries))
    for held in folds_of(len(features.queries)):
        curve = fit(*samples(features, np.setdiff1d(everything, held).tolist(), mode, lexical_weight))
        x, y = samples(features, held.tolist(), mode, lexical_weight)
        probabilities.append(curve(x))
        labels.append(y)
    p, y = np.concatenate(probabilities), np.concatenate(labels)
    return log_loss(p, y), calibration_error(p, y)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, required=True, help="BEIR-format collection folder")
    parser.add_argument("--split", default="train")
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--lexical-weight", type=float, default=CALIBRATION.lexical_weight)
    args = parser.parse_args(argv)
    settings = load_settings(args.config, environ={})
    features = compute(load_beir(args.dataset, args.split), settings)
    everything = list(range(len(features.queries)))
    curves = {}
    for mode in MODES:
        x, y = samples(features, everything, mode, args.lexical_weight)
        curves[mode] = fit(x, y)
        loss, error = cross_validated(features, mode, args.lexical_weight)
        print(
            f"# {mode:<8} {len(y)} candidates, {int(y.sum())} relevant; "
            f"held-out log-loss {loss:.4f}, calibration error {error:.4f}"
        )
    print("CALIBRATION = Calibration(")
    print(f'    version="{CALIBRATION.version}",  # change it with the values')
    print(f'    model="{settings.model.name}",')
    print(f"    lexical_weight={args.lexical_weight},")
    for mode in MODES:
        c = curves[mode]
        print(f"    {mode}=Logistic(intercept={c.intercept:.4f}, slope={c.slope:.4f}),")
    print(")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
