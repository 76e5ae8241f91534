"""What a build must do: compare the seeds folder with the current snapshot's manifest.

Decides whether the current snapshot is up to date (nothing to do), whether its chunks and vectors
may be reused (same model, variant and chunking), and describes the indexes to build.
"""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec

from indexer.config import Settings
from indexer.errors import NoSnapshotError, ShrinkRefusedError, SnapshotError
from indexer.reading.documents import SourceFile
from indexer.snapshot.compatibility import vectors_reusable
from indexer.snapshot.layout import SNAPSHOTS_DIR, current_dir
from indexer.snapshot.manifest import IndexInfo, LexicalInfo, Manifest, ReadingInfo, read_manifest
from indexer.snapshot.publish import intact
from indexer.snapshot.vectors.choice import plan_index

log = logging.getLogger(__name__)


def lexical_info(settings: Settings) -> LexicalInfo:
    lexical = settings.lexical
    return LexicalInfo(
        type=lexical.type, stemmer=lexical.stemmer, stopwords=lexical.stopwords, k1=lexical.k1, b=lexical.b
    )


def reading_info(settings: Settings) -> ReadingInfo:
    return msgspec.convert(msgspec.structs.asdict(settings.reading), ReadingInfo)


def index_plan(settings: Settings, vectors: int, dimension: int) -> IndexInfo:
    return plan_index(settings.index, vectors, dimension)


def reuse_source(settings: Settings) -> Path:
    """The snapshot a build starts from: the current one, or a newer complete one that an earlier
    build wrote but could not publish (switching ``current`` failed). :class:`NoSnapshotError` if
    there is neither."""
    try:
        current: Path | None = current_dir(settings.index_dir)
    except NoSnapshotError:
        current = None
    root = settings.index_dir / SNAPSHOTS_DIR
    names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for name in reversed(names):
        if name.startswith(".") or (current is not None and name <= current.name):
            continue
        if intact(root / name):
            log.info("snapshot %s was written but never published: starting from it", name)
            return root / name
    if current is None:
        raise NoSnapshotError(f"no index snapshot in {settings.index_dir}")
    return current


def reusable_manifest(settings: Settings) -> Manifest | None:
    """The manifest of the snapshot a build starts from (:func:`reuse_source`) if its chunks and
    vectors can be reused, else None."""
    try:
        manifest = read_manifest(reuse_source(settings))
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


def known_files(manifest: Manifest) -> dict[str, tuple[str, str]]:
    """(sha256, reader) of every source file the manifest knows, indexed or skipped."""
    known = {doc_id: (entry.sha256, entry.reader) for doc_id, entry in manifest.documents.items()}
    known.update({doc_id: (entry.sha256, entry.reader) for doc_id, entry in manifest.skipped.items()})
    return known


def changed(manifest: Manifest, sources: list[SourceFile]) -> bool:
    """Whether any source file is new or changed since ``manifest``, or is read by another reader or
    reader version (deletions aside)."""
    known = known_files(manifest)
    return any(known.get(s.doc_id) != (s.sha256, s.reader) for s in sources)


def up_to_date(settings: Settings, previous: Manifest, sources: list[SourceFile]) -> bool:
    """Whether ``previous`` already is what a build of ``sources`` would publish."""
    return (
        previous.lexical == lexical_info(settings)
        and previous.reading == reading_info(settings)
        and previous.index == index_plan(settings, previous.index.vectors, previous.model.dimension)
        and len(known_files(previous)) == len(sources)
        and not changed(previous, sources)
    )


def check_shrink(settings: Settings, sources: list[SourceFile], *, allow: bool) -> None:
    """Refuse (:class:`ShrinkRefusedError`) a build that would remove every document of the served
    snapshot, or more than ``index.max_shrink`` of them: an empty or unmounted seeds folder must not
    wipe the index. ``allow`` (``--allow-shrink``) lets it through."""
    if allow:
        return
    try:
        published = read_manifest(current_dir(settings.index_dir))
    except SnapshotError:  # nothing served (or unreadable): nothing to protect
        return
    before = published.counts.documents
    found = {source.doc_id for source in sources}
    removed = sum(1 for doc_id in published.documents if doc_id not in found)
    limit = settings.index.max_shrink
    if before == 0 or (removed < before and removed <= limit * before):
        return
    share = "all" if removed == before else f"{removed}"
    raise ShrinkRefusedError(
        f"refusing to build: it would remove {share} of the {before} documents the index serves "
        f"({len(sources)} files found in {settings.seeds_dir}; index.max_shrink is {limit:g}). "
        "Check the seeds folder; to remove them on purpose, run again with --allow-shrink. "
        "The served snapshot is unchanged."
    )
