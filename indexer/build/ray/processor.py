"""The Ray :class:`~indexer.build.processor.Processor`: the documents to (re)index go through the
Ray Data pipeline (:mod:`indexer.build.ray.dataset`) and come back, in order, to this process (the
driver), which writes the snapshot as a local build does. One progress line for the whole job."""

from __future__ import annotations

import contextlib
import logging
import pickle
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from queue import Empty, Full, Queue
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from indexer.build.processor import Parsed, Processed, Unreadable, no_vectors
from indexer.build.ray import auth
from indexer.build.ray.cluster import connected
from indexer.build.ray.stages import UNREADABLE, Batch, chunk_texts
from indexer.build.ray.target import INSTALL_HINT, RayTarget
from indexer.config import Settings
from indexer.embedding import Embedder, Vectors
from indexer.errors import DistributedBuildError, IndexerError, RayUnavailableError, StalledBuildError
from indexer.reading.documents import Document, SourceFile
from indexer.snapshot.store import ChunkRecord

log = logging.getLogger(__name__)

LOGS = "/tmp/ray/session_latest/logs on the head node"


class RayProcessor:
    def __init__(
        self,
        settings: Settings,
        embedder: Callable[[], Embedder],
        target: RayTarget,
        *,
        progress: bool = False,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self.target = target
        self.progress = progress
        self._vectors: list[Vectors] = []
        self._resources = contextlib.ExitStack()
        self._results: Generator[Processed, None, None] | None = None
        self._error: IndexerError | None = None

    def process(self, sources: Sequence[SourceFile]) -> Iterator[Processed]:
        results = self._guarded(sources)
        self._results = results
        return results

    def vectors(self) -> Vectors:
        parts = [v for v in self._vectors if len(v)]
        return np.concatenate(parts) if parts else no_vectors()

    def close(self) -> None:
        """Stop the pipeline's iterator, then disconnect (in this order: Ray Data cleans up through Ray)."""
        if self._results is not None:
            self._results.close()
        if self._error is None:
            self._resources.close()
        else:  # the connection and Ray Data's settings are told the build failed
            self._resources.__exit__(type(self._error), self._error, self._error.__traceback__)

    def _guarded(self, sources: Sequence[SourceFile]) -> Generator[Processed, None, None]:
        """:meth:`_run`, with Ray's errors turned into the indexer's."""
        if not sources:
            return
        try:
            yield from self._run(sources)
        except IndexerError as exc:
            self._error = exc
            raise
        except ImportError as exc:  # Ray without Ray Data's dependencies
            self._error = RayUnavailableError(f"--ray needs Ray Data ({exc}): {INSTALL_HINT}")
            raise self._error from exc
        except Exception as exc:  # Ray's own: a worker died more often than retried, the cluster went away
            self._error = DistributedBuildError(
                f"the build's Ray job failed: {_first_line(exc)} (Ray's logs: {LOGS}"
                f"{'' if self.target.local else auth.job_hint()})"
            )
            raise self._error from exc

    def _run(self, sources: Sequence[SourceFile]) -> Iterator[Processed]:
        # The driver's model: its description goes in the manifest, and every actor must load the same file.
        embedder = self._embedder()
        verbose = log.isEnabledFor(logging.INFO)
        cpus = self._resources.enter_context(connected(self.target, self.settings.ray, verbose=verbose))
        batches, actors = self._pipeline(sources, embedder.artifact_sha256, cpus)
        log.info("Ray: %g CPUs, %d embedding actors, %d documents to read", cpus, actors, len(sources))
        progress = self._resources.enter_context(_Progress(len(sources), actors, enabled=self.progress))
        for result, vectors in collate(_watched(batches, self.settings.ray.stall_seconds), sources):
            self._vectors.append(vectors)
            progress.done(len(vectors))
            yield result
        log.info("Ray: %s", progress.summary())

    def _pipeline(
        self, sources: Sequence[SourceFile], sha256: str, cpus: float
    ) -> tuple[Iterable[Batch], int]:
        """The pipeline's batches and its embedding actors: run here, or on the cluster for a Ray Client
        connection (Ray Data's executor does not run in a Ray Client process)."""
        if self.target.client:
            from indexer.build.ray.remote import remote_batches

            return remote_batches(sources, self.settings, sha256, cpus)
        from indexer.build.ray.dataset import build_dataset

        dataset, actors = build_dataset(sources, self.settings, sha256, cpus)
        return dataset.iter_batches(batch_size=None, batch_format="numpy"), actors


@dataclass
class _Pending:
    """A document whose chunk rows are still arriving."""

    source: SourceFile
    document: Document
    chunks: list[ChunkRecord]
    texts: list[str] = field(default_factory=list)
    vectors: list[npt.NDArray[np.float32]] = field(default_factory=list)


def collate(batches: Iterable[Batch], sources: Sequence[SourceFile]) -> Iterator[tuple[Processed, Vectors]]:
    """The pipeline's rows (one per chunk, in order) grouped back into documents with their vectors."""
    expected = 0
    pending: _Pending | None = None
    for batch in batches:
        for i in range(len(batch["index"])):
            index, count = int(batch["index"][i]), int(batch["count"][i])
            if pending is None:
                if index != expected:
                    raise DistributedBuildError(f"Ray returned document {index} where {expected} was due")
                if count == UNREADABLE:
                    yield Unreadable(sources[index], pickle.loads(batch["payload"][i])), no_vectors()
                    expected += 1
                    continue
                document, chunks = pickle.loads(batch["payload"][i])
                pending = _Pending(sources[index], document, chunks)
            if count > 0:
                pending.texts.append(str(batch["text"][i]))
                pending.vectors.append(batch["vector"][i])
            if len(pending.texts) == max(count, 0):
                yield _parsed(pending), _stack(pending.vectors)
                pending = None
                expected += 1
    if pending is not None or expected != len(sources):
        raise DistributedBuildError(f"Ray returned {expected} of {len(sources)} documents")


_END = object()


def _watched(batches: Iterable[Batch], seconds: float) -> Iterator[Batch]:
    """``batches``, pulled on a thread of their own: :class:`DistributedBuildError` when none comes for
    ``seconds`` (Ray Data does not give up on a stage whose actors are all dead for good)."""
    queue: Queue[Any] = Queue(maxsize=4)
    stopped = threading.Event()

    def offer(item: Any) -> bool:
        while not stopped.is_set():
            with contextlib.suppress(Full):
                queue.put(item, timeout=0.5)
                return True
        return False

    def pull() -> None:
        try:
            for batch in batches:
                if not offer(batch):
                    return
            offer(_END)
        except BaseException as exc:  # handed over to the driver's thread
            offer(exc)

    threading.Thread(target=pull, name="ray-results", daemon=True).start()
    try:
        while True:
            try:
                item = queue.get(timeout=seconds)
            except Empty:
                raise StalledBuildError(
                    f"no result from the Ray cluster for {seconds:g}s (ray.stall_seconds): a worker died "
                    "more often than ray.max_retries allows, or the cluster lacks the CPUs the stages "
                    f"reserve (Ray's logs: {LOGS})"
                ) from None
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()


def _parsed(pending: _Pending) -> Parsed:
    return Parsed(pending.source, pending.document, chunk_texts(pending.chunks, pending.texts))


def _stack(vectors: list[npt.NDArray[np.float32]]) -> Vectors:
    return np.stack(vectors).astype(np.float32, copy=False) if vectors else no_vectors()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]


class _Progress:
    """One line for the whole job: documents done, chunks embedded, chunks per second."""

    def __init__(self, documents: int, actors: int, *, enabled: bool) -> None:
        self.started = time.perf_counter()
        self.chunks = 0
        self.bar = tqdm(
            total=documents,
            desc=f"ray ({actors} actor{'' if actors == 1 else 's'})",
            unit="doc",
            disable=not enabled,
        )

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()

    def done(self, chunks: int) -> None:
        self.chunks += chunks
        self.bar.set_postfix_str(self.rate(), refresh=False)
        self.bar.update(1)

    def rate(self) -> str:
        seconds = max(time.perf_counter() - self.started, 1e-9)
        return f"{self.chunks} chunks, {self.chunks / seconds:.1f} chunks/s"

    def summary(self) -> str:
        return f"{self.bar.n} documents, {self.rate()}"
