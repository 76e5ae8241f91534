"""Does the top result's score tell an answerable question from one the documents cannot answer?

    python -m bench.separability --dataset ../shared/bench/scifact [--mode hybrid] [--json out.json]

Every judged train query is searched three times through the query engine the service runs, with
the configured retrieval settings, and its top-1 score kept:

- *answerable*: against the whole corpus (the evaluation work folder of ``python -m indexer eval``);
- *unanswerable*: against the corpus without every document judged for a train query (565 of 5,183
  on SciFact), indexed for real (IDF and all) in a work folder of its own, seeded with a copy of the
  full index so that nothing is embedded again;
- *off-topic*: against another collection, the repository's ``seeds/`` (news), to check that the
  score means the same in a collection of another size and subject.

Printed: ROC AUC of the top-1 score, answerable against each negative set; precision and recall of
"answerable" at the configured ``retrieval.min_score`` and at a few other thresholds; how many of the
answerable queries have a judged document first (where the unanswerable run returns the same top
passage, no score can tell them apart).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from bench.features import build_index
from indexer.build import Builder
from indexer.config import MODES, Settings, load_settings
from indexer.evaluation import Collection, default_workdir, document_id, load_beir, roc_auc
from indexer.search import SearchEngine

Floats = npt.NDArray[np.float64]
THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
SEEDS = Path("seeds")


def precision_recall(
    positives: Sequence[float], negatives: Sequence[float], threshold: float
) -> tuple[float, float]:
    """Of the queries whose top score clears ``threshold``, the share answerable; and the share of
    answerable queries that clear it."""
    kept_pos = sum(1 for s in positives if s >= threshold)
    kept_neg = sum(1 for s in negatives if s >= threshold)
    precision = kept_pos / (kept_pos + kept_neg) if kept_pos + kept_neg else 1.0
    return precision, kept_pos / len(positives)


@dataclass
class TopOne:
    scores: list[float]
    judged_first: int
    """Queries whose top passage belongs to a judged document."""


def top_one(settings: Settings, collection: Collection, mode: str) -> TopOne:
    engine = SearchEngine(settings)
    searcher = engine.open_current(verify=False)
    scores, judged = [], 0
    try:
        for query_id, text in collection.queries.items():
            hits = searcher.search(text, 1, mode)
            scores.append(hits[0].score if hits else 0.0)
            if hits and document_id(hits[0].chunk.doc_id) in collection.qrels[query_id]:
                judged += 1
    finally:
        searcher.close()
        engine.close()
    return TopOne(scores, judged)


def without_judged(collection: Collection) -> Collection:
    judged = {d for docs in collection.qrels.values() for d in docs}
    corpus = {d: v for d, v in collection.corpus.items() if d not in judged}
    return Collection(f"{collection.name}-unjudged", corpus, collection.queries, collection.qrels)


def unanswerable_index(collection: Collection, settings: Settings, full: Settings) -> Settings:
    """Index the corpus without the judged documents, starting from a copy of the full index (so the
    builder drops documents and embeds nothing)."""
    reduced = without_judged(collection)
    workdir = default_workdir(reduced, settings)
    if not (workdir / "index").exists():
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(full.index_dir, workdir / "index", symlinks=True)
    return build_index(reduced, settings, workdir)


def off_topic_index(settings: Settings, seeds: Path, workdir: Path) -> Settings:
    run = msgspec.structs.replace(settings, seeds_dir=seeds.resolve(), index_dir=workdir / "index")
    Builder(run).build()
    return run


@dataclass(frozen=True)
class Separation:
    negatives: str
    auc: float
    threshold: float
    precision: float
    recall: float
    negatives_kept: float
    """Share of the negative queries whose top passage clears the threshold."""
    by_threshold: dict[float, tuple[float, float]]


def separation(name: str, answerable: TopOne, negative: TopOne, threshold: float) -> Separation:
    precision, recall = precision_recall(answerable.scores, negative.scores, threshold)
    return Separation(
        negatives=name,
        auc=roc_auc(answerable.scores, negative.scores),
        threshold=threshold,
        precision=precision,
        recall=recall,
        negatives_kept=float(np.mean([s >= threshold for s in negative.scores])),
        by_threshold={
            t: precision_recall(answerable.scores, negative.scores, t) for t in (*THRESHOLDS, threshold)
        },
    )


def report(runs: dict[str, TopOne], rows: list[Separation], queries: int) -> str:
    judged = runs["answerable"].judged_first
    lines = [f"answerable: a judged document first for {judged} of {queries} ({judged / queries:.1%})"]
    for name, top in runs.items():
        p10, p50, p90 = np.percentile(top.scores, [10, 50, 90])
        lines.append(f"  {name:<13} top-1 score p10 {p10:.3f}, median {p50:.3f}, p90 {p90:.3f}")
    for row in rows:
        lines.append(
            f"{row.negatives}: ROC AUC {row.auc:.4f}; at {row.threshold}: precision {row.precision:.4f}, "
            f"recall {row.recall:.4f}, negatives kept {row.negatives_kept:.4f}"
        )
        pairs = ", ".join(f"{t}: {p:.3f}/{r:.3f}" for t, (p, r) in sorted(row.by_threshold.items()))
        lines.append(f"  precision/recall by threshold: {pairs}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, required=True, help="BEIR-format collection folder")
    parser.add_argument("--split", default="train")
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--mode", default="hybrid", choices=MODES)
    parser.add_argument("--seeds", type=Path, default=SEEDS, help="the off-topic collection")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    settings = load_settings(args.config, environ={})
    collection = load_beir(args.dataset, args.split)
    full = build_index(collection, settings)
    off_topic_dir = default_workdir(collection, settings).parent / "separability-off-topic"
    runs = {
        "answerable": top_one(full, collection, args.mode),
        "unanswerable": top_one(unanswerable_index(collection, settings, full), collection, args.mode),
        "off-topic": top_one(off_topic_index(settings, args.seeds, off_topic_dir), collection, args.mode),
    }
    threshold = settings.retrieval.min_score
    rows = [
        separation(
            "unanswerable (judged documents removed)", runs["answerable"], runs["unanswerable"], threshold
        ),
        separation(f"off-topic ({args.seeds})", runs["answerable"], runs["off-topic"], threshold),
    ]
    queries = len(collection.queries)
    print(f"{queries} queries, mode {args.mode}, default threshold retrieval.min_score = {threshold}")
    print(report(runs, rows, queries))
    if args.json:
        data = {
            "mode": args.mode,
            "queries": queries,
            "results": [msgspec.to_builtins(r, str_keys=True) for r in rows],
        }
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
