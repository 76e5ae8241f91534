"""Document readers: one module per format behind the ``DocumentReader`` protocol, and a factory."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from indexer.reading.readers.text import TextReader


class DocumentReader(Protocol):
    """Turns a file's bytes into the text that is chunked, cited and served."""

    suffixes: tuple[str, ...]

    def read(self, data: bytes, path: Path) -> str:
        """Decode ``data``; raise ``UnreadableDocumentError`` when the file cannot be read."""
        ...


_READERS: tuple[DocumentReader, ...] = (TextReader(),)


def reader_for(path: Path) -> DocumentReader | None:
    """The reader for ``path``'s extension (case-insensitive), or ``None`` if unsupported."""
    suffix = path.suffix.lower()
    for reader in _READERS:
        if suffix in reader.suffixes:
            return reader
    return None
