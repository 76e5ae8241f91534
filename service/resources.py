"""What one served snapshot needs: the settings, the (shared) model, the opened snapshot, its retriever."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from indexer.config import Settings
from indexer.embedder import Embedder, load_embedder
from indexer.retriever import Hit, Retriever
from indexer.snapshot import Snapshot, current_dir
from service.batching import QueryBatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resources:
    settings: Settings
    embedder: Embedder
    snapshot: Snapshot
    retriever: Retriever
    on_search: Callable[[str, float], None] | None = None
    """Called after each search with the mode and the seconds it took (metrics)."""
    batcher: QueryBatcher | None = None
    """Embeds and searches concurrent queries' vectors in batches (else each search does its own)."""

    @classmethod
    def open(
        cls,
        settings: Settings,
        embedder: Embedder,
        directory: Path,
        on_search: Callable[[str, float], None] | None = None,
        batcher: QueryBatcher | None = None,
    ) -> Resources:
        """Open and verify the snapshot in ``directory``; refuse one built with another model.

        Raises :class:`indexer.errors.SnapshotError` (incomplete, corrupt, other model)."""
        snapshot = Snapshot.open(directory, mmap_min_mb=settings.index.mmap_min_mb)
        try:
            snapshot.check_model(settings.model.name, variant=settings.model.variant)
            # (Only a same-variant pair has a file hash on both sides: check_model refused the rest.)
            if snapshot.manifest.model.other_file(embedder):
                log.warning(
                    "snapshot %s was embedded by another %s model file than the one loaded (a new "
                    "export recipe or toolchain): queries still search it, with slightly different "
                    "vectors; rebuild with python -m indexer build --force for an exact match",
                    snapshot.snapshot_id,
                    snapshot.manifest.model.variant,
                )
            retriever = Retriever(snapshot, embedder, settings.retrieval)
        except Exception:
            snapshot.close()
            raise
        return cls(settings, embedder, snapshot, retriever, on_search, batcher)

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None) -> Resources:
        """Open the current snapshot, and the model unless one is given."""
        directory = current_dir(settings.index_dir)
        embedder = embedder or load_embedder(settings.model)
        return cls.open(settings, embedder, directory)

    @property
    def snapshot_id(self) -> str:
        return self.snapshot.snapshot_id

    @property
    def vector_space(self) -> tuple[str, str, str]:
        """What a query vector depends on: the snapshot's model and variant, and the variant that
        embeds queries (the query vector cache's key, with the query text)."""
        built = self.snapshot.manifest.model
        return (built.name, built.variant, self.settings.model.variant)

    def search(
        self, query: str, top_k: int, mode: str | None = None, max_per_doc: int | None = None
    ) -> list[Hit]:
        """Blocking; call it off the event loop."""
        started = time.perf_counter()
        start = None
        if self.batcher is not None and self.retriever.needs_vector(top_k, mode):
            depth = self.retriever.depth(top_k)
            start = self.batcher.dense_start(self.retriever, self.vector_space, query, depth)
        hits = self.retriever.search(query, top_k, mode, max_per_doc=max_per_doc, start=start)
        if self.on_search is not None:
            self.on_search(mode or self.settings.retrieval.mode, time.perf_counter() - started)
        return hits

    def close(self) -> None:
        self.snapshot.close()
