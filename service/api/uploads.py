"""Upload bodies read as they stream in: the raw bytes of a document, or ``multipart/form-data`` with a
``file`` part (streamed, never held in memory) and small text fields before or after it (each named by
its caller with a size cap: the native API's ``metadata``, OpenAI's ``purpose``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any, NamedTuple

from multipart import MultipartError, MultipartSegment, PushMultipartParser

from service.errors import BadRequestError, InvalidInputError

MAX_PARTS = 8
MAX_HEADER_BYTES = 8192


def boundary_of(content_type: str | None) -> bytes | None:
    """The multipart boundary of a ``multipart/form-data`` Content-Type, None for another type."""
    kind, _, options = (content_type or "").partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return None
    for option in options.split(";"):
        key, _, value = option.strip().partition("=")
        if key.strip().lower() == "boundary" and value.strip().strip('"'):
            return value.strip().strip('"').encode("latin-1", "replace")
    raise BadRequestError("multipart/form-data without a boundary in Content-Type")


Event = tuple[str, Any]


class Field(NamedTuple):
    """A small text field a multipart body may carry beside its ``file``."""

    max_bytes: int
    setting: str = ""
    """The setting ``max_bytes`` comes from, named when a field is refused as too large."""


class MultipartUpload:
    """One multipart body: :meth:`start` reads up to the ``file`` part (its name and type are then
    known), :meth:`chunks` streams its bytes and reads the rest; :meth:`field` is a small field once the
    body is read. ``fields`` names the small fields a body may have, each with its largest size
    (:class:`Field`): any other part is a 422, as is a field sent twice or over its size; a body cut
    short is a 400."""

    def __init__(
        self,
        stream: AsyncIterator[bytes],
        boundary: bytes,
        fields: Mapping[str, Field],
        *,
        max_parts: int = MAX_PARTS,
    ) -> None:
        self._events = self._parse(stream, boundary, max_parts)
        self._caps = dict(fields)
        self._fields: dict[str, bytes] = {}
        self.filename: str | None = None
        self.content_type: str | None = None

    async def _parse(
        self, stream: AsyncIterator[bytes], boundary: bytes, max_parts: int
    ) -> AsyncIterator[Event]:
        try:
            with PushMultipartParser(
                boundary, max_header_size=MAX_HEADER_BYTES, max_segment_count=max_parts, strict=True
            ) as parser:
                async for chunk in stream:
                    for event in _events(parser.parse(chunk)):
                        yield event
                    if parser.closed:
                        break
                if not parser.closed:
                    for event in _events(parser.parse(b"")):
                        yield event
        except MultipartError as exc:
            raise BadRequestError(f"the multipart body is not valid: {exc}") from exc

    def _unknown(self, name: str) -> InvalidInputError:
        allowed = " and ".join(repr(field) for field in ("file", *self._caps))
        return InvalidInputError(
            f"unknown multipart part {name[:40]!r}: send {allowed}, each once",
            errors=[{"key": name[:40], "message": "unknown part", "source": "body"}],
        )

    async def start(self) -> None:
        """Read up to the ``file`` part; 400 if the body has none, 422 for an unknown part."""
        async for kind, value in self._events:
            if kind == "part":
                name = value.name or ""
                if name == "file":
                    self.filename = value.filename or None
                    self.content_type = value.content_type
                    return
                await self._read_field(name)
        raise BadRequestError("the multipart body has no 'file' part")

    async def _read_field(self, name: str) -> None:
        if name not in self._caps or name in self._fields:
            raise self._unknown(name)
        cap, setting = self._caps[name]
        data = bytearray()
        async for kind, value in self._events:
            if kind == "end":
                break
            if kind == "data":
                data.extend(value)
                if len(data) > cap:
                    limit = f"{setting} ({cap:,} bytes)" if setting else f"{cap:,} bytes"
                    raise InvalidInputError(
                        f"the multipart part {name!r} is larger than {limit}",
                        errors=[{"key": name, "message": "too large", "source": "body"}],
                    )
        self._fields[name] = bytes(data)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The ``file`` part's bytes, then the rest of the body read (small fields after it)."""
        async for kind, value in self._events:
            if kind == "end":
                break
            if kind == "data":
                yield value
        async for kind, value in self._events:
            if kind == "part":
                await self._read_field(value.name or "")

    def field(self, name: str) -> bytes | None:
        """The small field ``name`` as sent (None: it was not)."""
        return self._fields.get(name)

    def metadata(self) -> dict[str, Any] | None:
        """The ``metadata`` field as a JSON object (None: there was none); 422 if it is not one."""
        found = self.field("metadata")
        return None if found is None else parse_metadata(found)


def _events(parsed: Any) -> list[Event]:
    """What the parser made of one piece of the body, the file's bytes of it joined into one ``data``."""
    events: list[Event] = []
    data = bytearray()
    for part in parsed:
        if isinstance(part, MultipartSegment | None):
            if data:
                events.append(("data", bytes(data)))
                data = bytearray()
            events.append(("part", part) if part is not None else ("end", None))
        else:
            data.extend(part)
    if data:
        events.append(("data", bytes(data)))
    return events


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
