"""Apply what changed in one collection's source folder to its index: the one write path shared by
uploads and deletions over HTTP, ``python -m indexer watch`` and a collection's ``watch: true``.

``doc_ids`` names the documents (paths relative to the source folder; a folder stands for every file
under it) that were added, replaced or deleted; the source folder is the truth for each (a missing
file is a deletion). An update costs what it writes, not what the collection holds: the changed
documents are read, chunked and embedded into a small delta segment, their older copies are marked
deleted where they are, and the new live state is published in one atomic rename
(:mod:`indexer.snapshot.state`); the base snapshot's files are not touched. When deltas pile up, the
smallest are merged into one (their chunks and vectors copied). A full ``python -m indexer build``
folds every delta into a new base.

Each call publishes under the collection's build lock (a build from the CLI and an update never
interleave: :class:`~indexer.errors.BuildLockedError` if one is running). The first time, with a
model file or settings the base was not built with, or with no base yet, the update is a full build.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import msgspec

from indexer.build.builder import Builder, BuildReport, EmbedderFactory
from indexer.build.plan import reuse_source
from indexer.build.segment import Segment, merge_parts, write_delta
from indexer.build.writer import on_writer
from indexer.config import Settings
from indexer.embedding import Embedder
from indexer.errors import IndexerError, NoSnapshotError
from indexer.reading.documents import SourceFile, discover, load_source, load_sources
from indexer.snapshot.compatibility import made_by_other_file, vectors_reusable
from indexer.snapshot.layout import MANIFEST_NAME
from indexer.snapshot.manifest import ChunkingInfo, Manifest, read_manifest
from indexer.snapshot.publish import build_lock
from indexer.snapshot.state import LiveState, PartRef, Target, prune_segments, read_state, write_state

log = logging.getLogger(__name__)

MAX_DELTAS = 8
"""Delta segments a collection keeps before the smallest are merged."""
MERGE_WIDTH = 4
"""How many of the smallest delta segments one merge combines."""


def update(
    settings: Settings,
    embedder_factory: EmbedderFactory,
    doc_ids: Collection[str] | None = None,
    *,
    merge: bool = True,
) -> BuildReport:
    """Publish the collection with ``doc_ids`` as they now are in ``settings.seeds_dir`` (None: every
    difference between the folder and the index). Documents not named are left as they are (nothing
    of theirs is read or re-embedded); deletions are intentional, so no shrink guard applies. The
    report's ``skipped`` names each document that could not be indexed, with the reason.

    It runs on the writer thread (:mod:`indexer.build.writer`), at a lower CPU priority than
    searches; pass :func:`~indexer.build.writer.writer_model` as ``embedder_factory`` so its
    embedding uses a model of its own on one core. ``merge``: merge the smallest delta segments when
    there are more than :data:`MAX_DELTAS`."""
    return on_writer(lambda: _update(settings, embedder_factory, doc_ids, merge))


def _update(
    settings: Settings, embedder_factory: EmbedderFactory, doc_ids: Collection[str] | None, merge: bool
) -> BuildReport:
    started = time.perf_counter()
    if not settings.seeds_dir.is_dir():
        raise IndexerError(f"seeds folder not found: {settings.seeds_dir}")
    updater = _Updater(settings, embedder_factory)
    with build_lock(settings.index_dir):
        report = updater.run(doc_ids, merge=merge, started=started)
    if report is None:
        return Builder(settings, embedder_factory).build(allow_shrink=True)
    return report


def merge(settings: Settings) -> str | None:
    """Merge the smallest delta segments if there are more than :data:`MAX_DELTAS` (what
    :func:`update` does after publishing, unless told not to: a writer that wants its update served
    first calls ``update(..., merge=False)``, swaps the new state in, then this). The new state's id,
    or None when there was nothing to merge."""
    return on_writer(lambda: _merge(settings))


def _merge(settings: Settings) -> str | None:
    with build_lock(settings.index_dir):
        try:
            target = read_state(settings.index_dir)
        except NoSnapshotError:
            return None
        if len(target.state.deltas) <= MAX_DELTAS:
            return None
        state = _Updater(settings, _no_model).merge(target, cached_manifest(target.directory(0)))
        prune_segments(settings.index_dir, {ref.id for ref in state.deltas})
        return state.id


def _no_model() -> Embedder:
    raise AssertionError("a merge copies vectors: it never embeds")


@dataclass(frozen=True)
class _Live:
    """What the live state serves of one document or skipped file: where, and which version."""

    part: int
    sha256: str
    reader: str


class _Updater:
    def __init__(self, settings: Settings, embedder_factory: EmbedderFactory) -> None:
        self.settings = settings
        self._factory = embedder_factory
        self._embedder: Embedder | None = None

    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._factory()
        return self._embedder

    def run(self, doc_ids: Collection[str] | None, *, merge: bool, started: float) -> BuildReport | None:
        """The update's report, or None when it must be a full build."""
        index_dir = self.settings.index_dir
        try:
            target = read_state(index_dir)
        except NoSnapshotError:
            return None
        manifests = _manifests(target)
        base = manifests[0]
        if not self._incremental(target, base):
            return None
        live = _live_versions(target.state, manifests)
        found, gone = self._named(doc_ids, live)
        changed = [source for source in found if _differs(live, source)]
        deleted = sorted(doc_id for doc_id in gone if doc_id in live)
        if not changed and not deleted:
            return _report(target.state, manifests, started, published=False)
        if any(not s.skip for s in changed) and made_by_other_file(base.model, self.embedder()):
            log.info("the model file changed since the base was built: rebuilding everything")
            return None
        segment = write_delta(self.settings, base, changed, self.embedder) if changed else None
        state = _next_state(target.state, live, [s.doc_id for s in changed] + deleted, segment)
        write_state(index_dir, state)
        if merge and len(state.deltas) > MAX_DELTAS:
            state = self.merge(Target(index_dir, state), base)
        prune_segments(index_dir, {ref.id for ref in state.deltas})
        report = _report(state, _manifests(Target(index_dir, state)), started, published=True)
        collected = segment.collected if segment is not None else None
        return dataclasses.replace(
            report,
            embedded_documents=collected.embedded_documents if collected else 0,
            embedded_chunks=collected.embedded_chunks if collected else 0,
            deleted_documents=len(deleted),
            reused_documents=report.documents - (collected.embedded_documents if collected else 0),
        )

    def _incremental(self, target: Target, base: Manifest) -> bool:
        """Whether the base can take deltas: it is the snapshot a build would start from (no newer
        one waits to be published), built with this model, chunking, keyword and reading settings."""
        settings = self.settings
        if reuse_source(settings).resolve() != target.directory(0).resolve():
            return False
        chunking = ChunkingInfo.of(settings.chunking, base.chunking.model_token_limit)
        return (
            vectors_reusable(base.model, settings.model)
            and base.chunking == chunking
            and base.lexical == settings.lexical
            and base.reading == settings.reading
        )

    def _named(
        self, doc_ids: Collection[str] | None, live: dict[str, _Live]
    ) -> tuple[list[SourceFile], set[str]]:
        """The named files found in the folder, and the named documents no longer in it."""
        seeds, limits = self.settings.seeds_dir, self.settings.reading
        if doc_ids is None:
            sources = load_sources(seeds, limits)
            present = {source.doc_id for source in sources}
            return sources, {doc_id for doc_id in live if doc_id not in present}
        found: dict[str, SourceFile] = {}
        gone: set[str] = set()
        for name in sorted({_normal(doc_id) for doc_id in doc_ids} - {""}):
            path = seeds / name
            prefix = name + "/"
            if path.is_dir() and not path.is_symlink():
                for file in discover(path):
                    source = load_source(seeds, file, limits)
                    found.setdefault(source.doc_id, source)
                gone.update(d for d in live if d.startswith(prefix) and d not in found)
            elif os.path.lexists(path):
                source = load_source(seeds, path, limits)
                found.setdefault(source.doc_id, source)
            else:
                gone.add(name)
                gone.update(d for d in live if d.startswith(prefix))
        return list(found.values()), gone

    def merge(self, target: Target, base: Manifest) -> LiveState:
        """Merge the :data:`MERGE_WIDTH` smallest delta segments into one and publish the result."""
        state = target.state
        sizes = {
            ref.id: _live_chunks(cached_manifest(target.directory(i)), ref)
            for i, ref in enumerate(state.parts)
        }
        smallest = sorted(state.deltas, key=lambda ref: (sizes[ref.id], ref.id))[:MERGE_WIDTH]
        where = {ref.id: target.directory(i) for i, ref in enumerate(state.parts)}
        merged = merge_parts(self.settings, base, [(where[ref.id], ref) for ref in smallest])
        picked = {ref.id for ref in smallest}
        parts = [ref for ref in state.parts if ref.id not in picked]
        if merged.collected.entries or merged.collected.skipped:  # else everything in them was deleted
            parts.append(PartRef(merged.id))
        new = msgspec.structs.replace(state, generation=state.generation + 1, parts=tuple(parts))
        write_state(self.settings.index_dir, new)
        log.info("merged %d delta segments into %s", len(smallest), merged.id)
        return new


