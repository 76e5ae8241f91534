"""What a build must do: compare the seeds folder with the current snapshot's manifest.

Decides whether the current snapshot is up to date (nothing to do), whether its chunks and vectors
may be reused (same model, variant and chunking), and describes the indexes to build.
"""

from __future__ import annotations

import logging

from indexer.config import Settings
from indexer.errors import NoSnapshotError, SnapshotError
from indexer.reading.documents import SourceFile
from indexer.snapshot.compatibility import vectors_reusable
from indexer.snapshot.layout import current_dir
from indexer.snapshot.manifest import IndexInfo, LexicalInfo, Manifest, read_manifest
from indexer.snapshot.vectors.choice import plan_index

log = logging.getLogger(__name__)


def lexical_info(settings: Settings) -> LexicalInfo:
    lexical = settings.lexical
    return LexicalInfo(
        type=lexical.type, stemmer=lexical.stemmer, stopwords=lexical.stopwords, k1=lexical.k1, b=lexical.b
    )


def index_plan(settings: Settings, vectors: int, dimension: int) -> IndexInfo:
    return plan_index(settings.index, vectors, dimension)


def reusable_manifest(settings: Settings) -> Manifest | None:
    """The current snapshot's manifest if its chunks and vectors can be reused, else None."""
    try:
        manifest = read_manifest(current_dir(settings.index_dir))
    except NoSnapshotError:
        return None
    except SnapshotError as exc:
        log.warning("ignoring the current snapshot (%s): building from scratch", exc)
        return None
    chunking = settings.chunking
    same = (
        vectors_reusable(manifest.model, settings.model)
        and manifest.chunking.encoding == chunking.encoding
        and manifest.chunking.max_tokens == chunking.max_tokens
        and manifest.chunking.overlap_tokens == chunking.overlap_tokens
    )
    if not same:
        # (A changed vector index type or parameters needs no new embeddings: see indexer.build.write.)
        log.info("model, variant or chunking settings changed: re-embedding everything")
        return None
    return manifest


def known_hashes(manifest: Manifest) -> dict[str, str]:
    """sha256 of every source file the manifest knows, indexed or skipped."""
    known = {doc_id: entry.sha256 for doc_id, entry in manifest.documents.items()}
    known.update({doc_id: entry.sha256 for doc_id, entry in manifest.skipped.items()})
    return known


def changed(manifest: Manifest, sources: list[SourceFile]) -> bool:
    """Whether any source file is new or changed since ``manifest`` (deletions aside)."""
    known = known_hashes(manifest)
    return any(known.get(s.doc_id) != s.sha256 for s in sources)


def up_to_date(settings: Settings, previous: Manifest, sources: list[SourceFile]) -> bool:
    """Whether ``previous`` already is what a build of ``sources`` would publish."""
    return (
        previous.lexical == lexical_info(settings)
        and previous.index == index_plan(settings, previous.index.vectors, previous.model.dimension)
        and len(known_hashes(previous)) == len(sources)
        and not changed(previous, sources)
    )
