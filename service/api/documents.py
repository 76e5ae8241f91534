"""``GET /v1/documents/{doc_id}``: the full text and metadata of an indexed document."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from indexer.search import Searcher
from indexer.snapshot import DocumentRecord
from service.admission.auth import API_SECURITY
from service.api.pages import page_address, page_image
from service.api.schemas import DocumentResponse, SectionStart, problem_responses
from service.errors import NotFoundError
from service.runtime.page_images import PageImages


class DocumentsController(Controller):
    path = "/v1/documents"

    @get(
        "/{doc_id:path}",
        summary="Fetch a document",
        operation_id="getDocument",
        tags=["documents"],
        security=API_SECURITY,
        responses=problem_responses(400, 401, 404, 429, 503),
    )
    async def get_document(
        self,
        request: Request,  # type: ignore[type-arg]
        doc_id: FromPath[str],
        searcher: NamedDependency[Searcher],
        page_images: NamedDependency[PageImages],
    ) -> DocumentResponse:
        """The document's text and metadata, so a client can show or verify a citation. ``doc_id`` is
        the document's path relative to the seeds folder, as given in every citation. ``text`` is what
        was indexed (for PDF, HTML and DOCX the extracted text): every citation's offsets, lines and
        pages refer to it."""
        return await document_or_page(request, doc_id, searcher, page_images)  # type: ignore[return-value]


async def document_or_page(
    request: Request,  # type: ignore[type-arg]
    doc_id: str,
    searcher: Searcher,
    page_images: PageImages,
    seeds_dir: Path | None = None,
) -> DocumentResponse | Response[bytes]:
    """Document ``doc_id`` of ``searcher``'s snapshot; for an address ``.../pages/{n}`` that names no
    document, that page's image (:func:`~service.api.pages.page_image`, its PDF read under
    ``seeds_dir``; Litestar sends a Response as it is); else 404."""
    doc_id = doc_id.lstrip("/")
    record = await anyio.to_thread.run_sync(searcher.snapshot.store.document, doc_id)
    address = page_address(doc_id) if record is None else None
    if address is not None:
        return await page_image(request, *address, searcher, page_images, seeds_dir)
    if record is None:
        raise NotFoundError(f"no document with id {doc_id!r} in the index")
    return document_response(searcher, record)


def document_response(searcher: Searcher, record: DocumentRecord) -> DocumentResponse:
    return DocumentResponse(
        doc_id=record.doc_id,
        source=record.source,
        title=record.title,
        date=record.date,
        sha256=record.sha256,
        chunk_count=record.chunk_count,
        char_count=len(record.text),
        text=record.text,
        snapshot_id=searcher.snapshot_id,
        format=record.format,
        metadata=dict(record.metadata),
        page_starts=list(record.pages) if record.pages else None,
        sections=[SectionStart(start=start, path=path) for start, _, path in record.sections],
    )
