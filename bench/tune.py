"""Parameter sweeps for retrieval tuning on a BEIR collection's train split (not a test).

Reuses the index that ``python -m indexer eval`` left in its work folder (so nothing is embedded
again), embeds every query once, and scores variants of the retrieval and lexical settings through
the same Retriever the service uses. Lexical variants are rebuilt in memory with the project's
``build_lexical`` over the snapshot's chunk texts.

    python bench/tune.py --dataset ../shared/bench/scifact sweep-name [sweep-name ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import msgspec

from indexer.config import LexicalSettings, RetrievalSettings, Settings, load_settings
from indexer.embedding import load_embedder
from indexer.evaluation import (
    Collection,
    QueryVectors,
    default_workdir,
    eval_settings,
    load_beir,
    rank_documents,
    score,
)
from indexer.search.retriever import Retriever
from indexer.snapshot import Snapshot, open_current
from indexer.snapshot.lexical import LexicalIndex, build_lexical


class Bench:
    def __init__(self, collection: Collection, settings: Settings, workdir: Path | None) -> None:
        self.collection = collection
        self.settings = eval_settings(settings, workdir or default_workdir(collection, settings))
        self.snapshot = open_current(self.settings.index_dir, verify=False)
        embedder = load_embedder(settings.model)
        self.embedder = QueryVectors(embedder, list(collection.queries.values()))
        n = self.snapshot.index.ntotal
        self.chunks = self.snapshot.store.chunks(list(range(n)))
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
        snapshot: Snapshot = self.snapshot
        if lexical is not None:
            snapshot = dataclasses.replace(snapshot, lexical=self.lexical(lexical))
        retriever = Retriever(snapshot, self.embedder, retrieval)
        run, _ = rank_documents(retriever, self.collection, mode)
        return score(self.collection, run)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1] / "config.yaml")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--mode", default="hybrid")
    parser.add_argument("--retrieval", default="[]", help="JSON list of retrieval overrides to try")
    parser.add_argument("--lexical", default="[{}]", help="JSON list of lexical overrides to try")
    parser.add_argument(
        "--title-chunks", action="store_true", help="experiment: title before every chunk (BM25)"
    )
    args = parser.parse_args()
    settings = load_settings(args.config, environ={})
    bench = Bench(load_beir(args.dataset, args.split), settings, args.workdir)
    if args.title_chunks:
        bench.title_chunks()
    retrievals = json.loads(args.retrieval) or [{}]
    lexicals = json.loads(args.lexical)
    for lex_over in lexicals:
        lexical = msgspec.structs.replace(settings.lexical, **lex_over)
        for ret_over in retrievals:
            retrieval = msgspec.structs.replace(settings.retrieval, **ret_over)
            started = time.perf_counter()
            m = bench.run(args.mode, retrieval, lexical)
            print(
                json.dumps({"mode": args.mode, **lex_over, **ret_over})
                + "  "
                + " ".join(f"{k}={v:.4f}" for k, v in m.items())
                + f"  ({time.perf_counter() - started:.1f}s)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
