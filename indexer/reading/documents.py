"""Find the files under the seeds folder, decide which reader reads each, and read them into
documents: the extracted text with its title, date, metadata, pages and sections."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.boxes import CharBoxes
from indexer.reading.caps import cap, cap_metadata, cap_sections
from indexer.reading.names import doc_id_for, printable
from indexer.reading.readers import (
    READERS,
    SNIFF_BYTES,
    DocumentReader,
    Extracted,
    MetaValue,
    Section,
    reader_for,
    reader_key,
    reader_named,
    sniff,
)
from indexer.reading.readers.metadata import flatten, iso_date
from indexer.reading.sidecar import is_sidecar, parse_sidecar, sidecar_bytes, sidecar_path

log = logging.getLogger(__name__)

HASH_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found under the seeds folder (its bytes are read when it is parsed)."""

    doc_id: str
    """Path relative to the seeds folder, with forward slashes: stable across machines."""
    path: Path
    """The file that is read: for a link that is followed, its target."""
    size: int
    sha256: str
    """The content's sha256; for a file that is not read (unsupported or too large), a fingerprint of
    its size and modification time (``stat:<bytes>:<mtime_ns>``), so it is never read just to hash it."""
    reader: str = ""
    """The reader that reads it and its version (``pdf/1``); empty when none does."""
    skip: str | None = None
    """Why it will not be read, when that is known without reading it."""
    sidecar: Path | None = None
    """Its metadata sidecar (``<file>.meta.json``, :mod:`indexer.reading.sidecar`), if it has one:
    then ``sha256`` is that of the content's and the sidecar's hashes, so a change of either is seen."""

    def read(self) -> bytes:
        """The file's bytes (a link is not followed here: ``path`` is already its target)."""
        with open_regular(self.path) as fh:
            return fh.read()


@dataclass(frozen=True, slots=True)
class Document:
    doc_id: str
    source: str
    title: str
    date: str | None
    sha256: str
    text: str
    format: str = "text"
    reader: str = ""
    metadata: Mapping[str, MetaValue] = field(default_factory=dict)
    pages: tuple[int, ...] = ()
    sections: tuple[Section, ...] = ()
    body_start: int = 0
    char_boxes: CharBoxes | None = None
    """Where each character of ``text`` is drawn on its page (PDF)."""
    page_labels: tuple[str, ...] = ()


