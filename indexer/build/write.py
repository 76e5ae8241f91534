"""Write a staged snapshot's data files and its manifest.

The vector index is rebuilt from the vectors unless the previous snapshot's FAISS file holds exactly
the same vectors in the same rows with the same structure (only search-time parameters, applied at
load, may differ): then it is shared by a hard link.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import logging
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from indexer import __version__
from indexer.build.collect import Collected
from indexer.build.plan import index_plan
from indexer.config import Settings
from indexer.snapshot.layout import INDEX_NAME, LEXICAL_DIR, VECTORS_NAME, data_files
from indexer.snapshot.lexical import build_lexical
from indexer.snapshot.manifest import (
    SCHEMA_VERSION,
    ChunkingInfo,
    Counts,
    IndexInfo,
    Manifest,
    ModelInfo,
    file_entry,
    write_manifest,
)
from indexer.snapshot.reader import Snapshot
from indexer.snapshot.vectors import build_index
from indexer.snapshot.vectors.choice import same_structure

log = logging.getLogger(__name__)

_VERSIONED = (
    "faiss-cpu",
    "numpy",
    "sentence-transformers",
    "torch",
    "transformers",
    "tokenizers",
    "onnx",
    "onnxruntime",
    "tiktoken",
    "litestar",
    "pypdfium2",
    "python-docx",
    "selectolax",
)


@dataclass(frozen=True)
class Written:
    plan: IndexInfo
    rebuilt: bool
    """False when the previous snapshot's vector index file was reused as it is."""


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    """Looked up once a process: each lookup scans the installed distributions (tens of ms, which
    every update's segment manifest would otherwise pay)."""
    return tuple(_lookup_versions().items())


def library_versions() -> dict[str, str]:
    return dict(_versions())


def _lookup_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "indexer": __version__}
    for dist in _VERSIONED:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def write_indexes(
    settings: Settings, staged: Path, collected: Collected, reuse: Snapshot | None, dimension: int
) -> Written:
    """``vectors.npy``, the FAISS index and the lexical index of ``collected`` into ``staged``."""
    vectors = collected.vectors(dimension)
    np.save(staged / VECTORS_NAME, vectors)
    plan = index_plan(settings, collected.rows, dimension)
    rebuilt = not (
        reuse is not None
        and collected.same_rows
        and collected.rows == reuse.manifest.index.vectors
        and same_structure(reuse.manifest.index, plan)
    )
    if rebuilt:
        _build_vector_index(plan, vectors, staged / INDEX_NAME)
    else:
        assert reuse is not None
        _link_or_copy(reuse.path / INDEX_NAME, staged / INDEX_NAME)
    build_lexical(settings.lexical, collected.texts).save(staged / LEXICAL_DIR)
    return Written(plan, rebuilt)


def _build_vector_index(plan: IndexInfo, vectors: npt.NDArray[np.float32], target: Path) -> None:
    started = time.perf_counter()
    build_index(plan, vectors).save(target)
    log.info(
        "built a %s index of %d vectors in %.1f s", plan.type, len(vectors), time.perf_counter() - started
    )


def write_snapshot_manifest(
    settings: Settings,
    staged: Path,
    snapshot_id: str,
    collected: Collected,
    written: Written,
    model: ModelInfo,
    model_token_limit: int,
    seconds: float,
) -> Manifest:
    """The manifest of the staged snapshot, written last: it lists every data file's size and sha256."""
    manifest = Manifest(
        schema_version=SCHEMA_VERSION,
        snapshot_id=snapshot_id,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        seeds_dir=str(settings.seeds_dir),
        model=model,
        chunking=ChunkingInfo.of(settings.chunking, model_token_limit),
        index=written.plan,
        lexical=settings.lexical,
        counts=Counts(
            documents=len(collected.entries),
            chunks=collected.rows,
            skipped=len(collected.skipped),
            formats=collected.formats(),
        ),
        documents=collected.entries,
        skipped=collected.skipped,
        files={name: file_entry(staged / name) for name in data_files(staged)},
        versions=library_versions(),
        reading=settings.reading,
        fields=collected.fields.infos(),
        build_seconds=round(seconds, 3),
    )
    write_manifest(staged, manifest)
    return manifest


def _link_or_copy(source: Path, target: Path) -> None:
    """Snapshot files are never changed in place, so a hard link is a safe copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
