"""The model on torch, through sentence-transformers (variant ``torch``): the reference vectors."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from indexer.config import ModelVariant
from indexer.embedding.base import ModelLocation, Vectors
from indexer.embedding.locate import offline


class SentenceTransformerEmbedder:
    """sentence-transformers on torch, loaded from a local folder with hub access off."""

    def __init__(self, location: ModelLocation, device: str = "cpu") -> None:
        offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # loading bar: noise in logs
        self.location = location
        self.name = location.name
        self.variant: ModelVariant = "torch"
        self.source = location.source
        self.artifact_sha256 = ""
        self._model = SentenceTransformer(str(location.path), device=device, local_files_only=True)
        model: Any = self._model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(get_dim())
        self.max_seq_length = int(model.max_seq_length or model.tokenizer.model_max_length)
        # Its own copy for counting: transformers' tokenizers switch padding and truncation on each
        # call, and the builder counts (chunking) while another thread embeds.
        self._tokenizer = copy.deepcopy(self._model.tokenizer)

    def count_tokens(self, text: str) -> int:
        return len(
            self._tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        )

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
