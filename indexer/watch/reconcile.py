"""What changed in a source folder while nobody watched: the documents whose files differ from what
the served snapshot holds."""

from __future__ import annotations

from indexer.build.plan import known_files
from indexer.config import Settings
from indexer.errors import NoSnapshotError
from indexer.reading.documents import load_sources
from indexer.snapshot.view import read_live_manifest


def differences(settings: Settings) -> set[str]:
    """Documents that are new, changed (content, metadata sidecar or reader) or gone since the served
    snapshot, every file hashed as a build hashes it. A change of settings (limits, chunking) is not
    one: ``python -m indexer build`` applies those."""
    try:
        known = known_files(read_live_manifest(settings.index_dir))
    except NoSnapshotError:
        known = {}
    found = {
        source.doc_id: (source.sha256, source.reader)
        for source in load_sources(settings.seeds_dir, settings.reading)
    }
    return {doc_id for doc_id in found.keys() | known.keys() if found.get(doc_id) != known.get(doc_id)}
