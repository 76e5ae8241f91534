"""Per-query score arrays of a BEIR collection, for the calibration and ranking experiments.

Indexes the collection with the project's own builder (the work folder of ``python -m indexer eval``,
so its vectors are reused), embeds every judged query once, and keeps for each query the dense cosine
and the BM25 score of *every* chunk, with the query's BM25 IDF mass. Experiments then rank, fuse and
calibrate in numpy without going back to the engine; ``python -m indexer eval`` remains the
reference figure for what ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from indexer.build import Builder
from indexer.config import LexicalSettings, Settings
from indexer.embedding import load_embedder
from indexer.evaluation import Collection, default_workdir, document_id, eval_settings, write_corpus
from indexer.snapshot import ChunkRecord, Snapshot, open_current
from indexer.snapshot.lexical import LexicalIndex, build_lexical

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class QueryScores:
    query_id: str
    text: str
    cosine: Floats
    """Cosine of the query to every chunk (row i is chunk row i)."""
    bm25: Floats
    """BM25 of every chunk (0 where no query term occurs)."""
    idf_mass: float
    """The query's BM25 IDF mass (terms missing from the collection included)."""
    relevant: frozenset[int]
    """Document numbers (see :attr:`Features.doc_ids`) judged relevant."""


@dataclass(frozen=True)
class Features:
    doc_of_row: npt.NDArray[np.int64]
    """Chunk row -> document number."""
    position: npt.NDArray[np.int64]
    """Chunk row -> its position in its document (0: first chunk)."""
    doc_ids: list[str]
    queries: list[QueryScores]

    @property
    def documents(self) -> int:
        return len(self.doc_ids)


def build_index(collection: Collection, settings: Settings, workdir: Path | None = None) -> Settings:
    """Index ``collection`` in its evaluation work folder (reusing its vectors); the settings that
    point at it."""
    run = eval_settings(settings, workdir or default_workdir(collection, settings))
    write_corpus(collection, run.seeds_dir)
    Builder(run, lambda: load_embedder(settings.model)).build()
    return run


def compute(
    collection: Collection, settings: Settings, workdir: Path | None = None, *, title_prefix: bool = False
) -> Features:
    """Every judged query's cosine and BM25 arrays over the collection's index. ``title_prefix``
    (experiment): every chunk after a document's first is embedded and BM25-indexed with the
    document's title line before it (the first chunk starts with it already)."""
    run = build_index(collection, settings, workdir)
    snapshot = open_current(run.index_dir, verify=False)
    try:
        return _compute(collection, settings, snapshot, title_prefix)
    finally:
        snapshot.close()


def _titled(
    snapshot: Snapshot, settings: Settings, chunks: list[ChunkRecord]
) -> tuple[LexicalIndex, npt.NDArray[np.float32]]:
    """A BM25 index and vectors of the chunks with the title line before every later chunk."""
    titles = {c.doc_id: c.text.split("\n", 1)[0] for c in chunks if c.position == 0}
    texts = [c.text if c.position == 0 else f"{titles[c.doc_id]}\n\n{c.text}" for c in chunks]
    later = [i for i, c in enumerate(chunks) if c.position > 0]
    vectors = np.array(snapshot.vectors(), dtype=np.float32)
    model = load_embedder(settings.model)
    vectors[later] = model.embed([texts[i] for i in later], batch_size=settings.model.batch_size)
    lexical_settings = msgspec.convert(msgspec.to_builtins(snapshot.manifest.lexical), LexicalSettings)
    return build_lexical(lexical_settings, texts), vectors


def _compute(collection: Collection, settings: Settings, snapshot: Snapshot, title_prefix: bool) -> Features:
    total = snapshot.index.ntotal
    chunks = snapshot.store.chunks(list(range(total)))
    doc_ids = sorted({document_id(c.doc_id) for c in chunks})
    number = {d: i for i, d in enumerate(doc_ids)}
    doc_of_row = np.array([number[document_id(c.doc_id)] for c in chunks], dtype=np.int64)
    position = np.array([c.position for c in chunks], dtype=np.int64)
    lexical: LexicalIndex = snapshot.lexical
    vectors = np.asarray(snapshot.vectors(), dtype=np.float32)
    if title_prefix:
        lexical, vectors = _titled(snapshot, settings, chunks)
    texts = list(collection.queries.values())
    query_vectors = load_embedder(settings.model).embed(texts, batch_size=64)
    cosines = query_vectors @ vectors.T
    queries = []
    for i, (query_id, text) in enumerate(collection.queries.items()):
        bm25, mass = lexical.scores_and_mass(text)
        judged = collection.qrels[query_id]
        relevant = frozenset(number[d] for d, rel in judged.items() if rel > 0 and d in number)
        queries.append(QueryScores(query_id, text, cosines[i].astype(np.float32), bm25, mass, relevant))
    return Features(doc_of_row, position, doc_ids, queries)
