"""Ranking experiments on a BEIR collection's train split, each scored by 5-fold cross-validation.

    python -m bench.ranking_cv --dataset ../shared/bench/scifact [--experiment NAME ...]
        [--max-tokens N --overlap N] [--title-prefix]

Every judged query's cosine and BM25 arrays over the whole index are computed once
(:mod:`bench.features`); each experiment is a family of document rankings with a few parameters.
The queries are split into 5 folds (a fixed shuffle); for each fold the parameters with the best mean
nDCG@10 on the other 4 are chosen and the held-out fold is scored with them. Printed: the mean of the
5 held-out figures ± their standard deviation, and the parameters each fold chose. A document scores
as its best chunk unless the experiment says otherwise; documents are ranked as ``python -m indexer
eval`` ranks them (which stays the reference figure for what ships).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from bench.features import Features, QueryScores, compute
from indexer.config import load_settings
from indexer.evaluation import load_beir

Params = dict[str, float]
Scores = npt.NDArray[np.float64]
Ranker = Callable[[QueryScores, Features, Params], Scores]
"""Scores of every document for one query (``-inf``: not retrieved)."""

FOLDS = 5
SEED = 20261201
DEPTH = 100


# -- document scores from chunk scores -------------------------------------------------------------


def top_rows(scores: npt.NDArray[np.floating], depth: int, positive: bool = False) -> npt.NDArray[np.int64]:
    """The ``depth`` best rows (only rows scoring above 0 with ``positive``)."""
    rows = np.flatnonzero(scores > 0) if positive else np.arange(len(scores))
    if len(rows) > depth:
        rows = rows[np.argpartition(-scores[rows], depth - 1)[:depth]]
    return rows.astype(np.int64)


def max_per_doc(rows: npt.NDArray[np.int64], values: Scores, features: Features) -> Scores:
    out = np.full(features.documents, -np.inf)
    np.maximum.at(out, features.doc_of_row[rows], values)
    return out


def decayed_sum(rows: npt.NDArray[np.int64], values: Scores, features: Features, decay: float) -> Scores:
    """A document's best chunk score plus ``decay**i`` times its i-th next best (i >= 1)."""
    out = np.full(features.documents, -np.inf)
    docs = features.doc_of_row[rows]
    order = np.lexsort((-values, docs))
    seen: dict[int, int] = {}
    for i in order.tolist():
        d = int(docs[i])
        n = seen.get(d, 0)
        out[d] = values[i] if n == 0 else out[d] + decay**n * values[i]
        seen[d] = n + 1
    return out


# -- fusion families --------------------------------------------------------------------------------


def _minmax(values: Scores) -> Scores:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.ones_like(values)


def minmax_fusion(q: QueryScores, w: float, depth: int) -> tuple[npt.NDArray[np.int64], Scores]:
    """The engine's weighted fusion: each list's top ``depth`` chunks min-max normalised, a chunk
    missing from a list getting that list's lowest score."""
    dense = top_rows(q.cosine, depth)
    lexical = top_rows(q.bm25, depth, positive=True)
    rows = np.union1d(dense, lexical)
    parts = []
    for chosen, values in ((dense, q.cosine), (lexical, q.bm25)):
        if not len(chosen):
            parts.append(np.zeros(len(rows)))
            continue
        low = float(values[chosen].min())
        inside = np.isin(rows, chosen)
        v = np.where(inside, values[rows], low).astype(np.float64)
        high = float(values[chosen].max())
        parts.append((v - low) / (high - low) if high > low else np.ones(len(rows)))
    return rows, w * parts[0] + (1 - w) * parts[1]


def engine_depth(q: QueryScores, features: Features, w: float, start: int = DEPTH) -> int:
    """The depth at which the engine's lists hold ``DEPTH`` documents (it deepens by doubling)."""
    depth, total = start, len(q.cosine)
    while depth < total:
        rows, _ = minmax_fusion(q, w, depth)
        if len(np.unique(features.doc_of_row[rows])) >= DEPTH:
            break
        depth = min(2 * depth, total)
    return depth


def rank_minmax(q: QueryScores, features: Features, p: Params) -> Scores:
    w = p.get("w", 0.5)
    depth = engine_depth(q, features, w, int(p.get("depth", DEPTH)))
    rows, fused = minmax_fusion(q, w, depth)
    return aggregate(rows, fused, features, p)


def rank_dense(q: QueryScores, features: Features, p: Params) -> Scores:
    rows = top_rows(q.cosine, 4 * DEPTH)
    return aggregate(rows, q.cosine[rows].astype(np.float64), features, p)


def rank_lexical(q: QueryScores, features: Features, p: Params) -> Scores:
    rows = top_rows(q.bm25, 4 * DEPTH, positive=True)
    return aggregate(rows, q.bm25[rows].astype(np.float64), features, p)


def share(q: QueryScores) -> npt.NDArray[np.float64]:
    """BM25 as a share of the query's IDF mass (scale-free across queries and collections)."""
    return q.bm25.astype(np.float64) / q.idf_mass if q.idf_mass > 0 else np.zeros(len(q.bm25))


