"""Bodies of the write API (documents written to collections, their statuses and jobs) and the problem
answers its routes document."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from msgspec import Meta

from indexer.config import COLLECTION_NAME
from service.api.schemas import Problem
from service.runtime.writes import DocumentStatus, Job

StatusName = Literal["queued", "indexing", "indexed", "failed"]


def _iso(at: float | None) -> str | None:
    return None if at is None else dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")


class JobBody(msgspec.Struct, frozen=True):
    id: str
    collection: str
    doc_id: str
    action: Annotated[Literal["put", "delete"], Meta(description="put: added or replaced; delete.")]
    status: Annotated[
        StatusName,
        Meta(
            description="queued: stored, waiting; indexing: being published; indexed: searchable (a "
            "delete: gone from every door); failed: not indexed, see reason."
        ),
    ]
    reason: Annotated[str | None, Meta(description="Why it failed (e.g. no text layer).")]
    created_at: str
    finished_at: str | None
    snapshot_id: Annotated[str | None, Meta(description="The snapshot that published it.")]
    created: Annotated[bool, Meta(description="A put that added a new document (else replaced one).")]
    unchanged: Annotated[
        bool, Meta(description="A put of the bytes and metadata already indexed: nothing done.")
    ]


class DocumentStatusBody(msgspec.Struct, frozen=True):
    doc_id: str
    status: StatusName
    reason: Annotated[str | None, Meta(description="Why it is not indexed (failed).")]
    sha256: Annotated[str | None, Meta(description="Of the bytes written (or as the index has it).")]
    bytes: int | None
    metadata: Annotated[dict[str, Any], Meta(description="The metadata sent with it (its sidecar).")]
    job_id: Annotated[str | None, Meta(description="The last write of it since the service started.")]
    updated_at: str | None


class WriteAccepted(msgspec.Struct, frozen=True):
    document: Annotated[DocumentStatusBody | None, Meta(description="The document (null for a delete).")]
    job: JobBody


class DocumentStatusList(msgspec.Struct, frozen=True):
    documents: list[DocumentStatusBody]
    next_after: Annotated[
        str | None, Meta(description="Pass as ?after= for the next page; null: this is the last.")
    ]


class NewCollection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(pattern=COLLECTION_NAME.pattern, description="a-z 0-9 - _, at most 64.")]
    description: Annotated[str, Meta(max_length=1000)] = ""


def job_body(job: Job) -> JobBody:
    return JobBody(
        id=job.id,
        collection=job.collection,
        doc_id=job.doc_id,
        action=job.action,
        status=job.status,
        reason=job.reason,
        created_at=_iso(job.created_at) or "",
        finished_at=_iso(job.finished_at),
        snapshot_id=job.snapshot_id,
        created=job.created,
        unchanged=job.unchanged,
    )


def status_body(doc: DocumentStatus) -> DocumentStatusBody:
    return DocumentStatusBody(
        doc_id=doc.doc_id,
        status=doc.status,
        reason=doc.reason,
        sha256=doc.sha256,
        bytes=doc.bytes,
        metadata=dict(doc.metadata),
        job_id=doc.job_id,
        updated_at=_iso(doc.updated_at),
    )


_DESCRIPTIONS = {
    400: "The doc_id or the body is malformed (empty document, bad multipart body).",
    401: "The API key is missing or wrong (send Authorization: Bearer <key>).",
    403: "The key may search this collection but not write to it (or is not an admin key).",
    404: "No such collection (or this key may not search it), document or job.",
    409: "Over writes.max_documents, a name already taken, or a collection of config.yaml.",
    413: "The document is larger than writes.max_upload_mb.",
    415: "No reader reads this file type (the doc_id's suffix), or Content-Type names another format.",
    422: "The doc_id, the metadata or a query parameter is not valid; with ?wait=true: the document "
    "was stored but could not be indexed (the reason is given).",
    429: "Too many requests from this client; retry after the Retry-After seconds.",
    503: "The collection's source folder cannot be written, or the service is starting.",
}


def write_problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem details a write route may answer with."""
    return {
        status: ResponseSpec(
            Problem,
            description=_DESCRIPTIONS[status],
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in statuses
    }


_FILE = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description="The document's bytes.")
_MULTIPART = OpenAPIMediaType(
    schema=Schema(
        type=OpenAPIType.OBJECT,
        properties={
            "file": _FILE,
            "metadata": Schema(
                type=OpenAPIType.STRING,
                description="A JSON object, merged into the metadata: filterable like front matter.",
            ),
        },
        required=["file"],
    )
)


@dataclass
class UploadOperation(Operation):
    """An upload's body, read as it streams in (no Litestar ``data`` parameter declares it): the raw
    bytes, or multipart with ``file`` and ``metadata``."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={
                "application/octet-stream": OpenAPIMediaType(schema=_FILE),
                "multipart/form-data": _MULTIPART,
            },
            description="The document's bytes (any Content-Type; the doc_id's suffix picks the reader), or "
            "multipart/form-data with a `file` part and an optional `metadata` part.",
            required=True,
        )


@dataclass
class MultipartUploadOperation(Operation):
    """A multipart upload (``POST .../documents``), the doc_id being the file's name."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"multipart/form-data": _MULTIPART},
            description="`file` (its filename is the doc_id) and an optional `metadata` JSON object.",
            required=True,
        )
