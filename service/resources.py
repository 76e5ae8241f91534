"""What the service loads once at start-up: the embedding model, the snapshot, the retriever."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from indexer.config import Settings
from indexer.embedder import Embedder, load_embedder
from indexer.retriever import Retriever
from indexer.snapshot import Snapshot, open_current

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resources:
    settings: Settings
    embedder: Embedder
    snapshot: Snapshot
    retriever: Retriever

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None) -> Resources:
        """Open the current snapshot and the model; refuse a snapshot built with another model."""
        snapshot = open_current(settings.index_dir)
        try:
            snapshot.check_model(settings.model.name)
            embedder = embedder or load_embedder(settings.model.name, settings.model.device)
            retriever = Retriever(snapshot, embedder, settings.retrieval)
        except Exception:
            snapshot.close()
            raise
        log.info(
            "serving snapshot %s (%d documents, %d chunks, model %s)",
            snapshot.snapshot_id,
            snapshot.manifest.counts.documents,
            snapshot.manifest.counts.chunks,
            embedder.name,
        )
        return cls(settings, embedder, snapshot, retriever)

    def close(self) -> None:
        self.snapshot.close()
