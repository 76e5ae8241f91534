"""Delta segments: the documents an update changed, written with the snapshot writers (store, exact
vector index, BM25) into ``segments/<id>/``; and the merge of several small segments into one, which
copies their live chunks and vectors (nothing is read or embedded again).

A segment is small, so its vector index is always exact (``flat``): searching a few thousand vectors
exactly costs less than a graph would, and its scores are the exact cosines the base's index
approximates.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from indexer.build.collect import Collected, Collector
from indexer.build.processor_factory import processor_for
from indexer.build.write import Written, write_snapshot_manifest
from indexer.config import Settings
from indexer.embedding import Embedder
from indexer.reading.documents import SourceFile
from indexer.snapshot.layout import INDEX_NAME, LEXICAL_DIR, STORE_NAME, VECTORS_NAME
from indexer.snapshot.lexical import build_lexical
from indexer.snapshot.manifest import IndexInfo, Manifest
from indexer.snapshot.publish import new_snapshot_id, publish_segment, segment_staging_dir
from indexer.snapshot.reader import Snapshot
from indexer.snapshot.state import PartRef
from indexer.snapshot.store import StoreWriter
from indexer.snapshot.vectors import build_index


@dataclasses.dataclass(frozen=True)
class Segment:
    """A delta segment written and moved into place (not yet named by the live state)."""

    id: str
    collected: Collected


def write_delta(
    settings: Settings, base: Manifest, sources: Sequence[SourceFile], embedder: Callable[[], Embedder]
) -> Segment:
    """Read, chunk and embed ``sources`` (the model is loaded only if something needs embedding) and
    write them as a new segment; a source that cannot be read is listed in its manifest as skipped."""
    started = time.perf_counter()
    segment_id = new_snapshot_id()
    staged = segment_staging_dir(settings.index_dir, segment_id)
    writer = StoreWriter(staged / STORE_NAME)
    collected = Collector(settings, writer, None, processor_for(settings, embedder)).run(list(sources))
    _write_files(settings, staged, segment_id, collected, base, started)
    publish_segment(settings.index_dir, staged, segment_id)
    return Segment(segment_id, collected)


def merge_parts(settings: Settings, base: Manifest, parts: Sequence[tuple[Path, PartRef]]) -> Segment:
    """One segment holding the live documents (and skipped files) of ``parts`` (each a segment
    folder and its deletion marks), their chunks and vectors copied."""
    started = time.perf_counter()
    segment_id = new_snapshot_id()
    staged = segment_staging_dir(settings.index_dir, segment_id)
    writer = StoreWriter(staged / STORE_NAME)
    out = Collected()
    for directory, ref in parts:
        snapshot = Snapshot.open(directory, verify=False)
        try:
            _copy_live(snapshot, frozenset(ref.deleted), writer, out)
        finally:
            snapshot.close()
    writer.close()
    _write_files(settings, staged, segment_id, out, base, started)
    publish_segment(settings.index_dir, staged, segment_id)
    return Segment(segment_id, out)


def _copy_live(snapshot: Snapshot, deleted: frozenset[str], writer: StoreWriter, out: Collected) -> None:
    """Append ``snapshot``'s documents not in ``deleted`` to ``writer`` and ``out``, in row order."""
    manifest = snapshot.manifest
    out.skipped.update({k: v for k, v in manifest.skipped.items() if k not in deleted})
    for record in snapshot.store.iter_documents(order="first_row"):
        if record.doc_id in deleted:
            continue
        full = snapshot.store.document(record.doc_id)
        assert full is not None
        chunks = snapshot.store.chunks_of(record.doc_id)
        row = out.rows
        writer.add_document(dataclasses.replace(full, first_row=row))
        writer.add_chunks(dataclasses.replace(c, row=row + i) for i, c in enumerate(chunks))
        out.fields.add(full.metadata)
        out.texts.extend(c.text for c in chunks)
        out.parts.append((row, snapshot.vector_rows([c.row for c in chunks]), len(chunks)))
        out.entries[record.doc_id] = manifest.documents[record.doc_id]
        out.reused += 1


def _write_files(
    settings: Settings, staged: Path, segment_id: str, collected: Collected, base: Manifest, started: float
) -> None:
    """The segment's vectors, exact vector index, BM25 index (the base's keyword settings) and
    manifest (the base's model: its vectors are comparable with the base's)."""
    vectors = collected.vectors(base.model.dimension)
    np.save(staged / VECTORS_NAME, vectors)
    plan = IndexInfo(type="flat", vectors=collected.rows, requested=settings.index.type)
    build_index(plan, vectors).save(staged / INDEX_NAME)
    build_lexical(base.lexical, collected.texts).save(staged / LEXICAL_DIR)
    limit = base.chunking.model_token_limit
    seconds = time.perf_counter() - started
    write_snapshot_manifest(
        settings, staged, segment_id, collected, Written(plan, True), base.model, limit, seconds
    )
