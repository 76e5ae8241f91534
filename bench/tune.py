"""Parameter sweeps for retrieval tuning on a BEIR collection's train split (not a test).

Builds (or reuses) the index ``python -m indexer eval`` keeps in its work folder, embeds every query
once, and scores variants of the retrieval and lexical settings through the query engine the service
runs: each retrieval variant is a :class:`~indexer.search.SearchEngine` with those settings, each
lexical variant a BM25 index built in memory over the snapshot's chunk texts and swapped into the
snapshot (``dataclasses.replace``) that a :class:`~indexer.search.Searcher` then searches.

    python -m bench.tune --dataset ../shared/bench/scifact \\
        --retrieval '[{"dense_weight": 0.4}, {"dense_weight": 0.6}, {"fusion": "rrf"}]' \\
        --lexical '[{}, {"k1": 1.2, "b": 0.75}]'

One line per variant: its overrides, then nDCG@10, Recall@10, Recall@100 and MRR@10.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from bench.common import CONFIG
from indexer.build import Builder
from indexer.config import MODES, LexicalSettings, RetrievalSettings, Settings, load_settings
from indexer.embedding import load_embedder
from indexer.evaluation import (
    Collection,
    QueryVectors,
    default_workdir,
    eval_settings,
    load_beir,
    rank_documents,
    score,
    write_corpus,
)
from indexer.search import EngineOptions, SearchEngine, Searcher
from indexer.snapshot import Snapshot
from indexer.snapshot.lexical import LexicalIndex, build_lexical

ONE_AT_A_TIME = EngineOptions(max_batch=1, query_cache_size=0)
"""As ``indexer eval`` runs queries: one at a time, vectors from :class:`QueryVectors`."""


class Sweep:
    """One collection's index and query vectors, searched with variants of the settings."""

    def __init__(self, collection: Collection, settings: Settings, workdir: Path | None) -> None:
        self.collection = collection
        self.settings = eval_settings(settings, workdir or default_workdir(collection, settings))
        write_corpus(collection, self.settings.seeds_dir)
        model = load_embedder(settings.model)
        Builder(self.settings, lambda: model).build()  # nothing to do when the eval left it up to date
        self.embedder = QueryVectors(model, list(collection.queries.values()))
        engine = SearchEngine(self.settings, self.embedder, options=ONE_AT_A_TIME)
        searcher = engine.open_current(verify=False)
        self.snapshot: Snapshot = searcher.snapshot
        self.chunks = self.snapshot.store.chunks(range(self.snapshot.index.ntotal))
        self.texts = [c.text for c in self.chunks]
        self._lexical: dict[LexicalSettings, LexicalIndex] = {}

    def lexical(self, settings: LexicalSettings) -> LexicalIndex:
        if settings not in self._lexical:
            self._lexical[settings] = build_lexical(settings, self.texts)
        return self._lexical[settings]

    def title_chunks(self) -> None:
        """Experiment: the lexical text of every chunk after a document's first starts with the
        document's first line (its title in a BEIR corpus written by the evaluation)."""
        titles = {c.doc_id: c.text.split("\n", 1)[0] for c in self.chunks if c.position == 0}
        self.texts = [c.text if c.position == 0 else f"{titles[c.doc_id]}\n\n{c.text}" for c in self.chunks]
        self._lexical.clear()

    def run(
        self, mode: str, retrieval: RetrievalSettings, lexical: LexicalSettings | None = None
    ) -> dict[str, float]:
        snapshot = self.snapshot
        if lexical is not None:
            snapshot = dataclasses.replace(snapshot, lexical=self.lexical(lexical))
        settings = msgspec.structs.replace(self.settings, retrieval=retrieval)
        engine = SearchEngine(settings, self.embedder, options=ONE_AT_A_TIME)
        run, _ = rank_documents(Searcher(engine, snapshot), self.collection, mode)
        return score(self.collection, run)

    def close(self) -> None:
        self.snapshot.close()


def overrides(text: str, flag: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"{flag}: not JSON: {exc}") from exc
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise SystemExit(f"{flag}: expected a JSON list of objects, e.g. '[{{}}, {{\"k1\": 1.2}}]'")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tune", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--workdir", type=Path, help="default: python -m indexer eval's work folder")
    parser.add_argument("--mode", default="hybrid", choices=MODES)
    parser.add_argument("--retrieval", default="[{}]", help="JSON list of retrieval overrides to try")
    parser.add_argument("--lexical", default="[{}]", help="JSON list of lexical overrides to try")
    parser.add_argument(
        "--title-chunks", action="store_true", help="experiment: title before every chunk (BM25)"
    )
    args = parser.parse_args(argv)
    settings = load_settings(args.config, environ={})
    retrievals = overrides(args.retrieval, "--retrieval") or [{}]
    lexicals = overrides(args.lexical, "--lexical") or [{}]
    sweep = Sweep(load_beir(args.dataset, args.split), settings, args.workdir)
    try:
        if args.title_chunks:
            sweep.title_chunks()
        for lex_over in lexicals:
            lexical = msgspec.structs.replace(settings.lexical, **lex_over)
            for ret_over in retrievals:
                retrieval = msgspec.structs.replace(settings.retrieval, **ret_over)
                started = time.perf_counter()
                metrics = sweep.run(args.mode, retrieval, lexical)
                print(
                    json.dumps({"mode": args.mode, **lex_over, **ret_over})
                    + "  "
                    + " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
                    + f"  ({time.perf_counter() - started:.1f}s)",
                    flush=True,
                )
    finally:
        sweep.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
