"""Embed chunk texts on a worker thread while the builder goes on reading and chunking documents.

Texts are gathered into blocks; each block is sorted by token length, longest first, so that the
model's batches hold texts of similar length (padding is wasted work), and embedded while the next
block is being chunked. The model releases the GIL while it computes, so chunking (Python) and embedding
overlap. :meth:`EmbeddingPipeline.finish` returns one vector per text, in the order they were added.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from indexer.embedding import Embedder, Vectors


class EmbeddingPipeline:
    """``add`` texts from one thread; they are embedded on another; ``finish`` waits for the vectors."""

    def __init__(self, embedder: Embedder, batch_size: int, block: int, *, progress: bool = False) -> None:
        self._embedder = embedder
        self._batch = batch_size
        self._block = max(block, batch_size)
        # (first row, texts, their model token counts or None); None: done
        self._queue: queue.Queue[tuple[int, list[str], list[int] | None] | None] = queue.Queue(maxsize=4)
        self._count = 0
        self._parts: list[tuple[list[int], Vectors]] = []
        self._error: BaseException | None = None
        self._stopped = False
        self._bar = tqdm(desc="embedding", unit="chunk", disable=not progress)
        self._thread = threading.Thread(target=self._work, name="embedding", daemon=True)
        self._thread.start()

    def add(self, texts: Sequence[str], lengths: Sequence[int] | None = None) -> None:
        """Queue ``texts``; ``lengths``: their counts in the model's tokens, if known (the chunker
        counted them), else the worker counts them."""
        if self._error is not None:
            raise self._error
        if lengths is not None and len(lengths) != len(texts):
            raise ValueError("one length per text")
        if texts:
            self._queue.put((self._count, list(texts), None if lengths is None else list(lengths)))
            self._count += len(texts)
            self._bar.total = self._count
            self._bar.refresh()

    def finish(self) -> Vectors:
        """All vectors, row i for the i-th text added (raises what the model raised)."""
        self._queue.put(None)
        self._thread.join()
        self._bar.close()
        if self._error is not None:
            raise self._error
        out = np.empty((self._count, self._embedder.dimension), dtype=np.float32)
        for rows, vectors in self._parts:
            out[rows] = vectors
        return out

    def close(self) -> None:
        """Stop the worker without waiting for the vectors (the build failed elsewhere)."""
        if self._thread.is_alive():
            self._stopped = True
            self._queue.put(None)
            self._thread.join()
        self._bar.close()

    def _work(self) -> None:
        held: list[tuple[int, str, int]] = []  # (row, text, model tokens)
        done = False
        try:
            while not done:
                item = self._queue.get()
                done = item is None
                if self._stopped:
                    continue
                if item is not None:
                    start, texts, lengths = item
                    if lengths is None:
                        lengths = [self._embedder.count_tokens(text) for text in texts]
                    held.extend(zip(range(start, start + len(texts)), texts, lengths, strict=True))
                while len(held) >= self._block or (done and held):
                    self._embed(held[: self._block])
                    held = held[self._block :]
        except BaseException as exc:  # handed to the building thread by add() or finish()
            self._error = exc
            while not done:  # keep taking texts, so a producer never waits on a full queue
                done = self._queue.get() is None

    def _embed(self, items: list[tuple[int, str, int]]) -> None:
        # By the model's own token count, not characters: on SciFact's chunks, batches of 32 cut from
        # a character-length order pad 25% more tokens than from a token-length order. One model
        # call per batch, so a model that re-sorts its input (sentence-transformers sorts by
        # characters) cannot undo the order.
        items = sorted(items, key=lambda item: item[2], reverse=True)
        for start in range(0, len(items), self._batch):
            batch = items[start : start + self._batch]
            vectors = self._embedder.embed([text for _, text, _ in batch], batch_size=self._batch)
            self._parts.append(([row for row, _, _ in batch], vectors))
            self._bar.update(len(batch))
