"""The files uploaded through ``POST /v1/files``, kept on disk until deleted.

One folder (``<index_dir>/_files/``: no collection can be named so) holds, per file, its bytes
(``<id>.data``) and what OpenAI's file object says of it (``<id>.json``: name, purpose, size, time,
owner, SHA-256). Both are written to a temporary name, fsynced and renamed into place, the JSON last,
then the folder is fsynced: a file whose upload was answered survives a crash, and a file whose JSON
is not there was never answered (its leftovers are removed when the store opens). A deletion unlinks
the JSON first. Each file belongs to the key that uploaded it (its name); other keys do not see it.
The records are kept in memory (a few hundred bytes each, at most ``max_files_per_key`` per key)."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec

from indexer.snapshot.durable import fsync_dir, replace_durably
from service.errors import ConflictError, ServiceError, UnavailableError

log = logging.getLogger(__name__)

FILES_DIR = "_files"
"""The store's folder inside ``index_dir`` (a leading ``_``: never a collection's name)."""
_TMP = ".tmp-"


class FileTooLargeError(ServiceError):
    status_code = 413


class StoredFile(msgspec.Struct, frozen=True):
    """One uploaded file, as ``<id>.json`` keeps it."""

    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    owner: str
    media_type: str
    sha256: str


def new_file_id() -> str:
    """``file-`` and 24 random hex digits (96 bits)."""
    return f"file-{secrets.token_hex(12)}"


class Upload:
    """A file being received: its bytes go to a temporary file as they arrive, at most ``limit``
    (:class:`FileTooLargeError` beyond it). :meth:`FileStore.commit` keeps it, :meth:`discard` drops it."""

    def __init__(self, folder: Path, owner: str, limit: int) -> None:
        self.id = new_file_id()
        self.owner = owner
        self.limit = limit
        self.size = 0
        self.path = folder / f"{_TMP}{self.id}.data"
        self._digest = hashlib.sha256()
        self._out: BinaryIO | None = self.path.open("xb")

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` (blocking: call it off the event loop)."""
        self.size += len(chunk)
        if self.size > self.limit:
            self.discard()
            raise FileTooLargeError(f"the file is larger than the limit of {self.limit} bytes")
        assert self._out is not None, "write after discard"
        self._out.write(chunk)
        self._digest.update(chunk)

    def finish(self) -> str:
        """Flush and fsync the bytes; their SHA-256."""
        assert self._out is not None, "finish after discard"
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        self._out = None
        return self._digest.hexdigest()

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int
    """Largest file accepted (413 beyond it)."""
    max_files_per_key: int
    """Most files one key keeps at once (409 beyond it)."""


