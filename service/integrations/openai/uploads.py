"""Receiving ``POST /v1/files``: a ``multipart/form-data`` body parsed as it streams in, the ``file``
part written straight to the :class:`~service.integrations.openai.file_store.FileStore` (never whole
in memory; 413 as soon as it passes the limit), the small fields (``purpose``) kept in memory."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from multipart import (
    MultipartSegment,
    ParserError,
    ParserLimitReached,
    PushMultipartParser,
    parse_options_header,
)

from service.errors import BadRequestError, InvalidInputError, UnsupportedMediaTypeError
from service.integrations.openai.file_store import FileStore, StoredFile, Upload

PURPOSES = ("assistants", "user_data")
"""The purposes a file may be uploaded for: both are files for vector stores (search)."""
MAX_FIELD_BYTES = 1024
"""Largest form field other than ``file`` (``purpose``)."""
MAX_PARTS = 16
MAX_FILENAME_BYTES = 255
MULTIPART_SLACK = 65_536
"""Bytes a request may carry beyond the file: the multipart boundaries, part headers and fields."""
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def clean_filename(name: str | None) -> str:
    """The last segment of an uploaded file's name, without control characters or leading dots, at
    most 255 bytes (its suffix kept); ``upload`` when nothing is left."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name or ""))[-1]
    base = _UNSAFE.sub("", base).strip().lstrip(".")  # a hidden name is no document of a source folder
    if not base:
        return "upload"
    if len(base.encode()) <= MAX_FILENAME_BYTES:
        return base
    stem, dot, suffix = base.rpartition(".")
    tail = f".{suffix}" if dot and len(suffix.encode()) <= 16 else ""
    head = (stem if tail else base).encode()[: MAX_FILENAME_BYTES - len(tail.encode())]
    return head.decode("utf-8", "ignore") + tail


@dataclass
class _Form:
    """What the body held: the small fields, and the file part's name and type once seen."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    media_type: str = "application/octet-stream"
    _current: MultipartSegment | None = None
    _value: bytearray = field(default_factory=bytearray)

    def begin(self, segment: MultipartSegment) -> None:
        if segment.name == "file":
            if self.filename is not None:
                raise BadRequestError("the body has more than one `file` part")
            if segment.filename is None:
                raise InvalidInputError("`file` must be a file part (with a filename)", errors=_at("file"))
            self.filename = clean_filename(segment.filename)
            self.media_type = segment.content_type or self.media_type
        self._current = segment
        self._value = bytearray()

    def is_file(self) -> bool:
        return self._current is not None and self._current.name == "file"

    def add(self, chunk: bytes) -> None:
        self._value.extend(chunk)
        if len(self._value) > MAX_FIELD_BYTES:
            name = self._current.name if self._current is not None else "?"
            raise InvalidInputError(f"the form field {name!r} is too long", errors=_at(name))

    def end(self) -> None:
        if self._current is not None and not self.is_file() and self._current.name:
            self.fields[self._current.name] = self._value.decode("utf-8", "replace")
        self._current = None


def _at(key: str) -> list[dict[str, Any]]:
    return [{"key": key, "message": "invalid", "source": "body"}]


def boundary_of(content_type: str | None) -> str:
    """The multipart boundary of a ``Content-Type`` (415 unless it is ``multipart/form-data``)."""
    kind, options = parse_options_header(content_type or "")
    if kind != "multipart/form-data":
        raise UnsupportedMediaTypeError(
            "send the file as multipart/form-data, with the fields file and purpose"
        )
    boundary = options.get("boundary")
    if not boundary:
        raise BadRequestError("the multipart/form-data Content-Type has no boundary")
    return str(boundary)


async def _feed(chunks: AsyncIterator[bytes], boundary: str, upload: Upload) -> _Form:
    form = _Form()
    try:
        with PushMultipartParser(boundary, max_segment_count=MAX_PARTS, strict=True) as parser:
            async for chunk in chunks:
                pending: list[bytes] = []
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        form.begin(event)
                    elif event is None:
                        form.end()
                    elif form.is_file():
                        pending.append(bytes(event))
                    else:
                        form.add(event)
                if pending:
                    await anyio.to_thread.run_sync(upload.write, b"".join(pending))
                if parser.closed:
                    break
    except ParserLimitReached as exc:
        raise BadRequestError(f"the multipart body has too many parts or too long headers: {exc}") from None
    except ParserError as exc:
        raise BadRequestError(f"the body is not valid multipart/form-data: {exc}") from None
    return form


def _purpose(form: _Form) -> str:
    if form.filename is None:
        raise InvalidInputError("the `file` part is missing", errors=_at("file"))
    if any(name.startswith("expires_after") for name in form.fields):
        raise InvalidInputError(
            "files do not expire here: leave out expires_after and delete files with DELETE /v1/files/{id}",
            errors=_at("expires_after"),
        )
    purpose = form.fields.get("purpose")
    if purpose not in PURPOSES:
        raise InvalidInputError(
            f"purpose must be one of {', '.join(PURPOSES)} (files for vector stores), not {purpose!r}",
            errors=_at("purpose"),
        )
    return purpose


async def receive(
    chunks: AsyncIterator[bytes], content_type: str | None, store: FileStore, owner: str
) -> StoredFile:
    """Stream a ``POST /v1/files`` body into ``store`` as ``owner``'s; kept (fsynced) when it returns."""
    boundary = boundary_of(content_type)
    upload = await anyio.to_thread.run_sync(store.start, owner)
    try:
        form = await _feed(chunks, boundary, upload)
        purpose = _purpose(form)
        assert form.filename is not None
        commit = functools.partial(
            store.commit, upload, filename=form.filename, purpose=purpose, media_type=form.media_type
        )
        return await anyio.to_thread.run_sync(commit)
    except BaseException:
        upload.discard()  # on the loop: one unlink, and it must run even when the request is cancelled
        raise