def rank_linear(q: QueryScores, features: Features, p: Params) -> Scores:
    """``cosine + c * bm25 / idf_mass`` over the union of both top lists (the calibrated score's
    ranking: a logistic model over these two features orders chunks by such a sum)."""
    depth = int(p.get("depth", DEPTH))
    rows = np.union1d(top_rows(q.cosine, depth), top_rows(q.bm25, depth, positive=True))
    values = q.cosine[rows] + p["c"] * share(q)[rows]
    return aggregate(rows, values, features, p)


def rank_zscore(q: QueryScores, features: Features, p: Params) -> Scores:
    """Each list standardised by its own top-``DEPTH`` mean and deviation, then weighted."""
    dense = top_rows(q.cosine, DEPTH)
    lexical = top_rows(q.bm25, DEPTH, positive=True)
    rows = np.union1d(dense, lexical)
    parts = []
    for chosen, values in ((dense, q.cosine), (lexical, q.bm25)):
        if len(chosen) < 2:
            parts.append(np.zeros(len(rows)))
            continue
        top = values[chosen].astype(np.float64)
        v = np.maximum(values[rows], top.min()).astype(np.float64)
        parts.append((v - top.mean()) / (top.std() or 1.0))
    w = p["w"]
    return aggregate(rows, w * parts[0] + (1 - w) * parts[1], features, p)


def rank_rrf(q: QueryScores, features: Features, p: Params) -> Scores:
    k = p.get("k", 60)
    dense = top_rows(q.cosine, DEPTH)
    dense = dense[np.argsort(-q.cosine[dense], kind="stable")]
    lexical = top_rows(q.bm25, DEPTH, positive=True)
    lexical = lexical[np.argsort(-q.bm25[lexical], kind="stable")]
    fused: dict[int, float] = {}
    for ranked in (dense, lexical):
        for r, row in enumerate(ranked.tolist(), start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + r)
    rows = np.array(list(fused), dtype=np.int64)
    return aggregate(rows, np.array(list(fused.values())), features, p)


def rank_adaptive(q: QueryScores, features: Features, p: Params) -> Scores:
    """Min-max fusion whose dense weight depends on the query: ``w_short`` for queries of at most
    ``length`` words, else ``w_long``; or (``by == 1``) ``w_short`` when the best chunk's BM25 share
    is at least ``length / 10`` (rare exact terms matched: lean lexical)."""
    if p.get("by", 0) == 1:
        strong = float(share(q).max()) >= p["length"] / 10
        w = p["w_short"] if strong else p["w_long"]
    else:
        w = p["w_short"] if len(q.text.split()) <= p["length"] else p["w_long"]
    return rank_minmax(q, features, {**p, "w": w})


def rank_linear_by_length(q: QueryScores, features: Features, p: Params) -> Scores:
    """:func:`rank_linear` with the BM25 weight ``c_short`` for queries of at most ``length`` words,
    else ``c_long``."""
    c = p["c_short"] if len(q.text.split()) <= p["length"] else p["c_long"]
    return rank_linear(q, features, {**p, "c": c})


def aggregate(rows: npt.NDArray[np.int64], values: Scores, features: Features, p: Params) -> Scores:
    decay = p.get("decay", 0.0)
    if decay > 0:
        return decayed_sum(rows, values.astype(np.float64), features, decay)
    return max_per_doc(rows, values.astype(np.float64), features)


# -- metrics and cross-validation -------------------------------------------------------------------


def ndcg10(scores: Scores, relevant: frozenset[int]) -> float:
    if not relevant:
        return 0.0
    found = np.flatnonzero(np.isfinite(scores))
    top = found[np.argsort(-scores[found], kind="stable")[:10]]
    dcg = sum(1 / np.log2(i + 2) for i, d in enumerate(top.tolist()) if d in relevant)
    ideal = sum(1 / np.log2(i + 2) for i in range(min(10, len(relevant))))
    return float(dcg / ideal)


@dataclass(frozen=True)
class Experiment:
    name: str
    ranker: Ranker
    grid: dict[str, Sequence[float]]

    def settings(self) -> list[Params]:
        keys = list(self.grid)
        return [dict(zip(keys, values, strict=True)) for values in itertools.product(*self.grid.values())]


@dataclass(frozen=True)
class CvResult:
    name: str
    folds: list[float]
    chosen: list[Params]

    @property
    def mean(self) -> float:
        return float(np.mean(self.folds))

    @property
    def spread(self) -> float:
        return float(np.std(self.folds))


def folds_of(count: int, folds: int = FOLDS, seed: int = SEED) -> list[npt.NDArray[np.int64]]:
    order = np.random.default_rng(seed).permutation(count)
    return [np.sort(part).astype(np.int64) for part in np.array_split(order, folds)]


