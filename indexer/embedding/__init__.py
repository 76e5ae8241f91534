"""Embedding: the :class:`Embedder` protocol, its backends (torch, ONNX float32/int8) and the factory
that picks one from the configuration. Everything runs offline: models are found on disk
(:mod:`indexer.embedding.locate`), ONNX exports are made locally and cached
(:mod:`indexer.embedding.onnx_export`, :mod:`indexer.embedding.quantize`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from indexer.config import ModelSettings
from indexer.embedding.base import Embedder, EmbedderWrapper, ModelLocation, Vectors
from indexer.embedding.locate import PACKAGED_MODELS, locate_model

__all__ = [
    "PACKAGED_MODELS",
    "Embedder",
    "EmbedderWrapper",
    "ModelLocation",
    "Vectors",
    "load_embedder",
    "locate_model",
]

log = logging.getLogger(__name__)

ExportNotice = Callable[[str], None]
"""Told, in words, when a slow one-off step starts (the first ONNX export of a model)."""


def load_embedder(
    model: ModelSettings | str, device: str = "cpu", *, on_export: ExportNotice | None = None
) -> Embedder:
    """Factory: the embedder for the configured model and variant (a bare name: the default variant).
    ``on_export`` hears about a first-time ONNX export or quantisation (the CLI shows it)."""
    settings = ModelSettings(name=model, device=device) if isinstance(model, str) else model
    location = locate_model(settings.name)
    log.info("loading embedding model %s (%s) from %s", settings.name, settings.variant, location.source)
    if settings.variant == "torch":
        from indexer.embedding.torch_backend import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(location, device=settings.device)
    from indexer.embedding.onnx_backend import OnnxEmbedder

    cache = Path(settings.onnx_cache) if settings.onnx_cache else None
    return OnnxEmbedder(
        location, settings.variant, threads=settings.threads, cache_dir=cache, on_export=on_export
    )
