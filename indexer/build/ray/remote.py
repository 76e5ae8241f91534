"""The pipeline for a driver connected through Ray Client (``--ray ray://``): Ray Data cannot run its
executor in a Ray Client process, so an actor on the cluster (no CPU reserved) runs it and hands the
results to the driver a few batches at a time, in the build's order."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import ray

from indexer.build.ray.cluster import data_context
from indexer.build.ray.dataset import build_dataset
from indexer.build.ray.stages import Batch
from indexer.config import Settings
from indexer.errors import IndexerError
from indexer.reading.documents import SourceFile

BATCHES_PER_CALL = 4


class PipelineHost:
    """On the cluster: the build's pipeline, started at once, and its results on request."""

    def __init__(
        self, sources: Sequence[SourceFile], settings: Settings, artifact_sha256: str, cpus: float
    ) -> None:
        self._context = data_context(verbose=False)
        self._context.__enter__()  # for the actor's life: the actor only runs this pipeline
        dataset, self.actors = build_dataset(sources, settings, artifact_sha256, cpus)
        self._batches = iter(dataset.iter_batches(batch_size=None, batch_format="numpy"))

    def embedding_actors(self) -> int:
        return self.actors

    def next(self, count: int) -> list[Batch]:
        """Up to ``count`` more batches (none: the pipeline is done)."""
        return list(itertools.islice(self._batches, count))


def remote_batches(
    sources: Sequence[SourceFile], settings: Settings, artifact_sha256: str, cpus: float
) -> tuple[Iterator[Batch], int]:
    """The pipeline's batches, run by a :class:`PipelineHost` on the cluster, and its number of
    embedding actors. An error of the build's own (a file a node cannot read) comes back as it is."""
    host_class: Any = ray.remote(num_cpus=0, max_restarts=0)(PipelineHost)
    host = host_class.remote(sources, settings, artifact_sha256, cpus)
    actors = int(_get(host.embedding_actors.remote()))

    def batches() -> Iterator[Batch]:
        try:
            while got := _get(host.next.remote(BATCHES_PER_CALL)):
                yield from got
        finally:
            ray.kill(host)

    return batches(), actors


def _get(ref: Any) -> Any:
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, IndexerError):
            raise exc.cause from None
        raise
