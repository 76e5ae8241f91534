"""``GET /v1/documents/{doc_id}/pages/{page}`` (the default collection) and
``GET /v1/collections/{name}/documents/{doc_id}/pages/{page}``: a page of an indexed PDF as an image,
to draw a citation's ``boxes`` over.

A document id is a path and may itself hold slashes, so the router sends every
``/v1/documents/...`` (and ``/v1/collections/{name}/documents/...``) address to the document handler
(a ``{doc_id:path}`` takes the rest of the path); that handler hands an address ending in
``/pages/{n}`` to :func:`page_image` unless a document has that very id. The controllers below declare
the operations so that the OpenAPI schema documents them; both ways answer the same, with the same
access rules as the document.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter

from indexer.search import Searcher
from service.admission.auth import API_SECURITY
from service.api.schemas import problem_responses
from service.errors import InvalidInputError, NotFoundError
from service.runtime.page_images import DEFAULT_WIDTH, MAX_WIDTH, MIN_WIDTH, PageImages

PAGE_SUFFIX = re.compile(r"(?P<doc_id>.+)/pages/(?P<page>[0-9]{1,9})")
CACHE_CONTROL = "private, max-age=3600"


class PageQuery(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    width: Annotated[int, msgspec.Meta(ge=MIN_WIDTH, le=MAX_WIDTH)] = DEFAULT_WIDTH
    format: Literal["png", "webp"] = "png"


def page_address(path: str) -> tuple[str, int] | None:
    """``(doc_id, page)`` when a document address ends in ``/pages/{page}``."""
    match = PAGE_SUFFIX.fullmatch(path)
    return (match["doc_id"], int(match["page"])) if match else None


def _query(request: Request) -> PageQuery:  # type: ignore[type-arg]
    params = request.query_params
    if any(len(params.getall(key)) > 1 for key in params):
        raise InvalidInputError("a query parameter is given twice")
    raw: dict[str, object] = dict(params.items())
    if "width" in raw:
        text = str(raw["width"])
        if not text.isdigit() or len(text) > 6:
            raise InvalidInputError(f"width must be a whole number from {MIN_WIDTH} to {MAX_WIDTH}")
        raw["width"] = int(text)
    try:
        return msgspec.convert(raw, PageQuery)
    except msgspec.ValidationError as exc:
        raise InvalidInputError(
            f"{exc} (width: {MIN_WIDTH} to {MAX_WIDTH} pixels; format: png or webp)"
        ) from exc


async def page_image(
    request: Request,  # type: ignore[type-arg]
    doc_id: str,
    page: int,
    searcher: Searcher,
    images: PageImages,
    seeds_dir: Path | None = None,
) -> Response[bytes]:
    """The rendered page of ``searcher``'s document, its PDF read under ``seeds_dir`` (None: the
    default collection's), or the problem: 404 for an unknown document or page or a document that is
    not a PDF, 422 for a bad width or format."""
    query = _query(request)
    record = (await anyio.to_thread.run_sync(searcher.snapshot.store.documents, [doc_id])).get(doc_id)
    if record is None:
        raise NotFoundError(f"no document with id {doc_id!r} in the index")
    if record.format != "pdf":
        raise NotFoundError(f"{doc_id!r} is a {record.format} document: only PDF pages are rendered")
    if not 1 <= page <= len(record.pages):
        raise NotFoundError(f"no page {page}: {doc_id!r} has {len(record.pages)} pages")
    image = await anyio.to_thread.run_sync(
        lambda: images.image(doc_id, record.sha256, page, query.width, query.format, seeds_dir=seeds_dir)
    )
    headers = {"ETag": image.etag, "Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    if image.etag in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=304, headers=headers)
    return Response(image.data, media_type=image.media_type, headers=headers)


PageNumber = Annotated[int, Parameter(ge=1, description="The page, 1-based (a citation's page_start).")]
PageWidth = Annotated[
    int,
    Parameter(
        ge=MIN_WIDTH,
        le=MAX_WIDTH,
        description="The image's width in pixels (a very tall page comes narrower: at most 4000 pixels "
        "high).",
    ),
]
ImageFormat = Annotated[Literal["png", "webp"], Parameter(description="png (lossless) or webp (smaller).")]
"""The page-image routes' parameters (``width`` and ``format`` are read from the query by
:func:`page_image`; declared for the schema and checked by Litestar)."""


class PagesController(Controller):
    path = "/v1/documents"

    @get(
        "/{doc_id:path}/pages/{page:int}",
        summary="Render a PDF page as an image",
        operation_id="getPageImage",
        tags=["documents"],
        security=API_SECURITY,
        media_type="image/png",
        responses=problem_responses(401, 404, 422, 429, 503),
    )
    async def get_page(
        self,
        request: Request,  # type: ignore[type-arg]
        doc_id: FromPath[str],
        page: PageNumber,
        searcher: NamedDependency[Searcher],
        page_images: NamedDependency[PageImages],
        width: PageWidth = DEFAULT_WIDTH,
        format: ImageFormat = "png",
    ) -> Response[bytes]:
        """Page ``page`` of the PDF ``doc_id`` rendered ``width`` pixels wide, to draw a citation's
        ``boxes`` over (multiply their 0-1 coordinates by the image's size). Rendered from the file
        that was indexed (404 once it has changed), cached; ``ETag`` and ``If-None-Match`` spare a
        download. Documents of other formats have no pages to render (404)."""
        del width, format  # read (and checked) from the query by page_image, as on the document route
        return await page_image(request, doc_id.lstrip("/"), page, searcher, page_images)
