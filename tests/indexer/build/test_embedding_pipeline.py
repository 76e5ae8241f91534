"""The build's embedding worker: vectors come back in the order texts were added, batches are cut
from a token-length order, and a model failure reaches the building thread."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from indexer.build.pipeline import EmbeddingPipeline
from indexer.embedding import Vectors


class Fake:
    """Vector i encodes the text's number; token count = number of words."""

    name, dimension, max_seq_length = "fake", 2, 512

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_after = fail_after

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise RuntimeError("model exploded")
        self.calls.append(list(texts))
        return np.array([[float(t.split()[0]), 1.0] for t in texts], dtype=np.float32)


def text(i: int) -> str:
    # few characters but many words for small i: a character order would differ from a token order
    return f"{i} " + "x " * ((i * 7) % 13) + ("long-word" * 3 if i % 5 == 0 else "")


def test_vectors_come_back_in_the_order_added() -> None:
    model = Fake()
    pipeline = EmbeddingPipeline(model, batch_size=4, block=10)
    for start in range(0, 57, 6):
        pipeline.add([text(i) for i in range(start, min(start + 6, 57))])
    vectors = pipeline.finish()
    assert vectors.shape == (57, 2)
    assert vectors[:, 0].tolist() == list(range(57))
    assert all(len(call) <= 4 for call in model.calls)
    first_block = [t for call in model.calls[:3] for t in call]  # 10 texts: batches of 4, 4, 2
    counts = [model.count_tokens(t) for t in first_block]
    assert counts == sorted(counts, reverse=True)


def test_nothing_added_gives_no_vectors() -> None:
    assert EmbeddingPipeline(Fake(), batch_size=4, block=8).finish().shape == (0, 2)


def test_a_model_failure_reaches_the_builder() -> None:
    pipeline = EmbeddingPipeline(Fake(fail_after=1), batch_size=2, block=2)
    with pytest.raises(RuntimeError, match="model exploded"):
        for i in range(100):
            pipeline.add([text(i)])
        pipeline.finish()
    pipeline.close()


def test_close_stops_the_worker() -> None:
    pipeline = EmbeddingPipeline(Fake(), batch_size=2, block=100)
    pipeline.add([text(1), text(2)])
    pipeline.close()
    assert not pipeline._thread.is_alive()
