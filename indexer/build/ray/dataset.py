"""The build's Ray Data pipeline: the sources to read, then the reading tasks, the chunking actors and
the embedding actors (:mod:`indexer.build.ray.stages`), with their batch sizes, CPUs and retries."""

from __future__ import annotations

import functools
import math
import pickle
import warnings
from collections.abc import Sequence
from typing import Any

import msgspec
import ray.data

from indexer.build.ray.stages import ChunkStage, EmbedStage, read_documents
from indexer.config import RaySettings, Settings
from indexer.reading.documents import SourceFile

READ_CPUS = 0.25
"""CPUs a reading task or chunking actor reserves: both are light next to the model, so they share
the CPU the embedding actors leave (:func:`embed_actors`)."""
MAX_BLOCKS = 10_000
"""Blocks of sources at most: enough for every worker, few enough that Ray's per-block work stays small."""


def embed_actors(settings: RaySettings, cpus: float) -> int:
    """``ray.actors``, or as many as the cluster's CPUs hold with one CPU left for reading and chunking."""
    if settings.actors:
        return settings.actors
    return max(1, int((cpus - 1) // settings.cpus_per_actor))


def chunk_actors(actors: int) -> int:
    """Chunking actors at most: one per four embedding actors (chunking costs far less), at least one."""
    return max(1, math.ceil(actors / 4))


def build_dataset(
    sources: Sequence[SourceFile], settings: Settings, artifact_sha256: str, cpus: float
) -> tuple[ray.data.Dataset, int]:
    """The pipeline (not started yet) and its number of embedding actors."""
    config = settings.ray
    per = config.documents_per_batch
    items = [{"index": i, "source": pickle.dumps(s)} for i, s in enumerate(sources)]
    actors = embed_actors(config, cpus)
    threads = settings.model.threads or max(1, math.floor(config.cpus_per_actor))
    model = msgspec.structs.replace(settings.model, threads=threads)
    blocks = max(1, min(math.ceil(len(items) / per), MAX_BLOCKS))
    dataset: ray.data.Dataset = ray.data.from_items(items, override_num_blocks=blocks)
    read = functools.partial(read_documents, label=settings.seeds_dir.name, limits=settings.reading)
    restarts = {"max_restarts": config.max_retries, "max_task_retries": config.max_retries}
    with warnings.catch_warnings():
        # Ray 2.60 deprecates passing retries this way (removal: 2.64, hence the extra's bound) and
        # has no other way yet; its default is to retry a dying actor's work forever.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        dataset = _stage(dataset, read, per, num_cpus=READ_CPUS, max_retries=config.max_retries)
        dataset = _stage(
            dataset,
            ChunkStage,
            per,
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=chunk_actors(actors)),
            fn_constructor_kwargs={
                "model": model,
                "chunking": settings.chunking,
                "artifact_sha256": artifact_sha256,
            },
            num_cpus=READ_CPUS,
            **restarts,
        )
        dataset = _stage(
            dataset,
            EmbedStage,
            config.batch_size,
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


def _stage(dataset: ray.data.Dataset, fn: Any, batch_size: int, **options: Any) -> ray.data.Dataset:
    return dataset.map_batches(fn, batch_size=batch_size, batch_format="numpy", **options)
