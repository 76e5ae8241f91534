"""Where updates run: on one writer thread per process, at a lower CPU priority than the searches
served beside them.

On a small server an upload's reading and embedding at the searches' priority take the cores the
searches need; at a lower priority they take only what searches leave idle (search latency during
steady ingestion stays within a few percent of idle: docs/performance.md). The thread's niceness is
inherited by what it starts: the reading worker processes and, when :func:`writer_model` loads the
writer's own copy of the model on it, that model's threads.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from typing import TypeVar

import msgspec

from indexer.config import ModelSettings
from indexer.embedding import Embedder, load_embedder

log = logging.getLogger(__name__)

WRITER_NICE = 10
"""How much lower the writer thread's CPU priority is than the process's (``nice`` increment)."""
WRITER_MODEL_THREADS = 1

T = TypeVar("T")

_lock = threading.Lock()
_executor: concurrent.futures.ThreadPoolExecutor | None = None
_models: dict[ModelSettings, Embedder] = {}


def _lower_priority() -> None:
    with contextlib.suppress(OSError):  # a platform without per-thread priorities: run as it is
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)


def on_writer(work: Callable[[], T]) -> T:
    """``work()`` run on the writer thread (its result, or its exception raised here); calls from
    several threads run one after another."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="citesearch-writer", initializer=_lower_priority
            )
        executor = _executor
    if threading.current_thread().name.startswith("citesearch-writer"):
        return work()  # already on it (an update that falls back to a full build)
    return executor.submit(work).result()


def writer_model(model: ModelSettings) -> Callable[[], Embedder]:
    """A factory of the writer's own copy of ``model`` with :data:`WRITER_MODEL_THREADS` threads,
    loaded once a process on first use (on the writer thread, whose lower priority its threads
    inherit). Pass it to :func:`indexer.build.update` instead of the searches' model."""
    own = msgspec.structs.replace(model, threads=WRITER_MODEL_THREADS)

    def load() -> Embedder:
        with _lock:
            found = _models.get(own)
        if found is None:
            found = load_embedder(own)
            with _lock:
                found = _models.setdefault(own, found)
            log.info("the writer loaded its own model (%d thread)", WRITER_MODEL_THREADS)
        return found

    return load
