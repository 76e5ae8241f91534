"""What a reader serves: the live state (:mod:`indexer.snapshot.state`) opened as one snapshot, the
base and its delta segments with deleted documents masked out everywhere (search, store, counts).

Opening the next state reuses every part the previous view already has open (the base of a million
chunks is neither verified nor mapped again): only new segments are opened and checked, so an update
is served within a moment of its publication. A part shared by several views is closed when the last
of them is.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from indexer.errors import SnapshotError
from indexer.snapshot.fields import BUILTIN_FIELDS, merged
from indexer.snapshot.layout import STORE_NAME
from indexer.snapshot.manifest import Counts, FieldInfo, FieldType, Manifest, read_manifest
from indexer.snapshot.parts import SegmentedIndex, SegmentedLexical, SegmentedStore
from indexer.snapshot.reader import Mask, Part, Snapshot
from indexer.snapshot.state import Target, read_state
from indexer.snapshot.store import DocumentRecord, Store

_OPEN_ATTEMPTS = 3


class _Shared:
    """A part opened once and shared by the views that serve it; closed with the last of them."""

    _lock = threading.Lock()
    _users: dict[int, int] = {}  # noqa: RUF012 (one registry per process, guarded by _lock)

    @classmethod
    def acquire(cls, snapshot: Snapshot) -> None:
        with cls._lock:
            cls._users[id(snapshot)] = cls._users.get(id(snapshot), 0) + 1

    @classmethod
    def release(cls, snapshot: Snapshot) -> None:
        with cls._lock:
            count = cls._users.get(id(snapshot), 1) - 1
            if count:
                cls._users[id(snapshot)] = count
                return
            cls._users.pop(id(snapshot), None)
        snapshot.close()


@dataclass(frozen=True)
class SegmentedSnapshot(Snapshot):
    """A base snapshot and its delta segments as one snapshot (rows numbered across the parts)."""

    segments: tuple[Part, ...] = ()
    live: Mask | None = field(default=None, repr=False, compare=False)

    def parts(self) -> tuple[Part, ...]:
        return self.segments

    def live_mask(self) -> Mask | None:
        return self.live

    @property
    def whole(self) -> bool:
        return len(self.segments) == 1 and self.live is None

    def vectors(self) -> npt.NDArray[np.float32]:
        if self.whole:
            return self.segments[0].snapshot.vectors()
        raise SnapshotError("the vectors of several parts are read by row (vector_rows)")

    def vector_rows(self, rows: npt.NDArray[np.int64] | list[int]) -> npt.NDArray[np.float32]:
        asked = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(asked), self.index.dimension), dtype=np.float32)
        for part in self.segments:
            inside = np.flatnonzero((asked >= part.offset) & (asked < part.offset + part.rows))
            if len(inside):
                out[inside] = part.snapshot.vector_rows(asked[inside] - part.offset)
        return out

    def check_files(self) -> None:
        for part in self.segments:
            part.snapshot.check_files()

    def close(self) -> None:
        for part in self.segments:
            _Shared.release(part.snapshot)


def open_view(
    index_dir: Path,
    *,
    previous: Snapshot | None = None,
    verify: bool = True,
    mmap_min_mb: int | None = None,
) -> SegmentedSnapshot:
    """Open the live state of ``index_dir``, reusing the parts ``previous`` (an open view) has open.
    A part removed while the state was read (a merge or a build published meanwhile) makes it read
    the state again."""
    for attempt in range(_OPEN_ATTEMPTS):
        target = read_state(index_dir)
        try:
            return open_target(target, previous=previous, verify=verify, mmap_min_mb=mmap_min_mb)
        except SnapshotError:
            if attempt + 1 == _OPEN_ATTEMPTS or read_state(index_dir).state == target.state:
                raise
    raise AssertionError("unreachable")


def open_target(
    target: Target, *, previous: Snapshot | None = None, verify: bool = True, mmap_min_mb: int | None = None
) -> SegmentedSnapshot:
    """Open one live state (see :func:`open_view`)."""
    reusable = {}
    if isinstance(previous, SegmentedSnapshot):  # a plain snapshot is its opener's to close
        reusable = {part.snapshot.path.resolve(): part.snapshot for part in previous.parts()}
    opened: list[Snapshot] = []
    try:
        for index in range(len(target.state.parts)):
            directory = target.directory(index)
            snapshot = reusable.get(directory.resolve())
            if snapshot is None:
                snapshot = Snapshot.open(directory, verify=verify, mmap_min_mb=mmap_min_mb)
            _Shared.acquire(snapshot)
            opened.append(snapshot)
        return compose(target, opened)
    except BaseException:
        for snapshot in opened:
            _Shared.release(snapshot)
        raise


def compose(target: Target, snapshots: Sequence[Snapshot]) -> SegmentedSnapshot:
    """The view of ``target`` over its opened parts (in the state's order)."""
    parts: list[Part] = []
    offset = 0
    for ref, snapshot in zip(target.state.parts, snapshots, strict=True):
        deleted = frozenset(ref.deleted)
        parts.append(Part(snapshot, offset, _live_rows(snapshot, deleted), deleted))
        offset += snapshot.index.ntotal
    base = snapshots[0]
    listings = [Listing(p.snapshot.manifest, p.deleted, p.snapshot.store.documents) for p in parts]
    manifest = combined_manifest(target.state.id, listings)
    if len(parts) == 1 and parts[0].live is None:
        whole = (base.index, base.lexical, base.store)
        return SegmentedSnapshot(base.path, manifest, *whole, segments=tuple(parts))
    live = None
    if any(part.live is not None for part in parts):
        live = np.concatenate([np.ones(p.rows, dtype=np.bool_) if p.live is None else p.live for p in parts])
    dead = np.flatnonzero(~live) if live is not None else np.zeros(0, dtype=np.int64)
    owners = {doc_id: i for i, part in enumerate(parts) for doc_id in _live_documents(part)}
    return SegmentedSnapshot(
        base.path,
        manifest,
        SegmentedIndex(parts),
        SegmentedLexical(parts, dead),
        SegmentedStore(parts, owners, live),
        segments=tuple(parts),
        live=live,
    )


def _live_documents(part: Part) -> list[str]:
    return [doc_id for doc_id in part.snapshot.manifest.documents if doc_id not in part.deleted]


def _live_rows(snapshot: Snapshot, deleted: frozenset[str]) -> Mask | None:
    """Which rows of ``snapshot`` stay served once ``deleted`` are gone (None: all)."""
    records = snapshot.store.documents(sorted(deleted)) if deleted else {}
    if not records:
        return None
    live = np.ones(snapshot.index.ntotal, dtype=np.bool_)
    for record in records.values():
        live[record.first_row : record.first_row + record.chunk_count] = False
    return live


@dataclass(frozen=True)
class Listing:
    """What one part lists: its manifest, its documents deleted since, and a reader of the metadata
    of its documents by id (to take deleted documents out of the fields' counts)."""

    manifest: Manifest
    deleted: frozenset[str]
    records: Callable[[list[str]], dict[str, DocumentRecord]]


def read_live_manifest(index_dir: Path) -> Manifest:
    """The manifest of what the collection in ``index_dir`` serves (its base and live deltas, as a
    view opened on it shows it), read without opening any index: what a writer or a watcher compares
    the source folder with."""
    for attempt in range(_OPEN_ATTEMPTS):
        target = read_state(index_dir)
        try:
            listings = [
                Listing(
                    read_manifest(target.directory(i)), frozenset(ref.deleted), _reader(target.directory(i))
                )
                for i, ref in enumerate(target.state.parts)
            ]
            return combined_manifest(target.state.id, listings)
        except SnapshotError:
            if attempt + 1 == _OPEN_ATTEMPTS or read_state(index_dir).state == target.state:
                raise
    raise AssertionError("unreachable")


def _reader(directory: Path) -> Callable[[list[str]], dict[str, DocumentRecord]]:
    def records(doc_ids: list[str]) -> dict[str, DocumentRecord]:
        if not doc_ids:
            return {}
        store = Store(directory / STORE_NAME)
        try:
            return store.documents(doc_ids)
        finally:
            store.close()

    return records


def combined_manifest(state_id: str, listings: Sequence[Listing]) -> Manifest:
    """The base's manifest, with the documents, skipped files, counts and fields of every part once
    deletions are taken out, and the state's id."""
    base = listings[0].manifest
    if len(listings) == 1 and not listings[0].deleted:
        return base
    documents = {}
    skipped = {}
    for listing in listings:
        manifest, deleted = listing.manifest, listing.deleted
        documents.update({k: v for k, v in manifest.documents.items() if k not in deleted})
        skipped.update({k: v for k, v in manifest.skipped.items() if k not in deleted})
    formats = Counter(entry.format for entry in documents.values())
    chunks = sum(entry.chunks for entry in documents.values())
    counts = Counts(
        documents=len(documents),
        chunks=chunks,
        skipped=len(skipped),
        formats=dict(sorted(formats.items(), key=lambda item: (-item[1], item[0]))),
    )
    return msgspec.structs.replace(
        base,
        snapshot_id=state_id,
        created_at=max(listing.manifest.created_at for listing in listings),
        counts=counts,
        documents=documents,
        skipped=skipped,
        fields=_fields(listings),
        index=msgspec.structs.replace(base.index, vectors=chunks),
    )


def _fields(listings: Sequence[Listing]) -> dict[str, FieldInfo]:
    """The metadata fields of the served documents: every part's, less the deleted documents'."""
    kinds: dict[str, set[FieldType]] = {}
    multiple: set[str] = set()
    counts: Counter[str] = Counter()
    for listing in listings:
        for key, info in listing.manifest.fields.items():
            kinds.setdefault(key, set()).add(info.type)
            if info.multiple:
                multiple.add(key)
            counts[key] += info.documents
        gone = listing.records(sorted(listing.deleted)) if listing.deleted else {}
        for record in gone.values():
            counts.subtract(key for key in record.metadata if key not in BUILTIN_FIELDS)
    return {
        key: FieldInfo(type=merged(kinds[key]), multiple=key in multiple, documents=counts[key])
        for key in sorted(kinds)
        if counts[key] > 0
    }


def open_current(
    index_dir: Path, *, verify: bool = True, mmap_min_mb: int | None = None
) -> SegmentedSnapshot:
    """The collection in ``index_dir`` as it is served: its base and live delta segments."""
    return open_view(index_dir, verify=verify, mmap_min_mb=mmap_min_mb)
