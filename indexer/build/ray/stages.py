"""The Ray Data stages of a build, run on the cluster's workers: read (extract each document's text),
chunk, embed. The reading stage is a plain function (Ray tasks); chunking and embedding are classes,
so each runs in a pool of actors that load the model once.

Rows travel as columns of plain types: ``index`` (the document's place in the build's order),
``count`` (its chunks; 0: none; -1: unreadable), ``text`` and ``tokens`` (one chunk and its length in
the model's tokens), ``payload`` (pickled: the document with its chunk records, without their texts, on
its first row; the reason on an unreadable one; empty on the others) and, after embedding, ``vector``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import socket
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from indexer.build.records import chunk_records
from indexer.config import ChunkingSettings, ModelSettings, ReadingSettings
from indexer.embedding import Embedder, load_embedder
from indexer.errors import DistributedBuildError
from indexer.reading.budget import ReadingPool
from indexer.reading.chunking import chunker_for
from indexer.reading.documents import Document, SourceFile
from indexer.snapshot.store import ChunkRecord

Batch = dict[str, npt.NDArray[Any]]

UNREADABLE = -1
"""``count`` of an unreadable document's one row."""


def read_documents(batch: Batch, *, label: str, limits: ReadingSettings) -> Batch:
    """Reading stage: each row's file, read on this node and checked against the hash the build
    planned with, extracted into a document (``payload``; ``count`` 0), or why it cannot be (``count`` -1)."""
    counts, payloads = [], []
    sources: list[SourceFile] = [pickle.loads(blob) for blob in batch["source"]]
    jobs = ((source, f"{label}/{source.doc_id}", _read(source)) for source in sources)
    with ReadingPool(limits) as pool:  # each file within its budget, in a worker process
        for outcome in pool.read(jobs):
            counts.append(UNREADABLE if isinstance(outcome, str) else 0)
            payloads.append(pickle.dumps(outcome))
    return {
        "index": batch["index"],
        "count": np.asarray(counts, dtype=np.int64),
        "payload": _objects(payloads),
    }


def _read(source: SourceFile) -> bytes | None:
    """The file's bytes (None for a file that is not read), as the build saw them; a file this node
    cannot read, or that changed since it was hashed, fails the build."""
    if source.skip is not None or not source.reader:
        return None
    try:
        data = source.read()
    except OSError as exc:
        raise DistributedBuildError(
            f"{source.path} cannot be read on Ray node {socket.gethostname()} ({exc.strerror or exc}): "
            "the seeds folder must be at the same path on every node (a shared filesystem)"
        ) from exc
    if hashlib.sha256(data).hexdigest() != source.sha256:
        raise DistributedBuildError(
            f"{source.doc_id} changed during the build, or differs on Ray node {socket.gethostname()}: "
            "build again"
        )
    return data


def load_model(model: ModelSettings, artifact_sha256: str) -> Embedder:
    """The model, as the driver loaded it: the same model file (its vectors go in one index)."""
    embedder = load_embedder(model)
    if embedder.artifact_sha256 != artifact_sha256:
        raise DistributedBuildError(
            f"Ray node {socket.gethostname()} runs another {model.variant} model file than the build's "
            f"(sha256 {embedder.artifact_sha256[:12]} instead of {artifact_sha256[:12]}): install the same "
            "versions of citesearch and its dependencies on every node"
        )
    return embedder


class ChunkStage:
    """Chunking stage: a document row becomes one row per chunk (cut with the model's tokenizer)."""

    def __init__(self, model: ModelSettings, chunking: ChunkingSettings, artifact_sha256: str) -> None:
        embedder = load_model(msgspec.structs.replace(model, threads=1), artifact_sha256)
        self.chunker = chunker_for(chunking, embedder.count_tokens, embedder.max_seq_length)

    def __call__(self, batch: Batch) -> Batch:
        rows: dict[str, list[Any]] = {name: [] for name in ("index", "count", "text", "tokens", "payload")}
        for index, count, payload in zip(batch["index"], batch["count"], batch["payload"], strict=True):
            if count == UNREADABLE:
                _append(rows, index, UNREADABLE, "", 0, payload)
                continue
            document: Document = pickle.loads(payload)
            chunks, lengths = chunk_records(self.chunker, document)
            head = pickle.dumps((document, [dataclasses.replace(c, text="") for c in chunks]))
            if not chunks:
                _append(rows, index, 0, "", 0, head)
            for chunk, length in zip(chunks, lengths, strict=True):
                _append(rows, index, len(chunks), chunk.text, length, head if chunk.position == 0 else b"")
        return {
            "index": np.asarray(rows["index"], dtype=np.int64),
            "count": np.asarray(rows["count"], dtype=np.int64),
            "text": _objects(rows["text"]),
            "tokens": np.asarray(rows["tokens"], dtype=np.int64),
            "payload": _objects(rows["payload"]),
        }


class EmbedStage:
    """Embedding stage: a vector for every chunk row. A call's chunks are sorted by length (longest
    first) and embedded ``batch_size`` at a time, as a local build embeds a block."""

    def __init__(self, model: ModelSettings, batch_size: int, artifact_sha256: str) -> None:
        self.embedder = load_model(model, artifact_sha256)
        self.batch_size = batch_size

    def __call__(self, batch: Batch) -> Batch:
        rows = np.flatnonzero(batch["count"] > 0)
        order = rows[np.argsort(-batch["tokens"][rows], kind="stable")]
        vectors = np.zeros((len(batch["count"]), self.embedder.dimension), dtype=np.float32)
        texts = batch["text"]
        for start in range(0, len(order), self.batch_size):
            part = order[start : start + self.batch_size]
            vectors[part] = self.embedder.embed([str(texts[i]) for i in part], batch_size=self.batch_size)
        return {**batch, "vector": vectors}


def chunk_texts(chunks: list[ChunkRecord], texts: list[str]) -> list[ChunkRecord]:
    """A document's chunk records with their texts put back (they travel in the ``text`` column)."""
    return [dataclasses.replace(c, text=t) for c, t in zip(chunks, texts, strict=True)]


def _append(
    rows: dict[str, list[Any]], index: int, count: int, text: str, tokens: int, payload: bytes
) -> None:
    for name, value in zip(rows, (index, count, text, tokens, payload), strict=True):
        rows[name].append(value)


def _objects(values: list[Any]) -> npt.NDArray[Any]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
