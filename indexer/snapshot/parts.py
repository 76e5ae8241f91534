"""The vector index, keyword index and store of several parts (a base snapshot and its delta
segments) seen as one: rows numbered across the parts (part ``i``'s row ``r`` is ``offset_i + r``),
deleted rows never returned.

Keyword scores stay comparable across parts: the base is scored as it was built (with its own term
statistics) and rescaled so that its share of the query's IDF mass (what calibration reads:
:mod:`indexer.search.calibration`) is the one it has alone, whatever the deltas add, and each delta segment
is scored with the statistics of the whole collection (chunks and document
frequencies of every part added up), never with its own: in a 10-chunk delta a term in one chunk would
otherwise weigh as a rare term does in the whole collection (an IDF of ~2.4 where the collection gives
it ~13 or ~0.1) and its chunks would outrank or undercut the base's for no reason. The base's own
statistics differ from the collection's only by the deltas' share of it, which merges keep small and a
full build folds away; rescoring the base's million rows per term at every query would cost more than
the whole search. Deleted rows keep counting in the statistics until a merge or build drops them (as in
Lucene), so a deletion never moves the other chunks' scores.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from indexer.snapshot.lexical.bm25 import lucene_idf
from indexer.snapshot.reader import Mask, Part
from indexer.snapshot.store import ChunkRecord, DocumentRecord, Store

Results = tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]


def _local_bitmap(allowed: npt.NDArray[np.uint8], offset: int, rows: int) -> npt.NDArray[np.uint8]:
    """Bits ``offset .. offset + rows`` of a little-endian bitmap, as a bitmap of their own."""
    if offset % 8 == 0:
        return np.ascontiguousarray(allowed[offset // 8 : offset // 8 + (rows + 7) // 8])
    first = offset // 8
    bits = np.unpackbits(allowed[first : (offset + rows + 7) // 8 + 1], bitorder="little")
    shift = offset - first * 8
    return np.packbits(bits[shift : shift + rows], bitorder="little")


class SegmentedIndex:
    """Inner-product search over every part's vector index, merged best first."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self.parts = tuple(parts)
        self._live = {id(p): np.packbits(p.live, bitorder="little") for p in self.parts if p.live is not None}
        self._total = sum(p.rows for p in self.parts)

    @property
    def ntotal(self) -> int:
        return self._total

    @property
    def dimension(self) -> int:
        return self.parts[0].snapshot.index.dimension

    def _allowed(self, part: Part, allowed: npt.NDArray[np.uint8] | None) -> npt.NDArray[np.uint8] | None:
        live = self._live.get(id(part))
        if allowed is None:
            return live
        local = _local_bitmap(allowed, part.offset, part.rows)
        return local if live is None else np.bitwise_and(local, live)

    def search(
        self, queries: npt.NDArray[np.float32], k: int, allowed: npt.NDArray[np.uint8] | None = None
    ) -> Results:
        scores: list[npt.NDArray[np.float32]] = []
        ids: list[npt.NDArray[np.int64]] = []
        for part in self.parts:
            bitmap = self._allowed(part, allowed)
            if part.rows == 0 or (bitmap is not None and not bitmap.any()):
                continue
            found, rows = part.snapshot.index.search(queries, min(k, part.rows), bitmap)
            scores.append(found)
            ids.append(np.where(rows >= 0, rows + part.offset, -1))
        if not scores:
            n = len(queries)
            return np.zeros((n, 1), dtype=np.float32), np.full((n, 1), -1, dtype=np.int64)
        if len(scores) == 1:
            return scores[0], ids[0]
        merged_scores, merged_ids = np.concatenate(scores, axis=1), np.concatenate(ids, axis=1)
        ranked = np.where(merged_ids >= 0, merged_scores, -np.inf)
        order = np.argsort(-ranked, axis=1, kind="stable")[:, :k]
        return (
            np.take_along_axis(merged_scores, order, axis=1),
            np.take_along_axis(merged_ids, order, axis=1),
        )

    def save(self, path: Path) -> None:
        raise NotImplementedError("a segmented index is saved part by part")


