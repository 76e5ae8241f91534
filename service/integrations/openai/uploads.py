"""Receiving ``POST /v1/files``: a ``multipart/form-data`` body parsed as it streams in (by
:class:`~service.api.uploads.MultipartUpload`, as the native API's uploads), the ``file`` part written
straight to the :class:`~service.integrations.openai.file_store.FileStore` (never whole in memory; 413
as soon as it passes the limit), the small fields (``purpose``) kept in memory."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread

from service.api.uploads import Field, MultipartUpload, boundary_of
from service.errors import InvalidInputError, UnsupportedMediaTypeError
from service.integrations.openai.file_store import FileStore, StoredFile

PURPOSES = ("assistants", "user_data")
"""The purposes a file may be uploaded for: both are files for vector stores (search)."""
MAX_FIELD_BYTES = 1024
"""Largest form field other than ``file`` (``purpose``)."""
MAX_PARTS = 16
FIELDS = {
    "purpose": Field(MAX_FIELD_BYTES),
    # sent by the ``openai`` client when asked to; refused with a clear reason (see ``_purpose``)
    "expires_after[anchor]": Field(MAX_FIELD_BYTES),
    "expires_after[seconds]": Field(MAX_FIELD_BYTES),
}
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


def _at(key: str) -> list[dict[str, Any]]:
    return [{"key": key, "message": "invalid", "source": "body"}]


def _form(content_type: str | None, chunks: AsyncIterator[bytes]) -> MultipartUpload:
    """The body's parser (415 unless it is ``multipart/form-data``)."""
    boundary = boundary_of(content_type)
    if boundary is None:
        raise UnsupportedMediaTypeError(
            "send the file as multipart/form-data, with the fields file and purpose"
        )
    return MultipartUpload(chunks, boundary, FIELDS, max_parts=MAX_PARTS)


def _purpose(form: MultipartUpload) -> str:
    if form.field("expires_after[anchor]") is not None or form.field("expires_after[seconds]") is not None:
        raise InvalidInputError(
            "files do not expire here: leave out expires_after and delete files with DELETE /v1/files/{id}",
            errors=_at("expires_after"),
        )
    sent = form.field("purpose")
    purpose = None if sent is None else sent.decode("utf-8", "replace")
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
    form = _form(content_type, chunks)
    await form.start()
    if form.filename is None:
        raise InvalidInputError("`file` must be a file part (with a filename)", errors=_at("file"))
    upload = await anyio.to_thread.run_sync(store.start, owner)
    try:
        async for data in form.chunks():
            await anyio.to_thread.run_sync(upload.write, data)
        commit = functools.partial(
            store.commit,
            upload,
            filename=clean_filename(form.filename),
            purpose=_purpose(form),
            media_type=form.content_type or "application/octet-stream",
        )
        return await anyio.to_thread.run_sync(commit)
    except BaseException:
        upload.discard()  # on the loop: one unlink, and it must run even when the request is cancelled
        raise
