"""Build (or incrementally rebuild) a snapshot from the seeds folder and publish it atomically:
plan (:mod:`~indexer.build.plan`) → read, chunk and embed (:mod:`~indexer.build.collect`, in this
process or on a Ray cluster: :mod:`~indexer.build.processor_factory`) → write (:mod:`~indexer.build.write`) →
publish (:mod:`indexer.snapshot.publish`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.build.collect import Collected, Collector
from indexer.build.plan import changed, check_shrink, reusable_manifest, up_to_date
from indexer.build.processor_factory import processor_for
from indexer.build.write import write_indexes, write_snapshot_manifest
from indexer.config import Settings
from indexer.embedding import Embedder, load_embedder
from indexer.errors import IndexerError, SnapshotError
from indexer.reading.documents import SourceFile, load_sources
from indexer.snapshot.compatibility import made_by_other_file
from indexer.snapshot.layout import SNAPSHOTS_DIR, STORE_NAME, current_dir
from indexer.snapshot.manifest import Manifest, ModelInfo
from indexer.snapshot.publish import build_lock, new_snapshot_id, prune, publish, staging_dir, switch_current
from indexer.snapshot.reader import Snapshot, verify_files
from indexer.snapshot.state import read_state, remove_state
from indexer.snapshot.store import StoreWriter
from indexer.snapshot.view import open_target

log = logging.getLogger(__name__)

EmbedderFactory = Callable[[], Embedder]


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
    """Files that were not indexed, with the reason."""
    formats: dict[str, int] = field(default_factory=dict)
    """Documents per format."""
    seconds: float = 0.0
    path: Path | None = None


class Builder:
    def __init__(
        self,
        settings: Settings,
        embedder_factory: EmbedderFactory | None = None,
        *,
        progress: bool = False,
        ray: str | None = None,
    ) -> None:
        """``ray``: read, chunk and embed on a Ray cluster at this address (``auto``, ``local``,
        ``ray://host:port``) instead of in this process (checked here: a bad address or a missing Ray
        fails before any work)."""
        if ray is not None:
            from indexer.build.ray.target import parse_target, require_ray

            ray = parse_target(ray).address
            require_ray()
        self.settings = settings
        self._embedder_factory = embedder_factory or (lambda: load_embedder(settings.model))
        self._embedder: Embedder | None = None
        self.progress = progress
        self.ray = ray

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use: a build with nothing to embed never loads it."""
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def build(self, *, force: bool = False, allow_shrink: bool = False) -> BuildReport:
        """Publish a snapshot of the seeds folder (nothing when the current one is up to date).
        ``allow_shrink``: publish even if it removes most or all of the served documents."""
        started = time.perf_counter()
        seeds = self.settings.seeds_dir
        if not seeds.is_dir():
            raise IndexerError(f"seeds folder not found: {seeds}")
        with build_lock(self.settings.index_dir):
            previous = None if force else reusable_manifest(self.settings)
            sources = load_sources(seeds, self.settings.reading)
            check_shrink(self.settings, sources, allow=allow_shrink)
            folding = _has_deltas(self.settings.index_dir)  # updates since the base: fold them in
            if previous is not None and not folding and up_to_date(self.settings, previous, sources):
                return self._unchanged(previous, started)
            if previous is not None and not self._same_model_file(previous, sources):
                previous = None
            return self._build(sources, previous, started)

    def _unchanged(self, previous: Manifest, started: float) -> BuildReport:
        """Nothing to build. If ``previous`` is a complete snapshot an earlier build could not publish,
        verify it and publish it now."""
        index_dir = self.settings.index_dir
        published = False
        if _served_id(index_dir) != previous.snapshot_id:
            directory = index_dir / SNAPSHOTS_DIR / previous.snapshot_id
            verify_files(directory, previous)
            switch_current(index_dir, previous.snapshot_id)
            prune(index_dir, self.settings.index.keep_snapshots)
            published = True
        return BuildReport(
            snapshot_id=previous.snapshot_id,
            published=published,
            documents=previous.counts.documents,
            chunks=previous.counts.chunks,
            reused_documents=previous.counts.documents,
            skipped={k: v.reason for k, v in previous.skipped.items()},
            formats=dict(previous.counts.formats),
            seconds=time.perf_counter() - started,
            path=current_dir(index_dir),
        )

    def _same_model_file(self, previous: Manifest, sources: list[SourceFile]) -> bool:
        """False when new chunks must be embedded and the model file that would embed them is not the
        one that made the stored vectors (an ONNX export made by another recipe or toolchain):
        reusing them would mix two models' vectors in one index. Checked only when something needs
        embedding, so an unchanged or shrinking collection still loads no model."""
        if not previous.model.artifact_sha256 or not changed(previous, sources):
            return True
        if made_by_other_file(previous.model, self.embedder):
            log.info("the model file changed since the last build: re-embedding everything")
            return False
        return True

    def _build(self, sources: list[SourceFile], previous: Manifest | None, started: float) -> BuildReport:
        reuse: Snapshot | None = None
        if previous is not None:
            try:
                reuse = self._reusable(previous)
            except SnapshotError as exc:
                log.warning("cannot reuse the current snapshot (%s): re-embedding everything", exc)
        try:
            report = self._write(sources, reuse, started)
        finally:
            if reuse is not None:
                reuse.close()
        remove_state(self.settings.index_dir)  # the new base holds what the deltas held
        prune(self.settings.index_dir, self.settings.index.keep_snapshots)
        return report

    def _reusable(self, previous: Manifest) -> Snapshot:
        """The snapshot whose chunks and vectors the build copies: the served base and its delta
        segments when ``previous`` is the base, else ``previous`` alone. Its index is not searched,
        only its vectors and store are read: map, do not load."""
        index_dir = self.settings.index_dir
        target = read_state(index_dir)
        if target.state.base == previous.snapshot_id:
            return open_target(target, verify=False, mmap_min_mb=0)
        return Snapshot.open(index_dir / SNAPSHOTS_DIR / previous.snapshot_id, mmap_min_mb=0)

    def _write(self, sources: list[SourceFile], reuse: Snapshot | None, started: float) -> BuildReport:
        settings = self.settings
        snapshot_id = new_snapshot_id()
        staged = staging_dir(settings.index_dir, snapshot_id)
        writer = StoreWriter(staged / STORE_NAME)
        processor = processor_for(settings, lambda: self.embedder, ray=self.ray, progress=self.progress)
        collected = Collector(settings, writer, reuse, processor).run(sources)
        model = self._model_info(reuse)
        written = write_indexes(settings, staged, collected, reuse, model.dimension)
        limit = self._model_limit(reuse)
        seconds = time.perf_counter() - started
        write_snapshot_manifest(settings, staged, snapshot_id, collected, written, model, limit, seconds)
        final = publish(settings.index_dir, staged, snapshot_id)
        log.info(
            "published snapshot %s: %d documents, %d chunks",
            snapshot_id,
            len(collected.entries),
            collected.rows,
        )
        return self._report(snapshot_id, collected, reuse, written.plan.type, written.rebuilt, started, final)

    def _report(
        self,
        snapshot_id: str,
        collected: Collected,
        reuse: Snapshot | None,
        index_type: str,
        rebuilt: bool,
        started: float,
        path: Path,
    ) -> BuildReport:
        old_docs = reuse.manifest.documents if reuse is not None else {}
        return BuildReport(
            snapshot_id=snapshot_id,
            published=True,
            documents=len(collected.entries),
            chunks=collected.rows,
            embedded_documents=collected.embedded_documents,
            embedded_chunks=collected.embedded_chunks,
            reused_documents=collected.reused,
            deleted_documents=sum(1 for doc_id in old_docs if doc_id not in collected.entries),
            index_type=index_type,
            index_rebuilt=rebuilt,
            skipped={k: v.reason for k, v in collected.skipped.items()},
            formats=collected.formats(),
            seconds=time.perf_counter() - started,
            path=path,
        )

    def _model_info(self, reuse: Snapshot | None) -> ModelInfo:
        """What computed the vectors: the previous snapshot's model when no model was loaded (nothing
        new was embedded), else the loaded one."""
        if self._embedder is None and reuse is not None:
            return reuse.manifest.model
        embedder = self.embedder
        return ModelInfo(
            name=self.settings.model.name,
            dimension=embedder.dimension,
            max_seq_length=embedder.max_seq_length,
            source=embedder.source,
            variant=embedder.variant,
            artifact_sha256=embedder.artifact_sha256,
        )

    def _model_limit(self, reuse: Snapshot | None) -> int:
        if self._embedder is None and reuse is not None:
            return reuse.manifest.chunking.model_token_limit
        return self.embedder.max_seq_length


def _has_deltas(index_dir: Path) -> bool:
    """Whether updates published delta segments or deletions on top of the current base."""
    try:
        return not read_state(index_dir).state.trivial
    except SnapshotError:
        return False


def _served_id(index_dir: Path) -> str | None:
    """The name of the snapshot ``current`` points to (None if there is none)."""
    try:
        return current_dir(index_dir).name
    except SnapshotError:
        return None
