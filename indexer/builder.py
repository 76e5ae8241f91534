"""Build (or incrementally rebuild) a snapshot from the seeds folder and publish it atomically."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from indexer import __version__
from indexer.chunking import Chunker, TokenLimit
from indexer.config import Settings
from indexer.documents import Document, SourceFile, discover, load_source, parse_document
from indexer.embedder import Embedder, load_embedder
from indexer.embedding_pipeline import EmbeddingPipeline
from indexer.encodings import get_encoding
from indexer.errors import IndexerError, NoSnapshotError, SnapshotError, UnreadableDocumentError
from indexer.lexical import LEXICAL_DIR, build_lexical
from indexer.manifest import (
    SCHEMA_VERSION,
    ChunkingInfo,
    Counts,
    DocumentEntry,
    IndexInfo,
    LexicalInfo,
    Manifest,
    ModelInfo,
    SkippedEntry,
    file_entry,
    read_manifest,
    write_manifest,
)
from indexer.publish import build_lock, new_snapshot_id, publish, staging_dir
from indexer.snapshot import VECTORS_NAME, Snapshot, current_dir, data_files
from indexer.store import STORE_NAME, ChunkRecord, DocumentRecord, StoreWriter
from indexer.vectors import INDEX_NAME, build_index
from indexer.vectors.choice import plan_index, same_structure

log = logging.getLogger(__name__)

EmbedderFactory = Callable[[], Embedder]
EMBED_BLOCK = 1024
"""Chunks sorted together before batching: on SciFact, batches cut from blocks of 1,024 pad 2% more
tokens than from one global sort (256: 8%), and embedding starts after the first 1,024 chunks."""
_VERSIONED = (
    "faiss-cpu",
    "numpy",
    "sentence-transformers",
    "torch",
    "transformers",
    "tokenizers",
    "onnx",
    "onnxruntime",
    "tiktoken",
    "litestar",
)


@dataclass(frozen=True)
class BuildReport:
    snapshot_id: str
    published: bool
    """False when the current snapshot was already up to date and nothing was written."""
    documents: int
    chunks: int
    embedded_documents: int = 0
    embedded_chunks: int = 0
    reused_documents: int = 0
    deleted_documents: int = 0
    index_type: str = ""
    """The vector index type built (``index.type: auto`` picks one by size)."""
    index_rebuilt: bool = True
    """False when the previous snapshot's vector index file was reused as it is."""
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    path: Path | None = None


@dataclass
class _Pending:
    document: Document
    chunks: list[ChunkRecord]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "indexer": __version__}
    for dist in _VERSIONED:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