class FileStore:
    """The uploaded files: create with :meth:`open`, then thread-safe. The lock guards only the
    in-memory records; disk work (fsyncs) is done outside it."""

    def __init__(self, folder: Path, limits: FileLimits) -> None:
        self.folder = folder
        self.limits = limits
        self._files: dict[str, StoredFile] = {}
        self._held: Counter[str] = Counter()
        """Per owner, the files kept and the uploads being committed (the limit counts both)."""
        self._lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: Path, limits: FileLimits) -> FileStore:
        """The store in ``index_dir``, its files loaded; leftovers of uploads never answered removed.
        The folder is made by the first upload (a read-only index folder serves searches)."""
        store = cls(index_dir / FILES_DIR, limits)
        if not store.folder.is_dir():
            return store
        for path in store.folder.iterdir():
            if path.name.startswith(_TMP):
                path.unlink(missing_ok=True)
            elif path.suffix == ".json":
                store._load(path)
        for path in store.folder.glob("*.data"):
            if path.stem not in store._files:
                log.info("removing %s: its upload was never answered", path)
                path.unlink(missing_ok=True)
        return store

    def _load(self, path: Path) -> None:
        record = self._read_record(path)
        if record is not None:
            self._files[record.id] = record
            self._held[record.owner] += 1

    def _read_record(self, path: Path) -> StoredFile | None:
        try:
            record = msgspec.json.decode(path.read_bytes(), type=StoredFile)
        except FileNotFoundError:
            return None  # deleted meanwhile (by another worker process)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("skipping the uploaded file record %s: %s", path, exc)
            return None
        if record.id != path.stem or not self.data_path(record.id).is_file():
            log.warning("skipping the uploaded file record %s: its data is missing", path)
            return None
        return record

    def refresh(self) -> None:
        """Take in the files other processes (``--workers``) kept or deleted meanwhile (blocking:
        lists the folder, reads the records not known yet)."""
        try:
            names = {e.name[:-5] for e in os.scandir(self.folder) if e.name.endswith(".json")}
        except FileNotFoundError:
            names = set()
        with self._lock:
            known = set(self._files)
        found = {name: self._read_record(self.folder / f"{name}.json") for name in names - known}
        with self._lock:
            for gone in known - names:
                record = self._files.pop(gone, None)
                if record is not None:
                    self._held[record.owner] -= 1
            for record in found.values():
                if record is not None and record.id not in self._files:
                    self._files[record.id] = record
                    self._held[record.owner] += 1

    def data_path(self, file_id: str) -> Path:
        return self.folder / f"{file_id}.data"

    def start(self, owner: str) -> Upload:
        """A new upload for ``owner`` (:class:`ConflictError` if ``owner`` keeps too many files; 503
        if the files area cannot be written). Blocking: call it off the event loop."""
        self.refresh()
        with self._lock:
            self._check_room(owner)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            return Upload(self.folder, owner, self.limits.max_bytes)
        except OSError as exc:
            raise _unwritable(self.folder, exc) from exc

    def _check_room(self, owner: str) -> None:
        most = self.limits.max_files_per_key
        if self._held[owner] >= most:
            raise ConflictError(
                f"this key already keeps {most} files (integrations.max_files_per_key); delete some first"
            )

    def commit(self, upload: Upload, *, filename: str, purpose: str, media_type: str) -> StoredFile:
        """Keep ``upload`` (blocking: fsyncs). When it returns, the file survives a crash."""
        with self._lock:
            self._check_room(upload.owner)
            self._held[upload.owner] += 1
        try:
            record = StoredFile(
                id=upload.id,
                bytes=upload.size,
                created_at=int(time.time()),
                filename=filename,
                purpose=purpose,
                owner=upload.owner,
                media_type=media_type,
                sha256=upload.finish(),
            )
            os.rename(upload.path, self.data_path(upload.id))
            self._write_record(record)
        except BaseException as exc:
            upload.discard()
            self.data_path(upload.id).unlink(missing_ok=True)
            with self._lock:
                self._held[upload.owner] -= 1
            if isinstance(exc, OSError):
                raise _unwritable(self.folder, exc) from exc
            raise
        with self._lock:
            self._files[record.id] = record
        return record

    def _write_record(self, record: StoredFile) -> None:
        final = self.folder / f"{record.id}.json"
        staged = self.folder / f"{_TMP}{record.id}.json"
        replace_durably(final, msgspec.json.encode(record), staged=staged)

    def get(self, file_id: str, owner: str | None) -> StoredFile | None:
        """File ``file_id`` if ``owner`` may see it (``None``: any owner, for admin keys), as the
        folder holds it now (another worker process may have kept or deleted it). Blocking: reads a
        small record the first time."""
        path = self.folder / f"{file_id}.json"
        record = self._files.get(file_id)
        if record is None:
            record = self._read_record(path)
            if record is not None:
                with self._lock:
                    if record.id not in self._files:
                        self._files[record.id] = record
                        self._held[record.owner] += 1
        elif not path.exists():
            self.refresh()
            return None
        if record is None or (owner is not None and record.owner != owner):
            return None
        return record

    def list(self, owner: str | None, purpose: str | None = None) -> list[StoredFile]:
        """The files ``owner`` may see (``None``: every file), oldest first, then by id (blocking:
        takes in the folder first, see :meth:`refresh`)."""
        self.refresh()
        with self._lock:
            records = list(self._files.values())
        chosen = [
            r
            for r in records
            if (owner is None or r.owner == owner) and (purpose is None or r.purpose == purpose)
        ]
        return sorted(chosen, key=lambda r: (r.created_at, r.id))

    def delete(self, record: StoredFile) -> None:
        """Forget ``record`` and remove its bytes (blocking: fsyncs the folder); the record first, so
        a crash midway leaves at most bytes that the next :meth:`open` removes."""
        with self._lock:
            if self._files.pop(record.id, None) is None:
                return
            self._held[record.owner] -= 1
        try:
            (self.folder / f"{record.id}.json").unlink(missing_ok=True)
            self.data_path(record.id).unlink(missing_ok=True)
            fsync_dir(self.folder)
        except OSError as exc:
            raise _unwritable(self.folder, exc) from exc


def _unwritable(folder: Path, exc: OSError) -> UnavailableError:
    log.error("the files area %s cannot be written: %s", folder, exc)
    return UnavailableError(f"the files area cannot be written ({exc.strerror or exc}); retry later")
