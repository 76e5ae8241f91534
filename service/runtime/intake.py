"""Durable intake of writes into a collection's source folder, before they are acknowledged.

A document's bytes are streamed into ``<source>/.uploads/`` (hidden: a build never reads it), size
capped while streaming, fsynced; the collection's journal (``<index folder>/writes.journal``, one JSON
line per acknowledged write) is appended and fsynced; then the file is renamed into place and its
folder fsynced. Metadata goes in a sidecar ``<file>.meta.json`` written the same way. A deletion is
journalled, unlinked and its folder fsynced. After a crash the journal names every write that may not
be published yet (:func:`pending_ids`); it is trimmed once a snapshot has published them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import AsyncIterable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import anyio.to_thread

from indexer.config import ReadingSettings, Settings
from indexer.reading.formats import format_of, supported_suffixes
from indexer.reading.sidecar import SIDECAR_SUFFIX, read_sidecar, sidecar_path
from indexer.snapshot.durable import fsync_dir, replace_durably
from service.errors import (
    BadRequestError,
    ConflictError,
    InvalidInputError,
    PayloadTooLargeError,
    UnavailableError,
    UnsupportedMediaTypeError,
)

log = logging.getLogger(__name__)

UPLOADS_DIR = ".uploads"
JOURNAL_NAME = "writes.journal"
MAX_DOC_ID_BYTES = 1024
STALE_UPLOAD_SECONDS = 3600.0
"""An upload being received is written to at least this often; one untouched for longer was cut short."""
MAX_SEGMENT_BYTES = 255
"""A file name's longest on common file systems."""
MEDIA_TYPES: dict[str, str] = {
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "application/pdf": "pdf",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}
"""Content types that name a format; others (``application/octet-stream``...) leave it to the suffix."""


Data = bytes | Path | AsyncIterable[bytes]
"""A document's bytes: in memory, in a file (read in blocks, e.g. one kept by ``POST /v1/files``), or
as they stream in."""


def check_doc_id(doc_id: str, *, check_suffix: bool = True) -> str:
    """``doc_id`` if it can name a document of a source folder: a relative POSIX path of at most
    1,024 bytes, no empty, ``.`` or ``..`` segment, no hidden (``.name``) segment (builds leave those
    out), no control characters, not a metadata sidecar; with ``check_suffix``, a suffix a reader
    reads (else 415)."""
    problem = _doc_id_problem(doc_id)
    if problem is not None:
        raise InvalidInputError(
            f"doc_id {doc_id[:80]!r} is not valid: {problem}",
            errors=[{"key": "doc_id", "message": problem, "source": "path"}],
        )
    if check_suffix and format_of(doc_id) is None:
        raise UnsupportedMediaTypeError(
            f"doc_id {doc_id[:80]!r}: no reader for this file type; "
            f"supported: {' '.join(supported_suffixes())}"
        )
    return doc_id


def _doc_id_problem(doc_id: str) -> str | None:
    if not doc_id:
        return "it is empty"
    if len(doc_id.encode("utf-8", "surrogatepass")) > MAX_DOC_ID_BYTES:
        return f"longer than {MAX_DOC_ID_BYTES} bytes"
    if any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in doc_id):
        return "it holds control characters"
    if doc_id.startswith("/") or "\\" in doc_id:
        return "it must be a relative path with forward slashes"
    for segment in doc_id.split("/"):
        if segment in ("", ".", ".."):
            return "empty, '.' and '..' path segments are not allowed"
        if segment.startswith("."):
            return "hidden names (starting with '.') are not read by builds"
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return f"a path segment is longer than {MAX_SEGMENT_BYTES} bytes"
    if doc_id.lower().endswith(SIDECAR_SUFFIX) or doc_id == UPLOADS_DIR:
        return f"names ending in {SIDECAR_SUFFIX} hold metadata, not documents"
    return None


def check_media_type(doc_id: str, media_type: str | None) -> None:
    """415 when ``media_type`` names a format other than ``doc_id``'s suffix reads."""
    if not media_type:
        return
    named = MEDIA_TYPES.get(media_type.partition(";")[0].strip().lower())
    expected = format_of(doc_id)
    if named == "text" and expected == "markdown":  # Markdown is plain text, and often sent as it
        return
    if named is not None and expected is not None and named != expected:
        raise UnsupportedMediaTypeError(
            f"Content-Type {media_type[:100]!r} is {named}, but {doc_id[:80]!r} is read as {expected}: "
            "name the document with the suffix of its format"
        )