def _normal(doc_id: str) -> str:
    """``doc_id`` as the build names documents (``a//b``, ``./a`` → ``a/b``, ``a``); empty for a name
    that is not a document of the folder: absolute, climbing out (``..``), or hidden (never read)."""
    path = PurePosixPath(doc_id)
    if path.is_absolute() or any(part == ".." or part.startswith(".") for part in path.parts):
        return ""
    normal = path.as_posix()
    return "" if normal == "." else normal


def _manifests(target: Target) -> list[Manifest]:
    return [cached_manifest(target.directory(i)) for i in range(len(target.state.parts))]


_CACHED_MANIFESTS = 16
_manifests_read: OrderedDict[tuple[Path, int, int], Manifest] = OrderedDict()
_manifests_lock = threading.Lock()


def cached_manifest(directory: Path) -> Manifest:
    """A snapshot's or segment's manifest, decoded once while its file is unchanged (published
    snapshots and segments are never changed in place): a writer's updates do not decode the base's
    manifest, megabytes at a million chunks, again and again."""
    info = (directory / MANIFEST_NAME).stat()
    key = (directory.resolve(), info.st_mtime_ns, info.st_size)
    with _manifests_lock:
        found = _manifests_read.get(key)
        if found is not None:
            _manifests_read.move_to_end(key)
            return found
    manifest = read_manifest(directory)
    with _manifests_lock:
        _manifests_read[key] = manifest
        while len(_manifests_read) > _CACHED_MANIFESTS:
            _manifests_read.popitem(last=False)
    return manifest


