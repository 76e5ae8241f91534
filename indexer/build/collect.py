"""The build's pass over the sources: reuse what did not change, have the rest processed.

A document whose sha256 matches the previous snapshot's keeps its chunks and vectors (copied, in new
row order); the others go to a :class:`~indexer.build.processor.Processor` (read, chunked and
embedded in this process, or on a Ray cluster), whose results come back in order. Either way the store
is written here, in row order, as results arrive.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec
import numpy as np
import numpy.typing as npt

from indexer.build.processor import Parsed, Processed, Processor, no_vectors
from indexer.build.records import document_record
from indexer.config import ReadingSettings, Settings
from indexer.embedding import Vectors
from indexer.errors import IndexerError
from indexer.reading.documents import SourceFile
from indexer.snapshot.fields import Fields
from indexer.snapshot.manifest import DocumentEntry, SkippedEntry
from indexer.snapshot.reader import Snapshot
from indexer.snapshot.store import DocumentRecord, StoreWriter


@dataclass
class Collected:
    """Every chunk of the new snapshot, in row order, and where its vector comes from."""

    entries: dict[str, DocumentEntry] = field(default_factory=dict)
    skipped: dict[str, SkippedEntry] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    """Every chunk's text, in row order (for the lexical index)."""
    parts: list[tuple[int, npt.NDArray[np.float32] | None, int]] = field(default_factory=list)
    """(first row, reused vectors or None for new ones, rows), per document in row order."""
    new_vectors: Vectors = field(default_factory=no_vectors)
    """The new chunks' vectors, in row order."""
    same_rows: bool = False
    """Every chunk kept its row (and so its vector id) from the previous snapshot."""
    reused: int = 0
    embedded_documents: int = 0
    fields: Fields = field(default_factory=Fields)
    """The documents' metadata keys and their types, for filters."""

    @property
    def rows(self) -> int:
        return len(self.texts)

    def formats(self) -> dict[str, int]:
        """Documents per format, most first (then by name)."""
        counts = Counter(entry.format for entry in self.entries.values())
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def embedded_chunks(self) -> int:
        return len(self.new_vectors)

    def vectors(self, dimension: int) -> npt.NDArray[np.float32]:
        """All vectors in row order: reused ones copied, new ones from the processor."""
        out = np.zeros((self.rows, dimension), dtype=np.float32)
        offset = 0
        for start, reused, count in self.parts:
            if reused is not None:
                out[start : start + count] = reused
            else:
                out[start : start + count] = self.new_vectors[offset : offset + count]
                offset += count
        return out


class Collector:
    """One pass over the sources, writing the new store as it goes."""

    def __init__(
        self, settings: Settings, writer: StoreWriter, reuse: Snapshot | None, processor: Processor
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.reuse = reuse
        self.processor = processor
        self.out = Collected(same_rows=reuse is not None and reuse.whole)

    def run(self, sources: list[SourceFile]) -> Collected:
        try:
            reusable = self._reusable(sources)
            results = self.processor.process([s for s in sources if s.doc_id not in reusable])
            for source in sources:
                if source.doc_id in reusable:
                    self._copy(source)
                else:
                    self._add(source, _next(results, source))
            self.writer.close()
            self.out.new_vectors = self.processor.vectors()
        finally:
            self.processor.close()
        if self.out.embedded_chunks != sum(n for _, reused, n in self.out.parts if reused is None):
            raise IndexerError("the processor returned a vector count that does not match the chunks")
        return self.out

    def _reusable(self, sources: list[SourceFile]) -> set[str]:
        """Ids of the unchanged documents whose chunks and vectors can be copied."""
        reuse = self.reuse
        if reuse is None:
            return set()
        limits = self.settings.reading
        # a title or metadata value over a cap (lowered since, or read before caps): read again, capped
        stored = {record.doc_id for record in reuse.store.iter_documents() if within_caps(record, limits)}
        reusable = set()
        for source in sources:
            old = reuse.manifest.documents.get(source.doc_id)
            if old is None or (old.sha256, old.reader) != (source.sha256, source.reader):
                continue
            if (
                old.bytes > limits.max_file_bytes
                or old.pages > limits.max_pages
                or old.chars > limits.max_chars
            ):
                continue  # over a limit lowered since: read again, to be skipped with the reason
            if source.doc_id in stored:
                reusable.add(source.doc_id)
        return reusable

    def _copy(self, source: SourceFile) -> None:
        """Copy an unchanged document's chunks and vectors."""
        assert self.reuse is not None
        reuse, out = self.reuse, self.out
        record = reuse.store.document(source.doc_id)
        assert record is not None
        row = out.rows
        old_chunks = reuse.store.chunks_of(source.doc_id)
        self.writer.add_document(dataclasses.replace(record, first_row=row))
        self.writer.add_chunks(dataclasses.replace(c, row=row + i) for i, c in enumerate(old_chunks))
        out.fields.add(record.metadata)
        out.texts.extend(c.text for c in old_chunks)
        rows = [c.row for c in old_chunks]
        out.same_rows = out.same_rows and rows == list(range(row, row + len(rows)))
        out.parts.append((row, reuse.vector_rows(rows), len(rows)))
        old = reuse.manifest.documents[source.doc_id]
        out.entries[source.doc_id] = msgspec.structs.replace(old, chunks=len(rows))
        out.reused += 1

    def _add(self, source: SourceFile, result: Processed) -> None:
        """Store a processed document (its vectors come later, in order), or list it as skipped."""
        out = self.out
        if not isinstance(result, Parsed):
            out.skipped[source.doc_id] = SkippedEntry(
                sha256=source.sha256, reason=result.reason, reader=source.reader
            )
            return
        document, row = result.document, out.rows
        chunks = [dataclasses.replace(c, row=row + c.position) for c in result.chunks]
        self.writer.add_document(document_record(document, len(chunks), row))
        self.writer.add_chunks(chunks)
        out.fields.add(document.metadata)
        out.texts.extend(c.text for c in chunks)
        out.same_rows = False
        out.parts.append((row, None, len(chunks)))
        out.entries[source.doc_id] = DocumentEntry(
            sha256=source.sha256,
            chunks=len(chunks),
            format=document.format,
            reader=document.reader,
            bytes=source.size,
            chars=len(document.text),
            pages=len(document.pages),
        )
        out.embedded_documents += 1


def within_caps(record: DocumentRecord, limits: ReadingSettings) -> bool:
    """Whether a stored document's title and metadata are within the reading caps."""
    if len(record.title) > limits.max_title_chars:
        return False
    for value in record.metadata.values():
        items = value if isinstance(value, list) else [value]
        if sum(len(item) for item in items if isinstance(item, str)) > limits.max_metadata_value_chars:
            return False
    return True


def _next(results: Iterator[Processed], source: SourceFile) -> Processed:
    """The processor's next result, which must be ``source``'s."""
    result = next(results, None)
    if result is None or result.source.doc_id != source.doc_id:
        got = "nothing" if result is None else result.source.doc_id
        raise IndexerError(f"the processor returned {got} where {source.doc_id} was expected")
    return result