def cross_validate(experiment: Experiment, features: Features) -> CvResult:
    settings = experiment.settings()
    per_query = np.array(
        [[ndcg10(experiment.ranker(q, features, p), q.relevant) for q in features.queries] for p in settings]
    )
    folds, chosen = [], []
    for held in folds_of(len(features.queries)):
        train = np.setdiff1d(np.arange(len(features.queries)), held)
        best = int(np.argmax(per_query[:, train].mean(axis=1)))
        folds.append(float(per_query[best, held].mean()))
        chosen.append(settings[best])
    return CvResult(experiment.name, folds, chosen)


DECAYS = (0.0, 0.1, 0.2, 0.3, 0.5)
EXPERIMENTS = {
    e.name: e
    for e in (
        Experiment("dense", rank_dense, {}),
        Experiment("lexical", rank_lexical, {}),
        Experiment("minmax-w0.5", rank_minmax, {"w": [0.5]}),
        Experiment("minmax-w", rank_minmax, {"w": [0.3, 0.4, 0.5, 0.6, 0.7]}),
        Experiment("minmax-depth", rank_minmax, {"w": [0.5], "depth": [100, 200, 400]}),
        Experiment("rrf", rank_rrf, {"k": [10, 30, 60]}),
        Experiment("zscore", rank_zscore, {"w": [0.3, 0.4, 0.5, 0.6, 0.7]}),
        Experiment("linear", rank_linear, {"c": [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0]}),
        Experiment("linear-depth", rank_linear, {"c": [0.75, 1.0, 1.5, 2.0], "depth": [100, 200, 400]}),
        Experiment("minmax-decay", rank_minmax, {"w": [0.5], "decay": DECAYS}),
        Experiment("linear-decay", rank_linear, {"c": [0.75, 1.0, 1.5, 2.0], "decay": DECAYS}),
        Experiment(
            "linear-length",
            rank_linear_by_length,
            {"c_short": [0.75, 1.0, 1.5, 2.0], "c_long": [0.75, 1.0, 1.5, 2.0], "length": [8, 12, 16]},
        ),
        Experiment(
            "adaptive-length",
            rank_adaptive,
            {"w_short": [0.3, 0.4, 0.5], "w_long": [0.5, 0.6, 0.7], "length": [8, 12, 16]},
        ),
        Experiment(
            "adaptive-bm25",
            rank_adaptive,
            {"by": [1], "w_short": [0.3, 0.4, 0.5], "w_long": [0.5, 0.6, 0.7], "length": [2, 3, 4, 5]},
        ),
    )
}


BASELINE = "minmax-w0.5"
"""The shipped ranking before this work (weighted min-max fusion, w=0.5): the reference of each delta."""


def report(result: CvResult, baseline: CvResult | None = None) -> str:
    """One line: held-out nDCG@10 mean ± spread over the folds, the paired per-fold difference to
    ``baseline`` (mean ± spread), and the parameters the folds chose."""
    chosen = sorted({json.dumps(c, sort_keys=True) for c in result.chosen})
    line = f"{result.name:<18} nDCG@10 {result.mean:.4f} ± {result.spread:.4f}"
    if baseline is not None:
        delta = np.array(result.folds) - np.array(baseline.folds)
        line += f"  vs {baseline.name} {delta.mean():+.4f} ± {delta.std():.4f}"
    return f"{line}  chosen {' | '.join(chosen)}"


def versus(features: Features, default: Features, names: Sequence[str]) -> None:
    """Each experiment on ``features`` against the same experiment on the default chunking."""
    for name in names:
        result = cross_validate(EXPERIMENTS[name], features)
        reference = cross_validate(EXPERIMENTS[name], default)
        print(report(result, CvResult(f"{name} (default chunking)", reference.folds, reference.chosen)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, required=True, help="BEIR-format collection folder")
    parser.add_argument("--split", default="train")
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--experiment", action="append", choices=sorted(EXPERIMENTS), help="default: all")
    parser.add_argument("--max-tokens", type=int, help="chunking.max_tokens (re-embeds in its own folder)")
    parser.add_argument("--overlap", type=int, help="chunking.overlap_tokens")
    parser.add_argument("--title-prefix", action="store_true", help="title before every later chunk")
    parser.add_argument(
        "--versus-default",
        action="store_true",
        help="compare each experiment with itself on the configured chunking (paired, per fold)",
    )
    args = parser.parse_args(argv)
    settings = load_settings(args.config, environ={})
    chunking = settings.chunking
    if args.max_tokens is not None:
        chunking = msgspec.structs.replace(chunking, max_tokens=args.max_tokens)
    if args.overlap is not None:
        chunking = msgspec.structs.replace(chunking, overlap_tokens=args.overlap)
    collection = load_beir(args.dataset, args.split)
    variant = msgspec.structs.replace(settings, chunking=chunking)
    features = compute(collection, variant, title_prefix=args.title_prefix)
    if args.versus_default:
        versus(features, compute(collection, settings), args.experiment or list(EXPERIMENTS))
        return 0
    print(
        f"{len(features.queries)} queries, {features.documents} documents, {len(features.doc_of_row)} chunks"
    )
    baseline = cross_validate(EXPERIMENTS[BASELINE], features)
    for name in args.experiment or list(EXPERIMENTS):
        print(report(cross_validate(EXPERIMENTS[name], features), baseline), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
