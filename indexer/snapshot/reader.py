"""The read side of a snapshot: verify its files against the manifest and open its parts."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from indexer.config import IndexSettings
from indexer.errors import ConfigError, SnapshotError
from indexer.snapshot.layout import (
    INDEX_NAME,
    LEXICAL_DIR,
    REQUIRED_FILES,
    STORE_NAME,
    VECTORS_NAME,
    current_dir,
)
from indexer.snapshot.lexical import LexicalIndex, load_lexical
from indexer.snapshot.locks import reading_lock
from indexer.snapshot.manifest import Manifest, file_entry, read_manifest
from indexer.snapshot.store import Store
from indexer.snapshot.vectors import VectorIndex, load_index


def verify_files(directory: Path, manifest: Manifest, *, checksums: bool = True) -> None:
    """Refuse a snapshot whose data files are missing, truncated or (with ``checksums``) altered."""
    for name in REQUIRED_FILES:
        if name not in manifest.files:
            raise SnapshotError(f"{directory}: the manifest lists no {name} (incomplete snapshot)")
    for name, expected in manifest.files.items():
        path = directory / name
        if not path.is_file():
            raise SnapshotError(f"{directory}: {name} is missing (incomplete snapshot)")
        if path.stat().st_size != expected.bytes:
            raise SnapshotError(
                f"{directory}: {name} has {path.stat().st_size} bytes, manifest says {expected.bytes}"
            )
        if checksums and file_entry(path).sha256 != expected.sha256:
            raise SnapshotError(f"{directory}: {name} does not match its sha256 in the manifest (corrupt)")


Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Part:
    """One part of what a reader serves: a snapshot (the base or a delta segment), where its rows
    start among all the parts' rows, and which of its rows are deleted."""

    snapshot: Snapshot
    offset: int
    live: Mask | None = None
    """Its rows still served (None: all of them)."""
    deleted: frozenset[str] = frozenset()
    """Its documents (or skipped files) deleted or replaced by a later part."""

    @property
    def rows(self) -> int:
        return self.snapshot.index.ntotal


@dataclass(frozen=True)
class Snapshot:
    """An opened snapshot: manifest, vector index and store, kept together."""

    path: Path
    manifest: Manifest
    index: VectorIndex
    lexical: LexicalIndex
    store: Store
    _held: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False, compare=False)
    """The snapshot's reading lock, released by :meth:`close`."""
    _mapped: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def snapshot_id(self) -> str:
        return self.manifest.snapshot_id

    @classmethod
    def open(cls, directory: Path, *, verify: bool = True, mmap_min_mb: int | None = None) -> Snapshot:
        """Open and check a snapshot. The vector index type and its search parameters come from the
        manifest, not from the current config; an index file of at least ``mmap_min_mb`` (default:
        ``index.mmap_min_mb``'s default) is memory-mapped. The snapshot is locked for reading (pruning
        leaves it alone) until :meth:`close`."""
        held = contextlib.ExitStack()
        try:
            held.enter_context(reading_lock(directory))
            manifest = read_manifest(directory)
            verify_files(directory, manifest, checksums=verify)
            index, lexical = _open_indexes(directory, manifest, mmap_min_mb)
            return cls(directory, manifest, index, lexical, Store(directory / STORE_NAME), held)
        except BaseException:
            held.close()
            raise

    def vectors(self) -> npt.NDArray[np.float32]:
        """All stored vectors, memory-mapped (row i is vector id i)."""
        vectors: npt.NDArray[np.float32] = np.load(self.path / VECTORS_NAME, mmap_mode="r")
        return vectors

    def vector_rows(self, rows: npt.NDArray[np.int64] | list[int]) -> npt.NDArray[np.float32]:
        """The stored vectors of ``rows`` (a copy), read from the memory-mapped file."""
        mapped = self._mapped.get("vectors")
        if mapped is None:
            mapped = self._mapped["vectors"] = self.vectors()
        return np.asarray(mapped[rows], dtype=np.float32)

    def parts(self) -> tuple[Part, ...]:
        """The snapshots this one is made of, in row order (a plain snapshot: itself)."""
        return (Part(self, 0),)

    def live_mask(self) -> Mask | None:
        """Which rows are served (None: all of them); deleted rows are never returned."""
        return None

    @property
    def whole(self) -> bool:
        """Whether the rows are exactly one snapshot's, none deleted (its files stand for it)."""
        return True

    def check_files(self) -> None:
        """Cheap check that the snapshot's files are still there with their sizes
        (:class:`SnapshotError` if one was removed or truncated)."""
        verify_files(self.path, self.manifest, checksums=False)

    def close(self) -> None:
        """Close the store, unmap the keyword index and release the reading lock."""
        self.store.close()
        self.lexical.close()
        self._held.close()


def _open_indexes(
    directory: Path, manifest: Manifest, mmap_min_mb: int | None
) -> tuple[VectorIndex, LexicalIndex]:
    index_path = directory / INDEX_NAME
    if mmap_min_mb is None:
        mmap_min_mb = IndexSettings().mmap_min_mb
    mmap = index_path.stat().st_size >= mmap_min_mb * 2**20
    try:
        index = load_index(manifest.index, index_path, mmap=mmap)
    except RuntimeError as exc:  # faiss reports unreadable files as RuntimeError
        raise SnapshotError(f"{directory}: cannot read {INDEX_NAME}: {exc}") from exc
    except ConfigError as exc:
        raise SnapshotError(f"{directory}: {exc} (built by a newer version?)") from exc
    if index.ntotal != manifest.index.vectors or index.dimension != manifest.model.dimension:
        raise SnapshotError(
            f"{directory}: index holds {index.ntotal} vectors of dimension {index.dimension}, "
            f"manifest says {manifest.index.vectors} of dimension {manifest.model.dimension}"
        )
    lexical = load_lexical(manifest.lexical, directory / LEXICAL_DIR)
    if lexical.size != manifest.index.vectors:
        lexical.close()
        raise SnapshotError(
            f"{directory}: lexical index holds {lexical.size} chunks, manifest says {manifest.index.vectors}"
        )
    return index, lexical


def open_current(index_dir: Path, *, verify: bool = True, mmap_min_mb: int | None = None) -> Snapshot:
    return Snapshot.open(current_dir(index_dir), verify=verify, mmap_min_mb=mmap_min_mb)
