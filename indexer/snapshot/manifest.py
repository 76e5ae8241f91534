"""``manifest.json``: the one place that says what a snapshot holds and how it was built."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import msgspec

from indexer.errors import SnapshotError
from indexer.snapshot.layout import MANIFEST_NAME

SCHEMA_VERSION = 2
"""2: documents of every format, with their reader, pages, sections and metadata fields."""


class _Part(msgspec.Struct, frozen=True, kw_only=True):
    pass


class ModelInfo(_Part, frozen=True):
    name: str
    dimension: int
    max_seq_length: int
    normalized: bool = True
    metric: str = "inner_product"
    source: str = ""
    variant: str = "torch"
    """How the vectors were computed: torch | onnx-fp32 | onnx-int8 (snapshots from before variants
    existed were all built by torch)."""
    artifact_sha256: str = ""
    """sha256 of the ONNX file that computed the vectors (ONNX variants)."""


class ChunkingInfo(_Part, frozen=True):
    encoding: str
    max_tokens: int
    overlap_tokens: int
    model_token_limit: int


class HnswInfo(_Part, frozen=True):
    m: int
    """Graph neighbours per node (build time)."""
    ef_construction: int
    """Candidate list depth while building (build time)."""
    ef_search: int
    """Candidate list depth while searching (search time: applied when the index is loaded)."""


class IvfInfo(_Part, frozen=True):
    nlist: int
    """Inverted lists (k-means centroids; build time)."""
    nprobe: int
    """Lists visited per query (search time: applied when the index is loaded)."""
    trained_on: int
    """How many vectors (an evenly seeded sample) trained the centroids."""


class PqInfo(_Part, frozen=True):
    m: int
    """Sub-quantizers: each vector is stored in ``m * nbits / 8`` bytes (build time)."""
    nbits: int
    refine: int
    """Re-rank ``k * refine`` PQ candidates by exact inner product (0: PQ scores only; search time)."""


class IndexInfo(_Part, frozen=True):
    type: str
    """The vector index actually built: flat | hnsw | ivf | ivfpq (never "auto")."""
    vectors: int
    requested: str = ""
    """``index.type`` in the config that built it ("auto" or a type; empty in older snapshots)."""
    hnsw: HnswInfo | None = None
    ivf: IvfInfo | None = None
    pq: PqInfo | None = None


class LexicalInfo(_Part, frozen=True):
    type: str
    stemmer: str
    stopwords: str
    k1: float
    b: float


class ReadingInfo(_Part, frozen=True):
    """The per-file limits the documents were read under (``reading`` in the config)."""

    max_file_mb: float
    max_pages: int
    max_chars: int
    max_unpacked_mb: float
    # later limits, with their defaults for manifests written before them
    max_front_matter_kb: float = 256
    max_file_seconds: float = 30
    max_file_memory_mb: float = 1024
    max_title_chars: int = 300
    max_metadata_value_chars: int = 1000
    max_section_chars: int = 300
    follow_symlinks: bool = False


class Counts(_Part, frozen=True):
    documents: int
    chunks: int
    skipped: int
    formats: dict[str, int] = msgspec.field(default_factory=dict)
    """Documents per format."""


class DocumentEntry(_Part, frozen=True):
    sha256: str
    chunks: int
    format: str = "text"
    reader: str = ""
    """The reader and its version that extracted it (``pdf/1``): a new version reads it again."""
    bytes: int = 0
    chars: int = 0
    """Characters of extracted text."""
    pages: int = 0


class SkippedEntry(_Part, frozen=True):
    sha256: str
    reason: str
    reader: str = ""
    """The reader that failed on it (empty: none reads it); a new version tries again."""


FieldType = Literal["string", "number", "boolean", "date"]


class FieldInfo(_Part, frozen=True):
    """A metadata key documents have, as filters see it."""

    type: FieldType
    """The values' type (``date``: ISO dates; numbers and text mixed: ``string``)."""
    multiple: bool = False
    """Some documents give a list of values (``tags``): ``eq`` means "contains"."""
    documents: int = 0
    """How many documents have it."""


class FileEntry(_Part, frozen=True):
    bytes: int
    sha256: str


class Manifest(_Part, frozen=True):
    schema_version: int
    snapshot_id: str
    created_at: str
    seeds_dir: str
    model: ModelInfo
    chunking: ChunkingInfo
    index: IndexInfo
    lexical: LexicalInfo
    counts: Counts
    documents: dict[str, DocumentEntry]
    skipped: dict[str, SkippedEntry]
    """Files that were found but could not be read, with the reason."""
    files: dict[str, FileEntry]
    """Every data file (relative path) with size and sha256, to detect incomplete or corrupt copies."""
    versions: dict[str, str]
    reading: ReadingInfo
    fields: dict[str, FieldInfo] = msgspec.field(default_factory=dict)
    """Metadata keys found in the documents (front matter, PDF info, HTML meta), for filters."""
    build_seconds: float = 0.0


def file_entry(path: Path) -> FileEntry:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return FileEntry(bytes=path.stat().st_size, sha256=digest.hexdigest())


def write_manifest(directory: Path, manifest: Manifest) -> None:
    (directory / MANIFEST_NAME).write_bytes(msgspec.json.format(msgspec.json.encode(manifest), indent=2))


class _Version(msgspec.Struct):
    schema_version: int


def read_manifest(directory: Path) -> Manifest:
    """The manifest of the snapshot in ``directory``; one of another schema version is refused with a
    message that says to rebuild (before its fields are read: they may differ)."""
    path = directory / MANIFEST_NAME
    try:
        raw = path.read_bytes()
        version = msgspec.json.decode(raw, type=_Version).schema_version
    except FileNotFoundError as exc:
        raise SnapshotError(f"{directory}: no {MANIFEST_NAME} (incomplete snapshot)") from exc
    except msgspec.MsgspecError as exc:
        raise SnapshotError(f"{path}: unreadable manifest: {exc}") from exc
    if version != SCHEMA_VERSION:
        raise SnapshotError(
            f"{path}: schema version {version}, this version reads {SCHEMA_VERSION}; rebuild the index "
            "(python -m indexer build)"
        )
    try:
        return msgspec.json.decode(raw, type=Manifest)
    except msgspec.MsgspecError as exc:
        raise SnapshotError(f"{path}: unreadable manifest: {exc}") from exc
