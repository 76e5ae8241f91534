"""A fast stand-in for the model in unit tests: words hashed into a normalised bag-of-words vector, so
texts that share words are near. Tests of what a user sees use the real model instead."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from indexer.config import ModelVariant
from indexer.embedding import Vectors

_WORD = re.compile(r"\w+")


class HashEmbedder:
    name = "all-MiniLM-L6-v2"
    source = "tests.hash_embedder"
    dimension = 384
    max_seq_length = 256
    artifact_sha256 = ""

    def __init__(self, variant: ModelVariant = "onnx-int8") -> None:
        self.variant = variant

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text)) + 2

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[row, bucket % self.dimension] += 1.0
            norm = float(np.linalg.norm(out[row]))
            out[row] /= norm if norm else 1.0
            if not norm:
                out[row, 0] = 1.0
        return out
