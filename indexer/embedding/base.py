"""What every embedding backend is: the :class:`Embedder` protocol and the types around it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from indexer.config import ModelVariant

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ModelLocation:
    name: str
    path: Path
    source: str
    """Where the model came from, for the manifest (package and version, folder, or HF cache)."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, and says what made them."""

    name: str
    """The configured model name."""
    variant: ModelVariant
    source: str
    """Where the model was found (package and version, folder, or Hugging Face cache)."""
    artifact_sha256: str
    """sha256 of the model file that computes the vectors (the ONNX variants), else empty."""
    dimension: int
    max_seq_length: int
    """The longest input, in the model's own tokens (special tokens included), that is not truncated."""

    def count_tokens(self, text: str) -> int:
        """Length of ``text`` in the model's own tokens, special tokens included, without truncation."""
        ...

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        """Normalised embeddings, one row per text."""
        ...


class EmbedderWrapper:
    """An :class:`Embedder` that hands everything to another one; subclasses override what they change
    (timing, precomputed vectors, a slowed-down model in a test)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.variant = inner.variant
        self.source = inner.source
        self.artifact_sha256 = inner.artifact_sha256
        self.dimension = inner.dimension
        self.max_seq_length = inner.max_seq_length

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        return self.inner.embed(texts, batch_size=batch_size)
