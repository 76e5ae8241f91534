"""Which chunk rows a filter allows: the filter tree evaluated over columns of field values.

Each field is one column, built from the store the first time a filter names it and kept while the
snapshot is open: its values as numbers or as codes into the sorted distinct values, with the document
(or passage) each belongs to, so a comparison is a few vectorised numpy operations whatever the
collection's size. A document's chunks have consecutive rows, so a document mask becomes a row mask by
repeating each document's entry once per chunk. Recent selections are cached.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from indexer.errors import SnapshotError
from indexer.search.deadline import Deadline
from indexer.search.filters import NEGATIVE, Comparison, Compound, FieldSpec, Filter, Scalar
from indexer.search.text_match import OPERATORS as TEXT_OPERATORS
from indexer.search.text_match import Haystack
from indexer.snapshot.reader import Snapshot
from indexer.snapshot.store import DocumentRecord

EXACT_MAX = 2048
"""A selection of at most this many rows is searched exactly over its own stored vectors (gathering
them costs about a microsecond a row); a larger one by the vector index with an ID selector (a flat
index then scores only the allowed rows: 0.9 ms for 5,900 of 11,800 rows, where gathering them took
3-5 ms; HNSW and IVF widen their search until they have ``k`` allowed rows)."""
CACHED_SELECTIONS = 32
CACHED_CONDITIONS = 256
"""Single comparisons' results kept (per field value: a byte per document or passage), so a filter
that repeats a comparison, or differs from a recent one in a single condition, computes only the new
ones."""
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Selection:
    """The rows a filter allows."""

    mask: Mask
    count: int
    rows: npt.NDArray[np.int64] = field(repr=False)
    """The allowed rows, ascending (when ``count <= EXACT_MAX``; else empty)."""
    bitmap: npt.NDArray[np.uint8] = field(repr=False)
    """The mask as a little-endian bitmap for FAISS (when ``count > EXACT_MAX``; else empty)."""

    @classmethod
    def of(cls, mask: Mask) -> Selection:
        count = int(mask.sum())
        small = count <= EXACT_MAX
        rows = np.flatnonzero(mask).astype(np.int64) if small else np.zeros(0, dtype=np.int64)
        bitmap = np.zeros(0, dtype=np.uint8) if small else np.packbits(mask, bitorder="little")
        return cls(mask, count, rows, bitmap)


@dataclass(frozen=True)
class Column:
    """One field's values: occurrence ``i`` belongs to entity ``owners[i]`` (a document, or a passage
    for chunk fields) and is ``numbers[i]``, or ``uniques[codes[i]]``."""

    owners: npt.NDArray[np.int64]
    numbers: npt.NDArray[np.float64] | None
    codes: npt.NDArray[np.int64]
    uniques: list[Scalar]
    size: int
    """Entities (documents or passages)."""

    @cached_property
    def texts(self) -> Haystack:
        """The values as text (lower case), for the text operators: the distinct values, or one per
        occurrence for numbers."""
        values = self.numbers.tolist() if self.numbers is not None else self.uniques
        return Haystack([_text(v) for v in values])


def _normalised(kind: str, value: Any) -> Scalar | None:
    if kind == "number":
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value if isinstance(value, str) else None


def build_column(kind: str, values: Sequence[Any]) -> Column:
    """A column of ``values`` (one per entity: a scalar, a list, or None) for a field of type ``kind``."""
    owners: list[int] = []
    found: list[Scalar] = []
    for entity, value in enumerate(values):
        for item in value if isinstance(value, list) else (value,):
            normal = _normalised(kind, item)
            if normal is not None:
                owners.append(entity)
                found.append(normal)
    owner_array = np.array(owners, dtype=np.int64)
    if kind == "number":
        numbers = np.array(found, dtype=np.float64)
        return Column(owner_array, numbers, np.zeros(0, dtype=np.int64), [], len(values))
    uniques: list[Scalar] = sorted(set(found))
    index = {u: i for i, u in enumerate(uniques)}
    codes = np.array([index[v] for v in found], dtype=np.int64)
    return Column(owner_array, None, codes, uniques, len(values))


def _text(value: Scalar) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).lower()


def _occurrences(column: Column, op: str, value: Any) -> Mask:
    """Which occurrences satisfy the positive form of ``op`` (``ne`` → ``eq``, ...)."""
    op = {"ne": "eq", "nin": "in", "not_contains": "contains", "missing": "exists"}.get(op, op)
    if op == "exists":
        return np.ones(len(column.owners), dtype=np.bool_)
    if op in TEXT_OPERATORS:
        hits = column.texts.matches(op, value)
        return hits if column.numbers is not None else hits[column.codes]
    if column.numbers is not None:
        return _numeric(column.numbers, op, value)
    return _categorical(column, op, value)


def _numeric(numbers: npt.NDArray[np.float64], op: str, value: Any) -> Mask:
    if op == "in":
        return np.isin(numbers, np.array(value, dtype=np.float64))
    compare = {"eq": np.equal, "gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}
    result: Mask = compare[op](numbers, value)
    return result


def _categorical(column: Column, op: str, value: Any) -> Mask:
    uniques, codes = column.uniques, column.codes
    if op in ("eq", "in"):
        wanted = (
            [v for v in (value if op == "in" else (value,)) if type(v) is type(uniques[0])] if uniques else []
        )
        found = [
            i for v in wanted if (i := bisect.bisect_left(uniques, v)) < len(uniques) and uniques[i] == v
        ]
        return np.isin(codes, np.array(found, dtype=np.int64))
    left, right = bisect.bisect_left(uniques, value), bisect.bisect_right(uniques, value)
    if op == "gt":
        return codes >= right
    if op == "gte":
        return codes >= left
    return codes < (left if op == "lt" else right)


def column_mask(column: Column, op: str, value: Any) -> Mask:
    """Which entities satisfy the comparison (any of a list field's values counts); an entity without
    the field satisfies only the negative operators."""
    entities = np.zeros(column.size, dtype=np.bool_)
    entities[column.owners[_occurrences(column, op, value)]] = True
    return ~entities if op in NEGATIVE else entities


class SegmentFilter:
    """The field columns and recent comparisons of one part of a snapshot (its own rows, deleted ones
    included); kept across publications while the part is served (a base's columns are not rebuilt
    for each update). Thread-safe."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.rows = snapshot.index.ntotal
        self._lock = threading.Lock()
        self._columns: dict[tuple[str, str, bool], Column] = {}
        self._documents: list[DocumentRecord] | None = None
        self._chunks_per_doc: npt.NDArray[np.int64] | None = None
        self._conditions: OrderedDict[tuple[Comparison, str, bool], Mask] = OrderedDict()

    def mask(self, tree: Filter, schema: dict[str, FieldSpec], deadline: Deadline | None) -> Mask:
        """The rows of this part ``tree`` allows (field types as ``schema`` says)."""
        if isinstance(tree, Compound):
            masks = [self.mask(part, schema, deadline) for part in tree.filters]
            combine = np.logical_and if tree.op == "and" else np.logical_or
            combined: Mask = combine.reduce(masks)
            return combined
        entities = self._condition(tree, schema[tree.key], deadline)
        if schema[tree.key].chunk:
            return entities
        return np.repeat(entities, self._counts())

    def _condition(self, tree: Comparison, spec: FieldSpec, deadline: Deadline | None) -> Mask:
        """Which documents (or passages) one comparison allows, from the cache when it was recently
        computed."""
        key = (tree, spec.type, spec.chunk)
        with self._lock:
            found = self._conditions.get(key)
            if found is not None:
                self._conditions.move_to_end(key)
                return found
        if deadline is not None:
            deadline.check()
        entities = column_mask(self._column(tree.key, spec), tree.op, tree.value)
        entities.flags.writeable = False  # shared by the cache
        with self._lock:
            self._conditions[key] = entities
            while len(self._conditions) > CACHED_CONDITIONS:
                self._conditions.popitem(last=False)
        return entities

    def _column(self, name: str, spec: FieldSpec) -> Column:
        key = (name, spec.type, spec.chunk)
        with self._lock:
            column = self._columns.get(key)
            if column is None:
                column = build_column(spec.type, self._values(name, spec.chunk))
                self._columns[key] = column
            return column

    def _values(self, key: str, chunk: bool) -> list[Any]:
        """One value (or list, or None) per entity, in row order."""
        store = self.snapshot.store
        if chunk:
            if key == "chunk_id":
                ids, positions = store.chunk_column("doc_id"), store.chunk_column("position")
                return [f"{d}#{p}" for d, p in zip(ids, positions, strict=True)]
            return store.chunk_column(key)
        documents = self._records()
        if key in ("doc_id", "source", "title", "date", "format"):
            return [getattr(record, key) for record in documents]
        return [record.metadata.get(key) for record in documents]

    def _records(self) -> list[DocumentRecord]:
        if self._documents is None:
            self._documents = list(self.snapshot.store.iter_documents(order="first_row"))
        return self._documents

    def _counts(self) -> npt.NDArray[np.int64]:
        if self._chunks_per_doc is None:
            with self._lock:
                counts = np.array([r.chunk_count for r in self._records()], dtype=np.int64)
            if int(counts.sum()) != self.rows:
                raise SnapshotError(
                    f"the store's documents hold {int(counts.sum())} chunks, the index {self.rows}"
                )
            self._chunks_per_doc = counts
        return self._chunks_per_doc


class FilterIndex:
    """Evaluates filters over one snapshot, part by part (a base and its delta segments), deleted rows
    left out; thread-safe. ``previous``: the filter index of the snapshot served before, whose parts'
    columns are reused for the parts both share."""

    def __init__(
        self, snapshot: Snapshot, schema: dict[str, FieldSpec], previous: FilterIndex | None = None
    ) -> None:
        self.snapshot = snapshot
        self.schema = schema
        self.rows = snapshot.index.ntotal
        known = {id(part.snapshot): part for part in previous.parts} if previous is not None else {}
        self.parts: list[SegmentFilter] = [
            known.get(id(p.snapshot)) or SegmentFilter(p.snapshot) for p in snapshot.parts()
        ]
        self._live = snapshot.live_mask()
        self._lock = threading.Lock()
        self._cache: OrderedDict[Filter, Selection] = OrderedDict()

    def select(self, tree: Filter, deadline: Deadline | None = None) -> Selection:
        """The rows ``tree`` allows; ``deadline`` is checked before each condition."""
        with self._lock:
            found = self._cache.get(tree)
            if found is not None:
                self._cache.move_to_end(tree)
                return found
        masks = [part.mask(tree, self.schema, deadline) for part in self.parts]
        mask = masks[0] if len(masks) == 1 else np.concatenate(masks)
        if self._live is not None:
            mask = mask & self._live
        selection = Selection.of(mask)
        with self._lock:
            self._cache[tree] = selection
            while len(self._cache) > CACHED_SELECTIONS:
                self._cache.popitem(last=False)
        return selection