def check_metadata(metadata: Mapping[str, Any] | None, limits: ReadingSettings) -> dict[str, Any]:
    """``metadata`` as its sidecar will hold it: a JSON object of at most
    ``reading.max_front_matter_kb`` (the bound of front matter), keys non-empty strings."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidInputError(
            "metadata must be a JSON object",
            errors=[{"key": "metadata", "message": "not an object", "source": "body"}],
        )
    try:
        encoded = json.dumps(metadata, ensure_ascii=False, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"metadata is not valid JSON: {exc}") from exc
    if len(encoded.encode()) > limits.max_front_matter_bytes:
        raise InvalidInputError(
            f"metadata is larger than reading.max_front_matter_kb ({limits.max_front_matter_kb} KB)",
            errors=[{"key": "metadata", "message": "too large", "source": "body"}],
        )
    if any(not isinstance(key, str) or not key.strip() for key in metadata):
        raise InvalidInputError("metadata keys must be non-empty strings")
    return dict(metadata)


@dataclass
class Staged:
    """An upload written to ``<source>/.uploads/`` and fsynced, not yet in place."""

    path: Path
    sha256: str
    size: int

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


async def stage(seeds_dir: Path, doc_id: str, data: Data, max_bytes: int) -> Staged:
    """``data`` written to a hidden file of the source folder and fsynced; 413 past ``max_bytes``
    (checked while streaming: no more than that is ever written)."""
    uploads = seeds_dir / UPLOADS_DIR
    path = uploads / f"{secrets.token_hex(8)}{PurePosixPath(doc_id).suffix.lower()}"
    fh = await anyio.to_thread.run_sync(_open_new, path)
    digest, size = hashlib.sha256(), 0
    try:
        try:
            chunks = _chunks(data)
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLargeError(
                        f"the document is larger than writes.max_upload_mb ({max_bytes / 2**20:g} MB)"
                    )
                digest.update(chunk)
                await anyio.to_thread.run_sync(fh.write, chunk)
            await anyio.to_thread.run_sync(_sync_close, fh)
        finally:
            fh.close()
        if size == 0:
            raise BadRequestError("the document is empty: send its bytes as the body")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return Staged(path, digest.hexdigest(), size)


async def _chunks(data: Data) -> AsyncIterable[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), 1 << 20):
            yield bytes(view[start : start + (1 << 20)])
        return
    if isinstance(data, Path):
        with await anyio.to_thread.run_sync(data.open, "rb") as fh:
            while block := await anyio.to_thread.run_sync(fh.read, 1 << 20):
                yield block
        return
    async for chunk in data:
        if chunk:
            yield chunk


def _open_new(path: Path) -> Any:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("xb")
    except OSError as exc:
        raise _unwritable(path.parent.parent, exc) from exc


def _sync_close(fh: Any) -> None:
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()


def _unwritable(folder: Path, exc: OSError) -> UnavailableError:
    log.error("cannot write the source folder %s: %s", folder, exc)
    return UnavailableError(
        "the collection's source folder cannot be written; see the server log", retry_after=10
    )


def same_as_stored(seeds_dir: Path, doc_id: str, sha256: str, metadata: Mapping[str, Any]) -> bool:
    """Whether the folder already holds ``doc_id`` with these bytes and this metadata."""
    target = seeds_dir / doc_id
    try:
        if not target.is_file() or target.is_symlink():
            return False
        digest = hashlib.sha256()
        with target.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return False
    return digest.hexdigest() == sha256 and read_sidecar(target) == dict(metadata)


def folder_of(seeds_dir: Path, doc_id: str, *, create: bool) -> Path:
    """The folder ``doc_id`` goes in, inside ``seeds_dir``, made (each new folder fsynced into its
    parent) when ``create``. Links are never followed out of the source folder: a folder on the way
    that is a symbolic link is a 422, a document where a folder should be (or a folder where the
    document should be) a 409."""
    folder = seeds_dir
    parts = PurePosixPath(doc_id).parts
    for part in parts[:-1]:
        folder = folder / part
        if folder.is_symlink():
            raise InvalidInputError(f"{doc_id[:200]!r}: {part[:80]!r} is a symbolic link; writes follow none")
        if folder.exists() and not folder.is_dir():
            raise ConflictError(f"{doc_id[:200]!r}: {part[:80]!r} is a document, not a folder")
        if create and not folder.exists():
            folder.mkdir()
            fsync_dir(folder.parent)
    if (folder / parts[-1]).is_dir() and not (folder / parts[-1]).is_symlink():
        raise ConflictError(f"{doc_id[:200]!r} is a folder of the collection, not a document")
    return folder


def commit(settings: Settings, doc_id: str, staged: Staged, metadata: Mapping[str, Any], job_id: str) -> None:
    """Journal the write, then move the staged file (and its metadata sidecar; none when
    ``metadata`` is empty) into place and fsync the folder: durable when this returns."""
    try:
        folder = folder_of(settings.seeds_dir, doc_id, create=True)
        target = folder / PurePosixPath(doc_id).name
        journal(settings, job_id, doc_id)
        sidecar = sidecar_path(target)
        if metadata:
            side = staged.path.with_name(staged.path.name + SIDECAR_SUFFIX)
            with side.open("w", encoding="utf-8") as fh:
                json.dump(dict(metadata), fh, ensure_ascii=False, sort_keys=True, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(side, sidecar)
        else:
            with contextlib.suppress(FileNotFoundError):
                sidecar.unlink()
        os.replace(staged.path, target)
        fsync_dir(folder)
    except OSError as exc:
        raise _unwritable(settings.seeds_dir, exc) from exc


def remove(settings: Settings, doc_id: str, job_id: str) -> bool:
    """Journal the deletion, unlink the document and its sidecar and fsync the folder; whether there
    was a file."""
    try:
        folder = folder_of(settings.seeds_dir, doc_id, create=False)
        target = folder / PurePosixPath(doc_id).name
        journal(settings, job_id, doc_id)
        existed = target.is_file() or target.is_symlink()
        if existed:
            target.unlink()
        with contextlib.suppress(FileNotFoundError):
            sidecar_path(target).unlink()
        if folder.is_dir():
            fsync_dir(folder)
    except OSError as exc:
        raise _unwritable(settings.seeds_dir, exc) from exc
    return existed


@contextlib.contextmanager
def _journal_lock(folder: Path) -> Iterator[None]:
    """The journal to oneself: appends and rewrites never interleave, even from several service
    processes (``--workers``)."""
    with (folder / f".{JOURNAL_NAME}.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def journal(settings: Settings, job_id: str, doc_id: str) -> None:
    """Append one acknowledged write to the collection's journal, fsynced."""
    folder = settings.index_dir
    created = not folder.is_dir()
    folder.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"job": job_id, "doc_id": doc_id}, ensure_ascii=False) + "\n"
    with _journal_lock(folder):
        fd = os.open(folder / JOURNAL_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    if created:
        fsync_dir(folder.parent)
    fsync_dir(folder)


def _entries(settings: Settings) -> list[tuple[str, str]]:
    try:
        lines = (settings.index_dir / JOURNAL_NAME).read_text("utf-8").splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            found = json.loads(line)
            entries.append((str(found["job"]), str(found["doc_id"])))
        except (ValueError, KeyError, TypeError):  # a line cut short by a crash: never acknowledged
            continue
    return entries


def pending(settings: Settings) -> list[tuple[str, str]]:
    """The writes acknowledged and perhaps not yet published (the journal's ``(job id, doc_id)``);
    stale leftovers of uploads cut short by a crash are removed."""
    clear_uploads(settings.seeds_dir)
    return _entries(settings)


def clear_uploads(seeds_dir: Path, older_than: float = STALE_UPLOAD_SECONDS) -> None:
    """Remove uploads cut short (by a crash) from ``<source>/.uploads``: those untouched for
    ``older_than`` seconds (another service process may be receiving the others)."""
    now = time.time()
    with contextlib.suppress(OSError):  # none there (the usual case), or a folder this process cannot list
        for entry in os.scandir(seeds_dir / UPLOADS_DIR):
            with contextlib.suppress(OSError):
                if now - entry.stat(follow_symlinks=False).st_mtime > older_than:
                    os.unlink(entry.path)


def journal_done(settings: Settings, job_ids: Collection[str]) -> None:
    """Drop the published jobs from the journal (atomically: written beside it, renamed)."""
    with _journal_lock(settings.index_dir):
        _rewrite(settings, job_ids)


def _rewrite(settings: Settings, job_ids: Collection[str]) -> None:
    entries = _entries(settings)
    kept = [(job, doc_id) for job, doc_id in entries if job not in job_ids]
    if len(kept) == len(entries):
        return
    path = settings.index_dir / JOURNAL_NAME
    if not kept:
        path.unlink(missing_ok=True)
        fsync_dir(settings.index_dir)
    else:
        lines = (json.dumps({"job": job, "doc_id": doc_id}, ensure_ascii=False) for job, doc_id in kept)
        replace_durably(path, "".join(f"{line}\n" for line in lines).encode())