def discover(root: Path) -> Iterator[Path]:
    """Every entry under ``root`` that is not a folder, recursively, in a stable order: files, and also
    links and special files (:func:`load_source` says why those are not read); hidden files and folders
    are left out. Links to folders are listed, never entered."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        linked = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in linked]
        for name in sorted(filenames + linked):
            if not name.startswith("."):
                yield Path(dirpath) / name


def load_sources(root: Path, limits: ReadingSettings | None = None) -> list[SourceFile]:
    """:func:`load_source` of every file :func:`discover` finds; of two names that escape to the same
    id (a name that is not UTF-8 and one spelled with its escapes), the first is kept."""
    found: dict[str, SourceFile] = {}
    for path in discover(root):
        if is_sidecar(path):  # metadata of the document beside it, never a document
            continue
        source = load_source(root, path, limits)
        if source.doc_id in found:
            log.warning("%s: two files have this id; only the first is read", printable(source.doc_id))
            continue
        found[source.doc_id] = source
    return list(found.values())


def _kind(mode: int) -> str | None:
    """What a file that is not a regular one is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _target(root: Path, path: Path, limits: ReadingSettings) -> tuple[Path, os.stat_result] | str:
    """The regular file ``path`` reads (itself, or a link's target inside the folder) and its
    status, or why it is not read. Nothing is opened."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        if not limits.follow_symlinks:
            return "a symbolic link (reading.follow_symlinks is false)"
        real, top = Path(os.path.realpath(path)), root.resolve()
        if not real.is_relative_to(top):
            return "a symbolic link to outside the seeds folder"
        if any(part.startswith(".") for part in real.relative_to(top).parts):
            return "a symbolic link to a hidden file"  # what discovery leaves out, a link does not bring in
        try:
            info = real.stat()
        except OSError:
            return "a broken symbolic link"
        kind = _kind(info.st_mode)
        return (real, info) if kind is None else f"a symbolic link to {kind}"
    kind = _kind(info.st_mode)
    return (path, info) if kind is None else f"{kind}, not a regular file"


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is a regular file, not through a link; a FIFO or a device is
    never waited on (``O_NONBLOCK``) and raises ``OSError``."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        for block in iter(lambda: fh.read(HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _head(path: Path) -> bytes:
    with open_regular(path) as fh:
        return fh.read(SNIFF_BYTES)


def load_source(root: Path, path: Path, limits: ReadingSettings | None = None) -> SourceFile:
    """What the build needs to know about ``path`` before reading it: its hash and its reader, or why
    it will not be read (a link or a special file, no reader for it, empty, larger than
    ``reading.max_file_mb``, unreadable). Never raises for what is found in the folder."""
    limits = limits or ReadingSettings()
    doc_id = doc_id_for(root, path)
    try:
        found = _target(root, path, limits)
        if isinstance(found, str):
            info = path.lstat()
            return SourceFile(doc_id, path, info.st_size, _fingerprint(info), skip=found)
        target, info = found
        reader = reader_for(path)
        if reader is None and info.st_size > 0:
            reader = sniff(_head(target), target)
        skip = _skip(path, info, reader, limits)
        beside = sidecar_path(path)
        sidecar = beside if beside.is_file() and not beside.is_symlink() else None
        sha256 = _fingerprint(info) if skip else _sha256(target)
        if sidecar is not None and not skip:
            sha256 = hashlib.sha256(f"{sha256}:{_sha256(sidecar)}".encode()).hexdigest()
        return SourceFile(
            doc_id=doc_id,
            path=target,
            size=info.st_size,
            sha256=sha256,
            reader=reader_key(reader) if reader is not None else "",
            skip=skip,
            sidecar=sidecar,
        )
    except OSError as exc:  # removed or changed while the build looked at it, or no permission
        return SourceFile(doc_id, path, 0, "stat:unreadable", skip=f"cannot be read ({exc.strerror or exc})")


def _fingerprint(info: os.stat_result) -> str:
    return f"stat:{info.st_size}:{info.st_mtime_ns}"


def _skip(
    path: Path, info: os.stat_result, reader: DocumentReader | None, limits: ReadingSettings
) -> str | None:
    if reader is None:
        return f"unsupported file type ({path.suffix.lower()})" if path.suffix else "unsupported file type"
    if info.st_size == 0:
        return "empty file"
    if info.st_size > limits.max_file_bytes:
        return f"{info.st_size / 2**20:.1f} MB, more than reading.max_file_mb ({limits.max_file_mb:g})"
    return None


def parse_document(
    source: SourceFile, source_label: str, limits: ReadingSettings | None = None, data: bytes | None = None
) -> Document:
    """Read ``source`` with its reader (``data``: its bytes, if already read);
    :class:`UnreadableDocumentError` says why it cannot be (whatever went wrong inside a reader, the
    build goes on). Titles, metadata values and section labels come out capped
    (:mod:`~indexer.reading.caps`); the text is whole or the document is skipped."""
    limits = limits or ReadingSettings()
    if source.skip is not None:
        raise UnreadableDocumentError(source.skip)
    # by its format: a worker process reads with the reader (version) the build chose for the file
    reader = reader_named(source.reader) or next(
        (r for r in READERS if r.format == source.reader.partition("/")[0]), None
    )
    if reader is None:
        raise UnreadableDocumentError("unsupported file type")
    try:
        data = source.read() if data is None else data
        extracted = reader.read(data, source.path, limits)
        extracted = _with_sidecar(extracted, source, limits)
    except UnreadableDocumentError:
        raise
    except MemoryError as exc:  # the worker's address-space limit (indexer.reading.budget)
        raise UnreadableDocumentError(over_memory(limits)) from exc
    except OSError as exc:
        raise UnreadableDocumentError(f"cannot be read ({exc.strerror or exc})") from exc
    except Exception as exc:  # a reader's bug must not stop the build
        log.exception("the %s reader failed on %s", reader.format, printable(source.doc_id))
        raise UnreadableDocumentError(f"the {reader.format} reader failed ({type(exc).__name__})") from exc
    text = extracted.text
    if len(text) > limits.max_chars:
        raise UnreadableDocumentError(f"more than reading.max_chars ({limits.max_chars}) characters")
    if not text[extracted.body_start :].strip():
        raise UnreadableDocumentError("no text after the front matter" if text.strip() else "empty (no text)")
    return Document(
        doc_id=source.doc_id,
        source=source_label,
        title=cap(extracted.title or PurePosixPath(source.doc_id).stem, limits.max_title_chars),
        date=extracted.date,
        sha256=source.sha256,
        text=text,
        format=extracted.format,
        reader=source.reader,
        metadata=cap_metadata(extracted.metadata, limits.max_metadata_value_chars),
        pages=extracted.pages,
        sections=cap_sections(extracted.sections, limits.max_section_chars),
        body_start=extracted.body_start,
        char_boxes=extracted.char_boxes,
        page_labels=extracted.page_labels,
    )


def _with_sidecar(extracted: Extracted, source: SourceFile, limits: ReadingSettings) -> Extracted:
    """``extracted`` with the keys of ``source``'s metadata sidecar over its own metadata (``title``
    and ``date`` too, as front matter gives them)."""
    if source.sidecar is None:
        return extracted
    raw = sidecar_bytes(source.sidecar, limits.max_front_matter_bytes)
    if raw is None:  # removed since the folder was listed
        return extracted
    found = parse_sidecar(raw)
    title = found.get("title")
    return replace(
        extracted,
        metadata={**extracted.metadata, **flatten(found)},
        title=" ".join(title.split()) if isinstance(title, str) and title.strip() else extracted.title,
        date=iso_date(found.get("date")) or extracted.date,
    )


Outcome = Document | str
"""A document read, or why it was skipped."""


def over_memory(limits: ReadingSettings) -> str:
    return f"over reading.max_file_memory_mb ({limits.max_file_memory_mb:g} MB)"