def _live_chunks(manifest: Manifest, ref: PartRef) -> int:
    deleted = set(ref.deleted)
    return sum(entry.chunks for doc_id, entry in manifest.documents.items() if doc_id not in deleted)


def _live_versions(state: LiveState, manifests: list[Manifest]) -> dict[str, _Live]:
    """Every document and skipped file the state serves: the part holding it and its version."""
    live: dict[str, _Live] = {}
    for index, (ref, manifest) in enumerate(zip(state.parts, manifests, strict=True)):
        deleted = set(ref.deleted)
        for entries in (manifest.documents, manifest.skipped):
            for doc_id, entry in entries.items():
                if doc_id not in deleted:
                    live[doc_id] = _Live(index, entry.sha256, entry.reader)
    return live


def _differs(live: dict[str, _Live], source: SourceFile) -> bool:
    """Whether ``source`` is new, or another version (or read by another reader) than the one served."""
    known = live.get(source.doc_id)
    return known is None or (known.sha256, known.reader) != (source.sha256, source.reader)


def _next_state(
    state: LiveState, live: dict[str, _Live], touched: list[str], segment: Segment | None
) -> LiveState:
    """``state`` with the served copies of ``touched`` marked deleted and ``segment`` appended."""
    marks: dict[int, set[str]] = {}
    for doc_id in touched:
        known = live.get(doc_id)
        if known is not None:
            marks.setdefault(known.part, set()).add(doc_id)
    parts = [
        PartRef(ref.id, tuple(sorted(set(ref.deleted) | marks.get(i, set()))))
        for i, ref in enumerate(state.parts)
    ]
    if segment is not None:
        parts.append(PartRef(segment.id))
    return msgspec.structs.replace(state, generation=state.generation + 1, parts=tuple(parts))


def _report(state: LiveState, manifests: list[Manifest], started: float, *, published: bool) -> BuildReport:
    documents: dict[str, int] = {}
    skipped: dict[str, str] = {}
    formats: dict[str, int] = {}
    for ref, manifest in zip(state.parts, manifests, strict=True):
        deleted = set(ref.deleted)
        documents.update({k: v.chunks for k, v in manifest.documents.items() if k not in deleted})
        skipped.update({k: v.reason for k, v in manifest.skipped.items() if k not in deleted})
        for doc_id, entry in manifest.documents.items():
            if doc_id not in deleted:
                formats[entry.format] = formats.get(entry.format, 0) + 1
    return BuildReport(
        snapshot_id=state.id,
        published=published,
        documents=len(documents),
        chunks=sum(documents.values()),
        reused_documents=len(documents),
        index_type=manifests[0].index.type,
        index_rebuilt=False,
        skipped=skipped,
        formats=dict(sorted(formats.items(), key=lambda item: (-item[1], item[0]))),
        seconds=time.perf_counter() - started,
        path=None,
    )
