"""Which file suffixes a reader reads, by format: what a document's name must end with to be read
(the write API refuses other names before storing anything)."""

from __future__ import annotations

from pathlib import PurePosixPath

from indexer.reading.readers import READERS


def format_of(name: str) -> str | None:
    """The format whose reader reads ``name`` by its suffix (case-insensitive), or None."""
    suffix = PurePosixPath(name).suffix.lower()
    return next((reader.format for reader in READERS if suffix in reader.suffixes), None)


def supported_suffixes() -> tuple[str, ...]:
    """Every suffix a reader reads, sorted."""
    return tuple(sorted(suffix for reader in READERS for suffix in reader.suffixes))
