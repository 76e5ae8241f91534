"""Where a snapshot's parts live on disk, and which snapshot is the current one.

Each collection has such a folder: ``<index_dir>/<name>/`` when ``collections`` is configured,
``<index_dir>`` itself for the one collection of a configuration without it
(:meth:`indexer.config.Settings.collection`):

<folder>/
    current -> snapshots/<id>      symlink, switched atomically by a full build (the base)
    snapshots/<id>/                manifest.json, index.faiss, vectors.npy, store.sqlite, lexical/
    snapshots/.staging-<id>/       a build in progress (never read)
    segments/<id>/                 a delta segment written by an update: the same files, few documents
    segments.json                  the live state: the base, its deltas and their deletion marks
                                   (replaced atomically by an update; ignored once a build moves on)
    .lock                          held by a running build
"""

from __future__ import annotations

import os
from pathlib import Path

from indexer.errors import NoSnapshotError, SnapshotError

CURRENT_LINK = "current"
SNAPSHOTS_DIR = "snapshots"
MANIFEST_NAME = "manifest.json"
INDEX_NAME = "index.faiss"
VECTORS_NAME = "vectors.npy"
STORE_NAME = "store.sqlite"
LEXICAL_DIR = "lexical"
SEGMENTS_DIR = "segments"
STATE_NAME = "segments.json"
REQUIRED_FILES = (INDEX_NAME, VECTORS_NAME, STORE_NAME)


def current_dir(index_dir: Path) -> Path:
    """The directory of the published snapshot (the target of ``current``)."""
    link = index_dir / CURRENT_LINK
    if not os.path.lexists(link):
        raise NoSnapshotError(f"no index snapshot in {index_dir}: run `python -m indexer build` first")
    target = link.resolve()
    if not target.is_dir():
        raise SnapshotError(f"{link} points to {target}, which does not exist")
    return target


def data_files(directory: Path) -> list[str]:
    """Every file of a staged snapshot except the manifest, as relative paths."""
    return sorted(
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME
    )
