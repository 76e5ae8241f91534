"""The query batcher: batches form under concurrency, a lone query is not held back, errors stay with
their query, and each query gets its own snapshot's answer. A fake model counts its calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import numpy as np
import pytest

from indexer.embedding import Vectors
from indexer.search.batching import QueryBatcher
from indexer.search.fusion import Ranked
from indexer.search.query_cache import QueryVectorCache
from indexer.search.retriever import DenseStart, Retriever


def vector_of(text: str) -> Vectors:
    """A distinct, reproducible unit vector per text."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(text))
    row = np.random.default_rng(seed).standard_normal((1, 8)).astype(np.float32)
    return cast(Vectors, row / np.linalg.norm(row))


class FakeEmbedder:
    """Records every call; a text containing ``boom`` fails the call; ``gate`` holds calls back."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        self.calls.append(list(texts))
        self.entered.set()
        assert self.gate.wait(10)
        if any("boom" in text for text in texts):
            raise ValueError("the model failed on boom")
        return np.concatenate([vector_of(text) for text in texts])


class FakeRetriever:
    """Stands in for one snapshot's retriever: its dense list names the snapshot (``base``)."""

    def __init__(self, embedder: FakeEmbedder, base: int = 0) -> None:
        self.embedder = embedder
        self.base = base
        self.searches: list[int] = []

    def dense_starts(self, vectors: Vectors, depths: Sequence[int]) -> list[DenseStart]:
        self.searches.append(len(vectors))
        return [
            DenseStart(
                vectors[i : i + 1],
                Ranked(np.array([self.base + i], dtype=np.int64), np.array([1.0], dtype=np.float32)),
                depth,
            )
            for i, depth in enumerate(depths)
        ]


def as_retriever(fake: FakeRetriever) -> Retriever:
    return cast(Retriever, fake)


def queued(batcher: QueryBatcher) -> int:
    """How many queries wait for the next batch: only to hold a test until they have all arrived (the
    batcher has no use for this number, so it does not offer it)."""
    with batcher._cond:
        return len(batcher._pending)


@pytest.fixture
def batcher() -> Iterator[QueryBatcher]:
    batcher = QueryBatcher(max_batch=32)
    yield batcher
    batcher.close()


def wait_until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_queries_arriving_while_the_worker_is_busy_are_embedded_and_searched_as_one_batch(
    batcher: QueryBatcher,
) -> None:
    embedder = FakeEmbedder()
    retriever = FakeRetriever(embedder)
    embedder.gate.clear()  # the first query holds the worker
    texts = [f"question {i}" for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(batcher.dense_start, as_retriever(retriever), "space", texts[0], 100)
        assert embedder.entered.wait(10)
        rest = [pool.submit(batcher.dense_start, as_retriever(retriever), "space", t, 100) for t in texts[1:]]
        wait_until(lambda: queued(batcher) == 5)
        embedder.gate.set()
        starts = [first.result(10)] + [f.result(10) for f in rest]
    assert embedder.calls[0] == texts[:1]
    assert sorted(embedder.calls[1]) == sorted(texts[1:])  # one model call for the five
    assert retriever.searches == [1, 5]  # one vector search for the five
    for text, start in zip(texts, starts, strict=True):
        np.testing.assert_array_equal(start.vector, vector_of(text))  # each query gets its own vector
        assert start.depth == 100


def test_a_lone_query_does_not_wait_for_the_window() -> None:
    batcher = QueryBatcher(max_batch=32, window_ms=100)
    try:
        embedder = FakeEmbedder()
        retriever = as_retriever(FakeRetriever(embedder))
        for text in ("one", "two", "three"):
            started = time.perf_counter()
            batcher.dense_start(retriever, "space", text, 10)
            assert time.perf_counter() - started < 0.09
        assert embedder.calls == [["one"], ["two"], ["three"]]
    finally:
        batcher.close()


def test_a_failing_query_fails_alone(batcher: QueryBatcher) -> None:
    embedder = FakeEmbedder()
    retriever = as_retriever(FakeRetriever(embedder))
    embedder.gate.clear()
    texts = ["fine one", "boom", "fine two", "fine three"]
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(batcher.dense_start, retriever, "space", texts[0], 10)]
        assert embedder.entered.wait(10)
        futures += [pool.submit(batcher.dense_start, retriever, "space", t, 10) for t in texts[1:]]
        wait_until(lambda: queued(batcher) == 3)
        embedder.gate.set()
        with pytest.raises(ValueError, match="boom"):
            futures[1].result(10)
        for text, future in zip(texts, futures, strict=True):
            if text != "boom":
                np.testing.assert_array_equal(future.result(10).vector, vector_of(text))
    assert any(len(call) == 3 for call in embedder.calls)  # the batch was tried whole first