class SegmentedLexical:
    """BM25 over every part, scores comparable across parts (see the module's docstring)."""

    def __init__(self, parts: Sequence[Part], dead: npt.NDArray[np.int64]) -> None:
        self.parts = tuple(parts)
        self._dead = dead
        self._size = sum(p.rows for p in self.parts)

    @property
    def size(self) -> int:
        return self._size

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        return self.scores_and_mass(query)[0]

    def scores_and_mass(self, query: str) -> tuple[npt.NDArray[np.float32], float]:
        """Every row's score (0 for deleted rows) and the query's IDF mass over the whole collection."""
        terms = self.query_terms(query)
        df = np.zeros(len(terms), dtype=np.float64)
        for part in self.parts:
            df += part.snapshot.lexical.frequencies(terms)
        idf = lucene_idf(float(self._size), df)
        mass = float(idf.sum())
        out = np.zeros(self._size, dtype=np.float32)
        for i, part in enumerate(self.parts):
            lexical = part.snapshot.lexical
            if not part.rows or not terms:
                continue
            if i == 0:  # the base's share of the query, as it scores alone (see the module's docstring)
                found, own_mass = lexical.scores_and_mass(query)
                found = found * np.float32(mass / own_mass if own_mass > 0 else 0.0)
            else:
                found = lexical.weighted_scores(terms, idf)
            out[part.offset : part.offset + part.rows] = found
        out[self._dead] = 0
        return out, mass

    def query_terms(self, query: str) -> list[str]:
        return self.parts[0].snapshot.lexical.query_terms(query)

    def frequencies(self, terms: Sequence[str]) -> npt.NDArray[np.int64]:
        total = np.zeros(len(terms), dtype=np.int64)
        for part in self.parts:
            total += part.snapshot.lexical.frequencies(terms)
        return total

    def weighted_scores(self, terms: Sequence[str], idf: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        out = np.zeros(self._size, dtype=np.float32)
        for part in self.parts:
            out[part.offset : part.offset + part.rows] = part.snapshot.lexical.weighted_scores(terms, idf)
        out[self._dead] = 0
        return out

    def highlights(self, query: str, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        return self.parts[0].snapshot.lexical.highlights(query, texts)

    def save(self, directory: Path) -> None:
        raise NotImplementedError("a segmented keyword index is saved part by part")

    def close(self) -> None:
        """Nothing of its own to release: the parts are closed with the snapshot."""


class SegmentedStore(Store):
    """The chunk and document store of every part; a deleted document or chunk is not found."""

    def __init__(self, parts: Sequence[Part], owners: dict[str, int], live: Mask | None) -> None:
        # The parts' stores are opened (and closed) with their snapshots: no connection of its own.
        self.parts = tuple(parts)
        self.path = self.parts[0].snapshot.store.path
        self._owners = owners
        self._live = live
        self._ends = np.array([p.offset + p.rows for p in self.parts], dtype=np.int64)

    def close(self) -> None:
        """Nothing of its own to close."""

    def _part_of(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        found: npt.NDArray[np.int64] = np.searchsorted(self._ends, rows, side="right")
        return found

    def chunks(self, rows: Sequence[int]) -> list[ChunkRecord]:
        asked = np.asarray([int(r) for r in rows], dtype=np.int64)
        if self._live is not None:
            inside = (asked >= 0) & (asked < len(self._live))
            asked = asked[inside][self._live[asked[inside]]]
        which = self._part_of(asked)
        by_row: dict[int, ChunkRecord] = {}
        for index in np.unique(which).tolist():
            if index >= len(self.parts):
                continue
            part = self.parts[index]
            local = (asked[which == index] - part.offset).tolist()
            for chunk in part.snapshot.store.chunks(local):
                by_row[chunk.row + part.offset] = dataclasses.replace(chunk, row=chunk.row + part.offset)
        return [by_row[r] for r in asked.tolist() if r in by_row]

    def chunks_of(self, doc_id: str) -> list[ChunkRecord]:
        owner = self._owners.get(doc_id)
        if owner is None:
            return []
        part = self.parts[owner]
        return [
            dataclasses.replace(c, row=c.row + part.offset) for c in part.snapshot.store.chunks_of(doc_id)
        ]

    def document(self, doc_id: str) -> DocumentRecord | None:
        owner = self._owners.get(doc_id)
        if owner is None:
            return None
        part = self.parts[owner]
        record = part.snapshot.store.document(doc_id)
        return None if record is None else _moved(record, part.offset)

    def documents(self, doc_ids: Sequence[str]) -> dict[str, DocumentRecord]:
        wanted: dict[int, list[str]] = {}
        for doc_id in doc_ids:
            owner = self._owners.get(doc_id)
            if owner is not None:
                wanted.setdefault(owner, []).append(doc_id)
        found: dict[str, DocumentRecord] = {}
        for owner, ids in wanted.items():
            part = self.parts[owner]
            for doc_id, record in part.snapshot.store.documents(ids).items():
                found[doc_id] = _moved(record, part.offset)
        return found

    def iter_documents(self, *, order: str = "doc_id") -> Iterator[DocumentRecord]:
        """Every served document, metadata only, by id (``order="first_row"``: in row order)."""
        records = [
            _moved(record, part.offset)
            for part in self.parts
            for record in part.snapshot.store.iter_documents(order="first_row")
            if record.doc_id not in part.deleted
        ]
        if order != "first_row":
            records.sort(key=lambda record: record.doc_id)
        return iter(records)

    def chunk_column(self, column: str) -> list[Any]:
        """One column of every row of every part, deleted ones included (row i is entry i)."""
        values: list[Any] = []
        for part in self.parts:
            values.extend(part.snapshot.store.chunk_column(column))
        return values


def _moved(record: DocumentRecord, offset: int) -> DocumentRecord:
    return record if not offset else dataclasses.replace(record, first_row=record.first_row + offset)
