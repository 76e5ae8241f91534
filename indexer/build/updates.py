"""Apply what changed in one collection's source folder to its index: the one write path shared by
uploads and deletions over HTTP, ``python -m indexer watch`` and a collection's ``watch: true``.

``doc_ids`` names the documents (paths relative to the source folder) that were added, replaced or
deleted; the source folder is the truth for each (a missing file is a deletion). Each call publishes
at most one new snapshot, atomically, under the collection's build lock (a build from the CLI and an
update never interleave: :class:`~indexer.errors.BuildLockedError` if one is running).
"""

from __future__ import annotations

from collections.abc import Collection

from indexer.build.builder import Builder, BuildReport, EmbedderFactory
from indexer.config import Settings


def update(
    settings: Settings, embedder_factory: EmbedderFactory, doc_ids: Collection[str] | None = None
) -> BuildReport:
    """Publish the collection with ``doc_ids`` as they now are in ``settings.seeds_dir`` (None: every
    difference between the folder and the index). Documents not named are reused as they are
    (nothing of theirs is re-embedded); deletions are intentional, so no shrink guard applies. The
    report's ``skipped`` names each document that could not be indexed, with the reason."""
    del doc_ids  # the incremental build compares the whole folder with the index: a superset
    return Builder(settings, embedder_factory).build(allow_shrink=True)
