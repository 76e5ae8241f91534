"""Whether a model's vectors fit a snapshot's: the one place that decides it.

The service (at start and on every swap), the evaluation command and the builder all ask here:
queries must be embedded by the model that built the index (same name and dimension) in a variant of
the same vector family, and vectors computed by another model file must not be mixed into an index.
"""

from __future__ import annotations

from indexer.config import ModelSettings, ModelVariant
from indexer.embedding.base import Embedder
from indexer.errors import SnapshotError
from indexer.snapshot.manifest import ModelInfo

VECTOR_FAMILY: dict[ModelVariant, str] = {"torch": "float32", "onnx-fp32": "float32", "onnx-int8": "int8"}
"""Variants of one family give the same vectors (torch and ONNX float32: cosine > 0.99999), so an
index built by one can be queried by another; int8 vectors differ (cosine 0.98-0.999 to float32) and an
int8 index is queried by int8 only."""


def compatible_variants(built: ModelVariant, query: ModelVariant) -> bool:
    """Whether queries embedded by variant ``query`` may search an index built by ``built``."""
    return VECTOR_FAMILY[built] == VECTOR_FAMILY[query]


def made_by_other_file(built: ModelInfo, embedder: Embedder) -> bool:
    """Whether ``embedder`` runs another model file than the one that computed ``built``'s vectors
    (both known: an ONNX export made by another recipe or toolchain)."""
    loaded = embedder.artifact_sha256
    return bool(built.artifact_sha256 and loaded and loaded != built.artifact_sha256)


def check_queryable(
    snapshot_id: str, built: ModelInfo, model: ModelSettings, embedder: Embedder | None
) -> str | None:
    """Refuse (:class:`SnapshotError`) a snapshot that queries embedded as configured cannot search:
    another model, another dimension, or a variant whose vectors do not match. Returns a warning when
    they can, but the loaded model file is not the one that built it (slightly different vectors)."""
    if built.name.lower() != model.name.lower():
        raise SnapshotError(
            f"snapshot {snapshot_id} was built with model {built.name!r} but the configuration names "
            f"{model.name!r}: rebuild the index or change model.name"
        )
    if not compatible_variants(built.variant, model.variant):
        raise SnapshotError(
            f"snapshot {snapshot_id} was built by model variant {built.variant!r}, whose vectors "
            f"queries embedded by the configured variant {model.variant!r} do not match: set "
            f"model.variant: {built.variant} or rebuild the index (python -m indexer build)"
        )
    if embedder is None:
        return None
    if built.dimension != embedder.dimension:
        raise SnapshotError(
            f"snapshot {snapshot_id} has dimension {built.dimension} but model {model.name!r} "
            f"produces {embedder.dimension}: rebuild the index"
        )
    if made_by_other_file(built, embedder):
        return (
            f"snapshot {snapshot_id} was embedded by another {built.variant} model file than the one "
            "loaded (a new export recipe or toolchain): queries still search it, with slightly "
            "different vectors; rebuild with python -m indexer build --force for an exact match"
        )
    return None


def vectors_reusable(built: ModelInfo, model: ModelSettings) -> bool:
    """Whether a build configured with ``model`` may keep vectors ``built`` holds (same model and
    variant; whether the model file is the same is checked once a model is loaded)."""
    return built.name.lower() == model.name.lower() and built.variant == model.variant
