"""How a build turns the documents it must (re)index into chunk records and vectors: the
:class:`Processor` protocol and what it yields. Its implementations: :mod:`~indexer.build.local_processor`
(this process) and :mod:`~indexer.build.ray.processor` (Ray Data stages on a cluster), picked by
:mod:`~indexer.build.processor_factory`.

Whichever runs, the builder reuses unchanged documents, writes the store in row order, builds the
indexes and publishes the snapshot the same way (:mod:`indexer.build.collect`, :mod:`indexer.build.write`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from indexer.embedding import Vectors
from indexer.reading.documents import Document, SourceFile
from indexer.snapshot.store import ChunkRecord


@dataclass(frozen=True, slots=True)
class Parsed:
    """A document read and chunked; its chunks' vectors come from :meth:`Processor.vectors`."""

    source: SourceFile
    document: Document
    chunks: list[ChunkRecord]
    """In position order, ``row`` = position (the build gives them their rows)."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A document that cannot be indexed, and why (it is listed as skipped)."""

    source: SourceFile
    reason: str


Processed = Parsed | Unreadable


def no_vectors() -> Vectors:
    """What :meth:`Processor.vectors` returns when nothing was embedded."""
    return np.zeros((0, 1), dtype=np.float32)


class Processor(Protocol):
    """Reads, chunks and embeds the documents a build must index."""

    def process(self, sources: Sequence[SourceFile]) -> Iterator[Processed]:
        """One result per source, in the order given."""
        ...

    def vectors(self) -> Vectors:
        """Once :meth:`process` is exhausted: one vector per chunk yielded, in the order yielded."""
        ...

    def close(self) -> None:
        """Release what :meth:`process` started (threads, a Ray connection), done or not."""
        ...
