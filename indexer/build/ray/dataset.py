"""The build's Ray Data pipeline: the sources to read, then the reading tasks, the chunking actors and
the embedding actors (:mod:`indexer.build.ray.stages`), with their batch sizes, CPUs and retries."""

from __future__ import annotations

import functools
import math
import pickle
from collections.abc import Sequence
from typing import Any

import msgspec
import ray.data

from indexer.build.ray.stages import ChunkStage, EmbedStage, read_documents
from indexer.config import RaySettings, Settings
from indexer.reading.documents import SourceFile

READ_CPUS = 0.25
"""CPUs a reading task reserves: reading and chunking are light next to the model, so they share the
CPU the embedding actors leave free (see :func:`embed_actors`)."""
CHUNK_CPUS = 0.25
MAX_BLOCKS = 10_000
"""Blocks of sources at most: enough for every worker, few enough that Ray's per-block work stays small."""


def embed_actors(settings: RaySettings, cpus: float) -> int:
    """``ray.actors``, or as many as the cluster's CPUs hold with one CPU left for reading and chunking."""
    if settings.actors:
        return settings.actors
    return max(1, int((cpus - 1) // settings.cpus_per_actor))


def chunk_actors(cpus: float, actors: int) -> int:
    """Chunking actors at most: one per four embedding actors (chunking costs far less), at least one."""
    return max(1, min(math.ceil(actors / 4), int(cpus)))


def build_dataset(
    sources: Sequence[SourceFile], settings: Settings, artifact_sha256: str, cpus: float
) -> tuple[ray.data.Dataset, int]:
    """The pipeline (not started) and its number of embedding actors."""
    config = settings.ray
    per = config.documents_per_batch
    items = [{"index": i, "source": pickle.dumps(s)} for i, s in enumerate(sources)]
    blocks = max(1, min(math.ceil(len(items) / per), MAX_BLOCKS))
    actors = embed_actors(config, cpus)
    tasks: dict[str, Any] = {"max_retries": config.max_retries}
    restarts: dict[str, Any] = {"max_restarts": config.max_retries, "max_task_retries": config.max_retries}
    threads = settings.model.threads or max(1, math.floor(config.cpus_per_actor))
    model = msgspec.structs.replace(settings.model, threads=threads)
    dataset: ray.data.Dataset = ray.data.from_items(items, override_num_blocks=blocks)
    dataset = dataset.map_batches(
        functools.partial(read_documents, label=settings.seeds_dir.name, limits=settings.reading),
        batch_size=per,
        batch_format="numpy",
        num_cpus=READ_CPUS,
        **tasks,
    )
    dataset = dataset.map_batches(
        ChunkStage,
        batch_size=per,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=chunk_actors(cpus, actors)),
        fn_constructor_kwargs={
            "model": model,
            "chunking": settings.chunking,
            "artifact_sha256": artifact_sha256,
        },
        num_cpus=CHUNK_CPUS,
        **restarts,
    )
    dataset = dataset.map_batches(
        EmbedStage,
        batch_size=config.batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        fn_constructor_kwargs={
            "model": model,
            "batch_size": settings.model.batch_size,
            "artifact_sha256": artifact_sha256,
        },
        num_cpus=config.cpus_per_actor,
        **restarts,
    )
    return dataset, actors
