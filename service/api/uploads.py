"""Upload bodies read as they stream in: the raw bytes of a document, or ``multipart/form-data`` with a
``file`` part (streamed, never held in memory) and an optional ``metadata`` part (a JSON object, at
most ``reading.max_front_matter_kb``, before or after the file)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from multipart import MultipartSegment, ParserError, PushMultipartParser

from service.errors import BadRequestError, InvalidInputError

MAX_PARTS = 8
MAX_HEADER_BYTES = 8192
FIELDS = ("file", "metadata")


def boundary_of(content_type: str) -> bytes | None:
    """The multipart boundary of a ``multipart/form-data`` Content-Type, None for another type."""
    kind, _, options = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return None
    for option in options.split(";"):
        key, _, value = option.strip().partition("=")
        if key.strip().lower() == "boundary" and value.strip().strip('"'):
            return value.strip().strip('"').encode("latin-1", "replace")
    raise BadRequestError("multipart/form-data without a boundary in Content-Type")


Event = tuple[str, Any]


class MultipartUpload:
    """One multipart body: :meth:`start` reads up to the ``file`` part (its name and type are then
    known), :meth:`chunks` streams its bytes and reads the rest; :meth:`metadata` is the ``metadata``
    part once the body is read."""

    def __init__(self, stream: AsyncIterator[bytes], boundary: bytes, max_metadata_bytes: int) -> None:
        self._events = self._parse(stream, boundary)
        self._max_metadata = max_metadata_bytes
        self._metadata: bytes | None = None
        self.filename: str | None = None
        self.content_type: str | None = None

    async def _parse(self, stream: AsyncIterator[bytes], boundary: bytes) -> AsyncIterator[Event]:
        try:
            with PushMultipartParser(
                boundary, max_header_size=MAX_HEADER_BYTES, max_segment_count=MAX_PARTS, strict=True
            ) as parser:
                async for chunk in stream:
                    for part in parser.parse(chunk):
                        yield self._event(part)
                    if parser.closed:
                        break
                if not parser.closed:
                    for part in parser.parse(b""):
                        yield self._event(part)
        except ParserError as exc:
            raise BadRequestError(f"the multipart body is not valid: {exc}") from exc

    @staticmethod
    def _event(part: MultipartSegment | bytearray | None) -> Event:
        if isinstance(part, MultipartSegment):
            return ("part", part)
        if part:
            return ("data", bytes(part))
        return ("end", None)

    async def start(self) -> None:
        """Read up to the ``file`` part; 400 if the body has none, 422 for an unknown part."""
        async for kind, value in self._events:
            if kind == "part":
                name = value.name or ""
                if name not in FIELDS:
                    raise InvalidInputError(
                        f"unknown multipart part {name[:40]!r}: send 'file' and optionally 'metadata'",
                        errors=[{"key": name[:40], "message": "unknown part", "source": "body"}],
                    )
                if name == "file":
                    self.filename = value.filename or None
                    self.content_type = value.content_type
                    return
                await self._read_metadata()
        raise BadRequestError("the multipart body has no 'file' part")

    async def _read_metadata(self) -> None:
        if self._metadata is not None:
            raise InvalidInputError("the multipart body has two 'metadata' parts")
        data = bytearray()
        async for kind, value in self._events:
            if kind == "end":
                break
            if kind == "data":
                data.extend(value)
                if len(data) > self._max_metadata:
                    raise InvalidInputError(
                        "metadata is larger than reading.max_front_matter_kb "
                        f"({self._max_metadata // 1024} KB)",
                        errors=[{"key": "metadata", "message": "too large", "source": "body"}],
                    )
        self._metadata = bytes(data)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The ``file`` part's bytes, then the rest of the body read (a ``metadata`` part after it)."""
        async for kind, value in self._events:
            if kind == "end":
                break
            if kind == "data":
                yield value
        async for kind, value in self._events:
            if kind == "part":
                if value.name != "metadata":
                    raise InvalidInputError(
                        "the multipart body has a part other than one 'file' and 'metadata'"
                    )
                await self._read_metadata()

    def metadata(self) -> dict[str, Any] | None:
        """The ``metadata`` part as a JSON object (None: there was none); 422 if it is not one."""
        if self._metadata is None:
            return None
        return parse_metadata(self._metadata)


def parse_metadata(data: bytes | str) -> dict[str, Any]:
    """A JSON object given as ``metadata`` (422 otherwise)."""
    try:
        found = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInputError(
            f"metadata is not valid JSON: {exc}",
            errors=[{"key": "metadata", "message": "not JSON", "source": "body"}],
        ) from exc
    if not isinstance(found, dict):
        raise InvalidInputError(
            "metadata must be a JSON object",
            errors=[{"key": "metadata", "message": "not an object", "source": "body"}],
        )
    return found


def raw_media_type(content_type: str | None) -> str | None:
    """The media type of a raw upload body; None when it says nothing of the format (absent,
    ``application/octet-stream``, or the form type ``curl --data-binary`` sends by default)."""
    kind = (content_type or "").partition(";")[0].strip().lower()
    if kind in ("", "application/octet-stream", "application/x-www-form-urlencoded"):
        return None
    return kind
