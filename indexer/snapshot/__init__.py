"""The index snapshot: the one contract between the indexer and the service.

A snapshot is a folder: ``manifest.json`` (what it holds and how it was built), the FAISS vector index,
the stored vectors, the BM25 index and the chunk/document store. The build writes one and publishes
it atomically (:mod:`indexer.snapshot.publish`); readers open and verify it
(:mod:`indexer.snapshot.reader`); updates add delta segments served with the base
(:mod:`indexer.snapshot.state`, :mod:`indexer.snapshot.view`), and
:mod:`indexer.snapshot.compatibility` decides whether a model's vectors fit it.
"""

from indexer.snapshot.compatibility import check_queryable
from indexer.snapshot.layout import CURRENT_LINK, SNAPSHOTS_DIR, current_dir
from indexer.snapshot.manifest import Manifest, read_manifest
from indexer.snapshot.reader import Snapshot
from indexer.snapshot.state import Target, read_state
from indexer.snapshot.store import ChunkRecord, DocumentRecord
from indexer.snapshot.view import SegmentedSnapshot, open_current, open_view, read_live_manifest

__all__ = [
    "CURRENT_LINK",
    "SNAPSHOTS_DIR",
    "ChunkRecord",
    "DocumentRecord",
    "Manifest",
    "SegmentedSnapshot",
    "Snapshot",
    "Target",
    "check_queryable",
    "current_dir",
    "open_current",
    "open_view",
    "read_live_manifest",
    "read_manifest",
    "read_state",
]
