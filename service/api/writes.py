"""The write API of a collection: documents added, replaced and deleted over HTTP, their statuses and
jobs (``/v1/collections/{name}/documents``, ``/status``, ``/jobs``), and collections created and
deleted at run time (admin). Writes need the key's ``write`` permission on the collection: a key that
may not search it gets 404 exactly as for a collection that does not exist, one that may search but
not write gets 403."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from service.admission.auth import ADMIN, ADMIN_SECURITY, API_SECURITY, Access
from service.admission.guards import known_query, require_json
from service.api.collections import CollectionsController, holder_of
from service.api.uploads import Field, MultipartUpload, boundary_of, raw_media_type
from service.api.write_schemas import (
    DocumentStatusBody,
    DocumentStatusList,
    JobBody,
    MultipartUploadOperation,
    NewCollection,
    StatusName,
    UploadOperation,
    WriteAccepted,
    job_body,
    status_body,
    write_problems,
)
from service.errors import ForbiddenError, InvalidInputError, NotFoundError, PayloadTooLargeError
from service.runtime.collections import Collections
from service.runtime.writes import Job, Writes
from service.settings import AppSettings

Req = Request[Any, Any, Any]
Wait = Annotated[
    bool, Parameter(description="Answer once the write is published (at most writes.wait_seconds; then 202).")
]


def _writable(name: str, collections: Collections, access: Access) -> None:
    """404 for a collection this key may not search (as for one that does not exist), 403 for one it
    may search but not write."""
    holder_of(name, collections, access)
    if not access.may(name, "write"):
        raise ForbiddenError(f"this API key may search collection {name!r} but not write to it")


def _check_length(request: Req, settings: AppSettings) -> None:
    """413 at once for a declared body larger than the upload limit (streamed bodies are cut off as
    they pass it)."""
    declared = request.headers.get("content-length", "")
    # room for a multipart body's framing and its metadata part
    limit = settings.writes.max_upload_bytes + settings.reading.max_front_matter_bytes + 65_536
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(
            f"the document is larger than writes.max_upload_mb ({settings.writes.max_upload_mb:g} MB)"
        )


async def _multipart(request: Req, settings: AppSettings) -> MultipartUpload | None:
    """A multipart body read up to its ``file`` part (None: the body is the document's raw bytes)."""
    boundary = boundary_of(request.headers.get("content-type"))
    if boundary is None:
        return None
    metadata = Field(settings.reading.max_front_matter_bytes, "reading.max_front_matter_kb")
    upload = MultipartUpload(request.stream(), boundary, {"metadata": metadata})
    await upload.start()
    return upload


async def _put(writes: Writes, name: str, doc_id: str, upload: MultipartUpload) -> Job:
    """Store a multipart upload's ``file`` as ``doc_id``, its ``metadata`` beside it."""
    media_type = raw_media_type(upload.content_type)
    return await writes.put(name, doc_id, upload.chunks(), media_type=media_type, metadata=upload.metadata)


async def _answer(writes: Writes, job: Job, wait: bool, settings: AppSettings) -> Response[WriteAccepted]:
    """The write's document and job: 202 while it is not published (``Location``: the job), 201 (a
    new document) or 200 once it is; with ``wait``, a document stored but not indexable is a 422."""
    if wait and not job.done:
        job = await writes.wait(job.collection, job.id, settings.writes.wait_seconds)
    if wait and job.status == "failed":
        raise InvalidInputError(
            f"{job.doc_id[:200]!r} was stored but cannot be indexed: {job.reason}",
            errors=[{"key": "body", "message": job.reason or "not indexed", "source": "body"}],
        )
    document = writes.document_status(job.collection, job.doc_id) if job.action == "put" else None
    status = 202 if not job.done else 201 if job.created and job.status == "indexed" else 200
    location = f"/v1/collections/{job.collection}/jobs/{job.id}"
    body = WriteAccepted(document=status_body(document) if document else None, job=job_body(job))
    return Response(body, status_code=status, headers={"Location": location})


_ACCEPTED = {
    200: "Published (with ?wait=true), or the same bytes and metadata again: nothing to do.",
    201: "A new document, published (with ?wait=true).",
}


def _write_responses(*problems: int) -> dict[int, Any]:
    from litestar.openapi import ResponseSpec

    specs: dict[int, Any] = {
        status: ResponseSpec(WriteAccepted, description=text, generate_examples=False)
        for status, text in _ACCEPTED.items()
    }
    return {**specs, **write_problems(*problems)}


class CollectionWritesController(CollectionsController):
    """The collections' read routes (:class:`CollectionsController`) and their write routes: one
    controller, as Litestar cannot merge handlers of one path from two controllers."""

    @put(
        "/{name:str}/documents/{doc_id:path}",
        summary="Add or replace a document",
        operation_id="putCollectionDocument",
        operation_class=UploadOperation,
        tags=["writes"],
        security=API_SECURITY,
        status_code=202,
        request_max_body_size=None,  # streamed to disk and cut off at writes.max_upload_mb
        guards=[known_query("wait")],
        responses=_write_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
    )
    async def put_document(
        self,
        request: Req,
        name: FromPath[str],
        doc_id: FromPath[str],
        writes: NamedDependency[Writes],
        collections: NamedDependency[Collections],
        access: NamedDependency[Access],
        settings: NamedDependency[AppSettings],
        wait: Wait = False,
    ) -> Response[WriteAccepted]:
        """Store the document's bytes as ``doc_id`` (a relative path whose suffix picks the reader:
        .txt .md .pdf .html .docx ...) in the collection's source folder, durably, and publish it:
        202 with its status and a job (``Location``). The body is the file itself (its Content-Type,
        if it names a format, must agree with the suffix), or ``multipart/form-data`` with a ``file``
        part and an optional ``metadata`` part (a JSON object, filterable like front matter). The same
        bytes and metadata again: 200, nothing done."""
        _writable(name, collections, access)
        _check_length(request, settings)
        doc_id = doc_id.lstrip("/")
        upload = await _multipart(request, settings)
        if upload is None:
            media_type = raw_media_type(request.headers.get("content-type"))
            job = await writes.put(name, doc_id, request.stream(), media_type=media_type)
        else:
            job = await _put(writes, name, doc_id, upload)
        return await _answer(writes, job, wait, settings)

    @post(
        "/{name:str}/documents",
        summary="Upload a document (multipart)",
        operation_id="postCollectionDocument",
        operation_class=MultipartUploadOperation,
        tags=["writes"],
        security=API_SECURITY,
        status_code=202,
        request_max_body_size=None,
        guards=[known_query("wait")],
        responses=_write_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
    )
    async def post_document(
        self,
        request: Req,
        name: FromPath[str],
        writes: NamedDependency[Writes],
        collections: NamedDependency[Collections],
        access: NamedDependency[Access],
        settings: NamedDependency[AppSettings],
        wait: Wait = False,
    ) -> Response[WriteAccepted]:
        """As ``PUT .../documents/{doc_id}`` with a ``multipart/form-data`` body, the doc_id being the
        ``file`` part's filename (``curl -F file=@report.pdf``)."""
        _writable(name, collections, access)
        _check_length(request, settings)
        upload = await _multipart(request, settings)
        if upload is None:
            raise InvalidInputError(
                "send multipart/form-data with a 'file' part (or PUT the document's bytes)"
            )
        if not upload.filename:
            raise InvalidInputError("the 'file' part has no filename; PUT to .../documents/{doc_id} instead")
        job = await _put(writes, name, upload.filename, upload)
        return await _answer(writes, job, wait, settings)

    @delete(
        "/{name:str}/documents/{doc_id:path}",
        summary="Delete a document",
        operation_id="deleteCollectionDocument",
        tags=["writes"],
        security=API_SECURITY,
        status_code=202,
        guards=[known_query("wait")],
        responses=_write_responses(400, 401, 403, 404, 422, 429, 503),
    )
    async def delete_document(
        self,
        name: FromPath[str],
        doc_id: FromPath[str],
        writes: NamedDependency[Writes],
        collections: NamedDependency[Collections],
        access: NamedDependency[Access],
        settings: NamedDependency[AppSettings],
        wait: Wait = False,
    ) -> Response[WriteAccepted]:
        """Remove the document from the collection's source folder (durably: it is not back after a
        crash) and publish its removal: 202 with the job; gone from search, documents and every other
        door once the job is ``indexed``."""
        _writable(name, collections, access)
        job = await writes.delete(name, doc_id.lstrip("/"))
        return await _answer(writes, job, wait, settings)

    @get(
        "/{name:str}/documents",
        summary="List a collection's documents and their status",
        operation_id="listCollectionDocuments",
        tags=["writes"],
        security=API_SECURITY,
        guards=[known_query("status", "after", "limit")],
        responses=write_problems(401, 404, 422, 429),
    )
    async def list_documents(
        self,
        name: FromPath[str],
        writes: NamedDependency[Writes],
        collections: NamedDependency[Collections],
        access: NamedDependency[Access],
        status: Annotated[StatusName | None, Parameter(description="Only documents in this state.")] = None,
        after: Annotated[
            str | None, Parameter(max_length=1024, description="The last doc_id of the previous page.")
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> DocumentStatusList:
        """The collection's documents by doc_id, a page at a time: indexed, failed (with the reason,
        e.g. ``no text layer``), and those written and not yet published (queued, indexing)."""
        holder_of(name, collections, access)
        page = writes.documents(name, status=status, after=after, limit=limit)
        return DocumentStatusList([status_body(doc) for doc in page.documents], page.next_after)

    @get(
        "/{name:str}/status/{doc_id:path}",
        summary="A document's status",
        operation_id="getCollectionDocumentStatus",
        tags=["writes"],
        security=API_SECURITY,
        responses=write_problems(401, 404, 429),
    )
    async def document_status(
        self,
        name: FromPath[str],
        doc_id: FromPath[str],
        writes: NamedDependency[Writes],
        collections: NamedDependency[Collections],
        access: NamedDependency[Access],
    ) -> DocumentStatusBody:
        """Where a document is: queued, indexing, indexed or failed (with the reason). Its text is at
        ``GET .../documents/{doc_id}`` once it is indexed."""
        holder_of(name, collections, access)
        found = writes.document_status(name, doc_id.lstrip("/"))
        if found is None:
            raise NotFoundError(f"no document with id {doc_id.lstrip('/')[:200]!r} in collection {name!r}")
        return status_body(found)

    @get(
        "/{name:str}/jobs/{job_id:str}",
        summary="A write's job",
        operation_id="getCollectionJob",
        tags=["writes"],
        security=API_SECURITY,
        responses=write_problems(401, 404, 429),
    )
    async def get_job(
        self,
        name: FromPath[str],
        job_id: FromPath[str],
        writes: NamedDependency[Writes],
        collections: NamedDependency[Collections],
        access: NamedDependency[Access],
    ) -> JobBody:
        """A write acknowledged with 202 and how far it got (the service remembers the last
        ``writes.max_jobs``)."""
        holder_of(name, collections, access)
        job = writes.job(name, job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id[:80]!r} in collection {name!r}")
        return job_body(job)

    @post(
        "/",
        summary="Create a collection",
        operation_id="createCollection",
        tags=["collections"],
        security=ADMIN_SECURITY,
        opt=ADMIN,
        status_code=201,
        guards=[require_json],
        responses=write_problems(400, 401, 403, 409, 415, 422, 429, 503),
    )
    async def create_collection(
        self, data: JSONBody[NewCollection], writes: NamedDependency[Writes]
    ) -> Response[dict[str, str]]:
        """A new, empty collection, served at once and after restarts (kept in
        ``<index_dir>/collections.json``; its documents in ``<index_dir>/<name>/sources``). Admin keys
        only; keys with ``"*"`` reach it."""
        await writes.create_collection(data.name, data.description)
        body = {"name": data.name, "description": data.description}
        return Response(body, status_code=201, headers={"Location": f"/v1/collections/{data.name}"})

    @delete(
        "/{name:str}",
        summary="Delete a collection",
        operation_id="deleteCollection",
        tags=["collections"],
        security=ADMIN_SECURITY,
        opt=ADMIN,
        status_code=204,
        responses=write_problems(401, 403, 404, 409, 429),
    )
    async def delete_collection(self, name: FromPath[str], writes: NamedDependency[Writes]) -> None:
        """Stop serving a collection created over HTTP and remove its documents and index (admin
        keys only). A collection of ``config.yaml`` is not deleted (409)."""
        await writes.delete_collection(name)
