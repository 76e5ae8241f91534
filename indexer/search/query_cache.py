"""A bounded LRU cache of query embeddings, keyed by the exact query text and the vector space.

The vector space names what computed the vectors a query is compared with (the snapshot's model
and variant, and the variant embedding queries): a vector cached for one snapshot is reused by the
next only if both live in the same space. Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence

import numpy as np
from cachetools import LRUCache

from indexer.embedding import Vectors

Lookup = Callable[[int, int], None]
"""Told ``(hits, misses)`` after each lookup (the metrics)."""


class QueryVectorCache:
    def __init__(self, size: int, on_lookup: Lookup | None = None) -> None:
        self.size = size
        self._cache: LRUCache[tuple[Hashable, str], Vectors] = LRUCache(maxsize=max(size, 1))
        self._lock = threading.Lock()
        self._on_lookup = on_lookup

    def __len__(self) -> int:
        return len(self._cache) if self.size else 0

    def embed(self, space: Hashable, texts: Sequence[str], embed: Callable[[list[str]], Vectors]) -> Vectors:
        """One normalised row per text: cached rows, and the others computed by one ``embed`` call
        on the distinct texts that are not cached (then cached)."""
        if not self.size:
            return embed(list(texts))
        found: dict[str, Vectors] = {}
        with self._lock:
            for text in texts:
                row = self._cache.get((space, text))
                if row is not None:
                    found[text] = row
        hits = sum(1 for text in texts if text in found)
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if self._on_lookup is not None:
            self._on_lookup(hits, len(texts) - hits)
        if missing:
            computed = embed(missing)
            with self._lock:
                for text, row in zip(missing, computed, strict=True):
                    row = row.reshape(1, -1).copy()
                    row.flags.writeable = False  # shared by every request that hits it
                    self._cache[(space, text)] = row
                    found[text] = row
        return np.concatenate([found[text] for text in texts], axis=0)