class Builder:
    def __init__(
        self,
        settings: Settings,
        embedder_factory: EmbedderFactory | None = None,
        *,
        progress: bool = False,
    ) -> None:
        self.settings = settings
        self._embedder_factory = embedder_factory or (lambda: load_embedder(settings.model))
        self._embedder: Embedder | None = None
        self.progress = progress

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    # -- public -------------------------------------------------------------------------------

    def build(self, *, force: bool = False) -> BuildReport:
        started = time.perf_counter()
        seeds = self.settings.seeds_dir
        if not seeds.is_dir():
            raise IndexerError(f"seeds folder not found: {seeds}")
        index_dir = self.settings.index_dir
        with build_lock(index_dir):
            previous = None if force else self._previous_manifest()
            sources = [load_source(seeds, path) for path in discover(seeds)]
            if (
                previous is not None
                and previous.lexical == self._lexical_info()
                and previous.index == self._index_plan(previous.index.vectors, previous.model.dimension)
                and self._up_to_date(previous, sources)
            ):
                return BuildReport(
                    snapshot_id=previous.snapshot_id,
                    published=False,
                    documents=previous.counts.documents,
                    chunks=previous.counts.chunks,
                    reused_documents=previous.counts.documents,
                    skipped={k: v.reason for k, v in previous.skipped.items()},
                    seconds=time.perf_counter() - started,
                    path=current_dir(index_dir),
                )
            if previous is not None and not self._same_artifact(previous, sources):
                previous = None
            return self._build(sources, previous, started)

    # -- steps --------------------------------------------------------------------------------

    def _previous_manifest(self) -> Manifest | None:
        """The current snapshot's manifest if its chunks and vectors can be reused, else None."""
        try:
            manifest = read_manifest(current_dir(self.settings.index_dir))
        except NoSnapshotError:
            return None
        except SnapshotError as exc:
            log.warning("ignoring the current snapshot (%s): building from scratch", exc)
            return None
        chunking = self.settings.chunking
        same = (
            manifest.model.name.lower() == self.settings.model.name.lower()
            and manifest.model.variant == self.settings.model.variant
            and manifest.chunking.encoding == chunking.encoding
            and manifest.chunking.max_tokens == chunking.max_tokens
            and manifest.chunking.overlap_tokens == chunking.overlap_tokens
        )
        if not same:
            # (A changed vector index type or parameters needs no new embeddings: see _write.)
            log.info("model, variant or chunking settings changed: re-embedding everything")
            return None
        return manifest

    def _same_artifact(self, previous: Manifest, sources: list[SourceFile]) -> bool:
        """False when new chunks must be embedded and the model file that would embed them is not the
        one that made the stored vectors (an ONNX export made by another recipe or toolchain):
        reusing them would mix two models' vectors in one index. Checked only when something needs
        embedding, so an unchanged or shrinking collection still loads no model."""
        if not previous.model.artifact_sha256 or not _changed(previous, sources):
            return True
        if previous.model.other_file(self.embedder):
            log.info("the model file changed since the last build: re-embedding everything")
            return False
        return True

    @staticmethod
    def _up_to_date(previous: Manifest, sources: list[SourceFile]) -> bool:
        return len(_known_hashes(previous)) == len(sources) and not _changed(previous, sources)

    def _source_label(self, source: SourceFile) -> str:
        """The file as users know it: the seeds folder's name and the path inside it."""
        return f"{self.settings.seeds_dir.name}/{source.doc_id}"

    def _build(self, sources: list[SourceFile], previous: Manifest | None, started: float) -> BuildReport:
        settings = self.settings
        snapshot_id = new_snapshot_id()
        staged = staging_dir(settings.index_dir, snapshot_id)
        reuse: Snapshot | None = None
        if previous is not None:
            try:
                # Its index is not searched, only its vectors and store are read: map, do not load.
                reuse = Snapshot.open(current_dir(settings.index_dir), mmap_min_mb=0)
            except SnapshotError as exc:
                log.warning("cannot reuse the current snapshot (%s): re-embedding everything", exc)
        try:
            return self._write(sources, reuse, staged, snapshot_id, started)
        finally:
            if reuse is not None:
                reuse.close()

    def _write(
        self,
        sources: list[SourceFile],
        reuse: Snapshot | None,
        staged: Path,
        snapshot_id: str,
        started: float,
    ) -> BuildReport:
        settings = self.settings
        old_docs = reuse.manifest.documents if reuse is not None else {}
        old_vectors = reuse.vectors() if reuse is not None else None
        writer = StoreWriter(staged / STORE_NAME)
        entries: dict[str, DocumentEntry] = {}
        skipped: dict[str, SkippedEntry] = {}
        vector_rows: list[npt.NDArray[np.float32]] = []  # per reused document, in row order
        # (row offset, document) of documents that must be embedded, and their chunk texts
        pending: list[_Pending] = []
        row = 0
        reused = 0
        same_rows = reuse is not None  # every chunk keeps its row (and so its vector id)
        chunker: Chunker | None = None
        pipeline: EmbeddingPipeline | None = None  # embeds new chunks while later documents are chunked
        layout: list[tuple[str, int, int]] = []  # (kind, start row, count): "reuse" or "new"
        texts: list[str] = []  # every chunk's text, in row order, for the lexical index

        try:
            for source in tqdm(sources, desc="reading", unit="doc", disable=not self.progress):
                old = old_docs.get(source.doc_id)
                if (
                    reuse is not None
                    and old_vectors is not None
                    and old is not None
                    and old.sha256 == source.sha256
                ):
                    record = reuse.store.document(source.doc_id)
                    if record is not None:
                        old_chunks = reuse.store.chunks_of(source.doc_id)
                        writer.add_document(record)
                        writer.add_chunks(_renumber(c, row + i) for i, c in enumerate(old_chunks))
                        texts.extend(c.text for c in old_chunks)
                        rows = [c.row for c in old_chunks]
                        same_rows = same_rows and rows == list(range(row, row + len(rows)))
                        vector_rows.append(np.asarray(old_vectors[rows], dtype=np.float32))
                        layout.append(("reuse", row, len(rows)))
                        entries[source.doc_id] = DocumentEntry(sha256=source.sha256, chunks=len(rows))
                        row += len(rows)
                        reused += 1
                        continue
                try:
                    document = parse_document(source, self._source_label(source))
                except UnreadableDocumentError as exc:
                    log.warning("skipping %s: %s", source.doc_id, exc)
                    skipped[source.doc_id] = SkippedEntry(sha256=source.sha256, reason=str(exc))
                    continue
                if chunker is None or pipeline is None:
                    chunker = self._chunker()
                    pipeline = EmbeddingPipeline(
                        self.embedder, settings.model.batch_size, EMBED_BLOCK, progress=self.progress
                    )
                chunked = chunker.chunk(document.text)
                chunks = [
                    ChunkRecord(
                        row + c.position,
                        document.doc_id,
                        c.position,
                        c.char_start,
                        c.char_end,
                        c.line_start,
                        c.line_end,
                        c.text,
                    )
                    for c in chunked
                ]
                writer.add_document(
                    DocumentRecord(
                        document.doc_id,
                        document.source,
                        document.title,
                        document.date,
                        document.sha256,
                        len(chunks),
                        document.text,
                    )
                )
                writer.add_chunks(chunks)
                texts.extend(c.text for c in chunks)
                pending.append(_Pending(document, chunks))
                pipeline.add([c.text for c in chunks], [c.tokens[1] for c in chunked])
                same_rows = False
                layout.append(("new", row, len(chunks)))
                entries[source.doc_id] = DocumentEntry(sha256=source.sha256, chunks=len(chunks))
                row += len(chunks)
            writer.close()
            new_vectors = pipeline.finish() if pipeline is not None else np.zeros((0, 1), dtype=np.float32)
        finally:
            if pipeline is not None:
                pipeline.close()
        new_texts = [c.text for p in pending for c in p.chunks]
        dimension = self._dimension(reuse)
        vectors = np.zeros((row, dimension), dtype=np.float32)
        reused_iter = iter(vector_rows)
        offset = 0
        for kind, start, count in layout:
            if kind == "reuse":
                vectors[start : start + count] = next(reused_iter)
            else:
                vectors[start : start + count] = new_vectors[offset : offset + count]
                offset += count

        np.save(staged / VECTORS_NAME, vectors)
        plan = self._index_plan(row, dimension)
        rebuilt = not (
            reuse is not None
            and same_rows
            and row == reuse.manifest.index.vectors
            and same_structure(reuse.manifest.index, plan)
        )
        if rebuilt:
            index_started = time.perf_counter()
            build_index(plan, vectors).save(staged / INDEX_NAME)
            log.info(
                "built a %s index of %d vectors in %.1f s",
                plan.type,
                row,
                time.perf_counter() - index_started,
            )
        else:
            # Same vectors in the same rows, same index structure: only search-time parameters (applied
            # at load from the manifest) may differ, so the FAISS file is shared, not rebuilt.
            assert reuse is not None
            _link_or_copy(reuse.path / INDEX_NAME, staged / INDEX_NAME)
        build_lexical(settings.lexical, texts).save(staged / LEXICAL_DIR)
        deleted = sum(1 for doc_id in old_docs if doc_id not in entries)
        seconds = time.perf_counter() - started
        manifest = Manifest(
            schema_version=SCHEMA_VERSION,
            snapshot_id=snapshot_id,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            seeds_dir=str(settings.seeds_dir),
            model=self._model_info(reuse, dimension),
            chunking=ChunkingInfo(
                encoding=settings.chunking.encoding,
                max_tokens=settings.chunking.max_tokens,
                overlap_tokens=settings.chunking.overlap_tokens,
                model_token_limit=self._model_limit(reuse),
            ),
            index=plan,
            lexical=self._lexical_info(),
            counts=Counts(documents=len(entries), chunks=row, skipped=len(skipped)),
            documents=entries,
            skipped=skipped,
            files={name: file_entry(staged / name) for name in data_files(staged)},
            versions=library_versions(),
            build_seconds=round(seconds, 3),
        )
        write_manifest(staged, manifest)
        final = publish(settings.index_dir, staged, snapshot_id, settings.index.keep_snapshots)
        log.info("published snapshot %s: %d documents, %d chunks", snapshot_id, len(entries), row)
        return BuildReport(
            snapshot_id=snapshot_id,
            published=True,
            documents=len(entries),
            chunks=row,
            embedded_documents=len(pending),
            embedded_chunks=len(new_texts),
            reused_documents=reused,
            deleted_documents=deleted,
            index_type=plan.type,
            index_rebuilt=rebuilt,
            skipped={k: v.reason for k, v in skipped.items()},
            seconds=time.perf_counter() - started,
            path=final,
        )

    # -- helpers ------------------------------------------------------------------------------

    def _index_plan(self, vectors: int, dimension: int) -> IndexInfo:
        return plan_index(self.settings.index, vectors, dimension)

    def _lexical_info(self) -> LexicalInfo:
        lexical = self.settings.lexical
        return LexicalInfo(
            type=lexical.type,
            stemmer=lexical.stemmer,
            stopwords=lexical.stopwords,
            k1=lexical.k1,
            b=lexical.b,
        )

    def _chunker(self) -> Chunker:
        chunking = self.settings.chunking
        encoding = get_encoding(chunking.encoding)
        embedder = self.embedder

        def count(text: str) -> int:
            return len(encoding.encode(text, disallowed_special=()))

        model = TokenLimit("model tokens", embedder.count_tokens, embedder.max_seq_length)
        # Chunk.tokens is (chunk tokens, model tokens), in this order.
        return Chunker(count, chunking.max_tokens, chunking.overlap_tokens, extra_limits=[model])

    def _dimension(self, reuse: Snapshot | None) -> int:
        if self._embedder is None and reuse is not None:
            return reuse.manifest.model.dimension
        return self.embedder.dimension

    def _model_limit(self, reuse: Snapshot | None) -> int:
        if self._embedder is None and reuse is not None:
            return reuse.manifest.chunking.model_token_limit
        return self.embedder.max_seq_length

    def _model_info(self, reuse: Snapshot | None, dimension: int) -> ModelInfo:
        if self._embedder is None and reuse is not None:
            return reuse.manifest.model
        embedder = self.embedder
        # Not part of the Embedder protocol: wrappers (tests, metrics) may not forward them.
        source = getattr(getattr(embedder, "location", None), "source", "")
        return ModelInfo(
            name=self.settings.model.name,
            dimension=dimension,
            max_seq_length=embedder.max_seq_length,
            source=source,
            variant=str(getattr(embedder, "variant", self.settings.model.variant)),
            artifact_sha256=str(getattr(embedder, "artifact_sha256", "")),
        )


def _known_hashes(manifest: Manifest) -> dict[str, str]:
    """sha256 of every source file the manifest knows, indexed or skipped."""
    known = {doc_id: entry.sha256 for doc_id, entry in manifest.documents.items()}
    known.update({doc_id: entry.sha256 for doc_id, entry in manifest.skipped.items()})
    return known


def _changed(manifest: Manifest, sources: list[SourceFile]) -> bool:
    """Whether any source file is new or changed since ``manifest`` (deletions aside)."""
    known = _known_hashes(manifest)
    return any(known.get(s.doc_id) != s.sha256 for s in sources)


def _link_or_copy(source: Path, target: Path) -> None:
    """Snapshot files are never changed in place, so a hard link is a safe copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _renumber(chunk: ChunkRecord, row: int) -> ChunkRecord:
    return ChunkRecord(
        row,
        chunk.doc_id,
        chunk.position,
        chunk.char_start,
        chunk.char_end,
        chunk.line_start,
        chunk.line_end,
        chunk.text,
    )