def test_a_batch_never_mixes_snapshots(batcher: QueryBatcher) -> None:
    embedder = FakeEmbedder()
    old, new = FakeRetriever(embedder, base=1000), FakeRetriever(embedder, base=2000)
    embedder.gate.clear()
    with ThreadPoolExecutor(5) as pool:
        blocker = pool.submit(batcher.dense_start, as_retriever(old), "space", "hold", 10)
        assert embedder.entered.wait(10)
        asked = [(old, "a"), (new, "b"), (old, "c"), (new, "d")]
        futures = [pool.submit(batcher.dense_start, as_retriever(r), "space", t, 10) for r, t in asked]
        wait_until(lambda: queued(batcher) == 4)
        embedder.gate.set()
        blocker.result(10)
        for (retriever, _), future in zip(asked, futures, strict=True):
            assert future.result(10).ranked.ids[0] // 1000 == retriever.base // 1000
    assert old.searches == [1, 2] and new.searches == [2]


def test_batches_are_cut_at_max_batch() -> None:
    batcher = QueryBatcher(max_batch=2)
    try:
        embedder = FakeEmbedder()
        retriever = as_retriever(FakeRetriever(embedder))
        embedder.gate.clear()
        with ThreadPoolExecutor(6) as pool:
            first = pool.submit(batcher.dense_start, retriever, "space", "q0", 10)
            assert embedder.entered.wait(10)
            rest = [pool.submit(batcher.dense_start, retriever, "space", f"q{i}", 10) for i in range(1, 6)]
            wait_until(lambda: queued(batcher) == 5)
            embedder.gate.set()
            for future in [first, *rest]:
                future.result(10)
        assert [len(call) for call in embedder.calls] == [1, 2, 2, 1]
    finally:
        batcher.close()


def test_the_cache_answers_repeated_queries_without_the_model() -> None:
    counts = {"hits": 0, "misses": 0}

    def counted(hits: int, misses: int) -> None:
        counts["hits"] += hits
        counts["misses"] += misses

    cache = QueryVectorCache(2, on_lookup=counted)
    batcher = QueryBatcher(max_batch=8, cache=cache)
    try:
        embedder = FakeEmbedder()
        retriever = as_retriever(FakeRetriever(embedder))
        first = batcher.dense_start(retriever, "model-a", "same question", 10)
        again = batcher.dense_start(retriever, "model-a", "same question", 10)
        np.testing.assert_array_equal(first.vector, again.vector)
        assert embedder.calls == [["same question"]]
        assert counts == {"hits": 1, "misses": 1} and len(cache) == 1
        batcher.dense_start(retriever, "model-b", "same question", 10)  # another vector space
        assert len(embedder.calls) == 2 and counts == {"hits": 1, "misses": 2}
        batcher.dense_start(retriever, "model-a", "another question", 10)  # evicts the oldest
        assert len(cache) == 2
        batcher.dense_start(retriever, "model-a", "same question", 10)
        assert len(embedder.calls) == 4 and counts == {"hits": 1, "misses": 4}
    finally:
        batcher.close()


def test_a_cache_of_size_zero_is_off() -> None:
    cache = QueryVectorCache(0)
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> Vectors:
        calls.append(texts)
        return np.concatenate([vector_of(t) for t in texts])

    cache.embed("space", ["q"], embed)
    cache.embed("space", ["q"], embed)
    assert calls == [["q"], ["q"]] and len(cache) == 0


def test_one_model_call_embeds_each_distinct_missing_text_once() -> None:
    cache = QueryVectorCache(10)
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> Vectors:
        calls.append(texts)
        return np.concatenate([vector_of(t) for t in texts])

    cache.embed("space", ["a"], embed)
    rows = cache.embed("space", ["b", "a", "b", "c"], embed)
    assert calls == [["a"], ["b", "c"]]
    for row, text in zip(rows, ["b", "a", "b", "c"], strict=True):
        np.testing.assert_array_equal(row, vector_of(text)[0])


def test_a_closed_batcher_refuses_new_queries() -> None:
    from indexer.errors import EngineClosedError

    batcher = QueryBatcher(max_batch=4)
    batcher.close()
    with pytest.raises(EngineClosedError):
        batcher.dense_start(as_retriever(FakeRetriever(FakeEmbedder())), "space", "late", 10)
